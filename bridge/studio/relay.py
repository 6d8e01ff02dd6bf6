"""The local relay (``dawbridge serve --upstream tcp://studio:5555 --server-key ... --client-key
...``): DAW scripts keep talking to localhost; the relay forwards their requests to the studio
server over CURVE and the replies back.

One loop owns three sockets: the loopback ROUTER the DAWs connect to, the DEALER to the studio
server, and that DEALER's monitor. Requests travel as ``[client identity, "", JSON]`` so the
server's envelope peeling routes replies back to the right DAW. The relay tracks every request
in flight (Lazy Pirate, from the ZeroMQ guide):

- upstream not connected: the request waits up to CONNECT_WAIT seconds for the connection,
  then is answered ``unavailable``, saying what to do;
- the server refuses this machine's key: ``unauthorized``, naming the key to allow;
- the connection drops: every request in flight is answered ``unavailable``, the socket is
  opened afresh (nothing stale is sent later) and ZeroMQ reconnects by itself;
- no final reply by the request's deadline plus a grace period: ``timeout``.

Progress and command events pass through, except to a REQ socket, which takes exactly one
message per request; a final reply for a request the relay has already answered is dropped, so
every request gets exactly one. A DAW client whose connection closes (a CLI stopped with
Ctrl-C) has its requests in flight cancelled upstream, so the studio's model is not kept busy
for nobody.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from bridge import constants as C
from bridge.protocol import MUSICAL_OPS, PROTOCOL_VERSION, ErrorCode, error_reply
from bridge.serve.sockets import closed_connections, receive, watch_connections
from bridge.serve.waker import Waker
from bridge.studio.keys import ClientKeys

log = logging.getLogger(__name__)

SERVICE_DEADLINE = 10.0  # seconds a service op may take upstream before the relay gives up
CONNECT_WAIT = 2.0  # seconds a request waits for a (re)connection before it is answered unavailable
REFUSED_RETRY = 2.0  # seconds between new handshakes after the server refused this machine's key
EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
          | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


@dataclass
class Pending:
    deadline: float


class Relay:
    """Listens on ``bind`` (loopback), forwards to ``upstream``; serves until :meth:`stop`."""

    def __init__(self, bind: str, upstream: str, keys: ClientKeys | None = None,
                 context: zmq.Context | None = None) -> None:
        self.bind_address = bind
        self.upstream = upstream
        self.keys = keys
        self._context = context or zmq.Context.instance()
        self.address: str | None = None
        self.bound = threading.Event()
        self.state = "connecting"  # connecting | up | refused
        self.refusal = ""
        self._retry_at = 0.0
        self._stopping = threading.Event()
        self._waker = Waker()
        self._front: zmq.Socket | None = None
        self._up: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._pending: dict[tuple[bytes, str], Pending] = {}
        self._delimited: dict[bytes, bool] = {}  # client -> sends an empty delimiter frame
        self._one_reply: set[bytes] = set()  # REQ clients: final replies only
        self._fds: dict[int, bytes] = {}  # connection descriptor -> client
        self._front_monitor: zmq.Socket | None = None
        self._parked: list[tuple[float, list[bytes]]] = []  # (until, frames) waiting for a connection
        self.forwarded = 0
        self.local_replies = 0  # requests the relay answered itself

    def stop(self) -> None:
        self._stopping.set()
        self._waker.ring()

    # --- sockets ---------------------------------------------------------------------------

    def _open_upstream(self) -> None:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, C.MAX_MESSAGE_BYTES)
        sock.setsockopt(zmq.IMMEDIATE, 1)  # queue nothing for a connection that is not there
        sock.setsockopt(zmq.HEARTBEAT_IVL, C.RELAY_HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, C.RELAY_HEARTBEAT_TIMEOUT_MS)
        sock.setsockopt(zmq.RECONNECT_IVL, 200)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        if self.keys is not None:
            self.keys.apply(sock)
        self._monitor = sock.get_monitor_socket(EVENTS)
        sock.connect(self.upstream)
        self._up = sock

    def _close_upstream(self) -> None:
        if self._up is not None:
            self._up.disable_monitor()
            self._up.close(linger=0)
            self._up = None
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None

    def run(self) -> None:
        front = self._context.socket(zmq.ROUTER)
        front.setsockopt(zmq.LINGER, 0)
        front.setsockopt(zmq.MAXMSGSIZE, C.MAX_MESSAGE_BYTES)
        front.setsockopt(zmq.ROUTER_MANDATORY, 1)
        try:
            front.bind(self.bind_address)
        except zmq.ZMQError:
            front.close(linger=0)
            raise
        self._front = front
        self._front_monitor = watch_connections(front)
        self.address = front.getsockopt_string(zmq.LAST_ENDPOINT)
        self._open_upstream()
        log.info("relay on %s forwarding to %s%s", self.address, self.upstream,
                 " (CURVE)" if self.keys is not None else "")
        self.bound.set()
        try:
            while not self._stopping.is_set():
                self._round()
        finally:
            self._answer_all(ErrorCode.unavailable, "the relay is stopping")
            self._close_upstream()
            front.disable_monitor()
            self._front_monitor.close(linger=0)
            front.close(linger=200)
            self._waker.close()

    def _round(self) -> None:
        assert self._front is not None and self._up is not None and self._monitor is not None
        assert self._front_monitor is not None
        poller = zmq.Poller()
        for sock in (self._front, self._up, self._monitor, self._waker, self._front_monitor):
            poller.register(sock, zmq.POLLIN)
        events = dict(poller.poll(C.POLL_MS))
        if events.get(self._monitor):
            self._on_monitor()
        if events.get(self._front_monitor):
            for fd in closed_connections(self._front_monitor):
                self._client_gone(fd)
        if self._up is not None and events.get(self._up):
            self._drain(self._up, self._from_upstream)
        if events.get(self._front):
            self._read_clients()
        self._waker.drain()
        now = time.monotonic()
        self._expire(now)
        if self.state == "refused" and now >= self._retry_at:  # libzmq gives up after a refusal
            self._retry_at = now + REFUSED_RETRY
            self._close_upstream()
            self._open_upstream()

    def _read_clients(self) -> None:
        assert self._front is not None
        for _ in range(C.MAX_MESSAGES_PER_ROUND):
            try:
                inbound = receive(self._front)
            except zmq.Again:
                return
            client = inbound.routing_id
            if inbound.fd >= 0:
                self._fds[inbound.fd] = client
            if inbound.socket_type == "REQ":
                self._one_reply.add(client)
            if inbound.too_large:
                self._reply(client, error_reply(None, ErrorCode.too_large,
                                                f"the message is over {C.MAX_MESSAGE_BYTES} bytes"))
                continue
            self._from_client(inbound.frames)

    def _client_gone(self, fd: int) -> None:
        """A DAW client's connection closed: cancel upstream what it still waits for."""
        client = self._fds.pop(fd, None)
        if client is None:
            return
        self._one_reply.discard(client)
        self._delimited.pop(client, None)
        gone = [key for key in self._pending if key[0] == client]
        for key in gone:
            del self._pending[key]
            cancel = {"v": PROTOCOL_VERSION, "id": f"relay-cancel-{key[1]}"[:128], "op": "cancel", "target": key[1]}
            if self._up is not None and self.state == "up":
                try:
                    self._up.send_multipart([client, b"", json.dumps(cancel).encode()], zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
        if gone:
            log.info("a client went away; %d of its requests cancelled upstream", len(gone))

    @staticmethod
    def _drain(sock: zmq.Socket, handle: Any) -> None:
        for _ in range(C.MAX_MESSAGES_PER_ROUND):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            handle(frames)

    # --- upstream state --------------------------------------------------------------------

    def _on_monitor(self) -> None:
        assert self._monitor is not None
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            kind = event["event"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                if self.state != "up":
                    log.info("connected to %s", self.upstream)
                self.state = "up"
                parked, self._parked = self._parked, []
                for _, frames in parked:
                    self._from_client(frames)
            elif kind == zmq.EVENT_DISCONNECTED:
                if self.state == "up":
                    log.warning("lost %s; answering %d requests unavailable and reconnecting",
                                self.upstream, len(self._pending))
                    self.state = "connecting"
                    self._answer_all(ErrorCode.unavailable, self._down_message())
                    self._close_upstream()
                    self._open_upstream()
                    return  # the old monitor is closed
            else:  # a failed handshake: the key was refused, or the server key is wrong
                if self.state != "refused":
                    self.refusal = self._refusal_message(kind)
                    log.error("%s", self.refusal)
                self.state = "refused"
                self._retry_at = time.monotonic() + REFUSED_RETRY
                self._answer_all(ErrorCode.unauthorized, self.refusal)

    def _down_message(self) -> str:
        return (f"the studio server at {self.upstream} cannot be reached; the relay keeps trying "
                "(is the server running, and this machine on its network?)")

    def _refusal_message(self, kind: int) -> str:
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            key = self.keys.public.decode() if self.keys is not None else "(none: this relay has no --client-key)"
            return (f"the studio server at {self.upstream} refused this machine's key {key}; ask its "
                    "admin to put this machine's .key file into the server's allowed-keys folder")
        return (f"the secure handshake with {self.upstream} failed; check that --server-key is the "
                "studio server's public key (and that the server uses keys at all)")

    # --- messages --------------------------------------------------------------------------

    def _from_client(self, frames: list[bytes], may_wait: bool = True) -> None:
        client, rest = frames[0], frames[1:]
        if len(rest) == 2 and not rest[0]:
            self._delimited[client] = True
        elif len(rest) == 1:
            self._delimited[client] = False
        else:
            return  # not a request frame; the server would refuse it the same way
        body = rest[-1]
        request_id, deadline = _read(body)
        key = (client, request_id or "")
        if self.state == "connecting" and may_wait and len(self._parked) < C.QUEUE_SIZE * 4:
            self._parked.append((time.monotonic() + CONNECT_WAIT, frames))
            return
        if self.state != "up":
            code = ErrorCode.unauthorized if self.state == "refused" else ErrorCode.unavailable
            message = self.refusal if self.state == "refused" else self._down_message()
            self._reply(client, error_reply(request_id, code, message))
            return
        if request_id is not None and key in self._pending:
            self._reply(client, error_reply(request_id, ErrorCode.duplicate_id,
                                            f"request id {request_id!r} is already in flight"))
            return
        assert self._up is not None
        try:
            self._up.send_multipart([client, b"", body], zmq.NOBLOCK)
        except zmq.ZMQError:
            self._reply(client, error_reply(request_id, ErrorCode.unavailable, self._down_message()))
            return
        self.forwarded += 1
        if request_id is not None:
            self._pending[key] = Pending(time.monotonic() + deadline)

    def _from_upstream(self, frames: list[bytes]) -> None:
        if len(frames) != 3 or frames[1]:
            log.debug("unexpected frames from upstream: %d", len(frames))
            return
        client, payload = frames[0], frames[2]
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if "ok" in message:  # a final reply: only for a request the relay has not answered yet
            request_id = message.get("id")
            if isinstance(request_id, str) and self._pending.pop((client, request_id), None) is None:
                return
        elif client in self._one_reply:
            return  # a REQ socket takes the final reply only
        self._send(client, payload)

    def _expire(self, now: float) -> None:
        while self._parked and (self._parked[0][0] <= now or self.state == "refused"):
            _, frames = self._parked.pop(0)
            self._from_client(frames, may_wait=False)
        late = [key for key, pending in self._pending.items() if pending.deadline <= now]
        for client, request_id in late:
            del self._pending[(client, request_id)]
            self._reply(client, error_reply(request_id, ErrorCode.timeout,
                                            f"no reply from the studio server at {self.upstream} in time"))

    def _answer_all(self, code: ErrorCode, message: str) -> None:
        parked, self._parked = self._parked, []
        for _, frames in parked:
            self._reply(frames[0], error_reply(_read(frames[-1])[0], code, message))
        pending, self._pending = self._pending, {}
        for client, request_id in pending:
            self._reply(client, error_reply(request_id, code, message))

    def _reply(self, client: bytes, message: dict[str, Any]) -> None:
        self.local_replies += 1
        self._send(client, json.dumps(message, separators=(",", ":")).encode())

    def _send(self, client: bytes, payload: bytes) -> None:
        assert self._front is not None
        frames = [client, b"", payload] if self._delimited.get(client, True) else [client, payload]
        try:
            self._front.send_multipart(frames, zmq.NOBLOCK)
        except zmq.ZMQError:
            self._delimited.pop(client, None)  # gone


def _read(body: bytes) -> tuple[str | None, float]:
    """The request's id (when readable) and how long the relay waits for its final reply."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, SERVICE_DEADLINE
    if not isinstance(data, dict):
        return None, SERVICE_DEADLINE
    request_id = data.get("id") if isinstance(data.get("id"), str) else None
    if data.get("op") not in MUSICAL_OPS:
        return request_id, SERVICE_DEADLINE
    timeout = data.get("timeout")
    timeout = float(timeout) if isinstance(timeout, int | float) and 0 < timeout <= 600 else C.DEFAULT_TIMEOUT
    return request_id, timeout + C.CLIENT_GRACE


@contextmanager
def running_relay(upstream: str, keys: ClientKeys | None = None, bind: str = "tcp://127.0.0.1:*",
                  context: zmq.Context | None = None) -> Iterator[Relay]:
    """Run a relay in a background thread (tests and benchmarks); stops it on exit."""
    relay = Relay(bind, upstream, keys, context)
    thread = threading.Thread(target=relay.run, name="dawbridge-relay", daemon=True)
    thread.start()
    if not relay.bound.wait(5.0):
        raise RuntimeError("the relay did not start")
    try:
        yield relay
    finally:
        relay.stop()
        thread.join(5.0)
