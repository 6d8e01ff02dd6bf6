"""The fused decode step (models/net/fused_step.py, numba) beside the numpy step it replaces
(not a timed test): one step at 1, 3 and 8 tokens per row for 1 and 3 rows, then whole
requests in-process through ``models.interface.load_composer``, with the ratio of each.

Both ways are measured interleaved (A, B, A, B, ...), each figure the median of the calling
thread's CPU time (time.thread_time: waiting for a core on a busy machine does not count). In
the step table both run on the same weight arrays (the fused step is a numpy step whose
forward pass is compiled; ``NumpyStep.hidden`` on it is the numpy step's), so interleaving
does not double what the caches must hold; each has its own KV cache. Requests say whether
both ways wrote the same notes for the same seed (they may differ only where float rounding
tips a draw). A pass of more than ``MOST_TOKENS`` tokens is the numpy step's either way
(3 x 8 here).

    nice -n 10 .venv/bin/python bench/bench_fused.py [--reps 300] [--fill 200] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import melody_clip  # noqa: E402
from bench_ops import groove  # noqa: E402
from bench_step import warm_cache  # noqa: E402

from bridge.protocol import REQUEST_ADAPTER  # noqa: E402
from bridge.serve.convert import request_to_task  # noqa: E402
from models.interface import load_composer  # noqa: E402
from models.net import fused_step  # noqa: E402
from models.net.fused_step import FusedStep  # noqa: E402
from models.net.step import NumpyStep  # noqa: E402
from models.net.transformer import GPT, KVCache  # noqa: E402

SHAPES = [(1, 1), (1, 3), (1, 8), (3, 1), (3, 3), (3, 8)]  # (rows, tokens per row)
WAYS = ("numpy", "fused")
REQUESTS: dict[str, dict[str, Any]] = {
    "drums, 4 bars": {"op": "drums", "bars": 4, "style": "rock", "tempo": 100.0},
    "fill": {"op": "fill", "clip": groove(4)},
    "chorale, 8 bars, 4 candidates": {"op": "harmonize", "clip": melody_clip(), "style": "chorale", "candidates": 4},
}


class NumpyOnSharedWeights:
    """The numpy step's forward pass over the fused step's weight arrays."""

    def __init__(self, fused: FusedStep) -> None:
        self.fused = fused

    def hidden(self, ids: np.ndarray, lengths: np.ndarray | None, cache: KVCache,
               wanted: np.ndarray | None = None) -> np.ndarray:
        return NumpyStep.hidden(self.fused, ids, lengths, cache, wanted)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return NumpyStep.logits(self.fused, x)


def step_time(model: GPT, step: Any, cache: KVCache, ids: np.ndarray, lengths: np.ndarray) -> float:
    """CPU seconds of one pass as forward_rows serves it (hidden states, each row's logits);
    the cache is then put back where it was."""
    picks = np.maximum(np.cumsum(lengths) - 1, 0)
    started = time.thread_time()
    model._step_rows(step, ids, lengths, cache, picks)
    spent = time.thread_time() - started
    assert cache.row_pos is not None
    cache.row_pos -= torch.from_numpy(lengths)
    cache.pos = int(cache.row_pos.max())
    return spent


def steps(model: GPT, reps: int, fill: int) -> None:
    fused = FusedStep(model)
    ways = {"numpy": NumpyOnSharedWeights(fused), "fused": fused}
    print(f"one decode step, cache at {fill} positions, median CPU ms of {reps} interleaved runs")
    print(f"{'rows x tokens':<15}{'numpy':>9}{'fused':>9}{'ratio':>8}")
    rng = np.random.default_rng(0)
    for rows, tokens in SHAPES:
        caches = {w: warm_cache(model, rows, fill) for w in WAYS}
        for cache in caches.values():
            cache.make_ragged(rows, torch.device("cpu"))
        ids = rng.integers(0, model.config.vocab_size, (rows, tokens))
        lengths = np.full(rows, tokens)
        times: dict[str, list[float]] = {w: [] for w in WAYS}
        for _ in range(reps):
            for way in WAYS:
                times[way].append(step_time(model, ways[way], caches[way], ids, lengths))
        ms = {w: statistics.median(t) * 1000 for w, t in times.items()}
        print(f"{f'{rows} x {tokens}':<15}{ms['numpy']:>9.3f}{ms['fused']:>9.3f}{ms['numpy'] / ms['fused']:>7.2f}x")


def requests(composer: Any, runs: int) -> None:
    model: GPT = composer.model
    print(f"\nrequests in-process, median of {runs} interleaved runs (seeds 0..{runs - 1}); CPU ms of the calling thread")
    print(f"{'request':<31}{'numpy':>8}{'fused':>8}{'ratio':>8}  same notes")
    try:
        for label, fields in REQUESTS.items():
            request = REQUEST_ADAPTER.validate_python({"v": 1, "id": "f", **fields})
            times: dict[str, list[float]] = {w: [] for w in WAYS}
            same = 0
            for seed in range(-1, runs):  # -1 warms up
                notes = {}
                for way in WAYS:
                    model.decode_path = way
                    model._serving_step()  # built outside the timing
                    started = time.thread_time()
                    out = composer.run(request_to_task(request, max(seed, 0)))
                    if seed >= 0:
                        times[way].append(time.thread_time() - started)
                    notes[way] = [[p.notes for p in c] for c in out]
                same += seed >= 0 and notes["numpy"] == notes["fused"]
            ms = {w: statistics.median(t) * 1000 for w, t in times.items()}
            print(f"{label:<31}{ms['numpy']:>8.0f}{ms['fused']:>8.0f}"
                  f"{ms['numpy'] / ms['fused']:>7.2f}x  {same}/{runs}")
    finally:
        model.decode_path = GPT.decode_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--fill", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--weights", type=Path)
    args = parser.parse_args()
    if not fused_step.available():
        raise SystemExit('numba is not installed: pip install -e ".[fast]"')
    torch.set_flush_denormal(True)  # as the composer decodes
    started = time.process_time()
    fused_step.compile_kernels()
    print(f"fused kernels compiled or loaded from numba's cache: {time.process_time() - started:.2f} s of CPU")
    composer = load_composer(args.weights, "cpu")
    with torch.inference_mode():
        steps(composer.model, args.reps, args.fill)
    requests(composer, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
