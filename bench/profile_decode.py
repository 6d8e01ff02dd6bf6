"""Where one request's time goes, in-process through ``models.interface.load_composer`` (not a
timed test): forward passes, ``Sampler.pick`` and the constraints (``_Row.allowed``, ``bias``,
``accept``), for an 8-bar chorale with 1 candidate and 4 bars of drums.

    nice -n 10 .venv/bin/python bench/profile_decode.py [--runs 5] [--weights PATH]

Each part is timed by wrapping it; the rest (planning, tokens back to parts, the decode loop
itself) is shown as "other".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import melody_clip  # noqa: E402

from bridge.protocol import REQUEST_ADAPTER  # noqa: E402
from bridge.serve.convert import request_to_task  # noqa: E402
from models.decoding import decoding  # noqa: E402
from models.interface import load_composer  # noqa: E402
from models.net.transformer import GPT  # noqa: E402

REQUESTS = {
    "chorale 8 bars, 1 candidate": {"op": "harmonize", "clip": melody_clip(), "style": "chorale"},
    "drums 4 bars": {"op": "drums", "bars": 4, "style": "rock", "tempo": 100.0},
}
PARTS: list[tuple[str, Any, str]] = [  # label, owner, attribute
    ("forward", GPT, "forward_rows"),
    ("forward", GPT, "__call__"),
    ("Sampler.pick", decoding.Sampler, "pick"),
    ("constraints", decoding._Row, "allowed"),
    ("constraints", decoding._Row, "bias"),
    ("constraints", decoding._Row, "accept"),
]


def timed(totals: dict[str, list[float]], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label].append(time.perf_counter() - started)
    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--weights", type=Path)
    args = parser.parse_args()
    composer = load_composer(args.weights, "cpu")
    totals: dict[str, list[float]] = defaultdict(list)
    for label, owner, name in PARTS:
        setattr(owner, name, timed(totals, label, getattr(owner, name)))
    for label, fields in REQUESTS.items():
        request = REQUEST_ADAPTER.validate_python({"v": 1, "id": "p", **fields})
        composer.run(request_to_task(request, 999))  # warm up
        walls, shares = [], defaultdict(list)
        for seed in range(args.runs):
            totals.clear()
            started = time.perf_counter()
            composer.run(request_to_task(request, seed))
            wall = time.perf_counter() - started
            walls.append(wall)
            for part, times in totals.items():
                shares[part].append((sum(times), len(times)))
        wall = statistics.median(walls)
        print(f"{label}: p50 {wall * 1000:.0f} ms over {args.runs} runs")
        print(f"  {'part':<14}{'ms':>8}{'share':>8}{'calls':>8}{'us/call':>9}")
        spent = 0.0
        for part, values in shares.items():
            ms = statistics.median(v[0] for v in values) * 1000
            calls = statistics.median(v[1] for v in values)
            spent += ms
            print(f"  {part:<14}{ms:>8.1f}{ms / wall / 10:>7.0f}%{calls:>8.0f}{ms * 1000 / max(calls, 1):>9.0f}")
        print(f"  {'other':<14}{wall * 1000 - spent:>8.1f}{(wall * 1000 - spent) / wall / 10:>7.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
