"""A ZMTP 3.x DEALER client in pure Python: what DAW scripts use when pyzmq cannot be imported.

Written from the ZeroMQ RFCs 23/ZMTP (3.0) and 37/ZMTP (3.1): a 64-byte greeting, the NULL
security mechanism with its READY handshake (Socket-Type DEALER and an Identity property),
short and long frames with the MORE flag, and command frames (PING is answered with PONG, an
ERROR command ends the connection).

The socket is non-blocking: ``recv_multipart(timeout=0)`` returns at once, buffering partial
frames between calls; ``send_multipart`` queues the frames and writes what the kernel takes,
the rest leaves on later calls. Only ``connect`` waits, at most ``connect_timeout`` seconds.
When the peer goes away the next ``send_multipart`` reconnects.

Waiting uses ``select`` where the Python has it. A connection attempt is watched in the
exception set too, and its ``SO_ERROR`` is read after every wait: Winsock reports a refused
connect only there, never as writable. A Python without ``select`` (a host's reduced one) waits
in short sleeps and reads ``SO_ERROR`` and ``connect_ex`` instead. Python 3.7, standard library
only.
"""

import errno
import socket
import struct
import time

try:
    import select
except ImportError:  # not in every host's Python
    select = None  # type: ignore[assignment]

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"
MAX_FRAME_BYTES = 256 * 1024 * 1024  # a frame above this is treated as a broken stream
_READ_CHUNK = 256 * 1024

FLAG_MORE = 0x01
FLAG_LONG = 0x02
FLAG_COMMAND = 0x04

_SIGNATURE = b"\xff" + b"\x00" * 8 + b"\x7f"
_GREETING = _SIGNATURE + b"\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
GREETING_BYTES = 64
POLL_SECONDS = 0.005  # the sleep between checks where there is no select
_CONNECTING = (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, 10035, 10036, 10037)
_CONNECTED = (0, errno.EISCONN, 10056)
_WINSOCK_PENDING = 10022  # WSAEINVAL: connect_ex on a socket whose connect is still under way


class ZmtpError(Exception):
    """Anything that went wrong on a ZMTP connection."""


class ZmtpConnectError(ZmtpError):
    """The TCP connection or the handshake could not be completed."""


class ZmtpClosed(ZmtpError):
    """The peer closed the connection (or it broke); the next send reconnects."""


class ZmtpProtocolError(ZmtpError):
    """The peer sent bytes that are not valid ZMTP 3.x."""


def parse_endpoint(endpoint):
    """``"tcp://host:port"`` -> ``(host, port)``; ``*`` and ``localhost`` become 127.0.0.1."""
    if not isinstance(endpoint, str) or not endpoint.startswith("tcp://"):
        raise ValueError("endpoint must look like tcp://host:port, got {!r}".format(endpoint))
    host, sep, port = endpoint[len("tcp://"):].rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("endpoint port must be in range 1..65535, got {!r}".format(endpoint))
    host = host.strip("[]")
    if host in ("", "*", "localhost"):
        host = "127.0.0.1"
    return host, int(port)


# --- encoding ---------------------------------------------------------------------------


def encode_frame(body, more=False, command=False):
    """One frame: flags, a 1-byte (short) or 8-byte (long) size, then the body."""
    flags = (FLAG_MORE if more else 0) | (FLAG_COMMAND if command else 0)
    if len(body) > 255:
        return struct.pack("!BQ", flags | FLAG_LONG, len(body)) + body
    return struct.pack("!BB", flags, len(body)) + body


def encode_message(frames):
    """A multipart message: every frame but the last carries MORE."""
    last = len(frames) - 1
    return b"".join(encode_frame(_as_bytes(f), more=i < last) for i, f in enumerate(frames))


def encode_command(name, data=b""):
    """A command frame: a 1-byte name length, the name, then the command's data."""
    name = name.encode("ascii")
    return encode_frame(struct.pack("!B", len(name)) + name + data, command=True)


def encode_properties(properties):
    """READY metadata: name (1-byte length) and value (4-byte length) pairs."""
    out = []
    for name, value in properties:
        name = name.encode("ascii")
        out.append(struct.pack("!B", len(name)) + name + struct.pack("!I", len(value)) + value)
    return b"".join(out)


