"""The fused decode step (models/net/fused_step.py) against the numpy step it replaces: the same
hidden states, logits and cache contents (to float rounding) over ragged rows, several tokens
per row and an existing cache, on a tiny random model and the shipped one; the same seeded
tokens in a decode; and without numba the numpy step serves, as before."""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from models.decoding.decoding import DecodeJob, Sampler, decode, decode_many
from models.interface import load_composer
from models.net import fused_step
from models.net import vocab as V
from models.net.step import NumpyStep
from models.net.transformer import GPT, KVCache
from models.ops.harmonize import plan_harmony
from models.representation import Note, Part
from tests.models.conftest import tiny_gpt

pytestmark = pytest.mark.usefixtures("one_thread")
needs_numba = pytest.mark.skipif(not fused_step.available(), reason="numba is not installed (the fast extra)")
if fused_step.available():
    # compiled while the tests are collected: a session's first pause in decoding would load
    # numba in the background otherwise, holding the interpreter's lock for stretches of
    # about 0.1 s in whatever test runs then (the real-time port tests allow 30 ms)
    fused_step.compile_kernels()
ATOL = 2e-5

# (row lengths) of each pass: a long first read (more than MOST_TOKENS: the numpy step's own
# products), then ragged passes of one to several tokens per row, a row reading nothing, and
# another long read between them (the numpy step's, which writes the fused step's keys laid out
# by dimension too)
PASSES = [[9, 7, 8], [1, 1, 1], [3, 1, 2], [1, 4, 0], [5, 6, 4], [2, 2, 2], [1, 1, 1], [4, 4, 4]]


def tokens(batch: int, length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, len(V.VOCAB), (batch, length))


def read(step: NumpyStep, ids: np.ndarray, lengths: np.ndarray, cache: KVCache) -> np.ndarray:
    """One pass of the step on a ragged cache; moves the rows' positions on as the model does."""
    cache.make_ragged(ids.shape[0])
    assert cache.row_pos is not None
    x = step.hidden(ids, lengths, cache)
    cache.row_pos += torch.from_numpy(lengths)
    cache.pos = int(cache.row_pos.max())
    return x


def compare_on(model: GPT, passes: list[list[int]], seed: int) -> None:
    """Every pass, the numpy step and the fused step on caches that start equal: hidden states,
    logits and every key and value written agree."""
    numpy_step, fused = NumpyStep(model), fused_step.FusedStep(model)
    caches = [KVCache(model.config.n_layer) for _ in range(2)]
    rows = len(passes[0])
    ids = tokens(rows, sum(max(p) for p in passes), seed)
    done = 0
    with torch.inference_mode():
        for lengths in passes:
            width = max(lengths)
            feed = ids[:, done:done + width].copy()
            done += width
            x = [read(step, feed, np.array(lengths), cache) for step, cache in zip((numpy_step, fused), caches, strict=True)]
            assert x[0].shape == x[1].shape == (sum(lengths), model.config.n_embd)
            np.testing.assert_allclose(x[1], x[0], atol=ATOL, rtol=1e-5)
            np.testing.assert_allclose(fused.logits(x[1]), numpy_step.logits(x[0]), atol=ATOL, rtol=1e-5)
            for layer in range(model.config.n_layer):
                for a, b in zip(caches[0].arrays(layer), caches[1].arrays(layer), strict=True):
                    np.testing.assert_allclose(b, a, atol=ATOL, rtol=1e-5)
            by_dim = caches[1].keys_by_dim  # made by the first fused pass, then kept current by both steps
            if by_dim is not None:
                assert caches[1].keys_by_dim_edits == caches[1].edits
                for layer in range(model.config.n_layer):
                    np.testing.assert_array_equal(by_dim[layer], caches[1].arrays(layer)[0].transpose(0, 1, 3, 2))


