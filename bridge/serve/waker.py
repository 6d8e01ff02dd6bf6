"""A wake-up call for a ZeroMQ poll loop: a socket pair the loop polls and other threads ring
when they have left something for it (a reply in an outbox, a parsed request)."""

from __future__ import annotations

import socket


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
