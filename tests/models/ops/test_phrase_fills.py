"""Drums with phrase-end fills: with the shipped model, ``fills`` every 4 bars puts a fill in
bars 4 and 8 (toms or crash at a high intensity, landing on bar 5's downbeat) and leaves every
other bar as the groove alone writes it with the same seed."""

from __future__ import annotations

import pytest

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.interface import Composer, load_composer
from models.ops.phrase_fills import phrase_ends
from models.representation import Part
from models.tasks import DrumsTask, Sampling

TOMS_CRASH = {DRUM_CLASSES[c] for c in ("low_tom", "mid_tom", "high_tom", "crash")}


@pytest.fixture(scope="module")
def shipped(one_thread: None) -> Composer:
    return load_composer(None, "cpu")


def bar(part: Part, index: int) -> list[tuple[float, int, int]]:
    beats = part.beats_per_bar
    return [(n.start, n.pitch, n.velocity) for n in part.notes if index * beats <= n.start < (index + 1) * beats]


def test_phrase_ends() -> None:
    assert phrase_ends(8, 4) == [3, 7]
    assert phrase_ends(6, 4) == [3]
    assert phrase_ends(3, 4) == []
    assert phrase_ends(8, 0) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_fills_end_every_phrase_and_leave_the_rest(shipped: Composer, seed: int) -> None:
    task = DrumsTask(8, (4, 4), 100.0, "rock", humanize=0.0, sampling=Sampling(candidates=2, seed=seed))
    plain = shipped.run(task)
    filled = shipped.run(DrumsTask(8, (4, 4), 100.0, "rock", humanize=0.0, fills=4, fill_intensity=0.8,
                                   sampling=Sampling(candidates=2, seed=seed)))
    for (groove,), (part,) in zip(plain, filled, strict=True):
        assert part.length == groove.length and part.name == groove.name
        for index in (0, 1, 2, 5, 6):
            assert bar(part, index) == bar(groove, index)
        for index in (3, 7):
            assert bar(part, index) != bar(groove, index)
            assert {DRUM_PITCH_MAP[p] for _, p, _ in bar(part, index)} & TOMS_CRASH
        # the fill in bar 4 lands on bar 5's downbeat
        assert any(start == 16.0 and DRUM_PITCH_MAP[p] == DRUM_CLASSES["crash"] for start, p, _ in bar(part, 4))
