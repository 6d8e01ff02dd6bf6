"""The DAW side of the wire protocol: send requests to the engine and collect its replies.

``EngineClient`` owns one DEALER connection (pyzmq when it imports, else the pure-Python
ZMTP client). Every request is an empty delimiter frame then one JSON frame
``{"v": 1, "id": .., "op": .., ...}``; the engine answers each id with progress events and
exactly one final reply. Nothing here blocks the host except ``request`` (a convenience for
scripts that may wait) and a connection attempt (at most ``connect_timeout``).

Hosts that poll from a timer (REAPER's ``defer``, Live's tick) use ``PendingRequest``:

    pending = PendingRequest.start(client, "harmonize", {"clip": clip, "candidates": 3})
    ...each tick:
    if pending.poll() is None: show(pending.progress)   # still waiting
    elif pending.error: report(pending.error)            # an EngineError
    else: insert(pending.result)

Messages for an id someone ``take``s (``request`` and ``PendingRequest`` do) are kept for it;
all others come out of ``poll``. When the connection breaks, every request sent on it gets a
synthesized error reply with code ``unreachable`` instead of hanging. Python 3.7, stdlib only.
"""

import json
import logging
import os
import time

from .errors import (
    CANCELLED,
    PROTOCOL,
    UNREACHABLE,
    EngineError,
    EngineTimeout,
    EngineUnreachable,
    error_from_body,
    lost_message,
    timeout_message,
)
from .transports import open_transport

__all__ = ["EngineClient", "PendingRequest", "EngineError", "EngineUnreachable", "EngineTimeout"]

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"
DEFAULT_TIMEOUT = 30.0
MAX_ENGINE_TIMEOUT = 600.0  # the protocol's upper bound for a request's "timeout" field
_WAIT_SLICE = 0.05


def is_final(message):
    """True for a final reply (``ok`` true or false), False for events."""
    return "ok" in message


