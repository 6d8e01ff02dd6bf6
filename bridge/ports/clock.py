"""Musical time from an input port: MIDI clock and song position when the DAW sends them,
else a set tempo.

MIDI clock is 24 ticks per quarter note; Start puts the song at beat 0 (the first tick after
it is beat 0), Continue resumes at the last Song Position Pointer, Stop halts. Ticks arrive
with jitter (USB, the DAW's own scheduling, a loaded CPU), so the tempo is measured over the
span of the last few beats of ticks (the jitter of two ticks, not of every one), and the
position between ticks is interpolated with it and never runs past the next tick or backwards. Without clock — or when ticks stop coming — time runs
freely at the last tempo from wherever it was.
"""

from __future__ import annotations

from collections import deque

from bridge.ports.stream import CLOCK, CONTINUE, SONG_POSITION, START, STOP, Message

PPQ = 24
TEMPO_WINDOW = 4 * PPQ  # ticks the tempo is measured over
CLOCK_TIMEOUT = 0.5  # seconds without a tick after which clock is no longer followed
MIN_TEMPO, MAX_TEMPO = 20.0, 400.0


class Clock:
    """Beats (quarter notes) since the song start, at a caller-given time in seconds."""

    def __init__(self, tempo: float = 120.0) -> None:
        if not MIN_TEMPO <= tempo <= MAX_TEMPO:
            raise ValueError(f"tempo must be in range {MIN_TEMPO:g}..{MAX_TEMPO:g} bpm, got {tempo}")
        self.tempo = tempo
        self.running = False  # the DAW's transport (clock-driven)
        self._ticks = 0  # clock ticks since beat 0 at the last tick
        self._tick_time: float | None = None
        self._times: deque[float] = deque(maxlen=TEMPO_WINDOW)  # arrival of recent ticks
        self._free_origin: tuple[float, float] | None = None  # (time, beats) free time runs from
        self._last = 0.0  # the latest position reported

    # --- input ----------------------------------------------------------------------------

    def handle(self, msg: Message, now: float) -> str | None:
        """Feed a message; returns "start", "stop", "continue" or "position" when the transport
        changed, else None."""
        if msg.status == CLOCK:
            self._tick(now)
        elif msg.status == START:
            self._restart(-1, now)  # the first tick after Start is beat 0
            return "start"
        elif msg.status == CONTINUE:
            self._restart(self._ticks - 1, now)
            return "continue"
        elif msg.status == STOP:
            self._ticks = max(self._ticks, 0)
            self.running = False
            self._free_origin = None
            return "stop"
        elif msg.status == SONG_POSITION:
            sixteenths = msg.data[0] | (msg.data[1] << 7)
            self._ticks = sixteenths * PPQ // 4
            self._last = self._ticks / PPQ
            self._tick_time = None
            return "position"
        return None

    def _restart(self, ticks: int, now: float) -> None:
        self._ticks = ticks
        self._tick_time = None
        self._last = max(0.0, ticks / PPQ)
        self.running = True
        self._free_origin = None

    def _tick(self, now: float) -> None:
        if self._times:
            gap, step = now - self._times[-1], 60.0 / (self.tempo * PPQ)
            if gap <= 0 or gap > 60.0 / (MIN_TEMPO * PPQ) or (len(self._times) >= 3 and gap > 4 * step):
                self._times.clear()  # a gap (transport stopped, a cable pulled): measure afresh
        self._times.append(now)
        if len(self._times) >= 3:
            span = (self._times[-1] - self._times[0]) / (len(self._times) - 1)
            self.tempo = min(MAX_TEMPO, max(MIN_TEMPO, 60.0 / (PPQ * span)))
        if not self.running:  # ticks with no Start: a DAW already playing when we came up
            self.running = True
            self._ticks = round(self._last * PPQ) - 1
        self._ticks += 1
        self._tick_time = now
        self._free_origin = None

    # --- output ---------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        """Whether positions come from the DAW's clock right now."""
        return self.running and self._tick_time is not None and self._free_origin is None

    def anchor(self, now: float, beats: float = 0.0) -> None:
        """Start free-running time at ``beats`` now (without clock: the first note played)."""
        self._free_origin = (now, beats)
        self._last = beats

    def beats(self, now: float) -> float:
        """The song position in beats at ``now``; never decreases between calls."""
        if self.running and self._tick_time is not None and self._free_origin is None:
            since = now - self._tick_time
            if since <= CLOCK_TIMEOUT:
                step = 60.0 / (self.tempo * PPQ)
                pos = (self._ticks + min(since / step, 1.0)) / PPQ
                self._last = max(self._last, pos)
                return self._last
            self._free_origin = (self._tick_time, self._ticks / PPQ)  # ticks stopped: run freely
        if self.running and self._tick_time is None:
            return self._last  # started, waiting for its first tick
        if self._free_origin is None:
            self._free_origin = (now, self._last)
        origin_time, origin_beats = self._free_origin
        self._last = max(self._last, origin_beats + (now - origin_time) * self.tempo / 60.0)
        return self._last

    def seconds_until(self, beats: float, now: float) -> float:
        """How long from ``now`` until the song reaches ``beats`` at the current tempo."""
        return (beats - self.beats(now)) * 60.0 / self.tempo
