"""Fixtures of the `dawbridge ports` tests and benchmark: a tiny real model on CPU, a JACK
server on its dummy backend (no sound hardware), and real JACK MIDI ports standing in for a
DAW's track (keys in, a recorder out).

    from tests.bridge.ports import fixtures as ports_fixtures
    jack_server, tiny_files, tiny_weights = (ports_fixtures.jack_server, ports_fixtures.tiny_files,
                                             ports_fixtures.tiny_weights)

    def test_x(jack_server, tiny_weights):
        with Keys("keys-x", "DAWBridge In x") as keys, Recorder("rec-x", "DAWBridge Out x") as rec: ...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rtmidi
import torch

from bridge.ports.reader import InputReader
from models.net import checkpoint
from models.net.transformer import GPT, GPTConfig
from models.net.vocab import VOCAB

# Frames per period at 48 kHz, the MIDI delivery granularity. The tests take 10.7 ms: at 2.7 ms
# (128 frames) a non-realtime jackd on a 2-core machine reports xruns in most runs, and the MIDI
# of a client that missed its cycle is lost. Measured on the melody test: events lost in 6 of 26
# runs at 128 frames, 3 of 10 at 256, none of 30 at 512. The latency benchmark passes 128.
JACK_PERIOD = 512
JACK_RATE = 48000
DELIVERY_SECONDS = 2 * JACK_PERIOD / JACK_RATE  # JACK hands MIDI over once a period, each way
CONNECT_SECONDS = 0.2  # JACK makes a connection at its next graph change: events before it are lost


def jack_command(period: int = JACK_PERIOD) -> list[str]:
    return ["jackd", "--no-realtime", "-d", "dummy", "-r", str(JACK_RATE), "-p", str(period)]


def tiny_model_files(where: Path) -> Path:
    """Save a small random-weight model in the shipped format; returns its stem."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(VOCAB), block_size=512, n_layer=2, n_head=2, n_embd=32))
    stem = where / "tiny"
    checkpoint.save(model, stem, {"name": "tiny-test"})
    return stem


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model_files(tmp_path_factory.mktemp("weights"))


@pytest.fixture
def tiny_weights(tiny_files: Path) -> Iterator[Path]:
    """The tiny model's files, with torch on one thread as `dawbridge ports` runs it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_files
    torch.set_num_threads(before)


def jack_running() -> bool:
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "dawbridge-probe").delete()
    except rtmidi.SystemError:
        return False
    return True


def start_jack(period: int = JACK_PERIOD) -> subprocess.Popen[bytes] | None:
    """Start jackd on the dummy backend unless a server runs; returns the process we started."""
    if jack_running():
        return None
    command = jack_command(period)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jackd exited with {proc.returncode}: {' '.join(command)}")
        if jack_running():
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("jackd did not come up within 10 s")


@pytest.fixture(scope="session")
def jack_server() -> Iterator[None]:
    """A JACK server for the session (started here unless one runs already)."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed: `apt-get install jackd2` to run the JACK port tests")
    proc = start_jack()
    yield
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)


def _port_index(ports: list[str], name: str) -> int:
    for i, port in enumerate(ports):
        if name in port:
            return i
    raise LookupError(f"no JACK port like {name!r} among {ports}")


class Keys:
    """A player: a JACK MIDI output connected to the port named like ``target``."""

    def __init__(self, client: str, target: str) -> None:
        self.port = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, client)
        self.port.open_port(_port_index(self.port.get_ports(), target))
        time.sleep(CONNECT_SECONDS)

    def send(self, *data: int) -> None:
        self.port.send_message(list(data))

    def close(self) -> None:
        self.port.close_port()
        self.port.delete()

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class Recorder:
    """A recording track: a JACK MIDI input connected to the port named like ``source`` (or,
    with ``virtual``, a port of its own of that name for others to attach to); ``events`` holds
    (arrival time, bytes). It reads as the ports do (bridge/ports/reader.py), so closing it while
    messages arrive is safe."""

    def __init__(self, client: str, source: str, virtual: bool = False) -> None:
        self.events: list[tuple[float, list[int]]] = []
        self.port = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, client)
        self.port.ignore_types(sysex=True, timing=False, active_sense=True)
        if virtual:
            self.port.open_virtual_port(source)
        else:
            self.port.open_port(_port_index(self.port.get_ports(), source))
        self._reader = InputReader(lambda: self.port, lambda data, at: self.events.append((at, data)),
                                   f"recorder {client}")
        self._reader.start()
        if not virtual:
            time.sleep(CONNECT_SECONDS)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[float, list[int]]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.002)
        return list(self.events)

    def note_ons(self) -> list[tuple[float, int, int]]:
        """(time, channel, pitch) of every note-on received."""
        return [(t, b[0] & 15, b[1]) for t, b in self.events if b[0] & 0xF0 == 0x90 and b[2] > 0]

    def sounding(self) -> set[tuple[int, int]]:
        """(channel, pitch) left sounding after everything received."""
        on: set[tuple[int, int]] = set()
        for _, b in self.events:
            kind, ch = b[0] & 0xF0, b[0] & 15
            if kind == 0x90 and b[2] > 0:
                on.add((ch, b[1]))
            elif kind == 0x80 or kind == 0x90:
                on.discard((ch, b[1]))
            elif kind == 0xB0 and b[1] == 123:
                on = {n for n in on if n[0] != ch}
        return on

    def close(self) -> None:
        self._reader.stop()
        self.port.close_port()
        self.port.delete()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
