"""Reading a melody in its target style's metre family (models/ops/metre_view.py)."""

from __future__ import annotations

import pytest

from models.ops.metre_view import MetreView, view_for
from models.representation import Note, Part


@pytest.mark.parametrize(("metre", "style", "view"), [
    ((4, 4), "jig", MetreView((6, 8), 1.5)),      # a 4/4 bar is two 6/8 bars at the same pulse
    ((3, 4), "jig", MetreView((9, 8), 1.5)),
    ((2, 2), "jig", MetreView((6, 8), 1.5)),
    ((6, 8), "reel", MetreView((2, 2), 2 / 3)),   # two 6/8 bars make one 2/2 bar
    ((9, 8), "reel", None),                       # three beats: no reel metre holds them
    ((9, 8), "chorale", MetreView((3, 4), 2 / 3)),
    ((4, 4), "reel", MetreView((2, 2), 1.0)),     # the reel's usual spelling of the bar
    ((2, 4), "chorale", MetreView((4, 4), 1.0)),
    ((4, 4), "chorale", None),
    ((6, 8), "jig", None),
    ((6, 8), "air", None),
    ((5, 4), "jig", None),
])
def test_the_view_keeps_the_pulse_and_whole_bars(metre: tuple[int, int], style: str, view: MetreView | None) -> None:
    assert view_for(metre, style) == view


def test_a_clip_goes_into_the_view_and_back() -> None:
    clip = Part((Note(60, 0.0, 0.5, 80), Note(62, 1 / 3, 1 / 3, 70), Note(64, 2.5, 1.5, 90)), 8.0, (4, 4), 100.0,
                "C major", "Tune", "melody")
    view = MetreView((6, 8), 1.5)
    seen = view.to_view(clip)
    assert (seen.length, seen.time_signature, seen.tempo) == (12.0, (6, 8), 150.0)  # same seconds per bar
    assert [n.start for n in seen.notes] == pytest.approx([0.0, 0.5, 3.75])
    back = [view.from_view(n) for n in seen.notes]
    # start and end are rounded alike: the triplet ends at 0.666667, where the next one would start
    assert back == [Note(60, 0.0, 0.5, 80), Note(62, 0.333333, 0.333334, 70), Note(64, 2.5, 1.5, 90)]
    assert back[1].end == pytest.approx(0.666667, abs=1e-9)
