"""Constrained decoding (models/decoding/decoding.py) on hand-made plans with a tiny random model:
whatever the model prefers, generated spans keep the grammar, their pitches, note counts,
positions and the clip's end; monophonic voices wait for their last note; drums get
velocities; the sampler is seeded; a context longer than the model's block still decodes."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.decoding.decoding import Constraints, Plan, Sampler, Segment, decode
from models.net import vocab as V
from models.net.tokenizer import Header, header_tokens
from models.net.transformer import GPT, GPTConfig
from models.ops.harmonize import plan_harmony
from tests.models.conftest import tiny_gpt
from tests.models.music import bars_of, in_quarters, melody

pytestmark = pytest.mark.usefixtures("one_thread")
GRID = {0, 3, 4, 6, 8, 9}
HEAD = header_tokens(Header("chorale", (4, 4), "C major", 100.0))


@pytest.fixture(scope="module")
def model() -> GPT:
    return tiny_gpt()


def one_bar_plan(c: Constraints, melody_tokens: list[int] | None = None) -> Plan:
    """Header, one bar: the melody forced, then ``c.role`` generated, then EOS."""
    forced = [V.BAR, V.TRK["melody"]] + (melody_tokens or [V.POS0, V.PITCH0 + 72, V.DUR0 + 7])
    return Plan([Segment(forced=HEAD), Segment(forced=forced), Segment(forced=[V.TRK[c.role]]),
                 Segment(generate=c), Segment(forced=[V.EOS])])


def generated(model: GPT, plan: Plan, rows: int, seed: int, **kwargs: object) -> list[list[tuple[int, int, int]]]:
    out = []
    for row in decode(model, plan, rows, Sampler(temperature=1.5, seed=seed), **kwargs):
        bars = bars_of(row)
        assert len(bars) == 1
        role = [r for r in bars[0] if r != "melody"][0]
        out.append(bars[0][role])
    return out


def test_a_generated_span_needs_a_forced_end() -> None:
    c = Constraints("chords", 0, 48, 48, frozenset({60}))
    with pytest.raises(ValueError, match="followed by a forced one"):
        Plan([Segment(forced=HEAD), Segment(generate=c)])


@pytest.mark.parametrize("seed", range(4))
def test_span_constraints_hold(model: GPT, seed: int) -> None:
    pitches = frozenset({60, 64, 67, 72})
    c = Constraints("chords", bar_start=0, bar_ticks=48, end_tick=30, pitches=pitches,
                    min_notes=3, max_notes=5, min_pos=6)
    for notes in generated(model, one_bar_plan(c), rows=3, seed=seed):
        assert 3 <= len(notes) <= 5, notes
        for pos, pitch, dur in notes:
            assert pitch in pitches and pos >= 6 and pos % 12 in GRID and pos + dur <= 30, notes
        assert len(set(notes)) == len(notes)


@pytest.mark.parametrize("seed", range(3))
def test_min_notes_stack_into_a_chord_when_positions_run_out(model: GPT, seed: int) -> None:
    c = Constraints("chords", bar_start=0, bar_ticks=48, end_tick=48, pitches=frozenset({60, 64, 67, 71}),
                    min_notes=3, min_pos=45)  # one grid point left: tick 45
    for notes in generated(model, one_bar_plan(c), rows=3, seed=seed):
        assert len(notes) >= 3 and {pos for pos, _, _ in notes} == {45}, notes


@pytest.mark.parametrize("seed", range(4))
def test_monophonic_voice_waits_for_its_sounding_note(model: GPT, seed: int) -> None:
    c = Constraints("bass", bar_start=48, bar_ticks=48, end_tick=96, pitches=frozenset(range(40, 60)),
                    min_notes=1)
    plan = Plan([Segment(forced=HEAD), Segment(forced=[V.BAR, V.TRK["melody"], V.POS0, V.PITCH0 + 72, V.DUR0 + 7]),
                 Segment(forced=[V.TRK["bass"]]), Segment(generate=c), Segment(forced=[V.EOS])])
    for notes in generated(model, plan, rows=3, seed=seed, busy={"bass": 48 + 20}):
        assert notes and notes[0][0] >= 20
        for (p0, _, d0), (p1, _, _) in zip(notes, notes[1:], strict=False):
            assert p1 >= p0 + d0, f"overlap in {notes}"
        assert len({pos for pos, _, _ in notes}) == len(notes)


def test_no_room_left_allows_an_empty_span(model: GPT) -> None:
    c = Constraints("bass", bar_start=0, bar_ticks=48, end_tick=48, pitches=frozenset({48}), min_notes=1)
    for notes in generated(model, one_bar_plan(c), rows=2, seed=0, busy={"bass": 48}):
        assert notes == []  # the voice still sounds from before: nothing may start in this bar


@pytest.mark.parametrize("seed", range(3))
def test_drums_carry_velocities_and_drum_classes(model: GPT, seed: int) -> None:
    kit = frozenset({36, 38, 42, 46})
    c = Constraints("drums", bar_start=0, bar_ticks=36, end_tick=36, pitches=kit, min_notes=4, max_notes=16)
    plan = Plan([Segment(forced=header_tokens(Header("rock", (6, 8), None, 120.0))),
                 Segment(forced=[V.BAR, V.FILL]), Segment(forced=[V.TRK["drums"]]),
                 Segment(generate=c), Segment(forced=[V.EOS])])
    rows = decode(model, plan, 2, Sampler(seed=seed))
    for row in rows:
        bars = bars_of(row)  # checks a VEL after every drum note
        notes = bars[0]["drums"]
        assert 4 <= len(notes) <= 16 and {p for _, p, _ in notes} <= kit
        assert all(pos < 36 for pos, _, _ in notes)


def test_emphasis_leans_on_its_pitches_without_leaving_the_allowed_set(model: GPT) -> None:
    pitches = frozenset({36, 40, 43, 45})
    share = {}
    for emphasis in ((), ((43, 3.0),)):
        c = Constraints("bass", 0, 48, 48, pitches, min_notes=4, max_notes=8, emphasis=emphasis)
        notes = [n for row in generated(model, one_bar_plan(c), rows=4, seed=0) for n in row]
        assert {pitch for _, pitch, _ in notes} <= pitches
        share[emphasis] = sum(pitch == 43 for _, pitch, _ in notes) / len(notes)
    assert share[((43, 3.0),)] > 0.7 > share[()]


def test_guidance_away_from_a_contrast_header(model: GPT) -> None:
    """Guided rows keep their constraints and return only themselves; guidance away from the
    plan's own header changes nothing, away from another header it changes the sampling."""
    kit = frozenset({36, 38, 42, 46, 49})
    c = Constraints("drums", bar_start=0, bar_ticks=48, end_tick=48, pitches=kit, min_notes=4, max_notes=16)
    head = header_tokens(Header("rock", (4, 4), None, 120.0))
    plain = Plan([Segment(forced=head + [V.BAR, V.TRK["drums"]]), Segment(generate=c), Segment(forced=[V.EOS])])
    alone = decode(model, plain, 3, Sampler(seed=3))
    same = dataclasses.replace(plain, contrast=head, guidance=3.0)
    assert decode(model, same, 3, Sampler(seed=3)) == alone
    other = dataclasses.replace(plain, contrast=header_tokens(Header("jazz", (4, 4), None, 120.0)), guidance=3.0)
    guided = decode(model, other, 3, Sampler(seed=3))
    assert len(guided) == 3 and guided != alone
    for row in guided:
        assert row[:len(head)] == head
        notes = bars_of(row)[0]["drums"]
        assert 4 <= len(notes) <= 16 and {p for _, p, _ in notes} <= kit
    with pytest.raises(ValueError, match="contrast"):
        dataclasses.replace(plain, contrast=head * 3)


