"""Fixtures for the REAPER tests: the fake REAPER, running an action script in it, settings
pointed at a real engine, and reading back what an action inserted."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import socket
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from daw_scripts.common import settings as common_settings
from daw_scripts.reaper.catalog import ACTIONS, EXT_SECTION, action_script
from tests.daw_scripts.common.progression import wait_for_model
from tests.daw_scripts.reaper.fake_reaper import PPQ, FakeReaper, Item
from tests.daw_scripts.reaper.scripted_composer import ScriptedComposer


@functools.cache
def _scripts() -> Path:
    """The action scripts as the installer writes them, in a folder laid out as installed
    (``daw_scripts`` itself resolves to this checkout's, already imported)."""
    root = Path(tempfile.mkdtemp(prefix="dawbridge-reaper-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    folder = root / "daw_scripts" / "reaper"
    folder.mkdir(parents=True)
    for script, name, op in ACTIONS:
        (folder / script).write_text(action_script(name, op), encoding="utf-8")
    return folder


def script_for(op: str) -> str:
    """The path of the action script running ``op`` ("settings" for the settings action)."""
    return str(_scripts() / next(script for script, _, o in ACTIONS if (o or "settings") == op))


@pytest.fixture
def reaper() -> FakeReaper:
    """A REAPER project at 120 BPM in 4/4, no tracks yet."""
    return FakeReaper()


def configure(fake: FakeReaper, **changes) -> None:
    """Store DAWBridge settings in the fake's ExtState, as the settings action would."""
    values = common_settings.parse(fake.ext_state.get((EXT_SECTION, "settings"), ""))
    values.update({key.replace("__", "."): value for key, value in changes.items()})
    fake.RPR_SetExtState(EXT_SECTION, "settings", common_settings.serialize(values), True)


def run_action(fake: FakeReaper, op: str) -> dict:
    """Run the action script for ``op`` in the fake REAPER until it finishes."""
    return fake.run_script(script_for(op))


@pytest.fixture
def composer() -> ScriptedComposer:
    return ScriptedComposer()


@pytest.fixture
def engine(start_engine, composer, reaper) -> str:
    """A real engine serving the scripted composer; the fake REAPER's settings point at it."""
    address = str(start_engine(composer=composer).address)
    configure(reaper, address=address, candidates=2, timeout=20.0)
    return address


WEIGHTS = os.environ.get("DAWBRIDGE_TEST_WEIGHTS")  # None: the shipped model
CANDIDATES = 2


@pytest.fixture
def shipped(start_engine, reaper) -> str:
    """An engine serving the shipped weights (or $DAWBRIDGE_TEST_WEIGHTS); skips without them.
    The fake REAPER's settings point at it, asking for CANDIDATES candidates."""
    address = str(start_engine(weights=WEIGHTS).address)
    wait_for_model(address)
    configure(reaper, address=address, candidates=CANDIDATES, timeout=120.0)
    return address


@pytest.fixture
def free_address() -> str:
    """A loopback address where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def notes_in_beats(item: Item, take_index: int = 0) -> list[tuple[int, float, float]]:
    """(pitch, start, duration) in beats from the item start (its take has no start offset)."""
    notes = item.takes[take_index].source.notes
    return [(n.pitch, round(n.start_ppq / PPQ, 6), round((n.end_ppq - n.start_ppq) / PPQ, 6)) for n in notes]


def tracks_after(fake: FakeReaper, source_name: str, count: int):
    """The ``count`` tracks directly under the track named ``source_name``."""
    names = [t.name for t in fake.project.tracks]
    index = names.index(source_name)
    return fake.project.tracks[index + 1:index + 1 + count]


def unselected(items: list[Item]) -> list[Item]:
    """Items as they are apart from their selection, which the action moves to the new ones."""
    return [replace(item, selected=0) for item in items]
