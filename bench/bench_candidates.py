"""Four harmonize candidates in-process, this tree side by side with another revision (not a
timed test): each tree's composer in a process of its own, asked in turn, round by round, to
harmonize 8 bars of 4/4 (bench_harmonize.py's tune) as a chorale (or ``--style``) with 4
candidates; the CPU time of the calling thread (less moved by other jobs on the machine than
the wall-clock time), its p50 per tree, and the p50 of the per-round ratios.

    nice -n 10 .venv/bin/python bench/bench_candidates.py --against REV [--runs 15] [--candidates 4]
        [--style chorale|chords|bass] [--weights PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import TUNE  # noqa: E402
from bench_speed import trees  # noqa: E402

# Run in each tree's folder (its own modules first): load the composer, then for every line
# read (a seed) harmonize once and write the calling thread's CPU seconds and the wall seconds.
WORKER = """
import json, sys, time
from models.interface import load_composer
from models.representation import Note, Part
from models.tasks import HarmonizeTask, Sampling
tune, candidates, style, weights = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] or None
notes, now = [], 0.0
for pitch, beats in tune:
    notes.append(Note(pitch, now, beats, 90))
    now += beats
melody = Part(tuple(notes), now, (4, 4), 100.0, "D major", "Melody", "melody")
composer = load_composer(weights, "cpu")
print("ready", flush=True)
for line in sys.stdin:
    task = HarmonizeTask(melody, style, sampling=Sampling(candidates, 1.0, int(line)))
    cpu, wall = time.thread_time(), time.perf_counter()
    composer.run(task)
    print(time.thread_time() - cpu, time.perf_counter() - wall, flush=True)
"""


def start(root: Path, candidates: int, style: str, weights: str | None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(TUNE), str(candidates), style, weights or ""],
                            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def ask(proc: subprocess.Popen, seed: int) -> tuple[float, float]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{seed}\n")
    proc.stdin.flush()
    cpu, wall = proc.stdout.readline().split()
    return float(cpu), float(wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision (or folder) to compare with")
    parser.add_argument("--tree", help="git revision (or folder) to run instead of this working tree")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--style", default="chorale", choices=("chorale", "chords", "bass"))
    parser.add_argument("--weights")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = trees(args.tree, args.against, Path(tmp))
        procs = {name: start(root, args.candidates, args.style, args.weights) for name, root in roots.items()}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in roots}
        try:
            for run in range(-2, args.runs):  # two rounds warm up
                for name, proc in procs.items():
                    got = ask(proc, max(run, 0))
                    if run >= 0:
                        times[name].append(got)
        finally:
            for proc in procs.values():
                proc.kill()
    before, after = list(roots)
    print(f"{args.style}, 8 bars, {args.candidates} candidates, in-process, {args.runs} interleaved runs")
    for name in roots:
        cpu = statistics.median(t[0] for t in times[name])
        wall = statistics.median(t[1] for t in times[name])
        print(f"{name[:20]:<22} thread CPU p50 {cpu:.3f} s, wall p50 {wall:.3f} s")
    ratios = [b[0] / a[0] for b, a in zip(times[before], times[after], strict=True)]
    print(f"per-round ratio of thread CPU ({before} / {after}): p50 {statistics.median(ratios):.2f}x, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
