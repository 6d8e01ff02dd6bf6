"""A test double for the music model, never shipped: a real but trivial composer whose answers
are predictable, so the REAPER tests can check exactly where every note lands.

It satisfies :class:`models.interface.Composer` and answers like the real model does in
shape: a chorale harmonization is three parts named Alto, Tenor and Bass; drums are a GM kit
on the requested bars; a fill replaces the span; a continuation holds only the new bars.
Candidate ``c`` is moved by ``c`` semitones so candidates differ. Every task is recorded.
``seconds`` of work (polling ``should_stop``) lets cancel and timeout tests run against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from models.interface import Cancelled
from models.representation import Note, Part
from models.tasks import (
    ContinueTask,
    DrumsTask,
    FillTask,
    HarmonizeTask,
    RestyleTask,
    Task,
    VaryTask,
)

KICK, SNARE, HAT = 36, 38, 42
VOICES = (("Alto", -5), ("Tenor", -12), ("Bass", -24))


class ScriptedComposer:
    name = "scripted"
    device = "cpu"

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.tasks: list[Task] = []
        self.stopped = False

    def ops(self) -> list[str]:
        return ["harmonize", "drums", "fill", "vary", "continue", "restyle"]

    def styles(self) -> dict[str, list[str]]:
        return {"harmonize": ["chorale", "chords", "bass"], "drums": ["rock", "funk"],
                "restyle": ["rock", "funk", "jig", "reel"]}

    def run(self, task: Task, progress: Callable[[float], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[list[Part]]:
        self.tasks.append(task)
        self._work(progress, should_stop)
        return [self._answer(task, c) for c in range(task.sampling.candidates)]

    def _work(self, progress, should_stop) -> None:
        steps = max(1, int(self.seconds / 0.02))
        for step in range(steps):
            if should_stop is not None and should_stop():
                self.stopped = True
                raise Cancelled("stopped")
            if self.seconds:
                time.sleep(0.02)
            if progress is not None:
                progress((step + 1) / steps)

    def _answer(self, task: Task, c: int) -> list[Part]:
        if isinstance(task, HarmonizeTask):
            return [_moved(task.melody, shift - c, name) for name, shift in VOICES]
        if isinstance(task, DrumsTask):
            num, den = task.time_signature
            return [_kit(task.bars * num * 4.0 / den, task.time_signature, c)]
        if isinstance(task, FillTask):
            start, end = task.span if task.span is not None else (task.clip.length - 4.0, task.clip.length)
            kept = [n for n in task.clip.notes if not start <= n.start < end]
            fill = [Note(SNARE + c, start + i * 0.25, 0.25, 110) for i in range(int((end - start) / 0.25))]
            return [replace(task.clip, notes=tuple(sorted(kept + fill, key=lambda n: n.start)),
                            name="Fill", kind="drums")]
        if isinstance(task, VaryTask):
            return [_moved(task.clip, 2 + c, "Variation")]
        if isinstance(task, ContinueTask):
            bar = task.clip.beats_per_bar
            first = [n for n in task.clip.notes if n.start < bar]
            notes = [replace(n, start=n.start + b * bar, pitch=n.pitch + c) for b in range(task.bars) for n in first]
            return [replace(task.clip, notes=tuple(notes), length=task.bars * bar, name="Continuation")]
        if isinstance(task, RestyleTask):
            return [replace(_moved(task.clip, c, task.style), kind=task.clip.kind)]
        raise AssertionError(f"no answer for {task!r}")


def _moved(part: Part, semitones: int, name: str) -> Part:
    notes = tuple(replace(n, pitch=max(0, min(127, n.pitch + semitones))) for n in part.notes)
    return replace(part, notes=notes, name=name)


def _kit(length: float, time_signature: tuple[int, int], c: int) -> Part:
    notes = []
    for i in range(int(length * 2)):  # eighths
        start = i * 0.5
        notes.append(Note(HAT, start, 0.25, 80))
        if i % 2 == 0:
            notes.append(Note(KICK if (i // 2) % 2 == 0 else SNARE + c, start, 0.5, 100))
    return Part(notes=tuple(notes), length=length, time_signature=time_signature, name="Drums", kind="drums")