def test_forced_tokens_are_read_verbatim(model: GPT) -> None:
    tune = [V.POS0, V.PITCH0 + 72, V.DUR0 + 3, V.POS0 + 12, V.PITCH0 + 74, V.DUR0 + 3, V.PITCH0 + 79, V.DUR0 + 3]
    c = Constraints("alto", 0, 48, 48, frozenset(range(55, 70)), min_notes=1)
    plan = one_bar_plan(c, tune)
    for row in decode(model, plan, 3, Sampler(seed=1)):
        assert row[:len(HEAD) + 2 + len(tune) + 1] == HEAD + [V.BAR, V.TRK["melody"]] + tune + [V.TRK["alto"]]


def test_sampler_is_seeded_and_stays_in_the_allowed_set() -> None:
    logits = torch.randn(len(V.VOCAB), generator=torch.Generator().manual_seed(0))
    allowed = list(range(V.PITCH0 + 40, V.PITCH0 + 80))
    picks = [Sampler(seed=5).pick(logits, allowed) for _ in range(3)]
    assert len(set(picks)) == 1
    one = Sampler(seed=5)
    run = [one.pick(logits, allowed) for _ in range(50)]
    assert set(run) <= set(allowed) and len(set(run)) > 3
    assert Sampler(seed=5).pick(logits, [V.EOS]) == V.EOS
    peaked = logits.clone()
    peaked[allowed[7]] = 20.0
    assert {Sampler(temperature=0.01, seed=s).pick(peaked, allowed) for s in range(10)} == {allowed[7]}
    assert {Sampler(top_p=0.5, seed=s).pick(peaked, allowed) for s in range(10)} == {allowed[7]}


