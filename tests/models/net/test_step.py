"""The numpy decode step (models/net/step.py) against the torch path and the full forward
pass: the same logits (to float rounding) for single steps, chunks and ragged rows; a cache
rolled past the context (GPT.roll) reads on as if the tokens kept followed the header; the
step follows weights changed in place."""

from __future__ import annotations

import pytest
import torch

from models.net import vocab as V
from models.net.transformer import GPT, GPTConfig, KVCache
from tests.models.conftest import tiny_gpt

pytestmark = pytest.mark.usefixtures("one_thread")
ATOL = 1e-5


def tokens(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, len(V.VOCAB), (batch, length), generator=g)


def run(model: GPT, path: str, idx: torch.Tensor, steps: list[list[int]]) -> list[torch.Tensor]:
    """Feed each row ``steps[i][row]`` more tokens of ``idx`` per call; the logits of each call."""
    model.decode_path = path
    cache, fed, out = KVCache(model.config.n_layer), [0] * idx.shape[0], []
    for step in steps:
        feed = torch.full((idx.shape[0], max(step)), V.PAD, dtype=torch.long)
        for row, n in enumerate(step):
            feed[row, :n] = idx[row, fed[row]:fed[row] + n]
            fed[row] += n
        out.append(model.forward_rows(feed, torch.tensor(step), cache))
    return out


@torch.no_grad()
@pytest.mark.parametrize("config", [
    None,  # the tiny preset
    GPTConfig(vocab_size=len(V.VOCAB), block_size=64, n_layer=3, n_head=6, n_embd=48),
])
def test_numpy_step_gives_the_torch_paths_logits(config: GPTConfig | None) -> None:
    torch.manual_seed(2)
    model = tiny_gpt() if config is None else GPT(config).eval()
    idx = tokens(3, 40, seed=1)
    steps = [[9, 9, 9], [1, 1, 1], [3, 3, 3], [1, 4, 0], [2, 1, 3], [1, 1, 1], [4, 4, 4]]
    for a, b in zip(run(model, "numpy", idx, steps), run(model, "torch", idx, steps), strict=True):
        assert a.dtype == torch.float32 and torch.allclose(a, b, atol=ATOL)


@torch.no_grad()
def test_numpy_step_matches_the_full_forward_token_by_token() -> None:
    model, idx = tiny_gpt(), tokens(2, 30, seed=2)
    model.decode_path = "numpy"
    cache = KVCache(model.config.n_layer)
    steps = torch.cat([model(idx[:, i:i + 1], cache) for i in range(30)], dim=1)
    assert torch.allclose(steps, model(idx), atol=ATOL)


@torch.no_grad()
@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_a_rolled_cache_reads_on_as_if_the_kept_tokens_followed_the_header(path: str) -> None:
    """One layer: keys and values depend on the token and its position only, so after
    forgetting slots 4..14 the next logits are those of the header and the kept tokens read
    afresh (RoPE sees relative positions only)."""
    torch.manual_seed(4)
    model = GPT(GPTConfig(vocab_size=len(V.VOCAB), block_size=64, n_layer=1, n_head=2, n_embd=32)).eval()
    model.decode_path = path
    idx = tokens(2, 30, seed=3)
    cache = KVCache(model.config.n_layer)
    model(idx[:, :25], cache)
    model.roll(cache, 4, 10)
    assert cache.pos == 15 and cache.shift == 10
    after = model(idx[:, 25:], cache)
    kept = torch.cat([idx[:, :4], idx[:, 14:]], dim=1)
    assert torch.allclose(after, model(kept)[:, -5:], atol=ATOL)


@torch.no_grad()
def test_both_paths_agree_after_a_roll_with_ragged_rows() -> None:
    idx, outs = tokens(2, 40, seed=5), []
    for path in ("numpy", "torch"):
        model = tiny_gpt()
        model.decode_path = path
        cache = KVCache(model.config.n_layer)
        model.forward_rows(idx[:, :20], torch.tensor([20, 17]), cache)
        model.roll(cache, 3, 12)
        assert cache.row_pos is not None and cache.row_pos.tolist() == [8, 5]
        outs.append(model.forward_rows(idx[:, 20:24], torch.tensor([4, 2]), cache))
    assert torch.allclose(outs[0], outs[1], atol=ATOL)


def test_a_roll_cannot_take_more_than_a_row_holds() -> None:
    model = tiny_gpt()
    cache = KVCache(model.config.n_layer)
    with torch.no_grad():
        model.forward_rows(tokens(2, 10), torch.tensor([10, 6]), cache)
    with pytest.raises(ValueError, match="a row holds only 6"):
        model.roll(cache, 3, 4)


@torch.no_grad()
def test_the_step_follows_weights_changed_in_place() -> None:
    model, idx = tiny_gpt(), tokens(1, 12, seed=6)
    before = model(idx[:, :6], KVCache(model.config.n_layer))
    model.blocks[0].mlp.up.weight.mul_(1.5)
    after = model(idx[:, :6], KVCache(model.config.n_layer))
    assert not torch.allclose(before, after, atol=ATOL)
    assert torch.allclose(after, model(idx[:, :6]), atol=ATOL)


@torch.no_grad()
@pytest.mark.parametrize("ragged", [False, True])
def test_the_hidden_states_wanted_are_those_of_the_whole_pass(ragged: bool) -> None:
    """With ``wanted`` the numpy step runs the last layer for those tokens alone: their hidden
    states, and every key and value the cache keeps, are the whole pass's."""
    import numpy as np

    from models.net.step import NumpyStep

    model = tiny_gpt()
    step = NumpyStep(model)
    ids = tokens(2, 24, seed=5).numpy()
    lengths = np.array([24, 17]) if ragged else None
    caches = []
    for _ in range(2):
        cache = KVCache(model.config.n_layer)
        step.hidden(tokens(2, 9, seed=6).numpy(), None, cache)
        cache.pos = 9
        if ragged:
            cache.make_ragged(2)
        caches.append(cache)
    wanted = np.array([23, 40, 40, 3]) if ragged else np.array([23, 47, 5])
    whole = step.hidden(ids, lengths, caches[0])
    some = step.hidden(ids, lengths, caches[1], wanted)
    np.testing.assert_allclose(some, whole[wanted], atol=1e-5)
    for layer in range(model.config.n_layer):
        for kept, read in zip(caches[1].arrays(layer), caches[0].arrays(layer), strict=True):
            np.testing.assert_array_equal(kept, read)
