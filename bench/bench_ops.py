"""Speed of the drum, vary, continue and restyle ops through the engine (not a timed test).

An in-process engine (bridge.serve.server.running_engine) serves the model; a client sends each
request over ZeroMQ and the round trip is timed, p50 and p90 over several seeds:
  - fill: the last bar of a 4-bar groove, 1 candidate            (goal: p50 < 0.3 s)
  - drums: 4 bars of rock at 100 bpm, 1 candidate                (goal: < 1 s)
  - vary: 4 variations of an 8-bar melody, strength 0.5           (goal: < 2 s)
  - continue: 1 bar after the 4-bar groove, 1 candidate           (no goal: figures only)
  - restyle: the 4-bar groove as jazz, strength 0.5, 1 candidate  (no goal; decodes 2 rows)
  - restyle a melody: the 8-bar melody as a jig, strength 0.5     (no goal; written in 6/8, 2 rows)

    .venv/bin/python bench/bench_ops.py [--weights PATH] [--rounds N] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.client import Client  # noqa: E402
from bridge.serve.engine import ComposerSlot  # noqa: E402
from bridge.serve.server import running_engine  # noqa: E402
from tests.bridge.helpers import melody  # noqa: E402

GOALS = {"fill": 0.3, "drums": 1.0, "vary": 2.0}


def groove(bars: int = 4, accents: int = 0, softer: int | None = None) -> dict[str, Any]:
    """Eighth-note hats over kick and snare; ``accents``: a bit per hat of the first bar, those
    set played louder (another clip of the same shape and token count); ``softer``: the hats of
    that bar (from 0) played softer (the clip edited there)."""
    notes = []
    for bar in range(bars):
        for i in range(8):
            t = bar * 4 + i * 0.5
            loud = bar == 0 and accents >> i & 1
            velocity = 96 if loud else 56 if bar == softer else 80
            notes.append({"pitch": 42, "start": t, "duration": 0.25, "velocity": velocity, "channel": 9})
            if i % 4 == 0:
                notes.append({"pitch": 36, "start": t, "duration": 0.25, "velocity": 100, "channel": 9})
            if i % 4 == 2:
                notes.append({"pitch": 38, "start": t, "duration": 0.25, "velocity": 100, "channel": 9})
    return {"notes": notes, "length": bars * 4.0, "tempo": 100.0, "kind": "drums"}


REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {  # label: (op, fields)
    "fill": ("fill", {"clip": groove(4)}),
    "drums": ("drums", {"bars": 4, "style": "rock", "tempo": 100.0}),
    "vary": ("vary", {"clip": melody(8), "strength": 0.5, "candidates": 4}),
    "continue": ("continue", {"clip": groove(4), "bars": 1}),
    "restyle": ("restyle", {"clip": groove(4), "style": "jazz", "strength": 0.5}),
    "restyle-m": ("restyle", {"clip": melody(8), "style": "jig", "strength": 0.5}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="model weights (default: the shipped model)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: the engine's choice)")
    args = parser.parse_args()
    slot = ComposerSlot.from_weights(args.weights, "cpu")
    with running_engine("tcp://127.0.0.1:*", slot=slot) as server, Client(str(server.address)) as client:
        if args.threads:
            import torch

            client.request("info")
            torch.set_num_threads(args.threads)
        for op, fields in REQUESTS.values():
            client.request(op, seed=999, **fields)  # warm up: load the model, fill caches
        print(f"model {client.request('info').get('model')}, {args.rounds} rounds per op, seconds per request")
        print(f"{'op':<10}{'p50':>8}{'p90':>8}{'goal':>8}  ok")
        for label, (op, fields) in REQUESTS.items():
            times = []
            for seed in range(args.rounds):
                started = time.perf_counter()
                client.request(op, seed=seed, **fields)
                times.append(time.perf_counter() - started)
            times.sort()
            p50, p90 = statistics.median(times), times[min(len(times) - 1, int(0.9 * len(times)))]
            goal = GOALS.get(label)
            verdict = "-" if goal is None else "yes" if p50 < goal else "NO"
            print(f"{label:<10}{p50:>8.3f}{p90:>8.3f}{'' if goal is None else f'{goal:.1f}':>8}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
