"""MIDI byte streams -> whole messages, as real ports deliver them.

A port may hand over bytes in any slicing: several messages in one packet, one message split
over two, the status byte left out (running status), a realtime byte such as a clock tick
(0xF8) in the middle of a note message, SysEx of any length. :class:`MidiParser` keeps its state
between calls and yields every complete channel, system common and realtime message in
order; SysEx and undefined bytes are skipped. Message and controller numbers live here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NOTE_OFF = 0x80
NOTE_ON = 0x90
POLY_PRESSURE = 0xA0
CONTROL = 0xB0
PROGRAM = 0xC0
CHANNEL_PRESSURE = 0xD0
PITCH_BEND = 0xE0
SYSEX = 0xF0
SONG_POSITION = 0xF2
SYSEX_END = 0xF7
CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
RESET = 0xFF

CC_SUSTAIN = 64
CC_ALL_SOUND_OFF = 120
CC_RESET_CONTROLLERS = 121
CC_ALL_NOTES_OFF = 123
CC_PANIC = frozenset({120, 123, 124, 125, 126, 127})  # all sound off, all notes off, mode changes

_CHANNEL_DATA = {NOTE_OFF: 2, NOTE_ON: 2, POLY_PRESSURE: 2, CONTROL: 2, PROGRAM: 1,
                 CHANNEL_PRESSURE: 1, PITCH_BEND: 2}
_COMMON_DATA = {0xF1: 1, SONG_POSITION: 2, 0xF3: 1, 0xF6: 0}
_REALTIME = frozenset({CLOCK, START, CONTINUE, STOP, 0xFE, RESET})


@dataclass(frozen=True)
class Message:
    """One complete MIDI message. ``status`` keeps the channel in its low nibble."""

    status: int
    data: tuple[int, ...] = ()

    @property
    def kind(self) -> int:
        """The message type: NOTE_ON, CONTROL, ... for channel messages, else the status."""
        return self.status & 0xF0 if self.status < SYSEX else self.status

    @property
    def channel(self) -> int:
        return self.status & 0x0F

    @property
    def is_note_on(self) -> bool:
        return self.kind == NOTE_ON and self.data[1] > 0

    @property
    def is_note_off(self) -> bool:
        """A note-off, including a note-on with velocity 0 (how running status sends them)."""
        return self.kind == NOTE_OFF or (self.kind == NOTE_ON and self.data[1] == 0)

    def bytes(self) -> list[int]:
        return [self.status, *self.data]


def note_on(channel: int, pitch: int, velocity: int) -> Message:
    return Message(NOTE_ON | channel, (pitch, velocity))


def note_off(channel: int, pitch: int) -> Message:
    return Message(NOTE_OFF | channel, (pitch, 0))


def control(channel: int, number: int, value: int) -> Message:
    return Message(CONTROL | channel, (number, value))


class MidiParser:
    """Bytes in any slicing -> messages. One parser per input port."""

    def __init__(self) -> None:
        self._status: int | None = None  # the status the next data bytes belong to
        self._data: list[int] = []
        self._in_sysex = False

    def feed(self, data: Iterable[int]) -> list[Message]:
        out: list[Message] = []
        for byte in data:
            if byte >= CLOCK:  # realtime: may sit anywhere, changes nothing else
                if byte in _REALTIME:
                    out.append(Message(byte))
            elif byte >= NOTE_OFF:
                self._status_byte(byte, out)
            elif not self._in_sysex and self._status is not None:
                self._data.append(byte & 0x7F)
                if len(self._data) == self._needed(self._status):
                    out.append(Message(self._status, tuple(self._data)))
                    self._data = []
                    if self._status >= SYSEX:  # system common: no running status after it
                        self._status = None
        return out

    def _status_byte(self, byte: int, out: list[Message]) -> None:
        self._data = []
        self._in_sysex = byte == SYSEX
        if byte < SYSEX:
            self._status = byte
        elif byte in _COMMON_DATA:
            self._status = byte
            if _COMMON_DATA[byte] == 0:
                out.append(Message(byte))
                self._status = None
        else:  # SysEx start or end, undefined: cancels running status
            self._status = None

    @staticmethod
    def _needed(status: int) -> int:
        if status < SYSEX:
            return _CHANNEL_DATA[status & 0xF0]
        return _COMMON_DATA[status]
