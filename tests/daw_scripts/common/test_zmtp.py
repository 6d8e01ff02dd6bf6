"""The pure-Python ZMTP client against real libzmq (a pyzmq ROUTER) and a hand-driven peer."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
import zmq

from daw_scripts.common.zmtp import (
    ZmtpClosed,
    ZmtpConnectError,
    ZmtpDealer,
    ZmtpProtocolError,
    decode_properties,
    encode_command,
    encode_frame,
    encode_properties,
    parse_endpoint,
)

ROUTER_GREETING = b"\xff" + b"\x00" * 8 + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32


def round_trip(router, dealer, frames):
    dealer.send_multipart(frames)
    assert router.poll(5000)
    received = router.recv_multipart()
    router.send_multipart([received[0]] + received[1:])
    return received[1:], dealer.recv_multipart(timeout=5.0)


@pytest.mark.parametrize("size", [0, 1, 255, 256, 300, 70_000, 1_500_000])
def test_round_trip_sizes(router, size):
    sock, address = router
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with ZmtpDealer(address) as dealer:
        sent, back = round_trip(sock, dealer, [b"", payload, b"tail"])
    assert sent == [b"", payload, b"tail"]
    assert back == [b"", payload, b"tail"]


def test_many_messages_keep_order(router):
    sock, address = router
    with ZmtpDealer(address) as dealer:
        for i in range(200):
            dealer.send_multipart([b"", str(i).encode()])
        got = [sock.recv_multipart()[2] for _ in range(200)]
        assert got == [str(i).encode() for i in range(200)]


def test_handshake_announces_dealer_and_identity(router):
    sock, address = router
    with ZmtpDealer(address, identity=b"daw-7") as dealer:
        dealer.connect()
        assert dealer.connected
        assert dealer.peer_properties["socket-type"] == b"ROUTER"
        dealer.send_multipart([b"", b"hello"])
        assert sock.recv_multipart() == [b"daw-7", b"", b"hello"]
        sock.send_multipart([b"daw-7", b"", b"back"])
        assert dealer.recv_multipart(timeout=5.0) == [b"", b"back"]


def test_recv_without_data_returns_none_at_once(router):
    _, address = router
    with ZmtpDealer(address) as dealer:
        dealer.connect()
        start = time.perf_counter()
        for _ in range(100):
            assert dealer.recv_multipart() is None
        assert (time.perf_counter() - start) / 100 < 0.002
        start = time.perf_counter()
        assert dealer.recv_multipart(timeout=0.1) is None
        assert 0.09 <= time.perf_counter() - start < 0.5


def test_refused_connection_fails_fast():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    dealer = ZmtpDealer(f"tcp://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(ZmtpConnectError, match="connection refused"):
        dealer.send_multipart([b"", b"x"])
    assert time.perf_counter() - start < 0.5
    assert not dealer.connected


def test_peer_gone_then_back_reconnects_on_send():
    ctx = zmq.Context.instance()
    first = ctx.socket(zmq.ROUTER)
    first.linger = 0
    port = first.bind_to_random_port("tcp://127.0.0.1")
    address = f"tcp://127.0.0.1:{port}"
    dealer = ZmtpDealer(address)
    dealer.send_multipart([b"", b"one"])
    assert first.recv_multipart()[2] == b"one"
    first.close()
    time.sleep(0.05)
    with pytest.raises(ZmtpClosed):
        dealer.recv_multipart(timeout=2.0)
    assert not dealer.connected
    assert dealer.recv_multipart() is None  # reported once, then quiet
    second = ctx.socket(zmq.ROUTER)
    second.linger = 0
    second.bind(address)
    try:
        dealer.send_multipart([b"", b"two"])
        assert second.poll(5000)
        assert second.recv_multipart()[2] == b"two"
        assert dealer.connections == 2
    finally:
        dealer.close()
        second.close()


def test_send_notices_a_silent_restart():
    """The peer restarted while nobody read: the next send must reach the new peer."""
    ctx = zmq.Context.instance()
    first = ctx.socket(zmq.ROUTER)
    first.linger = 0
    port = first.bind_to_random_port("tcp://127.0.0.1")
    address = f"tcp://127.0.0.1:{port}"
    dealer = ZmtpDealer(address)
    dealer.connect()
    first.close()
    second = ctx.socket(zmq.ROUTER)
    second.linger = 0
    for _ in range(50):
        try:
            second.bind(address)
            break
        except zmq.ZMQError:
            time.sleep(0.02)
    time.sleep(0.05)
    try:
        dealer.send_multipart([b"", b"after restart"])
        assert second.poll(5000)
        assert second.recv_multipart()[2] == b"after restart"
    finally:
        dealer.close()
        second.close()


def test_heartbeat_pings_are_answered(router):
    """libzmq with heartbeats on (ZMTP 3.1 PING) keeps a quiet ZmtpDealer connected."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.setsockopt(zmq.HEARTBEAT_IVL, 50)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 200)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        with ZmtpDealer(f"tcp://127.0.0.1:{port}") as dealer:
            dealer.connect()
            deadline = time.monotonic() + 0.8
            while time.monotonic() < deadline:
                assert dealer.recv_multipart(timeout=0.02) is None
            assert dealer.connected
            dealer.send_multipart([b"", b"still here"])
            assert sock.poll(2000) and sock.recv_multipart()[2] == b"still here"
    finally:
        sock.close()


# --- a hand-driven peer: byte-exact framing ------------------------------------------------


