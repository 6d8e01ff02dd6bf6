"""The chord planner (models/harmony/plan.py) with the shipped table: closes on the tonic in
root position, a harmonic rhythm that fits the metre, a key lock that holds, and a
harmonization of real chorale tunes that agrees with Bach's more often than the rules."""

from __future__ import annotations

import numpy as np
import pytest

from models.harmony import plan, table
from models.harmony.symbols import parse
from tests.models.music import chorale_soprano, in_quarters, melody


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
