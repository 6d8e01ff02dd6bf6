"""Benchmark of harmonization through the engine (not a timed test).

Starts `dawbridge serve` with the shipped model in its own process, as a producer would, then
measures: model load time (process start to the model answering in `info`), harmonize latency
for 8 bars of 4/4 (three voices) with 1 and with 4 candidates (p50/p99 over several seeds),
the chords and bass styles, and the engine's peak resident memory (VmHWM).

    .venv/bin/python bench/bench_harmonize.py [--runs 10] [--device cpu|cuda] [--weights PATH]

Targets on a 2-core CPU: 1 candidate p50 < 1 s (aim 0.3 s), 4 candidates < 2 s, load < 3 s,
peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.client import Client, EngineError, EngineUnreachable  # noqa: E402

# "Ode to Joy", 8 bars of 4/4 in D major (public domain): (pitch, beats) pairs.
TUNE = [(66, 1), (66, 1), (67, 1), (69, 1), (69, 1), (67, 1), (66, 1), (64, 1),
        (62, 1), (62, 1), (64, 1), (66, 1), (66, 1.5), (64, 0.5), (64, 2),
        (66, 1), (66, 1), (67, 1), (69, 1), (69, 1), (67, 1), (66, 1), (64, 1),
        (62, 1), (62, 1), (64, 1), (66, 1), (64, 1.5), (62, 0.5), (62, 2)]


def melody_clip() -> dict:
    notes, now = [], 0.0
    for pitch, beats in TUNE:
        notes.append({"pitch": pitch, "start": now, "duration": beats, "velocity": 90})
        now += beats
    return {"notes": notes, "length": now, "time_signature": [4, 4], "tempo": 100, "key": "D major"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill_numba_cache(root: Path, env: dict[str, str] | None = None) -> None:
    """Compile the fused step of the tree at ``root`` into numba's cache (``env``'s, else the
    default beside the tree's bytecode), so that an engine started from it later loads its
    kernels in about half a second. A tree without the fused step fails here, and starts as it is."""
    subprocess.run([sys.executable, "-c", "from models.net import fused_step; fused_step.compile_kernels()"],
                   cwd=root, env=env, check=False, stderr=subprocess.DEVNULL)


def start_engine(address: str, device: str, weights: str | None, root: Path = ROOT) -> tuple[subprocess.Popen, float]:
    """`dawbridge serve` of the tree at ``root`` (its own modules come first on the path)."""
    cmd = [sys.executable, "-m", "bridge.cli.main", "serve", "--bind", address, "--device", device]
    if weights:
        cmd += ["--weights", weights]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(address, timeout=1.0)
    try:
        while time.perf_counter() - started < 60:
            try:
                info = client.info()
            except EngineUnreachable:
                time.sleep(0.05)
                continue
            if info.get("model"):
                return proc, time.perf_counter() - started
            if info.get("model_error") and "loading" not in info["model_error"]:
                raise SystemExit(f"the engine has no model: {info['model_error']}")
            time.sleep(0.05)
    finally:
        client.close()
    proc.kill()
    raise SystemExit("the engine did not load its model within 60 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(client: Client, runs: int, **fields: object) -> list[float]:
    times = []
    for seed in range(runs):
        started = time.perf_counter()
        try:
            client.request("harmonize", clip=melody_clip(), seed=seed, **fields)
        except EngineError as exc:
            raise SystemExit(f"harmonize failed: {exc}") from exc
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--weights")
    args = parser.parse_args()
    address = f"tcp://127.0.0.1:{_free_port()}"
    proc, load_s = start_engine(address, args.device, args.weights)
    client = Client(address, timeout=60.0)
    try:
        measure(client, 2)  # warm-up
        rows = [
            ("chorale, 1 candidate", measure(client, args.runs, style="chorale", candidates=1)),
            ("chorale, 4 candidates", measure(client, args.runs, style="chorale", candidates=4)),
            ("chords, 1 candidate", measure(client, args.runs, style="chords", candidates=1)),
            ("bass, 1 candidate", measure(client, args.runs, style="bass", candidates=1)),
        ]
        peak = peak_memory_mb(proc.pid)
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)
    print(f"harmonize 8 bars of 4/4 through the engine ({args.device}, {args.runs} runs each)")
    print(f"{'request':<24}{'p50 s':>10}{'p99 s':>10}{'mean s':>10}")
    for name, times in rows:
        print(f"{name:<24}{statistics.median(times):>10.3f}{percentile(times, 0.99):>10.3f}{statistics.mean(times):>10.3f}")
    print(f"model load (process start -> model serving): {load_s:.2f} s")
    print(f"engine peak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
