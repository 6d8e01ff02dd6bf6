"""Engines for the Live script tests to talk to: the engine tests' trivial composer (each
candidate is the input transposed), a recording wrapper around it, and where the shipped
weights would be."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = ROOT / "models" / "weights"


def timing_composer(**options):
    """The engine tests' trivial composer (each candidate: the input transposed)."""
    path = ROOT / "tests" / "bridge" / "timing_composer.py"
    spec = importlib.util.spec_from_file_location("ableton_timing_composer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TimingComposer(**options)


class RecordingComposer:
    """The trivial composer, remembering every task it was given."""

    def __init__(self, **options):
        self.inner = timing_composer(**options)
        self.name, self.device, self.tasks = "recording", "cpu", []

    def ops(self):
        return self.inner.ops()

    def styles(self):
        return self.inner.styles()

    def run(self, task, progress=None, should_stop=None):
        self.tasks.append(task)
        return self.inner.run(task, progress, should_stop)
