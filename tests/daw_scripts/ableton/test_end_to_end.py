"""The script in the fake Live against a real engine (serving the engine tests' trivial
composer, which returns the input transposed): both triggers, every op, Session and
Arrangement, and what the user sees when the engine is away, busy or without a model.

Every test runs once per Live version the script supports (11.2, 12.0, 12.1, 12.3): the fake
plays that version's API."""

import fake_live
import live_sets as sets
import pytest
from live_engines import RecordingComposer

from bridge.cli.main import main as dawbridge
from bridge.serve.server import running_engine
from daw_scripts.common import EngineClient

TITLES = {"harmonize": "Harmony", "drums": "Drums", "fill": "Fill", "vary": "Variation",
          "continue": "Continuation", "restyle": "Restyle"}
BUTTONS = {"harmonize": 102, "drums": 103, "fill": 104, "vary": 105, "continue": 106, "restyle": 107}


@pytest.fixture(autouse=True, params=fake_live.LIVE_VERSIONS)
def live_version(request, monkeypatch):
    """The Live version every Song of the test plays."""
    monkeypatch.setattr(fake_live, "DEFAULT_VERSION", request.param)
    return request.param


@pytest.fixture
def engine(start_engine):
    composer = RecordingComposer()
    return start_engine(composer=composer), composer


def _set_for(op, arrangement=False):
    if op == "fill":
        return sets.session_drums()
    return sets.arrangement_melody() if arrangement else sets.session_melody()


def _attach(host, server):
    assert host.run(10, until=lambda: len(server.sessions) == 1)


def _finish(host):
    host.run(0.05)
    assert host.run(20, until=lambda: not host.script.busy)
    return host.status_bar[-1]


def _dispatch(server, **command):
    with EngineClient(server.address) as client:
        return client.request("dispatch", timeout=5.0, daw="live", command=command)["delivered"]


def _check_session_result(song, op, source_track, source, before, original):
    new = sets.new_tracks(song, before)
    assert len(new) == 1 and song.tracks.index(new[0]) == song.tracks.index(source_track) + 1
    slot = source.canonical_parent.canonical_parent.clip_slots.index(source.canonical_parent)
    placed = [new[0].clip_slots[slot + i].clip for i in range(3)]
    assert [c.name.split(" (")[0] for c in placed] == [
        f"{TITLES[op]} {i}/3" for i in (1, 2, 3)]
    source_notes = sets.notes_of(source)
    for shift, clip in zip((7, 8, 9), placed, strict=True):
        assert sets.notes_of(clip) == [(p + shift, s, d, v) for p, s, d, v in source_notes]
    assert source.snapshot() == original
    assert song.undo_steps() == 1


@pytest.mark.parametrize("op", list(BUTTONS))
def test_a_controller_button_turns_the_session_clip_into_new_clips(op, engine, load_script):
    server, composer = engine
    song, track, source = _set_for(op)
    before, original = list(song.tracks), source.snapshot()
    host = load_script(song, server.address)
    _attach(host, server)
    assert host.press("cc", BUTTONS[op])
    message = _finish(host)
    assert message.startswith(f"DAWBridge: {TITLES[op]}: 3 candidates on new track")
    _check_session_result(song, op, track, source, before, original)
    assert composer.tasks[-1].op == op


@pytest.mark.parametrize("op", list(BUTTONS))
def test_an_engine_command_runs_on_the_selected_clip(op, engine, load_script):
    server, composer = engine
    song, track, source = _set_for(op)
    before, original = list(song.tracks), source.snapshot()
    host = load_script(song, server.address)
    _attach(host, server)
    assert _dispatch(server, op=op, temperature=0.5) == 1
    message = _finish(host)
    assert message.startswith(f"DAWBridge: {TITLES[op]}: 3 candidates")
    _check_session_result(song, op, track, source, before, original)
    assert composer.tasks[-1].sampling.temperature == 0.5


def test_the_cli_command_reaches_live_with_its_controls(engine, load_script, capsys):
    server, composer = engine
    song, _, _ = sets.session_melody()
    host = load_script(song, server.address)
    _attach(host, server)
    assert dawbridge(["live", "harmonize", "--address", server.address, "--style", "chords"]) == 0
    assert _finish(host).startswith("DAWBridge: Harmony: 3 candidates")
    assert composer.tasks[-1].style == "chords"
    assert song.tracks[2].clip_slots[2].clip.name == "Harmony 1/3 (chords)"


