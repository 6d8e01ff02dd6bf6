"""Attached DAW sessions: attach is answered at once, dispatch pushes command events to the
sessions it names, and a session whose socket is gone is forgotten."""

from __future__ import annotations

import time

import pytest

from bridge.client import Client, EngineError


def test_dispatch_reaches_attached_sessions_of_one_daw(modelless_address: str) -> None:
    with Client(modelless_address) as live, Client(modelless_address) as reaper, Client(modelless_address) as cli:
        live_id = live.attach("live", "My Set")
        reaper_id = reaper.attach("reaper")
        command = {"op": "harmonize", "style": "chords"}
        assert cli.dispatch(command, daw="live") == 1
        event = live.next_event(live_id, 2.0)
        assert event == {"v": 1, "id": live_id, "event": "command", "command": command}
        assert reaper.next_event(reaper_id, 0.2) is None
        assert cli.dispatch({"op": "drums", "style": "funk"}) == 2
        assert live.next_event(live_id, 2.0)["command"]["op"] == "drums"
        assert reaper.next_event(reaper_id, 2.0)["command"]["op"] == "drums"
        assert cli.info()["sessions"] == 2


def test_a_closed_session_is_forgotten(modelless_address: str) -> None:
    with Client(modelless_address) as cli:
        session = Client(modelless_address)
        session.attach("live")
        session.close()
        deadline = time.monotonic() + 5.0
        while cli.dispatch({"op": "vary"}) != 0:
            assert time.monotonic() < deadline, "the closed session was never dropped"
            time.sleep(0.05)
        assert cli.info()["sessions"] == 0


def test_dispatch_of_a_service_op_is_refused(modelless_address: str) -> None:
    with Client(modelless_address) as cli, pytest.raises(EngineError) as caught:
        cli.dispatch({"op": "ping"})
    assert caught.value.code == "invalid_request" and caught.value.field == "command"


def test_reattaching_replaces_the_session(modelless_address: str) -> None:
    with Client(modelless_address) as live, Client(modelless_address) as cli:
        live.attach("live")
        second = live.attach("live", "renamed")
        assert cli.dispatch({"op": "fill"}, daw="live") == 1
        assert live.next_event(second, 2.0)["id"] == second
