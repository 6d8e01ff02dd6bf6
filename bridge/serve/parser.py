"""Reading request frames: the envelope peeled off, the size and note count checked before the
JSON is parsed, then the protocol's validation. :func:`read_request` does it for one message;
:class:`Parser` does it on a thread of its own for large frames, so a storm of big requests
leaves the server's loop free to answer pings and hand out replies.

Validation holds the interpreter's lock for as long as one pydantic call runs: an 8192-note
request validated in one call holds it for 60-80 ms, during which the loop cannot answer a ping.
So a large request is validated in slices (:func:`decode_sliced`): the JSON is parsed once,
each clip's notes are validated NOTE_SLICE at a time, then the request with those notes; no
call holds the lock for longer than the JSON parse (about 15 ms for the largest request). Anything the slices refuse goes through the
protocol's own :func:`decode_request`, which says what is wrong. At most PARSE_QUEUE frames
wait for the parser; more are answered `overloaded` at once, so waiting frames hold a bounded
amount of memory.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from bridge import constants as C
from bridge.protocol import (
    MAX_NOTES_PER_CLIP,
    MAX_NOTES_PER_REQUEST,
    REQUEST_ADAPTER,
    Clip,
    ErrorCode,
    Note,
    ProtocolError,
    decode_request,
)
from bridge.serve import cost

log = logging.getLogger(__name__)

Envelope = tuple[bytes, ...]
Parsed = tuple[Envelope, Any]  # (reply envelope, request model)

_ID = re.compile(rb'"id"\s*:\s*"([^"\\]{1,128})"')
NOTE_SLICE = 512  # notes validated in one call: a few milliseconds
_NOTES: TypeAdapter[list[Note]] = TypeAdapter(list[Note])
_ONE_CLIP = ("harmonize", "fill", "vary", "continue", "restyle")


def read_request(frames: list[bytes]) -> Parsed:
    """The reply envelope and the validated request of one message; raises ProtocolError
    (with the request's id whenever it can be found, so its client can match the reply)."""
    body = b""
    try:
        envelope, body = peel(frames)
        if len(body) > C.MAX_REQUEST_BYTES:
            raise ProtocolError(ErrorCode.too_large,
                                f"the request is {len(body)} bytes; the limit is {C.MAX_REQUEST_BYTES}")
        if cost.counted_notes(body) > MAX_NOTES_PER_REQUEST:
            raise ProtocolError(ErrorCode.too_large, f"the request holds more than {MAX_NOTES_PER_REQUEST} "
                                "notes in all its clips; send a shorter clip")
        request = decode_sliced(body) if len(body) > C.PARSE_INLINE_BYTES else None
        return envelope, request if request is not None else decode_request(body)
    except ProtocolError as exc:
        if exc.request_id is None:  # too large, or not JSON (NaN, say): the id still tells its client
            exc.request_id = guess_id(body)
        raise


def decode_sliced(body: bytes) -> Any:
    """The request in ``body`` validated in slices, as :func:`decode_request` would return it;
    None when anything is off (then decode_request validates it whole and says what is wrong)."""
    try:
        data = from_json(body, allow_inf_nan=False)  # jiter: about twice as fast as json.loads
        if not isinstance(data, dict):
            return None
        op = data.get("op")
        raw = [data.get("clip")] if op in _ONE_CLIP else data.get("context") if op == "drums" else None
        if not isinstance(raw, list) or not all(isinstance(c, dict) and isinstance(c.get("notes", []), list)
                                                 for c in raw):
            return None
        notes: list[list[Note]] = []
        for clip in raw:
            given = clip.get("notes", [])
            if len(given) > MAX_NOTES_PER_CLIP:
                return None
            notes.append([note for start in range(0, len(given), NOTE_SLICE)
                          for note in _NOTES.validate_python(given[start:start + NOTE_SLICE], strict=True)])
            clip["notes"] = []
        skeleton = REQUEST_ADAPTER.validate_json(json.dumps(data, allow_nan=False), strict=True)
        fields = dict(skeleton)
        shells = fields["context"] if op == "drums" else [fields["clip"]]
        clips = [Clip.model_validate({**dict(shell), "notes": given}, strict=True)
                 for shell, given in zip(shells, notes, strict=True)]
        fields.update(context=clips) if op == "drums" else fields.update(clip=clips[0])
        return REQUEST_ADAPTER.validate_python(fields, strict=True)
    except (ValueError, RecursionError, TypeError, ValidationError):
        return None


def guess_id(body: bytes) -> str | None:
    """The id of a request that could not be read, found without parsing it."""
    match = _ID.search(body)
    try:
        return match.group(1).decode() if match else None
    except UnicodeDecodeError:
        return None


def peel(frames: list[bytes]) -> tuple[Envelope, bytes]:
    """Split ROUTER frames into the reply envelope (identities + empty delimiter) and the one
    JSON frame. A DEALER that sends no delimiter gets replies without one."""
    envelope = envelope_of(frames)
    body = frames[len(envelope):]
    if len(body) != 1:
        raise ProtocolError(ErrorCode.invalid_request,
                            f"expected one JSON frame after the empty delimiter, got {len(body)}")
    return envelope, body[0]


def envelope_of(frames: list[bytes]) -> Envelope:
    for index in range(1, len(frames)):
        if not frames[index]:
            return tuple(frames[: index + 1])
    return tuple(frames[:1])


class Parser:
    """A thread that reads large frames: :meth:`offer` them, collect :attr:`done` after ``ring``
    says something is ready. Each result is ``(token, frames, Parsed or ProtocolError)``."""

    def __init__(self, ring: Callable[[], None], limit: int = C.PARSE_QUEUE) -> None:
        self._ring = ring
        self.limit = limit
        self._inbox: queue.SimpleQueue[tuple[Any, list[bytes]] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[Any, list[bytes], Parsed | ProtocolError]] = queue.SimpleQueue()
        self._waiting = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dawbridge-parser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Let the thread finish; safe before :meth:`start` (an engine that could not bind)."""
        if self._thread.is_alive():
            self._inbox.put(None)
            self._thread.join(2.0)

    def offer(self, token: Any, frames: list[bytes]) -> bool:
        """Queue ``frames`` for parsing; False when PARSE_QUEUE frames are waiting already."""
        with self._lock:
            if self._waiting >= self.limit:
                return False
            self._waiting += 1
        self._inbox.put((token, frames))
        return True

    def _run(self) -> None:
        while (item := self._inbox.get()) is not None:
            token, frames = item
            outcome: Parsed | ProtocolError
            try:
                outcome = read_request(frames)
            except ProtocolError as exc:
                outcome = exc
            except Exception as exc:  # a bug in validation: the client hears of it, the thread lives
                log.error("parsing a request failed", exc_info=True)
                outcome = ProtocolError(ErrorCode.internal, f"{type(exc).__name__}: {exc}")
            with self._lock:
                self._waiting -= 1
            self.done.put((token, frames, outcome))
            self._ring()
