"""The Sampler (models/decoding/decoding.py): seeded, drawing from the distribution it
promises (softmax of the tempered, biased logits of the allowed ids, cut to the nucleus), and
making the choices a seed made when sampling was torch throughout; in numpy and compiled
(models/net/fused_step.py ``draw``, once the kernels are) alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.decoding.decoding import Sampler
from models.net import fused_step

DRAWS = 20_000
PATHS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    not fused_step.available(), reason="numba is not installed (the fast extra)"))]


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test on the numpy draw and on the compiled one."""
    if request.param == "compiled":
        fused_step.compile_kernels()
    monkeypatch.setattr(fused_step, "compiled", lambda: request.param == "compiled")
    return str(request.param)


def expected(logits: np.ndarray, allowed: list[int], temperature: float, top_p: float,
             bias: list[float] | None = None) -> dict[int, float]:
    """The promised probability of each allowed id, written out plainly."""
    weights = {t: float(np.exp(logits[t] / temperature + (bias[i] if bias else 0.0))) for i, t in enumerate(allowed)}
    total = sum(weights.values())
    kept, mass = {}, 0.0
    for t, w in sorted(weights.items(), key=lambda item: -item[1]):
        if mass >= top_p:
            break
        kept[t] = w / total
        mass += w / total
    return {t: p / mass for t, p in kept.items()}


@pytest.mark.parametrize(("temperature", "top_p", "with_bias"), [(1.0, 1.0, False), (0.8, 0.9, False), (1.3, 0.95, True)])
def test_draws_follow_the_promised_distribution(path: str, temperature: float, top_p: float, with_bias: bool) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=64).astype(np.float32)
    allowed = list(range(10, 22))
    bias = list(rng.normal(size=len(allowed))) if with_bias else None
    sampler = Sampler(temperature=temperature, top_p=top_p, seed=3)
    counts = np.bincount([sampler.pick(logits, allowed, bias) for _ in range(DRAWS)], minlength=64)
    want = expected(logits, allowed, temperature, top_p, bias)
    assert set(np.nonzero(counts)[0]) <= set(want)
    for token, p in want.items():
        assert abs(counts[token] / DRAWS - p) < 4 * np.sqrt(p * (1 - p) / DRAWS) + 1e-3


def test_same_seed_same_draws_from_numpy_or_torch_rows(path: str) -> None:
    logits = torch.randn(80, generator=torch.Generator().manual_seed(1))
    allowed = list(range(0, 80, 3))
    a, b = Sampler(seed=9), Sampler(seed=9)
    draws = [a.pick(logits, allowed) for _ in range(200)]
    assert draws == [b.pick(logits.numpy(), allowed) for _ in range(200)]
    other = Sampler(seed=10)
    assert draws != [other.pick(logits, allowed) for _ in range(200)]


def torch_pick(sampler: Sampler, logits: torch.Tensor, allowed: list[int], bias: list[float] | None) -> int:
    """The sampler as it was written in torch (softmax, sorted nucleus, torch.multinomial)."""
    sub = logits.index_select(0, torch.tensor(allowed)).float() / max(sampler.temperature, 1e-3)
    if bias is not None:
        sub = sub + torch.tensor(bias)
    probs = torch.softmax(sub, dim=0)
    if sampler.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < sampler.top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
    return allowed[int(torch.multinomial(probs, 1, generator=sampler.generator).item())]


def test_a_seed_makes_the_choices_torch_sampling_made(path: str) -> None:
    rng = np.random.default_rng(0)
    for case in range(60):
        n = int(rng.integers(2, 60))
        logits = torch.from_numpy(rng.normal(size=200).astype(np.float32) * float(rng.uniform(0.5, 4)))
        allowed = sorted(rng.choice(200, n, replace=False).tolist())
        bias = list(rng.normal(size=n)) if case % 3 == 0 else None
        settings = {"temperature": float(rng.choice([0.7, 1.0, 1.3])), "top_p": float(rng.choice([0.8, 0.95, 1.0]))}
        ours, theirs = Sampler(seed=case, **settings), Sampler(seed=case, **settings)
        assert ([ours.pick(logits.numpy(), allowed, bias) for _ in range(10)]
                == [torch_pick(theirs, logits, allowed, bias) for _ in range(10)])


@pytest.mark.skipif(not fused_step.available(), reason="numba is not installed (the fast extra)")
def test_the_compiled_draw_makes_the_numpy_draws_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw for draw over random rows, allowed sets, biases, temperatures and nuclei."""
    fused_step.compile_kernels()
    rng = np.random.default_rng(1)
    draws = {}
    cases = []
    for case in range(3000):
        n = int(rng.integers(2, 60))
        logits = (rng.normal(size=480) * rng.uniform(0.5, 6)).astype(np.float32)
        allowed = sorted(rng.choice(480, n, replace=False).tolist())
        bias = list(rng.normal(size=n)) if case % 2 else None
        cases.append((logits, allowed, bias, float(rng.choice([0.7, 1.0, 1.2])), float(rng.choice([0.9, 0.95, 1.0]))))
    for compiled in (False, True):
        monkeypatch.setattr(fused_step, "compiled", lambda compiled=compiled: compiled)
        draws[compiled] = [Sampler(temperature, top_p, seed=i).pick(logits, allowed, bias)
                           for i, (logits, allowed, bias, temperature, top_p) in enumerate(cases)]
    assert draws[True] == draws[False]
