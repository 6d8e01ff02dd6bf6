"""A fused decode step in numba beside the numpy step (not a timed test, and not a serving
path): one row reading one token with a warm cache, the whole layer stack in one compiled
call, from the same folded weights (models/net/step.py). It measures what compiling the
step would buy; numba is not a dependency (pip install numba). Why it is not served:
docs/decoding-speed.md.

    nice -n 10 .venv/bin/python bench/bench_fused.py [--reps 500] [--fill 200]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_step import warm_cache  # noqa: E402

from models.interface import load_composer  # noqa: E402
from models.net.step import EPS, NumpyStep  # noqa: E402

try:
    from numba import njit
except ImportError:
    raise SystemExit("numba is not installed: pip install numba") from None


@njit(cache=False, fastmath=False)
def _normalized(x: np.ndarray) -> np.ndarray:
    mean = x.mean()
    var = ((x - mean) ** 2).mean()
    return ((x - mean) / np.sqrt(var + EPS)).astype(np.float32)


@njit(cache=False, fastmath=False)
def _matvec(x: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    for i in range(w.shape[0]):
        xi = x[i]
        for j in range(w.shape[1]):
            out[j] += xi * w[i, j]


@njit(cache=False, fastmath=False)
def fused_step(token, slot, rope_pos, wte, qkv, qkv_b, proj, up, up_b, down, head, head_b, k, v, cos, sin, H):
    """One token of one row: every layer, then the logits. k, v: (L, H, S, D)."""
    L, C = qkv.shape[0], qkv.shape[1]
    D = C // H
    x = wte[token].copy()
    for layer in range(L):
        q = qkv_b[layer].copy()
        _matvec(_normalized(x), qkv[layer], q)
        for part in range(2):  # RoPE on queries and keys
            for h in range(H):
                base = part * C + h * D
                for i in range(0, D, 2):
                    a, b = q[base + i], q[base + i + 1]
                    q[base + i] = a * cos[rope_pos, i] + b * sin[rope_pos, i]
                    q[base + i + 1] = b * cos[rope_pos, i + 1] + a * sin[rope_pos, i + 1]
        for h in range(H):
            k[layer, h, slot] = q[C + h * D:C + (h + 1) * D]
            v[layer, h, slot] = q[2 * C + h * D:2 * C + (h + 1) * D]
        y = np.zeros(C, np.float32)
        for h in range(H):
            scores = np.empty(slot + 1, np.float32)
            for s in range(slot + 1):
                acc = np.float32(0.0)
                for i in range(D):
                    acc += q[h * D + i] * k[layer, h, s, i]
                scores[s] = acc
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
            for s in range(slot + 1):
                for i in range(D):
                    y[h * D + i] += scores[s] * v[layer, h, s, i]
        _matvec(y, proj[layer], x)
        hidden = up_b[layer].copy()
        _matvec(_normalized(x), up[layer], hidden)
        for i in range(hidden.shape[0]):
            hidden[i] = 0.5 * hidden[i] * (1.0 + math.erf(hidden[i] / math.sqrt(2.0)))
        _matvec(hidden, down[layer], x)
    logits = head_b.copy()
    _matvec(_normalized(x), head, logits)
    return logits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--fill", type=int, default=200)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    model = load_composer(None, "cpu").model
    step = NumpyStep(model)
    with torch.inference_mode():
        cache = warm_cache(model, 1, args.fill)
    stack = lambda name: np.stack([getattr(w, name) for w in step.layers])  # noqa: E731
    weights = [stack(n) for n in ("qkv", "qkv_bias", "proj", "up", "up_bias", "down")]
    k = np.stack([cache.arrays(i)[0][0] for i in range(model.config.n_layer)])  # (L, H, S, D)
    v = np.stack([cache.arrays(i)[1][0] for i in range(model.config.n_layer)])
    cos, sin = step._rope(np.arange(args.fill + 1))
    cos, sin = np.ascontiguousarray(cos[:, 0]), np.ascontiguousarray(sin[:, 0])
    token = 5

    def fused() -> np.ndarray:
        return fused_step(token, args.fill, args.fill, step.wte, *weights, step.head, step.head_bias, k, v, cos, sin, step.H)

    def plain() -> np.ndarray:  # hidden() leaves cache.pos where it was: every call reads the same slot
        return step.logits(step.hidden(np.array([[token]]), None, cache))

    started = time.perf_counter()
    first = fused()
    compile_s = time.perf_counter() - started
    gap = float(np.abs(first - plain()[0]).max())
    times: dict[str, list[float]] = {"numpy step": [], "numba fused": []}
    for _ in range(args.reps):
        for name, fn in (("numpy step", plain), ("numba fused", fused)):
            started = time.thread_time()
            fn()
            times[name].append(time.thread_time() - started)
    ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
    print(f"one row, one token, cache at {args.fill}: median CPU ms of {args.reps} interleaved runs")
    print(f"{'numpy step':>12}{'numba fused':>13}{'ratio':>8}")
    print(f"{ms['numpy step']:>12.3f}{ms['numba fused']:>13.3f}{ms['numpy step'] / ms['numba fused']:>7.2f}x")
    print(f"numba compile (first call): {compile_s:.2f} s; largest logit difference {gap:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
