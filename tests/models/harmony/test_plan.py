"""The chord planner (models/harmony/plan.py) with the shipped table: closes on the tonic in
root position, a harmonic rhythm that fits the metre, a key lock that holds, and a
harmonization of real chorale tunes that agrees with Bach's more often than the rules."""

from __future__ import annotations

import numpy as np
import pytest

from models.harmony import plan, table
from models.harmony.symbols import parse
from tests.models.music import chorale, chorale_soprano, in_quarters, melody


@pytest.fixture(scope="module")
def planner() -> plan.Planner:
    return plan.Planner(table.load())


def test_a_tune_in_c_closes_on_c(planner: plan.Planner) -> None:
    tune = melody(in_quarters([64, 64, 67, 67, 69, 69, 67, 67, 65, 65, 64, 64, 62, 62, 60, 60]), 16.0)
    spans = planner.plan(tune, "C major")
    assert spans[0].start == 0 and spans[-1].end == 16.0
    assert spans[-1].chord == parse("C")
    for s in spans:  # every chord holds the melody note struck where it starts
        top = next(n.pitch for n in tune.notes if n.start <= s.start < n.end)
        assert top % 12 in s.chord.pitch_classes, (s, top)


@pytest.mark.parametrize(("ts", "step"), [((4, 4), 1.0), ((3, 4), 1.0), ((6, 8), 1.5), ((12, 8), 1.5),
                                          ((9, 8), 1.5), ((2, 2), 2.0), ((4, 2), 2.0), ((3, 2), 2.0), ((5, 4), 1.0)])
def test_harmonic_rhythm_follows_the_metre(planner: plan.Planner, ts: tuple[int, int], step: float) -> None:
    assert plan.step_beats(ts) == step
    bar = ts[0] * 4 / ts[1]
    length = 4 * bar
    tune = melody([(67 + (i % 5), i * 0.5, 0.5) for i in range(int(length * 2))], length, ts)
    spans = planner.plan(tune, "C major")
    assert all(s.start % step == 0 for s in spans)
    assert spans[-1].end == length


def test_a_key_lock_keeps_every_chord_in_the_key(planner: plan.Planner) -> None:
    tune = melody(in_quarters([69, 71, 72, 74, 76, 74, 72, 71, 69, 68, 69, 69]), 12.0)
    d_minor = frozenset({2, 4, 5, 7, 9, 10, 0, 1}) | {8, 11}  # the key and the tune's own notes
    spans = planner.plan(tune, "D minor", only=frozenset(d_minor))
    assert all(s.chord.pitch_classes <= d_minor for s in spans)


def test_a_pickup_rest_has_no_chord(planner: plan.Planner) -> None:
    tune = chorale_soprano("bwv66.6.mxl", 4)  # three beats of rest, then the pickup
    spans = planner.plan(tune, "F# minor")
    assert spans[0].start == 3.0


def test_each_step_takes_the_chord_expected_to_share_most_pitch_classes() -> None:
    """Likeliest F#dim (0.36) against C and Am (0.32 each): Am shares two of F#dim's three
    tones and two of C's, so it is expected to agree best with the step's chord."""
    p = np.full(plan.S, 1e-9)
    for symbol, share in (("F#dim", 0.36), ("C", 0.32), ("Am", 0.32)):
        chord = parse(symbol)
        p[plan.INDEX[(chord.root, chord.quality)]] = share
    gain = plan.expected_overlap(np.log(p)[None, :])[0]
    assert plan.STATES[int(p.argmax())].symbol == "F#dim"
    assert plan.STATES[int(gain.argmax())].symbol == "Am"
    assert gain.max() == pytest.approx(0.36 * 0.5 + 0.32 * 0.5 + 0.32, abs=1e-6)


def test_agreement_is_the_pitch_classes_shared_over_those_either_holds() -> None:
    assert plan.agreement(frozenset({0, 4, 7}), frozenset({0, 4, 9})) == 0.5
    assert plan.agreement(frozenset({0, 4, 7}), frozenset({0, 4, 7})) == 1.0
    assert plan.agreement(frozenset(), frozenset()) == 0.0
    c, am = parse("C"), parse("Am")
    assert plan.OVERLAP[plan.INDEX[(c.root, c.quality)], plan.INDEX[(am.root, am.quality)]] == 0.5


# --- alternative plans: paths drawn from the planner's own distribution -------------------------

def test_a_path_is_drawn_in_proportion_to_its_weight() -> None:
    """Two steps, three chords: the drawn paths' frequencies match the exact path weights."""
    rng = np.random.default_rng(0)
    scores = np.log(np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]))
    trans = [np.log(np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]]))]
    exact = np.exp(scores[0][:, None] + trans[0] + scores[1][None, :])
    exact /= exact.sum()
    fwd = plan.forward(scores, trans)
    counts = np.zeros((3, 3))
    for _ in range(20000):
        a, b = plan.backward_sample(fwd, trans, rng)
        counts[a, b] += 1
    assert np.abs(counts / counts.sum() - exact).max() < 0.01


def test_forward_filtering_and_backward_sums_give_the_posterior() -> None:
    """The forward sums that the draws start from are those of the posterior: at the last step
    the two agree (nothing follows it)."""
    rng = np.random.default_rng(1)
    scores, trans = rng.normal(size=(5, 4)), [rng.normal(size=(4, 4)) for _ in range(4)]
    np.testing.assert_allclose(plan.forward(scores, trans)[-1], plan.posterior(scores, trans)[-1])


