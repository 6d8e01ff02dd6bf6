"""Where a first press of Fill spends its time, in-process (not a timed test): a fill of a clip
the model has not read before (bench_ops.py's groove with other accents each time), through
``models.interface.load_composer`` on the fused decode step when numba is installed.

Prints, over ``--fills`` fills:
  - the context read once before decoding (its tokens and CPU time);
  - the decoding passes by how many tokens each reads (count per fill and CPU time of one);
  - the rest (planning, sampling, guesses, tokens back to notes): the request's CPU time less
    the two above;
  - the request's CPU time with the fills back to back, after a 0.15 s sleep before each (as a
    producer's presses come, the core idle in between) and after 0.15 s of busy waiting before
    each (the core kept busy with other work), interleaved round by round.

    nice -n 10 .venv/bin/python bench/bench_first_press.py [--fills 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_ops import groove  # noqa: E402

from bridge.protocol import REQUEST_ADAPTER  # noqa: E402
from bridge.serve.convert import request_to_task  # noqa: E402
from models.interface import load_composer  # noqa: E402
from models.net import fused_step  # noqa: E402
from models.net.transformer import GPT  # noqa: E402

PAUSE_S = 0.15
WAYS = ("back to back", "after a sleep", "after busy waiting")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=60)
    args = parser.parse_args()
    composer = load_composer(device="cpu")
    if fused_step.available():
        fused_step.compile_kernels()
    requests = [REQUEST_ADAPTER.validate_python({"v": 1, "id": "b", "op": "fill", "clip": groove(4, accents=a)})
                for a in range(256)]
    for i in range(10):  # warm up on clips the runs below do not use
        composer.run(request_to_task(requests[255 - i], i))

    log: list[tuple[int, float]] = []  # (tokens read, CPU seconds) of every pass, in order
    forward_rows = GPT.forward_rows

    def timed(self: GPT, ids, lengths, cache, at=None):  # type: ignore[no-untyped-def]
        started = time.thread_time()
        try:
            return forward_rows(self, ids, lengths, cache, at)
        finally:
            log.append((int(lengths.sum()), time.thread_time() - started))

    GPT.forward_rows = timed  # type: ignore[method-assign]
    totals: dict[str, list[float]] = {way: [] for way in WAYS}
    leads: list[tuple[int, float]] = []
    passes: dict[int, list[float]] = defaultdict(list)
    for n in range(args.fills):
        for way in WAYS:
            if way == "after a sleep":
                time.sleep(PAUSE_S)
            elif way == "after busy waiting":
                end = time.perf_counter() + PAUSE_S
                while time.perf_counter() < end:
                    pass
            task = request_to_task(requests[(n * len(WAYS) + WAYS.index(way)) % 245], n)
            log.clear()
            started = time.thread_time()
            composer.run(task)
            totals[way].append(time.thread_time() - started)
            leads.append(log[0])  # the context read (the part not copied from a kept lead)
            for width, spent in log[1:]:
                passes[width].append(spent)
    GPT.forward_rows = forward_rows  # type: ignore[method-assign]

    fills = len(WAYS) * args.fills
    print(f"first-press fills, {args.fills} per way, CPU time of the decoding thread "
          f"({'fused' if fused_step.compiled() else 'numpy'} step)")
    print(f"context read before decoding: {statistics.median(w for w, _ in leads):.0f} tokens read "
          f"(the rest copied from a kept lead), {statistics.median(t for _, t in leads) * 1e3:.2f} ms")
    print(f"{'tokens':>8}{'per fill':>10}{'ms each':>9}")
    for width in sorted(passes):
        times = passes[width]
        print(f"{width:>8}{len(times) / fills:>10.2f}{statistics.median(times) * 1e3:>9.3f}")
    decoding = sum(sum(times) for times in passes.values()) / fills
    whole = statistics.mean(t for way in WAYS for t in totals[way])
    print(f"decoding passes {decoding * 1e3:.2f} ms per fill; the rest "
          f"{(whole - decoding - statistics.mean(t for _, t in leads)) * 1e3:.2f} ms")
    for way in WAYS:
        print(f"request {way:<20} p50 {statistics.median(totals[way]) * 1e3:6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
