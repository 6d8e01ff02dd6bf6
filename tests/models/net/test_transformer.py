"""The Transformer (models/net/transformer.py): shapes, weight tying, and KV-cache decoding that
gives the same logits as a full forward pass, fed in chunks or one token at a time. Every test
runs on both decode paths (numpy, models/net/step.py, and torch)."""

from __future__ import annotations

import pytest
import torch

from models.net import vocab as V
from models.net.transformer import GPT, GPTConfig, KVCache
from tests.models.conftest import tiny_gpt

pytestmark = pytest.mark.usefixtures("one_thread")
ATOL = 1e-5


@pytest.fixture(autouse=True, params=["numpy", "torch"])
def decode_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(GPT, "decode_path", request.param)
    return request.param


def tokens(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, len(V.VOCAB), (batch, length), generator=g)


def incremental(model: GPT, idx: torch.Tensor, chunks: list[int], capacity: int = 0) -> torch.Tensor:
    cache = KVCache(model.config.n_layer, capacity)
    out, at = [], 0
    for size in chunks:
        out.append(model(idx[:, at:at + size], cache))
        at += size
    assert at == idx.shape[1] and cache.pos == at and cache.length() == at
    return torch.cat(out, dim=1)


def test_shapes_and_weight_tying() -> None:
    model = tiny_gpt()
    assert model.config.vocab_size == len(V.VOCAB)
    logits = model(tokens(3, 17))
    assert logits.shape == (3, 17, len(V.VOCAB)) and logits.dtype == torch.float32
    assert model.head.weight is model.wte.weight
    assert 0 < model.num_params() < 200_000


@torch.no_grad()
def test_single_steps_equal_a_full_forward() -> None:
    model, idx = tiny_gpt(), tokens(2, 40)
    full = model(idx)
    assert torch.allclose(incremental(model, idx, [1] * 40), full, atol=ATOL)


@torch.no_grad()
@pytest.mark.parametrize("chunks", [[40], [7, 1, 1, 12, 1, 18], [1, 5, 34], [16, 16, 8]])
def test_chunks_after_a_prefix_equal_a_full_forward(chunks: list[int]) -> None:
    model, idx = tiny_gpt(), tokens(2, 40, seed=1)
    assert torch.allclose(incremental(model, idx, chunks), model(idx), atol=ATOL)


@torch.no_grad()
def test_cache_grows_past_its_capacity() -> None:
    model, idx = tiny_gpt(), tokens(1, 150, seed=2)
    assert torch.allclose(incremental(model, idx, [3] * 50, capacity=8), model(idx), atol=ATOL)


@torch.no_grad()
def test_select_keeps_and_reorders_cached_rows() -> None:
    model, idx = tiny_gpt(), tokens(3, 12, seed=3)
    cache = KVCache(model.config.n_layer)
    model(idx[:, :8], cache)
    order = torch.tensor([2, 0])
    cache.select(order)
    step = model(idx[order, 8:], cache)
    assert torch.allclose(step, model(idx[order])[:, 8:], atol=ATOL)


@torch.no_grad()
def test_selecting_every_row_in_order_moves_nothing() -> None:
    """A one-candidate decode selects its one row: the buffers stay as they are."""
    model = tiny_gpt()
    cache = KVCache(model.config.n_layer)
    model(tokens(2, 5), cache)
    held, edits = list(cache.k), cache.edits
    cache.select(torch.arange(2))
    assert all(a is b for a, b in zip(cache.k, held, strict=True)) and cache.edits == edits
    cache.select(torch.tensor([1, 0]))
    assert cache.k[0] is not held[0] and torch.equal(cache.k[0], held[0][[1, 0]])


@torch.no_grad()
def test_context_longer_than_the_trained_block() -> None:
    config = GPTConfig(vocab_size=len(V.VOCAB), block_size=16, n_layer=1, n_head=2, n_embd=32)
    torch.manual_seed(0)
    model = GPT(config).eval()
    idx = tokens(1, 70, seed=4)
    full = model(idx)
    assert full.shape == (1, 70, len(V.VOCAB)) and torch.isfinite(full).all()
    assert torch.allclose(incremental(model, idx, [10] + [1] * 60), full, atol=ATOL)