def decode_properties(data):
    """The inverse of ``encode_properties``; raises ZmtpProtocolError on a truncated list."""
    props, pos = {}, 0
    while pos < len(data):
        size = data[pos]
        name = data[pos + 1:pos + 1 + size]
        pos += 1 + size
        if pos + 4 > len(data):
            raise ZmtpProtocolError("READY metadata is truncated")
        (vsize,) = struct.unpack("!I", data[pos:pos + 4])
        value = data[pos + 4:pos + 4 + vsize]
        if len(value) != vsize:
            raise ZmtpProtocolError("READY metadata is truncated")
        props[name.decode("ascii", "replace").lower()] = value
        pos += 4 + vsize
    return props


def _as_bytes(frame):
    if isinstance(frame, str):
        return frame.encode("utf-8")
    return bytes(frame)


def _check_greeting(data):
    if data[0] != 0xFF or data[9] & 0x01 != 0x01:
        raise ZmtpProtocolError("the peer is not a ZeroMQ socket (bad greeting signature)")
    if data[10] < 3:
        raise ZmtpProtocolError("the peer speaks ZMTP {}.x; 3.0 or later is needed".format(data[10]))
    mechanism = data[12:32].rstrip(b"\x00")
    if mechanism != b"NULL":
        raise ZmtpProtocolError(
            "the peer wants the {} security mechanism; only NULL is supported".format(
                mechanism.decode("ascii", "replace")))


# --- the socket -------------------------------------------------------------------------


