"""The `dawbridge` command as a child process, for what only a real process shows: signals
(Ctrl+C, SIGTERM) and exit statuses.

    with dawbridge("serve", "--bind", address) as process:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def dawbridge(*args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m bridge.cli.main ARGS` from this checkout, stderr piped as text; killed at the
    end when still running."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bridge.cli.main", *args], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
