"""Music as the model package sees it: notes and parts (clips), DAW-neutral.

Times are quarter-note beats from the part's start, as in the wire protocol. These are plain
frozen dataclasses so that `models` never depends on the protocol's pydantic models; the engine
converts between the two at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PART_KINDS = ("melody", "chords", "bass", "drums", "other")


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI 0..127; GM drum map on drum parts
    start: float  # beats from the part start
    duration: float  # beats, > 0
    velocity: int = 100  # 1..127

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Part:
    """A clip: notes plus what is known of its music."""

    notes: tuple[Note, ...]
    length: float  # beats
    time_signature: tuple[int, int] = (4, 4)
    tempo: float | None = None  # beats per minute
    key: str | None = None  # "C major", "F# minor"
    name: str | None = None
    kind: str | None = None  # one of PART_KINDS, or None when unknown
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def beats_per_bar(self) -> float:
        num, den = self.time_signature
        return num * 4.0 / den

    @property
    def bars(self) -> int:
        full, rest = divmod(self.length, self.beats_per_bar)
        return int(full) + (1 if rest > 1e-6 else 0)


ROLES = ("melody", "bass", "tenor", "alto", "chords", "drums")


@dataclass(frozen=True)
class Piece:
    """A multi-track excerpt the model learns from: parts sharing one timeline, one metre and
    one key. Loaders shift pickups so that bar lines fall at multiples of the bar length from 0
    (the anacrusis becomes a bar that starts with a rest)."""

    tracks: tuple[tuple[str, Part], ...]  # (role, part); role in ROLES, each at most once
    style: str | None  # a protocol style name ("chorale", "reel", "rock", ...)
    source: str  # where it came from, e.g. "music21:bach/bwv1.6.mxl", "groove:drummer1/session1/1"
    split: str = "train"  # train | valid
    labels: dict[str, str] = field(default_factory=dict, compare=False)  # e.g. {"beat_type": "fill"}

    @property
    def first(self) -> Part:
        return self.tracks[0][1]

    def part(self, role: str) -> Part | None:
        for name, part in self.tracks:
            if name == role:
                return part
        return None
