"""`dawbridge ports`: virtual MIDI ports any DAW can route a track to, with a live harmonizer
or capture-and-answer behind them (bridge/ports/modes.py).

The ports are python-rtmidi's: virtual ports on ALSA, JACK and CoreMIDI; on Windows, which
has none, ports of a loopback driver (loopMIDI) are attached to by name (``--attach`` does the
same anywhere). One loop owns everything: a reader thread only queues the bytes with their
arrival time (bridge/ports/reader.py: never a callback on the MIDI system's thread, which cannot
be closed safely); the loop parses them, follows the clock, lets the mode answer, sends, and between
messages plays scheduled notes, refreshes the model's context and checks the ports are still
there (an attached port that goes away is waited for and attached again; its notes are ended).
Stopping -- Ctrl+C, SIGTERM, the virtual ports vanishing -- ends every note it started and sends
all-notes-off on every channel it used.
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from bridge.ports.clock import Clock
from bridge.ports.reader import InputReader
from bridge.ports.stream import Message, MidiParser

log = logging.getLogger(__name__)

DEFAULT_IN = "DAWBridge In"
DEFAULT_OUT = "DAWBridge Out"
APIS = ("auto", "alsa", "jack", "coremidi", "windows")
PORT_CHECK_SECONDS = 0.5  # how often the loop looks whether its ports are still there
BURST = 16  # messages sent back to back at most; then the next wait for BURST_SECONDS to pass
BURST_SECONDS = 0.003  # JACK delivers a period's events at once from a small buffer (a 128-frame
# period holds about 40): a panic or a backlog sent in one go would lose note-offs past that
FLUSH_SECONDS = 0.1  # time given to the last messages before the ports close
MAX_ANSWER_BARS = 16

_API_CONSTANTS = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
                  "windows": "API_WINDOWS_MM"}
_SYSTEM_HINTS = {"alsa": "is the snd-seq kernel module loaded?", "jack": "is jackd running?"}


class PortError(RuntimeError):
    """A port cannot be opened; the message says what to do."""


class Mode(Protocol):
    def handle(self, msg: Message, at: float, transport: str | None = None) -> list[Message]: ...

    def tick(self, now: float) -> list[Message]: ...

    def wait_hint(self, now: float) -> float: ...

    def all_off(self) -> list[Message]: ...

    def close(self) -> None: ...


class Ports:
    """One MIDI input and one output, virtual or attached by name."""

    def __init__(self, in_name: str = DEFAULT_IN, out_name: str = DEFAULT_OUT, api: str = "auto",
                 attach: bool = False) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        self.in_name, self.out_name, self.api, self.attach = in_name, out_name, api, attach
        self.received: Callable[[list[int], float], None] = lambda data, at: None
        self._in: Any = None
        self._out: Any = None
        self._reader = InputReader(lambda: self._in, lambda data, at: self.received(data, at), "ports-in")
        self._attached = {"in": False, "out": False}
        self._sent: deque[float] = deque(maxlen=BURST)  # when the latest messages went out

    def open(self) -> None:
        import rtmidi

        self._open_system()
        self._in.ignore_types(sysex=True, timing=False, active_sense=True)
        virtual = not self.attach
        if virtual:
            try:
                self._in.open_virtual_port(self.in_name)
                self._out.open_virtual_port(self.out_name)
            except (NotImplementedError, rtmidi.RtMidiError):
                virtual = False  # Windows: no virtual ports
        if not virtual:
            for side in ("in", "out"):
                if not self._attach(side):
                    self.close()
                    raise PortError(f"no MIDI {side}put port named like {self._name(side)!r}; this system "
                                    "has no virtual ports: create one with a loopback driver (loopMIDI on "
                                    "Windows) and name it so, or pass --in/--out with an existing port's name")
        self._reader.start()

    def _open_system(self) -> None:
        """Make the input and output on ``api``; ``auto`` takes the first MIDI system that works,
        in rtmidi's order (Linux: ALSA, then JACK when the ALSA sequencer is missing)."""
        import rtmidi

        names = {getattr(rtmidi, constant): name for name, constant in _API_CONSTANTS.items()}
        tried = [self.api] if self.api != "auto" else [names[api] for api in rtmidi.get_compiled_api() if api in names]
        failures: list[str] = []
        for name in tried:
            api = getattr(rtmidi, _API_CONSTANTS[name])
            try:
                self._in = rtmidi.MidiIn(api, self.in_name)
                self._out = rtmidi.MidiOut(api, self.out_name)
            except rtmidi.SystemError as exc:
                self.close()
                failures.append(f"{name.upper()}: {exc}" + (f" ({_SYSTEM_HINTS[name]})" if name in _SYSTEM_HINTS else ""))
                continue
            if name != tried[0]:
                log.warning("using %s MIDI (%s)", name, "; ".join(failures))
            self.api = name
            return
        raise PortError(f"no MIDI system to open the ports on (--api {self.api}): "
                        + ("; ".join(failures) or "python-rtmidi was built without one"))

    def describe(self) -> str:
        how = "attached to" if self.attach or any(self._attached.values()) else "virtual"
        return f"{how} input {self.in_name!r} and output {self.out_name!r}"

    def send(self, messages: list[Message]) -> None:
        for msg in messages:
            if len(self._sent) == BURST:
                wait = self._sent[0] + BURST_SECONDS - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            self._sent.append(time.perf_counter())
            try:
                self._out.send_message(msg.bytes())
            except Exception as exc:  # a vanished port must not stop the loop
                log.warning("cannot send %s: %s", msg.bytes(), exc)
                return

    def check(self) -> str | None:
        """"lost" when a port went away, "back" when an attached one is here again, else None."""
        if not any(self._attached.values()):
            return None if self._virtual_alive() else "gone"
        state = None
        for side in ("in", "out"):
            present = self._find(side) is not None
            if self._attached[side] and not present:
                self._ports(side).close_port()
                self._attached[side] = False
                state = "lost"
            elif not self._attached[side] and present and self._attach(side):
                state = state or "back"
        return state

    def close(self) -> None:
        if self._sent and time.perf_counter() - self._sent[-1] < FLUSH_SECONDS:
            time.sleep(FLUSH_SECONDS)  # rtmidi hands JACK its queue only at the next period
        self._reader.stop()  # before the input closes: see bridge/ports/reader.py
        for port in (self._in, self._out):
            if port is not None:
                try:
                    port.close_port()
                    port.delete()
                except Exception:  # closing is best effort: the system may be gone already
                    log.debug("closing a port failed", exc_info=True)
        self._in = self._out = None

    def _name(self, side: str) -> str:
        return self.in_name if side == "in" else self.out_name

    def _ports(self, side: str) -> Any:
        return self._in if side == "in" else self._out

    def _find(self, side: str) -> int | None:
        wanted = self._name(side).lower()
        for i, name in enumerate(self._ports(side).get_ports()):
            if wanted in name.lower():
                return i
        return None

    def _attach(self, side: str) -> bool:
        index = self._find(side)
        if index is None:
            return False
        self._ports(side).open_port(index)
        self._attached[side] = True
        return True

    def _virtual_alive(self) -> bool:
        if self.api not in ("jack", "alsa"):
            return True  # CoreMIDI lists no client's own virtual ports to itself
        try:
            listed = self._out.get_ports()
        except Exception:
            return False
        return any(self.in_name in name for name in listed)


