"""The script never blocks Live: every tick returns in milliseconds, whether the engine is
absent, busy with a slow request, or pushing commands."""

import live_sets as sets
from live_engines import RecordingComposer

TICK_BUDGET = 0.05  # seconds; Live ticks every 100 ms


def test_ticks_stay_short_while_the_engine_is_absent(load_script, monkeypatch):
    monkeypatch.setattr("DAWBridge.constants.ATTACH_RETRY_SECONDS", 0.05)
    song, _, _ = sets.session_melody()
    host = load_script(song)
    host.run(1.0)
    host.press("cc", 102)
    host.run(0.3)
    assert len(host.tick_seconds) > 50
    assert max(host.tick_seconds) < TICK_BUDGET


def test_ticks_stay_short_while_a_slow_request_is_in_flight(start_engine, load_script):
    server = start_engine(composer=RecordingComposer(bar_seconds=0.4))
    song, _, _ = sets.session_melody()
    host = load_script(song, server.address, "candidates = 1\n")
    host.run(10, until=lambda: len(server.sessions) == 1)
    host.press("cc", 105)
    waiting = len(host.tick_seconds)
    assert host.run(20, until=lambda: not host.script.busy)
    during = host.tick_seconds[waiting:-1]  # the last tick writes the result into the set
    assert len(during) > 20 and max(during) < TICK_BUDGET
    assert host.status_bar[-1].startswith("DAWBridge: Variation: 1 result")


def test_progress_reaches_the_status_bar(start_engine, load_script):
    server = start_engine(composer=RecordingComposer(bar_seconds=0.2))
    song, _, _ = sets.session_melody()
    host = load_script(song, server.address, "candidates = 2\n")
    host.run(10, until=lambda: len(server.sessions) == 1)
    host.press("cc", 102)
    host.run(20, until=lambda: not host.script.busy)
    progress = [m for m in host.status_bar if "working..." in m]
    assert "DAWBridge: Harmony: working... 50%" in progress