@torch.no_grad()
def test_attention_is_causal() -> None:
    model, idx = tiny_gpt(), tokens(1, 20, seed=5)
    changed = idx.clone()
    changed[0, 15:] = (changed[0, 15:] + 1) % len(V.VOCAB)
    assert torch.allclose(model(idx)[:, :15], model(changed)[:, :15], atol=ATOL)
    assert not torch.allclose(model(idx)[:, 15:], model(changed)[:, 15:], atol=ATOL)


def test_same_seed_same_weights() -> None:
    a, b = tiny_gpt(seed=7), tiny_gpt(seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.wte.weight, tiny_gpt(seed=8).wte.weight)


@torch.no_grad()
def test_ragged_rows_decode_as_each_row_alone() -> None:
    """Rows fed different numbers of tokens per call (padding between) give each row the
    logits it gets alone, fed its tokens in one piece."""
    model, idx = tiny_gpt(), tokens(3, 30, seed=6)
    lengths = [[5, 5, 5], [1, 3, 0], [2, 1, 4], [0, 2, 1], [1, 1, 1], [6, 2, 3]]
    cache = KVCache(model.config.n_layer)
    fed = [0, 0, 0]
    for step in lengths:
        T = max(step)
        feed = torch.full((3, T), V.PAD, dtype=torch.long)
        for row, n in enumerate(step):
            feed[row, :n] = idx[row, fed[row]:fed[row] + n]
        out = model.forward_rows(feed, torch.tensor(step), cache)
        for row, n in enumerate(step):
            fed[row] += n
            if n:
                alone = model(idx[row:row + 1, :fed[row]])[0, -1]
                assert torch.allclose(out[row], alone, atol=ATOL)
    assert cache.row_pos.tolist() == fed


@torch.no_grad()
def test_equal_rows_take_the_plain_path() -> None:
    model, idx = tiny_gpt(), tokens(2, 12, seed=7)
    cache = KVCache(model.config.n_layer)
    out = model.forward_rows(idx[:, :8], torch.tensor([8, 8]), cache)
    assert cache.row_pos is None and torch.allclose(out, model(idx[:, :8])[:, -1], atol=ATOL)
    out = model.forward_rows(idx[:, 8:9], torch.tensor([1, 1]), cache)
    assert cache.row_pos is None and torch.allclose(out, model(idx[:, :9])[:, -1], atol=ATOL)


@torch.no_grad()
def test_a_lead_read_again_is_copied_with_the_same_numbers() -> None:
    """read_lead keeps the last leads' keys and values: a lead read again gives a cache and
    logits equal to reading it afresh, and decoding goes on from the copy as from the read."""
    model, lead = tiny_gpt(), tokens(1, 30, seed=4)[0].tolist()
    twin = GPT(model.config).eval()
    twin.load_state_dict(model.state_dict())  # the same weights, another model: nothing kept
    cold, cold_logits = twin.read_lead(lead, 64)
    model.read_lead(lead, 64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model, "forward_rows", lambda *a, **k: pytest.fail("a kept lead was read again"))
        warm, warm_logits = model.read_lead(lead, 64)
    assert len(model._leads) == 1
    assert torch.equal(warm_logits, cold_logits)
    assert warm.pos == cold.pos == len(lead) and warm.k[0].shape[2] >= 64
    for layer in range(model.config.n_layer):
        assert torch.equal(warm.k[layer][:, :, :len(lead)], cold.k[layer][:, :, :len(lead)])
        assert torch.equal(warm.v[layer][:, :, :len(lead)], cold.v[layer][:, :, :len(lead)])
    step = torch.tensor([[5, 6]])
    fresh = twin.forward_rows(step, torch.tensor([2]), cold)
    assert torch.allclose(model.forward_rows(step, torch.tensor([2]), warm), fresh, atol=ATOL)
    again, _ = model.read_lead(lead, 64)  # the kept copy was not written by the decoding above
    assert torch.equal(again.k[0][:, :, :len(lead)], cold.k[0][:, :, :len(lead)])
    assert again.pos == len(lead)


