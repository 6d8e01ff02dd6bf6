"""The engine's ROUTER sockets (client-facing and worker-facing), made one way: size limit,
mandatory routing, CURVE keys when given, and a clean close when the bind fails."""

from __future__ import annotations

import zmq

from bridge import constants as C
from bridge.studio.keys import ServerKeys


def bind_router(context: zmq.Context, address: str, keys: ServerKeys | None, *, linger_ms: int,
                heartbeat: bool = False) -> tuple[zmq.Socket, str]:
    """A bound ROUTER socket and the endpoint it actually got (``tcp://127.0.0.1:*`` resolved)."""
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, linger_ms)
    sock.setsockopt(zmq.MAXMSGSIZE, C.MAX_MESSAGE_BYTES)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    if heartbeat:
        sock.setsockopt(zmq.HEARTBEAT_IVL, C.HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, C.HEARTBEAT_TIMEOUT_MS)
    if keys is not None:
        keys.apply(sock)
    try:
        sock.bind(address)
    except zmq.ZMQError:
        sock.close(linger=0)
        raise
    return sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)