@needs_numba
def test_ready_compiles_in_the_background_at_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh process's first ``ready()`` is False and starts a thread that compiles the
    kernels once the decoding has paused for ``IDLE_S``; then ``ready()`` is True."""
    monkeypatch.setattr(fused_step, "_compiled", threading.Event())
    monkeypatch.setattr(fused_step, "_compiling", [])
    monkeypatch.setattr(fused_step, "IDLE_S", 0.3)
    asked = time.monotonic()
    assert not fused_step.ready()
    assert fused_step._compiled.wait(timeout=240)
    assert time.monotonic() - asked >= 0.3 and fused_step.ready()


@needs_numba
def test_draws_on_the_torch_path_start_the_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The torch path (a GPU) never asks for the fused step, but its draws run on the host:
    a draw asks for the kernels, so they compile at a pause there too, and the same draw
    follows."""
    from models.decoding.decoding import Sampler

    monkeypatch.setattr(fused_step, "_compiled", threading.Event())
    monkeypatch.setattr(fused_step, "_compiling", [])
    monkeypatch.setattr(fused_step, "IDLE_S", 0.3)
    logits = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    allowed = list(range(3, 40, 2))
    before = [Sampler(seed=s).pick(logits, allowed) for s in range(20)]
    assert fused_step._compiling and fused_step._compiled.wait(timeout=240)
    assert [Sampler(seed=s).pick(logits, allowed) for s in range(20)] == before


@needs_numba
def test_the_fused_step_equals_the_numpy_step_on_a_tiny_model() -> None:
    compare_on(tiny_gpt(), PASSES, seed=1)


def half_gpt() -> GPT:
    """The tiny model with every weight rounded to float16, as the shipped checkpoint stores it."""
    model = tiny_gpt()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


@needs_numba
def test_a_model_of_float16_weights_is_read_from_float16_copies() -> None:
    assert fused_step.FusedStep(half_gpt()).half
    assert not fused_step.FusedStep(tiny_gpt()).half  # float32 weights: read as they are
    compare_on(half_gpt(), PASSES, seed=4)


@needs_numba
def test_every_float16_value_is_widened_exactly() -> None:
    """Each finite float16 (subnormals, both zeros) comes out of the product as its own value."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    finite = bits[np.isfinite(bits.view(np.float16))].reshape(-1, 8)  # (M, K): 63,488 values
    out = np.zeros((8, finite.shape[0]), np.float32)
    fused_step._add_product(np.eye(8, dtype=np.float32), finite, out)
    np.testing.assert_array_equal(out, finite.view(np.float16).astype(np.float32).T)


@needs_numba
@pytest.mark.parametrize(("rows", "width", "half"), [(16, 64, True), (13, 192, True), (480, 192, True), (24, 768, False), (5, 7, False)])
def test_a_lone_token_sums_as_it_does_beside_others(rows: int, width: int, half: bool) -> None:
    """Tokens go in pairs, a lone one through its own loop, one pair through another: a token's
    outputs do not depend on the pass, to the bit (weights as float16 bits or float32, rows not
    a multiple of 8)."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((5, width)).astype(np.float32)
    w = rng.standard_normal((rows, width)).astype(np.float32)
    if half:
        w = w.astype(np.float16).view(np.uint16)
    alone = np.zeros((1, rows), np.float32)
    fused_step._add_product(a[1:2], w, alone)
    for tokens in (2, 3, 4, 5):  # one pair (and a lone one), then pairs sharing their widened rows
        together = np.zeros((tokens, rows), np.float32)
        fused_step._add_product(a[:tokens], w, together)
        np.testing.assert_array_equal(alone[0], together[1])


@needs_numba
def test_gelu_is_the_exact_erf_gelu_to_float_rounding() -> None:
    """The kernel's erf is a polynomial that vectorises (Abramowitz and Stegun 7.1.26): within
    2e-7 of the exact GELU per unit of input, far into both tails, and exact at 0."""
    x = np.concatenate([np.linspace(-12, 12, 24001), [0.0, -0.0, 1e-30, -1e-30, 80.0, -80.0]]).astype(np.float32)
    out = x.reshape(1, -1).copy()
    fused_step._gelu(out)
    exact = np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.astype(np.float64)])
    assert np.all(np.abs(out[0] - exact) <= 2e-7 * np.maximum(1.0, np.abs(x)))
    assert np.all(out[0][x == 0] == 0)


