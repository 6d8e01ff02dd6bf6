"""File commands on real MIDI files against real engines: output paths checked before any work,
Ctrl+C cancels the request at the engine, the time printed is the wall time (queue included),
written files keep the input's tempo and program changes, file notices print as plain messages,
keys are taken as people type them."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import mido

from bridge.cli import main as cli
from bridge.cli import midifile
from bridge.client import Client
from tests.bridge.cli.process import dawbridge
from tests.bridge.midi_files import daw_export, type0_tune
from tests.bridge.timing_composer import TimingComposer


def _insert(track: mido.MidiTrack, tick: int, message: mido.Message) -> None:
    """Put ``message`` into ``track`` at absolute ``tick``, after what is already there."""
    absolute, now = [], 0
    for event in track:
        now += event.time
        absolute.append((now, event))
    end = [(t, e) for t, e in absolute if e.type == "end_of_track"]
    absolute = [(t, e) for t, e in absolute if e.type != "end_of_track"] + [(tick, message)]
    absolute.sort(key=lambda pair: pair[0])
    track.clear()
    now = 0
    for at, event in absolute + [(max(tick, t), e) for t, e in end]:
        track.append(event.copy(time=at - now))
        now = at


def song_with_changes(path: Path) -> Path:
    """The DAW export with a tempo change at beat 8 (128 -> 100 bpm) and the lead switching
    program (81 -> 82) at beat 8."""
    midi = mido.MidiFile(str(daw_export(path)))
    tpb = midi.ticks_per_beat
    _insert(midi.tracks[0], 8 * tpb, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))
    lead = midi.tracks[4]
    lead[1] = mido.Message("program_change", program=81, channel=3)
    _insert(lead, 8 * tpb, mido.Message("program_change", program=82, channel=3))
    midi.save(str(path))
    return path


def test_outputs_that_cannot_be_written_are_refused_before_any_work(start_engine, tmp_path: Path, capsys) -> None:
    composer = TimingComposer(bar_seconds=0.001)
    server = start_engine(composer=composer)
    source = type0_tune(tmp_path / "tune.mid")
    before = source.read_bytes()
    (tmp_path / "sub").mkdir()
    for output in (str(source), str(tmp_path / "sub" / ".." / "tune.mid")):
        assert cli.main(["vary", str(source), "-o", output, "--address", server.address]) == 2
        assert "is the input file; write to another file (the input is never overwritten)" in capsys.readouterr().err
    for flags in (["-o", str(tmp_path / "missing" / "out.mid")],
                  ["-o", str(tmp_path / "out.mid"), "--preview", str(tmp_path / "nowhere" / "roll.png")]):
        assert cli.main(["vary", str(source), *flags, "--address", server.address]) == 2
        err = capsys.readouterr().err
        assert "does not exist; create it first" in err and "using part" not in err
    assert cli.main(["vary", str(source), "-o", str(tmp_path / "o.mid"), "--preview", str(tmp_path / "o.mid"),
                     "--address", server.address]) == 2
    assert "is also the -o file" in capsys.readouterr().err
    assert source.read_bytes() == before and composer.calls == 0 and not (tmp_path / "o.mid").exists()


def test_ctrl_c_cancels_the_request_at_the_engine(start_engine, tmp_path: Path) -> None:
    composer = TimingComposer(bar_seconds=0.5)  # 24 bars: 12 s of work
    server = start_engine(composer=composer, workers=1, max_batch=1)
    source = type0_tune(tmp_path / "tune.mid", bars=24)
    with dawbridge("vary", str(source), "-o", str(tmp_path / "out.mid"), "--address", server.address) as process:
        deadline = time.monotonic() + 60
        while composer.calls == 0:
            assert time.monotonic() < deadline and process.poll() is None, "the request never reached the engine"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 130
        assert "interrupted: the engine stopped the vary request; nothing written" in process.stderr.read()
    assert not (tmp_path / "out.mid").exists()
    short = midifile.read(type0_tune(tmp_path / "short.mid", bars=1))
    clip = short.clip(short.parts[0]).model_dump(mode="json", exclude_none=True)
    with Client(server.address) as client:
        started = time.perf_counter()
        client.request("vary", clip=clip, timeout=20)
        assert time.perf_counter() - started < 4.0  # the cancelled request no longer holds the worker


def test_the_time_printed_includes_the_queue_wait(start_engine, tmp_path: Path, capsys) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.25), workers=1, max_batch=1)
    long = midifile.read(type0_tune(tmp_path / "long.mid", bars=8))
    source = type0_tune(tmp_path / "tune.mid", bars=1)
    with Client(server.address) as client:
        first = client.send("vary", clip=long.clip(long.parts[0]).model_dump(mode="json", exclude_none=True),
                            timeout=30)
        time.sleep(0.2)
        assert cli.main(["vary", str(source), "-o", str(tmp_path / "out.mid"), "--address", server.address]) == 0
        client.wait(first, 30)
    printed = capsys.readouterr().out
    total, computing = (float(x) for x in re.search(r"(\d+\.\d+) s, (\d+\.\d+) s of it computing", printed).groups())
    assert total >= 1.2 and computing < 1.0, printed


def test_written_files_keep_tempo_and_program_changes(start_engine, tmp_path: Path, capsys) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001))
    source = song_with_changes(tmp_path / "song.mid")
    out = tmp_path / "out.mid"
    assert cli.main(["vary", str(source), "-o", str(out), "--address", server.address, "--candidates", "2"]) == 0
    err = capsys.readouterr().err
    assert f"note: {source} changes tempo 1 time(s); the model hears the first tempo (128 bpm), the written " \
           "file keeps the changes" in err
    assert "WARNING" not in err and not re.search(r"\d\d:\d\d:\d\d", err)
    song = midifile.read(out)
    assert song.tempos == [(0.0, 128.0), (8.0, 100.0)]
    assert [p.name for p in song.parts] == ["Lead Synth", "candidate 1: transposed +7", "candidate 2: transposed +8"]
    assert song.parts[0].programs == [(0.0, 81), (8.0, 82)]
    assert [p.programs for p in song.parts[1:]] == [[(0.0, 81)], [(0.0, 81)]]
    assert cli.main(["harmonize", str(source), "-o", str(out), "--address", server.address]) == 0
    harmonized = midifile.read(out)
    assert harmonized.tempos == song.tempos and harmonized.parts[0].programs == [(0.0, 81), (8.0, 82)]
    assert harmonized.parts[1].programs == []  # a new part: the DAW's default instrument


def test_keys_as_people_type_them(start_engine, tmp_path: Path, capsys) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001))
    source = type0_tune(tmp_path / "tune.mid")
    for key in ("c major", "Cm", "F#m", "Bb minor", "A min"):
        assert cli.main(["harmonize", str(source), "-o", str(tmp_path / "out.mid"), "--key", key,
                         "--address", server.address]) == 0, capsys.readouterr().err
    assert cli.main(["harmonize", str(source), "-o", str(tmp_path / "out.mid"), "--key", "H dur",
                     "--address", server.address]) == 1
    assert 'key must be a tonic A..G' in capsys.readouterr().err


def test_a_melody_is_refused_by_fill_and_by_a_drum_style(start_engine, tmp_path: Path, capsys) -> None:
    server = start_engine()  # the shipped model
    source = type0_tune(tmp_path / "tune.mid")
    for command in (["fill"], ["restyle", "--style", "rock"]):
        assert cli.main([*command, str(source), "-o", str(tmp_path / "out.mid"), "--address", server.address]) != 0
        assert "melody" in capsys.readouterr().err
    assert not (tmp_path / "out.mid").exists()
