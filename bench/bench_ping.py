"""Benchmarks of the engine's transport and overhead (not a timed test).

1. Round-trip latency of `ping` at 1, 10 and 50 concurrent clients against `dawbridge serve`
   in its own process, and the same request payload through a stdlib XML-RPC server (the
   transport of Composer's Assistant) in the same run; prints p50/p99 and the ratio.
2. Engine overhead around a model call for an 8-bar clip: request round trip minus the time
   inside `composer.run`, measured with the timing composer from the tests (no real model).

    .venv/bin/python bench/bench_ping.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.client import Client, EngineUnreachable  # noqa: E402
from bridge.serve.server import running_engine  # noqa: E402
from tests.bridge.helpers import melody  # noqa: E402
from tests.bridge.timing_composer import TimingComposer  # noqa: E402

PAYLOAD = {"v": 1, "id": "bench", "op": "ping"}


class _ThreadingXMLRPCServer(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 resets connections at 50 clients


class _QuietHandler(SimpleXMLRPCRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve_xmlrpc(port: int) -> None:
    """The peer: one `request(payload)` method answering a ping the way the engine does."""
    server = _ThreadingXMLRPCServer(("127.0.0.1", port), requestHandler=_QuietHandler, logRequests=False)
    server.register_function(
        lambda req: {"v": 1, "id": req["id"], "ok": True, "result": {"pong": True, "time": time.time()}}, "request")
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000)


def _concurrently(clients: int, calls: int, make: Callable[[], Callable[[], None]]) -> list[float]:
    """Round-trip seconds of ``calls`` calls from each of ``clients`` threads, started together."""
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run() -> None:
        call = make()
        for _ in range(5):
            call()  # warm up the connection
        barrier.wait()
        mine = []
        for _ in range(calls):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def _zmq_caller(address: str) -> Callable[[], None]:
    client = Client(address, timeout=10.0)
    return lambda: client.request("ping")


def _xmlrpc_caller(url: str) -> Callable[[], None]:
    proxy = xmlrpc.client.ServerProxy(url)
    return lambda: proxy.request(PAYLOAD)


def _wait_for(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            check()
            return
        except (EngineUnreachable, OSError):
            if time.monotonic() > deadline:
                raise


def bench_transport(quick: bool) -> None:
    zmq_port, xml_port = _free_port(), _free_port()
    address, url = f"tcp://127.0.0.1:{zmq_port}", f"http://127.0.0.1:{xml_port}/"
    engine = subprocess.Popen([sys.executable, "-m", "bridge.cli.main", "serve", "--bind", address,
                               "--weights", str(ROOT / "bench" / "no-weights")], cwd=ROOT, stderr=subprocess.DEVNULL)
    peer = subprocess.Popen([sys.executable, __file__, "--serve-xmlrpc", str(xml_port)], cwd=ROOT)
    try:
        _wait_for(lambda: Client(address, timeout=0.5).ping())
        _wait_for(lambda: xmlrpc.client.ServerProxy(url).request(PAYLOAD))
        print(f"ping round trip, ms (payload {json.dumps(PAYLOAD)})")
        print(f"{'clients':>8} {'zmq p50':>9} {'zmq p99':>9} {'xmlrpc p50':>11} {'xmlrpc p99':>11} {'p50 ratio':>10}")
        for clients, calls in ((1, 2000), (10, 300), (50, 100)):
            calls = calls // 5 if quick else calls
            z50, z99 = _percentiles(_concurrently(clients, calls, lambda: _zmq_caller(address)))
            x50, x99 = _percentiles(_concurrently(clients, calls, lambda: _xmlrpc_caller(url)))
            print(f"{clients:>8} {z50:>9.3f} {z99:>9.3f} {x50:>11.3f} {x99:>11.3f} {x50 / z50:>9.1f}x")
    finally:
        engine.terminate()
        peer.terminate()
        engine.wait(10)
        peer.wait(10)


class _MeasuredComposer(TimingComposer):
    """The timing composer, recording how long each model call took."""

    def __init__(self) -> None:
        super().__init__(bar_seconds=0.0)
        self.durations: list[float] = []

    def run(self, task, progress=None, should_stop=None):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().run(task, progress, should_stop)
        finally:
            self.durations.append(time.perf_counter() - started)


def bench_overhead(quick: bool) -> None:
    composer = _MeasuredComposer()
    clip = melody(8)
    rounds = 60 if quick else 300
    with running_engine(composer=composer) as server, Client(str(server.address)) as client:
        for _ in range(10):
            client.request("harmonize", clip=clip)
        composer.durations.clear()
        totals = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.request("harmonize", clip=clip)
            totals.append(time.perf_counter() - started)
    overheads = [total - model for total, model in zip(totals, composer.durations, strict=True)]
    o50, o99 = _percentiles(overheads)
    m50, _ = _percentiles(composer.durations)
    print(f"\nengine overhead around a model call, 8-bar clip ({len(clip['notes'])} notes), in-process engine, "
          f"{rounds} requests:\n  p50 {o50:.3f} ms, p99 {o99:.3f} ms (model call itself p50 {m50:.3f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--serve-xmlrpc", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_xmlrpc:
        serve_xmlrpc(args.serve_xmlrpc)
        return 0
    bench_transport(args.quick)
    bench_overhead(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