def test_same_seed_same_rows_different_seed_different_rows(model: GPT) -> None:
    c = Constraints("chords", 0, 48, 48, frozenset(range(48, 77)), min_notes=2)
    plan = one_bar_plan(c)
    a = decode(model, plan, 3, Sampler(seed=21))
    assert a == decode(model, plan, 3, Sampler(seed=21))
    assert a != decode(model, plan, 3, Sampler(seed=22))
    assert len({tuple(r) for r in a}) > 1, "rows sample independently"


def test_context_longer_than_the_block_is_decoded_from_a_rebuilt_cache() -> None:
    torch.manual_seed(3)
    small = GPT(GPTConfig(vocab_size=len(V.VOCAB), block_size=32, n_layer=1, n_head=2, n_embd=32)).eval()
    tune = melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 72]), 16.0)
    setup = plan_harmony(tune, "chorale", None, None)
    rows = decode(small, setup.plan, 2, Sampler(seed=0))
    assert all(len(r) > 3 * small.config.block_size for r in rows)
    for row in rows:
        bars = bars_of(row)
        assert len(bars) == 4 and all(list(b) == ["melody", "bass", "tenor", "alto"] for b in bars)


def test_a_rows_allowed_tokens_and_biases_are_worked_out_once_per_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """allowed() and bias() answer from the state as it stands until a token is accepted or the
    row is set back, and then work it out again."""
    from models.decoding.decoding import _Row

    c = Constraints("chords", bar_start=0, bar_ticks=48, end_tick=48, pitches=frozenset({60, 64, 67}),
                    emphasis=((64, 1.0),))
    row = _Row(one_bar_plan(c), {})
    while row.forced_next() is not None:
        row.accept(row.forced_next())
    worked: list[str] = []
    now, bias_now = _Row._allowed_now, _Row._bias_now
    monkeypatch.setattr(_Row, "_allowed_now", lambda self: worked.append("allowed") or now(self))
    monkeypatch.setattr(_Row, "_bias_now", lambda self, allowed: worked.append("bias") or bias_now(self, allowed))
    first = row.allowed()
    assert row.allowed() is first and row.bias(first) == row.bias(first)
    assert worked == ["allowed", "bias"]
    before = row.snapshot()
    row.accept(next(t for t in first if V.POS0 <= t < V.PITCH0))  # a position: its pitch comes next
    pitches = row.allowed()
    assert pitches != first and worked == ["allowed", "bias", "allowed"]
    row.restore(before)
    assert row.allowed() == first and worked[-1] == "allowed" and len(worked) == 4
