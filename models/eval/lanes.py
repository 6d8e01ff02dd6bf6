"""What the chord lane (token format v2) is worth to the model, measured two ways:

- ``reading``: cross-entropy of the accompaniment's pitch tokens (bass, tenor, alto, chord pad)
  on windows of the validation chorales and the parts derived from them, each window read with
  its lanes and again with them left out; a model of an earlier vocabulary reads the windows
  without lanes, scored over its own tokens only.
- ``following``: the chorale voices decoded under the planner's plan with the decoder's chord
  guide switched off, so that only the model follows the plan: the share of voice notes struck
  on a beat that are tones of the plan's chord there, and chord agreement with Bach (the JSB
  validation melodies), with the plan's lanes in the stream and without them.

    python -m models.eval.lanes [--weights STEM] [--limit 76] [--windows 3]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from models.data.dataset import TokenSet, without_lanes
from models.decoding.decoding import Plan, Sampler, Segment, decode
from models.interface import DEFAULT_WEIGHTS
from models.net import checkpoint
from models.net import vocab as V
from models.net.tokenizer import decode as detokenize
from models.net.transformer import GPT
from models.representation import Piece

ACCOMPANIMENT = frozenset(V.TRK[r] for r in ("bass", "tenor", "alto", "chords"))
WINDOW = 300  # tokens after the header


def lane_windows(data: TokenSet, per_piece: int, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(source, window) from every piece with chord lanes: the header, then ``WINDOW`` tokens
    from a bar line drawn at random."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(len(data)):
        piece = data.tokens[data.offsets[i]:data.offsets[i + 1]].astype(np.int64)
        if V.HARM not in piece:
            continue
        bars = np.flatnonzero(piece == V.BAR)
        for _ in range(per_piece):
            start = int(rng.choice(bars))
            out.append((data.names[data.sources[i]], np.concatenate([piece[:V.HEADER], piece[start:start + WINDOW]])))
    return out


def accompaniment_pitches(seq: np.ndarray) -> np.ndarray:
    """Where ``seq`` holds a pitch token of the bass, tenor, alto or chord pad."""
    inside = np.zeros(len(seq), dtype=bool)
    role = None
    for i, t in enumerate(seq):
        role = None if t in (V.HARM, V.BAR) else t if t in V.TRK.values() else role
        inside[i] = role in ACCOMPANIMENT
    return inside & (seq >= V.PITCH0) & (seq < V.PITCH0 + 128)


@torch.no_grad()
def pitch_loss(model: GPT, seq: np.ndarray, vocabulary: int) -> tuple[float, int]:
    """(summed cross-entropy, count) of the accompaniment's pitch tokens of ``seq``, the model's
    distribution taken over its first ``vocabulary`` tokens."""
    logits = model(torch.from_numpy(seq[None, :-1]))[0, :, :vocabulary].float()
    nll = -torch.log_softmax(logits, -1).numpy()[np.arange(len(seq) - 1), seq[1:]]
    mask = accompaniment_pitches(seq)[1:]
    return float(nll[mask].sum()), int(mask.sum())


def reading(model: GPT, vocabulary: int, windows: Sequence[tuple[str, np.ndarray]]) -> dict[str, float]:
    """Per source and reading ("lanes", "no lanes"): accompaniment pitch cross-entropy."""
    totals: dict[str, list[float]] = {}
    readings = ("no lanes",) if vocabulary <= V.HARM else ("lanes", "no lanes")
    for source, seq in windows:
        for how in readings:
            loss, n = pitch_loss(model, seq if how == "lanes" else without_lanes(seq), vocabulary)
            total = totals.setdefault(f"{source}, {how}", [0.0, 0])
            total[0] += loss
            total[1] += n
    return {key: round(s / n, 3) for key, (s, n) in sorted(totals.items())}


def without_guide(plan: Plan, lanes: bool) -> Plan:
    """``plan`` with the chord guide off, and its chord lanes left out unless ``lanes``."""
    segments = []
    for seg in plan.segments:
        if seg.generate is not None:
            segments.append(Segment(generate=dataclasses.replace(seg.generate, guide=None)))
        else:
            segments.append(Segment(forced=seg.forced if lanes else without_lanes(np.asarray(seg.forced)).tolist()))
    return Plan(segments, plan.context)


def following(model: GPT, pieces: Sequence[Piece], seed: int = 0) -> dict[str, dict[str, float]]:
    """Per stream ("lanes", "no lanes"): beat chord tones of the plan and chord agreement."""
    from models.eval.harmonize import chord_jaccard
    from models.ops.harmonize import finish, plan_harmony

    out = {}
    for how in ("lanes", "no lanes"):
        hits = struck = 0
        agree, beats = 0.0, 0
        for piece in pieces:
            melody = piece.part("melody")
            assert melody is not None
            setup = plan_harmony(melody, "chorale", None, None, candidates=2)
            row = decode(model, without_guide(setup.plan, how == "lanes"), 1, Sampler(seed=seed))[0]
            parts = detokenize(row)[1]
            for role in ("alto", "tenor", "bass"):
                for n in parts[role].notes if role in parts else ():
                    chord = next((s.chord for s in setup.chords if s.start <= n.start < s.end), None)
                    if chord is not None and abs(n.start - round(n.start)) < 1e-6:
                        struck += 1
                        hits += n.pitch % 12 in chord.pitch_classes
            voices = finish(dataclasses.replace(setup, first=None), parts, melody, "chorale", 1)
            total, n_beats = chord_jaccard(melody, {p.name.split()[0].lower(): p for p in voices if p.name},
                                           dict(piece.tracks))
            agree, beats = agree + total, beats + n_beats
        out[how] = {"beat_chord_tones": round(hits / max(struck, 1), 3), "chord_agreement": round(agree / max(beats, 1), 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.eval.lanes", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--tokens", type=Path, default=Path("runs/tokens/valid.npz"),
                   help="the validation token cache of `dawbridge train` (format v2)")
    p.add_argument("--windows", type=int, default=3, help="windows per validation piece")
    p.add_argument("--limit", type=int, default=76, help="JSB validation melodies to decode")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    side = checkpoint.read_side(checkpoint.stem_of(args.weights), grow=True)
    model, _ = checkpoint.load(checkpoint.stem_of(args.weights), grow=True)
    vocabulary = len(side["tokens"])
    if args.tokens.exists():
        for key, value in reading(model, vocabulary, lane_windows(TokenSet.load(args.tokens), args.windows)).items():
            print(f"accompaniment pitch cross-entropy, {key}: {value}")
    else:
        print(f"no token cache at {args.tokens}: `dawbridge train` builds it")
    if vocabulary > V.HARM:
        from models.eval.harmonize import evaluation_pieces

        for how, figures in following(model, evaluation_pieces(args.limit)).items():
            print(f"chorale voices without the guide, {how}: {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
