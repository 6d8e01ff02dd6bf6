"""Benchmark of the studio server (not a timed test).

0. The model alone: N requests one by one vs in shared forward passes (``run_many``).
1. Batching: throughput and p50/p99 latency of seeded requests (`harmonize`, or `--op fill` or
   `drums`) at 1, 4, 16 and 64 concurrent clients, with batching on (shared forward passes) and off, in one run; prints the
   throughput ratio on/off. The model is the shipped one when present, else `--weights`, else a
   randomly initialised checkpoint of `--preset` (same compute as a trained one; the music is
   noise, which does not matter for timing).
2. The relay's added latency: `ping` and a small `harmonize` straight to the engine, and through
   a local relay forwarding over CURVE, p50/p99.

    .venv/bin/python bench/bench_studio.py [--quick] [--preset small] [--device cpu] [--op fill] [--bars 4]
        [--candidates 4] [--clients 4,16] [--no-relay]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_ops import groove  # noqa: E402

from bridge.client import Client  # noqa: E402
from bridge.serve.server import running_engine  # noqa: E402
from bridge.studio import keys  # noqa: E402
from bridge.studio.relay import running_relay  # noqa: E402
from models.net import fused_step  # noqa: E402
from tests.bridge.helpers import melody  # noqa: E402

STYLES = ("chords", "bass", "chorale")
DRUM_STYLES = ("rock", "funk", "pop")


def load_model(args: argparse.Namespace) -> Any:
    from models.interface import DEFAULT_WEIGHTS, ModelUnavailable, load_composer

    for weights in filter(None, (args.weights, DEFAULT_WEIGHTS)):
        try:
            composer = load_composer(weights, args.device)
            return composer, f"{composer.name} ({weights})"
        except ModelUnavailable:
            continue
    import torch

    from models.net import checkpoint
    from models.net.transformer import GPT, GPTConfig
    from models.training import PRESETS

    torch.manual_seed(0)
    stem = Path(tempfile.mkdtemp()) / "model"
    checkpoint.save(GPT(GPTConfig(**asdict(PRESETS[args.preset]))).eval(), stem, {"name": f"random-{args.preset}"})
    return load_composer(stem, args.device), f"random {args.preset} preset (no shipped weights yet)"


@dataclass(frozen=True)
class Load:
    """What every client asks for."""

    op: str = "harmonize"
    bars: int = 2
    candidates: int = 1

    def __str__(self) -> str:
        return f"{self.op}, {self.bars} bars, {self.candidates} candidate{'s' * (self.candidates > 1)}"

    def task(self, i: int) -> Any:
        """Request number ``i`` as the engine hands it to the model (``request_to_task``)."""
        from bridge.protocol import decode_request
        from bridge.serve.convert import request_to_task

        fields = {"v": 1, "id": str(i), "op": self.op, **self.request(i)}
        return request_to_task(decode_request(json.dumps(fields).encode()), i)

    def request(self, i: int) -> dict[str, Any]:
        """Request number ``i``'s fields: each its own clip (or style) and seed."""
        common = {"candidates": self.candidates, "seed": i}
        if self.op == "fill":
            return {"clip": groove(self.bars, accents=i % 256), **common}
        if self.op == "drums":
            return {"bars": self.bars, "style": DRUM_STYLES[i % 3], "tempo": 100.0, **common}
        return {"clip": melody(self.bars, base=60 + i % 7), "style": STYLES[i % 3], **common}


def load(address: str, clients: int, per_client: int, what: Load) -> tuple[float, list[float]]:
    """Closed loop: each client sends its next request when the last is answered."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        with Client(address, timeout=600.0) as client:
            for k in range(per_client):
                started = time.perf_counter()
                client.request(what.op, timeout=600.0, **what.request(index * 1000 + k))
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def decoding(composer: Any, what: Load) -> None:
    """The model alone, no transport: N requests one after another (``run``) vs together
    (``run_many``, bucketed shared forward passes)."""
    from models.composer import PLANNERS

    print(f"\n0. the model alone: N requests ({what}), run one by one vs run_many")
    sample = [what.task(i) for i in range(12)]
    plans = [PLANNERS[task.op](composer.model, task) for task in sample]
    rows = [task.sampling.candidates if ready is None else ready.rows for task, ready in zip(sample, plans, strict=True)]
    # rows made without decoding (a harmonize candidate voiced from a chord plan) share no pass
    print(f"candidate rows the model decodes per request: {statistics.mean(rows):.2f} (of {what.candidates})")
    # passes: the model's forward passes (a context read counts as one); host: the rest of the
    # time per request (planning, drawing, constraints, guesses, notes back), which a GPU's
    # cheap passes leave as what batching cannot share
    print("| N | one by one | run_many | speed-up | passes (one by one / run_many) "
          "| host per request (one by one / run_many) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    composer.run(what.task(999))  # a first request's one-off set-up
    clock = PassClock(composer.model)
    for n in (1, 4, 8, 16):
        tasks = [what.task(i) for i in range(n)]
        with clock.timing() as apart:
            alone = [composer.run(task) for task in tasks]
        with clock.timing() as shared:
            together = composer.run_many(tasks)
        same = "" if together == alone else " (results differ!)"
        print(f"| {n} | {apart.wall:.2f} s | {shared.wall:.2f} s | {apart.wall / shared.wall:.2f}x{same} "
              f"| {apart.passes} / {shared.passes} | {apart.host(n) * 1e3:.1f} / {shared.host(n) * 1e3:.1f} ms |",
              flush=True)
    clock.close()


@dataclass
class Timed:
    wall: float = 0.0
    passes: int = 0
    in_passes: float = 0.0

    def host(self, requests: int) -> float:
        return (self.wall - self.in_passes) / requests


class PassClock:
    """Times a model's forward passes (``forward_rows`` and ``read_lead``, the outermost call
    only; on CUDA waiting for the device inside the pass, as the decoder waits for its logits
    right after)."""

    TIMED = ("forward_rows", "read_lead")

    def __init__(self, model: Any) -> None:
        import torch

        self.timed: Timed | None = None
        self._depth = 0
        self._model = model
        cuda = next(model.parameters()).is_cuda
        for name in self.TIMED:
            bound = getattr(model, name)

            def timed(*args: Any, _bound: Any = bound, **kwargs: Any) -> Any:
                self._depth += 1
                started = time.perf_counter()
                try:
                    out = _bound(*args, **kwargs)
                    if cuda:
                        torch.cuda.synchronize()
                    return out
                finally:
                    self._depth -= 1
                    if self._depth == 0 and self.timed is not None:
                        self.timed.passes += 1
                        self.timed.in_passes += time.perf_counter() - started

            setattr(model, name, timed)

    def close(self) -> None:
        """The model's own methods back."""
        for name in self.TIMED:
            delattr(self._model, name)

    @contextmanager
    def timing(self) -> Iterator[Timed]:
        self.timed = timed = Timed()
        started = time.perf_counter()
        try:
            yield timed
        finally:
            timed.wall = time.perf_counter() - started
            self.timed = None