def test_draws_are_reproducible_by_seed(planner: plan.Planner) -> None:
    tune = whole_soprano("bwv66.6.mxl")

    def first(seed: int) -> list[list]:
        draws = planner.draws(tune, "F# minor", seed)
        return [next(draws) for _ in range(4)]

    assert first(3) == first(3)
    assert first(3) != first(4)


@pytest.mark.parametrize("name", ["bwv66.6.mxl", "bwv269.mxl"])
def test_alternatives_are_other_harmonies_of_the_tune(planner: plan.Planner, name: str) -> None:
    """Each alternative changes at least a fifth of the steps against the plan and against every
    alternative before it, keeps the opening rest and the close, and still holds the melody
    note struck where each of its chords starts about as often as the plan does."""
    tune = whole_soprano(name)
    key = tune.key or "C major"
    step = plan.step_beats(tune.time_signature)
    best = planner.plan(tune, key)
    alts = plan.alternatives(best, planner.draws(tune, key, seed=0), 3, step)
    assert len(alts) == 3
    for i, alt in enumerate(alts):
        for other in (best, *alts[:i]):
            assert plan.changed(alt, other, step) >= plan.MIN_CHANGE
        assert alt[0].start == best[0].start and alt[-1].end == best[-1].end == tune.length
        assert alt[-1].chord.root == best[-1].chord.root
        assert held(tune, alt) >= held(tune, best) - 0.15


def whole_soprano(name: str):
    soprano = chorale(name).part("melody")
    assert soprano is not None
    return soprano


def held(tune, spans) -> float:
    """The share of a plan's chords that hold the melody note struck where they start."""
    tops = [next((n.pitch for n in tune.notes if n.start <= s.start < n.end), None) for s in spans]
    return sum(t is None or t % 12 in s.chord.pitch_classes for t, s in zip(tops, spans, strict=True)) / len(spans)


def test_the_kth_alternative_is_the_same_however_many_are_asked_for(planner: plan.Planner) -> None:
    tune = whole_soprano("bwv66.6.mxl")
    best = planner.plan(tune, "F# minor")
    two = plan.alternatives(best, planner.draws(tune, "F# minor", seed=5), 2, 1.0)
    three = plan.alternatives(best, planner.draws(tune, "F# minor", seed=5), 3, 1.0)
    assert len(two) == 2 and three[:2] == two


def test_every_drawn_plan_keeps_the_key_lock_and_closes_on_the_tonic(planner: plan.Planner) -> None:
    tune = melody(in_quarters([69, 71, 72, 74, 76, 74, 72, 71, 69, 68, 69, 69]), 12.0)
    d_minor = frozenset({2, 4, 5, 7, 9, 10, 0, 1}) | {8, 11}
    draws = planner.draws(tune, "D minor", seed=2, only=d_minor)
    seen = set()
    for _ in range(50):
        spans = next(draws)
        seen.add(tuple(spans))
        assert all(s.chord.pitch_classes <= d_minor for s in spans)
    assert len(seen) > 5  # the draws wander
    c_tune = melody(in_quarters([64, 64, 67, 67, 69, 69, 67, 67, 65, 65, 64, 64, 62, 62, 60, 60]), 16.0)
    draws = planner.draws(c_tune, "C major", seed=2)
    assert {next(draws)[-1].chord for _ in range(50)} == {parse("C")}  # a close on C: every draw ends on C


def test_drawn_plans_leave_a_pickup_rest_without_chord(planner: plan.Planner) -> None:
    tune = chorale_soprano("bwv66.6.mxl", 4)
    draws = planner.draws(tune, "F# minor", seed=0)
    assert all(next(draws)[0].start == 3.0 for _ in range(20))


def test_changed_counts_the_steps_where_another_chord_sounds() -> None:
    c, am, f, g = (parse(x) for x in ("C", "Am", "F", "G"))
    a = plan.spans([None, c, c, f, g], 1.0, 5.0)
    b = plan.spans([None, c, am, f, c], 1.0, 5.0)
    assert plan.changed(b, a, 1.0) == 0.5  # the rest does not count: 2 of 4 steps
    assert plan.changed(a, a, 1.0) == 0.0


def test_alternatives_stop_when_the_draws_bring_nothing_new() -> None:
    c, g = parse("C"), parse("G")
    best = plan.spans([c, g, c, c, g, c], 1.0, 6.0)
    near = plan.spans([c, g, g, c, g, c], 1.0, 6.0)  # one step in six: not enough
    far = plan.spans([c, c, g, g, g, c], 1.0, 6.0)

    assert plan.alternatives(best, iter([near] * 30), 2, 1.0, tries=10) == []
    assert plan.alternatives(best, iter([near, far, far, *[near] * 30]), 2, 1.0, tries=10) == [far]


def test_the_last_lattice_is_kept_for_the_same_tune_only(planner: plan.Planner) -> None:
    tune = melody(in_quarters([60, 62, 64, 65, 67, 65, 64, 62]), 8.0)
    first = planner.lattice(tune, "C major")
    assert planner.lattice(tune, "C major") is first  # the plan, then its alternatives
    other = planner.lattice(melody(in_quarters([60, 62, 64, 65, 67, 65, 64, 62]), 8.0), "C major")
    assert other is not first and np.array_equal(other.scores, first.scores)
    locked = planner.lattice(tune, "C major", only=frozenset({0, 2, 4, 5, 7, 9, 11}))
    assert locked is not first
    assert not np.array_equal(planner.lattice(tune, "A minor").scores, first.scores)
