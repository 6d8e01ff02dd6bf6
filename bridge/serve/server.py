"""The engine's ZeroMQ server: one ROUTER loop that owns the socket.

    poll -> receive (frame by frame, within a size limit) -> peel envelope -> decode (large
         frames on the parser thread, bridge/serve/parser.py) -> dispatch through a dict -> reply
         -> housekeeping (replies from workers, parsed requests, deadlines, revoked keys, stop)

Service ops are answered in the loop; musical ops go to the scheduler, whose workers hand
replies back through a thread-safe outbox and a wake-up socket pair. Every request gets
exactly one final reply with its id; a frame that cannot be read gets an error reply or is
dropped, and the loop keeps serving. Nothing a peer sends can make the loop raise: messages are
read within a total size limit, a request's cost is checked before it is queued, and a reply
that cannot be encoded becomes an ``internal`` error.

Connections are tracked (bridge/serve/peers.py): one that closes takes its DAW sessions and its
requests with it (cancelled, so the model is free for the next); a REQ socket gets exactly one
message per request; a DAW session is reached only by a dispatch from the same client key (on
loopback, the same machine), and sessions are bounded per connection and in total. Every final
reply is logged on one line: id, op, client, queue wait, compute time, outcome.

Studio options: ``keys`` (bridge/studio/keys.py) makes both sockets CURVE servers, the client
socket accepting the allowed client keys and the worker socket the allowed worker keys; a key
removed from its folder stops being served. ``worker_bind`` opens the worker socket
(bridge/studio/broker.py) the same loop polls; with ``workers=0`` the engine loads no model
itself. ``max_batch`` lets a worker thread run waiting requests in shared forward passes.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import zmq

from bridge import constants as C
from bridge.protocol import (
    AttachResult,
    CancelResult,
    DispatchResult,
    ErrorCode,
    PingResult,
    ProtocolError,
    command_event,
    error_reply,
    ok_reply,
)
from bridge.serve import cost
from bridge.serve.engine import ComposerSlot, Engine
from bridge.serve.parser import Parsed, Parser, envelope_of, guess_id, read_request
from bridge.serve.peers import Peer, Peers
from bridge.serve.scheduler import Envelope, Job, Refused, Scheduler
from bridge.serve.sockets import (
    Inbound,
    bind_router,
    closed_connections,
    receive,
    watch_connections,
)
from bridge.serve.waker import Outbox, Waker
from bridge.studio.broker import Broker
from bridge.studio.keys import CLIENTS, Gatekeeper, ServerKeys
from models.interface import Composer

log = logging.getLogger(__name__)


@dataclass
class Session:
    """An attached DAW session: where to push commands, and whose it is."""

    envelope: Envelope
    id: str
    daw: str
    name: str
    owner: str  # the attaching connection's key or address: only its own dispatches reach it


class Server:
    """The engine: binds ``bind``, serves until :meth:`stop`, answers everything in flight."""

    def __init__(self, bind: str = C.DEFAULT_ADDRESS, slot: ComposerSlot | None = None, *,
                 queue_size: int = C.QUEUE_SIZE, workers: int = C.WORKERS,
                 shutdown_grace: float = C.SHUTDOWN_GRACE, context: zmq.Context | None = None,
                 max_batch: int = C.MAX_BATCH, keys: ServerKeys | None = None,
                 worker_bind: str | None = None, client_share: float = C.CLIENT_SHARE) -> None:
        if workers == 0 and worker_bind is None:
            raise ValueError("workers must be at least 1 unless remote workers connect (worker_bind)")
        if worker_bind is not None and keys is not None and keys.workers is None:
            raise ValueError("a worker socket with keys needs its own allowed-workers folder (--allowed-workers)")
        self.bind_address = bind
        self.engine = Engine(slot or ComposerSlot.from_weights(None, "auto"), local_model=workers > 0)
        self.scheduler = Scheduler(self.engine.compose, self._deliver, queue_size, workers,
                                   max_batch=max_batch, work_many=self.engine.compose_many,
                                   batchable=self.engine.batchable, client_share=client_share)
        self.shutdown_grace = shutdown_grace
        self.keys = keys
        # ZAP (the key check) is one handler per context: an authenticating engine gets its own
        self._own_context = context is None and keys is not None
        self._context = context or (zmq.Context() if keys is not None else zmq.Context.instance())
        self._gatekeeper = Gatekeeper(self._context, keys) if keys is not None else None
        self.broker = (Broker(self.scheduler, worker_bind, self._context, keys, self._gatekeeper)
                       if worker_bind else None)
        self._waker = Waker()
        self._outbox: Outbox[tuple[Job, dict[str, Any]]] = Outbox(self._waker)
        self._parser = Parser(self._waker.ring)
        self._stopping = threading.Event()
        self.bound = threading.Event()
        self.address: str | None = None
        self.sessions: dict[Envelope, Session] = {}
        self.peers = Peers()
        self.served = 0  # musical requests answered with a result
        self.failed = 0  # musical requests answered with an error
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._handlers: dict[str, Callable[[Peer, Envelope, Any], None]] = {
            "ping": self._ping, "info": self._info, "cancel": self._cancel,
            "attach": self._attach, "dispatch": self._dispatch,
            "harmonize": self._submit, "drums": self._submit, "fill": self._submit,
            "vary": self._submit, "continue": self._submit, "restyle": self._submit,
        }

    # --- life cycle ------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to stop (thread- and signal-safe); it answers what is in flight first."""
        self._stopping.set()
        self._waker.ring()

    def _open(self) -> zmq.Socket:
        sock, self.address = bind_router(self._context, self.bind_address, self.keys, linger_ms=1000,
                                         heartbeat=True)
        return sock

    def run(self) -> None:
        """Serve until :meth:`stop`; raises zmq.ZMQError when the address cannot be bound."""
        if self._gatekeeper is not None:
            self._gatekeeper.start()
        try:
            self._socket = sock = self._open()
            self._monitor = watch_connections(sock)
            if self.broker is not None:
                self.broker.open()
        except BaseException:
            self._close()
            raise
        if self.engine.local_model:
            self.engine.slot.start()
        # the loop gives up the interpreter's lock in every socket call; with the default 5 ms
        # switch interval each return to it may wait 5 ms behind the parser or a model thread
        sys.setswitchinterval(min(sys.getswitchinterval(), C.SWITCH_INTERVAL))
        self.scheduler.start()
        self._parser.start()
        poller = zmq.Poller()
        poller.register(self._monitor, zmq.POLLIN)
        poller.register(sock, zmq.POLLIN)
        poller.register(self._waker, zmq.POLLIN)
        if self.broker is not None and self.broker.socket is not None:
            poller.register(self.broker.socket, zmq.POLLIN)
        log.info("engine listening on %s%s", self.address, " (CURVE)" if self.keys is not None else "")
        self.bound.set()
        try:
            while not self._stopping.is_set():
                self._round(poller, sock)
            self._drain(poller, sock)
        finally:
            self._close()
            log.info("engine stopped (%d served, %d failed)", self.served, self.failed)

    def _close(self) -> None:
        self._parser.stop()
        if self._socket is not None:
            if self._monitor is not None:
                self._socket.disable_monitor()
                self._monitor.close(linger=0)
            self._socket.close(linger=1000)
        if self.broker is not None:
            self.broker.close()
        self._waker.close()
        if self._gatekeeper is not None:
            self._gatekeeper.stop()
        if self._own_context:
            self._context.term()

    def _round(self, poller: zmq.Poller, sock: zmq.Socket) -> None:
        events = dict(poller.poll(C.POLL_MS))
        if self._monitor is not None and events.get(self._monitor):
            for fd in closed_connections(self._monitor):  # before reading: a descriptor may be reused
                peer = self.peers.closed(fd)
                if peer is not None:
                    self._gone(peer, "its client went away")
        if events.get(sock):
            for _ in range(C.MAX_MESSAGES_PER_ROUND):
                try:
                    inbound = receive(sock)
                except zmq.Again:
                    break
                self._on_message(inbound)
        if self.broker is not None:
            if events.get(self.broker.socket):
                self.broker.receive()
            self.broker.housekeeping()
        self._waker.drain()
        self._collect_parsed()
        self.scheduler.expire()
        self._flush()
        if self._gatekeeper is not None:
            self._revoke(self._gatekeeper.refresh())

    def _drain(self, poller: zmq.Poller, sock: zmq.Socket) -> None:
        """Shutdown: refuse new work, let running work finish for a grace period, then stop it;
        every request in flight is answered before the socket closes."""
        log.info("engine stopping; %d requests in flight", self.scheduler.depth)
        self.scheduler.close()
        end = time.monotonic() + self.shutdown_grace
        while self.scheduler.depth and time.monotonic() < end:
            self._round(poller, sock)
        self.scheduler.stop_running()
        self.scheduler.join(1.0)
        self._flush()

    # --- frames ----------------------------------------------------------------------------

    def _on_message(self, inbound: Inbound) -> None:
        peer, closed = self.peers.seen(inbound)
        if closed is not None:
            self._gone(closed, "its client went away")
        if peer.keyed and self._gatekeeper is not None and not self._gatekeeper.allows(CLIENTS, peer.owner):
            self._refuse_revoked(peer)
            return
        if inbound.too_large:
            self._send((peer.routing_id, b""), error_reply(
                None, ErrorCode.too_large, f"the message is {inbound.size} bytes in {C.MAX_MESSAGE_PARTS} "
                f"frames at most; the limit is {C.MAX_MESSAGE_BYTES} bytes"))
            return
        frames = inbound.frames
        if len(frames[-1]) > C.PARSE_INLINE_BYTES:  # a large request: parsed off the loop
            if not self._parser.offer(peer, frames):
                self._send(envelope_of(frames), error_reply(
                    guess_id(frames[-1]), ErrorCode.overloaded, "the engine is reading many large "
                    "requests; retry shortly"))
            return
        try:
            parsed: Parsed | ProtocolError = read_request(frames)
        except ProtocolError as exc:
            parsed = exc
        self._dispatch_parsed(peer, frames, parsed)

    def _collect_parsed(self) -> None:
        """The large requests the parser has read, in the order it read them."""
        while True:
            try:
                peer, frames, parsed = self._parser.done.get_nowait()
            except queue.Empty:
                return
            current = self.peers.get(peer.routing_id)
            if current is not None and current is peer:  # not gone meanwhile
                self._dispatch_parsed(current, frames, parsed)

    def _dispatch_parsed(self, peer: Peer, frames: list[bytes], parsed: Parsed | ProtocolError) -> None:
        if isinstance(parsed, ProtocolError):
            log.debug("refused a frame from %s: %s", peer.label, parsed.message)
            self._send(envelope_of(frames), parsed.reply())
            return
        envelope, request = parsed
        try:
            self._handlers[request.op](peer, envelope, request)
        except Exception as exc:  # a bug in a handler: answer, log, keep serving
            log.error("handling %s %r failed", request.op, request.id, exc_info=True)
            self._answer(peer, envelope, request, error_reply(request.id, ErrorCode.internal,
                                                              f"{type(exc).__name__}: {exc}"))

    def _send(self, envelope: Envelope, message: dict[str, Any]) -> bool:
        """Send to one peer; False when it is gone or not reading (a session there is forgotten).
        Never raises: a message that cannot be encoded is logged and replaced by an error."""
        assert self._socket is not None
        try:
            payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            log.error("a message for %r could not be encoded: %s", message.get("id"), exc)
            if "ok" not in message:
                return False
            request_id = message.get("id") if isinstance(message.get("id"), str) else None
            payload = json.dumps(error_reply(request_id, ErrorCode.internal,
                                             f"the engine could not encode its reply ({exc})")).encode()
        try:
            self._socket.send_multipart([*envelope, payload], zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:
            log.debug("peer %r gone (%s); dropping %s", envelope[:1], exc, message.get("id"))
            self.sessions.pop(envelope, None)
            return False

    def _answer(self, peer: Peer, envelope: Envelope, request: Any, message: dict[str, Any]) -> None:
        """The final reply of a request answered in the loop, logged."""
        self._send(envelope, message)
        level = logging.DEBUG if request.op in ("ping", "info") else logging.INFO
        if log.isEnabledFor(level):
            _log_reply(level, request.id, request.op, peer.label, 0.0, 0.0, message)

    def _deliver(self, job: Job, message: dict[str, Any]) -> None:
        """Called by scheduler threads: queue for the loop and wake it."""
        self._outbox.put((job, message))

    def _flush(self) -> None:
        for job, message in self._outbox.take():
            if "ok" in message:  # counted before it is sent: a client that reads it sees it counted
                if message["ok"]:
                    self.served += 1
                else:
                    self.failed += 1
            self._send(job.envelope, message)
            if "ok" in message:
                now = time.monotonic()
                started = job.started if job.started is not None else now
                _log_reply(logging.INFO, job.request.id, job.request.op, job.client,
                           started - job.received, now - started, message)

    # --- connections -----------------------------------------------------------------------

    def _gone(self, peer: Peer, why: str) -> None:
        """A connection closed (or lost its key): its requests are cancelled, its sessions end."""
        self.peers.forget(peer)
        cancelled = self.scheduler.cancel_client(peer.routing_id, why)
        ended = [envelope for envelope in self.sessions if envelope[0] == peer.routing_id]
        for envelope in ended:
            del self.sessions[envelope]
        if cancelled or ended:
            log.info("client %s: %s; %d requests cancelled, %d sessions ended", peer.label, why,
                     cancelled, len(ended))

    def _revoke(self, keys: set[bytes]) -> None:
        for key in keys:
            for peer in self.peers.of_owner(key.decode()):
                self._gone(peer, "its key was revoked")
        if keys and self.broker is not None:
            self.broker.revoke(keys)

    def _refuse_revoked(self, peer: Peer) -> None:
        self._gone(peer, "its key was revoked")
        self._send((peer.routing_id, b""), error_reply(
            None, ErrorCode.unauthorized, "this machine's key is no longer allowed on this engine; ask its admin"))

    # --- ops -------------------------------------------------------------------------------

    def _ping(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        self._answer(peer, envelope, request, ok_reply(request.id, PingResult(time=time.time())))

    def _info(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        info = self.engine.info(self.scheduler.depth, self.scheduler.queue_size, self.worker_count,
                                self.served, self.failed, len(self.sessions))
        self._answer(peer, envelope, request, ok_reply(request.id, info))

    def metrics(self) -> dict[str, float]:
        """The figures bridge/studio/metrics.py exposes (read from another thread; plain counters)."""
        broker = self.broker
        return {
            "dawbridge_uptime_seconds": round(time.monotonic() - self.engine.started, 3),
            "dawbridge_queue_depth": self.scheduler.depth,
            "dawbridge_queue_size": self.scheduler.queue_size,
            "dawbridge_workers": self.worker_count,
            "dawbridge_remote_workers": broker.count if broker is not None else 0,
            "dawbridge_sessions": len(self.sessions),
            "dawbridge_requests_served_total": self.served,
            "dawbridge_requests_failed_total": self.failed,
            "dawbridge_batches_total": self.scheduler.batches,
            "dawbridge_batched_requests_total": self.scheduler.batched,
            "dawbridge_worker_retries_total": broker.retried if broker is not None else 0,
            "dawbridge_workers_lost_total": broker.lost if broker is not None else 0,
            "dawbridge_malformed_worker_frames_total": broker.malformed if broker is not None else 0,
            "dawbridge_model_loaded": 1 if self.engine.slot.loaded is not None else 0,
        }

    @property
    def worker_count(self) -> int:
        """Threads calling the model here plus remote workers connected."""
        return self.scheduler.workers + (self.broker.count if self.broker is not None else 0)

    def _cancel(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        if self.scheduler.cancel(envelope, request.target):
            self._flush()  # the cancelled request's reply goes first
            self._answer(peer, envelope, request, ok_reply(request.id, CancelResult(cancelled=request.target)))
        else:
            self._answer(peer, envelope, request, error_reply(
                request.id, ErrorCode.not_found, f"no request {request.target!r} of yours is in flight", "target"))

    def _attach(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        refusal = None
        if peer.one_reply:
            refusal = (ErrorCode.invalid_request, "a REQ socket takes one message per request; attach "
                       "from a DEALER socket to receive commands")
        elif envelope not in self.sessions:
            own = sum(1 for held in self.sessions if held[0] == peer.routing_id)
            if own >= C.MAX_SESSIONS_PER_CONNECTION or len(self.sessions) >= C.MAX_SESSIONS:
                refusal = (ErrorCode.overloaded, f"at most {C.MAX_SESSIONS_PER_CONNECTION} sessions per "
                           f"connection and {C.MAX_SESSIONS} in all may attach")
        if refusal is not None:
            self._answer(peer, envelope, request, error_reply(request.id, *refusal))
            return
        self.sessions[envelope] = Session(envelope, request.id, request.daw, request.name, peer.owner)
        self._answer(peer, envelope, request, ok_reply(request.id, AttachResult(session=request.id)))

    def _dispatch(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        targets = [s for s in self.sessions.values()
                   if s.owner == peer.owner and request.daw in (None, s.daw)]
        delivered = 0
        for session in targets:
            if self._send(session.envelope, command_event(session.id, request.command)):
                delivered += 1
        self._answer(peer, envelope, request, ok_reply(request.id, DispatchResult(delivered=delivered)))

    def _submit(self, peer: Peer, envelope: Envelope, request: Any) -> None:
        refusal: tuple[ErrorCode, str] | None = None
        if self._stopping.is_set():
            refusal = (ErrorCode.shutting_down, "the engine is shutting down; retry when it is back")
        elif self.worker_count == 0:
            refusal = (ErrorCode.unavailable, "no worker is connected to this engine; start one with "
                       "`dawbridge worker --connect ...`")
        elif (why := cost.too_costly(request)) is not None:
            refusal = (ErrorCode.too_large, why)
        if refusal is not None:
            self._answer(peer, envelope, request, error_reply(request.id, *refusal))
            return
        timeout = request.timeout if request.timeout is not None else C.DEFAULT_TIMEOUT
        job = Job(envelope=envelope, request=request, deadline=time.monotonic() + timeout,
                  one_reply=peer.one_reply, client=peer.label)
        try:
            self.scheduler.submit(job)
        except Refused as refused:
            self._answer(peer, envelope, request, error_reply(request.id, refused.code, refused.message))


def _log_reply(level: int, request_id: str, op: str, client: str, waited: float, computed: float,
               message: dict[str, Any]) -> None:
    """One line per request: id, op, client, queue wait, compute time, outcome."""
    outcome = "ok" if message.get("ok") else str((message.get("error") or {}).get("code", "internal"))
    log.log(level, "%s %s from %s: %s (queue %.3f s, compute %.3f s)", request_id, op, client, outcome,
            waited, computed, extra={"request_id": request_id, "op": op, "client": client, "outcome": outcome,
                                     "queue_seconds": round(waited, 4), "compute_seconds": round(computed, 4)})


@contextmanager
def running_engine(bind: str = "tcp://127.0.0.1:*", *, composer: Composer | None = None,
                   slot: ComposerSlot | None = None, **options: Any) -> Iterator[Server]:
    """Run an engine in a background thread; yields it once bound (``server.address``), and
    stops it, answering everything in flight, on exit."""
    if composer is not None:
        slot = ComposerSlot.of(composer)
    server = Server(bind, slot, **options)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run()
        except BaseException as exc:
            failure.append(exc)
            server.bound.set()

    thread = threading.Thread(target=target, name="dawbridge-engine", daemon=True)
    thread.start()
    server.bound.wait()
    if failure:
        raise failure[0]
    try:
        yield server
    finally:
        server.stop()
        thread.join(server.shutdown_grace + 5.0)
