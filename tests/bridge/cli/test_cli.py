"""The `dawbridge` command on real MIDI files and real engines: remote and in-process file
commands, previews, ping/info, dispatch to attached sessions, `serve` under SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from bridge.cli import main as cli
from bridge.cli import midifile
from bridge.client import Client, EngineUnreachable
from bridge.constants import MAX_REQUEST_BYTES
from tests.bridge.cli.process import dawbridge
from tests.bridge.midi_files import daw_export, type0_tune
from tests.bridge.timing_composer import TimingComposer


def _free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def test_harmonize_a_tune_through_a_running_engine(start_engine, tmp_path: Path, capsys) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001))
    source = type0_tune(tmp_path / "tune.mid")
    out, png = tmp_path / "out.mid", tmp_path / "roll.png"
    code = cli.main(["harmonize", str(source), "-o", str(out), "--address", server.address,
                     "--candidates", "2", "--seed", "3", "--style", "chords", "--preview", str(png)])
    assert code == 0, capsys.readouterr().err
    song = midifile.read(out)
    assert song.time_signature == (3, 4) and song.tempo == 90.0 and song.key == "G major"
    assert [p.name for p in song.parts] == ["input", "candidate 1: transposed +7", "candidate 2: transposed +8"]
    assert song.parts[1].notes[0][0] == song.parts[0].notes[0][0] + 7
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "seed 3" in capsys.readouterr().out


def test_file_ops_on_a_daw_export(start_engine, tmp_path: Path) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001))
    source = daw_export(tmp_path / "song.mid")
    common = ["--address", server.address]
    assert cli.main(["fill", str(source), "-o", str(tmp_path / "fill.mid"), "--intensity", "0.8", *common]) == 0
    fill = midifile.read(tmp_path / "fill.mid")
    assert fill.parts[0].name == "Drums" and fill.parts[1].is_drums
    assert cli.main(["continue", str(source), "-o", str(tmp_path / "more.mid"), "--bars", "2", *common]) == 0
    more = midifile.read(tmp_path / "more.mid")
    assert more.parts[0].name == "Lead Synth" and more.parts[1].notes[0][1] == 16.0
    assert cli.main(["drums", str(source), "-o", str(tmp_path / "drums.mid"), "--style", "funk", *common]) == 0
    assert [p.name for p in midifile.read(tmp_path / "drums.mid").parts][:3] == ["Bass", "Chords", "Lead Synth"]
    assert cli.main(["vary", str(source), "-o", str(tmp_path / "v.mid"), "--track", "bass",
                     "--keep-rhythm", *common]) == 0
    assert midifile.read(tmp_path / "v.mid").parts[0].name == "Bass"


def test_without_an_engine_the_model_runs_in_process(tmp_path: Path, capsys, monkeypatch) -> None:
    source = type0_tune(tmp_path / "tune.mid")
    code = cli.main(["harmonize", str(source), "-o", str(tmp_path / "out.mid"),
                     "--address", _free_address(), "--weights", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 1 and "model_unavailable" in err and "dawbridge train" in err
    assert not (tmp_path / "out.mid").exists()
    monkeypatch.setattr("models.interface.DEFAULT_WEIGHTS", tmp_path / "shipped")
    code = cli.main(["vary", str(source), "-o", str(tmp_path / "o.mid"), "--address", _free_address(),
                     "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and "running the model in this process" in err and str(tmp_path / "shipped") in err


def test_bad_input_file_and_bad_flags(tmp_path: Path, capsys) -> None:
    (tmp_path / "junk.mid").write_bytes(b"junk")
    assert cli.main(["vary", str(tmp_path / "junk.mid"), "-o", str(tmp_path / "o.mid")]) == 2
    assert "not a readable MIDI file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["harmonize", "x.mid", "-o", "y.mid", "--style", "polka"])


def test_ping_info_and_unreachable(modelless_address: str, capsys) -> None:
    assert cli.main(["ping", "--address", modelless_address]) == 0
    assert "answered in" in capsys.readouterr().out
    assert cli.main(["info", "--address", modelless_address]) == 0
    view = capsys.readouterr().out
    assert "protocol 1" in view and "model     none loaded: " in view, view
    assert "requests  0 served, 0 failed" in view and "max_candidates 8," in view and "{" not in view
    assert f"max_request_bytes {MAX_REQUEST_BYTES}," in view  # whole numbers in full, not 2.09715e+06
    assert cli.main(["info", "--json", "--address", modelless_address]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["protocol"] == 1 and info["model"] is None
    assert cli.main(["ping", "--address", _free_address(), "--timeout", "0.2"]) == 2
    assert "dawbridge serve" in capsys.readouterr().err


def test_live_command_reaches_an_attached_session(modelless_address: str, capsys) -> None:
    assert cli.main(["live", "harmonize", "--style", "chords", "--address", modelless_address]) == 1
    assert "no Ableton Live session" in capsys.readouterr().err
    with Client(modelless_address) as session:
        session_id = session.attach("live", "Set")
        assert cli.main(["live", "harmonize", "--style", "chords", "--address", modelless_address]) == 0
        event = session.next_event(session_id, 2.0)
        assert cli.main(["reaper", "fill", "--address", modelless_address]) == 1
    assert event is not None and event["command"] == {"op": "harmonize", "style": "chords"}


def test_missing_plugin_module_is_a_clear_message(capsys) -> None:
    assert cli._optional("installers.nowhere", "the nowhere installer") is None
    assert "installers.nowhere is missing" in capsys.readouterr().err


def test_serve_refuses_a_network_bind_without_insecure(capsys) -> None:
    assert cli.main(["serve", "--bind", "tcp://0.0.0.0:5999"]) == 2
    assert "--insecure" in capsys.readouterr().err


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    address = _free_address()
    with dawbridge("serve", "--bind", address, "--weights", str(tmp_path / "none")) as process, \
            Client(address, timeout=0.5) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except EngineUnreachable:
                assert time.monotonic() < deadline and process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert "engine stopped" in process.stderr.read()


def _help(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_texts_say_what_the_commands_do(capsys) -> None:
    restyle = _help(["restyle"], capsys)
    assert "PydanticUndefined" not in restyle and "[--style" not in restyle and "--style STYLE" in restyle
    assert "melody style for melodies. (required)" in restyle
    with pytest.raises(SystemExit):
        cli.main(["restyle", "in.mid", "-o", "out.mid"])
    assert "the following arguments are required: --style" in capsys.readouterr().err
    drums = _help(["drums"], capsys)
    assert "Bars to generate, 1..64. (default: the file's length)" in drums
    assert "--uninstall" not in _help(["doctor"], capsys) and "--uninstall" not in _help(["doctor", "reaper"], capsys)
    assert "--uninstall" in _help(["install", "reaper"], capsys)
    for command in ("ping", "info"):
        text = _help([command], capsys)
        assert "--address ADDRESS the engine's (or relay's) ZeroMQ address" in text
        assert "--timeout TIMEOUT seconds to wait for the answer (default 5)" in text
    assert "--json print the engine's answer as JSON" in _help(["info"], capsys)


def test_doctor_without_a_target_says_which_to_name(capsys) -> None:
    assert cli.main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert "`dawbridge doctor reaper` or `dawbridge doctor ableton`" in err and "required" not in err
    with pytest.raises(SystemExit):
        cli.main(["doctor", "reaper", "--uninstall"])
    assert "unrecognized arguments: --uninstall" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "eval"])
def test_train_and_eval_reach_their_modules(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out
