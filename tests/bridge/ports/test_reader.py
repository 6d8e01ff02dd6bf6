"""The input reader (bridge/ports/reader.py) on a stand-in for a python-rtmidi ``MidiIn`` in
queue mode: every message handed over in order with its arrival time, a port that fails or is
swapped out does not end the reader, and ``stop`` returns only once no message is being read.
The JACK tests (test_jack.py) run it on real ports, closed under a flood of MIDI."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from bridge.ports.reader import InputReader


class QueuedInput:
    """What python-rtmidi's ``MidiIn.get_message`` does without a callback: the oldest queued
    (bytes, delta time), or None."""

    def __init__(self) -> None:
        self.queue: deque[tuple[list[int], float]] = deque()
        self.fail_next = False

    def get_message(self) -> tuple[list[int], float] | None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the port went away")
        return self.queue.popleft() if self.queue else None


def wait_until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert check()


def test_every_message_in_order_with_its_arrival_time() -> None:
    port = QueuedInput()
    got: list[tuple[list[int], float]] = []
    reader = InputReader(lambda: port, lambda data, at: got.append((data, at)))
    reader.start()
    before = time.perf_counter()
    port.queue.extend(([0x90, 60 + i, 100], 0.0) for i in range(50))
    wait_until(lambda: len(got) == 50)
    reader.stop()
    assert [data[1] for data, _ in got] == list(range(60, 110))
    times = [at for _, at in got]
    assert times == sorted(times) and times[0] >= before


def test_a_failing_or_missing_port_does_not_end_the_reader() -> None:
    port = QueuedInput()
    current: list[QueuedInput | None] = [None]
    got: list[list[int]] = []
    reader = InputReader(lambda: current[0], lambda data, at: got.append(data))
    reader.start()
    time.sleep(0.01)  # nothing to read yet
    current[0] = port
    port.fail_next = True
    port.queue.append(([0x90, 64, 90], 0.0))
    wait_until(lambda: got == [[0x90, 64, 90]])
    swapped = QueuedInput()
    swapped.queue.append(([0x80, 64, 0], 0.0))
    current[0] = swapped  # an attached port opened again
    wait_until(lambda: len(got) == 2)
    reader.stop()
    assert got[1] == [0x80, 64, 0]


def test_stop_returns_once_no_message_is_being_read() -> None:
    port = QueuedInput()
    inside = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    def received(data: list[int], at: float) -> None:
        inside.set()
        release.wait(5)
        finished.append(True)

    reader = InputReader(lambda: port, received)
    reader.start()
    port.queue.append(([0x90, 60, 100], 0.0))
    assert inside.wait(5)
    stopper = threading.Thread(target=reader.stop)
    stopper.start()
    stopper.join(0.05)
    assert stopper.is_alive(), "stop waits for the message being handed over"
    release.set()
    stopper.join(5)
    assert not stopper.is_alive() and finished == [True]
    port.queue.append(([0x90, 62, 100], 0.0))
    time.sleep(0.01)
    assert finished == [True], "nothing is read after stop"