class PortLoop:
    """The one loop that owns the ports: see the module docstring."""

    def __init__(self, ports: Ports, mode: Mode, clock: Clock) -> None:
        self.ports, self.mode, self.clock = ports, mode, clock
        self.stopping = threading.Event()
        self.lost = threading.Event()  # the virtual ports vanished (the MIDI system went away)
        self._events: queue.SimpleQueue[tuple[list[int], float]] = queue.SimpleQueue()
        self._parser = MidiParser()
        self._thread: threading.Thread | None = None
        ports.received = lambda data, at: self._events.put((data, at))

    def run(self) -> None:
        next_check = time.perf_counter() + PORT_CHECK_SECONDS
        try:
            while not self.stopping.is_set():
                now = time.perf_counter()
                try:
                    data, at = self._events.get(timeout=self.mode.wait_hint(now))
                except queue.Empty:
                    data, at = [], now
                for msg in self._parser.feed(data):
                    self._dispatch(msg, at)
                now = time.perf_counter()
                self.ports.send(self.mode.tick(now))
                if now >= next_check:
                    next_check = now + PORT_CHECK_SECONDS
                    self._check()
        finally:
            self.ports.send(self.mode.all_off())

    def _dispatch(self, msg: Message, at: float) -> None:
        try:
            transport = self.clock.handle(msg, at)
            self.ports.send(self.mode.handle(msg, at, transport))
        except Exception:  # one bad message must not take the ports down
            log.exception("while handling %s", msg.bytes())

    def _check(self) -> None:
        state = self.ports.check()
        if state == "lost":
            log.warning("a MIDI port went away: notes ended, waiting for it to come back")
            self.ports.send(self.mode.all_off())
        elif state == "back":
            log.warning("the MIDI port is back")
        elif state == "gone":
            log.error("the virtual MIDI ports are gone (did the MIDI system stop?)")
            self.lost.set()
            self.stopping.set()

    def start(self) -> threading.Thread:
        """Run in a background thread (tests, benchmarks); ``stop`` ends it."""
        self._thread = threading.Thread(target=self.run, name="ports", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# --- the command ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="in_name", default=DEFAULT_IN, metavar="NAME",
                        help=f"the input port's name (default {DEFAULT_IN!r})")
    parser.add_argument("--out", dest="out_name", default=DEFAULT_OUT, metavar="NAME",
                        help=f"the output port's name (default {DEFAULT_OUT!r})")
    parser.add_argument("--mode", choices=("harmonize", "answer"), default="harmonize",
                        help="harmonize each note live, or capture bars and answer them")
    parser.add_argument("--style", choices=("chorale", "chords", "bass"),
                        help="harmony style (default: chorale live, chords for answers)")
    parser.add_argument("--key", help="lock harmony to a key, e.g. 'D minor', Dm, F#m, 'Bb maj'")
    parser.add_argument("--tempo", type=float, default=120.0, help="bpm when the DAW sends no MIDI clock")
    parser.add_argument("--meter", default="4/4", help="time signature, e.g. 3/4 (default 4/4)")
    parser.add_argument("--bars", type=int, default=4, help="answer mode: bars to capture and to answer")
    parser.add_argument("--channel", type=int, help="output MIDI channel 1..16 (default: the input note's)")
    parser.add_argument("--api", choices=APIS, default="auto",
                        help="MIDI system (default auto: the platform's; on Linux ALSA, else JACK)")
    parser.add_argument("--attach", action="store_true",
                        help="attach to existing ports named like --in/--out instead of opening virtual ones")
    parser.add_argument("--weights", help="a trained model (default: the shipped weights)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)


def build(args: argparse.Namespace) -> tuple[Ports, Mode, Clock]:
    """Validate the options, load the model and make the ports and mode (ports not yet open).
    Raises ValueError for a bad option and ModelUnavailable without a usable model."""
    import torch

    from bridge.ports.modes import AnswerMode, HarmonizeMode
    from models.interface import load_composer
    from models.keys import canonical_key
    from models.ops.live import LiveHarmonizer, live_model
    from models.tasks import Sampling

    meter = _meter(args.meter)
    key = None if args.key is None else canonical_key(args.key)  # raises ValueError naming the spellings
    if args.channel is not None and not 1 <= args.channel <= 16:
        raise ValueError(f"channel must be in range 1..16, got {args.channel}")
    if not 1 <= args.bars <= MAX_ANSWER_BARS:
        raise ValueError(f"bars must be in range 1..{MAX_ANSWER_BARS}, got {args.bars}")
    if not 0.05 <= args.temperature <= 2.0:
        raise ValueError(f"temperature must be in range 0.05..2, got {args.temperature}")
    clock = Clock(args.tempo)
    channel = None if args.channel is None else args.channel - 1
    composer = load_composer(args.weights, args.device)
    torch.set_num_threads(1)  # one small step at a time: threads only add hand-over latency
    mode: Mode
    if args.mode == "harmonize":
        harmonizer = LiveHarmonizer(live_model(composer), args.style or "chorale", key, meter,
                                    args.tempo, args.temperature, args.seed)
        harmonizer.warm_up()
        mode = HarmonizeMode(harmonizer, clock, channel)
    else:
        mode = AnswerMode(composer, clock, args.bars, meter, args.style or "chords", key, channel,
                          Sampling(1, args.temperature, args.seed))
    return Ports(args.in_name, args.out_name, args.api, args.attach), mode, clock


def run(args: argparse.Namespace) -> int:
    from models.interface import ModelUnavailable

    try:
        ports, mode, clock = build(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelUnavailable as exc:
        print(f"error: {args.mode} mode needs the model and cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        ports.open()
    except PortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loop = PortLoop(ports, mode, clock)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        loop.stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"dawbridge ports: {args.mode} on {ports.describe()}; route a MIDI track to "
          f"{args.in_name!r} and record from {args.out_name!r}. Ctrl+C stops.", flush=True)
    try:
        loop.run()
    finally:
        mode.close()
        ports.close()
    if loop.lost.is_set():
        print("error: the virtual MIDI ports went away (did the MIDI system stop?)", file=sys.stderr)
        return 1
    print("stopped; all notes off", flush=True)
    return 0


def _meter(text: str) -> tuple[int, int]:
    try:
        num, den = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"meter must look like 4/4 or 6/8, got {text!r}") from None
    if not 1 <= num <= 16 or den not in (2, 4, 8, 16):
        raise ValueError(f"meter must have 1..16 beats of 2, 4, 8 or 16, got {text!r}")
    return num, den

