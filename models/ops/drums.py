"""The drum ops: ``drums`` (a new groove of N bars in a style) and ``fill`` (a span of a drum
clip replaced by a fill, everything outside the span kept bit for bit).

Both write only the nine GM drum classes the model was trained on (models/constants.py), with
velocities, then humanize on the seed (models/ops/humanize.py). ``drums`` reads the header (style,
metre, tempo); its kick leans on the note starts of the context's bass line (``kick_accents``),
and, when asked, it reads the context clips as forced tracks of every bar (untrained: off);
``fill`` reads up to ``CONTEXT_BARS`` bars of the clip before the span and writes the span's
bars flagged FILL, as the Groove fill recordings were tokenized.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

import numpy as np

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.decoding.decoding import Plan, Segment
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, decode, quantize_part, snap
from models.ops import humanize
from models.ops.groove import GroovePrior
from models.ops.regions import (
    DRUM_BEATS,
    QNote,
    Rewrite,
    Track,
    bars_budget,
    generated_notes,
    plan,
    quantize,
)
from models.representation import Note, Part
from models.styles import grooves
from models.tasks import DrumsTask, FillTask

DRUM_PITCHES = frozenset(DRUM_CLASSES.values())
CONTEXT_BARS = 8  # clip bars read before a fill
CONTEXT_ROLES = {"melody": "melody", "bass": "bass", "chords": "chords"}  # clip kind -> track role
# The model saw drums only alone (Groove MIDI); context tracks beside them are an unseen mix.
# Off unless a caller asks: see the evaluation's drums-with-context figures.
USE_CONTEXT = False
# Notes per 4/4 bar, scaled by the bar's length: Groove train bars hold 12..28 (10th..90th pct).
# A minimum above what the model would write piles the missing notes up at the bar's end, so
# the minimums stay low unless density asks for more.
DENSITY_MIN = (2, 20)  # min notes at density 0 and 1 (no density given: DEFAULT_MIN)
DEFAULT_MIN = 6
DENSITY_MAX = (16, 40)
# A fill holds at most FILL_DENSITY (at intensity 0 and 1) times the groove's hits per beat. On
# 20 Groove train windows (drummers' train fills: 0.72 of their session's beats' onsets per
# beat), the fill bar's onsets over the groove's at intensity 0.2 / 0.5 / 0.8: no cap 0.86 / 0.98
# / 0.94; 1.0: 0.83 / 0.90 / 0.86; 0.8: 0.80 / 0.78 / 0.76 (toms and crash 0.08 / 0.15 / 0.41 of
# the fill bar, from 0.11 / 0.20 / 0.48), but then an intense fill is no denser than a light one;
# 0.6 at intensity 0 to 1.0 at 1: 0.76 / 0.78 / 0.82 (toms and crash 0.08 / 0.15 / 0.43).
# On 150 other train windows (every third performance from the second), 0.6 to 1.0 gave 0.82 /
# 0.80 / 0.84 (toms and crash 0.10 / 0.21 / 0.48); 0.4 to 0.8: 0.73 / 0.67 / 0.69 (0.08 / 0.18 /
# 0.46); 0.3 to 0.7 (60 windows): 0.68 / 0.61 / 0.59; 0.2 to 0.7: 0.64 / 0.58 / 0.57.
FILL_DENSITY = (0.4, 0.8)
# A hard cap stops a fill early: the model writes in time order and the bar ends at the cap, so
# at 0.4 to 0.8 only 66% / 50% / 55% of fills (100 train windows) struck anything in the last
# beat before the downbeat (drummers' one-bar train fills: 97%; 0.6 to 1.0: 85% at 0.5, 76% at
# 0.8). So the model may write FILL_ROOM times the cap, and the fill is thinned to the cap
# (:func:`thinned`): room 1.0 / 1.3 / 1.5 / 2.0 gave 50% / 83% / 92% / 99% at 0.5 with the same
# density; 1.5 keeps some of the model's choice of where the fill goes quiet.
FILL_ROOM = 1.5
FILL_MIN = (2, 14)  # min notes per fill bar at intensity 0 and 1
FILL_MAX = (14, 36)
# With a bass (or chords) among the context clips, the kick leans on its note starts, as a
# drummer locks with the bass: the log-bias of a kick where a context note starts. On train
# chorale bass lines, 1.5 took the bass notes starting with a kick from 45% to 78% (and the
# kicks on a bass start from 42% to 59%) with the v1 weights; 2.5 locks harder and turns a
# walking quarter-note bass into four on the floor. The v2 weights lock less: on the first
# 4 bars of 24 train chorale basses (4 seeds; without the bass 2), 1.5 takes the bass starts
# with a kick only from 35% to 62% (kicks on a bass start 41% -> 62%, bars with a kick on all
# four beats 5% -> 17%); 2.0 gives 71% (65%, 25% such bars; v1 at 1.5: 31%), 2.5 gives 79%
# (70%, 37%).
KICK_LOCK = 2.0
BASS_BELOW = 55  # a context clip of unknown kind is read as the bass line when it sits this low
# A fill moves onto the toms and crash the harder it is played: their log-bias at intensity 1
# (on Groove train windows, 1.2 gave them 0.32 of a fill's hits at intensity 0.5 with the v1
# weights; drummers 0.30). With v2, on 40 Groove train windows (2 seeds), 1.2 gives 0.21 at
# intensity 0.5 and 0.30 at 0.8; 2.0 gives 0.28 and 0.52 (drummers' train fills: mean 0.30,
# 90th percentile 0.54), 2.4 gives 0.31 and 0.64. The fill's density barely moves with it.
# The bias grows as intensity ** FILL_CURVE: with the thinned fills above (FILL_DENSITY,
# FILL_ROOM; 100 train windows), a straight line (1.0) gives toms and crash 0.11 / 0.25 / 0.55
# of the fill at intensity 0.2 / 0.5 / 0.8, a square root (0.5) 0.14 / 0.31 / 0.60 (drummers'
# train fills 0.30 on average).
FILL_EMPHASIS = 2.0
FILL_CURVE = 0.5
# Drums from the groove library (models/styles/grooves.py): the drummer's bars forced at the
# start, the bars of the performance read for the priors, the performances drawn from per request,
# and the generated bars' note counts relative to the drummer's (median bar, busiest bar).
FORCED_BARS = 1
SEGMENT_BARS = 8
POOL = 6
GROOVE_MIN, GROOVE_MAX = 0.6, 1.4
PRIOR_WEIGHT = 3.0  # the groove prior's exponent (models/ops/groove.py's WEIGHT)
GROOVE_TEMPERATURE = 0.85  # multiplies the request's temperature for the written bars
# On 40 requests with the style and tempo of Groove *train* clips (drummers: 8.8% of bars
# snare-dominated, 17.9% four on the floor outside dance): 7.5% and 25.6% as set; prior weight 4.5
# or at most 1.15x the drummer's busiest bar changed neither; temperature 0.85: 6.9% and 25.0%.
CRASH = DRUM_CLASSES["crash"]
LAND_TICKS = 6  # a crash in the fill's last eighth belongs on the next downbeat
LAND_FROM = 0.8  # from this intensity a fill lands on a crash (where the clip goes on)
CYMBALS = frozenset(DRUM_CLASSES[c] for c in ("closed_hat", "open_hat", "ride", "crash"))
CORE_KIT = frozenset(DRUM_CLASSES[c] for c in ("kick", "snare", "closed_hat", "open_hat", "ride", "crash"))
TIME_KEEPERS = frozenset(DRUM_CLASSES[c] for c in ("closed_hat", "open_hat", "ride"))
FILL_VOICES = tuple(DRUM_CLASSES[c] for c in ("low_tom", "mid_tom", "high_tom", "crash"))
# A fill plays into the next downbeat: a hit of the kick, snare, toms or crash is due on its last
# beat (and the fill keeps to them from there). Without it the model may end a fill early and
# leave the bar silent before the downbeat.
LAST_BEAT = frozenset(DRUM_CLASSES[c] for c in ("kick", "snare")) | frozenset(FILL_VOICES)


def to_classes(notes: tuple[Note, ...] | list[Note]) -> list[Note]:
    """Drum notes mapped onto the nine classes the model knows (unknown pitches dropped)."""
    return [Note(DRUM_PITCH_MAP[n.pitch], n.start, n.duration, n.velocity)
            for n in notes if n.pitch in DRUM_PITCH_MAP]


def _lerp(pair: tuple[float, float], x: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * x


def build_drums(task: DrumsTask, block: int = 1024, use_context: bool = USE_CONTEXT) -> Rewrite:
    """Drums from the library's grooves that fit the request, each candidate from a different
    performance; the model alone where the library has none in the style and metre."""
    library = grooves.shipped()
    tpb = bar_ticks(task.time_signature)
    accents = kick_accents(task)
    found = [] if library is None or use_context else library.find(
        task.style, task.time_signature, task.tempo, task.density, {t % tpb for t, _, _ in accents})
    if found:
        return _from_grooves(task, found, accents)
    return _from_model(task, use_context)


def _from_grooves(task: DrumsTask, found: list[grooves.Groove], accents: tuple[tuple[int, int, float], ...]) -> Rewrite:
    """The first ``FORCED_BARS`` bars are the drummer's own; the model writes the others, each
    under a groove prior of the drummer's bars at the same place in the two-bar phrase (so an
    alternation stays one), with the kick leaning on the context's bass line."""
    tpb = bar_ticks(task.time_signature)
    total = task.bars * tpb
    length = total / V.TICKS_PER_BEAT
    forced = FORCED_BARS if task.bars > FORCED_BARS else 0
    header = Header(task.style, task.time_signature, None, task.tempo)
    chosen: list[tuple[grooves.Groove, int]] = []

    def plans(rows: int, seed: int) -> list[Plan]:
        chosen[:] = pick_grooves(found, rows, np.random.default_rng([seed, 16]))
        out = []
        for g, first in chosen:
            segment = g.bars[first:first + SEGMENT_BARS]
            counts = sorted(len(bar) for bar in segment)
            track = Track("drums", DRUM_PITCHES, min_notes=round(GROOVE_MIN * counts[len(counts) // 2]),
                          max_notes=round(GROOVE_MAX * counts[-1]) + 2, accents=accents)
            the_plan = plan(header, track, _kept(segment, forced, tpb), [(forced * tpb, total)], task.bars, tpb)
            out.append(phrase_priors(the_plan, segment, tpb, PRIOR_WEIGHT))
        return out

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        g, first = chosen[row]
        segment = g.bars[first:first + SEGMENT_BARS]
        kept = _kept(segment, forced, tpb)
        notes = [Note(q[1], q[0] / V.TICKS_PER_BEAT, DRUM_BEATS, q[3]) for q in kept]
        notes += generated_notes(decode(tokens, length)[1].get("drums"), kept, [(forced * tpb, total)])
        notes = humanize.apply(notes, task.humanize, task.tempo, seed, (0.0, length))
        source = f"{g.source} bars {first + 1}-{first + len(segment)}"
        return [Part(tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), length, task.time_signature,
                     task.tempo, None, name=f"Drums ({task.style})", kind="drums", extra={"source": source})]

    return Rewrite(plans, finish, temperature=GROOVE_TEMPERATURE)


def pick_grooves(found: Sequence[grooves.Groove], rows: int, rng: np.random.Generator
                 ) -> list[tuple[grooves.Groove, int]]:
    """(groove, first bar of its segment) for each row: drawn from the best-fitting
    ``POOL`` (at least ``rows``), different performances with different kick/snare patterns
    first; a segment starts on an odd bar of the performance (its phrase's first)."""
    pool = list(found[:max(POOL, rows)])
    order = [pool[i] for i in rng.permutation(len(pool))]
    picked: list[grooves.Groove] = []
    for g in order:
        if len(picked) < rows and all(g.skeleton != p.skeleton for p in picked):
            picked.append(g)
    picked += [g for g in order if g not in picked][:rows - len(picked)]
    picked += [picked[i % len(picked)] for i in range(rows - len(picked))]
    out = []
    for g in picked:
        starts = range(0, max(1, len(g.bars) - SEGMENT_BARS + 1), 2)
        out.append((g, int(starts[int(rng.integers(len(starts)))])))
    return out


def _kept(segment: Sequence[Sequence[grooves.Hit]], forced: int, tpb: int) -> list[QNote]:
    return [(b * tpb + t, c, 3, v) for b in range(forced) for t, c, v in segment[b % len(segment)]]


def phrase_priors(the_plan: Plan, segment: Sequence[Sequence[grooves.Hit]], tpb: int,
                  weight: float = PRIOR_WEIGHT, first_bar: int = 0,
                  more: Sequence[Sequence[Sequence[grooves.Hit]]] = ()) -> Plan:
    """Each generated bar under the groove prior of a drummer's bars (``segment``, its first
    at bar ``first_bar``) at the same place in the two-bar phrase; ``more``: other drummers'
    segments read with it."""
    priors = []
    for parity in (0, 1):
        bars = [bar for seg in (segment, *more) for b, bar in enumerate(seg) if b % 2 == parity] or [segment[0]]
        notes = [(b * tpb + t, c) for b, bar in enumerate(bars) for t, c, _ in bar]
        priors.append(GroovePrior.from_bars(notes, range(len(bars)), tpb, weight, limit=len(bars)))
    return two_bar_priors(the_plan, priors, tpb, first_bar)


def two_bar_priors(the_plan: Plan, priors: Sequence[GroovePrior | None], tpb: int, first_bar: int) -> Plan:
    """``the_plan`` with each generated bar under ``priors[0]`` or ``priors[1]`` by its place in
    a two-bar phrase (bar ``first_bar`` at place 0)."""
    segments = [Segment(s.forced, dataclasses.replace(
        s.generate, prior=priors[(s.generate.bar_start // tpb - first_bar) % 2])) if s.generate is not None else s
        for s in the_plan.segments]
    return dataclasses.replace(the_plan, segments=segments)


def _from_model(task: DrumsTask, use_context: bool) -> Rewrite:
    tpb = bar_ticks(task.time_signature)
    scale = tpb / 48
    density = 0.5 if task.density is None else task.density
    least = DEFAULT_MIN if task.density is None else _lerp(DENSITY_MIN, density)
    track = Track("drums", DRUM_PITCHES, min_notes=round(least * scale),
                  max_notes=max(4, round(_lerp(DENSITY_MAX, density) * scale)), accents=kick_accents(task))
    context = _context(task, tpb) if use_context else {}
    key = next((c.key for c in task.context if c.key), None) if context else None
    header = Header(task.style, task.time_signature, key, task.tempo)
    total = task.bars * tpb
    the_plan = plan(header, track, [], [(0, total)], task.bars, tpb, context)
    length = task.bars * tpb / V.TICKS_PER_BEAT

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        part = decode(tokens, length)[1].get("drums")
        notes = generated_notes(part, [], [(0, total)])
        notes = humanize.apply(notes, task.humanize, task.tempo, seed, (0.0, length))
        return [Part(tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), length, task.time_signature,
                     task.tempo, None, name=f"Drums ({task.style})", kind="drums")]

    return Rewrite(lambda rows, seed: [the_plan] * rows, finish)


def kick_accents(task: DrumsTask) -> tuple[tuple[int, int, float], ...]:
    """Kick accents where the context's bass line starts a note: the clip of kind bass, else
    chords, else a clip of unknown kind that sits low (median pitch under BASS_BELOW)."""
    clips = [c for c in task.context if c.time_signature == task.time_signature and c.notes]
    unknown = sorted((statistics.median(n.pitch for n in c.notes), i) for i, c in enumerate(clips) if c.kind is None)
    low = [clips[i] for median, i in unknown if median < BASS_BELOW][:1]
    bass = [c for c in clips if c.kind == "bass"] + [c for c in clips if c.kind == "chords"] + low
    if not bass:
        return ()
    end = task.bars * bar_ticks(task.time_signature)
    starts = sorted({t for n in bass[0].notes if 0 <= (t := snap(n.start * V.TICKS_PER_BEAT)) < end})
    return tuple((t, DRUM_CLASSES["kick"], KICK_LOCK) for t in starts)


def _context(task: DrumsTask, tpb: int) -> dict[str, list[list[tuple[int, int, int, int]]]]:
    out: dict[str, list[list[tuple[int, int, int, int]]]] = {}
    for clip in task.context:
        role = CONTEXT_ROLES.get(clip.kind or "melody")
        if role is None or role in out or clip.time_signature != task.time_signature:
            continue
        out[role] = quantize_part(clip, role, task.bars, tpb)
    return out


def fill_span(clip: Part, span: tuple[float, float] | None) -> tuple[float, float]:
    """The span in beats, inside the clip; default: the clip's last bar."""
    if span is None:
        return max(0.0, (clip.bars - 1) * clip.beats_per_bar), clip.length
    start, end = max(0.0, span[0]), min(clip.length, span[1])
    if not end > start:
        raise ValueError(f"span must overlap the clip (0..{clip.length:g} beats), got {span}")
    return start, end


def fill_beats(intensity: float, beats_per_bar: float) -> float:
    """How many beats before the span's end the fill starts: the last beat at intensity 0, the
    last two at 0.2, the whole bar from 0.8."""
    return min(beats_per_bar, 1.0 + round(intensity * (beats_per_bar - 1) * 1.25))


def require_drums(clip: Part, op: str) -> None:
    """Refuse a clip that is not drums (ValueError naming its kind): its kind when given, else
    what its notes look like (mostly kit pieces, short or struck together)."""
    if clip.kind == "drums" or (clip.kind is None and looks_like_drums(clip)):
        return
    kind = clip.kind or "melody (notes off the drum kit, one at a time)"
    raise ValueError(f"clip must be a drum clip for {op}, got a {kind} clip")


def looks_like_drums(clip: Part) -> bool:
    if not clip.notes:
        return True
    kit = sum(DRUM_PITCH_MAP.get(n.pitch) in CORE_KIT for n in clip.notes) / len(clip.notes)
    starts = [n.start for n in clip.notes]
    together = len(starts) - len(set(starts))
    short = statistics.median(n.duration for n in clip.notes) <= 0.25
    return kit >= 0.5 and (short or together * 10 >= len(starts))


def around_the_toms(notes: list[Note]) -> list[Note]:
    """An intense fill the model kept on the snare and cymbals: its last beat of snare hits
    (of other drums when it has none, of anything when it has no drums) moved around the toms,
    high to low, as drummers end a fill."""
    drums = [n for n in notes if n.pitch not in CYMBALS]
    snares = [n for n in drums if n.pitch == DRUM_CLASSES["snare"]] or drums or list(notes)
    if not snares:
        return notes
    last = max(n.start for n in snares)
    moved = sorted((n for n in snares if n.start > last - 1.0), key=lambda n: n.start)
    toms = (DRUM_CLASSES["high_tom"], DRUM_CLASSES["mid_tom"], DRUM_CLASSES["low_tom"])
    voiced = {id(n): toms[min(len(toms) - 1, i * len(toms) // len(moved))] for i, n in enumerate(moved)}
    return [Note(voiced[id(n)], n.start, n.duration, n.velocity) if id(n) in voiced else n for n in notes]


def thinned(notes: list[Note], keep: int, last_beat: float) -> list[Note]:
    """At most ``keep`` of the fill's ``notes``: the softest hi-hat and ride hits go first, then
    the softest others, and those of the last beat (from ``last_beat``) only after all the rest,
    so a thinned fill still plays into the next downbeat."""
    if len(notes) <= keep:
        return notes
    order = sorted(notes, key=lambda n: (n.start >= last_beat, n.pitch not in TIME_KEEPERS, n.velocity, -n.start))
    dropped = {id(n) for n in order[:len(notes) - keep]}
    return [n for n in notes if id(n) not in dropped]


def build_fill(task: FillTask, block: int = 1024) -> Rewrite:
    """The groove up to where the fill starts is kept; the fill takes the span's last
    :func:`fill_beats`, under an emphasis on the toms and crash that grows with intensity, and
    lands on the next downbeat: a crash the model writes in the fill's last eighth moves there
    (when the span ends on a bar line inside the clip; else it is dropped), and from intensity
    ``LAND_FROM`` such a fill always lands on a crash, and one the model kept off the toms and
    crash ends around the toms (:func:`around_the_toms`). The model may write ``FILL_ROOM``
    times the fill's share of the groove's hits (``FILL_DENSITY``), then the fill is
    :func:`thinned` to that share."""
    from models.styles.drums import guess_style

    clip = task.clip
    require_drums(clip, "fill")
    tpb = bar_ticks(clip.time_signature)
    span_start, end = fill_span(clip, task.span)
    start = max(span_start, end - fill_beats(task.intensity, clip.beats_per_bar))
    lo = math.ceil(start * V.TICKS_PER_BEAT - 1e-6)
    hi = min(math.ceil(end * V.TICKS_PER_BEAT - 1e-6), math.ceil(clip.length * V.TICKS_PER_BEAT - 1e-6))
    outside = [n for n in clip.notes if not start <= n.start < end]
    first_bar, last_bar = lo // tpb, (hi - 1) // tpb
    every = quantize(to_classes(outside), "drums")
    from_bar = max(0, first_bar - CONTEXT_BARS, bars_budget([q for q in every if q[0] < lo], tpb, first_bar, block // 2))
    kept = [q for q in every if from_bar * tpb <= q[0] < (last_bar + 1) * tpb]
    scale = (hi - lo) / 48
    most = max(4, round(_lerp(FILL_MAX, task.intensity) * scale))
    before = [q for q in kept if q[0] < lo]
    keep = most  # hits the fill keeps (the model may write FILL_ROOM times as many, then thinned)
    if before and lo > from_bar * tpb:  # hardly busier than the groove, as drummers' fills
        cap = _lerp(FILL_DENSITY, task.intensity) * len(before) * (hi - lo) / (lo - from_bar * tpb)
        keep = min(most, max(2, round(cap)))
        most = min(most, max(2, round(cap * FILL_ROOM)))
    least = min(most, max(1, round(_lerp(FILL_MIN, task.intensity) * scale)))
    track = Track("drums", DRUM_PITCHES, min_notes=least, max_notes=most,
                  fill_bars=frozenset(range(first_bar, last_bar + 1)),
                  emphasis=tuple((p, FILL_EMPHASIS * task.intensity ** FILL_CURVE) for p in FILL_VOICES),
                  cadence=(max(lo, hi - V.TICKS_PER_BEAT), LAST_BEAT) if LAST_BEAT else None)
    header = Header(guess_style(clip), clip.time_signature, None, clip.tempo)
    the_plan = plan(header, track, kept, [(lo, hi)], last_bar - from_bar + 1, tpb, first_bar=from_bar, end_tick=hi)
    amount = task.humanize
    on_bar_line = abs(end / clip.beats_per_bar - round(end / clip.beats_per_bar)) < 1e-6
    landing = on_bar_line and end < clip.length - 1e-6 and not any(
        abs(n.start - end) < 1e-6 and DRUM_PITCH_MAP.get(n.pitch) == CRASH for n in clip.notes)

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        part = decode(tokens)[1].get("drums")
        notes = generated_notes(part, kept, [(lo, hi)], offset=from_bar * tpb)
        late = [n for n in notes if n.pitch == CRASH and n.start * V.TICKS_PER_BEAT >= hi - LAND_TICKS]
        notes = [n for n in notes if n not in late]
        velocity = max([n.velocity for n in late] + [n.velocity for n in notes] + [100])
        notes = thinned(notes, keep, end - 1.0)
        if task.intensity >= LAND_FROM and not any(n.pitch in FILL_VOICES for n in notes):
            notes = around_the_toms(notes)
        notes = humanize.apply(notes, amount, clip.tempo, seed, (start, end))
        if landing and (late or task.intensity >= LAND_FROM):
            notes.append(Note(CRASH, end, DRUM_BEATS, velocity))
        merged = sorted(outside + notes, key=lambda n: (n.start, n.pitch))
        return [Part(tuple(merged), clip.length, clip.time_signature, clip.tempo, clip.key,
                     name=f"{clip.name or 'Drums'} (fill)", kind="drums")]

    return Rewrite(lambda rows, seed: [the_plan] * rows, finish,
                   temperature=0.9 + 0.25 * task.intensity)
