"""The `dawbridge` command as a child process, for what only a real process shows: signals
(Ctrl+C, SIGTERM) and exit statuses.

    with dawbridge("serve", "--bind", address) as process:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _as_from_a_terminal() -> None:
    """Ctrl+C at its default, as a command started from a terminal has it: a test run started
    in the background (``pytest &``) ignores SIGINT, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def dawbridge(*args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m bridge.cli.main ARGS` from this checkout, stderr piped as text; killed at the
    end when still running."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bridge.cli.main", *args], env=env,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_as_from_a_terminal if os.name == "posix" else None)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
