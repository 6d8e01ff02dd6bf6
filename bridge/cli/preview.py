"""Piano-roll previews: the input clip above, each result candidate below, as one PNG; drum
rows are labelled with the General MIDI kit pieces they play. Drawn with matplotlib's Agg
backend, so it needs no display."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bridge.cli.midifile import is_drum_clip
from bridge.protocol import Clip

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOURS = ("#3b6ea8", "#c8553d", "#4f9d69", "#8a5fbf", "#d4a017", "#2a9d8f", "#e76f51", "#6c757d")
# The General MIDI Level 1 percussion key map: note number -> kit piece.
GM_DRUMS = dict(enumerate((
    "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare", "Hand Clap", "Electric Snare",
    "Low Floor Tom", "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat", "Low Tom", "Open Hi-Hat",
    "Low-Mid Tom", "Hi-Mid Tom", "Crash Cymbal 1", "High Tom", "Ride Cymbal 1", "Chinese Cymbal",
    "Ride Bell", "Tambourine", "Splash Cymbal", "Cowbell", "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2",
    "Hi Bongo", "Low Bongo", "Mute Hi Conga", "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale",
    "High Agogo", "Low Agogo", "Cabasa", "Maracas", "Short Whistle", "Long Whistle", "Short Guiro",
    "Long Guiro", "Claves", "Hi Wood Block", "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle",
    "Open Triangle"), start=35))


def drum_label(pitch: int) -> str:
    """The kit piece a drum note plays: drum_label(42) == "Closed Hi-Hat"."""
    return GM_DRUMS.get(pitch, f"drum {pitch}")


def draw(path: str | Path, source: list[Clip], candidates: list[list[Clip]], title: str = "",
         offset: float = 0.0) -> None:
    """Write a PNG piano roll of ``source`` clips and each candidate's clips (shifted by
    ``offset`` beats, e.g. a continuation after its input)."""
    from matplotlib import pyplot as plt

    roll = figure(source, candidates, title, offset)
    roll.savefig(str(path), dpi=100)
    plt.close(roll)


def figure(source: list[Clip], candidates: list[list[Clip]], title: str = "", offset: float = 0.0) -> Figure:
    """The piano roll as a matplotlib Figure: one row of axes for the input, one per candidate."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [("input", source, 0.0)] + [(f"candidate {i + 1}", clips, offset) for i, clips in enumerate(candidates)]
    length = max([offset + c.length for clips in candidates for c in clips] + [c.length for c in source] + [1.0])
    roll, axes = plt.subplots(len(rows), 1, figsize=(12, 2.2 * len(rows)), sharex=True, squeeze=False)
    for axis, (label, clips, shift) in zip(axes[:, 0], rows, strict=True):
        _roll(axis, clips, shift, length)
        axis.set_ylabel(label)
    axes[-1, 0].set_xlabel("beats")
    if title:
        roll.suptitle(title)
    roll.tight_layout()
    return roll


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
    if pitches and all(is_drum_clip(clip) for clip in clips if clip.notes):
        rows = sorted(set(pitches))
        axis.set_yticks(rows, [drum_label(p) for p in rows], fontsize="x-small")
    axis.set_xlim(0, length)
    axis.grid(True, axis="x", alpha=0.3)
    if pitches:
        # beside the roll, not on it: a fill's last hits (toms, a crash) sit in its top right corner
        axis.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0, fontsize="small")
