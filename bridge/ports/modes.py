"""What `dawbridge ports` does with the notes it hears: the live harmonizer and
capture-and-answer. Each mode turns input messages (and the passing of time) into output
messages; the port loop in bridge/ports/ports.py owns the ports and the clock.

Both keep their promises about stuck notes in one place: every note they start is started
through an :class:`OutputNotes`, and ``all_off`` ends all of them and sends all-notes-off on
every channel used.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from bridge.ports.clock import Clock
from bridge.ports.notes import HeldNote, InputNotes, OutputNotes
from bridge.ports.stream import CC_PANIC, CC_RESET_CONTROLLERS, CONTROL, RESET, Message
from models.interface import Composer
from models.ops.live import LiveHarmonizer, LiveNote
from models.representation import Note, Part
from models.tasks import ContinueTask, HarmonizeTask, Sampling

log = logging.getLogger(__name__)

LATE_SECONDS = 0.15  # a note-on waiting longer than this for the model is left unharmonized
HARMONY_SOFTER = 8  # velocity below the melody note's
CHASE_BEATS = 0.25  # an answer note that is late starts anyway when this much of it is left


@dataclass(eq=False)
class _Voice:
    role: str
    channel: int
    note: LiveNote
    sounding: bool = True


class HarmonizeMode:
    """Each melody note-on is answered with harmony voices chosen by the model; the voices end
    with their melody note, or earlier when the same voice moves on to the next note."""

    def __init__(self, harmonizer: LiveHarmonizer, clock: Clock, channel: int | None = None,
                 late: float = LATE_SECONDS) -> None:
        self.harmonizer = harmonizer
        self.clock = clock
        self.channel = channel
        self.late = late
        self.inputs = InputNotes()
        self.outputs = OutputNotes()
        self.dropped = 0  # note-ons that waited too long to be harmonized
        self._voices: dict[int, list[_Voice]] = {}  # melody note id -> its voices
        self._melody: dict[int, LiveNote] = {}
        self._current: dict[str, list[_Voice]] = {}  # role -> its latest voices

    def handle(self, msg: Message, at: float, transport: str | None = None) -> list[Message]:
        if transport in ("start", "stop", "position") or msg.status == RESET:
            out = self.all_off()
            self.harmonizer.reset()
            return out
        if msg.kind == CONTROL and msg.data[0] in CC_PANIC:
            return self._release_all(self.inputs.release_all(msg.channel), at)
        if msg.kind == CONTROL and msg.data[0] == CC_RESET_CONTROLLERS:
            return self._release_all(self.inputs.sustain(msg.channel, False, at), at)
        started, ended = self.inputs.handle(msg, at)
        out = self._release_all(ended, at)
        if started is not None:
            out += self._harmonize(started, at)
        return out

    def tick(self, now: float) -> list[Message]:
        self.harmonizer.refresh(self.clock.beats(now))
        return []

    def wait_hint(self, now: float) -> float:
        return 0.05

    def all_off(self) -> list[Message]:
        now = time.perf_counter()
        out = self._release_all(self.inputs.release_all(), now)
        return out + self.outputs.panic()

    def close(self) -> None:
        self.harmonizer.wait()  # no model work may outlive the process's own threads

    def _harmonize(self, note: HeldNote, at: float) -> list[Message]:
        if time.perf_counter() - at > self.late:
            self.dropped += 1
            return []
        beats = self.clock.beats(at)
        voicing = self.harmonizer.onset(beats, note.pitch)
        self._melody[note.id] = voicing.melody if voicing else LiveNote(0, note.pitch, 1)
        if voicing is None:
            return []
        channel = note.channel if self.channel is None else self.channel
        velocity = note.velocity - HARMONY_SOFTER
        out: list[Message] = []
        for role in {role for role, _ in voicing.voices}:  # the voices move on
            for voice in self._current.pop(role, []):
                out += self._stop(voice, beats)
        mine = []
        for role, live in voicing.voices:
            voice = _Voice(role, channel, live)
            out += self.outputs.start(channel, live.pitch, velocity)
            self._current.setdefault(role, []).append(voice)
            mine.append(voice)
        self._voices[note.id] = mine
        return out

    def _release_all(self, notes: list[HeldNote], at: float) -> list[Message]:
        out: list[Message] = []
        beats = self.clock.beats(at)
        for note in notes:
            melody = self._melody.pop(note.id, None)
            if melody is not None:
                self.harmonizer.end(melody, beats)
            for voice in self._voices.pop(note.id, []):
                out += self._stop(voice, beats)
        return out

    def _stop(self, voice: _Voice, beats: float) -> list[Message]:
        if not voice.sounding:
            return []
        voice.sounding = False
        self.harmonizer.end(voice.note, beats)
        return self.outputs.stop(voice.channel, voice.note.pitch)


@dataclass
class _Capture:
    start: float  # beats: the window's first beat
    notes: list[tuple[HeldNote, float, float | None]] = field(default_factory=list)  # note, on, off


class AnswerMode:
    """Listen for ``bars`` bars, then play the model's answer on the next ``bars`` bars, and
    again. With the DAW's clock the windows follow its bars; without, they start at the first
    note played. The answer is a continuation when the model has `continue`, else an
    accompaniment (`harmonize`) of the bars just played."""

    def __init__(self, composer: Composer, clock: Clock, bars: int = 4,
                 time_signature: tuple[int, int] = (4, 4), style: str = "chords",
                 key: str | None = None, channel: int | None = None, sampling: Sampling | None = None) -> None:
        self.composer = composer
        self.clock = clock
        self.bars = bars
        self.time_signature = time_signature
        self.span = bars * time_signature[0] * 4.0 / time_signature[1]  # beats per window
        self.style = style
        self.key = key
        self.channel = channel
        self.sampling = sampling or Sampling()
        self.op = "continue" if "continue" in composer.ops() else "harmonize"
        self.inputs = InputNotes()
        self.outputs = OutputNotes()
        self.late_notes = 0  # answer notes whose time had passed when the model finished
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer")
        self._origin: float | None = None  # beat of the first window's start
        self._capture: _Capture | None = None
        self._pending: tuple[float, int, Future[list[list[Part]]]] | None = None  # start, channel, work
        self._events: list[tuple[float, int, Message]] = []  # (beat, order, message) to play

    def handle(self, msg: Message, at: float, transport: str | None = None) -> list[Message]:
        if transport in ("start", "stop", "position") or msg.status == RESET:
            out = self.all_off()
            self._origin = 0.0 if transport == "start" else None
            return out
        if msg.kind == CONTROL and msg.data[0] in CC_PANIC:
            self.inputs.release_all(msg.channel)
            return self.all_off()
        started, ended = self.inputs.handle(msg, at)
        beats = self.clock.beats(at)
        if self._capture is not None:
            for note in ended:
                self._capture.notes = [(n, on, beats if n is note else off) for n, on, off in self._capture.notes]
        if started is not None:
            if self._origin is None:
                if not self.clock.following:
                    self.clock.anchor(at, 0.0)
                beats = self.clock.beats(at)
                self._origin = beats if not self.clock.following else 0.0
            window = int((beats - self._origin) // self.span)
            if window % 2 == 0:
                start = self._origin + window * self.span
                if self._capture is None or self._capture.start != start:
                    self._capture = _Capture(start)
                self._capture.notes.append((started, beats, None))
        return self.tick(at)

    def tick(self, now: float) -> list[Message]:
        beats = self.clock.beats(now)
        if self._capture is not None and beats >= self._capture.start + self.span:
            self._submit(self._capture)
            self._capture = None
        if self._pending is not None and self._pending[2].done():
            self._schedule(*self._pending, beats)
            self._pending = None
        out: list[Message] = []
        while self._events and self._events[0][0] <= beats:
            _, kind, msg = self._events.pop(0)
            out += self.outputs.start(msg.channel, msg.data[0], msg.data[1]) if kind == 1 else \
                self.outputs.stop(msg.channel, msg.data[0])
        return out

    def wait_hint(self, now: float) -> float:
        if not self._events:
            return 0.01 if self._pending or self._capture else 0.05
        return max(0.0005, min(0.05, self.clock.seconds_until(self._events[0][0], now)))

    def all_off(self) -> list[Message]:
        self._capture = None
        self._pending = None
        self._events = []
        return self.outputs.panic()

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _submit(self, capture: _Capture) -> None:
        notes = tuple(Note(n.pitch, on - capture.start,
                           max(1 / 12, min(off if off is not None else capture.start + self.span,
                                           capture.start + self.span) - on), n.velocity)
                      for n, on, off in capture.notes)
        if not notes:
            return
        part = Part(notes, self.span, self.time_signature, round(self.clock.tempo, 2), self.key, kind="melody")
        task: ContinueTask | HarmonizeTask
        if self.op == "continue":
            task = ContinueTask(part, bars=self.bars, key=self.key, sampling=self.sampling)
        else:
            task = HarmonizeTask(part, style=self.style, key=self.key, sampling=self.sampling)
        channel = capture.notes[0][0].channel if self.channel is None else self.channel
        log.info("answering %d captured notes with %s", len(notes), self.op)
        self._pending = (capture.start + self.span, channel, self._worker.submit(self.composer.run, task))

    def _schedule(self, start: float, channel: int, work: Future[list[list[Part]]], beats: float) -> None:
        try:
            parts = work.result()[0]
        except Exception as exc:  # the model refused or failed: say so, keep listening
            log.error("the answer failed: %s", exc)
            return
        events = []
        for part in parts:
            for n in part.notes:
                on = start + n.start
                off = min(start + n.end, start + self.span) - 1e-6
                if on < beats:  # the model took longer than the time before this note
                    self.late_notes += 1
                    if off - beats < CHASE_BEATS:
                        continue
                    on = beats  # enough of it is left: start it now, as sequencers chase notes
                events.append((on, 1, Message(0x90 | channel, (n.pitch, n.velocity))))
                events.append((max(on, off), 0, Message(0x80 | channel, (n.pitch, 0))))
        if self.late_notes:
            log.info("%d answer notes so far came late (started late or left out)", self.late_notes)
        self._events = sorted(self._events + events, key=lambda e: (e[0], e[1]))