class EngineClient(object):
    """One connection to the engine; requests by id, replies and events by polling."""

    def __init__(self, address=DEFAULT_ADDRESS, transport="auto", connect_timeout=2.0):
        self.address = address
        self._transport = open_transport(address, transport, connect_timeout)
        self._prefix = os.urandom(4).hex()
        self._counter = 0
        self._pending = {}  # id -> transport session it was sent on
        self._backlog = []  # messages for ids nobody took
        self._claimed = {}  # id -> messages kept for take()
        self._discard = set()  # ids whose messages are dropped (cancelled, given up on)

    @property
    def transport(self):
        """"pyzmq" or "zmtp"."""
        return self._transport.name

    @property
    def session(self):
        """A token that changes whenever the connection to the engine was lost: an attached
        DAW session compares it to the one it attached under and attaches again."""
        return self._transport.session()

    def new_id(self):
        """A fresh request id, unique to this client: '<8 hex>-<n>'."""
        self._counter += 1
        return "{}-{}".format(self._prefix, self._counter)

    def submit(self, op, **fields):
        """Send one request and return its id at once. Raises EngineUnreachable."""
        request_id = self.new_id()
        message = {"v": PROTOCOL_VERSION, "id": request_id, "op": op}
        message.update(fields)
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self._transport.send([b"", data])
        self._pending[request_id] = self._transport.session()
        return request_id

    def poll(self):
        """Every message that has arrived and nobody took: replies and events, decoded."""
        self._pump()
        out, self._backlog = self._backlog, []
        return out

    def claim(self, request_id):
        """Keep this id's messages for ``take``: they no longer come out of ``poll``."""
        if request_id not in self._claimed:
            self._claimed[request_id] = [m for m in self._backlog if m.get("id") == request_id]
            self._backlog = [m for m in self._backlog if m.get("id") != request_id]

    def take(self, request_id):
        """The messages that arrived for one id, in order (claiming it on the first call)."""
        self.claim(request_id)
        self._pump()
        out = self._claimed[request_id]
        self._claimed[request_id] = []
        if any(is_final(m) for m in out):
            del self._claimed[request_id]
        return out

    def forget(self, request_id):
        """Drop whatever still arrives for this id."""
        self._pending.pop(request_id, None)
        self._claimed.pop(request_id, None)
        self._discard.add(request_id)

    def cancel(self, request_id):
        """Ask the engine to stop a request (best effort, never raises); forget both ids."""
        self.forget(request_id)
        try:
            cancel_id = self.submit("cancel", target=request_id)
        except EngineError:
            return None
        self.forget(cancel_id)
        return cancel_id

    def request(self, op, timeout=DEFAULT_TIMEOUT, **fields):
        """Send a request and wait for its final reply; return its ``result``.

        Raises EngineError (the engine's code and message), EngineUnreachable (nothing at the
        address, or the connection broke) or EngineTimeout (no reply within ``timeout``)."""
        pending = PendingRequest.start(self, op, fields, timeout=timeout)
        while pending.poll() is None:
            self.wait(min(_WAIT_SLICE, max(0.0, pending.deadline - time.monotonic())))
        if pending.error is not None:
            raise pending.error
        return pending.result

    def wait(self, timeout):
        """Block until something may have arrived or ``timeout`` seconds pass."""
        self._transport.wait(timeout)

    def close(self):
        """Close the connection; unanswered requests are dropped."""
        self._transport.close()
        self._pending.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # internals -------------------------------------------------------------------------

    def _pump(self):
        while True:
            frames = self._transport.recv()
            if frames is None:
                break
            message = self._decode(frames)
            if message is not None:
                self._route(message)
        self._fail_lost()

    def _decode(self, frames):
        try:
            message = json.loads(frames[-1].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            log.warning("dropped a frame that is not JSON (%d bytes)", len(frames[-1]))
            return None
        if not isinstance(message, dict):
            log.warning("dropped a JSON frame that is not an object")
            return None
        return message

    def _route(self, message):
        request_id = message.get("id")
        if is_final(message):
            self._pending.pop(request_id, None)
        if request_id in self._discard:
            if is_final(message):
                self._discard.discard(request_id)
        elif request_id in self._claimed:
            self._claimed[request_id].append(message)
        else:
            self._backlog.append(message)

    def _fail_lost(self):
        """Requests sent on a connection that has since broken will never be answered."""
        session = self._transport.session()
        lost = [rid for rid, sent_on in self._pending.items() if sent_on != session]
        for request_id in lost:
            body = {"code": UNREACHABLE, "message": lost_message(self.address), "field": None}
            self._route({"v": PROTOCOL_VERSION, "id": request_id, "ok": False, "error": body})


class PendingRequest(object):
    """One request followed from a host's timer: ``poll()`` each tick until it returns True."""

    def __init__(self, client, op, fields=None, timeout=DEFAULT_TIMEOUT):
        self.client = client
        self.op = op
        self.fields = dict(fields or {})
        self.timeout = float(timeout)
        self.deadline = time.monotonic() + self.timeout
        self.id = None
        self.progress = 0.0
        self.result = None
        self.error = None
        self.done = False

    @classmethod
    def start(cls, client, op, fields=None, timeout=DEFAULT_TIMEOUT):
        """Send the request; a failure to send is kept in ``.error`` (``done`` at once)."""
        pending = cls(client, op, fields, timeout)
        if 0 < pending.timeout <= MAX_ENGINE_TIMEOUT:
            pending.fields.setdefault("timeout", pending.timeout)
        try:
            pending.id = client.submit(op, **pending.fields)
            client.claim(pending.id)  # a host's own client.poll() must not take its replies
        except EngineError as exc:
            pending._finish(error=exc)
        return pending

    def poll(self):
        """None while waiting; True once finished (then ``.result`` or ``.error`` is set)."""
        if self.done:
            return True
        for message in self.client.take(self.id):
            self._on_message(message)
        if not self.done and time.monotonic() >= self.deadline:
            self.client.cancel(self.id)
            self._finish(error=EngineTimeout(timeout_message(self.op, self.timeout)))
        return True if self.done else None

    def cancel(self):
        """Stop waiting and ask the engine to stop; ``.error`` becomes a 'cancelled' error."""
        if self.done:
            return
        if self.id is not None:
            self.client.cancel(self.id)
        self._finish(error=EngineError(CANCELLED, "Cancelled."))

    def _on_message(self, message):
        if message.get("event") == "progress":
            try:
                self.progress = min(1.0, max(0.0, float(message.get("done", 0.0))))
            except (TypeError, ValueError):
                pass
        elif message.get("ok") is True:
            result = message.get("result")
            if isinstance(result, dict):
                self._finish(result=result)
            else:
                self._finish(error=EngineError(PROTOCOL, "The engine's reply has no result."))
        elif message.get("ok") is False:
            self._finish(error=error_from_body(message.get("error")))

    def _finish(self, result=None, error=None):
        self.result, self.error, self.done = result, error, True
        if error is None:
            self.progress = 1.0
