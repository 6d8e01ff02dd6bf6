"""Voice-leading rules applied while decoding part-writing: no voice crossing and no parallel
fifths or octaves between a voice being written and the voices already known (the melody and
the voices written before it).

Notes are (start tick, end tick, pitch) in absolute ticks. The rules only ever remove choices;
when they would remove every choice, the decoder falls back to the unfiltered set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Span = tuple[int, int, int]  # start tick, end tick, pitch
PERFECT = (0, 7)  # interval classes of octaves/unisons and fifths


def sounding(notes: Sequence[Span], tick: int) -> int | None:
    """The pitch sounding at ``tick`` (the latest onset wins), or None."""
    found = None
    for start, end, pitch in notes:
        if start <= tick < end:
            found = pitch
    return found


def previous(notes: Sequence[Span], tick: int) -> int | None:
    """The pitch of the last note that starts before ``tick``."""
    best: Span | None = None
    for note in notes:
        if note[0] < tick and (best is None or note[0] > best[0]):
            best = note
    return None if best is None else best[2]


def allowed_pitches(role: str, order: Sequence[str], known: dict[str, list[Span]], tick: int,
                    pitches: Iterable[int]) -> list[int]:
    """``pitches`` a note of ``role`` starting at ``tick`` may take without crossing a known
    voice or moving in parallel fifths/octaves with one."""
    index = order.index(role)
    own_before = previous(known.get(role, []), tick)
    out = []
    for pitch in pitches:
        if _fits(pitch, index, order, known, tick, own_before):
            out.append(pitch)
    return out


def _fits(pitch: int, index: int, order: Sequence[str], known: dict[str, list[Span]], tick: int,
          own_before: int | None) -> bool:
    for other_index, other in enumerate(order):
        if other_index == index or not known.get(other):
            continue
        now = sounding(known[other], tick)
        if now is not None:
            if other_index < index and pitch > now:  # above a higher voice
                return False
            if other_index > index and pitch < now:  # below a lower voice
                return False
        before = sounding(known[other], tick - 1)
        if None in (now, before, own_before) or now == before or pitch == own_before:
            continue
        same_way = (pitch - own_before) * (now - before) > 0  # type: ignore[operator]
        was, becomes = (own_before - before) % 12, (pitch - now) % 12  # type: ignore[operator]
        if same_way and was == becomes and was in PERFECT:
            return False
    return True


def longest(role: str, order: Sequence[str], known: dict[str, list[Span]], tick: int, pitch: int) -> int:
    """Ticks a note of ``role`` at ``pitch`` from ``tick`` can last before a known voice that
    starts later would cross it."""
    index = order.index(role)
    limit = 1 << 30
    for other_index, other in enumerate(order):
        if other_index == index:
            continue
        for start, _, other_pitch in known.get(other, []):
            if start <= tick:
                continue
            crosses = other_pitch < pitch if other_index < index else other_pitch > pitch
            if crosses:
                limit = min(limit, start - tick)
    return limit
