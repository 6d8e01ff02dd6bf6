"""Batched decoding: several requests in shared forward passes decode to the same tokens and
candidates as each alone with the same seed; a stopped request leaves the others running."""

from __future__ import annotations

import pytest
import torch

from models.decoding import decoding
from models.decoding.decoding import DecodeJob, Sampler, decode, decode_many
from models.errors import Cancelled
from models.net import vocab as V
from models.net.transformer import GPT, GPTConfig
from models.ops.harmonize import plan_harmony
from models.representation import Note, Part
from models.tasks import DrumsTask, FillTask, HarmonizeTask, Sampling
from tests.models.conftest import tiny_gpt


def _melody(bars: int, base: int = 64, beats: int = 1) -> Part:
    steps = (0, 2, 4, 5, 7, 5, 4, 2)
    notes = tuple(Note(base + steps[i % 8], float(i * beats), float(beats), 90) for i in range(bars * 4 // beats))
    return Part(notes, float(bars * 4), (4, 4), 100.0, "C major", kind="melody")


# different plan and prefix lengths (the first bar holds 4, 2 or 1 melody notes)
REQUESTS = [(_melody(2), "chorale", 2, 11), (_melody(3, 60, 2), "chords", 1, 5), (_melody(2, 67, 4), "bass", 3, 7)]


@pytest.fixture(scope="module")
def model(one_thread: None):
    return tiny_gpt()


def test_decode_many_matches_decode_alone(model) -> None:
    plans = [plan_harmony(m, style, None, None).plan for m, style, _, _ in REQUESTS]
    alone = [decode(model, plan, rows, Sampler(temperature=1.0, seed=seed))
             for plan, (_, _, rows, seed) in zip(plans, REQUESTS, strict=True)]
    together = decode_many(model, [DecodeJob(plan, rows, Sampler(temperature=1.0, seed=seed))
                                   for plan, (_, _, rows, seed) in zip(plans, REQUESTS, strict=True)])
    assert together == alone


def test_a_stopped_job_leaves_the_others_running(model) -> None:
    plans = [plan_harmony(m, style, None, None).plan for m, style, _, _ in REQUESTS[:2]]
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    out = decode_many(model, [DecodeJob(plans[0], 2, Sampler(seed=1), should_stop=stop_soon),
                              DecodeJob(plans[1], 1, Sampler(seed=2))])
    assert isinstance(out[0], Cancelled)
    assert out[1] == decode(model, plans[1], 1, Sampler(seed=2))


def test_run_many_matches_run(composer) -> None:
    tasks = [HarmonizeTask(melody=m, style=style, sampling=Sampling(candidates=rows, seed=seed))
             for m, style, rows, seed in REQUESTS]
    many = composer.run_many(tasks)
    assert many == [composer.run(task) for task in tasks]
    empty = HarmonizeTask(melody=Part((), 4.0), sampling=Sampling(seed=1))
    outcomes = composer.run_many([empty, tasks[0]])
    assert isinstance(outcomes[0], ValueError) and outcomes[1] == many[0]


def test_a_batched_request_is_planned_once(composer, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_many plans each request once: the runner that would plan it again is set up only
    for a redraw (a batched harmonize request used to make its chord plan twice)."""
    from models import composer as composer_module

    made: list[object] = []
    setup = composer_module.harmonize_setup
    monkeypatch.setattr(composer_module, "harmonize_setup", lambda task: made.append(task) or setup(task))
    tasks = [HarmonizeTask(melody=m, style=style, sampling=Sampling(candidates=1, seed=seed))
             for m, style, _, seed in REQUESTS]  # one candidate each: never a redraw
    composer.run_many(tasks)
    assert len(made) == len(tasks)


def test_every_op_decodes_with_others_as_it_does_alone(composer) -> None:
    """Drums, fill, vary, continue and restyle share passes with harmonize and each other (drums
    with fills run alone): each task's candidates are those it gets alone."""
    from tests.models.test_devices import tasks as one_of_each

    tasks = [*one_of_each(), DrumsTask(4, style="funk", fills=2, sampling=Sampling(2, 1.0, 8)),
             FillTask(_groove(), intensity=0.8, sampling=Sampling(3, 1.0, 9))]
    many = composer.run_many(tasks)
    assert many == [composer.run(task) for task in tasks]


def test_jobs_that_outgrow_the_context_together_are_marked(composer) -> None:
    """Rows that give up context while another job's share the cache are marked crowded (their
    tokens may differ from a decode alone, so run_many decodes them again alone); short jobs
    side by side are not."""
    from models.composer import PLANNERS

    def jobs(bars: list[int]) -> list[DecodeJob]:
        ready = [PLANNERS["drums"](composer.model, DrumsTask(n, style="funk", sampling=Sampling(1, 1.0, n)))
                 for n in bars]
        return [DecodeJob(r.plan, r.rows, Sampler(seed=n)) for r, n in zip(ready, bars, strict=True) if r]

    short, long = jobs([2, 3]), jobs([24, 30])
    decode_many(composer.model, short)
    decode_many(composer.model, long)
    assert [job.crowded for job in short + long] == [False, False, True, True]
    alone = jobs([30])
    decode_many(composer.model, alone)
    assert not alone[0].crowded


def _groove() -> Part:
    notes = [Note(p, bar * 4 + i * 0.5, 0.25, 90) for bar in range(2) for i in range(8)
             for p in (42, *((36,) if i % 4 == 0 else (38,) if i % 4 == 2 else ()))]
    return Part(tuple(notes), 8.0, kind="drums")


def test_both_decode_paths_give_the_same_tokens(model, monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy step and the torch path agree to float rounding: the same seeded tokens."""
    plans = [plan_harmony(m, style, None, None).plan for m, style, _, _ in REQUESTS]
    out = {}
    for path in ("numpy", "torch"):
        monkeypatch.setattr(GPT, "decode_path", path)
        out[path] = decode_many(model, [DecodeJob(plan, rows, Sampler(temperature=1.0, seed=seed))
                                        for plan, (_, _, rows, seed) in zip(plans, REQUESTS, strict=True)])
    assert out["numpy"] == out["torch"]


def test_a_context_past_the_block_rolls_instead_of_rebuilding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan over twice the model's context decodes with the cache rolled (never rebuilt:
    every row is long enough to give up what the next tokens need), and gives the same tokens
    on both decode paths."""
    torch.manual_seed(3)
    small = GPT(GPTConfig(vocab_size=len(V.VOCAB), block_size=96, n_layer=2, n_head=2, n_embd=32)).eval()
    plan = plan_harmony(_melody(6), "chorale", None, None).plan
    monkeypatch.setattr(decoding, "_rebuild", None)  # calling it would fail
    out = {}
    for path in ("numpy", "torch"):
        monkeypatch.setattr(GPT, "decode_path", path)
        # a seed whose two rows stay within reach of each other: with a context this small, rows
        # that drift some 70 tokens apart leave the shorter one too little to give up, and the
        # cache is rebuilt (3 of 12 seeds of this random model)
        out[path] = decode(small, plan, 2, Sampler(seed=3))
    assert out["numpy"] == out["torch"]
    assert all(len(row) > 2 * small.config.block_size for row in out["numpy"])