class RawPeer:
    """A TCP listener that plays the ROUTER side of ZMTP by hand."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.address = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.conn: socket.socket | None = None

    def accept(self, greeting: bytes = ROUTER_GREETING, socket_type: bytes = b"ROUTER") -> bytes:
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(5.0)
        self.conn.sendall(greeting + encode_command("READY", encode_properties(
            [("Socket-Type", socket_type)])))
        return self.read(64)

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            assert chunk
            data += chunk
        return data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@pytest.fixture
def raw_peer():
    peer = RawPeer()
    yield peer
    peer.close()


def connect_to(peer: RawPeer, **accept_args) -> tuple[ZmtpDealer, bytes]:
    dealer = ZmtpDealer(peer.address)
    result: dict[str, bytes] = {}
    thread = threading.Thread(target=lambda: result.update(greeting=peer.accept(**accept_args)))
    thread.start()
    try:
        dealer.connect()
    finally:
        thread.join(5.0)
    return dealer, result.get("greeting", b"")


def test_greeting_and_ready_bytes(raw_peer):
    dealer, greeting = connect_to(raw_peer)
    assert greeting[:10] == b"\xff" + b"\x00" * 8 + b"\x7f"
    assert greeting[10] == 3 and greeting[12:32].rstrip(b"\x00") == b"NULL"
    assert greeting[32] == 0  # as-server: no
    flags, size = raw_peer.read(2)
    assert flags == 0x04
    body = raw_peer.read(size)
    assert body[:6] == b"\x05READY"
    assert decode_properties(body[6:]) == {"socket-type": b"DEALER", "identity": b""}
    dealer.close()


def test_partial_frames_are_buffered(raw_peer):
    dealer, _ = connect_to(raw_peer)
    wire = encode_frame(b"", more=True) + encode_frame(b"y" * 1000)
    raw_peer.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i, byte in enumerate(wire[:-1]):
        raw_peer.conn.sendall(bytes([byte]))
        if i % 97 == 0:
            time.sleep(0.002)
            assert dealer.recv_multipart() is None
    raw_peer.conn.sendall(wire[-1:])
    assert dealer.recv_multipart(timeout=2.0) == [b"", b"y" * 1000]
    dealer.close()


def test_ping_gets_pong_with_context(raw_peer):
    dealer, _ = connect_to(raw_peer)
    raw_peer.read(2 + 6 + 1 + 11 + 4 + 6 + 1 + 8 + 4)  # our READY
    raw_peer.conn.sendall(encode_command("PING", struct.pack("!H", 10) + b"ctx"))
    assert dealer.recv_multipart(timeout=0.2) is None
    dealer.flush(1.0)
    assert raw_peer.read(2 + 5 + 3) == encode_command("PONG", b"ctx")
    dealer.close()


def test_error_command_is_reported(raw_peer):
    dealer, _ = connect_to(raw_peer)
    raw_peer.conn.sendall(encode_command("ERROR", b"\x0cnot allowed!"))
    with pytest.raises(ZmtpConnectError, match="not allowed!"):
        dealer.recv_multipart(timeout=2.0)
    assert not dealer.connected


def test_non_zmtp_peer_is_rejected(raw_peer):
    dealer = ZmtpDealer(raw_peer.address, connect_timeout=2.0)

    def http() -> None:
        conn, _ = raw_peer.listener.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b" " * 64)
        time.sleep(0.5)
        conn.close()

    thread = threading.Thread(target=http)
    thread.start()
    with pytest.raises(ZmtpProtocolError, match="not a ZeroMQ socket"):
        dealer.connect()
    thread.join()


def test_curve_peer_is_rejected(raw_peer):
    curve = ROUTER_GREETING[:12] + b"CURVE".ljust(20, b"\x00") + ROUTER_GREETING[32:]
    with pytest.raises(ZmtpProtocolError, match="CURVE"):
        connect_to(raw_peer, greeting=curve)


def test_pub_peer_is_rejected(raw_peer):
    with pytest.raises(ZmtpConnectError, match="PUB socket"):
        connect_to(raw_peer, socket_type=b"PUB")


def test_silent_peer_times_out(raw_peer):
    dealer = ZmtpDealer(raw_peer.address, connect_timeout=0.3)
    start = time.perf_counter()
    with pytest.raises(ZmtpConnectError, match="handshake"):
        dealer.connect()  # the listener accepts (backlog) but never answers
    assert time.perf_counter() - start < 1.0


def test_frame_encoding():
    assert encode_frame(b"ab") == b"\x00\x02ab"
    assert encode_frame(b"ab", more=True) == b"\x01\x02ab"
    assert encode_frame(b"z" * 256)[:9] == b"\x02" + struct.pack("!Q", 256)
    assert encode_command("PING", b"\x00\x01") == b"\x04\x07\x04PING\x00\x01"
    props = encode_properties([("Socket-Type", b"DEALER"), ("Identity", b"")])
    assert decode_properties(props) == {"socket-type": b"DEALER", "identity": b""}
    with pytest.raises(ZmtpProtocolError):
        decode_properties(props[:-3])


@pytest.mark.parametrize("endpoint, expected", [
    ("tcp://127.0.0.1:5555", ("127.0.0.1", 5555)),
    ("tcp://localhost:1", ("127.0.0.1", 1)),
    ("tcp://*:9", ("127.0.0.1", 9)),
    ("tcp://[::1]:5555", ("::1", 5555)),
    ("tcp://studio.local:6000", ("studio.local", 6000)),
])
def test_parse_endpoint(endpoint, expected):
    assert parse_endpoint(endpoint) == expected


@pytest.mark.parametrize("endpoint", ["127.0.0.1:5555", "ipc:///tmp/x", "tcp://host", "tcp://h:0",
                                      "tcp://h:99999", None])
def test_parse_endpoint_rejects(endpoint):
    with pytest.raises(ValueError, match="endpoint"):
        parse_endpoint(endpoint)
