"""A MIDI input read by a thread of ours, never by a Python callback on the MIDI system's thread.

python-rtmidi's ``set_callback`` runs Python on RtMidi's own thread (JACK's process thread, the
ALSA input thread), which must first take the GIL. A port closed while a message is on its way
there breaks in two ways:

- ``cancel_callback`` frees the ``(func, data)`` pair that thread is about to call: JACK then
  calls freed memory (a segmentation fault);
- ALSA's ``closePort`` joins its input thread while holding the GIL that thread waits for: a hang.

So the input stays in RtMidi's queue mode, where its thread only queues the bytes, and a reader
thread takes them off with ``get_message``. A port is closed only after ``stop``: then no Python
runs on RtMidi's thread at any moment.

The reader looks every ``POLL_SECONDS`` while messages flow (at most half a millisecond added to
one, against a JACK period of 2.7 ms) and every ``IDLE_POLL_SECONDS`` after ``IDLE_AFTER`` seconds
without one: the first note after a pause waits at most 2 ms. Measured idle on this project's
2-core virtual machine, where a thread's wake-up alone costs 22-26 us of CPU: 5.5% of a core
polling every 0.5 ms, 1.9% every 2 ms, against 0.2% for the open JACK port without a reader.

    reader = InputReader(lambda: midi_in, lambda data, at: ...)
    reader.start()
    ...
    reader.stop()  # then close_port() and delete() are safe
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

POLL_SECONDS = 0.0005
IDLE_POLL_SECONDS = 0.002
IDLE_AFTER = 1.0


class InputReader:
    """Hands each message of a python-rtmidi ``MidiIn`` (in queue mode) to ``received(bytes,
    arrival time)``, from a daemon thread. ``port`` is asked for the input before each poll, so
    an owner may swap it; it may return None (nothing to read)."""

    def __init__(self, port: Callable[[], Any], received: Callable[[list[int], float], None],
                 name: str = "midi-in") -> None:
        self._port, self._received, self._name = port, received, name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Return once the thread has ended: no message is being read any more."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stopping.is_set():
            now = time.perf_counter()
            if self._drain():
                last = now
            else:
                time.sleep(POLL_SECONDS if now - last < IDLE_AFTER else IDLE_POLL_SECONDS)

    def _drain(self) -> bool:
        """Hand over every queued message; True when there was one."""
        port = self._port()
        if port is None:
            return False
        got = False
        while True:
            try:
                event = port.get_message()
            except Exception:  # a port closed under us: read again at the next poll
                log.debug("reading the MIDI input failed", exc_info=True)
                return got
            if event is None:
                return got
            got = True
            self._received(event[0], time.perf_counter())
