"""Reading on a guess, on and off, side by side (not a timed test): for each op, in-process
through ``models.interface.load_composer``, the forward passes a request takes, its CPU time
(the calling thread's, so other jobs on the machine count less) and whether both ways wrote the
same notes, interleaved run by run.

    nice -n 10 .venv/bin/python bench/bench_guesses.py [--runs 7] [--weights PATH]

Guesses (models/decoding/drafts.py) are choices a row reads ahead of its draws, taken from its
own tokens; the decoder checks each against the draw the row's sampler then makes and keeps
those that match, so the notes must come out the same ("same" column) in fewer passes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import melody_clip  # noqa: E402
from bench_ops import groove  # noqa: E402

from bridge.protocol import REQUEST_ADAPTER  # noqa: E402
from bridge.serve.convert import request_to_task  # noqa: E402
from models.decoding import decoding  # noqa: E402
from models.interface import load_composer  # noqa: E402
from models.net.transformer import GPT  # noqa: E402

REQUESTS: dict[str, dict[str, Any]] = {
    "drums, 4 bars": {"op": "drums", "bars": 4, "style": "rock", "tempo": 100.0},
    "drums, 8 bars of funk": {"op": "drums", "bars": 8, "style": "funk", "tempo": 100.0},
    "fill": {"op": "fill", "clip": groove(4)},
    "continue, 2 bars": {"op": "continue", "clip": groove(4), "bars": 2},
    "vary, 4 candidates": {"op": "vary", "clip": melody_clip(), "candidates": 4},
    "chorale, 4 candidates": {"op": "harmonize", "clip": melody_clip(), "style": "chorale", "candidates": 4},
    "restyle as a jig": {"op": "restyle", "clip": melody_clip(), "style": "jig"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--weights", type=Path)
    args = parser.parse_args()
    composer = load_composer(args.weights, "cpu")
    passes = [0]
    forward = GPT.forward_rows

    def counted(self: GPT, *a: Any, **k: Any) -> Any:
        passes[0] += 1
        return forward(self, *a, **k)

    GPT.forward_rows = counted  # type: ignore[method-assign]
    modes = {"off": 0, "on": decoding.GUESSES}
    print(f"median of {args.runs} interleaved runs (seeds 0..{args.runs - 1}); CPU ms of the calling thread")
    print(f"{'request':<24}{'passes off':>11}{'passes on':>10}{'ms off':>9}{'ms on':>8}{'ratio':>7}  same")
    for label, fields in REQUESTS.items():
        request = REQUEST_ADAPTER.validate_python({"v": 1, "id": "g", **fields})
        times: dict[str, list[float]] = {m: [] for m in modes}
        counts: dict[str, list[int]] = {m: [] for m in modes}
        same = 0
        for seed in range(-1, args.runs):  # -1 warms up
            notes = {}
            for mode, guesses in modes.items():
                decoding.GUESSES = guesses
                passes[0] = 0
                started = time.thread_time()
                out = composer.run(request_to_task(request, max(seed, 0)))
                if seed >= 0:
                    times[mode].append(time.thread_time() - started)
                    counts[mode].append(passes[0])
                notes[mode] = [[p.notes for p in c] for c in out]
            same += seed >= 0 and notes["off"] == notes["on"]
        ms = {m: statistics.median(times[m]) * 1000 for m in modes}
        print(f"{label:<24}{statistics.median(counts['off']):>11.0f}{statistics.median(counts['on']):>10.0f}"
              f"{ms['off']:>9.0f}{ms['on']:>8.0f}{ms['off'] / ms['on']:>6.2f}x  {same}/{args.runs}")
    decoding.GUESSES = modes["on"]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