@pytest.mark.parametrize("trigger", ["button", "command"])
def test_arrangement_results_land_at_the_source_position(trigger, engine, load_script):
    server, _ = engine
    song, _, source = sets.arrangement_melody(position=16.0)
    original = source.snapshot()
    host = load_script(song, server.address, "candidates = 2\n")
    _attach(host, server)
    if trigger == "button":
        host.press("cc", 102)
    else:
        _dispatch(server, op="harmonize", style="bass")
    assert "2 candidates on new track" in _finish(host)
    new = song.tracks[1]
    (placed,) = new.arrangement_clips
    assert (placed.start_time, placed.length) == (16.0, 8.0)
    assert sets.notes_of(placed)[0][0] == sets.MELODY[0][0] + 7
    assert new.clip_slots[0].clip.name.startswith("Harmony 2/2")
    assert source.snapshot() == original and song.undo_steps() == 1


def test_an_arrangement_continuation_goes_after_the_source(engine, load_script):
    server, _ = engine
    song, _, _ = sets.arrangement_melody(position=8.0)
    host = load_script(song, server.address, "candidates = 1\n")
    _attach(host, server)
    host.press("cc", 106)
    assert "1 result on new track" in _finish(host)
    (placed,) = song.tracks[1].arrangement_clips
    assert (placed.start_time, placed.name) == (16.0, "Continuation (transposed +7)")


def test_a_continuation_of_a_looped_clip_goes_after_its_last_loop(engine, load_script):
    server, _ = engine
    song = fake_live.Song()
    lead = song.add_track("Lead")
    song.view.detail_clip = fake_live.add_arrangement_clip(
        lead, 8.0, 8.0, sets.MELODY, "Riff", end_time=40.0, looping=True)  # four loops
    host = load_script(song, server.address, "candidates = 1\n")
    _attach(host, server)
    host.press("cc", 106)
    assert "1 result on new track" in _finish(host)
    (placed,) = song.tracks[1].arrangement_clips
    assert placed.start_time == 40.0 and sets.notes_of(placed)[0][0] == sets.MELODY[0][0] + 7
    assert song.undo_steps() == 1


def test_no_engine_says_how_to_start_it(load_script):
    song, _, _ = sets.session_melody()
    host = load_script(song)  # nothing listens on the discard port
    host.run(0.2)
    assert host.status_bar[-1] == ("DAWBridge: the engine is not running at tcp://127.0.0.1:9: "
                                   "start it with `dawbridge serve`")
    host.press("cc", 102)
    assert host.status_bar[-1] == (
        "DAWBridge: Harmony: the engine is not running: start it with `dawbridge serve`")
    assert song.undo_steps() == 0 and len(song.tracks) == 3


def test_no_model_says_so(start_engine, load_script, tmp_path):
    server = start_engine(weights=tmp_path / "no-such-model")
    song, _, _ = sets.session_melody()
    host = load_script(song, server.address)
    _attach(host, server)
    host.press("cc", 102)
    assert _finish(host).startswith("DAWBridge: Harmony: the engine has no model loaded: ")
    assert song.undo_steps() == 0


def test_nothing_selected_says_what_to_select(engine, load_script):
    server, _ = engine
    song = fake_live.Song()
    song.add_track("Lead")
    host = load_script(song, server.address)
    _attach(host, server)
    _dispatch(server, op="vary")
    host.run(1.0, until=lambda: "select" in host.status_bar[-1])
    assert host.status_bar[-1] == "DAWBridge: select a MIDI clip first"


def test_one_action_at_a_time_and_the_same_button_cancels(start_engine, load_script):
    server = start_engine(composer=RecordingComposer(bar_seconds=0.5))
    song, _, _ = sets.session_melody()
    host = load_script(song, server.address)
    _attach(host, server)
    host.press("cc", 102)
    host.run(0.2)
    host.press("cc", 105)
    assert host.status_bar[-1] == "DAWBridge: still working on Harmony; wait for it first"
    host.press("cc", 102)
    assert _finish(host) == "DAWBridge: Harmony: cancelled"
    assert len(song.tracks) == 3 and song.undo_steps() == 0


def test_the_script_attaches_again_after_the_engine_restarts(load_script, unused_address,
                                                              monkeypatch):
    monkeypatch.setattr("DAWBridge.constants.ATTACH_RETRY_SECONDS", 0.2)
    song, _, _ = sets.session_melody()
    with running_engine(unused_address, composer=RecordingComposer()) as first:
        host = load_script(song, first.address)
        _attach(host, first)
    host.run(0.5)
    with running_engine(unused_address, composer=RecordingComposer()) as second:
        assert host.run(15, until=lambda: len(second.sessions) == 1)
        host.run(0.1)
        assert host.status_bar[-2:] == [
            f"DAWBridge: the engine is not running at {unused_address}: start it with `dawbridge serve`",
            f"DAWBridge: connected to the engine at {unused_address}"]
        assert _dispatch(second, op="vary") == 1
        assert "3 candidates" in _finish(host)


@pytest.fixture
def unused_address():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"
