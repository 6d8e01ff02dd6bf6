"""The one narrow interface between the engine (`bridge`) and the music model.

    composer = load_composer(weights=None, device="auto")   # raises ModelUnavailable
    candidates = composer.run(task, progress=cb, should_stop=fn)  # list[list[Part]]

``run`` returns one list of parts per candidate (a chorale harmonization has three parts:
alto, tenor, bass), and raises ValueError naming the field when the music cannot be done as
asked (a metre over 8 beats, a span outside the clip, a style of the wrong family). ``progress(fraction)`` is called as work proceeds; ``should_stop()`` is
polled between decoding steps and, when true, ``run`` raises :class:`Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from models.constants import GROOVE_CREDIT, WEIGHTS_DIR
from models.errors import Cancelled, ModelUnavailable
from models.representation import Part
from models.tasks import Task

DEFAULT_WEIGHTS = WEIGHTS_DIR / "dawbridge-small"
# The attribution the shipped weights and tables owe to the data they were built from.
CREDITS = (f"Drum grooves, humanizing and drum styles: {GROOVE_CREDIT} (CC BY 4.0)",)

__all__ = ["CREDITS", "Cancelled", "Composer", "DEFAULT_WEIGHTS", "ModelUnavailable", "load_composer"]


class Composer(Protocol):
    name: str
    device: str

    def ops(self) -> list[str]: ...

    def styles(self) -> dict[str, list[str]]: ...

    def run(
        self,
        task: Task,
        progress: Callable[[float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[list[Part]]: ...


def load_composer(weights: str | Path | None = None, device: str = "auto") -> Composer:
    """Load the model at ``weights`` (a directory or the path stem of ``.safetensors`` +
    ``.json``; the shipped model when None) onto ``device`` (auto | cpu | cuda)."""
    from models.composer import load  # deferred: torch import is the slow part of start-up

    return load(Path(weights) if weights is not None else DEFAULT_WEIGHTS, device)