def test_a_lead_that_starts_as_a_kept_one_reads_only_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lead sharing its first tokens with a kept one (at least SHARED_AT_LEAST) copies their
    keys and values and reads only the tokens after them; cache and logits equal a fresh read up
    to float rounding. A lead that is the start of a kept one reads its last token alone."""
    import models.net.transformer as transformer

    monkeypatch.setattr(transformer, "SHARED_AT_LEAST", 8)
    model, first = tiny_gpt(), tokens(1, 30, seed=4)[0].tolist()
    twin = GPT(model.config).eval()
    twin.load_state_dict(model.state_dict())
    read, _ = model.read_lead(first, 64)
    edited = first[:20] + tokens(1, 12, seed=5)[0].tolist()
    shorter = first[:15]
    unrelated = first[:5] + tokens(1, 20, seed=6)[0].tolist()  # too little in common
    reads: list[int] = []
    forward_rows = model.forward_rows
    monkeypatch.setattr(model, "forward_rows", lambda idx, *a, **k: reads.append(idx.shape[1]) or forward_rows(idx, *a, **k))
    for lead, width in ((edited, 12), (shorter, 1), (unrelated, 25)):
        warm, warm_logits = model.read_lead(lead, 64)
        cold, cold_logits = twin.read_lead(lead, 64)
        assert reads[-1] == width
        assert torch.allclose(warm_logits, cold_logits, atol=ATOL)
        assert warm.pos == len(lead) and (warm.row_pos is None or int(warm.row_pos[0]) == len(lead))
        for layer in range(model.config.n_layer):
            assert torch.allclose(warm.k[layer][:, :, :len(lead)], cold.k[layer][:, :, :len(lead)], atol=ATOL)
            assert torch.allclose(warm.v[layer][:, :, :len(lead)], cold.v[layer][:, :, :len(lead)], atol=ATOL)
    # the kept lead the others started from is intact: copied out as it was first read (the
    # twin's read of it now would copy its first 20 tokens from "edited", read in a pass of
    # another width, which BLAS may round differently)
    again, _ = model.read_lead(first, 64)
    assert torch.equal(again.k[0][:, :, :30], read.k[0][:, :, :30])


def test_a_cache_copies_its_first_slots() -> None:
    model, idx = tiny_gpt(), tokens(2, 12, seed=7)
    cache = KVCache(model.config.n_layer, 16)
    model.forward_rows(idx, torch.tensor([12, 9]), cache)
    head = cache.copy(32, 6)
    assert head.pos == 6 and head.row_pos.tolist() == [6, 6] and head.k[0].shape[2] >= 32
    assert torch.equal(head.k[1][:, :, :6], cache.k[1][:, :, :6])
    with pytest.raises(ValueError, match="a row holds only 9"):
        cache.copy(32, 10)


@torch.no_grad()
def test_leads_kept_are_bounded_and_forgotten_when_the_weights_change(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.net.transformer as transformer

    monkeypatch.setattr(transformer, "LEADS_KEPT", 3)
    model = tiny_gpt()
    for seed in range(5):
        model.read_lead(tokens(1, 10, seed=seed)[0].tolist(), 32)
    assert len(model._leads) == 3
    lead = tokens(1, 10, seed=4)[0].tolist()
    _, before = model.read_lead(lead, 32)
    model.wte.weight.mul_(1.5)  # trained or edited in place
    _, after = model.read_lead(lead, 32)
    assert not torch.allclose(before, after)
    reference = GPT(model.config).eval()
    reference.load_state_dict(model.state_dict())
    assert torch.equal(after, reference.read_lead(lead, 32)[1])


@torch.no_grad()
def test_a_pinned_block_reads_the_weights_versions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``pinned`` every pass runs on the step chosen on entering it (the versions are read
    once, not per pass); after it, a change to the weights is seen again."""
    import models.net.transformer as transformer

    model = tiny_gpt()
    reads = []
    versions = model._versions
    monkeypatch.setattr(model, "_versions", lambda: reads.append(1) or versions())
    cache = KVCache(model.config.n_layer, 64)
    with model.pinned():
        entered = len(reads)
        with model.pinned():  # nested: the outer choice holds
            for start in range(0, 12, 3):
                model.forward_rows(tokens(1, 3, seed=start), torch.tensor([3]), cache)
        assert len(reads) == entered
    assert not transformer._PINNED.steps  # released on leaving
    before = model.forward_rows(tokens(1, 2, seed=9), torch.tensor([2]), KVCache(model.config.n_layer, 8))
    model.wte.weight.mul_(1.5)
    after = model.forward_rows(tokens(1, 2, seed=9), torch.tensor([2]), KVCache(model.config.n_layer, 8))
    assert not torch.allclose(before, after)
