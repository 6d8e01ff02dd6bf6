"""`dawbridge eval --ops`: the drums, fill, continue, restyle and vary ops on data the model
never trained on (Groove MIDI validation; folk melodies of the valid split), against baselines.

- continue / drums: kick and snare onset F1 (16th/triplet grid, per class) of the bar the
  model writes after 4 bars of a validation performance, against the bar the drummer played
  next; baselines: repeating the last context bar, the hits found in at least two of the
  four context bars, copying the first context bar (four back, a phrase's first bar) or the
  bar two back, the one of vote, bar two back and last bar that best predicts the context's
  own bars (backtest), the hits the continue op's recurrence table (models/ops/
  continuation.py, fitted on Groove train) keeps, and the op's own choice of the next bar's
  kick and snare (that table's hits, the vote of two or three bars, or one bar, by how well
  each agrees with the context bars weighted by their place in the phrase). ``drums`` gets
  only the style and tempo; its baseline is the style's typical bar (the kick/snare hits of at
  least half the style's bars on Groove train).
- drums with a bass line as context (4/4 bass lines of validation chorales): the share of bass
  notes that start with a kick and of kicks on a bass note's start, with and without it.
- fill: onsets per beat in the fill bar over those of the groove bars before it, the share
  of toms and crashes in it, the fills with any tom or crash, and those with a crash in the
  bar's last 16th (a 16th before the downbeat it belongs on), beside the same figures of the dataset's real fills (a session's
  fill recordings against its beat recordings); baseline: the groove repeated (ratio 1).
- drums by style (models/eval/judge.py, an independent per-bar classifier trained on Groove train,
  tempo left out): how often 4 bars asked for with only a style and tempo are recognised as
  that style, beside the drummers' own validation clips and the style's most typical train bar
  repeated; and the share of degenerate bars beside the drummers'.
- restyle: how often the judge recognises the target style, against the unchanged clip and the
  target's typical bar repeated, and the kick/snare onset F1 between source and result
  (skeleton survival), per strength.
- restyle melodies (folk valid tunes, first 8 bars): the same with a melody style classifier
  trained on the train split's folk tunes and chorales, and the note F1 to the source. A result
  is judged in its style's metre family (models/ops/metre_view.py: a jig restyled over 2/2 is read
  as 6/8, as the restyle wrote it).
- vary: note F1 (onset and pitch) to the source per strength; it must fall as strength rises.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.eval.judge import Judge, bar_part, bars, degenerate, typical_bar
from models.interface import Composer
from models.net import vocab as V
from models.net.tokenizer import snap
from models.ops.continuation import KEEP, next_skeleton, recurrence
from models.representation import Note, Part, Piece
from models.tasks import ContinueTask, DrumsTask, FillTask, RestyleTask, Sampling, VaryTask

log = logging.getLogger(__name__)
SKELETON = (DRUM_CLASSES["kick"], DRUM_CLASSES["snare"])
TOMS_CRASH = frozenset(DRUM_CLASSES[c] for c in ("low_tom", "mid_tom", "high_tom", "crash"))
CONTEXT = 4  # bars read before the bar predicted
TARGET_STYLES = ("rock", "funk", "jazz", "latin", "hiphop")
TARGET_MELODY_STYLES = ("reel", "jig", "hornpipe", "chorale")
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


def crop(part: Part, start: float, end: float) -> Part:
    """The notes of [start, end) moved to 0 as a clip of that length. A note belongs where it
    snaps to on the grid: a downbeat played a little early is the next bar's, not the last
    sixteenth of this one (measured by raw time, every early downbeat would count as a miss in
    its bar and a hit at the next bar line of the bar before)."""
    notes = tuple(Note(n.pitch, max(0.0, round(n.start - start, 6)), n.duration, n.velocity)
                  for n in part.notes if start <= snap(n.start * 12) / 12 < end)
    return Part(notes, end - start, part.time_signature, part.tempo, part.key, part.name, part.kind)


def onsets(part: Part, pitches: Sequence[int] | None = None) -> set[tuple[int, int]]:
    """(grid tick, class) of each drum hit (or pitch for pitched parts)."""
    out = set()
    for n in part.notes:
        pitch = DRUM_PITCH_MAP.get(n.pitch, n.pitch) if part.kind == "drums" else n.pitch
        if pitches is None or pitch in pitches:
            out.add((snap(n.start * 12), pitch))
    return out


def f1(predicted: set, actual: set) -> float:
    if not predicted and not actual:
        return 1.0
    hits = len(predicted & actual)
    return 2 * hits / (len(predicted) + len(actual)) if hits else 0.0


def windows(pieces: Sequence[Piece], limit: int) -> list[tuple[Part, Part, str]]:
    """(4 context bars, the next bar, style) from 4/4 validation beats, spread over pieces."""
    out = []
    for piece in pieces:
        part = piece.first
        if piece.labels.get("beat_type") != "beat" or part.time_signature != (4, 4) or not piece.style:
            continue
        bars = int(part.length // 4)
        for k in range(CONTEXT, bars - 1, max(CONTEXT + 1, bars // 3)):
            context, target = crop(part, (k - CONTEXT) * 4, k * 4), crop(part, k * 4, k * 4 + 4)
            if len(context.notes) >= 8 and target.notes:
                out.append((context, target, piece.style))
            if len(out) >= limit:
                return out
    return out


def eval_continue(composer: Composer, cases: list[tuple[Part, Part, str]], seed: int,
                  typical: dict[str, set[tuple[int, int]]] | None = None) -> dict[str, Any]:
    model, drums, usual = [], [], []
    base: dict[str, list[float]] = {}
    alternating: list[tuple[float, float, bool]] = []  # (model F1, vote F1, the phrase kept)
    for i, (context, target, style) in enumerate(cases):
        actual = onsets(target, SKELETON)
        (cont,) = composer.run(ContinueTask(context, bars=1, sampling=Sampling(seed=seed + i)))[0]
        model.append(f1(onsets(cont, SKELETON), actual))
        phrase = context if alternation(context) else alternated(context)
        if phrase is not None:
            if phrase is not context:
                (cont,) = composer.run(ContinueTask(phrase, bars=1, sampling=Sampling(seed=seed + i)))[0]
            same, other = (onsets(crop(phrase, 4 * b, 4 * b + 4), SKELETON) for b in (2, 3))
            wrote = onsets(cont, SKELETON)
            alternating.append((f1(wrote, same if phrase is not context else actual),
                                f1(recurring(phrase), same if phrase is not context else actual),
                                f1(wrote, same) > f1(wrote, other)))
        (new,) = composer.run(DrumsTask(1, (4, 4), context.tempo, style, humanize=0.0,
                                        sampling=Sampling(seed=seed + i)))[0]
        drums.append(f1(onsets(new, SKELETON), actual))
        for name, predicted in baselines(context).items():
            base.setdefault(name, []).append(f1(predicted, actual))
        if typical is not None:
            usual.append(f1(typical.get(style, set()), actual))
    out: dict[str, Any] = {"cases": len(cases), "continue_f1": _mean(model), "drums_f1": _mean(drums)}
    out |= {f"{name}_f1": _mean(scores) for name, scores in base.items()}
    if typical is not None:
        out["style_typical_bar_f1"] = _mean(usual)
    # real alternating contexts and two-bar phrases of real bars (A B A B -> A)
    out["alternating_contexts"] = {"cases": len(alternating), "continue_f1": _mean([a[0] for a in alternating]),
                                   "hits_in_2_of_4_bars_f1": _mean([a[1] for a in alternating]),
                                   "alternation_kept": _mean([a[2] for a in alternating])}
    return out


def alternated(context: Part) -> Part | None:
    """A two-bar phrase of real bars: the context's first two bars played twice (A B A B), when
    they differ (kick/snare F1 under 0.8); its continuation should be A."""
    a, b = crop(context, 0, 4), crop(context, 4, 8)
    if f1(onsets(a, SKELETON), onsets(b, SKELETON)) >= 0.8:
        return None
    notes = tuple(Note(n.pitch, n.start + 8 * r + 4 * k, n.duration, n.velocity)
                  for r in range(2) for k, bar in enumerate((a, b)) for n in bar.notes)
    return Part(notes, 16.0, context.time_signature, context.tempo, context.key, context.name, context.kind)


def alternation(context: Part) -> bool:
    """Whether the 4 context bars alternate two different bars (kick/snare F1 of bars two apart
    at least 0.8, of neighbours under it)."""
    ks = skeletons(context)
    return f1(ks[0], ks[2]) >= 0.8 and f1(ks[1], ks[3]) >= 0.8 and max(f1(ks[0], ks[1]), f1(ks[2], ks[3])) < 0.8


def typical_bars(pieces: Sequence[Piece]) -> dict[str, set[tuple[int, int]]]:
    """The baseline for ``drums``, which hears only the style: per style, the kick/snare hits
    found in at least half of the style's 4/4 bars on Groove train."""
    bars: dict[str, int] = {}
    count: dict[str, dict[tuple[int, int], int]] = {}
    for piece in pieces:
        part = piece.first
        if piece.labels.get("beat_type") != "beat" or part.time_signature != (4, 4) or not piece.style:
            continue
        bars[piece.style] = bars.get(piece.style, 0) + int(part.length // 4)
        seen = {(tick % 48, tick // 48, pitch) for tick, pitch in onsets(part, SKELETON)}
        for pos, _, pitch in seen:
            count.setdefault(piece.style, {})[(pos, pitch)] = count.setdefault(piece.style, {}).get((pos, pitch), 0) + 1
    return {style: {hit for hit, n in hits.items() if n >= bars[style] / 2} for style, hits in count.items()}


def recurring(context: Part) -> set[tuple[int, int]]:
    """The second baseline: the kick/snare hits found in at least two of the context bars."""
    return voted(skeletons(context))


def skeletons(context: Part) -> list[set[tuple[int, int]]]:
    """The kick/snare hits of each context bar."""
    return [onsets(crop(context, 4 * bar, 4 * bar + 4), SKELETON) for bar in range(CONTEXT)]


def voted(bars: Sequence[set[tuple[int, int]]], least: int = 2) -> set[tuple[int, int]]:
    """The hits found in at least ``least`` of ``bars``."""
    count: dict[tuple[int, int], int] = {}
    for bar in bars:
        for hit in bar:
            count[hit] = count.get(hit, 0) + 1
    return {hit for hit, n in count.items() if n >= least}


def baselines(context: Part) -> dict[str, set[tuple[int, int]]]:
    """The continue baselines' predictions of the next bar's kick/snare hits, by name."""
    bars = skeletons(context)
    return {"repeat_last_bar": bars[-1], "hits_in_2_of_4_bars": voted(bars), "copy_first_bar": bars[0],
            "copy_bar_two_back": bars[-2], "backtest_choice": backtested(bars),
            "recurrence_table": {hit for hit, p in recurrence(bars).items() if p >= KEEP},
            "phrase_choice": next_skeleton(bars)}


def backtested(bars: Sequence[set[tuple[int, int]]]) -> set[tuple[int, int]]:
    """The one of the vote, the bar two back and the last bar whose rule best predicts the
    context's own bars (the vote of the other three for each bar, each bar from the one two
    before it, each from the one before it); ties go to the vote."""
    n = len(bars)
    scores = [float(np.mean([f1(voted([b for j, b in enumerate(bars) if j != i]), bars[i]) for i in range(n)])),
              float(np.mean([f1(bars[i - 2], bars[i]) for i in range(2, n)])),
              float(np.mean([f1(bars[i - 1], bars[i]) for i in range(1, n)]))]
    return (voted(bars), bars[-2], bars[-1])[scores.index(max(scores))]


def density(part: Part, start: float, end: float) -> float:
    return sum(start <= n.start < end for n in part.notes) / max(end - start, 1e-6)


def real_fills(pieces: Sequence[Piece]) -> dict[str, float]:
    """Real fills of the validation split against their session's beats."""
    beats: dict[str, list[float]] = {}
    for p in pieces:
        if p.labels.get("beat_type") == "beat":
            beats.setdefault(p.labels.get("session", ""), []).append(density(p.first, 0, p.first.length))
    ratios, share, into = [], [], []
    for p in pieces:
        session = p.labels.get("session", "")
        if p.labels.get("beat_type") == "fill" and session in beats and p.first.notes:
            ratios.append(density(p.first, 0, p.first.length) / float(np.mean(beats[session])))
            share.append(_toms_share(p.first.notes))
            into.append(any(p.first.length - 1.0 <= n.start < p.first.length for n in p.first.notes))
    return {"fills": len(ratios), "density_ratio": _median(ratios), "toms_crash_share": _mean(share),
            "plays_the_last_beat": _mean(into)}


def _toms_share(notes: Sequence[Note]) -> float:
    mapped = [DRUM_PITCH_MAP.get(n.pitch, n.pitch) for n in notes]
    return sum(p in TOMS_CRASH for p in mapped) / max(1, len(mapped))


def eval_fill(composer: Composer, cases: list[tuple[Part, Part, str]], seed: int) -> dict[str, dict[str, float]]:
    out = {}
    for intensity in (0.2, 0.5, 0.8):
        ratios, share, voiced, early, into = [], [], [], [], []
        for i, (context, _, _) in enumerate(cases):
            (part,) = composer.run(FillTask(context, intensity=intensity, humanize=0.0,
                                            sampling=Sampling(seed=seed + i)))[0]
            groove = density(part, 0, 12)
            fill = [n for n in part.notes if n.start >= 12]
            if groove:
                ratios.append(density(part, 12, 16) / groove)
                share.append(_toms_share(fill))
            voiced.append(any(DRUM_PITCH_MAP.get(n.pitch) in TOMS_CRASH for n in fill))
            early.append(any(DRUM_PITCH_MAP.get(n.pitch) == DRUM_CLASSES["crash"] and n.start >= 15.75 for n in fill))
            into.append(any(15.0 <= n.start < 16.0 for n in fill))
        out[f"model_intensity_{intensity}"] = {"fills": len(ratios), "density_ratio": _median(ratios),
                                              "toms_crash_share": _mean(share), "with_toms_or_crash": _mean(voiced),
                                              "crash_a_16th_early": _mean(early), "plays_the_last_beat": _mean(into)}
    base = [_toms_share([n for n in c.notes if n.start >= 12]) for c, _, _ in cases]
    out["repeat_groove"] = {"fills": len(cases), "density_ratio": 1.0, "toms_crash_share": _mean(base)}
    return out


def eval_drums_with_bass(composer: Composer, basses: Sequence[Part], seed: int) -> dict[str, dict[str, float]]:
    """How a 4-bar rock groove locks with a bass line given as context: the share of the bass
    notes that start with a kick, and of the kicks that fall on a bass note's start, against
    the same requests without the context."""
    out = {}
    for name, with_bass in (("without_context", False), ("with_bass_context", True)):
        locked, on_bass = [], []
        for i, bass in enumerate(basses):
            task = DrumsTask(4, (4, 4), 100.0, "rock", context=(bass,) if with_bass else (), humanize=0.0,
                             sampling=Sampling(seed=seed + i))
            (part,) = composer.run(task)[0]
            kicks = {tick for tick, _ in onsets(part, [DRUM_CLASSES["kick"]])}
            starts = {snap(n.start * 12) for n in bass.notes}
            locked.append(len(kicks & starts) / max(1, len(starts)))
            on_bass.append(len(kicks & starts) / max(1, len(kicks)))
        out[name] = {"bass_starts_with_kick": _mean(locked), "kicks_on_bass_starts": _mean(on_bass)}
    return out


def chorale_basses(limit: int) -> list[Part]:
    """The first 4 bars of 4/4 bass lines of validation chorales (music21), as context clips."""
    from models.data.corpus import load_all

    out = []
    for piece in load_all(sources=("chorales",), derived=False)["chorales"]:
        bass = piece.part("bass")
        if piece.split == "valid" and bass is not None and bass.time_signature == (4, 4) and bass.length >= 16:
            out.append(crop(bass, 0, 16))
        if len(out) >= limit:
            break
    return out


def style_clips(pieces: Sequence[Piece], judged: Sequence[str]) -> list[tuple[Part, str]]:
    """One 4-bar clip (its bars 2-5, or 1-4) of every 4/4 validation beat in a judged style."""
    out = []
    for piece in pieces:
        part = piece.first
        if (piece.labels.get("beat_type") == "beat" and part.time_signature == (4, 4) and piece.style in judged
                and part.length >= 16):
            first = 4.0 if part.length >= 20 else 0.0
            out.append((crop(part, first, first + 16), piece.style or ""))
    return out


def eval_drums(composer: Composer, valid: Sequence[Piece], judge: Judge,
               train: Sequence[Piece], seed: int) -> dict[str, Any]:
    """Drums asked for with a style and tempo (one request per validation clip, then one per
    style at its median train tempo), judged beside the drummers' clips and typical bars
    (gospel, with no beats on the train split, is not judged)."""
    real = style_clips(valid, judge.styles)
    typical = {s: typical_bar(train, s) for s in judge.styles}
    tempi = {s: float(np.median([p.first.tempo or 120.0 for p in train if p.style == s] or [120.0]))
             for s in V.DRUM_STYLES}
    asked = [(style, context.tempo) for context, style in real] + [(s, tempi[s]) for s in V.DRUM_STYLES]
    made = []
    for i, (style, tempo) in enumerate(asked):
        (part,) = composer.run(DrumsTask(4, (4, 4), tempo, style, humanize=0.0, sampling=Sampling(seed=seed + i)))[0]
        made.append((part, style))

    def recognised(clips: Sequence[tuple[Part, str]]) -> dict[str, float]:
        by: dict[str, list[bool]] = {}
        for part, style in clips:
            by.setdefault(style, []).append(judge.predict(part) == style)
        judged = [h for s, hs in by.items() if s in judge.styles for h in hs]
        return {"all_judged": _mean(judged)} | {s: _mean(h) for s, h in sorted(by.items())}

    bars_of_typical = [(bar_part(bars(t)[0], 4.0, 4), s) for s, t in typical.items() if t is not None]
    return {"recognised": {"model_per_window": recognised(made[:len(real)]),
                           "model_per_style": recognised(made[len(real):]),
                           "drummers_validation_clips": recognised(real),
                           "style_typical_train_bar": recognised(bars_of_typical)},
            "degenerate_bars": {"model_per_window": degenerate(made[:len(real)]),
                                "drummers_validation": degenerate(real),
                                "model_per_style": degenerate(made[len(real):])}}


def eval_restyle(composer: Composer, cases: list[tuple[Part, Part, str]], judge: Judge,
                 train: Sequence[Piece], seed: int) -> dict[str, dict[str, float]]:
    styles = [s for s in TARGET_STYLES if s in judge.styles]
    typical = {s: typical_bar(train, s) for s in styles}
    base_hit, base_kept = [], []
    for i, (context, _, style) in enumerate(cases):
        target = _target(styles, i, style)
        usual = typical[target]
        repeated = bar_part(bars(usual)[0], 4.0, 4) if usual is not None else Part((), 16.0, kind="drums")
        base_hit.append(judge.predict(repeated) == target)
        base_kept.append(f1(onsets(repeated, SKELETON), onsets(context, SKELETON)))
    out = {"classifier_on_source": {"accuracy_true_style": _mean([judge.predict(c) == s for c, _, s in cases])},
           "target_typical_bar_repeated": {"target_recognised": _mean(base_hit), "skeleton_f1": _mean(base_kept)}}
    for strength in (0.0, 0.5, 1.0):
        hit, survive = [], []
        for i, (context, _, style) in enumerate(cases):
            target = _target(styles, i, style)
            (part,) = composer.run(RestyleTask(context, target, strength, sampling=Sampling(seed=seed + i)))[0]
            hit.append(judge.predict(part) == target)
            survive.append(f1(onsets(part, SKELETON), onsets(context, SKELETON)))
        out[f"strength_{strength}"] = {"target_recognised": _mean(hit), "skeleton_f1": _mean(survive)}
    return out


def eval_restyle_melody(composer: Composer, clips: Sequence[tuple[Part, str]], train: Sequence[Piece],
                        seed: int) -> dict[str, dict[str, float]]:
    """Melodies restyled: how often a melody style classifier trained on the train split
    recognises the target style, and the note F1 (onset and pitch) to the source, per strength."""
    from models.ops.metre_view import view_for
    from models.styles.melody import train_on

    classifier = train_on(train)
    out = {"classifier_on_source": {"accuracy_true_style": _mean([classifier.predict(c) == s for c, s in clips])}}
    for strength in (0.0, 0.5, 1.0):
        hit, kept = [], []
        by_target: dict[str, list[bool]] = {}
        for i, (clip, style) in enumerate(clips):
            target = _target(TARGET_MELODY_STYLES, i, style)
            (part,) = composer.run(RestyleTask(clip, target, strength, sampling=Sampling(seed=seed + i)))[0]
            view = view_for(part.time_signature, target)  # a jig over 4/4 is judged as 6/8
            hit.append(classifier.predict(view.to_view(part) if view else part) == target)
            by_target.setdefault(target, []).append(hit[-1])
            kept.append(f1(onsets(part), onsets(clip)))
        out[f"strength_{strength}"] = {"target_recognised": _mean(hit), "note_f1_to_source": _mean(kept)} | {
            f"recognised_as_{t}": _mean(h) for t, h in sorted(by_target.items())}
    return out


def _target(styles: Sequence[str], i: int, source: str) -> str:
    """The ``i``-th case's target: the styles in turn, skipping the clip's own."""
    return next(s for s in [*styles[i % len(styles):], *styles] if s != source)


def eval_vary(composer: Composer, clips: Sequence[Part], seed: int) -> dict[str, float]:
    out = {}
    for strength in STRENGTHS:
        scores = []
        for i, clip in enumerate(clips):
            for (part,) in composer.run(VaryTask(clip, strength, sampling=Sampling(2, 1.0, seed + i))):
                scores.append(f1(onsets(part), onsets(clip)))
        out[str(strength)] = _mean(scores)
    values = list(out.values())
    out["monotonic"] = float(all(a >= b for a, b in zip(values, values[1:], strict=False)))
    return out


def folk_clips(limit: int, split: str = "valid", styled: bool = False) -> list[tuple[Part, str]]:
    """The first 8 bars of folk tunes of ``split`` with their style (only styled tunes when
    ``styled``)."""
    from models.data.corpus import load_all

    pieces = [p for p in load_all(sources=("folk",), derived=False)["folk"] if p.split == split]
    clips = []
    for p in pieces:
        part = p.first
        if part.bars >= 8 and (p.style or not styled):
            clips.append((crop(part, 0, 8 * part.beats_per_bar), p.style or ""))
        if len(clips) >= limit:
            break
    return clips


def _mean(xs: Sequence[float]) -> float:
    return round(float(np.mean(xs)), 4) if len(xs) else 0.0


def _median(xs: Sequence[float]) -> float:
    return round(float(np.median(xs)), 4) if len(xs) else 0.0


PARTS = ("drums", "continue", "fill", "drums_with_bass", "restyle", "vary", "restyle_melody")


def evaluate(composer: Composer, limit: int, seed: int, only: Sequence[str] = PARTS) -> dict[str, Any]:
    from models.data.corpus import load_all

    groove = load_all(sources=("groove",), derived=False)["groove"]
    valid = [p for p in groove if p.split == "valid"]
    train = [p for p in groove if p.split == "train"]
    cases = windows(valid, limit)
    judge = Judge.train(train) if {"drums", "restyle"} & set(only) else None
    table: dict[str, Any] = {}
    started = time.perf_counter()
    if judge is not None and "drums" in only:
        table["drums"] = eval_drums(composer, valid, judge, train, seed)
    if "continue" in only:
        table["continue_drums"] = eval_continue(composer, cases, seed, typical_bars(train))
    if "fill" in only:
        table["fill"] = {"real_fills": real_fills(valid)} | eval_fill(composer, cases, seed)
    if "drums_with_bass" in only:
        table["drums_with_bass"] = eval_drums_with_bass(composer, chorale_basses(limit), seed)
    if judge is not None and "restyle" in only:
        table["restyle_drums"] = eval_restyle(composer, cases, judge, train, seed)
    if "vary" in only:
        drum_clips = [c for c, _, _ in cases[: max(2, limit // 3)]]
        table["vary_drums"] = eval_vary(composer, drum_clips, seed)
        table["vary_melody"] = eval_vary(composer, [c for c, _ in folk_clips(max(2, limit // 3))], seed)
    if "restyle_melody" in only:
        from models.styles.melody import training_pieces

        table["restyle_melody"] = eval_restyle_melody(composer, folk_clips(limit, styled=True), training_pieces(), seed)
    table["seconds"] = round(time.perf_counter() - started, 1)
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dawbridge eval --ops", description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, help="model weights (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--limit", type=int, default=24, help="validation windows (4 bars + 1) to use")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the table here")
    p.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="evaluate only these parts")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from models.interface import load_composer

    composer = load_composer(args.weights, args.device)
    table = evaluate(composer, args.limit, args.seed, args.only)
    print(json.dumps(table, indent=1))
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
