"""A wake-up call for a ZeroMQ poll loop: a socket pair the loop polls and other threads ring
when they have left something for it (a reply in an outbox, a parsed request)."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Waker:
    """A socket pair the loop polls: workers ring it when the outbox has something."""

    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def fileno(self) -> int:
        return self._read.fileno()

    def ring(self) -> None:
        try:
            self._write.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already ringing, or closed at shutdown

    def drain(self) -> None:
        try:
            while self._read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self._read.close()
        self._write.close()


class Outbox(Generic[Item]):
    """What other threads (the scheduler's) leave for the loop that owns the socket: ``put``
    from any thread rings the loop's waker; the loop ``take``s everything left so far."""

    def __init__(self, waker: Waker) -> None:
        self._queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._waker = waker

    def put(self, item: Item) -> None:
        self._queue.put(item)
        self._waker.ring()

    def take(self) -> Iterator[Item]:
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return
