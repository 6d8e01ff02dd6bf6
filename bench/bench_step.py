"""One decode step with a warm cache, the torch path and the numpy path side by side (not a
timed test): the shipped model, cache filled to ``--fill`` positions, rows x tokens read per
row. The paths are measured interleaved (A, B, A, B, ...) and each figure is the median of
many repetitions of the calling thread's CPU time (time.thread_time: waiting for a core on a
busy machine does not count; everything runs on this one thread). The ratio is what to read.

    nice -n 10 .venv/bin/python bench/bench_step.py [--reps 300] [--fill 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.interface import load_composer  # noqa: E402
from models.net.transformer import GPT, KVCache  # noqa: E402

SHAPES = [(1, 1), (1, 2), (1, 3), (1, 4), (4, 1), (4, 3), (8, 3)]  # (rows, tokens per row)
PATHS = ("torch", "numpy")


def warm_cache(model: GPT, rows: int, fill: int) -> KVCache:
    cache = KVCache(model.config.n_layer, capacity=model.config.block_size)
    model(torch.randint(0, model.config.vocab_size, (1, fill)), cache)
    cache.select(torch.zeros(rows, dtype=torch.long))
    return cache


def step_time(model: GPT, path: str, cache: KVCache, idx: torch.Tensor, lengths: torch.Tensor) -> float:
    """CPU seconds of one forward_rows call; the cache is then put back where it was."""
    model.decode_path = path
    started = time.thread_time()
    model.forward_rows(idx, lengths, cache)
    spent = time.thread_time() - started
    if cache.row_pos is not None:
        cache.row_pos -= lengths
    cache.pos -= idx.shape[1]
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--fill", type=int, default=200)
    args = parser.parse_args()
    model = load_composer(None, "cpu").model
    print(f"one decode step, cache at {args.fill} positions, median CPU ms of {args.reps} interleaved runs")
    print(f"{'rows x tokens':<15}" + "".join(f"{p:>10}" for p in PATHS) + f"{'ratio':>9}")
    torch.set_flush_denormal(True)  # as the composer decodes
    with torch.inference_mode():
        for rows, tokens in SHAPES:
            times: dict[str, list[float]] = {p: [] for p in PATHS}
            caches = {p: warm_cache(model, rows, args.fill) for p in PATHS}
            idx = torch.randint(0, model.config.vocab_size, (rows, tokens))
            lengths = torch.full((rows,), tokens)
            if rows > 1 and tokens > 1:
                lengths[0] -= 1  # ragged, as candidates usually are
            for _ in range(args.reps):
                for path in PATHS:
                    times[path].append(step_time(model, path, caches[path], idx, lengths))
            ms = {p: statistics.median(t) * 1000 for p, t in times.items()}
            print(f"{f'{rows} x {tokens}':<15}" + "".join(f"{ms[p]:>10.3f}" for p in PATHS)
                  + f"{ms['torch'] / ms['numpy']:>9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
