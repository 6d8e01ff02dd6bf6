"""Note matching, the MIDI byte parser and clock following on recorded event streams: running
status, velocity-0 note-offs, realtime bytes inside messages, overlapping same-pitch notes,
the sustain pedal, panic, clock jitter and clock dropping out."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bridge.ports.clock import Clock
from bridge.ports.modes import HarmonizeMode
from bridge.ports.notes import InputNotes, OutputNotes
from bridge.ports.stream import CLOCK, START, STOP, Message, MidiParser
from models.interface import load_composer
from models.ops.live import LiveHarmonizer, live_model
from tests.bridge.ports import fixtures as ports_fixtures

tiny_files = ports_fixtures.tiny_files
tiny_weights = ports_fixtures.tiny_weights


def parse(*chunks: list[int]) -> list[Message]:
    parser = MidiParser()
    return [m for chunk in chunks for m in parser.feed(chunk)]


def test_running_status_and_velocity_zero_note_offs() -> None:
    msgs = parse([0x90, 60, 100, 64, 90], [60, 0], [64, 0])
    assert [m.bytes() for m in msgs] == [[0x90, 60, 100], [0x90, 64, 90], [0x90, 60, 0], [0x90, 64, 0]]
    assert [m.is_note_on for m in msgs] == [True, True, False, False]
    assert [m.is_note_off for m in msgs] == [False, False, True, True]


def test_realtime_inside_a_message_split_over_packets() -> None:
    msgs = parse([0x91, 60], [CLOCK, 100, 0xB1], [64, CLOCK], [127])
    assert [m.bytes() for m in msgs] == [[CLOCK], [0x91, 60, 100], [CLOCK], [0xB1, 64, 127]]


def test_sysex_and_system_common_cancel_running_status() -> None:
    msgs = parse([0x90, 60, 100, 0xF0, 1, 2, 3, 0xF7, 61, 100], [0xF2, 8, 0, 62, 100], [0xC0, 5, 6])
    assert [m.bytes() for m in msgs] == [[0x90, 60, 100], [0xF2, 8, 0], [0xC0, 5], [0xC0, 6]]
    assert parse([60, 100, 0x80, 60, 0]) == [Message(0x80, (60, 0))]  # stray data before any status


def test_overlapping_same_pitch_notes_end_first_in_first_out() -> None:
    notes = InputNotes()
    first, _ = notes.handle(Message(0x90, (60, 100)), 0.0)
    second, _ = notes.handle(Message(0x90, (60, 80)), 0.1)
    _, ended = notes.handle(Message(0x90, (60, 0)), 0.2)
    assert ended == [first]
    _, ended = notes.handle(Message(0x80, (60, 0)), 0.3)
    assert ended == [second]
    assert notes.handle(Message(0x80, (60, 0)), 0.4) == (None, [])  # an orphan note-off
    assert notes.sounding() == []


def test_sustain_holds_released_keys_until_the_pedal_comes_up() -> None:
    notes = InputNotes()
    a, _ = notes.handle(Message(0x90, (60, 100)), 0.0)
    notes.handle(Message(0xB0, (64, 127)), 0.1)
    assert notes.handle(Message(0x80, (60, 0)), 0.2) == (None, [])
    b, _ = notes.handle(Message(0x90, (62, 100)), 0.3)
    other, _ = notes.handle(Message(0x91, (60, 100)), 0.3)  # another channel: no pedal there
    _, ended = notes.handle(Message(0xB0, (64, 0)), 0.4)
    assert ended == [a]
    assert notes.handle(Message(0x81, (60, 0)), 0.5)[1] == [other]
    assert notes.release_all() == [b]


def test_output_notes_strike_again_and_panic_on_every_channel() -> None:
    out = OutputNotes()
    assert [m.bytes() for m in out.start(2, 60, 90)] == [[0x92, 60, 90]]
    assert [m.bytes() for m in out.start(2, 60, 90)] == [[0x82, 60, 0], [0x92, 60, 90]]
    assert out.stop(2, 60) == []  # still held by the other voice
    assert [m.bytes() for m in out.stop(2, 60)] == [[0x82, 60, 0]]
    assert out.stop(2, 60) == []
    out.start(5, 40, 70)
    out.start(9, 41, 70)
    panic = [m.bytes() for m in out.panic()]
    assert panic[:2] == [[0x85, 40, 0], [0x89, 41, 0]]
    assert [b for b in panic if b[1] == 123] == [[0xB2, 123, 0], [0xB5, 123, 0], [0xB9, 123, 0]]
    assert out.sounding() == []


def clock_stream(bpm: float, ticks: int, jitter: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    step = 60.0 / (bpm * 24)
    return [10.0 + i * step + rng.uniform(-jitter, jitter) for i in range(ticks)]


def test_clock_tempo_and_position_through_jitter() -> None:
    clock = Clock(100.0)
    assert clock.handle(Message(START), 9.99) == "start"
    times = clock_stream(128.0, 24 * 16, jitter=0.003)
    last = -1.0
    for i, t in enumerate(times):
        clock.handle(Message(CLOCK), t)
        pos = clock.beats(t + 0.004)
        assert pos >= last
        assert abs(pos - i / 24) < 1.5 / 24
        last = pos
    assert clock.following
    assert clock.tempo == pytest.approx(128.0, rel=0.01)


def test_clock_song_position_stop_continue_and_dropout() -> None:
    clock = Clock(120.0)
    clock.handle(Message(0xF2, (16, 0)), 0.0)  # sixteenth 16 = beat 4
    assert clock.handle(Message(0xFB), 0.0) == "continue"
    times = clock_stream(120.0, 48, jitter=0.0)
    for t in times:
        clock.handle(Message(CLOCK), t)
    assert clock.beats(times[-1]) == pytest.approx(4 + 47 / 24)
    # the ticks stop without a Stop (a cable pulled): time runs on freely at the last tempo
    later = times[-1] + 2.0
    assert clock.beats(later) == pytest.approx(4 + 47 / 24 + 4.0, abs=0.05)
    assert not clock.following
    assert clock.handle(Message(STOP), later) == "stop"
    assert not clock.running


def test_free_running_clock_without_midi_clock() -> None:
    clock = Clock(90.0)
    clock.anchor(5.0)
    assert clock.beats(7.0) == pytest.approx(3.0)
    assert clock.seconds_until(6.0, 7.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="tempo must be in range"):
        Clock(1000.0)


def test_random_streams_leave_no_stuck_notes(tiny_weights: Path) -> None:
    """Harmonize mode on a recorded random stream (overlaps, running status, velocity-0
    note-offs, sustain, panic): every harmony note-on gets its note-off."""
    harmonizer = LiveHarmonizer(live_model(load_composer(tiny_weights, "cpu")), "chorale", background=False)
    mode = HarmonizeMode(harmonizer, Clock(140.0), late=float("inf"))
    rng = random.Random(7)
    stream: list[int] = []
    held: list[tuple[int, int]] = []
    for _ in range(400):
        roll = rng.random()
        if roll < 0.45 or not held:
            ch, pitch = rng.choice((0, 1)), rng.randint(60, 76)
            held.append((ch, pitch))
            stream += [0x90 | ch, pitch, rng.randint(1, 127)]
        elif roll < 0.85:
            ch, pitch = held.pop(rng.randrange(len(held)))
            stream += [0x90 | ch, pitch, 0] if rng.random() < 0.5 else [0x80 | ch, pitch, 64]
        elif roll < 0.95:
            stream += [0xB0 | rng.choice((0, 1)), 64, rng.choice((0, 127))]
        else:
            stream += [0xB0 | rng.choice((0, 1)), 123, 0]
    stream += [b for ch, pitch in held for b in (0x80 | ch, pitch, 0)] + [0xB0, 64, 0, 0xB1, 64, 0]
    stream = running_status(stream)
    parser, sent = MidiParser(), []
    t = 0.0
    for i in range(0, len(stream), 5):  # packets cut anywhere
        for msg in parser.feed(stream[i:i + 5]):
            t += 0.05
            sent += mode.handle(msg, t)
    assert sum(m.is_note_on for m in sent) > 100
    assert mode.outputs.sounding() == []
    sounding: set[tuple[int, int]] = set()
    for m in sent:
        if m.is_note_on:
            sounding.add((m.channel, m.data[0]))
        elif m.is_note_off:
            sounding.discard((m.channel, m.data[0]))
    assert not sounding


def running_status(stream: list[int]) -> list[int]:
    """Drop repeated status bytes of channel messages, as a hardware keyboard does."""
    out, last, i = [], None, 0
    while i < len(stream):
        status = stream[i]
        if status != last:
            out.append(status)
        out += stream[i + 1:i + 3]
        last, i = status, i + 3
    return out
