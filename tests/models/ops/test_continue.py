"""Continuing drums with the shipped model: a two-bar phrase (A B A B) goes on as one (A), and
the phrase is read only where the bars alternate."""

from __future__ import annotations

import pytest

from models.constants import DRUM_CLASSES
from models.interface import Composer, load_composer
from models.net.tokenizer import snap
from models.ops.continuation import alternation
from models.ops.regions import quantize
from models.representation import Note, Part
from models.tasks import ContinueTask, Sampling

KICK, SNARE, HAT = DRUM_CLASSES["kick"], DRUM_CLASSES["snare"], DRUM_CLASSES["closed_hat"]
A = ((0.0, KICK), (1.0, SNARE), (2.0, KICK), (3.0, SNARE))
B = ((0.0, KICK), (0.75, KICK), (1.0, SNARE), (2.5, KICK), (2.75, SNARE), (3.0, SNARE), (3.5, SNARE))


@pytest.fixture(scope="module")
def shipped(one_thread: None) -> Composer:
    return load_composer(None, "cpu")


def phrase(*bars: tuple[tuple[float, int], ...]) -> Part:
    notes = [Note(p, 4.0 * i + t, 0.25, 96) for i, bar in enumerate(bars) for t, p in bar]
    notes += [Note(HAT, 4.0 * i + h * 0.5, 0.25, 70) for i in range(len(bars)) for h in range(8)]
    return Part(tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), 4.0 * len(bars), (4, 4), 100.0, kind="drums")


def skeleton(part: Part, bar: int) -> set[tuple[int, int]]:
    return {(snap(n.start * 12) - 48 * bar, n.pitch) for n in part.notes
            if n.pitch in (KICK, SNARE) and 4 * bar <= n.start < 4 * bar + 4}


def test_a_two_bar_phrase_is_read_only_where_bars_alternate() -> None:
    assert alternation(quantize(phrase(A, B, A, B).notes, "drums"), 4, 48) is not None
    assert alternation(quantize(phrase(A, A, A, A).notes, "drums"), 4, 48) is None
    assert alternation(quantize(phrase(A, B, B, A).notes, "drums"), 4, 48) is None


def test_an_alternation_stays_an_alternation(shipped: Composer) -> None:
    clip = phrase(A, B, A, B)
    a, b = skeleton(clip, 0), skeleton(clip, 1)
    results = shipped.run(ContinueTask(clip, bars=2, sampling=Sampling(candidates=3, seed=4)))
    for (part,) in results:
        first, second = skeleton(part, 0), skeleton(part, 1)
        assert len(first & a) / len(first | a) > len(first & b) / len(first | b)
        assert len(second & b) / len(second | b) > len(second & a) / len(second | a)
