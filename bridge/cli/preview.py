"""Piano-roll previews: the input clip above, each result candidate below, as one PNG.
Drawn with matplotlib's Agg backend, so it needs no display."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bridge.protocol import Clip

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COLOURS = ("#3b6ea8", "#c8553d", "#4f9d69", "#8a5fbf", "#d4a017", "#2a9d8f", "#e76f51", "#6c757d")


def draw(path: str | Path, source: list[Clip], candidates: list[list[Clip]], title: str = "",
         offset: float = 0.0) -> None:
    """Write a PNG piano roll of ``source`` clips and each candidate's clips (shifted by
    ``offset`` beats, e.g. a continuation after its input)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [("input", source, 0.0)] + [(f"candidate {i + 1}", clips, offset) for i, clips in enumerate(candidates)]
    length = max([offset + c.length for clips in candidates for c in clips] + [c.length for c in source] + [1.0])
    figure, axes = plt.subplots(len(rows), 1, figsize=(12, 2.2 * len(rows)), sharex=True, squeeze=False)
    for axis, (label, clips, shift) in zip(axes[:, 0], rows, strict=True):
        _roll(axis, clips, shift, length)
        axis.set_ylabel(label)
    axes[-1, 0].set_xlabel("beats")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(str(path), dpi=100)
    plt.close(figure)


def _roll(axis: Axes, clips: list[Clip], shift: float, length: float) -> None:
    pitches: list[int] = []
    for number, clip in enumerate(clips):
        colour = COLOURS[number % len(COLOURS)]
        for note in clip.notes:
            axis.broken_barh([(shift + note.start, note.duration)], (note.pitch - 0.4, 0.8),
                             facecolors=colour, alpha=0.4 + 0.6 * note.velocity / 127)
            pitches.append(note.pitch)
        if clips and clip.notes:
            axis.plot([], [], color=colour, label=clip.name or f"clip {number + 1}")
    low, high = (min(pitches), max(pitches)) if pitches else (60, 72)
    axis.set_ylim(low - 2, high + 2)
    axis.set_xlim(0, length)
    axis.grid(True, axis="x", alpha=0.3)
    if pitches:
        axis.legend(loc="upper right", fontsize="small")
