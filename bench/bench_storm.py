"""Benchmark (not a timed test): `ping` latency while a storm of maximum-size valid requests
hits the engine.

The engine runs in its own process (the timing composer of the tests as its model, so the
figure is the engine's loop, not the model). Storm processes each keep one request of the
largest size the engine accepts in flight at a time: a `drums` request whose context clips
hold MAX_NOTES_PER_REQUEST notes (about 0.8 MB of JSON). A pinger in this process pings every
20 ms. Quiet and storm phases alternate in one run, so both see the same machine load; the
report gives ping p50/p99/max per phase and the storm's request rate. Goal: ping p99 under
50 ms during the storm.

    .venv/bin/python bench/bench_storm.py [--seconds 6] [--storms 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import zmq  # noqa: E402

from bridge.client import Client  # noqa: E402
from bridge.protocol import MAX_CONTEXT_CLIPS, MAX_NOTES_PER_REQUEST  # noqa: E402
from tests.bridge.studio import proc as engine_process  # noqa: E402


def largest_request(index: int, notes: int = MAX_NOTES_PER_REQUEST) -> bytes:
    """A valid drums request holding ``notes`` notes over its context clips, with realistic note
    spellings (fractional beats, velocities, channels)."""
    per_clip = notes // MAX_CONTEXT_CLIPS
    clips = []
    for clip in range(MAX_CONTEXT_CLIPS):
        notes = [{"pitch": 36 + (i * 7 + clip) % 48, "start": round(i * 0.123456789, 9) % 1000.0,
                  "duration": 0.333333333, "velocity": 64 + i % 60, "channel": clip}
                 for i in range(per_clip)]
        clips.append({"notes": notes, "length": 1024.0, "time_signature": [4, 4], "tempo": 120.0,
                      "kind": "bass" if clip == 0 else "chords", "name": f"track {clip}"})
    request = {"v": 1, "id": f"storm-{index}", "op": "drums", "bars": 8, "candidates": 1, "context": clips,
               "timeout": 30.0}
    return json.dumps(request, separators=(",", ":")).encode()


def storm(address: str, stop_at: float, counter: multiprocessing.Value,  # type: ignore[valid-type]
          codes: multiprocessing.Queue, notes: int) -> None:  # type: ignore[type-arg]
    """Keep one maximum-size request in flight until ``stop_at``; report the replies' codes."""
    frame = largest_request(0, notes)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(address)
    sent = 0
    seen: Counter[str] = Counter()
    while time.time() < stop_at:
        sock.send_multipart([b"", frame.replace(b'"storm-0"', b'"storm-%d"' % sent)])
        sent += 1
        while time.time() < stop_at:  # until its final reply
            if not sock.poll(100):
                continue
            message = json.loads(sock.recv_multipart()[-1])
            if "ok" in message:
                seen["ok" if message["ok"] else message["error"]["code"]] += 1
                break
    with counter.get_lock():
        counter.value += sent
    codes.put(dict(seen))
    sock.close()


def pings(address: str, seconds: float) -> list[float]:
    rtts = []
    with Client(address, timeout=5.0) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rtts.append(client.ping() * 1000)
            time.sleep(0.02)
    return rtts


def summary(rtts: list[float]) -> str:
    ordered = sorted(rtts)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"n={len(ordered):4d}  p50 {statistics.median(ordered):6.1f} ms  p99 {p99:6.1f} ms  "
            f"max {ordered[-1]:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each phase")
    parser.add_argument("--storms", type=int, default=2, help="storm processes")
    parser.add_argument("--rounds", type=int, default=2, help="quiet/storm pairs")
    parser.add_argument("--engine-root", type=Path, default=ROOT,
                        help="run the engine from this checkout (an earlier commit, for a side-by-side)")
    parser.add_argument("--notes", type=int, default=MAX_NOTES_PER_REQUEST,
                        help=f"notes per storm request (default: the limit, {MAX_NOTES_PER_REQUEST})")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    engine_process.ROOT = args.engine_root
    engine = engine_process.spawn("engine", address, bar_seconds=0.0005)  # 256 bars of context: 0.13 s a request
    print(f"request size: {len(largest_request(0, args.notes)) / 1e6:.2f} MB, {args.notes} notes")
    quiet: list[float] = []
    stormy: list[float] = []
    requests = 0
    replies: Counter[str] = Counter()
    try:
        for _ in range(args.rounds):
            quiet += pings(address, args.seconds)
            counter = multiprocessing.Value("i", 0)
            codes: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            stop_at = time.time() + args.seconds + 1.0
            procs = [multiprocessing.Process(target=storm, args=(address, stop_at, counter, codes, args.notes))
                     for _ in range(args.storms)]
            for proc in procs:
                proc.start()
            time.sleep(0.5)
            stormy += pings(address, args.seconds)
            for proc in procs:
                replies.update(codes.get(timeout=15))
                proc.join(10)
            requests += counter.value
    finally:
        engine.terminate()
        engine.wait(10)
    print(f"quiet: {summary(quiet)}")
    print(f"storm: {summary(stormy)}  ({requests / (args.rounds * (args.seconds + 0.5)):.1f} maximum-size "
          f"requests/s from {args.storms} clients; replies {dict(replies)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
