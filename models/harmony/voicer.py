"""Deterministic realizations of a chord plan: four-part chorale voices under a melody, a
voice-led block-chord part, and a bass line of roots, inversions and approach notes.

Each works step by step, picking from the chord's tones the voicing that keeps every tone of
the chord, moves least and makes no parallel fifths or octaves with what came before.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

from models.harmony.detect import ChordSpan
from models.harmony.plan import chord_at, step_beats
from models.harmony.symbols import Chord
from models.representation import Note, Part

# four-part ranges as in chorales (soprano 60-81)
SATB = {"alto": (53, 74), "tenor": (48, 69), "bass": (38, 62)}
PAD = (48, 76)  # a block-chord part
BASS = (34, 60)  # a bass line (E1 = 28 is the floor of any voice)
OPENINGS = 4  # a chorale setting's variants: the first chord's best voicings
ALIKE = 1.0  # how much more than the best an opening voicing may cost


def melody_at(melody: Part, beat: float) -> int | None:
    for note in melody.notes:
        if note.start - 1e-6 <= beat < note.end - 1e-6:
            return note.pitch
    return None


def _in(pcs: Sequence[int], span: tuple[int, int]) -> tuple[int, ...]:
    """The pitches of ``pcs`` inside ``span``; in a span too narrow to hold any of them, the
    span's pitch nearest to one."""
    return _pitches_in(tuple(pcs), span)


@functools.lru_cache(maxsize=4096)
def _pitches_in(pcs: tuple[int, ...], span: tuple[int, int]) -> tuple[int, ...]:
    found = tuple(p for p in range(span[0], span[1] + 1) if p % 12 in pcs)
    if found or not pcs:
        return found
    inside = range(span[0], span[1] + 1)
    return (min(inside, key=lambda p: min(min((p - pc) % 12, (pc - p) % 12) for pc in pcs)),)


