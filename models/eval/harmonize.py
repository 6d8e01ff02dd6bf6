"""`dawbridge eval`: harmonization quality on chorale melodies the model never saw (the JSB
valid split), for the model, a rule-based baseline and Bach's own harmonizations.

Metrics, on a grid of 8th notes unless said otherwise:
- parallels: parallel fifths/octaves per 100 voice-pair moves (both voices move, same direction)
- crossings: share of grid steps where a lower voice sounds above the one above it
- unisons: share of grid steps where two neighbouring voices sound the same pitch
- out_of_range: share of generated notes outside the voice's chorale range
- out_of_key: share of generated notes outside the key (minor: natural, harmonic, melodic)
- chord_agree: share of generated notes sounding at a beat whose pitch class is in Bach's
  chord at that beat; bass_agree: the bass's pitch class equals Bach's bass at the beat
- chord_jaccard: per quarter-note beat, the pitch classes of all four voices (melody and the
  three written) against Bach's four, intersection over union, averaged over beats
- out_of_satb: share of generated notes outside S 60-81, A 53-74, T 48-69, B 38-62
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
from models.harmony.detect import ChordSpan
from models.harmony.plan import HMM, Weights, step_beats
from models.harmony.plan import changed as steps_changed
from models.keys import parse_key
from models.representation import Part, Piece

log = logging.getLogger(__name__)
VOICES = ("melody", "alto", "tenor", "bass")
STEP = 0.5  # beats per grid step
SATB = {"melody": (60, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (38, 62)}
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


def neighbouring(grids: dict[str, list[int | None]], test: Callable[[int, int], bool]) -> tuple[int, int]:
    """(grid steps where two neighbouring voices both sound and ``test(upper, lower)`` holds,
    grid steps where both sound)."""
    found = steps = 0
    names = [v for v in VOICES if v in grids]
    for upper, lower in zip(names, names[1:], strict=False):
        for a, b in zip(grids[upper], grids[lower], strict=False):
            if a is None or b is None:
                continue
            steps += 1
            found += test(a, b)
    return found, steps


def crossings(grids: dict[str, list[int | None]]) -> tuple[int, int]:
    return neighbouring(grids, lambda upper, lower: upper < lower)


def unisons(grids: dict[str, list[int | None]]) -> tuple[int, int]:
    """A unison thins the chord to three notes; Bach's voices meet in one seldom."""
    return neighbouring(grids, lambda upper, lower: upper == lower)


def key_pitch_classes(key: str) -> set[int]:
    tonic, mode = parse_key(key)
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(tonic + s) % 12 for s in steps}


def score(melody: Part, generated: dict[str, Part], bach: dict[str, Part], key: str) -> dict[str, float]:
    """Raw counts for one piece (summed over pieces, then turned into rates)."""
    grids = {"melody": sounding(melody)} | {v: sounding(p) for v, p in generated.items()}
    par, moves = parallels(grids)
    cross, steps = crossings(grids)
    met, pairs = unisons(grids)
    notes = [(v, n) for v, p in generated.items() for n in p.notes]
    in_key = key_pitch_classes(key)
    out_range = sum(not CHORALE_RANGES[v][0] <= n.pitch <= CHORALE_RANGES[v][1] for v, n in notes)
    out_key = sum(n.pitch % 12 not in in_key for _, n in notes)
    span = sum(n.start < 0 or n.end > melody.length + 1e-6 for _, n in notes)
    span += sum(_overlaps(p) for p in generated.values())
    agree = total = bass_agree = beats = 0
    satb = sum(not SATB[v][0] <= n.pitch <= SATB[v][1] for v, n in notes if v in SATB)
    jaccard, jbeats = chord_jaccard(melody, generated, bach) if bach else (0.0, 0)
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
    return {"parallels": par, "moves": moves, "crossed": cross, "steps": steps, "unisons": met, "pairs": pairs,
            "notes": len(notes),
            "out_range": out_range, "out_key": out_key, "span": span, "agree": agree, "agree_total": total,
            "bass_agree": bass_agree, "bass_beats": beats, "out_satb": satb, "jaccard": jaccard,
            "jaccard_beats": jbeats} | root_close(melody, generated.get("bass"), key) | final_position(melody, generated) \
        | final_chord(melody, generated, key)


