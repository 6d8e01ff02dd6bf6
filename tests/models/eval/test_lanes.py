"""What the chord lane is worth (models/eval/lanes.py): the measures read the right tokens."""

from __future__ import annotations

import numpy as np
import pytest

from models.data.dataset import build
from models.data.derive import derived_sources
from models.eval.lanes import accompaniment_pitches, lane_windows, reading, without_guide
from models.net import vocab as V
from models.ops.harmonize import plan_harmony
from tests.models.conftest import tiny_gpt
from tests.models.music import chorale, in_quarters, melody

pytestmark = pytest.mark.usefixtures("one_thread")


def test_only_the_accompaniments_pitches_are_scored() -> None:
    four = chorale("bwv25.6.mxl")
    data = build({"chorales": [four], **derived_sources([four])})
    windows = lane_windows(data, per_piece=2)
    assert len(windows) == 6 and all(V.HARM in w for _, w in windows)
    _, seq = windows[0]
    names = [V.VOCAB.tokens[t] for t in seq]
    scored = np.flatnonzero(accompaniment_pitches(seq))
    assert scored.size and all(names[i].startswith("PITCH_") for i in scored)
    for i in scored:  # the track a scored pitch belongs to is an accompaniment
        role = next(n for n in reversed(names[:i]) if n.startswith("TRK_"))
        assert role in ("TRK_bass", "TRK_tenor", "TRK_alto", "TRK_chords")
    melody_pitches = [i for i, n in enumerate(names) if n.startswith("PITCH_")
                      and next(m for m in reversed(names[:i]) if m.startswith("TRK_")) == "TRK_melody"]
    assert melody_pitches and not accompaniment_pitches(seq)[melody_pitches].any()


def test_reading_scores_both_streams_and_an_older_vocabulary_only_without_lanes() -> None:
    four = chorale("bwv25.6.mxl")
    windows = lane_windows(build({"chorales": [four]}), per_piece=1)
    both = reading(tiny_gpt(), len(V.VOCAB), windows)
    assert set(both) == {"chorales, lanes", "chorales, no lanes"} and all(v > 0 for v in both.values())
    assert set(reading(tiny_gpt(), V.HARM, windows)) == {"chorales, no lanes"}


def test_without_guide_drops_the_guide_and_optionally_the_lanes() -> None:
    setup = plan_harmony(melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74]), 8.0), "chorale", None, None)
    for lanes in (True, False):
        plan = without_guide(setup.plan, lanes)
        assert all(s.generate is None or s.generate.guide is None for s in plan.segments)
        forced = [t for s in plan.segments for t in s.forced]
        assert (V.HARM in forced) == lanes