class ZmtpDealer(object):
    """A DEALER socket speaking ZMTP 3.x to one peer (a ROUTER) over TCP."""

    def __init__(self, endpoint=DEFAULT_ENDPOINT, connect_timeout=2.0, identity=b""):
        self.endpoint = endpoint
        self.host, self.port = parse_endpoint(endpoint)
        self.connect_timeout = float(connect_timeout)
        self.identity = _as_bytes(identity)
        self.peer_properties = {}
        self.connections = 0  # successful handshakes so far: a change means a new connection
        self._sock = None
        self._inbox = []  # complete messages not yet returned
        self._drop()  # sets the per-connection state: buffers, flags

    # public API ------------------------------------------------------------------------

    @property
    def connected(self):
        """True while a handshaked connection is open."""
        return self._sock is not None and self._ready

    def fileno(self):
        """The TCP socket's descriptor (for a host's own select), or -1 when not connected."""
        return self._sock.fileno() if self._sock is not None else -1

    def connect(self):
        """Open the TCP connection and complete the handshake, waiting at most connect_timeout."""
        self._drop()
        deadline = time.monotonic() + self.connect_timeout
        try:
            self._open_tcp(deadline)
            self._outbuf += _GREETING + encode_command("READY", self._ready_properties())
            self._handshake(deadline)
        except ZmtpClosed as exc:
            self._drop()
            raise ZmtpConnectError("{} closed the connection during the handshake ({})".format(
                self.endpoint, exc)) from None
        except ZmtpError:
            self._drop()
            raise
        except OSError as exc:
            self._drop()
            raise ZmtpConnectError(
                "cannot connect to {}: {}".format(self.endpoint, _describe(exc))) from None
        self.connections += 1

    def send_multipart(self, frames):
        """Queue one message (a list of bytes/str frames) and write what the socket takes now.

        Reconnects first when the peer has gone away. Raises ZmtpConnectError when it cannot."""
        if not frames:
            raise ValueError("frames must hold at least one frame")
        if self.connected:
            self._check_alive()
        if not self.connected:
            self.connect()
        self._outbuf += encode_message(frames)
        self._pump(write_only=True)

    def recv_multipart(self, timeout=0.0):
        """The next complete message as a list of bytes, or None when none arrives in time.

        ``timeout`` 0 never blocks; None waits for ever. Raises ZmtpClosed once when the peer
        went away (then returns None until a send reconnects)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while not self._inbox:
            if not self.connected:
                return None
            self._pump()
            if self._inbox:
                break
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            self._wait(wait)
        return self._inbox.pop(0)

    def flush(self, timeout=None):
        """Write queued bytes, waiting at most ``timeout`` seconds; True when all left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._outbuf and self.connected:
            self._pump()
            wait = None if deadline is None else deadline - time.monotonic()
            if not self._outbuf or (wait is not None and wait <= 0):
                break
            self._wait(wait)
        return not self._outbuf

    def wait(self, timeout=None):
        """Block until bytes arrive (or queued bytes can leave) or ``timeout`` seconds pass."""
        self._wait(timeout)

    def close(self):
        """Close the connection at once; queued outgoing bytes are dropped."""
        self._drop()
        self._inbox = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # connection ------------------------------------------------------------------------

    def _ready_properties(self):
        return encode_properties([("Socket-Type", b"DEALER"), ("Identity", self.identity)])

    def _open_tcp(self, deadline):
        infos = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
        family, socktype, proto, _, address = infos[0]
        sock = socket.socket(family, socktype, proto)
        self._sock = sock
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        if code not in _CONNECTING + _CONNECTED:
            raise OSError(code, "connect failed")
        while code not in _CONNECTED:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZmtpConnectError("cannot connect to {}: no answer within {:g} s".format(
                    self.endpoint, self.connect_timeout))
            code = _connect_progress(sock, address, left)

    def _handshake(self, deadline):
        while not self._ready:
            self._pump()
            if self._ready:
                break
            if self._sock is None:
                raise ZmtpConnectError("{} closed the connection during the handshake".format(
                    self.endpoint))
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZmtpConnectError("{} did not complete the ZMTP handshake within {:g} s".format(
                    self.endpoint, self.connect_timeout))
            self._wait(left)

    def _check_alive(self):
        """Read what is pending so a peer that hung up is noticed before we write to it."""
        try:
            self._pump()
        except ZmtpError:  # the connection is dropped; the caller reconnects
            pass

    def _drop(self):
        _close_quietly(self._sock)
        self._sock = None
        self._ready = False
        self._greeted = False
        self._inbuf = bytearray()
        self._outbuf = bytearray()
        self._parts = []

    def _lost(self, why):
        self._drop()
        raise ZmtpClosed("connection to {} lost: {}".format(self.endpoint, why))

    # I/O -------------------------------------------------------------------------------

    def _wait(self, timeout):
        if self._sock is None:
            return
        if select is None:
            time.sleep(POLL_SECONDS if timeout is None else min(max(0.0, timeout), POLL_SECONDS))
            return
        writers = [self._sock] if self._outbuf else []
        select.select([self._sock], writers, [], timeout)

    def _pump(self, write_only=False):
        """Write what the kernel takes, read what has arrived, parse complete frames."""
        self._write()
        if write_only or self._sock is None:
            return
        gone = self._read()
        try:
            self._parse()
        except ZmtpProtocolError:
            self._drop()
            raise
        if gone:
            self._lost(gone)

    def _write(self):
        while self._outbuf and self._sock is not None:
            try:
                sent = self._sock.send(self._outbuf[:_READ_CHUNK * 4])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lost(_describe(exc))
            del self._outbuf[:sent]

    def _read(self):
        """Move arrived bytes into the input buffer; the reason when the connection ended."""
        while True:
            try:
                chunk = self._sock.recv(_READ_CHUNK)  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as exc:
                return _describe(exc)
            if not chunk:
                return "the peer closed the connection"
            self._inbuf += chunk
            if len(chunk) < _READ_CHUNK:
                return None

    # parsing ---------------------------------------------------------------------------

    def _parse(self):
        if not self._greeted:
            if len(self._inbuf) < GREETING_BYTES:
                return
            _check_greeting(self._inbuf)
            del self._inbuf[:GREETING_BYTES]
            self._greeted = True
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            flags, body = frame
            if flags & FLAG_COMMAND:
                self._on_command(body)
            elif not self._ready:
                raise ZmtpProtocolError("the peer sent a message before READY")
            else:
                self._on_message_frame(flags, body)

    def _next_frame(self):
        buf = self._inbuf
        if len(buf) < 2:
            return None
        flags = buf[0]
        if flags & FLAG_LONG:
            if len(buf) < 9:
                return None
            (size,) = struct.unpack_from("!Q", buf, 1)
            header = 9
        else:
            size, header = buf[1], 2
        if size > MAX_FRAME_BYTES:
            raise ZmtpProtocolError("the peer sent a {} byte frame; the limit is {}".format(
                size, MAX_FRAME_BYTES))
        if len(buf) < header + size:
            return None
        body = bytes(buf[header:header + size])
        del buf[:header + size]
        return flags, body

    def _on_message_frame(self, flags, body):
        self._parts.append(body)
        if not flags & FLAG_MORE:
            self._inbox.append(self._parts)
            self._parts = []

    def _on_command(self, body):
        if not body:
            raise ZmtpProtocolError("empty command frame")
        name = bytes(body[1:1 + body[0]])
        data = body[1 + body[0]:]
        if name == b"READY":
            self._on_ready(data)
        elif name == b"PING":
            self._outbuf += encode_command("PONG", data[2:])
        elif name == b"ERROR":
            reason = data[1:1 + data[0]].decode("utf-8", "replace") if data else ""
            self._drop()
            raise ZmtpConnectError("{} refused the connection: {}".format(self.endpoint, reason))
        # PONG and unknown commands are ignored, as RFC 37 allows.

    def _on_ready(self, data):
        props = decode_properties(data)
        peer_type = props.get("socket-type", b"")
        if peer_type not in (b"ROUTER", b"DEALER"):
            self._drop()
            raise ZmtpConnectError("{} is a {} socket; a DEALER talks to ROUTER or DEALER".format(
                self.endpoint, peer_type.decode("ascii", "replace") or "untyped"))
        self.peer_properties = props
        self._ready = True


