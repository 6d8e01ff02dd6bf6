"""Drums with a fill at the end of every phrase: the groove first (``drums.build_drums``), then
the fill op (``drums.build_fill``) on the last bar of every ``fills`` bars, in order, each
reading the bars before it as its context (so a fill answers what was just played, the one at
bar 8 hears the fill at bar 4). Everything outside the fills stays note for note what the groove
wrote with the same seed; a fill that is not the clip's last bar lands on the next downbeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from models.ops import drums, regions
from models.representation import Part
from models.tasks import DrumsTask, FillTask, Sampling

Draw = Callable[[int, int], list[list[Part]]]
FILL_SEEDS = 1009  # a fill's seed: its groove row's seed + this times (phrase number + 1)


def phrase_ends(bars: int, every: int) -> list[int]:
    """The bars (0-based) that end a phrase of ``every`` bars within ``bars``; none for 0."""
    return [] if every <= 0 else list(range(every - 1, bars, every))


def runner(model: Any, task: DrumsTask, progress: Callable[[float], None] | None,
           should_stop: Callable[[], bool] | None) -> Draw:
    """A composer runner (models/composer.py) for ``drums``."""
    groove = regions.runner(drums.build_drums)(model, task, progress, should_stop)
    ends = phrase_ends(task.bars, task.fills)
    if not ends:
        return groove
    fill = regions.runner(drums.build_fill)

    def draw(rows: int, seed: int) -> list[list[Part]]:
        out = []
        for row, (part, *rest) in enumerate(groove(rows, seed)):
            beats = part.beats_per_bar
            for n, bar in enumerate(ends):
                fill_seed = seed + row + FILL_SEEDS * (n + 1)
                request = FillTask(part, (bar * beats, (bar + 1) * beats), task.fill_intensity, task.humanize,
                                   Sampling(temperature=task.sampling.temperature, seed=fill_seed))
                (filled, *_), = fill(model, request, None, should_stop)(1, fill_seed)
                part = replace(filled, name=part.name, extra=dict(part.extra))
            out.append([part, *rest])
        return out

    return draw
