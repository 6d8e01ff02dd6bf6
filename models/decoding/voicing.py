"""Voice-leading rules applied while decoding part-writing: no voice crossing, no parallel
fifths or octaves and no unison struck against a voice between a voice being written and the
voices already known (the melody and the voices written before it).

Notes are (start tick, end tick, pitch) in absolute ticks. The rules only ever remove choices;
when they would remove every choice, the decoder falls back to the unfiltered set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate

Span = tuple[int, int, int]  # start tick, end tick, pitch
PERFECT = (0, 7)  # interval classes of octaves/unisons and fifths
GRID = 6  # ticks: parallels are also judged between 8th-note grid points, as a listener hears them
BEAT = 12  # ticks per beat: notes struck on a beat are consonant with every known voice
CONSONANT = frozenset({0, 3, 4, 5, 7, 8, 9})  # interval classes between upper voices
CONSONANT_WITH_BASS = frozenset({0, 3, 4, 7, 8, 9})  # the fourth above the bass is a dissonance


def sounding(notes: Sequence[Span], tick: int) -> int | None:
    """The pitch sounding at ``tick`` (the latest onset wins), or None."""
    for start, end, pitch in reversed(notes):
        if start <= tick < end:
            return pitch
    return None


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
    voice or moving in parallel fifths/octaves with one (from the moment just before, and from
    the 8th-note grid point before to the one at or after the onset), and without meeting one
    in a unison, which thins the chord to three notes (Bach's neighbouring voices sound one
    pitch on 2.7% of the JSB validation chorales' 8th-note steps; the model's second chorale
    candidate, left to it, on 8.5%, and 5.0% with this rule)."""
    index = order.index(role)
    own = known.get(role, [])
    grid_before = (tick - 1) // GRID * GRID
    grid_after = -(-tick // GRID) * GRID
    moves = [(previous(own, tick), tick - 1, tick), (sounding(own, grid_before), grid_before, grid_after)]
    low, high = -1, 128
    on_beat = tick % BEAT == 0
    sounding_now: list[tuple[int, frozenset[int]]] = []  # (pitch, consonant intervals) on a beat
    doubled = set()  # pitches of the known voices sounding at the onset
    motions = []  # (own pitch before, other before, other after) for every move of every voice
    for other_index, other in enumerate(order):
        notes = known.get(other)
        if other_index == index or not notes:
            continue
        now = sounding(notes, tick)
        if now is not None:
            doubled.add(now)
            if other_index < index:
                high = min(high, now)  # not above a higher voice
            else:
                low = max(low, now)  # not below a lower voice
            if on_beat:
                with_bass = "bass" in (role, other)
                sounding_now.append((now, CONSONANT_WITH_BASS if with_bass else CONSONANT))
        for own_before, at_before, at_after in moves:
            motions.append((own_before, sounding(notes, at_before), sounding(notes, at_after)))
    # parallel fifths or octaves: both voices sound before and after, both move the same way,
    # and they stand the same perfect interval apart (whichever is above) before and after; so
    # the moves that can make them are those of another voice that moves and stands a fifth or
    # an octave from this one's pitch before
    risky = [(a0, b1, b1 - b0, was) for a0, b0, b1 in motions
             if a0 is not None and b0 is not None and b1 is not None and b0 != b1
             and (was := abs(a0 - b0) % 12) in PERFECT]
    fitting = [p for p in pitches if low <= p <= high and not any(
        p != a0 and (p - a0) * moved > 0 and abs(p - b1) % 12 == was for a0, b1, moved, was in risky)]
    consonant = [p for p in fitting if all(abs(p - q) % 12 in ok for q, ok in sounding_now)]
    chosen = consonant or fitting
    return [p for p in chosen if p not in doubled] or chosen


def leaving_room(role: str, order: Sequence[str], known: dict[str, list[Span]], tick: int,
                 pitches: Iterable[int], tones: frozenset[int] | None) -> list[int]:
    """Of ``pitches`` for a note of ``role`` at ``tick``, those that leave each voice between it
    and the known voice sounding above it (voices still to be written there) a pitch of its own
    strictly between: a tone of ``tones`` (the chord's pitch classes on a beat), else any pitch.
    A voice written too close under the melody leaves the next one only a unison (most of the
    unisons the model's voices struck came so)."""
    index = order.index(role)
    above, between = None, 0
    for other in reversed(order[:index]):
        now = sounding(known.get(other, []), tick)
        if now is not None:
            above = now
            break
        between += 1
    if above is None or between == 0:
        return list(pitches)
    if tones is None:
        return [p for p in pitches if above - p - 1 >= between]
    below = list(accumulate((q % 12 in tones for q in range(above)), initial=0))  # tones under each pitch
    return [p for p in pitches if p < above and below[above] - below[p + 1] >= between]


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
