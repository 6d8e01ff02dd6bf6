"""A chord plan as a decoding rule: a note struck on a beat takes a tone of the chord sounding
there, and the bass, where a chord begins, takes the chord's bass note (its root, or the slash
note of an inversion). Off the beat the voices move freely (passing and neighbour notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Tones = tuple[int, int, frozenset[int], int]  # start tick, end tick, pitch classes, bass pitch class


@dataclass(frozen=True)
class ChordGuide:
    chords: tuple[Tones, ...]  # in time order, absolute ticks
    beat: int = 12  # ticks between the beats where chord tones are required

    def at(self, tick: int) -> Tones | None:
        for span in self.chords:
            if span[0] <= tick < span[1]:
                return span
        return None

    def on_beat(self, tick: int) -> Tones | None:
        """The chord whose tones a note struck at ``tick`` must take: on a beat, inside the plan."""
        return self.at(tick) if tick % self.beat == 0 else None

    def filter(self, role: str, tick: int, choices: Sequence[int]) -> list[int]:
        """The ``choices`` (pitches) a note of ``role`` struck at ``tick`` may take; all of them
        off the beat or outside the plan, none removed when none would be left."""
        span = self.on_beat(tick)
        if span is None:
            return list(choices)
        start, _, tones, bass = span
        wanted = {bass} if role == "bass" and tick == start else tones
        return [p for p in choices if p % 12 in wanted] or list(choices)

    def longest(self, tick: int, pitch: int) -> int | None:
        """Ticks a note of ``pitch`` struck at ``tick`` may last before it would sound on a beat
        where it is not a tone of the chord; None when nothing limits it."""
        for start, end, tones, _ in self.chords:
            if end <= tick or pitch % 12 in tones:
                continue
            first = max(start, -(-(tick + 1) // self.beat) * self.beat)
            if first < end:
                return first - tick
        return None
