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

Both sides send a heartbeat every WORKER_HEARTBEAT seconds and take a peer that stays silent
for WORKER_LIVENESS of them for dead. A dead or departed worker's jobs go back to the front of
the queue once (a second loss answers ``unavailable``), so a request costs at most one retry
or an error reply within its deadline, never a hang. Malformed frames are counted, logged and
dropped; a worker cannot crash the engine.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import zmq

from bridge import constants as C
from bridge.protocol import ErrorCode, error_reply
from bridge.serve.scheduler import Job, Scheduler
from bridge.serve.sockets import bind_router
from bridge.studio.keys import ServerKeys

log = logging.getLogger(__name__)

READY, HEARTBEAT, PROGRESS, RESULT, GONE = b"READY", b"HEARTBEAT", b"PROGRESS", b"RESULT", b"GONE"
JOB, CANCEL, DISCONNECT = b"JOB", b"CANCEL", b"DISCONNECT"
MAX_CAPACITY = 64
MAX_FRAME_BYTES = C.MAX_MESSAGE_BYTES


def encode(command: bytes, body: dict[str, Any] | None = None) -> list[bytes]:
    return [command, json.dumps(body or {}, separators=(",", ":"), allow_nan=False).encode()]


def decode(frames: list[bytes]) -> tuple[bytes, dict[str, Any]]:
    """``[command, JSON object]`` -> (command, body); raises ValueError saying what is wrong."""
    if len(frames) != 2:
        raise ValueError(f"expected 2 frames (command, JSON), got {len(frames)}")
    command, raw = frames
    if len(raw) > MAX_FRAME_BYTES:
        raise ValueError(f"a {len(raw)}-byte body is over the limit")
    try:
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
    tickets: dict[str, Job] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return self.capacity - len(self.tickets)


class Broker:
    """Owned by the server's loop: it polls :attr:`socket`, passes frames to :meth:`on_frames`
    and calls :meth:`housekeeping` every round."""

    def __init__(self, scheduler: Scheduler, bind: str, context: zmq.Context,
                 keys: ServerKeys | None = None) -> None:
        self.scheduler = scheduler
        self.bind_address = bind
        self.address: str | None = None
        self._context = context
        self._keys = keys
        self.socket: zmq.Socket | None = None
        self.workers: dict[bytes, RemoteWorker] = {}
        self._tickets: dict[str, tuple[bytes, Job]] = {}
        self._ids = itertools.count(1)
        self._next_beat = 0.0
        self.malformed = 0
        self.retried = 0
        self.lost = 0  # workers taken for dead

    # --- life cycle ------------------------------------------------------------------------

    def open(self) -> zmq.Socket:
        sock, self.address = bind_router(self._context, self.bind_address, self._keys, linger_ms=0)
        self.socket = sock
        log.info("workers connect to %s", self.address)
        return sock

    def close(self) -> None:
        for identity in list(self.workers):
            self._send(identity, DISCONNECT)
        if self.socket is not None:
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
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.on_frames(frames)

    def on_frames(self, frames: list[bytes]) -> None:
        identity = frames[0]
        try:
            command, body = decode(frames[1:])
            self._handle(identity, command, body)
        except (ValueError, TypeError, KeyError) as exc:
            self.malformed += 1
            log.warning("malformed frame from worker %s: %s", identity.hex()[:8], exc)

    def _handle(self, identity: bytes, command: bytes, body: dict[str, Any]) -> None:
        now = time.monotonic()
        worker = self.workers.get(identity)
        if command == READY:
            capacity = body.get("capacity")
            if type(capacity) is not int or not 1 <= capacity <= MAX_CAPACITY:
                raise ValueError(f"READY capacity must be an integer in range 1..{MAX_CAPACITY}")
            if worker is not None:
                self._lose(identity, "restarted")
            name = str(body.get("name", ""))[:128]
            self.workers[identity] = RemoteWorker(identity, capacity, name, now + _liveness())
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
            if not isinstance(done, int | float) or not 0.0 <= done <= 1.0:
                raise ValueError("PROGRESS done must be a number in range 0..1")
            self.scheduler.progress(job, float(done))
            return
        assert isinstance(ticket, str)
        del worker.tickets[ticket]
        del self._tickets[ticket]
        try:
            reply = _checked_reply(body.get("reply"), job.request.id)
        except ValueError as exc:
            self.scheduler.complete(job, error_reply(job.request.id, ErrorCode.internal,
                                                     f"the worker sent an unreadable reply ({exc})"))
            raise
        self.scheduler.complete(job, reply)

    # --- housekeeping ----------------------------------------------------------------------

    def housekeeping(self, now: float | None = None) -> None:
        """Bury dead workers, withdraw stopped jobs, hand out waiting ones, send heartbeats."""
        now = time.monotonic() if now is None else now
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
            self.socket.send_multipart([identity, *encode(command, body)], zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:
            log.debug("worker %s unreachable: %s", identity.hex()[:8], exc)
            return False


def _liveness() -> float:
    return C.WORKER_HEARTBEAT * C.WORKER_LIVENESS


def _no_worker(job: Job) -> dict[str, Any]:
    return error_reply(job.request.id, ErrorCode.unavailable,
                       "no worker is connected to this engine; start one with `dawbridge worker --connect ...`")


def _checked_reply(reply: Any, request_id: str) -> dict[str, Any]:
    """A worker's final reply in protocol form, rebuilt from its checked parts."""
    if not isinstance(reply, dict) or reply.get("id") != request_id:
        raise ValueError("RESULT reply must be a reply object with the request's id")
    if reply.get("ok") is True and isinstance(reply.get("result"), dict):
        return {"v": 1, "id": request_id, "ok": True, "result": reply["result"]}
    error = reply.get("error")
    if reply.get("ok") is False and isinstance(error, dict):
        code = ErrorCode(error.get("code"))  # ValueError for a code outside the set
        return error_reply(request_id, code, str(error.get("message", ""))[:2000])
    raise ValueError("RESULT reply must have ok true and a result, or ok false and an error")
