"""A separate process the studio tests can kill with SIGKILL, as a machine that loses power:
an engine or a worker serving the timing composer.

    python -m tests.bridge.studio.proc engine tcp://127.0.0.1:PORT BAR_SECONDS
    python -m tests.bridge.studio.proc worker tcp://127.0.0.1:PORT BAR_SECONDS

It prints "ready" once it serves (the engine) or has started (the worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def main(argv: list[str]) -> int:
    role, address, bar_seconds = argv[0], argv[1], float(argv[2])
    from bridge.serve.engine import ComposerSlot
    from tests.bridge.timing_composer import TimingComposer

    slot = ComposerSlot.of(TimingComposer(bar_seconds=bar_seconds))
    if role == "engine":
        from bridge.serve.server import Server

        server = Server(address, slot)
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        import threading

        threading.Thread(target=lambda: (server.bound.wait(), print("ready", flush=True)), daemon=True).start()
        server.run()
    else:
        from bridge.studio.worker import Worker

        worker = Worker(address, slot, max_batch=1, capacity=2, name=f"proc-{os.getpid()}")
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        print("ready", flush=True)
        worker.run()
    return 0


def spawn(role: str, address: str, bar_seconds: float = 0.01) -> subprocess.Popen[str]:
    """Start one; returns once it printed "ready"."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.bridge.studio.proc", role, address, str(bar_seconds)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    end = time.monotonic() + 30
    line = proc.stdout.readline()
    if line.strip() != "ready" or time.monotonic() > end:
        proc.kill()
        raise RuntimeError(f"{role} did not start: {line!r}")
    return proc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
