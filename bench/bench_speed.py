"""Request latency through the engine, this tree side by side with another revision (not a
timed test): each case's p50 for both and their ratio, measured interleaved in one run
(round by round, each case on one engine then the other), so a busy machine slows both alike.

Cases: harmonize 8 bars of 4/4 as a chorale with 1 and 4 candidates, as chords and as bass;
drums, 4 bars of rock; a fill in the last bar of a 4-bar groove, the same clip every run (a
producer pressing again: the engine copies the clip's context from the ones it kept), and a fill
of another clip every run (a first press: its context read afresh). Each engine is its own
`dawbridge serve` process; the other revision is taken from git (``git archive``) into a
temporary folder and served from there with the same Python. numba's cache is filled for each
tree before its engine starts, and after a warm-up round a pause lets each engine load its
fused decode step (where numba is installed), which it does at the first pause in its
decoding.

    nice -n 10 .venv/bin/python bench/bench_speed.py [--against REV] [--tree REV] [--runs 10] [--weights PATH] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import _free_port, fill_numba_cache, melody_clip, start_engine  # noqa: E402
from bench_ops import groove  # noqa: E402

from bridge.client import Client  # noqa: E402

CASES: dict[str, tuple[str, dict[str, Any]]] = {  # label: (op, fields)
    "chorale, 8 bars, 1 candidate": ("harmonize", {"clip": melody_clip(), "style": "chorale"}),
    "chorale, 4 candidates": ("harmonize", {"clip": melody_clip(), "style": "chorale", "candidates": 4}),
    "chords": ("harmonize", {"clip": melody_clip(), "style": "chords"}),
    "bass": ("harmonize", {"clip": melody_clip(), "style": "bass"}),
    "drums, 4 bars": ("drums", {"bars": 4, "style": "rock", "tempo": 100.0}),
    "fill": ("fill", {"clip": groove(4)}),
}
FRESH_FILL = "fill, another clip each round"


def with_fresh_fill(seed: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """:data:`CASES` and a fill of a clip of its own for each ``seed`` (another first press)."""
    return {**CASES, FRESH_FILL: ("fill", {"clip": groove(4, accents=seed + 1)})}

# After the warm-up, a pause: an engine loads its fused decode step (models/net/fused_step.py;
# numba's cache is filled for each tree beforehand) at the first pause of a second in its
# decoding, as a producer's engine does between presses; requests sent back to back without
# one would measure the numpy step it serves until then.
SETTLE_S = 4.0


def checkout(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (tracked files) unpacked under ``into``; a folder is served as it is."""
    if Path(rev).is_dir():
        return Path(rev).resolve()
    into.mkdir(parents=True)
    archive = into / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def trees(tree: str | None, against: str | None, into: Path) -> dict[str, Path]:
    """Name -> folder to serve: ``tree`` (default this working tree), after ``against`` when given."""
    roots = {tree: checkout(tree, into / "tree")} if tree else {"this tree": ROOT}
    if against:
        roots = {against: checkout(against, into / "against"), **roots}
    return roots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="git revision (or folder) to compare with (default: this tree alone)")
    parser.add_argument("--tree", help="git revision (or folder) to serve instead of this working tree")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--weights")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where every engine serves")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = trees(args.tree, args.against, Path(tmp))
        engines, clients, loads = {}, {}, {}
        try:
            for name, root in roots.items():
                if args.device == "cpu":
                    fill_numba_cache(root)
                address = f"tcp://127.0.0.1:{_free_port()}"
                engines[name], loads[name] = start_engine(address, args.device, args.weights, root)
                clients[name] = Client(address, timeout=120.0)
            times: dict[str, dict[str, list[float]]] = {case: {name: [] for name in roots} for case in with_fresh_fill(0)}
            for run in range(-1, args.runs):  # run -1 warms up
                if run == 0:
                    time.sleep(SETTLE_S)
                for case, (op, fields) in with_fresh_fill(1000 + run if run < 0 else run).items():
                    for name, client in clients.items():
                        started = time.perf_counter()
                        client.request(op, seed=max(run, 0), **fields)
                        if run >= 0:
                            times[case][name].append(time.perf_counter() - started)
        finally:
            for client in clients.values():
                client.close()
            for proc in engines.values():
                proc.terminate()
                proc.wait(10)
    names = list(roots)
    print(f"p50 seconds through the engine on {args.device}, {args.runs} interleaved runs per case")
    print(f"{'case':<30}" + "".join(f"{n[:14]:>16}" for n in names) + (f"{'ratio':>9}" if len(names) > 1 else ""))
    for case, by in times.items():
        p50 = [statistics.median(by[n]) for n in names]
        ratio = f"{p50[0] / p50[-1]:>8.2f}x" if len(names) > 1 else ""
        print(f"{case:<30}" + "".join(f"{p:>16.3f}" for p in p50) + ratio)
    print(f"{'model load (start -> serving)':<30}" + "".join(f"{loads[n]:>16.2f}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