class ConnectProbe(object):
    """A TCP connection attempt to an endpoint that is checked, never waited on: a host's timer
    calls ``result`` on each tick until it says True (something accepts connections there) or
    False (refused, unreachable, or no answer within ``give_up`` seconds). Windows retries a
    refused loopback connect for about two seconds before it says so; this lets the host's
    thread go on meanwhile. The probe's own connection is closed once it has answered."""

    def __init__(self, endpoint, give_up=3.0, clock=time.monotonic):
        self._clock = clock
        self._deadline = clock() + give_up
        self._answer = None  # type: bool | None
        self._sock = None  # type: socket.socket | None
        self._address = None  # type: object
        host, port = parse_endpoint(endpoint)
        try:
            family, socktype, proto, _, self._address = socket.getaddrinfo(
                host, port, 0, socket.SOCK_STREAM)[0]
            self._sock = socket.socket(family, socktype, proto)
            self._sock.setblocking(False)
            code = self._sock.connect_ex(self._address)
        except OSError:
            self._sock, code = None, -1
        if code in _CONNECTED:
            self._finish(True)
        elif code not in _CONNECTING:
            self._finish(False)

    def result(self):
        """True or False once the attempt has an answer, None while it is under way."""
        if self._answer is None:
            try:
                if _connect_progress(self._sock, self._address, 0.0) == 0:
                    self._finish(True)
                elif self._clock() >= self._deadline:
                    self._finish(False)
            except OSError:
                self._finish(False)
        return self._answer

    def close(self):
        _close_quietly(self._sock)
        self._sock = None

    def _finish(self, answer):
        self._answer = answer
        self.close()


def _close_quietly(sock):
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


def _connect_progress(sock, address, left):
    """Wait (at most ``left`` seconds) for a connection attempt; 0 once connected, a pending
    code while it is under way. Raises OSError as soon as the attempt has failed."""
    if select is not None:
        select.select([], [sock], [sock], left)  # Winsock: a failed connect is an exception
    else:
        time.sleep(min(left, POLL_SECONDS))
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, "connect failed")
    code = sock.connect_ex(address)  # 0 / EISCONN once connected
    if code == _WINSOCK_PENDING or code in _CONNECTING:
        return errno.EINPROGRESS
    if code not in _CONNECTED:
        raise OSError(code, "connect failed")
    return 0


def _describe(exc):
    """A short reason for a socket error: 'connection refused (is the engine running?)'."""
    code = getattr(exc, "errno", None)
    if code == errno.ECONNREFUSED or code == 10061:
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return getattr(exc, "strerror", None) or str(exc)
