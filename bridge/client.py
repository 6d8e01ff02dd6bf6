"""The Python client of the engine (used by the CLI, the tests and the benchmarks): a DEALER
socket, LINGER 0, every wait a poll with a timeout, errors as exceptions that say what to do.

    with Client("tcp://127.0.0.1:5555") as client:
        client.ping()
        result = client.request("harmonize", clip=clip.model_dump(mode="json"), style="chords")
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import zmq

from bridge.constants import CLIENT_GRACE, CLIENT_MUSIC_TIMEOUT, CLIENT_TIMEOUT, DEFAULT_ADDRESS
from bridge.protocol import MUSICAL_OPS, PROTOCOL_VERSION


class ClientError(Exception):
    """Anything that kept a request from getting a result."""


class EngineUnreachable(ClientError):
    """No reply came in time: the engine is not running, not at this address, or stuck."""


class EngineError(ClientError):
    """The engine answered with an error."""

    def __init__(self, code: str, message: str, field: str | None = None, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id


_ids = itertools.count(1)


class Client:
    """One connection to an engine. Not thread-safe: one client per thread."""

    def __init__(self, address: str = DEFAULT_ADDRESS, timeout: float = CLIENT_TIMEOUT,
                 context: zmq.Context | None = None) -> None:
        self.address = address
        self.timeout = timeout
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        # a DEALER with no connection (an engine that refused the handshake, say) holds a send
        # until one comes: give up after the client's timeout instead of waiting for good
        self._socket.setsockopt(zmq.SNDTIMEO, max(1, round(timeout * 1000)))
        self._socket.connect(address)
        self._inbox: dict[str, deque[dict[str, Any]]] = {}
        self._prefix = f"{os.getpid():x}-{id(self):x}-"

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests --------------------------------------------------------------------------

    def send(self, op: str, request_id: str | None = None, **fields: Any) -> str:
        """Send a request without waiting; returns its id."""
        request_id = request_id or f"{self._prefix}{next(_ids)}"
        message = {"v": PROTOCOL_VERSION, "id": request_id, "op": op, **fields}
        self.send_raw(json.dumps(message, separators=(",", ":")).encode())
        return request_id

    def send_raw(self, frame: bytes) -> None:
        """Send one frame as it is (tests use this for hostile input); EngineUnreachable when
        the socket takes nothing within the client's timeout."""
        try:
            self._socket.send_multipart([b"", frame])
        except zmq.Again:
            raise EngineUnreachable(
                f"the engine at {self.address} took no request in {self.timeout:g} s; is it running "
                "(`dawbridge serve`), and does it take this client's keys?") from None

    def wait(self, request_id: str, timeout: float | None = None,
             on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
        """The result of request ``request_id``; raises EngineError or EngineUnreachable."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = self._next(request_id, end)
            if message.get("event") == "progress":
                if on_progress is not None:
                    on_progress(float(message.get("done", 0.0)))
                continue
            if message.get("ok") is True:
                return dict(message.get("result") or {})
            error = message.get("error") or {}
            raise EngineError(str(error.get("code", "internal")), str(error.get("message", "")),
                              error.get("field"), request_id)

    def request(self, op: str, timeout: float | None = None,
                on_progress: Callable[[float], None] | None = None, **fields: Any) -> dict[str, Any]:
        """Send and wait. Musical ops tell the engine ``timeout`` and wait a little longer for
        its own `timeout` reply; service ops wait ``timeout`` (the client's default)."""
        if op in MUSICAL_OPS:
            timeout = CLIENT_MUSIC_TIMEOUT if timeout is None else timeout
            fields.setdefault("timeout", timeout)
            timeout += CLIENT_GRACE
        return self.wait(self.send(op, **fields), timeout, on_progress)

    def ping(self, timeout: float | None = None) -> float:
        """Round-trip seconds; raises EngineUnreachable when nothing answers."""
        started = time.perf_counter()
        self.request("ping", timeout=timeout)
        return time.perf_counter() - started

    def info(self) -> dict[str, Any]:
        return self.request("info")

    def cancel(self, target: str) -> dict[str, Any]:
        return self.request("cancel", target=target)

    def attach(self, daw: str, name: str = "") -> str:
        """Become an attached DAW session; returns the session id command events carry."""
        return str(self.request("attach", daw=daw, name=name)["session"])

    def dispatch(self, command: dict[str, Any], daw: str | None = None) -> int:
        """Push ``command`` to attached sessions; returns how many received it."""
        fields: dict[str, Any] = {"command": command}
        if daw is not None:
            fields["daw"] = daw
        return int(self.request("dispatch", **fields)["delivered"])

    def next_event(self, session_id: str, timeout: float | None = None) -> dict[str, Any] | None:
        """The next command event for an attached session, or None after ``timeout``."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            return self._next(session_id, end)
        except EngineUnreachable:
            return None

    # --- receiving -------------------------------------------------------------------------

    def _next(self, request_id: str, end: float) -> dict[str, Any]:
        """The next message for ``request_id``, keeping others for their own waits."""
        while True:
            pending = self._inbox.get(request_id)
            if pending:
                return pending.popleft()
            left = end - time.monotonic()
            if left <= 0 or not self._socket.poll(max(1, int(left * 1000)), zmq.POLLIN):
                raise EngineUnreachable(
                    f"no reply from the engine at {self.address} in time; "
                    "is it running? Start it with `dawbridge serve`")
            frames = self._socket.recv_multipart(zmq.NOBLOCK)
            try:
                message = json.loads(frames[-1])
            except ValueError:
                continue
            if isinstance(message, dict):
                self._inbox.setdefault(str(message.get("id")), deque()).append(message)
