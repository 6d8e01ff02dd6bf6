"""Continuing drums, kick and snare: each hit of the last four bars comes back as often as the
bars that hold it say (models/ops/continuation.py's recurrence table), a pickup played every
other bar comes back every other bar, and the model still writes the hats around them."""

from __future__ import annotations

from models.constants import DRUM_CLASSES
from models.interface import Composer
from models.ops.continuation import KEEP, next_skeleton, recurrence, skeleton_prior
from models.ops.groove import GroovePrior
from models.ops.regions import QNote, quantize
from models.tasks import ContinueTask, Sampling
from tests.models.ops.test_continue import phrase as clip
from tests.models.ops.test_continue import shipped, skeleton  # noqa: F401  (fixture)

KICK, SNARE, HAT = DRUM_CLASSES["kick"], DRUM_CLASSES["snare"], DRUM_CLASSES["closed_hat"]
GROOVE = ((0.0, KICK), (1.0, SNARE), (2.0, KICK), (2.5, KICK), (3.0, SNARE))
PICKUP = (3.75, SNARE)  # played in the second and fourth bars only


def prior_of(kept: list[QNote], bars: int) -> GroovePrior:
    prior = GroovePrior.from_bars([(q[0], q[1]) for q in kept], range(bars), 48)
    assert prior is not None
    return prior


def test_recurrence_reads_which_of_the_four_bars_hold_a_hit() -> None:
    steady, other = {(0, KICK), (12, SNARE)}, {(0, KICK), (12, SNARE), (45, SNARE)}
    shares = recurrence([steady, other, steady, other])
    assert shares[(0, KICK)] > 0.8 and shares[(12, SNARE)] > 0.8
    assert shares[(45, SNARE)] < KEEP  # only in the bars three and one back: not the next bar's
    assert recurrence([other, steady, other, steady])[(45, SNARE)] >= KEEP  # four and two back: it is
    assert recurrence([steady, other]) == {}  # fewer than four bars say nothing
    assert (0, HAT) not in recurrence([steady | {(0, HAT)}] * 4)


def test_the_next_bar_is_chosen_by_the_bars_at_its_phrase_place() -> None:
    steady = {(round(t * 12), pitch) for t, pitch in GROOVE}
    varied = steady | {(45, SNARE)}
    # a pickup dropped two bars ago stays dropped, though the table alone keeps it (1100)
    assert recurrence([varied, varied, steady, steady])[(45, SNARE)] >= KEEP
    assert next_skeleton([varied, varied, steady, steady]) == steady
    # a variation of the middle bars that the last bar and the phrase's first bar lack is left
    assert recurrence([steady, varied, varied, steady])[(45, SNARE)] >= KEEP
    assert next_skeleton([steady, varied, varied, steady]) == steady
    # where the table and the bars agree, the table's hits: the pickup of the bars four and
    # two back comes back, the one of the bars three and one back does not
    assert next_skeleton([varied, steady, varied, steady]) == varied
    assert next_skeleton([steady, varied, steady, varied]) == steady
    assert next_skeleton([steady | {(0, HAT)}] * 4) == steady  # kick and snare only
    assert next_skeleton([steady, varied]) == set()  # fewer than four bars say nothing


def test_the_prior_drops_a_hit_the_groove_has_dropped() -> None:
    groove = clip((*GROOVE, PICKUP), (*GROOVE, PICKUP), GROOVE, GROOVE)
    kept = quantize(groove.notes, "drums")
    prior = prior_of(kept, 4)
    for parity in (0, 1):
        hits = dict(skeleton_prior(prior, kept, 4, 48, parity).hits)
        assert hits[(45, SNARE)] == 0.0 and hits[(12, SNARE)] == 1.0 == hits[(0, KICK)]
        assert skeleton_prior(prior, kept, 4, 48, parity).exact == {KICK, SNARE}  # decided, not leant on


def test_the_prior_keeps_the_groove_and_places_the_pickup_by_phrase() -> None:
    groove = clip(GROOVE, (*GROOVE, PICKUP), GROOVE, (*GROOVE, PICKUP))
    kept = quantize(groove.notes, "drums")
    prior = prior_of(kept, 4)
    nxt, after = (skeleton_prior(prior, kept, 4, 48, parity) for parity in (0, 1))
    for t, pitch in GROOVE:
        assert dict(nxt.hits)[(round(t * 12), pitch)] == 1.0 == dict(after.hits)[(round(t * 12), pitch)]
    assert dict(nxt.hits)[(45, SNARE)] == 0.0 and dict(after.hits)[(45, SNARE)] == 1.0
    assert dict(nxt.hits)[(0, HAT)] == dict(prior.hits)[(0, HAT)]  # the hats as the groove prior reads them
    assert dict(nxt.onset)[6] == dict(prior.onset)[6]
    assert skeleton_prior(prior, kept, 3, 48, 0) is prior  # under four whole bars: the groove prior


def test_a_steady_groove_keeps_its_kick_and_snare(shipped: Composer) -> None:  # noqa: F811
    groove = clip(GROOVE, GROOVE, GROOVE, GROOVE)
    expected = skeleton(groove, 0)
    for (part,) in shipped.run(ContinueTask(groove, bars=2, sampling=Sampling(candidates=3, seed=1))):
        assert skeleton(part, 0) == expected and skeleton(part, 1) == expected
        assert sum(n.pitch == HAT for n in part.notes) >= 8  # a performance, not a bare skeleton


def test_a_pickup_every_other_bar_comes_back_every_other_bar(shipped: Composer) -> None:  # noqa: F811
    groove = clip(GROOVE, (*GROOVE, PICKUP), GROOVE, (*GROOVE, PICKUP))
    pickup = (45, SNARE)
    for (part,) in shipped.run(ContinueTask(groove, bars=2, sampling=Sampling(candidates=3, seed=2))):
        assert pickup not in skeleton(part, 0)
        assert pickup in skeleton(part, 1)