def chord_jaccard(melody: Part, generated: dict[str, Part], bach: dict[str, Part]) -> tuple[float, int]:
    """(sum of per-beat Jaccard indices, beats): on each quarter-note beat where Bach's voices
    sound, the pitch classes of the melody and the generated voices against those of the
    melody and Bach's voices."""
    mine = [sounding(p, 1.0) for p in (melody, *generated.values())]
    his = [sounding(p, 1.0) for p in (melody, *bach.values())]
    total, beats = 0.0, 0
    for t in range(int(melody.length)):
        b = {p % 12 for g in his if t < len(g) and (p := g[t]) is not None}
        if not b:
            continue
        a = {p % 12 for g in mine if t < len(g) and (p := g[t]) is not None}
        total += len(a & b) / len(a | b)
        beats += 1
    return total, beats


def root_close(melody: Part, bass: Part | None, key: str) -> dict[str, float]:
    """Whether the bass sounds the tonic under the melody's last note (the piece ends in root
    position, as nearly all chorales do); nothing to count without a bass."""
    if bass is None or not melody.notes:
        return {}
    last = max(n.start for n in melody.notes)
    under = [n.pitch for n in bass.notes if n.start <= last + 1e-6 < n.end]
    tonic, _ = parse_key(key)
    return {"closes": 1, "root_closes": int(bool(under) and min(under) % 12 == tonic)}


def final_position(melody: Part, generated: dict[str, Part]) -> dict[str, float]:
    """Whether the chord under the melody's last note stands on its root (the chord read from
    all voices there); nothing to count without a bass."""
    from models.harmony.detect import label

    if "bass" not in generated or not melody.notes:
        return {}
    at = max(n.start for n in melody.notes)
    pitches = [n.pitch for p in (melody, *generated.values()) for n in p.notes if n.start <= at + 1e-6 < n.end]
    chord = label({p % 12: 1.0 for p in pitches})
    return {"root_positions": int(chord is not None and min(pitches) % 12 == chord.root)}


def final_chord(melody: Part, generated: dict[str, Part], key: str) -> dict[str, float]:
    """For a piece whose melody ends on a tone of the tonic triad (an authentic close): whether
    every voice keeps to that triad (with one third, major or minor) from the melody's last
    onset to the end (no added or passing tone over the final chord), and how many notes the
    generated voices strike after that onset (a final chord held, as chorales end, strikes
    none); and whether the chord sounding with the melody's last note holds a third (else it
    is an open fifth or bare octaves)."""
    if not melody.notes or not generated:
        return {}
    last = max(melody.notes, key=lambda n: n.start)
    tonic, _ = parse_key(key)
    if (last.pitch - tonic) % 12 not in (0, 3, 4, 7):
        return {}
    heard = [n for p in generated.values() for n in p.notes if n.end > last.start + 1e-6]
    thirds = {n.pitch % 12 for n in [*heard, last]} & {(tonic + 3) % 12, (tonic + 4) % 12}
    triad = {tonic % 12, (tonic + 7) % 12} | (thirds if len(thirds) == 1 else set())  # one third, either
    struck = {n.pitch % 12 for n in [*heard, last] if n.start <= last.start + 1e-6}  # the chord with the last note
    return {"final_closes": 1, "final_in_triad": int(all(n.pitch % 12 in triad for n in heard)),
            "final_thirds": int(bool(struck & {(tonic + 3) % 12, (tonic + 4) % 12})),
            "final_onsets": sum(n.start > last.start + 1e-6 for n in heard)}


def _overlaps(part: Part) -> int:
    notes = sorted(part.notes, key=lambda n: n.start)
    return sum(b.start < a.end - 1e-6 for a, b in zip(notes, notes[1:], strict=False))


