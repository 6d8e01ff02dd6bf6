"""Fixtures for the Live Remote Script tests: the fake Live, a settings folder, the script
loaded into a LiveHost, and a real engine serving a trivial composer or the shipped model."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
for path in (HERE, ROOT / "daw_scripts" / "ableton", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import fake_live  # noqa: E402

fake_live.install()

import DAWBridge  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty DAWBridge folder for settings and logs."""
    folder = tmp_path / "dawbridge"
    monkeypatch.setenv("DAWBRIDGE_HOME", str(folder))
    return folder


@pytest.fixture
def load_script(home):
    """``load_script(song, address=None, extra="")`` -> a LiveHost running DAWBridge, with
    settings pointing at ``address`` over the pure-Python ZMTP transport (as inside Live)."""
    hosts = []

    def load(song=None, address="tcp://127.0.0.1:9", extra=""):
        home.mkdir(parents=True, exist_ok=True)
        text = f"address = {address}\ntransport = zmtp\nconnect_timeout = 0.5\n{extra}"
        (home / "ableton.cfg").write_text(text)
        host = fake_live.LiveHost(DAWBridge, song or fake_live.Song())
        hosts.append(host)
        return host

    yield load
    for host in hosts:
        host.disconnect()
