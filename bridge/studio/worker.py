"""A model worker on another machine (``dawbridge worker --connect tcp://ENGINE:5556``): it
offers its slots to an engine's worker socket and runs the jobs it is given through its own
scheduler (batching included), in the manner of the ZeroMQ guide's Paranoid Pirate worker.

One loop owns the DEALER socket: poll -> frames -> JOB / CANCEL / HEARTBEAT / DISCONNECT ->
results from the scheduler's threads -> heartbeats. When the connection drops (ZMTP heartbeats,
which libzmq's I/O threads send and answer whatever the engine's Python loop is doing, notice a
dead peer), when the engine says DISCONNECT, or when it stays silent for WORKER_SILENCE seconds,
the worker drops what it runs, opens a fresh socket and says READY again: an engine restart or
a network cut heals by itself, and a busy engine is not taken for a dead one. The frames are
bridge/studio/broker.py's.
"""

from __future__ import annotations

import json
import logging
import socket as stdsocket
import threading
import time
from typing import Any

import zmq

from bridge import constants as C
from bridge.protocol import MUSICAL_OPS, ErrorCode, ProtocolError, decode_request, error_reply
from bridge.serve.engine import ComposerSlot, Engine
from bridge.serve.scheduler import Job, Message, Refused, Scheduler
from bridge.serve.sockets import closed_connections, watch_connections
from bridge.serve.waker import Outbox, Waker
from bridge.studio.broker import (
    CANCEL,
    DISCONNECT,
    GONE,
    HEARTBEAT,
    JOB,
    PROGRESS,
    READY,
    RESULT,
    decode,
    encode,
)
from bridge.studio.keys import ClientKeys

log = logging.getLogger(__name__)


