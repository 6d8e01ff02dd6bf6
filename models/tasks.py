"""What the engine can ask the model to do: one frozen dataclass per musical op.

The engine validates requests at its edge (bridge/protocol.py) and maps them onto these; the
model trusts them. Each task carries its sampling controls.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.representation import Part


@dataclass(frozen=True)
class Sampling:
    candidates: int = 1  # distinct results, 1..8
    temperature: float = 1.0
    seed: int = 0  # same seed + same input = same output


@dataclass(frozen=True)
class HarmonizeTask:
    melody: Part
    style: str = "chorale"  # chorale | chords | bass
    key: str | None = None  # lock generated notes to this key
    pitch_range: tuple[int, int] | None = None
    sampling: Sampling = Sampling()
    # the producer's chords, (start beat, symbol) in time order: the plan the harmony follows
    chords: tuple[tuple[float, str], ...] | None = None
    pickup: float | None = None  # beats before the first bar line; None = read from the melody
    op = "harmonize"


@dataclass(frozen=True)
class DrumsTask:
    bars: int
    time_signature: tuple[int, int] = (4, 4)
    tempo: float | None = None
    style: str = "rock"
    context: tuple[Part, ...] = ()
    humanize: float = 0.5
    density: float | None = None
    sampling: Sampling = Sampling()
    fills: int = 0  # a fill in the last bar of every this many bars; 0 = none
    fill_intensity: float = 0.5
    op = "drums"


@dataclass(frozen=True)
class FillTask:
    clip: Part
    span: tuple[float, float] | None = None  # beats; None = the last bar
    intensity: float = 0.5
    humanize: float = 0.5
    sampling: Sampling = Sampling()
    op = "fill"


@dataclass(frozen=True)
class VaryTask:
    clip: Part
    strength: float = 0.5
    keep_rhythm: bool = False
    key: str | None = None
    sampling: Sampling = Sampling()
    op = "vary"


@dataclass(frozen=True)
class ContinueTask:
    clip: Part
    bars: int = 4
    key: str | None = None
    sampling: Sampling = Sampling()
    op = "continue"


@dataclass(frozen=True)
class RestyleTask:
    clip: Part
    style: str
    strength: float = 0.5
    sampling: Sampling = Sampling()
    op = "restyle"


Task = HarmonizeTask | DrumsTask | FillTask | VaryTask | ContinueTask | RestyleTask