def rates(total: dict[str, float]) -> dict[str, float]:
    def ratio(a: str, b: str, scale: float = 1.0) -> float:
        return round(scale * total.get(a, 0) / total[b], 4) if total.get(b) else 0.0

    return {
        "parallels_per_100": ratio("parallels", "moves", 100),
        "crossings": ratio("crossed", "steps"),
        "unisons": ratio("unisons", "pairs"),
        "out_of_range": ratio("out_range", "notes"),
        "out_of_key": ratio("out_key", "notes"),
        "chord_agree": ratio("agree", "agree_total"),
        "chord_jaccard": ratio("jaccard", "jaccard_beats"),
        "out_of_satb": ratio("out_satb", "notes"),
        "bass_agree": ratio("bass_agree", "bass_beats"),
        "root_close": ratio("root_closes", "closes"),
        "root_position_end": ratio("root_positions", "closes"),
        "final_in_triad": ratio("final_in_triad", "final_closes"),
        "final_third": ratio("final_thirds", "final_closes"),
        "final_onsets": ratio("final_onsets", "final_closes"),
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


def model_harmonizer(weights: Path | None, device: str, temperature: float, seed: int, candidate: int = 0) -> Harmonizer:
    """What harmonize returns as its ``candidate``-th candidate (0: the plan's voicing; 1: the
    model's own voices under the plan; 2, 3: the voicer on alternative plans)."""
    from models.interface import load_composer
    from models.tasks import HarmonizeTask, Sampling

    composer = load_composer(weights, device)

    def run(melody: Part, key: str) -> dict[str, Part]:
        found = composer.run(HarmonizeTask(melody, "chorale", sampling=Sampling(candidate + 1, temperature, seed)))
        return {p.name.split()[0].lower(): p for p in found[min(candidate, len(found) - 1)] if p.name}

    return run


def plan_table(pieces: Sequence[Piece], weights: Path | None, device: str, temperature: float, seed: int,
               candidates: int = 4) -> dict[str, dict[str, float]]:
    """How far each chorale candidate's plan (the chords its parts name) is from the first's:
    the share of harmonic steps where it sounds another chord, and the share of pieces where it
    differs at all; the last row compares the last two candidates with each other."""
    from models.interface import load_composer
    from models.tasks import HarmonizeTask, Sampling

    composer = load_composer(weights, device)
    changed: list[list[float]] = [[] for _ in range(candidates)]
    for piece in pieces:
        melody = piece.first
        found = composer.run(HarmonizeTask(melody, "chorale", sampling=Sampling(candidates, temperature, seed)))
        plans = [plan_spans(parts[0], melody) for parts in found]
        step = step_beats(melody.time_signature)
        for k, spans in enumerate(plans[1:], start=1):
            changed[k].append(steps_changed(spans, plans[0], step))
        changed[0].append(steps_changed(plans[-1], plans[-2], step))
    rows = {f"candidate {k + 1} vs 1": _change_row(changed[k]) for k in range(1, candidates)}
    return rows | {f"candidate {candidates} vs {candidates - 1}": _change_row(changed[0])}


def plan_spans(part: Part, melody: Part) -> list[ChordSpan]:
    """The chord plan a result names, as spans over the melody."""
    from models.ops.harmonize import given

    return given(parse_plan(part), 0.0, melody.length)


def _change_row(shares: list[float]) -> dict[str, float]:
    return {"steps_changed": round(float(np.mean(shares)), 4) if shares else 0.0,
            "min_steps_changed": round(float(np.min(shares)), 4) if shares else 0.0,
            "pieces_changed": round(float(np.mean([x > 0 for x in shares])), 4) if shares else 0.0}


def tune_groups(pieces: Sequence[Piece], ratio: float) -> dict[str, list[Piece]]:
    """The pieces whose tune the training chorales hold in another setting (soprano interval
    sequences at least ``ratio`` similar) and those whose tune they do not."""
    from models.data.chorales import best_match, tune_signature
    from models.data.corpus import load_all
    from models.data.score import merged_pitches

    corpus = load_all(sources=("chorales", "jsb"), derived=False)
    train = [tune_signature(merged_pitches(p.first.notes)) for s in ("chorales", "jsb") for p in corpus[s]
             if p.split == "train"]
    groups: dict[str, list[Piece]] = {"seen": [], "unseen": []}
    for piece in pieces:
        _, similar = best_match(tune_signature(merged_pitches(piece.first.notes)), train)
        groups["seen" if similar >= ratio else "unseen"].append(piece)
    return groups


def rule_harmonizer(melody: Part, key: str) -> dict[str, Part]:
    from models.eval import rules

    return {p.name.lower(): p for p in rules.harmonize(melody, key) if p.name}


def plan_harmonizer(weights: Weights | None = None) -> Harmonizer:
    """The chord planner (models/harmony/plan.py) voiced by the deterministic chorale voicer;
    ``weights`` = HMM gives the first-order HMM baseline (the melody note on each beat, chord
    transitions by bar position, nothing else)."""
    from models.harmony import plan, table, voicer

    planner = plan.Planner(table.load(), weights or plan.Weights())

    def run(melody: Part, key: str) -> dict[str, Part]:
        chords = planner.plan(melody, key)
        return voicer.chorale(melody, chords, plan.step_beats(melody.time_signature), planner.weights.final)

    return run


def strong_beats(part: Part) -> list[float]:
    """The bar's strong beats over the clip: the downbeat, and the middle of an even bar."""
    from models.harmony import plan

    step = plan.step_beats(part.time_signature)
    n = int(part.length / step + 1e-6)
    return [k * step for k in range(n) if plan.position(k, part.time_signature) < 2]


def clashes(melody: Part, parts: Sequence[Part]) -> tuple[int, int]:
    """(strong beats where a note of ``parts`` sounds a second or a seventh against the melody,
    strong beats where the melody sounds)."""
    found = beats = 0
    for t in strong_beats(melody):
        top = [n.pitch for n in melody.notes if n.start <= t + 1e-6 < n.end]
        if not top:
            continue
        beats += 1
        under = [n.pitch for p in parts for n in p.notes if n.start <= t + 1e-6 < n.end]
        found += any((top[0] - q) % 12 in (1, 2, 10, 11) for q in under)
    return found, beats


def stacked(part: Part) -> tuple[int, int]:
    """(onsets with three or more notes struck together, onsets)."""
    at: dict[float, int] = {}
    for n in part.notes:
        at[round(n.start, 3)] = at.get(round(n.start, 3), 0) + 1
    return sum(c >= 3 for c in at.values()), len(at)


def chord_tones(parts: Sequence[Part], chords: Sequence[tuple[float, str]], melody: Part) -> tuple[int, int]:
    """(notes struck on strong beats that are tones of the given chord there, such notes)."""
    from models.harmony.symbols import parse

    strong = {round(t, 3) for t in strong_beats(melody)}
    hits = total = 0
    for p in parts:
        for n in p.notes:
            if round(n.start, 3) not in strong:
                continue
            given = [c for start, c in chords if start <= n.start + 1e-6]
            if not given:
                continue
            total += 1
            hits += n.pitch % 12 in parse(given[-1]).pitch_classes
    return hits, total


def bach_chords(piece: Piece) -> tuple[tuple[float, str], ...]:
    """Bach's harmony of a piece, read beat by beat from his four voices (as a producer's chord
    track would give it)."""
    from models.harmony.plan import written

    return tuple((s.start, s.chord.symbol) for s in written(piece, 1.0))


def follow_table(pieces: Sequence[Piece], weights: Path | None, device: str, seed: int) -> dict[str, dict[str, float]]:
    """The chord part and the given-chords measures: onsets with 3+ notes and strong-beat clashes
    of ``chords`` (beside Bach's own clashes, and with the key locked), and the share of
    strong-beat notes that are tones of the given chords for every style."""
    from models.interface import load_composer
    from models.tasks import HarmonizeTask, Sampling

    composer = load_composer(weights, device)
    out: dict[str, dict[str, float]] = {}
    bach = [0, 0]
    for piece in pieces:
        c = clashes(piece.first, [p for v, p in piece.tracks if v != "melody"])
        bach = [bach[0] + c[0], bach[1] + c[1]]
    out["bach"] = {"strong_clashes": round(bach[0] / max(1, bach[1]), 4)}
    for style in ("chorale", "chords", "bass"):
        for given in ("", " given", " key locked"):
            counts = [0, 0, 0, 0, 0, 0]  # stacked, onsets, clashes, strong beats, tones, strong notes
            started = time.perf_counter()
            for piece in pieces:
                chords = bach_chords(piece) if given == " given" else None
                key = piece.first.key if given == " key locked" else None
                parts = composer.run(HarmonizeTask(piece.first, style, key, sampling=Sampling(1, 1.0, seed),
                                                   chords=chords))[0]
                for i, v in enumerate((*stacked(parts[0]), *clashes(piece.first, parts),
                                       *chord_tones(parts, chords or parse_plan(parts[0]), piece.first))):
                    counts[i] += v
            out[style + given] = {
                "onsets_3plus": round(counts[0] / max(1, counts[1]), 4),
                "strong_clashes": round(counts[2] / max(1, counts[3]), 4),
                "strong_chord_tones": round(counts[4] / max(1, counts[5]), 4),
                "seconds_per_piece": round((time.perf_counter() - started) / max(1, len(pieces)), 3)}
    return out


def parse_plan(part: Part) -> tuple[tuple[float, str], ...]:
    """The chord plan a result carries ('0:Am 4:F/A' in its extra) as (start, symbol) pairs."""
    text = part.extra.get("chords", "")
    return tuple((float(a), b) for a, b in (item.split(":", 1) for item in text.split()))


def print_table(table: dict[str, dict[str, float]], out=sys.stdout) -> None:
    columns = list(dict.fromkeys(c for row in table.values() for c in row))
    print(f"{'system':<20}" + "".join(f"{c:>19}" for c in columns), file=out)
    for name, row in table.items():
        print(f"{name:<20}" + "".join(f"{row.get(c, ''):>19}" for c in columns), file=out)


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
    p.add_argument("--similar", type=float, default=0.6,
                   help="tune similarity (0..1) from which a valid tune counts as held by the training data")
    p.add_argument("--follow", action="store_true", help="also measure the chord part and given chords")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not (DATA_DIR / "jsb").exists():
        print(f"the evaluation data is not here ({DATA_DIR / 'jsb'})", file=sys.stderr)
        return 2
    pieces = evaluation_pieces(args.limit)
    systems: dict[str, Harmonizer] = {
        "rules": rule_harmonizer,
        "hmm": plan_harmonizer(HMM),
        "planner": plan_harmonizer(),
        "harmonize": model_harmonizer(args.weights, args.device, args.temperature, args.seed),
        "model+plan": model_harmonizer(args.weights, args.device, args.temperature, args.seed, candidate=1),
        "candidate 3": model_harmonizer(args.weights, args.device, args.temperature, args.seed, candidate=2),
        "candidate 4": model_harmonizer(args.weights, args.device, args.temperature, args.seed, candidate=3),
    }
    print(f"{len(pieces)} JSB valid chorale melodies, temperature {args.temperature}, seed {args.seed}")
    results: dict[str, object] = {}
    groups = {"all": pieces} | tune_groups(pieces, args.similar)
    for name, group in groups.items():
        if not group:
            print(f"\n{name}: no pieces (tunes at least {args.similar} similar to a training tune count as seen)")
            continue
        table = {"bach": evaluate_bach(group)} | evaluate(group, systems)
        print(f"\n{name}: {len(group)} pieces (seen = the training chorales hold the tune in another setting, "
              f"similarity >= {args.similar})")
        print_table(table)
        results[name] = table
    plans = plan_table(pieces, args.weights, args.device, args.temperature, args.seed)
    print("\nchorale candidates' chord plans against the first's (steps: the metre's beats)")
    print_table(plans)
    results["plans"] = plans
    if args.follow:
        follow = follow_table(pieces, args.weights, args.device, args.seed)
        print("\nchord part and given chords (given = Bach's harmony read beat by beat, sent as chords)")
        print_table(follow)
        results["follow"] = follow
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
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

