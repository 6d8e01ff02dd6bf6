"""Rewriting a track in place: a decoding plan that keeps some of its notes verbatim and lets the
model write inside given regions, the shared core of fill, vary, continue and restyle.

A track is handled on the absolute tick grid of the tokenizer (12 per beat). The caller gives
the notes to keep (quantized, forced into the stream), the regions the model writes in (half-
open tick intervals) and, per bar, optional context tracks. Inside a bar the token stream stays
in the tokenizer's order: kept notes and generated spans interleave by position, a span never
writes at or after the next kept onset, and a span that starts at a kept onset may add notes
there (a hat over a kept kick). ``generated_notes`` then picks out what the model wrote.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.decoding.decoding import GRID, Constraints, Plan, Sampler, Segment, decode
from models.net import vocab as V
from models.net.tokenizer import Header, header_tokens, note_tokens, snap
from models.ops.groove import GroovePrior
from models.representation import Note, Part

QNote = tuple[int, int, int, int]  # (absolute tick, pitch, duration ticks, velocity)
DRUM_BEATS = 0.25  # drum hits last a 16th, as the tokenizer reads them


@dataclass(frozen=True)
class Track:
    """What the model may write for the rewritten track."""

    role: str
    pitches: frozenset[int]
    mono: bool | None = None
    min_notes: int = 0  # per bar, spread over the bar's regions by their length
    max_notes: int = 48  # per span
    fill_bars: frozenset[int] = field(default_factory=frozenset)  # bars flagged FILL
    prior: GroovePrior | None = None  # for drums: the clip's own groove (models/ops/groove.py)
    emphasis: tuple[tuple[int, float], ...] = ()  # (pitch, log-bias) while sampling, e.g. a fill's toms
    accents: tuple[tuple[int, int, float], ...] = ()  # (absolute tick, pitch, log-bias): hits favoured there
    # a monophonic track's kept notes inside the regions keep onset and pitch; the model writes
    # their lengths (restyle: a reel's eighth on the beat may become a chorale's half note)
    free_lengths: bool = False
    legato: bool = False  # a monophonic line goes on where its last note ended (no rests)
    longest: int = 0  # > 0: the longest note the model may write (ticks)
    # (absolute tick, pitches): a note of one of these pitches is due at the tick, and the notes
    # after it keep to them (decoding's Constraints.cadence), e.g. a fill's hit on its last beat
    cadence: tuple[int, frozenset[int]] | None = None


@dataclass(frozen=True)
class Rewrite:
    """An op ready to decode: ``plans(rows, seed)`` gives one plan per candidate row (None: no
    decoding is needed) and ``finish(tokens, row, seed)`` turns the tokens of that row of the
    last ``plans`` call into output parts (``seed`` is the row's own, for humanizing)."""

    plans: Callable[[int, int], list[Plan] | None]
    finish: Callable[[list[int] | None, int, int], list[Part]]
    temperature: float = 1.0  # multiplies the request's temperature

    def finishing(self, seed: int) -> Callable[[list[int] | None], list[Part]]:
        """:attr:`finish` for the rows of a draw from ``seed``, called in row order (row r's
        own seed is ``seed + r``)."""
        rows = itertools.count()

        def finish(tokens: list[int] | None) -> list[Part]:
            row = next(rows)
            return self.finish(tokens, row, seed + row)

        return finish


def runner(build: Callable[[Any, int], Rewrite]) -> Callable[..., Callable[[int, int], list[list[Part]]]]:
    """A composer runner (models/composer.py) for an op whose task ``build(task, block)`` turns
    into a Rewrite (``block``: the model's context length, which bounds the context read)."""

    def run(model: Any, task: Any, progress: Callable[[float], None] | None,
            should_stop: Callable[[], bool] | None) -> Callable[[int, int], list[list[Part]]]:
        rewrite = build(task, model.config.block_size)

        def draw(rows: int, seed: int) -> list[list[Part]]:
            plans, finish = rewrite.plans(rows, seed), rewrite.finishing(seed)
            if plans is None:
                return [finish(None) for _ in range(rows)]
            sampler = Sampler(temperature=task.sampling.temperature * rewrite.temperature, seed=seed)
            return [finish(t) for t in decode(model, plans, rows, sampler, progress=progress, should_stop=should_stop)]

        return draw

    return run


def quantize(notes: Sequence[Note], role: str) -> list[QNote]:
    """Notes -> sorted, de-duplicated grid notes (drums get the tokenizer's 3-tick duration)."""
    seen: set[tuple[int, int]] = set()
    out: list[QNote] = []
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        tick = snap(n.start * V.TICKS_PER_BEAT)
        if (tick, n.pitch) in seen:
            continue
        seen.add((tick, n.pitch))
        dur = 3 if role == "drums" else max(1, round(n.duration * V.TICKS_PER_BEAT))
        out.append((tick, n.pitch, dur, n.velocity))
    return sorted(out, key=lambda q: (q[0], q[1]))


def merge_regions(regions: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in regions if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def plan(header: Header, track: Track, kept: Sequence[QNote], regions: Sequence[tuple[int, int]],
         bars: int, bar_ticks: int, context: dict[str, list[list[QNote]]] | None = None,
         first_bar: int = 0, end_tick: int | None = None) -> Plan:
    """The plan for bars ``first_bar .. first_bar + bars - 1`` (ticks stay absolute; the token
    stream numbers those bars from 0). ``context``: role -> per-bar grid notes (bar-relative
    ticks, indexed from ``first_bar``), forced in role order around the track. ``end_tick``:
    generated notes end by it (default: the last bar's end)."""
    regions = merge_regions(regions)
    context = context or {}
    last = (first_bar + bars) * bar_ticks if end_tick is None else end_tick
    segments = [Segment(forced=header_tokens(header))]
    kept = sorted(kept, key=lambda q: (q[0], q[1]))
    order = [r for r in V.ROLE_ORDER if r in context or r == track.role]
    for i in range(bars):
        bar = first_bar + i
        start = bar * bar_ticks
        head = [V.BAR] + ([V.FILL] if bar in track.fill_bars else [])
        for role in order:
            head.append(V.TRK[role])
            if role != track.role:
                head += note_tokens(context[role][i], velocity=role in V.VELOCITY_ROLES)
                continue
            _force(segments, head)
            head = []
            in_bar = [q for q in kept if start <= q[0] < start + bar_ticks]
            _bar_body(segments, track, in_bar, kept, regions, start, bar_ticks, last)
        _force(segments, head)
    _force(segments, [V.EOS])
    return Plan(_merged(segments))


def _bar_body(segments: list[Segment], track: Track, in_bar: list[QNote], kept: Sequence[QNote],
              regions: list[tuple[int, int]], start: int, bar_ticks: int, last: int) -> None:
    """Kept notes of one bar, with generated spans wherever a region is open."""
    end = start + bar_ticks
    mono = track.role in V.MONOPHONIC_ROLES if track.mono is None else track.mono
    free = track.free_lengths and mono and track.role not in V.VELOCITY_ROLES
    emitted = 0  # kept notes of the bar already in the stream
    for lo, hi in _bar_parts(regions, in_bar, start, end):
        cuts = sorted({q[0] for q in in_bar if lo < q[0] < hi})
        for s, e in zip([lo, *cuts], [*cuts, hi], strict=True):
            run = [q for q in in_bar[emitted:] if q[0] <= s]
            pending = free and run[-1][0] == s if run else False
            if run:
                tokens = _tokens(run, start, track.role)
                _force(segments, tokens[:-1] if pending else tokens)  # the span writes its DUR
                emitted += len(run)
            chord = [q[1] for q in in_bar[:emitted] if q[0] == s]
            first = s
            if mono:
                chord = chord[-1:] if pending else []
                sounding = [q[0] + q[2] for q in kept if q[0] <= s and not (free and _inside(q[0], regions))]
                first = max([s, *sounding])
            stop = _span_end(e, end, hi, kept, regions, last, first)
            if not chord and not _has_position(first - start, min(stop, end) - start):
                continue
            share = (min(e, end) - s) / bar_ticks
            segments.append(Segment(generate=Constraints(
                role=track.role, bar_start=start, bar_ticks=bar_ticks, end_tick=stop,
                pitches=track.pitches, min_notes=math.ceil(track.min_notes * share - 1e-9),
                max_notes=track.max_notes, min_pos=first - start, mono=track.mono,
                start_pos=s - start if chord else -1, start_pitches=frozenset(chord), pending_dur=pending,
                legato=track.legato and mono, longest=track.longest,
                prior=track.prior,
                emphasis=track.emphasis,
                accents=tuple((t - start, p, b) for t, p, b in track.accents if first <= t < min(stop, end)),
                cadence=track.cadence if track.cadence is not None and first <= track.cadence[0] < min(stop, end) else None,
            )))
    if emitted < len(in_bar):
        _force(segments, _tokens(in_bar[emitted:], start, track.role))


def _bar_parts(regions: list[tuple[int, int]], in_bar: list[QNote], start: int, end: int
               ) -> list[tuple[int, int]]:
    """The regions' parts inside one bar; two parts with no kept onset between them become one
    (a generated span must be ended by a forced token)."""
    parts: list[tuple[int, int]] = []
    for lo, hi in regions:
        lo, hi = max(lo, start), min(hi, end)
        if lo >= hi:
            continue
        if parts and not any(parts[-1][1] <= q[0] < lo for q in in_bar):
            parts[-1] = (parts[-1][0], hi)
        else:
            parts.append((lo, hi))
    return parts


def _span_end(e: int, bar_end: int, hi: int, kept: Sequence[QNote], regions: list[tuple[int, int]],
              last: int, first: int) -> int:
    """Where a span's notes must end: at the next kept onset, or (a span reaching the bar end)
    where its region ends, whichever comes first."""
    if e < bar_end:
        return e
    region_end = next((r1 for r0, r1 in regions if r0 <= first < r1), hi)
    later = [q[0] for q in kept if q[0] >= bar_end]
    return min([region_end, last, *later]) if later else min(region_end, last)


def _inside(tick: int, regions: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= tick < hi for lo, hi in regions)


def _has_position(first: int, stop: int) -> bool:
    return any(p % V.TICKS_PER_BEAT in GRID for p in range(max(first, 0), stop))


def _tokens(notes: Sequence[QNote], bar_start: int, role: str) -> list[int]:
    return note_tokens([(q[0] - bar_start, q[1], q[2], q[3]) for q in notes],
                       velocity=role in V.VELOCITY_ROLES)


def _force(segments: list[Segment], tokens: list[int]) -> None:
    if tokens:
        segments.append(Segment(forced=list(tokens)))


def _merged(segments: list[Segment]) -> list[Segment]:
    """Adjacent forced segments joined into one."""
    out: list[Segment] = []
    for seg in segments:
        if out and seg.generate is None and out[-1].generate is None:
            out[-1] = Segment(forced=out[-1].forced + seg.forced)
        else:
            out.append(seg)
    return out


def generated_notes(part: Part | None, kept: Sequence[QNote], regions: Sequence[tuple[int, int]],
                    offset: int = 0) -> list[Note]:
    """Notes the model wrote: decoded notes inside the regions that are not kept notes, drum
    hits as short as the tokenizer writes them. ``offset``: ticks to add to decoded times (the
    plan's first bar)."""
    if part is None:
        return []
    forced = {(q[0], q[1]) for q in kept}
    out = []
    for n in part.notes:
        tick = round(n.start * V.TICKS_PER_BEAT) + offset
        if (tick, n.pitch) in forced or not _inside(tick, regions):
            continue
        duration = min(n.duration, DRUM_BEATS) if part.kind == "drums" else n.duration
        out.append(Note(n.pitch, tick / V.TICKS_PER_BEAT, duration, n.velocity))
    return out


def role_of(part: Part) -> str:
    """The track role a clip is read as: its kind, melody when unknown."""
    return {"drums": "drums", "bass": "bass", "chords": "chords"}.get(part.kind or "", "melody")


def line_mode(part: Part, role: str) -> bool | None:
    """The ``mono`` a rewrite of ``part`` is written with: True for a melody that is one line
    with a few slips (fewer than one note in twenty starting together with another or inside
    it: legato overlaps, a grace note under a long one), else None (as the role is)."""
    ordered = sorted(part.notes, key=lambda n: n.start)
    clashes = sum(b.start < a.end - 0.05 for a, b in zip(ordered, ordered[1:], strict=False))
    return True if role == "melody" and clashes * 20 < max(1, len(ordered)) else None


def is_unbroken(part: Part) -> bool:
    """A line that hardly rests (silent under a tenth of its length): reels, jigs and chorale
    lines do not stop, so what the model writes after or inside one should not either."""
    return silent_share(part) < 0.1


def silent_share(part: Part) -> float:
    """The share of the clip's length where no note sounds."""
    sounding, until = 0.0, 0.0
    for n in sorted(part.notes, key=lambda n: n.start):
        start, end = max(n.start, until), min(n.end, part.length)
        sounding += max(0.0, end - start)
        until = max(until, end)
    return 1.0 - sounding / part.length if part.length > 0 else 0.0


def pitch_set(part: Part, role: str, key: str | None, locked: bool) -> frozenset[int]:
    """Pitches a rewrite of ``part`` may use: the clip's range widened by a few semitones, in
    ``key``'s scale (plus the clip's own pitch classes unless the key is ``locked``)."""
    from models.constants import DRUM_CLASSES, VOICE_RANGES
    from models.ops.harmonize import scale_pitches

    if role == "drums":
        return frozenset(DRUM_CLASSES.values())
    pitches = [n.pitch for n in part.notes] or list(VOICE_RANGES.get(role, (55, 79)))
    low, high = max(0, min(pitches) - 3), min(127, max(pitches) + 3)
    allowed = set(range(low, high + 1))
    if key:
        scale = set(scale_pitches(key))
        if not locked:
            scale |= {p for p in range(128) if p % 12 in {q % 12 for q in pitches}}
        allowed &= scale
    return frozenset(allowed) or frozenset(range(low, high + 1))


def bars_budget(kept: Sequence[QNote], bar_ticks: int, last_bar: int, budget: int) -> int:
    """The first bar to read so that the forced bars up to ``last_bar`` stay near ``budget``
    tokens (about four tokens a note and two a bar)."""
    count = 0
    per_bar: dict[int, int] = {}
    for q in kept:
        per_bar[q[0] // bar_ticks] = per_bar.get(q[0] // bar_ticks, 0) + 4
    for bar in range(last_bar, -1, -1):
        count += 2 + per_bar.get(bar, 0)
        if count > budget:
            return bar + 1
    return 0
