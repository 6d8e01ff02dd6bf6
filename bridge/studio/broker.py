"""The engine's worker socket: model workers on other machines (``dawbridge worker``) take
musical requests from the engine's queue, in the manner of the ZeroMQ guide's Majordomo broker.
The client-facing protocol does not change; clients never see a worker.

Frames after the ROUTER identity: ``[command, JSON object]``.

    worker -> engine   READY {capacity, name, model, device}   joins (again) with free slots
                       HEARTBEAT {}                             alive, nothing else to say
                       PROGRESS {ticket, done}                  a job's progress, 0..1
                       RESULT {ticket, reply}                   a job's final reply (protocol form)
                       GONE {}                                  leaves; its jobs go elsewhere
    engine -> worker   JOB {ticket, request, timeout}           run this request (timeout: seconds left)
                       CANCEL {ticket}                          stop it; its reply is not wanted
                       HEARTBEAT {}
                       DISCONNECT {}                            unknown worker: send READY again

Both sides send a heartbeat every WORKER_HEARTBEAT seconds and the engine takes a worker that
stays silent for WORKER_LIVENESS of them for dead; a round of the engine's loop that came late
does not count against its workers. Under these, ZMTP heartbeats (answered by libzmq's own I/O
thread, which nothing in Python blocks) and the socket's monitor notice a dead connection,
which loses its worker at once, once the frames it sent before closing are read (a GONE then
counts as leaving, a last RESULT answers its request). A dead or departed worker's jobs go
back to the front of the queue once (a second loss answers ``unavailable``), so a request
costs at most one retry or an error reply within its deadline, never a hang.

A worker is checked like a client: frames within a total size limit, a RESULT rebuilt from a
reply validated by the protocol's models, strictly (no NaN or Infinity; a bad reply fails that
job only, with ``internal``); with keys, only keys from the allowed-workers folder, and a
worker whose key is revoked is lost. Malformed frames are counted, logged and dropped; a worker
cannot crash the engine.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import zmq
from pydantic import ValidationError

from bridge import constants as C
from bridge.protocol import ErrorCode, MusicResult, error_reply, ok_reply
from bridge.serve.scheduler import Job, Scheduler
from bridge.serve.sockets import bind_router, closed_connections, receive, watch_connections
from bridge.studio.keys import WORKERS, Gatekeeper, ServerKeys

log = logging.getLogger(__name__)

READY, HEARTBEAT, PROGRESS, RESULT, GONE = b"READY", b"HEARTBEAT", b"PROGRESS", b"RESULT", b"GONE"
JOB, CANCEL, DISCONNECT = b"JOB", b"CANCEL", b"DISCONNECT"
MAX_CAPACITY = 64
MAX_FRAME_BYTES = C.MAX_MESSAGE_BYTES


def encode(command: bytes, body: dict[str, Any] | None = None) -> list[bytes]:
    """Raises ValueError for a body that holds NaN or Infinity (the protocol never does)."""
    return [command, json.dumps(body or {}, separators=(",", ":"), allow_nan=False).encode()]


def decode(frames: list[bytes]) -> tuple[bytes, dict[str, Any]]:
    """``[command, JSON object]`` -> (command, body); raises ValueError saying what is wrong."""
    if len(frames) != 2:
        raise ValueError(f"expected 2 frames (command, JSON), got {len(frames)}")
    command, raw = frames
    if len(raw) > MAX_FRAME_BYTES:
        raise ValueError(f"a {len(raw)}-byte body is over the limit")
    try:
        # NaN and Infinity parse here, so a RESULT that holds them still names its job: the
        # reply is then refused by its strict check and that job alone fails
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return command, body


@dataclass
class RemoteWorker:
    identity: bytes
    capacity: int
    name: str
    expires: float
    user: str = ""  # its CURVE key (Z85), "" without keys
    fd: int = -1
    tickets: dict[str, Job] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return self.capacity - len(self.tickets)


class Broker:
    """Owned by the server's loop: it polls :attr:`socket`, passes frames to :meth:`on_frames`
    and calls :meth:`housekeeping` every round."""

    def __init__(self, scheduler: Scheduler, bind: str, context: zmq.Context,
                 keys: ServerKeys | None = None, gatekeeper: Gatekeeper | None = None) -> None:
        self.scheduler = scheduler
        self.bind_address = bind
        self.address: str | None = None
        self._context = context
        self._keys = keys
        self._gatekeeper = gatekeeper
        self.socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._last_round = time.monotonic()
        self.workers: dict[bytes, RemoteWorker] = {}
        self._tickets: dict[str, tuple[bytes, Job]] = {}
        self._ids = itertools.count(1)
        self._next_beat = 0.0
        self.malformed = 0
        self.retried = 0
        self.lost = 0  # workers taken for dead
        # close reports still to come from the monitor for descriptors a new worker already took
        self._stale: Counter[int] = Counter()
        self.refused = 0  # frames from a key not (or no longer) allowed

    # --- life cycle ------------------------------------------------------------------------

    def open(self) -> zmq.Socket:
        sock, self.address = bind_router(self._context, self.bind_address, self._keys, linger_ms=0,
                                         heartbeat=True, domain=WORKERS)
        self.socket = sock
        self._monitor = watch_connections(sock)
        log.info("workers connect to %s", self.address)
        return sock

    def close(self) -> None:
        for identity in list(self.workers):
            self._send(identity, DISCONNECT)
        if self.socket is not None:
            if self._monitor is not None:
                self.socket.disable_monitor()
                self._monitor.close(linger=0)
                self._monitor = None
            self.socket.close(linger=200)
            self.socket = None

    @property
    def count(self) -> int:
        return len(self.workers)

    # --- frames ----------------------------------------------------------------------------

    def receive(self, limit: int = C.MAX_MESSAGES_PER_ROUND) -> None:
        assert self.socket is not None
        for _ in range(limit):
            try:
                inbound = receive(self.socket)
            except zmq.Again:
                return
            identity = inbound.routing_id
            if self._gatekeeper is not None and not self._gatekeeper.allows(WORKERS, inbound.user):
                self.refused += 1
                self._lose(identity, "lost its key")
                continue
            if inbound.too_large:
                self.malformed += 1
                log.warning("worker %s sent a %d-byte message; the limit is %d", identity.hex()[:8],
                            inbound.size, C.MAX_MESSAGE_BYTES)
                continue
            self.on_frames(inbound.frames, inbound.user, inbound.fd)

    def on_frames(self, frames: list[bytes], user: str = "", fd: int = -1) -> None:
        identity = frames[0]
        try:
            command, body = decode(frames[1:])
            self._handle(identity, command, body, user, fd)
        except (ValueError, TypeError, KeyError) as exc:
            self.malformed += 1
            log.warning("malformed frame from worker %s: %s", identity.hex()[:8], exc)

    def revoke(self, keys: set[bytes]) -> None:
        """Lose every worker that authenticated with one of ``keys``."""
        for identity, worker in list(self.workers.items()):
            if worker.user.encode() in keys:
                self._lose(identity, "lost its key")

    def _handle(self, identity: bytes, command: bytes, body: dict[str, Any], user: str = "",
                fd: int = -1) -> None:
        now = time.monotonic()
        worker = self.workers.get(identity)
        if command == READY:
            capacity = body.get("capacity")
            if type(capacity) is not int or not 1 <= capacity <= MAX_CAPACITY:
                raise ValueError(f"READY capacity must be an integer in range 1..{MAX_CAPACITY}")
            if worker is not None:
                self._lose(identity, "restarted")
            for other, known in list(self.workers.items()):
                if fd >= 0 and known.fd == fd:  # its descriptor was reused: that worker is gone
                    self.lost += 1
                    self._stale[fd] += 1  # and the monitor's report of it is yet to come
                    self._lose(other, "closed its connection")
            name = str(body.get("name", ""))[:128]
            self.workers[identity] = RemoteWorker(identity, capacity, name, now + _liveness(), user, fd)
            log.info("worker %s (%s) joined with %d slots; %d workers", identity.hex()[:8], name,
                     capacity, len(self.workers))
            return
        if worker is None:
            self._send(identity, DISCONNECT)  # a worker of an earlier engine: it re-registers
            return
        worker.expires = now + _liveness()
        if command == HEARTBEAT:
            return
        if command == GONE:
            self._lose(identity, "left")
            return
        if command not in (PROGRESS, RESULT):
            raise ValueError(f"unknown command {command[:32]!r}")
        ticket = body.get("ticket")
        job = worker.tickets.get(ticket) if isinstance(ticket, str) else None
        if job is None:
            return  # a job cancelled or retried elsewhere meanwhile
        if command == PROGRESS:
            done = body.get("done")
            if not isinstance(done, int | float) or isinstance(done, bool) or not 0.0 <= done <= 1.0:
                raise ValueError("PROGRESS done must be a number in range 0..1")
            self.scheduler.progress(job, float(done))
            return
        assert isinstance(ticket, str)
        del worker.tickets[ticket]
        del self._tickets[ticket]
        try:
            reply = _checked_reply(body.get("reply"), job)
        except ValueError as exc:
            self.scheduler.complete(job, error_reply(job.request.id, ErrorCode.internal,
                                                     f"the worker sent an unreadable reply ({exc})"))
            raise
        self.scheduler.complete(job, reply)

    # --- housekeeping ----------------------------------------------------------------------

    def housekeeping(self, now: float | None = None) -> None:
        """Bury dead workers, withdraw stopped jobs, hand out waiting ones, send heartbeats."""
        now = time.monotonic() if now is None else now
        late = now - self._last_round - C.WORKER_HEARTBEAT
        self._last_round = now
        if late > 0:  # this loop was held up: its workers were not silent, it was deaf
            for worker in self.workers.values():
                worker.expires += late
        closed = closed_connections(self._monitor) if self._monitor is not None else []
        if closed and self.socket is not None:
            # what a worker sent before it closed (GONE, a last RESULT) is read before it is
            # buried: this round's poll may have come before those frames arrived
            self.receive()
        for fd in closed:
            if self._stale[fd] > 0:  # the late report of a close already handled on reuse
                self._stale[fd] -= 1
                continue
            for identity, worker in list(self.workers.items()):
                if worker.fd == fd:
                    self.lost += 1
                    self._lose(identity, "closed its connection")
        for identity, worker in list(self.workers.items()):
            if worker.expires < now:
                self.lost += 1
                self._lose(identity, "stopped answering")
        for ticket, (identity, job) in list(self._tickets.items()):
            if job.answered or job.should_stop():
                self._send(identity, CANCEL, {"ticket": ticket})
                self._forget(ticket)
        self._dispatch(now)
        if not self.workers and self.scheduler.workers == 0:
            for job in self.scheduler.take_nowait(self.scheduler.queue_size):
                self.scheduler.complete(job, _no_worker(job))
        if now >= self._next_beat:
            self._next_beat = now + C.WORKER_HEARTBEAT
            for identity in list(self.workers):
                self._send(identity, HEARTBEAT)

    def _dispatch(self, now: float) -> None:
        for worker in sorted(self.workers.values(), key=lambda w: len(w.tickets) / w.capacity):
            if worker.free <= 0 or worker.identity not in self.workers:
                continue
            jobs = self.scheduler.take_nowait(worker.free)
            for index, job in enumerate(jobs):
                if job.should_stop():
                    continue
                ticket = f"{next(self._ids)}"
                job.attempts += 1
                job.started = now
                request = job.request.model_dump(mode="json", exclude_none=True)
                request["timeout"] = round(min(600.0, max(0.05, job.deadline - now)), 3)
                worker.tickets[ticket] = job
                self._tickets[ticket] = (worker.identity, job)
                if not self._send(worker.identity, JOB, {"ticket": ticket, "request": request}):
                    self._lose(worker.identity, "unreachable")
                    for rest in jobs[index + 1:]:
                        self.scheduler.requeue(rest)
                    break

    def _forget(self, ticket: str) -> None:
        identity, _ = self._tickets.pop(ticket)
        worker = self.workers.get(identity)
        if worker is not None:
            worker.tickets.pop(ticket, None)

    def _lose(self, identity: bytes, why: str) -> None:
        """A worker is gone: its jobs go back first in line once, else are answered."""
        worker = self.workers.pop(identity, None)
        if worker is None:
            return
        log.warning("worker %s (%s) %s with %d jobs; %d workers left", identity.hex()[:8], worker.name,
                    why, len(worker.tickets), len(self.workers))
        now = time.monotonic()
        for ticket, job in worker.tickets.items():
            self._tickets.pop(ticket, None)
            if job.answered or job.should_stop():
                continue
            if job.attempts < 2 and job.deadline > now and self.scheduler.requeue(job):
                self.retried += 1
                log.info("request %s goes to another worker", job.request.id)
                continue
            self.scheduler.complete(job, error_reply(
                job.request.id, ErrorCode.unavailable,
                f"the worker running request {job.request.id!r} {why}; retry"))

    def _send(self, identity: bytes, command: bytes, body: dict[str, Any] | None = None) -> bool:
        if self.socket is None:
            return False
        try:
            frames = encode(command, body)
        except ValueError as exc:  # a bug: the protocol never holds a non-finite number
            log.error("cannot encode %s for worker %s: %s", command.decode(), identity.hex()[:8], exc)
            return False
        try:
            self.socket.send_multipart([identity, *frames], zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:
            log.debug("worker %s unreachable: %s", identity.hex()[:8], exc)
            return False


def _liveness() -> float:
    return C.WORKER_HEARTBEAT * C.WORKER_LIVENESS


def _no_worker(job: Job) -> dict[str, Any]:
    return error_reply(job.request.id, ErrorCode.unavailable,
                       "no worker is connected to this engine; start one with `dawbridge worker --connect ...`")


def _checked_reply(reply: Any, job: Job) -> dict[str, Any]:
    """A worker's final reply in protocol form, rebuilt from parts validated as strictly as a
    client's request: a result is a MusicResult (finite numbers, notes inside their clips) with
    1..candidates candidates; an error has a code of the closed set."""
    request_id = job.request.id
    if not isinstance(reply, dict) or reply.get("id") != request_id:
        raise ValueError("RESULT reply must be a reply object with the request's id")
    if reply.get("ok") is True and isinstance(reply.get("result"), dict):
        try:
            result = MusicResult.model_validate_json(json.dumps(reply["result"]), strict=True)
        except (ValidationError, ValueError) as exc:
            raise ValueError(f"RESULT result is not a valid music result: {str(exc)[:300]}") from None
        if not 1 <= len(result.candidates) <= job.request.candidates:
            raise ValueError(f"RESULT holds {len(result.candidates)} candidates, "
                             f"{job.request.candidates} were asked for")
        return ok_reply(request_id, result)
    error = reply.get("error")
    if reply.get("ok") is False and isinstance(error, dict):
        code = ErrorCode(error.get("code"))  # ValueError for a code outside the set
        return error_reply(request_id, code, str(error.get("message", ""))[:2000])
    raise ValueError("RESULT reply must have ok true and a result, or ok false and an error")
