"""`dawbridge eval`: harmonization quality on chorale melodies the model never saw (the JSB
valid split), for the model, a rule-based baseline and Bach's own harmonizations.

Metrics, on a grid of 8th notes unless said otherwise:
- parallels: parallel fifths/octaves per 100 voice-pair moves (both voices move, same direction)
- crossings: share of grid steps where a lower voice sounds above the one above it
- out_of_range: share of generated notes outside the voice's chorale range
- out_of_key: share of generated notes outside the key (minor: natural, harmonic, melodic)
- chord_agree: share of generated notes sounding at a beat whose pitch class is in Bach's
  chord at that beat; bass_agree: the bass's pitch class equals Bach's bass at the beat
- span_violations: generated notes outside the clip, or a voice sounding two notes at once
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from models.constants import CHORALE_RANGES
from models.keys import parse_key
from models.representation import Part, Piece

log = logging.getLogger(__name__)
VOICES = ("melody", "alto", "tenor", "bass")
STEP = 0.5  # beats per grid step
DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def sounding(part: Part, step: float = STEP) -> list[int | None]:
    grid: list[int | None] = [None] * int(np.ceil(part.length / step))
    for note in part.notes:
        first, last = int(np.ceil(note.start / step - 1e-9)), int(np.ceil(note.end / step - 1e-9))
        for i in range(first, min(last, len(grid))):
            grid[i] = note.pitch if grid[i] is None else max(grid[i], note.pitch)  # type: ignore[type-var]
    return grid


def parallels(grids: dict[str, list[int | None]]) -> tuple[int, int]:
    """(parallel fifths/octaves, voice-pair moves) over every pair of voices."""
    found = moves = 0
    names = [v for v in VOICES if v in grids]
    for i, upper in enumerate(names):
        for lower in names[i + 1:]:
            a, b = grids[upper], grids[lower]
            for t in range(min(len(a), len(b)) - 1):
                a0, a1, b0, b1 = a[t], a[t + 1], b[t], b[t + 1]
                if None in (a0, a1, b0, b1) or a0 == a1 or b0 == b1:
                    continue
                moves += 1
                same_way = (a1 - a0) * (b1 - b0) > 0  # type: ignore[operator]
                i0, i1 = (a0 - b0) % 12, (a1 - b1) % 12  # type: ignore[operator]
                if same_way and i0 == i1 and i0 in (0, 7):
                    found += 1
    return found, moves


def crossings(grids: dict[str, list[int | None]]) -> tuple[int, int]:
    crossed = steps = 0
    names = [v for v in VOICES if v in grids]
    for upper, lower in zip(names, names[1:], strict=False):
        for a, b in zip(grids[upper], grids[lower], strict=False):
            if a is None or b is None:
                continue
            steps += 1
            crossed += a < b
    return crossed, steps


def key_pitch_classes(key: str) -> set[int]:
    tonic, mode = parse_key(key)
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(tonic + s) % 12 for s in steps}


def score(melody: Part, generated: dict[str, Part], bach: dict[str, Part], key: str) -> dict[str, float]:
    """Raw counts for one piece (summed over pieces, then turned into rates)."""
    grids = {"melody": sounding(melody)} | {v: sounding(p) for v, p in generated.items()}
    par, moves = parallels(grids)
    cross, steps = crossings(grids)
    notes = [(v, n) for v, p in generated.items() for n in p.notes]
    in_key = key_pitch_classes(key)
    out_range = sum(not CHORALE_RANGES[v][0] <= n.pitch <= CHORALE_RANGES[v][1] for v, n in notes)
    out_key = sum(n.pitch % 12 not in in_key for _, n in notes)
    span = sum(n.start < 0 or n.end > melody.length + 1e-6 for _, n in notes)
    span += sum(_overlaps(p) for p in generated.values())
    agree = total = bass_agree = beats = 0
    if bach:
        b_grids = {v: sounding(p, 1.0) for v, p in bach.items()}
        g_grids = {v: sounding(p, 1.0) for v, p in generated.items()}
        for t in range(int(melody.length)):
            chord = {p % 12 for g in b_grids.values() if t < len(g) and (p := g[t]) is not None}
            if not chord:
                continue
            for g in g_grids.values():
                if t < len(g) and g[t] is not None:
                    total += 1
                    agree += g[t] % 12 in chord  # type: ignore[operator]
            bb, gb = b_grids.get("bass"), g_grids.get("bass")
            if bb and gb and t < len(bb) and t < len(gb) and bb[t] is not None and gb[t] is not None:
                beats += 1
                bass_agree += bb[t] % 12 == gb[t] % 12  # type: ignore[operator]
    return {"parallels": par, "moves": moves, "crossed": cross, "steps": steps, "notes": len(notes),
            "out_range": out_range, "out_key": out_key, "span": span, "agree": agree, "agree_total": total,
            "bass_agree": bass_agree, "bass_beats": beats} | root_close(melody, generated.get("bass"), key)


def root_close(melody: Part, bass: Part | None, key: str) -> dict[str, float]:
    """Whether the bass sounds the tonic under the melody's last note (the piece ends in root
    position, as nearly all chorales do); nothing to count without a bass."""
    if bass is None or not melody.notes:
        return {}
    last = max(n.start for n in melody.notes)
    under = [n.pitch for n in bass.notes if n.start <= last + 1e-6 < n.end]
    tonic, _ = parse_key(key)
    return {"closes": 1, "root_closes": int(bool(under) and min(under) % 12 == tonic)}


def _overlaps(part: Part) -> int:
    notes = sorted(part.notes, key=lambda n: n.start)
    return sum(b.start < a.end - 1e-6 for a, b in zip(notes, notes[1:], strict=False))


def rates(total: dict[str, float]) -> dict[str, float]:
    def ratio(a: str, b: str, scale: float = 1.0) -> float:
        return round(scale * total.get(a, 0) / total[b], 4) if total.get(b) else 0.0

    return {
        "parallels_per_100": ratio("parallels", "moves", 100),
        "crossings": ratio("crossed", "steps"),
        "out_of_range": ratio("out_range", "notes"),
        "out_of_key": ratio("out_key", "notes"),
        "chord_agree": ratio("agree", "agree_total"),
        "bass_agree": ratio("bass_agree", "bass_beats"),
        "root_close": ratio("root_closes", "closes"),
        "span_violations": float(total["span"]),
    }


Harmonizer = Callable[[Part, str], dict[str, Part]]


def evaluate(pieces: Sequence[Piece], systems: dict[str, Harmonizer]) -> dict[str, dict[str, float]]:
    table = {}
    for name, system in systems.items():
        total: dict[str, float] = {}
        started = time.perf_counter()
        for piece in pieces:
            melody = piece.part("melody")
            assert melody is not None
            key = melody.key or "C major"
            bach = {v: p for v, p in piece.tracks if v != "melody"}
            counts = score(melody, system(melody, key), bach, key)
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        table[name] = rates(total) | {"seconds_per_piece": round((time.perf_counter() - started) / max(1, len(pieces)), 3)}
    return table


def evaluation_pieces(limit: int | None = None) -> list[Piece]:
    """The JSB valid split as pieces, bar lines aligned with the music21 score of the same
    chorale where one exists (pickups, 3/4). Never used for training or picking checkpoints."""
    from models.data.corpus import load_all

    pieces = [p for p in load_all(sources=("jsb",), derived=False)["jsb"] if p.split == "valid"]
    return pieces[:limit] if limit else pieces


def model_harmonizer(weights: Path | None, device: str, temperature: float, seed: int) -> Harmonizer:
    from models.interface import load_composer
    from models.tasks import HarmonizeTask, Sampling

    composer = load_composer(weights, device)

    def run(melody: Part, key: str) -> dict[str, Part]:
        parts = composer.run(HarmonizeTask(melody, "chorale", sampling=Sampling(1, temperature, seed)))[0]
        return {p.name.split()[0].lower(): p for p in parts if p.name}

    return run


def rule_harmonizer(melody: Part, key: str) -> dict[str, Part]:
    from models.eval import rules

    return {p.name.lower(): p for p in rules.harmonize(melody, key) if p.name}


def print_table(table: dict[str, dict[str, float]], out=sys.stdout) -> None:
    columns = list(next(iter(table.values())))
    print(f"{'system':<12}" + "".join(f"{c:>20}" for c in columns), file=out)
    for name, row in table.items():
        print(f"{name:<12}" + "".join(f"{row[c]:>20}" for c in columns), file=out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--ops" in argv:  # drums, fill, vary, continue, restyle: models/eval/ops.py
        from models.eval.ops import main as ops_main

        return ops_main([a for a in argv if a != "--ops"])
    p = argparse.ArgumentParser(prog="dawbridge eval", description="Harmonization quality on JSB valid melodies.")
    p.add_argument("--ops", action="store_true", help="evaluate drums, fill, vary, continue and restyle instead")
    p.add_argument("--weights", type=Path, help="model weights (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--limit", type=int, help="evaluate only the first N pieces")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not (DATA_DIR / "jsb").exists():
        print(f"the evaluation data is not here ({DATA_DIR / 'jsb'})", file=sys.stderr)
        return 2
    pieces = evaluation_pieces(args.limit)
    systems: dict[str, Harmonizer] = {
        "rules": rule_harmonizer,
        "model": model_harmonizer(args.weights, args.device, args.temperature, args.seed),
    }
    table = {"bach": evaluate_bach(pieces)} | evaluate(pieces, systems)
    print(f"{len(pieces)} JSB valid chorale melodies, temperature {args.temperature}, seed {args.seed}")
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


def evaluate_bach(pieces: Sequence[Piece]) -> dict[str, float]:
    total: dict[str, float] = {}
    for piece in pieces:
        melody = piece.part("melody")
        assert melody is not None
        bach = {v: p for v, p in piece.tracks if v != "melody"}
        for k, v in score(melody, bach, bach, melody.key or "C major").items():
            total[k] = total.get(k, 0) + v
    return rates(total) | {"seconds_per_piece": 0.0}


if __name__ == "__main__":
    raise SystemExit(main())

