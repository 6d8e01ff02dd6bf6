"""Batching through the engine with a tiny real model (random weights, CPU): concurrent seeded
requests get the same results with batching on as with it off, and the batches really happen."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from bridge.client import Client
from tests.bridge.helpers import melody


@pytest.fixture(scope="module")
def tiny_composer(tmp_path_factory: pytest.TempPathFactory):
    torch = pytest.importorskip("torch")
    from models.interface import load_composer
    from models.net import checkpoint
    from models.net.transformer import GPT, GPTConfig
    from models.training import PRESETS

    threads = torch.get_num_threads()
    torch.manual_seed(7)
    stem = Path(tmp_path_factory.mktemp("tiny")) / "model"
    checkpoint.save(GPT(GPTConfig(**asdict(PRESETS["tiny"]))).eval(), stem, {"name": "tiny-batching"})
    composer = load_composer(stem, "cpu")
    # the numpy step, where batching pays (on the compiled step the engine does not batch)
    composer.model.decode_path = "numpy"
    torch.set_num_threads(1)
    yield composer
    torch.set_num_threads(threads)


REQUESTS = [dict(clip=melody(2, base=60 + i), style=("chorale", "chords", "bass")[i % 3],
                 candidates=1 + i % 3, seed=100 + i) for i in range(6)]


def _results(address: str) -> list[list]:
    clients = [Client(address, timeout=120.0) for _ in REQUESTS]
    try:
        ids = [client.send("harmonize", timeout=120.0, **fields) for client, fields in zip(clients, REQUESTS, strict=True)]
        return [client.wait(rid, 120.0)["candidates"] for client, rid in zip(clients, ids, strict=True)]
    finally:
        for client in clients:
            client.close()


def test_batching_on_and_off_give_identical_results(start_engine, tiny_composer) -> None:
    batched = start_engine(composer=tiny_composer, max_batch=8)
    single = start_engine(composer=tiny_composer, max_batch=1)
    with_batches = _results(batched.address)
    assert batched.scheduler.batches >= 1 and batched.scheduler.batched >= 2
    assert single.scheduler.batches == 0
    assert with_batches == _results(single.address)


def test_on_the_compiled_cpu_step_requests_run_one_at_a_time(start_engine, tiny_composer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A request decoded alone on the CPU's compiled step beats one in company (its passes cost
    per token, and a lone row guesses further ahead), so the engine does not batch there; the
    results are the same."""
    fused_step = pytest.importorskip("models.net.fused_step")
    if not fused_step.available():
        pytest.skip("numba is not installed: no compiled step")
    fused_step.compile_kernels()
    expected = _results(start_engine(composer=tiny_composer, max_batch=1).address)
    monkeypatch.setattr(tiny_composer.model, "decode_path", "fused")
    engine = start_engine(composer=tiny_composer, max_batch=8)
    assert not engine.engine.batchable()
    assert _results(engine.address) == expected
    assert engine.scheduler.batches == 0
