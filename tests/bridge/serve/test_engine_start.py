"""The model slot of a process that loads its model as it starts (`dawbridge serve`, `worker`):
the garbage collector waits while the model loads, and collects again afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from bridge.serve import engine
from models.interface import Composer
from tests.bridge.timing_composer import TimingComposer


def test_the_load_runs_without_the_collector_and_what_it_left_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def load(weights: str | Path | None, device: str) -> Composer:
        seen.append(gc.isenabled())
        return TimingComposer()

    monkeypatch.setattr(engine, "load_composer", load)
    before = gc.get_freeze_count()
    slot = engine.ComposerSlot.at_start(None, "cpu")
    try:
        slot.start()
        assert slot.get(lambda: False).name == "timing-composer"
        assert seen == [False]
        assert gc.isenabled()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_a_failed_load_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(weights: str | Path | None, device: str) -> Composer:
        raise engine.ModelUnavailable("no weights here")

    monkeypatch.setattr(engine, "load_composer", load)
    slot = engine.ComposerSlot.at_start(None, "cpu")
    try:
        slot.start()
        with pytest.raises(engine.Refused):
            slot.get(lambda: False)
        assert gc.isenabled()
        assert "no weights here" in (slot.error or "")
    finally:
        gc.unfreeze()
