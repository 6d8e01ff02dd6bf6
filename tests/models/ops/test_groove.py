"""The groove prior (models/ops/groove.py): per-position hit shares of a drum part's recent bars,
sharpened towards a majority vote, and the log-biases decoding adds from them; a random model
continuing a steady beat under the prior keeps the beat's kick and snare."""

from __future__ import annotations

import dataclasses
from math import log

import pytest

from models.constants import DRUM_CLASSES
from models.interface import Composer
from models.ops.groove import EXACT_FLOOR, FLOOR, GroovePrior, _sharpen
from models.tasks import ContinueTask, Sampling
from tests.models.ops.test_ops_constraints import composer, groove  # noqa: F401  (fixture)

KICK, SNARE, HAT = DRUM_CLASSES["kick"], DRUM_CLASSES["snare"], DRUM_CLASSES["closed_hat"]
BAR = 48


def beat(bars: int, extra: dict[int, list[tuple[int, int]]] | None = None) -> list[tuple[int, int]]:
    """Kick on 1 and 3, snare on 2 and 4, in ``bars`` bars; ``extra``: bar -> more hits."""
    notes = []
    for bar in range(bars):
        notes += [(bar * BAR, KICK), (bar * BAR + 12, SNARE), (bar * BAR + 24, KICK), (bar * BAR + 36, SNARE)]
        notes += [(bar * BAR + pos, c) for pos, c in (extra or {}).get(bar, [])]
    return notes


def test_shares_of_the_last_four_whole_bars() -> None:
    # bar 0 is outside the last four; bar 4 holds a one-off hat at 6
    prior = GroovePrior.from_bars(beat(5, {0: [(3, HAT)], 4: [(6, HAT)]}), range(5), BAR)
    assert prior is not None
    onset, hits = dict(prior.onset), dict(prior.hits)
    assert onset[0] == onset[12] == 1.0 and hits[(0, KICK)] == 1.0
    assert 3 not in onset  # only in bar 0
    assert hits[(6, HAT)] == pytest.approx(_sharpen(0.25)) and hits[(6, HAT)] < 0.05  # a one-off fades
    assert GroovePrior.from_bars([], range(4), BAR) is None
    assert GroovePrior.from_bars(beat(2), [], BAR) is None


def test_sharpening_is_a_softened_majority_vote() -> None:
    assert _sharpen(0.5) == pytest.approx(0.5)
    assert _sharpen(0.75) > 0.9 and _sharpen(0.25) < 0.1
    assert _sharpen(0.0) == 0.0 and _sharpen(1.0) == 1.0


def test_next_onset_prefers_the_first_position_the_groove_hits() -> None:
    prior = GroovePrior.from_bars(beat(4), range(4), BAR, weight=1.0)
    assert prior is not None
    *onsets, end = prior.next_onset([3, 6, 12, 24])
    assert onsets[2] == pytest.approx(log(FLOOR + 1.0))  # 12: hit in every bar, nothing before
    assert onsets[3] == pytest.approx(log(FLOOR))  # 24 comes only after 12
    assert onsets[0] == onsets[1] == end == pytest.approx(log(FLOOR))
    # another hit at the current position takes its share from moving on
    *moved, _ = prior.next_onset([12], stay=0.5)
    assert moved[0] == pytest.approx(log(FLOOR + 0.5))


def test_classes_follow_ascending_order_at_a_position() -> None:
    prior = GroovePrior.from_bars(beat(4, {b: [(0, HAT)] for b in range(4)}), range(4), BAR, weight=1.0)
    assert prior is not None
    first, any_first = prior.classes(0, [KICK, SNARE, HAT])
    assert first[0] == pytest.approx(log(FLOOR + 1.0))  # the kick (lowest) is struck first
    assert first[1] == first[2] == pytest.approx(log(FLOOR)) and any_first == 1.0
    after_kick, more = prior.classes(0, [SNARE, HAT], after=KICK)
    assert after_kick == [pytest.approx(log(FLOOR)), pytest.approx(log(FLOOR + 1.0))] and more == 1.0
    _, nothing_left = prior.classes(0, [SNARE], after=HAT)
    assert nothing_left == 0.0


def test_a_class_the_prior_decides_is_not_struck_where_it_says_0() -> None:
    prior = GroovePrior.from_bars(beat(4, {b: [(0, HAT)] for b in range(4)}), range(4), BAR, weight=1.0)
    assert prior is not None
    decided = dataclasses.replace(prior, exact=frozenset({SNARE}))
    leaning, _ = prior.classes(0, [KICK, SNARE, HAT])
    deciding, _ = decided.classes(0, [KICK, SNARE, HAT])
    assert deciding[1] == pytest.approx(log(EXACT_FLOOR)) and leaning[1] == pytest.approx(log(FLOOR))
    assert deciding[0] == leaning[0] and deciding[2] == leaning[2]  # the other classes as before


def test_continued_drums_keep_the_beat_even_from_a_random_model(composer: Composer) -> None:  # noqa: F811
    """The tiny model is random; the prior alone carries the clip's kick and snare over."""
    clip = groove(4)
    kept = 0
    for (part,) in composer.run(ContinueTask(clip, bars=1, sampling=Sampling(candidates=3, seed=5))):
        hits = {(round(n.start * 12), n.pitch) for n in part.notes if n.pitch in (36, 38)}
        kept += len(hits & {(0, 36), (12, 38), (24, 36), (36, 38)})
    assert kept >= 9  # of 12
