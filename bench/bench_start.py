"""Cold start of the engine (not a timed test): from starting the `dawbridge serve` process to
its first answers. Each start is a fresh process on a free port; the client asks ``ping`` until
one is answered, pings once more (the model is still loading then: the engine must answer at
once), then sends its one musical request. Measured from process start:

  (a) the first ``ping`` answered (the engine is listening);
  (b) the first harmonize reply: 8 bars of 4/4 as a chorale, 1 candidate (one start);
  (c) the first drums reply: 4 bars of rock (another start);

the engine's CPU seconds (user + system) up to each reply, which a machine busy with other
jobs changes less than the wall-clock times; and the round trip of the ping sent while the
model loads. p50 and min over the starts. With ``--against REV`` the tree of another revision
(``git archive``, served with the same Python) is started in turn with this one, run by run,
so a busy machine slows both alike. Every tree is compiled to bytecode first, so no start
pays for compiling.

The fused decode step (models/net/fused_step.py) compiles in the background once the engine
decodes: ``--numba warm`` (the default) fills numba's cache before the starts, as any start
after the first on a machine finds it; ``cold`` gives every start an empty cache (the first
start after installing); ``absent`` hides numba from the engine (the numpy step serves).

    nice -n 10 .venv/bin/python bench/bench_start.py [--runs 5] [--against REV] [--tree REV] [--weights PATH]
        [--numba warm|cold|absent]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import zmq  # noqa: E402
from bench_harmonize import _free_port, fill_numba_cache  # noqa: E402
from bench_speed import CASES, trees  # noqa: E402

from bridge.client import Client  # noqa: E402

FIRST = [CASES["chorale, 8 bars, 1 candidate"], CASES["drums, 4 bars"]]  # each start's one request
TIMEOUT = 120.0


def cold_start(root: Path, op: str, fields: dict[str, Any], weights: str | None,
               env: dict[str, str] | None = None) -> dict[str, float]:
    """Seconds from process start to the first ping answer and to the first ``op`` reply, and
    the round trip of a ping sent while the model loads."""
    context = zmq.Context()
    context.setsockopt(zmq.RECONNECT_IVL, 5)  # the client connects within 5 ms of the engine binding
    address = f"tcp://127.0.0.1:{_free_port()}"
    cmd = [sys.executable, "-m", "bridge.cli.main", "serve", "--bind", address, "--device", "cpu"]
    if weights:
        cmd += ["--weights", weights]
    client = Client(address, timeout=TIMEOUT, context=context)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        client.ping()
        pinged = time.perf_counter() - started
        loading = "loading" in str(client.info().get("model_error"))
        ping_rtt = client.ping()
        client.request(op, seed=0, **fields)
        replied = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)
        context.term()
    return {"ping": pinged, op: replied, f"{op}, engine CPU": cpu,
            "ping while loading": ping_rtt if loading else float("nan")}


def numba_env(numba: str, root: Path, tmp: Path) -> dict[str, str]:
    """The environment of one start: numba's cache warm (filled beforehand), empty, or numba
    made unimportable (a ``sitecustomize`` that marks it missing)."""
    env = dict(os.environ)
    if numba == "absent":
        hide = tmp / "no-numba"
        hide.mkdir(exist_ok=True)
        (hide / "sitecustomize.py").write_text("import sys\nsys.modules['numba'] = None\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hide), env.get("PYTHONPATH")]))
    elif numba == "cold":
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(dir=tmp)
    else:
        env["NUMBA_CACHE_DIR"] = str(tmp / "numba-cache")
        if root not in _warmed:
            fill_numba_cache(root, env)
            _warmed.add(root)
    return env


_warmed: set[Path] = set()


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU seconds so far (Linux; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="git revision (or folder) to compare with (default: this tree alone)")
    parser.add_argument("--tree", help="git revision (or folder) to start instead of this working tree")
    parser.add_argument("--runs", type=int, default=5, help="starts per revision and first op")
    parser.add_argument("--weights")
    parser.add_argument("--numba", choices=("warm", "cold", "absent"), default="warm",
                        help="numba's cache for the fused step: filled, empty, or numba hidden")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = trees(args.tree, args.against, Path(tmp))
        for root in roots.values():  # compile every module once, outside the measured starts
            subprocess.run([sys.executable, "-m", "compileall", "-q", "bridge", "models"], cwd=root, check=True)
        times: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.runs):
            for op, fields in FIRST:
                for name, root in roots.items():
                    env = numba_env(args.numba, root, Path(tmp))
                    for what, seconds in cold_start(root, op, fields, args.weights, env).items():
                        times.setdefault(what, {n: [] for n in roots})[name].append(seconds)
    names = list(roots)
    print(f"seconds from process start, {args.runs} interleaved starts per first op (p50 / min)")
    print(f"{'':<28}" + "".join(f"{n[:18]:>22}" for n in names) + (f"{'p50 ratio':>11}" if len(names) > 1 else ""))
    for what, by in times.items():
        rtt = what == "ping while loading"  # in milliseconds
        label = "ping while loading (ms)" if rtt else what if "CPU" in what else f"first {what}"
        cells = [[s * 1000 if rtt else s for s in by[n]] for n in names]
        ratio = (f"{statistics.median(cells[0]) / statistics.median(cells[-1]):>10.2f}x"
                 if len(names) > 1 else "")
        print(f"{label:<28}" + "".join(f"{statistics.median(c):>13.3f} / {min(c):.3f}" for c in cells) + ratio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
