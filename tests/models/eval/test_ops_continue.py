"""The continue evaluation's baselines (models/eval/ops.py) on hand-made grooves: every named
rule's prediction of the next bar's kick and snare."""

from __future__ import annotations

from models.eval.ops import backtested, baselines, voted
from models.representation import Note, Part

KICK, SNARE = 36, 38
A = ((0.0, KICK), (1.0, SNARE), (2.0, KICK), (3.0, SNARE))
B = ((0.0, KICK), (0.75, KICK), (1.5, SNARE), (2.5, KICK), (3.5, SNARE))


def drums(*bars: tuple[tuple[float, int], ...]) -> Part:
    notes = tuple(Note(p, 4.0 * i + t, 0.25, 90) for i, bar in enumerate(bars) for t, p in bar)
    return Part(notes, 4.0 * len(bars), (4, 4), 100.0, None, "drums", "drums")


def hits(bar: tuple[tuple[float, int], ...]) -> set[tuple[int, int]]:
    return {(round(t * 12), p) for t, p in bar}


def test_every_baseline_predicts_from_the_four_bars() -> None:
    out = baselines(drums(A, B, A, B))
    assert out["repeat_last_bar"] == hits(B)
    assert out["copy_first_bar"] == out["copy_bar_two_back"] == hits(A)
    assert out["hits_in_2_of_4_bars"] == hits(A) | hits(B)
    assert out["recurrence_table"] == hits(A)  # hits of only the bars three and one back stay out
    assert out["backtest_choice"] == hits(A)  # each bar is the one two before it: the bar two back
    assert out["phrase_choice"] == hits(A)  # the bars four and two back: the phrase's place


def test_the_phrase_choice_leaves_a_hit_the_groove_dropped() -> None:
    played = (*A, (3.75, SNARE))  # a pickup in the first two bars, gone in the last two
    out = baselines(drums(played, played, A, A))
    assert out["recurrence_table"] == hits(played)  # the table alone keeps it (1100)
    assert out["phrase_choice"] == hits(A)


def test_backtesting_keeps_the_vote_for_a_steady_groove() -> None:
    steady = [hits(A)] * 3 + [hits(A) | {(45, SNARE)}]
    assert backtested(steady) == voted(steady) == hits(A)
