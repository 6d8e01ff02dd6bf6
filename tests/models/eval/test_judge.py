"""The independent drum judge (models/eval/judge.py): bars on the grid, degenerate bars, the
style's most typical bar, and a classifier trained on real Groove train bars that tells the
styles of held-out real bars apart better than chance and refuses validation pieces."""

from __future__ import annotations

import pytest

from models.eval.judge import (
    Judge,
    bar_part,
    bars,
    degenerate,
    four_on_the_floor,
    keeps_no_time,
    snare_dominated,
    typical_bar,
)
from models.representation import Note, Part, Piece
from tests.models.music import needs_groove

KICK, SNARE, HAT, RIDE = 36, 38, 42, 51


def clip(hits: list[tuple[float, int]], length: float = 4.0) -> Part:
    return Part(tuple(Note(p, t, 0.25, 90) for t, p in sorted(hits)), length, (4, 4), 100.0, kind="drums")


def test_a_hit_belongs_to_the_bar_it_snaps_into() -> None:
    [first, second] = bars(clip([(3.99, KICK), (1.0, SNARE)], 8.0))
    assert first == {(12, SNARE)} and second == {(0, KICK)}


def test_degenerate_bars() -> None:
    rolls = bars(clip([(i * 0.25, SNARE) for i in range(11)] + [(0.0, HAT)]))[0]
    assert snare_dominated(rolls) and not keeps_no_time(rolls)
    floor = bars(clip([(float(b), KICK) for b in range(4)]))[0]
    assert four_on_the_floor(floor) and keeps_no_time(floor)
    figures = degenerate([(clip([(float(b), KICK) for b in range(4)]), "dance"),
                          (clip([(float(b), KICK) for b in range(4)] + [(0.5, RIDE)]), "rock")])
    assert figures["four_on_the_floor_outside_dance"] == 1.0 and figures["no_hat_or_ride"] == 0.5


def backbeat(bars_: int, extra: tuple[tuple[float, int], ...] = ()) -> list[tuple[float, int]]:
    return [(4.0 * b + t, p) for b in range(bars_) for t, p in ((0, KICK), (1, SNARE), (2, KICK), (3, SNARE))
            ] + [(4.0 * b + i * 0.5, HAT) for b in range(bars_) for i in range(8)] + list(extra)


def piece(part: Part, style: str, split: str = "train") -> Piece:
    return Piece((("drums", part),), style, f"groove:test/{style}", split, {"beat_type": "beat"})


def test_the_typical_bar_is_the_style_s_most_common_one() -> None:
    steady = piece(clip(backbeat(3), 12.0), "rock")
    odd = piece(clip(backbeat(1, ((0.75, KICK),)), 4.0), "rock")
    typical = typical_bar([steady, odd], "rock")
    assert typical is not None and bars(typical)[0] == bars(clip(backbeat(1)))[0]
    assert bar_part(bars(typical)[0], 4.0, 4).length == 16.0


@needs_groove
def test_the_judge_learns_real_train_bars_and_refuses_validation() -> None:
    from models.data.corpus import load_all

    groove = load_all(sources=("groove",), derived=False)["groove"]
    train = [p for p in groove if p.split == "train"]
    judge = Judge.train(train)
    assert len(judge.styles) == 17 and "gospel" not in judge.styles
    valid = [p for p in groove if p.split == "valid" and p.labels.get("beat_type") == "beat"
             and p.style in judge.styles and p.first.time_signature == (4, 4)]
    right = sum(judge.predict(p.first) == p.style for p in valid)
    assert right / len(valid) > 3 / 17  # far above chance on drummers it never heard
    with pytest.raises(ValueError, match="train split"):
        Judge.train(valid)
