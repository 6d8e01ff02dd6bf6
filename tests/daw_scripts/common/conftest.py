"""Fixtures for the DAW-side client tests: a scripted engine stand-in on a real libzmq ROUTER.

``fake_engine(handler)`` binds a pyzmq ROUTER on a free loopback port and serves it from a
thread: each request (envelope, empty delimiter, JSON) is passed to ``handler(request)``,
which returns the messages to send back (``[]`` to stay silent; bytes go out as they are). ``restart()`` closes the
ROUTER and binds a new one on the same port, as an engine restart does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

Handler = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo(request: dict[str, Any]) -> list[dict[str, Any]]:
    """A progress event, then an ok reply whose result is the request itself."""
    rid = request.get("id")
    return [{"v": 1, "id": rid, "event": "progress", "done": 0.5},
            {"v": 1, "id": rid, "ok": True, "result": {"echo": request}}]


class FakeEngine:
    """A ROUTER served from a thread; records every request it read in ``received``."""

    def __init__(self, handler: Handler = echo) -> None:
        self.handler = handler
        self.received: list[dict[str, Any]] = []
        self.envelopes: list[bytes] = []
        self.port = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bound = threading.Event()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> FakeEngine:
        self._stop.clear()
        self._bound.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        assert self._bound.wait(5.0)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def restart(self, pause: float = 0.0) -> None:
        self.stop()
        time.sleep(pause)
        self.start()

    def _serve(self) -> None:
        sock = zmq.Context.instance().socket(zmq.ROUTER)
        sock.linger = 0
        for _ in range(50):  # the old socket's port may take a moment to free
            try:
                if self.port:
                    sock.bind(self.address)
                else:
                    self.port = sock.bind_to_random_port("tcp://127.0.0.1")
                break
            except zmq.ZMQError:
                time.sleep(0.02)
        self._bound.set()
        try:
            while not self._stop.is_set():
                if sock.poll(10):
                    self._answer(sock, sock.recv_multipart())
        finally:
            sock.close(linger=0)

    def _answer(self, sock: zmq.Socket, frames: list[bytes]) -> None:
        envelope, data = frames[0], frames[-1]
        self.envelopes.append(envelope)
        request = json.loads(data)
        self.received.append(request)
        for message in self.handler(request):
            data = message if isinstance(message, bytes) else json.dumps(message).encode()
            sock.send_multipart([envelope, b"", data])


@pytest.fixture
def fake_engine() -> Iterator[Callable[..., FakeEngine]]:
    """A factory: ``fake_engine(handler=echo)`` -> a started FakeEngine, stopped after the test."""
    engines: list[FakeEngine] = []

    def start(handler: Handler = echo) -> FakeEngine:
        engine = FakeEngine(handler).start()
        engines.append(engine)
        return engine

    yield start
    for engine in engines:
        engine.stop()


@pytest.fixture
def router() -> Iterator[tuple[zmq.Socket, str]]:
    """A bare ROUTER on a free port, driven by the test itself."""
    sock = zmq.Context.instance().socket(zmq.ROUTER)
    sock.linger = 0
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"tcp://127.0.0.1:{port}"
    sock.close(linger=0)
