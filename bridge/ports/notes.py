"""Which notes are sounding, on the way in and on the way out, so that nothing ever hangs.

:class:`InputNotes` matches note-offs to note-ons the way a synthesizer does: per channel and
pitch, first in first out, so overlapping notes of one pitch end one at a time; a note-on with
velocity 0 is a note-off; while the sustain pedal (CC 64) is down, released keys keep sounding
until the pedal comes up. :class:`OutputNotes` counts what this side has started per channel
and pitch: a pitch started twice is struck again rather than stacked, and only the last stop
sends the note-off. ``panic`` ends everything and says all-notes-off on every channel used.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from dataclasses import dataclass, field

from bridge.ports.stream import (
    CC_ALL_NOTES_OFF,
    CC_SUSTAIN,
    Message,
    control,
    note_off,
    note_on,
)

_ids = itertools.count(1)


@dataclass(eq=False)
class HeldNote:
    """An incoming note from its note-on until it stops sounding."""

    channel: int
    pitch: int
    velocity: int
    start: float  # seconds, the caller's clock
    id: int = field(default_factory=lambda: next(_ids))
    key_up: float | None = None  # when its key was released (it may still sound, sustained)


class InputNotes:
    """Note-on/note-off matching with the sustain pedal, for one input port."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, int], deque[HeldNote]] = defaultdict(deque)
        self._pedal: set[int] = set()  # channels whose sustain pedal is down

    def handle(self, msg: Message, now: float) -> tuple[HeldNote | None, list[HeldNote]]:
        """Feed one message: returns (the note it started or None, the notes it ended)."""
        if msg.is_note_on:
            note = HeldNote(msg.channel, msg.data[0], msg.data[1], now)
            self._held[(msg.channel, msg.data[0])].append(note)
            return note, []
        if msg.is_note_off:
            return None, self.key_up(msg.channel, msg.data[0], now)
        if msg.kind == 0xB0 and msg.data[0] == CC_SUSTAIN:
            return None, self.sustain(msg.channel, msg.data[1] >= 64, now)
        return None, []

    def key_up(self, channel: int, pitch: int, now: float) -> list[HeldNote]:
        queue = self._held.get((channel, pitch))
        pressed = [n for n in queue or () if n.key_up is None]
        if not pressed:
            return []  # a note-off without its note-on: nothing to end
        note = pressed[0]  # first in, first out
        note.key_up = now
        if channel in self._pedal:
            return []
        assert queue is not None
        queue.remove(note)
        return [note]

    def sustain(self, channel: int, down: bool, now: float) -> list[HeldNote]:
        if down:
            self._pedal.add(channel)
            return []
        self._pedal.discard(channel)
        ended: list[HeldNote] = []
        for (ch, _), queue in self._held.items():
            if ch == channel:
                ended += [n for n in queue if n.key_up is not None]
                kept = [n for n in queue if n.key_up is None]
                queue.clear()
                queue.extend(kept)
        return sorted(ended, key=lambda n: n.start)

    def release_all(self, channel: int | None = None) -> list[HeldNote]:
        """End every note (of one channel, or all): panic, transport stop, a lost port."""
        ended: list[HeldNote] = []
        for (ch, _), queue in self._held.items():
            if channel is None or ch == channel:
                ended += queue
                queue.clear()
        if channel is None:
            self._pedal.clear()
        else:
            self._pedal.discard(channel)
        return sorted(ended, key=lambda n: n.start)

    def sounding(self) -> list[HeldNote]:
        return sorted((n for q in self._held.values() for n in q), key=lambda n: n.start)


class OutputNotes:
    """What has been started on an output port. Methods return the messages to send."""

    def __init__(self) -> None:
        self._count: dict[tuple[int, int], int] = defaultdict(int)
        self.channels: set[int] = set()  # every channel anything was sent on

    def start(self, channel: int, pitch: int, velocity: int) -> list[Message]:
        key = (channel, pitch)
        self.channels.add(channel)
        out = [note_off(channel, pitch)] if self._count[key] else []  # strike again, never stack
        self._count[key] += 1
        return out + [note_on(channel, pitch, max(1, min(127, velocity)))]

    def stop(self, channel: int, pitch: int) -> list[Message]:
        key = (channel, pitch)
        if self._count[key] <= 0:
            return []
        self._count[key] -= 1
        if self._count[key]:
            return []
        del self._count[key]
        return [note_off(channel, pitch)]

    def sounding(self) -> list[tuple[int, int]]:
        return sorted(k for k, n in self._count.items() if n > 0)

    def panic(self) -> list[Message]:
        """Note-offs for everything sounding, then all-notes-off and sustain-off on every
        channel used."""
        out = [note_off(ch, pitch) for ch, pitch in self.sounding()]
        self._count.clear()
        for ch in sorted(self.channels):
            out += [control(ch, CC_SUSTAIN, 0), control(ch, CC_ALL_NOTES_OFF, 0)]
        return out
