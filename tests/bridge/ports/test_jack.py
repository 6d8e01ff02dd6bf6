"""`dawbridge ports` through real JACK MIDI ports (jackd's dummy backend): a melody sent into
the input comes back harmonized on the output, capture-and-answer plays in time (set tempo
and MIDI clock), an attached port that disappears ends its notes and is attached again, and
Ctrl+C ends every note on every channel used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import rtmidi

from bridge.cli.main import main
from bridge.ports.clock import Clock
from bridge.ports.modes import AnswerMode, HarmonizeMode
from bridge.ports.ports import Mode, PortLoop, Ports
from models.interface import load_composer
from models.ops.harmonize import scale_pitches
from models.ops.live import LiveHarmonizer, live_model
from tests.bridge.ports import fixtures as ports_fixtures
from tests.bridge.ports.fixtures import DELIVERY_SECONDS, Keys, Recorder
from tests.bridge.timing_composer import TimingComposer

# Real-time tests through a JACK server: on a shared, loaded machine JACK can drop the MIDI of
# a client that misses its cycle. A failure is run again (twice at most) before it counts.
pytestmark = pytest.mark.flaky(reruns=2, reruns_delay=1)

ROOT = Path(__file__).resolve().parents[3]

tiny_files = ports_fixtures.tiny_files
tiny_weights = ports_fixtures.tiny_weights
jack_server = ports_fixtures.jack_server


@contextmanager
def engine(name: str, mode: Mode, clock: Clock, attach: bool = False) -> Iterator[PortLoop]:
    ports = Ports(f"In {name}", f"Out {name}", api="jack", attach=attach)
    ports.open()
    loop = PortLoop(ports, mode, clock)
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()
        ports.close()


def harmonize_mode(weights: Path, style: str = "chorale", key: str | None = None) -> HarmonizeMode:
    clock = Clock(120.0)
    model = live_model(load_composer(weights, "cpu"))
    harmonizer = LiveHarmonizer(model, style, key, background=False)
    harmonizer.warm_up()
    return HarmonizeMode(harmonizer, clock, late=2.0)  # correctness here; bench/ measures latency


def test_melody_comes_back_harmonized(jack_server: None, tiny_weights: Path) -> None:
    mode = harmonize_mode(tiny_weights, key="C major")
    melody = [72, 74, 76, 77, 79]
    with engine("harm", mode, mode.clock), Keys("keys-harm", "In harm") as keys, \
            Recorder("rec-harm", "Out harm") as rec:
        for pitch in melody:
            keys.send(0x92, pitch, 90)
            time.sleep(0.15)
            keys.send(0x92, pitch, 0)  # a note-on with velocity 0 ends it
        time.sleep(0.2)
    ons = rec.note_ons()
    assert mode.dropped == 0
    assert len(ons) == 3 * len(melody)
    for i, pitch in enumerate(melody):
        voices = [p for _, _, p in ons[3 * i:3 * i + 3]]
        assert all(ch == 2 for _, ch, _ in ons[3 * i:3 * i + 3])
        assert all(p < pitch and p in scale_pitches("C major") for p in voices)
    assert not rec.sounding()


def test_running_status_overlaps_and_sustain_leave_nothing_hanging(jack_server: None, tiny_weights: Path) -> None:
    mode = harmonize_mode(tiny_weights, style="chords")
    with engine("robust", mode, mode.clock), Keys("keys-robust", "In robust") as keys, \
            Recorder("rec-robust", "Out robust") as rec:
        keys.send(0x90, 67, 80)
        keys.send(71, 80)  # running status: a note-on without its status byte
        time.sleep(0.1)
        keys.send(0x90, 67, 90)  # the same pitch again, overlapping
        time.sleep(0.1)
        keys.send(0xB0, 64, 127)  # sustain down
        keys.send(0x80, 67, 0)
        keys.send(67, 0)  # running status note-offs
        keys.send(71, 0)
        time.sleep(0.1)
        assert rec.sounding(), "the pedal keeps the harmony sounding"
        keys.send(0xB0, 64, 0)
        time.sleep(0.2)
    assert rec.note_ons()
    assert not rec.sounding()


def test_answer_plays_in_time_at_a_set_tempo(jack_server: None) -> None:
    clock = Clock(240.0)  # a 4/4 bar is one second
    composer = TimingComposer(bar_seconds=0.0, semitones=7)
    mode = AnswerMode(composer, clock, bars=1)
    with engine("answer", mode, clock), Keys("keys-answer", "In answer") as keys, \
            Recorder("rec-answer", "Out answer") as rec:
        sent = []
        for pitch in (60, 62, 64, 65):
            sent.append(time.perf_counter())
            keys.send(0x90, pitch, 100)
            time.sleep(0.2)
            keys.send(0x80, pitch, 0)
            time.sleep(0.05)
        rec.wait_for(8, timeout=3)
    ons = rec.note_ons()
    assert [p for _, _, p in ons] == [67, 69, 71, 72]
    for (t, _, _), s in zip(ons, sent, strict=True):
        assert abs((t - sent[0]) - (s - sent[0] + 1.0)) < 0.03 + DELIVERY_SECONDS, "each answer note a bar after its model"
    assert not rec.sounding()


def test_answer_follows_the_daws_clock(jack_server: None) -> None:
    clock = Clock(120.0)
    mode = AnswerMode(TimingComposer(bar_seconds=0.0, semitones=12), clock, bars=1)
    tick = 60.0 / (180.0 * 24)  # the DAW plays at 180 bpm
    with engine("clock", mode, clock), Keys("keys-clock", "In clock") as keys, \
            Recorder("rec-clock", "Out clock") as rec:
        keys.send(0xFA)  # Start
        start = time.perf_counter()
        beats = {0: 60, 24: 64, 48: 67, 72: 72}
        for n in range(24 * 8):
            while time.perf_counter() < start + n * tick:
                time.sleep(0.0005)
            keys.send(0xF8)
            if n in beats:
                keys.send(0x90, beats[n], 100)
            if n - 12 in beats:
                keys.send(0x80, beats[n - 12], 0)
        keys.send(0xFC)  # Stop
        time.sleep(0.1)
    ons = rec.note_ons()
    assert [p for _, _, p in ons] == [72, 76, 79, 84]
    for i, (t, _, _) in enumerate(ons):  # beat 4 + i, at 180 bpm
        assert abs(t - (start + (4 + i) * 24 * tick)) < 0.04 + DELIVERY_SECONDS
    assert not rec.sounding()


def test_an_attached_port_that_disappears(jack_server: None, tiny_weights: Path) -> None:
    source = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "loop-src")
    source.open_virtual_port("Loop keys")
    sink = Recorder("loop-sink", "Loop sink", virtual=True)
    mode = harmonize_mode(tiny_weights)
    ports = Ports("Loop keys", "Loop sink", api="jack", attach=True)
    ports.open()
    loop = PortLoop(ports, mode, mode.clock)
    loop.start()
    try:
        source.send_message([0x90, 70, 100])
        sink.wait_for(3)
        assert len(sink.note_ons()) == 3 and sink.sounding()
        source.close_port()
        source.delete()  # the loopback port goes away with the key still down
        deadline = time.monotonic() + 3
        while sink.sounding() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not sink.sounding(), "a lost port's harmony is ended"
        source = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "loop-src")
        source.open_virtual_port("Loop keys")
        deadline = time.monotonic() + 3
        while len(sink.note_ons()) < 6 and time.monotonic() < deadline:
            source.send_message([0x90, 72, 100])
            source.send_message([0x80, 72, 0])
            time.sleep(0.3)
        assert len(sink.note_ons()) >= 6, "attached again when it came back"
    finally:
        loop.stop()
        ports.close()
        source.delete()
        sink.close()


def test_sigint_ends_every_note_on_every_channel(jack_server: None, tiny_weights: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "bridge.cli.main", "ports", "--api", "jack", "--in", "In sig",
                             "--out", "Out sig", "--weights", str(tiny_weights)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        if "Ctrl+C stops" not in banner:  # it ended before its banner: say why
            assert proc.stderr is not None
            pytest.fail(f"dawbridge ports ended (exit {proc.wait(5)}): {banner}{proc.stderr.read()}")
        with Keys("keys-sig", "In sig") as keys, Recorder("rec-sig", "Out sig") as rec:
            keys.send(0x90, 72, 100)
            time.sleep(0.3)  # a later onset: one at the same grid position shares the harmony
            keys.send(0x93, 76, 100)
            rec.wait_for(6)
            assert {ch for _, ch, _ in rec.note_ons()} == {0, 3}
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
            time.sleep(0.1)
        assert proc.returncode == 0, err
        assert "all notes off" in out
        assert not rec.sounding()
        all_off = {b[0] & 15 for _, b in rec.events if b[0] & 0xF0 == 0xB0 and b[1] == 123}
        assert all_off == {0, 3}
    finally:
        if proc.poll() is None:
            proc.kill()


def close_under_a_flood(rounds: int) -> None:
    """Open the ports, flood their input from another client while the handler keeps the GIL
    busy, and close them mid-flood, ``rounds`` times. rtmidi's own callback crashed (a freed
    callback on JACK's thread) or hung (a join under the GIL) here within two rounds."""
    for i in range(rounds):
        print(f"round {i}: {_flood_and_close(i)} messages handled", flush=True)


