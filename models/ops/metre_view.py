"""Reading a melody in the metre family its target style is written in.

A jig lives in compound time (6/8, 9/8: beats of three eighths); reels, hornpipes, polkas,
waltzes and chorales in simple time (2/4, 2/2, 3/4, 4/4: beats of two). The model learned each
style in its own family (no jig in 4/4 in the corpus), so restyling a 4/4 melody into a jig
reads the clip *at the same pulse* in compound time: each quarter-note beat becomes a
dotted-quarter beat (times x1.5, a 4/4 bar = two 6/8 bars), the model writes a jig there, and
the result is read back at /1.5 -- the jig's eighths come out as triplet eighths, the way a jig
is played over a 4/4 grid. Bars, beats, length and tempo in seconds are unchanged. A compound
clip going to a simple-time style is read the other way (x2/3: two 6/8 bars as one 2/2 bar of
a reel). Within a family the clip is read in the style's usual spelling of its bar (a 4/4 clip
restyled as a reel is read in 2/2, as most reels are written). Airs and marches live in every
metre and need no view.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.net.tokenizer import bar_ticks
from models.representation import Note, Part

# The metres each style is written in, most common first (train-split counts: jigs 6/8 474,
# 9/8 114; reels 2/2 442, 2/4 251; hornpipes 2/4 250, 2/2 238; chorales 4/4 154, 3/4 25).
# Airs and marches come in every metre: they are restyled in the clip's own.
METRES: dict[str, tuple[tuple[int, int], ...]] = {
    "jig": ((6, 8), (9, 8)),
    "reel": ((2, 2), (2, 4)),
    "hornpipe": ((2, 2), (2, 4)),
    "polka": ((2, 4),),
    "waltz": ((3, 4),),
    "chorale": ((4, 4), (3, 4)),
}


def is_compound(time_signature: tuple[int, int]) -> bool:
    """Beats of three eighths (3/8, 6/8, 9/8, 12/8)."""
    num, den = time_signature
    return den == 8 and num % 3 == 0


@dataclass(frozen=True)
class MetreView:
    time_signature: tuple[int, int]  # the metre the clip is read in
    scale: float  # view beats per clip beat

    def to_view(self, part: Part) -> Part:
        """The clip in the view's metre (notes in the same order, times and tempo scaled)."""
        notes = tuple(Note(n.pitch, n.start * self.scale, n.duration * self.scale, n.velocity) for n in part.notes)
        tempo = part.tempo * self.scale if part.tempo else part.tempo
        return Part(notes, part.length * self.scale, self.time_signature, tempo, part.key, part.name, part.kind,
                    dict(part.extra))

    def from_view(self, note: Note) -> Note:
        """A note written in the view, at its place in the clip (start and end rounded alike, so
        a note that ends where the next starts still does)."""
        start, end = round(note.start / self.scale, 6), round(note.end / self.scale, 6)
        return Note(note.pitch, start, round(end - start, 6), note.velocity)


def view_for(time_signature: tuple[int, int], style: str) -> MetreView | None:
    """The view a melody in ``time_signature`` is restyled in for ``style``: the pulse kept
    (x1.5 into compound time, x2/3 out of it) and the style's most common metre whose bar holds
    a whole number of the clip's bars, or fits in one (a 2/4 clip is read in 2/2 in pairs of
    bars). None when the clip's own metre is that one, or none fits (5/4, 7/8)."""
    if style not in METRES:
        return None
    compound = style == "jig"
    scale = 1.0
    if compound and not is_compound(time_signature):
        scale = 1.5
    elif not compound and is_compound(time_signature):
        scale = 2 / 3
    bar = bar_ticks(time_signature) * scale
    for metre in METRES[style]:
        view_bar = bar_ticks(metre)
        if _whole(view_bar / bar) or _whole(bar / view_bar):
            return None if metre == time_signature and scale == 1.0 else MetreView(metre, scale)
    return None


def _whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 and round(x) >= 1
