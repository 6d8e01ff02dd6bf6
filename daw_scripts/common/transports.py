"""The two ways a DAW script reaches the engine: pyzmq's DEALER, or the pure-Python ZmtpDealer.

Both offer the same small surface to ``EngineClient``: ``send(frames)`` (never waits longer
than ``connect_timeout``; raises EngineUnreachable when nothing answers), ``recv()`` (one
message or None, never blocks), ``wait(timeout)``, ``session()`` (a token that changes when the
connection to the engine was lost, so the client can fail requests that will never be
answered) and ``close()``. Python 3.7, stdlib only (pyzmq when it imports).
"""

import time

from .errors import EngineUnreachable, unreachable_message
from .zmtp import ZmtpClosed, ZmtpDealer, ZmtpError

TRANSPORTS = ("auto", "pyzmq", "zmtp")


def pyzmq_available():
    """True when ``import zmq`` works in this Python."""
    try:
        import zmq  # noqa: F401
    except Exception:  # a broken binary wheel raises more than ImportError
        return False
    return True


def open_transport(address, transport="auto", connect_timeout=2.0):
    """A transport by name: "pyzmq", "zmtp", or "auto" (pyzmq when it imports, else zmtp)."""
    if transport not in TRANSPORTS:
        raise ValueError("transport must be one of {}, got {!r}".format(
            ", ".join(TRANSPORTS), transport))
    if transport == "auto":
        transport = "pyzmq" if pyzmq_available() else "zmtp"
    if transport == "pyzmq":
        return PyzmqTransport(address, connect_timeout)
    return ZmtpTransport(address, connect_timeout)


class ZmtpTransport(object):
    """The pure-Python ZMTP client; connects on the first send, reconnects after a loss."""

    name = "zmtp"

    def __init__(self, address, connect_timeout=2.0):
        self.address = address
        self.dealer = ZmtpDealer(address, connect_timeout=connect_timeout)

    def send(self, frames):
        for attempt in (1, 2):
            try:
                self.dealer.send_multipart(frames)
                return
            except ZmtpClosed as exc:  # the write found the peer gone: reconnect once
                if attempt == 2:
                    raise EngineUnreachable(unreachable_message(self.address, _reason(exc))) from None
            except ZmtpError as exc:  # refused, no handshake, or not a ZeroMQ peer
                raise EngineUnreachable(unreachable_message(self.address, _reason(exc))) from None

    def recv(self):
        try:
            return self.dealer.recv_multipart(timeout=0.0)
        except ZmtpError:  # lost or garbled: session() now says so
            return None

    def wait(self, timeout):
        self.dealer.wait(timeout)

    def session(self):
        return self.dealer.connections if self.dealer.connected else -1

    def close(self):
        self.dealer.close()


class PyzmqTransport(object):
    """pyzmq's DEALER with IMMEDIATE (no queueing to absent peers) and a connection monitor."""

    name = "pyzmq"

    def __init__(self, address, connect_timeout=2.0):
        import zmq

        self._zmq = zmq
        self.address = address
        self.connect_timeout = connect_timeout
        self._disconnects = 0
        self._refused = False
        self.socket = zmq.Context.instance().socket(zmq.DEALER)  # type: ignore[var-annotated]
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.IMMEDIATE, 1)
        self.socket.setsockopt(zmq.RECONNECT_IVL, 100)
        events = zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
        self.monitor = self.socket.get_monitor_socket(events)
        self.socket.connect(address)

    def send(self, frames):
        zmq = self._zmq
        self._drain_monitor()
        deadline = time.monotonic() + self.connect_timeout
        self._refused = False
        while True:
            try:
                self.socket.send_multipart(frames, flags=zmq.NOBLOCK)
                return
            except zmq.Again:
                pass
            left = deadline - time.monotonic()
            if self._refused or left <= 0:
                why = "connection refused" if self._refused else "no answer within {:g} s".format(
                    self.connect_timeout)
                raise EngineUnreachable(unreachable_message(self.address, why))
            poller = zmq.Poller()
            poller.register(self.socket, zmq.POLLOUT)
            poller.register(self.monitor, zmq.POLLIN)
            poller.poll(int(left * 1000) + 1)
            self._drain_monitor()

    def recv(self):
        self._drain_monitor()
        try:
            return self.socket.recv_multipart(flags=self._zmq.NOBLOCK)
        except self._zmq.Again:
            return None

    def wait(self, timeout):
        ms = None if timeout is None else max(0, int(timeout * 1000))
        self.socket.poll(ms, self._zmq.POLLIN)

    def session(self):
        self._drain_monitor()
        return self._disconnects

    def close(self):
        if self.socket.closed:
            return
        try:
            self.socket.disable_monitor()
        except self._zmq.ZMQError:
            pass
        self.monitor.close(linger=0)
        self.socket.close(linger=0)

    def _drain_monitor(self):
        zmq = self._zmq
        from zmq.utils.monitor import parse_monitor_message

        while True:
            try:
                event = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))["event"]
            except zmq.Again:
                return
            if event == zmq.EVENT_DISCONNECTED:
                self._disconnects += 1
            elif event == zmq.EVENT_CONNECT_RETRIED:
                self._refused = True
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._refused = False


def _reason(exc):
    """The part of a ZmtpError's message after 'cannot connect to <endpoint>: '."""
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("cannot connect to ") else text
