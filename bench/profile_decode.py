"""Where one request's time goes, in-process through ``models.interface.load_composer`` (not a
timed test): forward passes, ``Sampler.pick`` and the constraints (``_Row.allowed``, ``bias``,
``accept``), for an 8-bar chorale with 1 candidate and 4 bars of drums.

    nice -n 10 .venv/bin/python bench/profile_decode.py [--runs 5] [--weights PATH]

Each part is timed by wrapping it; the rest (planning, tokens back to parts, the decode loop
itself) is shown as "other". Both decode paths (GPT.decode_path "torch" and "numpy") are
measured, interleaved run by run, and printed side by side.
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

PATHS = ("torch", "numpy")

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
        walls: dict[str, list[float]] = {p: [] for p in PATHS}
        shares: dict[str, dict[str, list[tuple[float, int]]]] = {p: defaultdict(list) for p in PATHS}
        for seed in range(-1, args.runs):  # -1 warms up
            for path in PATHS:
                GPT.decode_path = path
                totals.clear()
                started = time.perf_counter()
                composer.run(request_to_task(request, max(seed, 0)))
                if seed >= 0:
                    walls[path].append(time.perf_counter() - started)
                    for part, times in totals.items():
                        shares[path][part].append((sum(times), len(times)))
        print(f"{label}: median of {args.runs} interleaved runs per path")
        print(f"  {'part':<14}" + "".join(f"{p + ' ms':>12}{'calls':>7}{'us/call':>9}" for p in PATHS) + f"{'ratio':>8}")
        for part in [*sorted(shares[PATHS[0]]), "total"]:
            row, ms = [], []
            for path in PATHS:
                if part == "total":
                    ms.append(statistics.median(walls[path]) * 1000)
                    row.append(f"{ms[-1]:>12.1f}{'':>7}{'':>9}")
                    continue
                values = shares[path][part]
                ms.append(statistics.median(v[0] for v in values) * 1000)
                calls = statistics.median(v[1] for v in values)
                row.append(f"{ms[-1]:>12.1f}{calls:>7.0f}{ms[-1] * 1000 / max(calls, 1):>9.0f}")
            print(f"  {part:<14}" + "".join(row) + f"{ms[0] / max(ms[1], 1e-9):>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
