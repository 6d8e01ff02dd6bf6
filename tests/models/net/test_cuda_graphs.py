"""Decoding passes of fixed shape over kept buffers (models/net/cuda_graphs.py).

On the CPU the passes run eagerly on the same static tensors a CUDA graph would replay, so the
layout (padding, the masks over whole rows, the buffers a cache adopts and gives back) is held
to the torch path here: the same notes in float32, logits up to rounding. On a CUDA GPU the
captured graphs are held to the eager path there."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.net import checkpoint
from models.net.cuda_graphs import MAX_ROWS, WIDTHS, GraphedPasses, width_for
from models.net.transformer import GPT, KVCache
from tests.models.test_devices import assert_valid, needs_cuda, tasks, torch_path


def graphed(monkeypatch: pytest.MonkeyPatch, model: GPT) -> GraphedPasses:
    """``model``'s passes through kept buffers and fixed shapes, on whatever device it is."""
    passes = GraphedPasses(model)
    monkeypatch.setattr(GPT, "_graphed", lambda self: passes if self is model else None)
    return passes


def test_widths_round_up_and_stop_at_the_widest() -> None:
    assert [width_for(w) for w in (1, 2, 3, 5, 9, 17, 32)] == [1, 2, 4, 8, 16, 32, 32]
    assert width_for(WIDTHS[-1] + 1) is None


def test_every_op_decodes_as_the_torch_path_does(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Padding computed, attention over whole rows, a cache's numbers in kept buffers: in
    float32 every request comes out with the torch path's notes, rolls and guided rows
    included."""
    composer = torch_path(tiny_weights, torch.float32)
    expected = [composer.run(task) for task in tasks()]
    passes = graphed(monkeypatch, composer.model)
    assert [composer.run(task) for task in tasks()] == expected
    assert {(1, 1), (1, 2), (2, 1)} <= set(passes.graphs)


def test_every_op_decodes_in_bfloat16(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU's dtype through the same layout (rotations, masks and buffers in bfloat16)."""
    composer = torch_path(tiny_weights)
    graphed(monkeypatch, composer.model)
    for task in tasks():
        assert_valid(task, composer.run(task))


def test_a_cache_that_loses_the_buffers_keeps_its_numbers(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two decodes taking turns: each pass adopts the buffers, and the cache that held them
    before gets its own copy back. Both read what the eager path reads, up to the rounding of
    products of other shapes (padding rows)."""
    model = torch_path(tiny_weights, torch.float32).model
    leads = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11, 12, 13, 14, 15, 16]]
    steps = [torch.tensor([[20 + i, 21 + i]]) for i in range(6)]

    def taking_turns() -> list[torch.Tensor]:
        caches = [model.read_lead(lead, 64)[0] for lead in leads]
        return [model.forward_rows(step, torch.tensor([2 - i % 2]), cache)
                for i, step in enumerate(steps) for cache in caches]

    eager = taking_turns()
    passes = graphed(monkeypatch, model)
    replayed = taking_turns()
    assert passes.owner is not None and len(passes.graphs) == 1
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(eager, replayed, strict=True))


def test_shapes_past_the_buffers_run_eagerly(tiny_weights: Path) -> None:
    model = torch_path(tiny_weights, torch.float32).model
    passes = GraphedPasses(model)
    cache = KVCache(model.config.n_layer, 64)
    assert passes.takes(4, 3, cache)
    assert not passes.takes(MAX_ROWS + 1, 1, cache)
    assert not passes.takes(1, WIDTHS[-1] + 1, cache)
    cache.pos = model.config.block_size
    assert passes.takes(1, WIDTHS[-1], cache)
    cache.pos = model.config.block_size + 1
    assert not passes.takes(1, WIDTHS[-1], cache)


@needs_cuda
def test_cuda_graphs_follow_the_eager_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the GPU: every op valid with graphs, and a pass's next-token distribution from a
    replayed graph the eager path's up to bfloat16's rounding."""
    from models.interface import DEFAULT_WEIGHTS

    composer = torch_path(checkpoint.stem_of(DEFAULT_WEIGHTS), torch.bfloat16, "cuda")
    model = composer.model
    lead = list(range(4, 120))
    cache, _ = model.read_lead(lead, 256)
    twin = cache.copy(256)
    steps = [torch.tensor([[30 + i, 31 + i, 32 + i]], device="cuda") for i in range(8)]
    eager = [model.forward_rows(step, torch.tensor([3]), twin).float().cpu() for step in steps]
    passes = graphed(monkeypatch, model)
    replayed = [model.forward_rows(step, torch.tensor([3]), cache) for step in steps]
    assert passes.graphs and not passes.refused
    for a, b in zip(eager, replayed, strict=True):
        assert (a.softmax(-1) - b.softmax(-1)).abs().sum() < 0.05
    for task in tasks():
        assert_valid(task, composer.run(task))
