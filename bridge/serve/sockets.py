"""The engine's ROUTER sockets (client-facing and worker-facing), made one way: size limits,
mandatory routing, CURVE keys when given, and a clean close when the bind fails; :func:`receive`,
which reads one message part by part within a total size limit and says who sent it (its key,
its address, its socket type, the file descriptor of its connection) from libzmq's metadata;
and :func:`closed_connections`, the descriptors of connections that went away, from the
socket's monitor. (ROUTER_NOTIFY would say the same by routing id, but it is a draft API that
released libzmq builds leave out.)"""

from __future__ import annotations

from dataclasses import dataclass

import zmq
from zmq.utils.monitor import recv_monitor_message

from bridge import constants as C
from bridge.studio.keys import CLIENTS, ServerKeys


def bind_router(context: zmq.Context, address: str, keys: ServerKeys | None, *, linger_ms: int,
                heartbeat: bool = False, domain: str = CLIENTS) -> tuple[zmq.Socket, str]:
    """A bound ROUTER socket and the endpoint it actually got (``tcp://127.0.0.1:*`` resolved)."""
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, linger_ms)
    sock.setsockopt(zmq.MAXMSGSIZE, C.MAX_MESSAGE_BYTES)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    if heartbeat:
        sock.setsockopt(zmq.HEARTBEAT_IVL, C.HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, C.HEARTBEAT_TIMEOUT_MS)
    if keys is not None:
        keys.apply(sock, domain)
    try:
        sock.bind(address)
    except zmq.ZMQError:
        sock.close(linger=0)
        raise
    return sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)


@dataclass
class Inbound:
    """One message read from a ROUTER socket."""

    frames: list[bytes]  # the routing id first; only the id when the message was too large
    size: int  # bytes of all its frames together
    too_large: bool  # over MAX_MESSAGE_BYTES in all, or more than MAX_MESSAGE_PARTS frames
    user: str  # the peer's CURVE key (Z85), "" without CURVE
    address: str  # the peer's IP address, "" when the transport has none
    socket_type: str  # the peer's ZeroMQ socket type: "DEALER", "REQ", ...
    fd: int  # the connection's file descriptor, -1 when the transport has none

    @property
    def routing_id(self) -> bytes:
        return self.frames[0]


def receive(sock: zmq.Socket, max_bytes: int = C.MAX_MESSAGE_BYTES,
            max_parts: int = C.MAX_MESSAGE_PARTS) -> Inbound:
    """The next message, read one frame at a time; the frames past the limits are read and let go
    at once. Raises zmq.Again when none is waiting."""
    part = sock.recv(zmq.NOBLOCK, copy=False)
    frames = [part.bytes]
    size = len(frames[0])
    too_large = False
    last = part
    while last.more:
        last = sock.recv(copy=False)  # the rest of a message is already here: libzmq delivers whole ones
        size += len(last)
        too_large = too_large or size > max_bytes or len(frames) >= max_parts
        if not too_large:
            frames.append(last.bytes)
    if too_large:
        del frames[1:]
    try:
        fd = int(last.get(zmq.SRCFD))
    except zmq.ZMQError:
        fd = -1
    return Inbound(frames, size, too_large, _meta(last, "User-Id"), _meta(last, "Peer-Address"),
                   _meta(last, "Socket-Type"), fd)


def _meta(frame: zmq.Frame, name: str) -> str:
    try:
        value = frame.get(name)
    except (zmq.ZMQError, UnicodeDecodeError):
        return ""
    return value if isinstance(value, str) else ""


def watch_connections(sock: zmq.Socket) -> zmq.Socket:
    """The monitor socket :func:`closed_connections` reads."""
    return sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)


def closed_connections(monitor: zmq.Socket) -> list[int]:
    """The file descriptors of connections closed since the last call; never waits."""
    closed: list[int] = []
    while True:
        try:
            event = recv_monitor_message(monitor, zmq.NOBLOCK)
        except zmq.Again:
            return closed
        if event["event"] == zmq.EVENT_DISCONNECTED:
            closed.append(int(event["value"]))
