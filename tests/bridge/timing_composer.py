"""A test double for timing, never shipped: a real but trivial composer that transposes its
input bar by bar, sleeping a little per bar and polling ``should_stop``, so cancel, deadlines,
overload, shutdown and progress can be exercised against real work. It is not music AI and
no engine code path knows it exists."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from models.interface import Cancelled, ModelUnavailable
from models.representation import Part
from models.tasks import DrumsTask, HarmonizeTask, Task

OPS = ["harmonize", "drums", "fill", "vary", "continue", "restyle"]


class TimingComposer:
    """Satisfies :class:`models.interface.Composer`. Each candidate is the input moved up by
    ``semitones`` (+1 per further candidate); ``bar_seconds`` of sleep per bar."""

    name = "timing-composer"
    device = "cpu"

    def __init__(self, bar_seconds: float = 0.01, semitones: int = 7) -> None:
        self.bar_seconds = bar_seconds
        self.semitones = semitones
        self.calls = 0

    def ops(self) -> list[str]:
        return list(OPS)

    def styles(self) -> dict[str, list[str]]:
        return {"harmonize": ["chorale", "chords", "bass"], "drums": ["rock"], "restyle": ["rock"]}

    def run(self, task: Task, progress: Callable[[float], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[list[Part]]:
        self.calls += 1
        source = _source(task)
        bars = max(1, source.bars)
        per_bar = source.beats_per_bar
        out: list[list[Part]] = []
        total = bars * task.sampling.candidates
        for candidate in range(task.sampling.candidates):
            shift = self.semitones + candidate
            notes = []
            for bar in range(bars):
                if should_stop is not None and should_stop():
                    raise Cancelled("stopped")
                time.sleep(self.bar_seconds)
                notes += [replace(n, pitch=min(127, n.pitch + shift)) for n in source.notes
                          if bar * per_bar <= n.start < (bar + 1) * per_bar]
                if progress is not None:
                    progress((candidate * bars + bar + 1) / total)
            kind = "drums" if isinstance(task, DrumsTask) else (source.kind or "other")
            out.append([replace(source, notes=tuple(notes), name=f"transposed {shift:+d}", kind=kind)])
        return out


def _source(task: Task) -> Part:
    if isinstance(task, HarmonizeTask):
        return task.melody
    if isinstance(task, DrumsTask):
        if not task.context:
            raise ModelUnavailable("the timing composer needs a context clip for drums")
        return task.context[0]
    return task.clip