@needs_numba
def test_a_reordered_cache_keeps_its_keys_laid_out_by_dimension() -> None:
    """Candidates that finish leave the batch (``KVCache.select``): the fused step's copy of
    the keys follows, so the next pass need not lay them out again."""
    model = half_gpt()
    fused = fused_step.FusedStep(model)
    cache = KVCache(model.config.n_layer)
    read(fused, tokens(3, 5), np.array([5, 3, 4]), cache)
    cache.select(torch.tensor([2, 0]))
    assert cache.keys_by_dim is not None and cache.keys_by_dim_edits == cache.edits
    for layer in range(model.config.n_layer):
        np.testing.assert_array_equal(cache.keys_by_dim[layer], cache.arrays(layer)[0].transpose(0, 1, 3, 2))


@needs_numba
def test_the_fused_step_equals_the_numpy_step_on_the_shipped_model() -> None:
    model = load_composer(None, "cpu").model
    assert fused_step.FusedStep(model).half  # the shipped weights are float16
    compare_on(model, PASSES, seed=2)


@needs_numba
@torch.no_grad()
def test_every_row_at_the_same_position_and_a_rolled_cache() -> None:
    """Rows without lengths of their own (the cache's one position), then a roll: RoPE
    positions run ``shift`` ahead of the slots."""
    model, ids = tiny_gpt(), tokens(2, 30, seed=3)
    out = {}
    for path in ("numpy", "fused"):
        fused_step.compile_kernels()
        model.decode_path = path
        cache = KVCache(model.config.n_layer)
        logits = [model(torch.from_numpy(ids[:, :20]), cache)]
        model.roll(cache, 3, 10)
        logits += [model(torch.from_numpy(ids[:, i:i + 1]), cache) for i in range(20, 24)]
        logits.append(model(torch.from_numpy(ids[:, 24:27]), cache))
        out[path] = torch.cat(logits, dim=1)
    assert torch.allclose(out["fused"], out["numpy"], atol=ATOL)


@needs_numba
def test_the_model_serves_from_the_fused_step_once_compiled() -> None:
    fused_step.compile_kernels()
    model = tiny_gpt()
    assert fused_step.ready() and type(model._serving_step()) is fused_step.FusedStep
    model.decode_path = "numpy"
    assert type(model._serving_step()) is NumpyStep


def _melody(bars: int, base: int = 64) -> Part:
    steps = (0, 2, 4, 5, 7, 5, 4, 2)
    notes = tuple(Note(base + steps[i % 8], float(i), 1.0, 90) for i in range(bars * 4))
    return Part(notes, float(bars * 4), (4, 4), 100.0, "C major", kind="melody")


@needs_numba
@pytest.mark.parametrize("make", [tiny_gpt, half_gpt], ids=["float32", "float16"])
def test_a_decode_gives_the_same_tokens_on_either_step(monkeypatch: pytest.MonkeyPatch, make: Callable[[], GPT]) -> None:
    fused_step.compile_kernels()
    model = make()
    requests = [(_melody(2), "chorale", 2, 11), (_melody(2, 60), "bass", 1, 7)]
    plans = [plan_harmony(m, style, None, None).plan for m, style, _, _ in requests]
    out = {}
    for path in ("numpy", "fused"):
        monkeypatch.setattr(GPT, "decode_path", path)
        out[path] = (decode_many(model, [DecodeJob(plan, rows, Sampler(temperature=1.0, seed=seed))
                                         for plan, (_, _, rows, seed) in zip(plans, requests, strict=True)]),
                     decode(model, plans[0], 1, Sampler(seed=5)))
    assert out["fused"] == out["numpy"]


def test_without_numba_the_numpy_step_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    model = tiny_gpt()
    assert not fused_step.available() and not fused_step.ready()
    assert model.decode_path == "fused" and type(model._serving_step()) is NumpyStep
    ids = torch.from_numpy(tokens(2, 5, seed=4))
    with torch.no_grad():
        assert torch.allclose(model(ids, KVCache(model.config.n_layer)), model(ids), atol=1e-5)