def batching(composer: Any, quick: bool, what: Load, counts: list[int]) -> None:
    print(f"\n1. batching: {what}, closed loop")
    print("| clients | requests | batching | req/s | p50 | p99 | mean batch | throughput on/off |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for clients in counts:
        per_client = max(1, (8 if quick else 24) // clients)
        rates = {}
        for batch in (1, 8):
            with running_engine(composer=composer, max_batch=batch, queue_size=128) as server:
                load(server.address, 1, 1, what)  # warm up
                wall, lat = load(server.address, clients, per_client, what)
                batches, batched = server.scheduler.batches, server.scheduler.batched
            n = len(lat)
            rates[batch] = n / wall
            mean_batch = batched / batches if batches else 1.0
            ratio = f"{rates[8] / rates[1]:.2f}x" if batch == 8 else ""
            print(f"| {clients} | {n} | {'on' if batch > 1 else 'off'} | {rates[batch]:.2f} | "
                  f"{pct(lat, 0.5) * 1000:.0f} ms | {pct(lat, 0.99) * 1000:.0f} ms | {mean_batch:.1f} | {ratio} |",
                  flush=True)


def relay_latency(composer: Any, quick: bool) -> None:
    rounds = 100 if quick else 400
    folder = Path(tempfile.mkdtemp())
    server_public, server_secret = keys.generate(folder, "server")
    client_public, client_secret = keys.generate(folder, "laptop")
    allowed = folder / "allowed"
    allowed.mkdir()
    (allowed / "laptop.key").write_bytes(client_public.read_bytes())
    print(f"\n2. relay: added latency over CURVE on loopback ({rounds} rounds each)")
    print("| op | direct p50 | direct p99 | via relay p50 | via relay p99 | added p50 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    server_keys = keys.ServerKeys.load(server_secret, allowed)
    with running_engine(composer=composer, keys=server_keys) as secured, running_engine(composer=composer) as plain, \
            running_relay(secured.address, keys.ClientKeys.load(server_public, client_secret)) as relay:
        for op, fields in (("ping", {}), ("harmonize", Load(bars=1).request(1))):
            figures = []
            for address in (plain.address, relay.address):
                with Client(address, timeout=60.0) as client:
                    client.request(op, **fields)  # connect, handshake
                    times = []
                    for _ in range(rounds if op == "ping" else rounds // 10):
                        started = time.perf_counter()
                        client.request(op, **fields)
                        times.append(time.perf_counter() - started)
                figures.append((statistics.median(times), pct(times, 0.99)))
            (d50, d99), (r50, r99) = figures
            print(f"| {op} | {d50 * 1000:.2f} ms | {d99 * 1000:.2f} ms | {r50 * 1000:.2f} ms | "
                  f"{r99 * 1000:.2f} ms | {(r50 - d50) * 1000:.2f} ms |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--weights", help="a trained model to use instead of the shipped one")
    parser.add_argument("--preset", default="small", help="random model preset when no weights are found")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--op", choices=("harmonize", "fill", "drums"), default="harmonize",
                        help="what every client asks for (fill: the last bar of a groove of --bars bars)")
    parser.add_argument("--bars", type=int, default=2, help="bars per request")
    parser.add_argument("--candidates", type=int, default=1,
                        help="candidates per request (with more, 8-bar ones are voiced from chord plans)")
    parser.add_argument("--clients", default="1,4,16,64",
                        help="client counts for the batching runs (comma-separated; empty: no batching runs)")
    parser.add_argument("--relay", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the relay's added latency too")
    args = parser.parse_args()
    composer, model = load_model(args)
    if composer.device == "cpu" and fused_step.available():
        fused_step.compile_kernels()  # what an engine serves from once its decoding has paused
    step = f", {'fused' if fused_step.ready() else 'numpy'} step" if composer.device == "cpu" else ""
    print(f"model: {model} on {composer.device}{step}")
    what = Load(args.op, args.bars, args.candidates)
    if hasattr(composer, "run_many"):
        decoding(composer, what)
    batching(composer, args.quick, what, [int(n) for n in args.clients.split(",") if n])
    if args.relay:
        relay_latency(composer, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