class Worker:
    """Connects to ``connect`` and serves until :meth:`stop` (orderly: says GONE) or
    :meth:`kill` (as if the machine died: says nothing)."""

    def __init__(self, connect: str, slot: ComposerSlot, *, threads: int = 1,
                 max_batch: int = C.MAX_BATCH, capacity: int | None = None,
                 keys: ClientKeys | None = None, name: str | None = None,
                 context: zmq.Context | None = None) -> None:
        self.connect_address = connect
        self.engine = Engine(slot)
        self.capacity = capacity or max(1, threads * max_batch)
        self.scheduler = Scheduler(self.engine.compose, self._deliver, self.capacity, threads,
                                   max_batch=max_batch, work_many=self.engine.compose_many,
                                   batchable=self.engine.batchable)
        self.keys = keys
        self.name = name or stdsocket.gethostname()
        self._context = context or zmq.Context.instance()
        self._waker = Waker()
        self._outbox: Outbox[tuple[Job, Message]] = Outbox(self._waker)
        self._stopping = threading.Event()
        self._killed = False
        self._tickets: dict[str, Job] = {}
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._heard = 0.0
        self._next_beat = 0.0
        self.connected = threading.Event()  # set once the engine has answered
        self.reconnects = 0

    # --- life cycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()
        self._waker.ring()

    def kill(self) -> None:
        """Stop without a word, as a machine that loses power (tests use this)."""
        self._killed = True
        self.stop()

    def run(self) -> None:
        self.engine.slot.start()
        self.scheduler.start()
        self._connect()
        poller = zmq.Poller()
        poller.register(self._waker, zmq.POLLIN)
        try:
            while not self._stopping.is_set():
                self._round(poller)
        finally:
            self.scheduler.close()
            self.scheduler.stop_running()
            if self._socket is not None:
                if not self._killed:
                    self._send(GONE)
                self._close_socket(linger=0 if self._killed else 500)
            self._waker.close()
            log.info("worker stopped")

    def _connect(self) -> None:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, C.MAX_MESSAGE_BYTES)
        sock.setsockopt(zmq.HEARTBEAT_IVL, C.HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, C.HEARTBEAT_TIMEOUT_MS)
        if self.keys is not None:
            self.keys.apply(sock)
        self._monitor = watch_connections(sock)
        sock.connect(self.connect_address)
        self._socket = sock
        self._heard = time.monotonic()
        self._send(READY, {"capacity": self.capacity, "name": self.name})
        self._next_beat = time.monotonic() + C.WORKER_HEARTBEAT
        log.info("worker offering %d slots to %s", self.capacity, self.connect_address)

    def _reconnect(self, why: str) -> None:
        log.warning("engine %s; reconnecting to %s", why, self.connect_address)
        self.reconnects += 1
        self.connected.clear()
        for job in list(self._tickets.values()):
            self.scheduler.cancel(job.envelope, job.request.id)
        self._tickets.clear()
        self._close_socket(linger=0)
        self._connect()

    def _close_socket(self, linger: int) -> None:
        assert self._socket is not None
        if self._monitor is not None:
            self._socket.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        self._socket.close(linger=linger)

    # --- the loop --------------------------------------------------------------------------

    def _round(self, poller: zmq.Poller) -> None:
        assert self._socket is not None
        sock = self._socket
        poller.register(sock, zmq.POLLIN)
        try:
            events = dict(poller.poll(C.POLL_MS))
        finally:
            poller.unregister(sock)
        if events.get(sock):
            for _ in range(C.MAX_MESSAGES_PER_ROUND):
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_frames(frames)
                if self._socket is not sock:
                    break
        self._waker.drain()
        self.scheduler.expire()
        self._flush()
        now = time.monotonic()
        if self._monitor is not None and closed_connections(self._monitor):
            self._reconnect("closed the connection")
        elif now - self._heard > C.WORKER_SILENCE:
            self._reconnect("stopped answering")
        elif now >= self._next_beat:
            self._next_beat = now + C.WORKER_HEARTBEAT
            self._send(HEARTBEAT)

    def _on_frames(self, frames: list[bytes]) -> None:
        try:
            command, body = decode(frames)
        except ValueError as exc:
            log.warning("malformed frame from the engine: %s", exc)
            return
        self._heard = time.monotonic()
        self.connected.set()
        if command == JOB:
            self._job(body)
        elif command == CANCEL:
            job = self._tickets.get(str(body.get("ticket")))
            if job is not None:
                self.scheduler.cancel(job.envelope, job.request.id)
        elif command == DISCONNECT:
            self._reconnect("does not know this worker")
        elif command != HEARTBEAT:
            log.warning("unknown command %r from the engine", command[:32])

    def _job(self, body: dict[str, Any]) -> None:
        ticket = body.get("ticket")
        if not isinstance(ticket, str) or not ticket:
            log.warning("JOB without a ticket")
            return
        try:
            request = decode_request(json.dumps(body.get("request")).encode())
            if request.op not in MUSICAL_OPS:
                raise ProtocolError(ErrorCode.invalid_request, f"a worker runs musical ops, not {request.op}")
        except ProtocolError as exc:
            self._send(RESULT, {"ticket": ticket, "reply": exc.reply()})
            return
        timeout = request.timeout if request.timeout is not None else C.DEFAULT_TIMEOUT
        job = Job(envelope=(ticket.encode(),), request=request, deadline=time.monotonic() + timeout)
        try:
            self.scheduler.submit(job)
        except Refused as refused:
            self._send(RESULT, {"ticket": ticket, "reply": error_reply(request.id, refused.code, refused.message)})
            return
        self._tickets[ticket] = job

    def _deliver(self, job: Job, message: Message) -> None:
        """Called by scheduler threads: queue for the loop and wake it."""
        self._outbox.put((job, message))

    def _flush(self) -> None:
        for job, message in self._outbox.take():
            ticket = job.envelope[0].decode()
            if "ok" in message:
                if self._tickets.pop(ticket, None) is not None:
                    self._send(RESULT, {"ticket": ticket, "reply": message})
            elif message.get("event") == "progress" and ticket in self._tickets:
                self._send(PROGRESS, {"ticket": ticket, "done": message["done"]})

    def _send(self, command: bytes, body: dict[str, Any] | None = None) -> None:
        assert self._socket is not None
        try:
            self._socket.send_multipart(encode(command, body), zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # not connected yet, or the queue to the engine is full
            log.debug("cannot send %s to the engine: %s", command.decode(), exc)


def running_worker(connect: str, composer: Any = None, slot: ComposerSlot | None = None,
                   **options: Any) -> tuple[Worker, threading.Thread]:
    """Start a worker in a background thread (tests and benchmarks); returns it and its thread."""
    if composer is not None:
        slot = ComposerSlot.of(composer)
    assert slot is not None
    worker = Worker(connect, slot, **options)
    thread = threading.Thread(target=worker.run, name="dawbridge-remote-worker", daemon=True)
    thread.start()
    return worker, thread