def _parallel(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 != a1 and b0 != b1 and (a1 - a0) * (b1 - b0) > 0 and (a0 - b0) % 12 == (a1 - b1) % 12 in (0, 7)


def chorale(melody: Part, plan: Sequence[ChordSpan], step: float, final_root: bool = True,
            ranges: dict[str, tuple[int, int]] | None = None, variant: int = 0) -> dict[str, Part]:
    """Alto, tenor and bass, one chord per ``step`` beats under ``melody``; held where a voice
    keeps its pitch. The last chord stands in root position when ``final_root``. ``ranges``:
    each voice's (low, high), the chorale's by default. ``variant`` 0 is the plain setting;
    others open with another full voicing of the first chord (the 2nd, 3rd or 4th best), so
    every voice after it takes another course through the same chords."""
    spans = ranges or SATB
    notes: dict[str, list[Note]] = {"alto": [], "tenor": [], "bass": []}
    prev: tuple[int, int, int, int] | None = None  # soprano, alto, tenor, bass
    k, last = 0, int(max(0.0, melody.length - 1e-6) // step)
    while k * step < melody.length - 1e-6:
        t = k * step
        top, chord = melody_at(melody, t), chord_at(plan, t)
        if top is None or chord is None:
            prev, k = None, k + 1
            continue
        rank = variant % OPENINGS if prev is None else 0
        alto, tenor, bass = _best_voicing(top, chord, prev, final_root and k == last, spans, rank)
        dur = min(step, melody.length - t)
        for role, pitch in (("alto", alto), ("tenor", tenor), ("bass", bass)):
            held = notes[role][-1] if notes[role] else None
            if held is not None and held.pitch == pitch and abs(held.end - t) < 1e-6:
                notes[role][-1] = Note(pitch, held.start, held.duration + dur, held.velocity)
            else:
                notes[role].append(Note(pitch, t, dur, 80))
        prev, k = (top, alto, tenor, bass), k + 1
    return {role: Part(tuple(ns), melody.length, melody.time_signature, melody.tempo, melody.key,
                       name=role.capitalize(), kind="bass" if role == "bass" else "other")
            for role, ns in notes.items()}


def _best_voicing(top: int, chord: Chord, prev: tuple[int, int, int, int] | None,
                  root: bool, spans: dict[str, tuple[int, int]], rank: int = 0) -> tuple[int, int, int]:
    """The voicing of ``chord`` under ``top`` that costs least; with ``rank`` > 0, the
    ``rank``-th next one among those as complete as the best (the same pitch classes and the same
    bass pitch class), or the best where there are fewer."""
    tones = chord.tones
    required = set(tones[:2]) | (set(tones[3:]) if len(tones) > 3 else set())
    basses = [chord.bass_pc] if root or chord.bass is not None else [tones[0], tones[1]]
    found: list[tuple[float, tuple[int, int, int]]] = []
    altos, tenors = _in(tones, spans["alto"]), _in(tones, spans["tenor"])
    for bass in _in(basses, spans["bass"]):
        if bass >= top:
            continue
        for alto in altos:
            if not (top - 12 <= alto < top):
                continue
            for tenor in tenors:
                if not (alto - 12 <= tenor <= alto and tenor > bass):
                    continue
                cost = _cost((top, alto, tenor, bass), tones, required, prev)
                cost += 1.5 * (bass % 12 != tones[0])
                found.append((cost, (alto, tenor, bass)))
    if not found:  # no voicing below the melody inside the ranges: the chord's tones nearest them
        return tuple(min(_in(tones, spans[r]) or [spans[r][0]], key=lambda p: abs(p - (top - gap)))  # type: ignore[return-value]
                     for r, gap in (("alto", 4), ("tenor", 9), ("bass", 16)))
    best = min(found)
    if rank == 0:
        return best[1]
    alike = sorted(v for v in found if v[0] < best[0] + ALIKE
                   and {p % 12 for p in v[1]} | {top % 12} == {p % 12 for p in best[1]} | {top % 12}
                   and v[1][2] % 12 == best[1][2] % 12)
    return alike[rank % len(alike)][1]


def _cost(voices: tuple[int, int, int, int], tones: tuple[int, ...], required: set[int],
          prev: tuple[int, ...] | None) -> float:
    s, a, t, b = voices
    pcs = (s % 12, a % 12, t % 12, b % 12)
    cost = 4.0 * len(required.difference(pcs)) + 3.0 * (tones[2] not in pcs)  # a fifth left out: an incomplete chord
    cost += 0.8 * (pcs.count(tones[1]) > 1)  # a doubled third
    if len(tones) > 3:
        cost += 2.0 * (pcs.count(tones[3]) > 1)
    if prev is not None:
        s0, a0, t0, b0 = prev
        cost += 0.15 * abs(a - a0) + 0.15 * abs(t - t0)
        cost += 0.06 * abs(b - b0)
        parallels = (_parallel(s0, s, a0, a) + _parallel(s0, s, t0, t) + _parallel(s0, s, b0, b)
                     + _parallel(a0, a, t0, t) + _parallel(a0, a, b0, b) + _parallel(t0, t, b0, b))
        for _ in range(parallels):  # 6 added once per parallel (6 * n rounds otherwise in the last bit)
            cost += 6.0
    return cost


def block_chords(plan: Sequence[ChordSpan], melody: Part | None, length: float,
                 time_signature: tuple[int, int], tempo: float | None, key: str | None,
                 span: tuple[int, int] = PAD, variant: int = 0) -> Part:
    """A chord part: one voicing per chord (re-struck at each bar line it holds across), 3 or 4
    notes inside ``span`` and under the melody, each the nearest to the one before (common
    tones kept). ``variant`` 0 is the plain setting; others start from another inversion, sit
    in the upper half of the span or strike the chord on every beat."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    first, high, pulse = variant % 3, (variant // 3) % 2, (variant // 6) % 2
    if high and span[1] - span[0] >= 19:
        span = (span[0] + 7, span[1])
    beat = step_beats(time_signature)
    notes: list[Note] = []
    prev: tuple[int, ...] | None = None
    for cs in plan:
        start = cs.start
        while start < min(cs.end, length) - 1e-6:
            end = min(cs.end, length, (int(start / bar + 1e-6) + 1) * bar)
            if pulse:
                end = min(end, start + beat)
            ceiling = span[1]
            if melody is not None:
                under = [n.pitch for n in melody.notes if n.start < end - 1e-6 and n.end > start + 1e-6]
                if under:
                    ceiling = min(span[1], max(span[0] + 7, min(under) - 1))
            voicing = _nearest_block(cs.chord, prev, (span[0], ceiling), first if prev is None else 0)
            notes += [Note(p, start, end - start, 80) for p in voicing]
            prev, start = voicing, end
    return Part(tuple(notes), length, time_signature, tempo, key, name="Chords", kind="chords")


def _nearest_block(chord: Chord, prev: tuple[int, ...] | None, span: tuple[int, int], variant: int) -> tuple[int, ...]:
    tones = chord.tones
    want = len(tones) if len(tones) > 3 else 3
    options: list[tuple[int, ...]] = []
    pitches = _in(tones, span)
    for combo in itertools.combinations(pitches, want):
        if combo[-1] - combo[0] > 12 or {p % 12 for p in combo} < set(tones[:2]) | set(tones[3:]):
            continue
        if len({p % 12 for p in combo}) < min(want, len(tones)):
            continue
        options.append(combo)
    if not options:  # a span too narrow for the whole chord: what of it fits, lowest first
        return tuple(sorted(set(_in(tones, span))))[:want]
    if prev is None:
        centre = (span[0] + span[1]) / 2 - 3
        options.sort(key=lambda c: abs(sum(c) / len(c) - centre))
        return options[variant % min(3, len(options))]

    def moved(c: tuple[int, ...]) -> float:
        held = len(set(c) & set(prev))
        return sum(min(abs(p - q) for q in prev) for p in c) - 0.5 * held

    return min(options, key=moved)


def bass_line(plan: Sequence[ChordSpan], length: float, time_signature: tuple[int, int], tempo: float | None,
              key: str | None, scale: frozenset[int], span: tuple[int, int] = BASS, variant: int = 0) -> Part:
    """Roots (or the chord's slash bass) on each change and each bar line a chord holds across;
    on the last beat of a chord that lasts two beats or more, an approach note by step into the
    next bass (the chord's fifth when the bass stays or moves by step); the last chord's root
    held to the end. ``variant`` 0 is the plain line; others start an octave higher, take the
    fifth instead of the approach note, or play roots only."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    beat = step_beats(time_signature)
    notes: list[Note] = []
    firsts = _in([plan[0].chord.bass_pc], span) if plan else []
    prev = firsts[min(variant % 2, len(firsts) - 1)] if firsts else span[0]
    fifths, plain = (variant // 2) % 2 == 1, (variant // 4) % 2 == 1
    home = prev  # the register the line keeps coming back to
    for i, cs in enumerate(plan):
        end = min(cs.end, length)
        if cs.start >= length - 1e-6:
            break
        nxt = plan[i + 1] if i + 1 < len(plan) else None
        root = _bass_note(cs.chord, prev, nxt.chord if nxt else None, span, first=i == 0, home=home)
        approach_at = end if nxt is None or end - cs.start < 2 * beat - 1e-6 or plain else end - beat
        start = cs.start
        while start < approach_at - 1e-6:  # the root, struck again at each bar line
            stop = min(approach_at, (int(start / bar + 1e-6) + 1) * bar)
            notes.append(Note(root, start, stop - start, 90))
            start = stop
        if nxt is not None and approach_at < end - 1e-6:
            target = min(_in([nxt.chord.bass_pc], span), key=lambda p: abs(p - root))
            approach = _approach(root, root if fifths else target, scale, span, cs.chord)
            notes.append(Note(approach, approach_at, end - approach_at, 84))
        prev = root
    return Part(tuple(notes), length, time_signature, tempo, key, name="Bass", kind="bass")


def _bass_note(chord: Chord, prev: int, nxt: Chord | None, span: tuple[int, int], first: bool, home: int) -> int:
    """The chord's bass near the note before and near the line's ``home`` register (so it does
    not drift up or down); a root-position chord between two bass notes a step either side of
    its third takes the third (a passing inversion, C - G/B - Am)."""
    root = min(_in([chord.bass_pc], span), key=lambda p: abs(p - prev) + 0.75 * abs(p - home))
    if first or nxt is None or chord.bass is not None or len(chord.tones) < 3:
        return root
    for third in _in([chord.tones[1]], span):
        for after in _in([nxt.bass_pc], span):
            if 1 <= abs(third - prev) <= 2 and 1 <= abs(after - third) <= 2 and (third - prev) * (after - third) > 0:
                return third
    return root


def _approach(root: int, target: int, scale: frozenset[int], span: tuple[int, int], chord: Chord) -> int:
    """A note leading into ``target``: a scale step (or half step) away when the bass moves, the
    chord's fifth when it stays."""
    if abs(target - root) <= 2:  # a step or none: the chord's fifth between
        fifths = _in([chord.tones[2]], span)
        return min(fifths, key=lambda p: abs(p - root)) if fifths else root
    direction = 1 if target > root else -1
    for d in (2, 1):
        cand = target - direction * d
        if cand % 12 in scale and span[0] <= cand <= span[1] and cand != root:
            return cand
    return target - direction if span[0] <= target - direction <= span[1] else root