def _flood_and_close(i: int) -> int:
    ports = Ports(f"In flood {i}", f"Out flood {i}", api="jack")
    handled: list[int] = []
    ports.received = lambda data, at: handled.append(sum(range(2000)))
    ports.open()
    keys = Keys(f"keys-flood-{i}", f"In flood {i}")
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            for _ in range(20):
                keys.send(0x90, 60, 100)
            time.sleep(0.001)

    sender = threading.Thread(target=flood)
    sender.start()
    deadline = time.monotonic() + 10
    while len(handled) < 100:
        if time.monotonic() > deadline:
            raise SystemExit(f"round {i}: only {len(handled)} messages reached the ports")
        time.sleep(0.01)
    sum(range(200_000))  # the main thread holds the GIL a while, as a busy engine does
    ports.close()
    stop.set()
    sender.join()
    keys.close()
    return len(handled)


def test_closing_the_ports_while_midi_arrives(jack_server: None) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "from tests.bridge.ports.test_jack import close_under_a_flood as f; f(5)"
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("closing the ports under a flood of MIDI hung")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.count("messages handled") == 5


def test_harmonize_refuses_to_start_without_a_model(jack_server: None, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ports", "--api", "jack", "--in", "In none", "--weights", str(tmp_path / "none")]) == 2
    assert "needs the model and cannot start" in capsys.readouterr().err
    probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "probe-none")
    assert not any("In none" in p for p in probe.get_ports())
    probe.delete()


def test_answer_with_the_real_model(jack_server: None, tiny_weights: Path) -> None:
    clock = Clock(240.0)
    composer = load_composer(tiny_weights, "cpu")
    mode = AnswerMode(composer, clock, bars=1, style="chords")
    # a continuation when the model has `continue`, else an accompaniment of the captured bar
    assert mode.op == ("continue" if "continue" in composer.ops() else "harmonize")
    with engine("answer-model", mode, clock), Keys("keys-am", "In answer-model") as keys, \
            Recorder("rec-am", "Out answer-model") as rec:
        start = time.perf_counter()
        for pitch in (72, 71, 69, 67):
            keys.send(0x90, pitch, 100)
            time.sleep(0.2)
            keys.send(0x80, pitch, 0)
            time.sleep(0.05)
        done = threading.Event()
        done.wait(1.5)
    ons = rec.note_ons()
    assert ons, "an answer was played"
    assert all(start + 0.95 < t < start + 2.1 for t, _, _ in ons)
    assert not rec.sounding()
