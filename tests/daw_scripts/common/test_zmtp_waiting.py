"""How the pure-Python ZMTP client waits for a connection: a refused connect as Winsock reports
it (only in select's exception set and SO_ERROR, never writable) is seen at once, and a Python
without ``select`` (a host's reduced one) still connects, talks and sees refusals."""

from __future__ import annotations

import socket
import time
import types

import pytest

from daw_scripts.common import zmtp
from daw_scripts.common.zmtp import ZmtpConnectError, ZmtpDealer

WSAEWOULDBLOCK, WSAECONNREFUSED = 10035, 10061


class WinsockRefusal:
    """A socket whose connect Winsock refuses: ``connect_ex`` says it would block, the socket
    never turns writable, and the refusal shows in select's exception set and in SO_ERROR."""

    def __init__(self, *args) -> None:
        self._real = socket.socket()

    def setblocking(self, flag) -> None:
        pass

    def setsockopt(self, *args) -> None:
        pass

    def connect_ex(self, address) -> int:
        return WSAEWOULDBLOCK

    def getsockopt(self, level, option) -> int:
        return WSAECONNREFUSED if option == socket.SO_ERROR else 0

    def fileno(self) -> int:
        return self._real.fileno()

    def close(self) -> None:
        self._real.close()


def winsock_select(readable, writable, exceptional, timeout=None):
    """``select`` as Winsock answers it for a refused connect."""
    failed = [s for s in exceptional if isinstance(s, WinsockRefusal)]
    if failed:
        return [], [], failed
    time.sleep(timeout or 0)
    return [], [], []


def test_a_refused_connect_on_windows_is_seen_at_once(monkeypatch):
    fake_socket = types.SimpleNamespace(**{k: getattr(socket, k) for k in dir(socket) if not k.startswith("__")})
    fake_socket.socket = WinsockRefusal
    monkeypatch.setattr(zmtp, "socket", fake_socket)
    monkeypatch.setattr(zmtp, "select", types.SimpleNamespace(select=winsock_select))
    dealer = ZmtpDealer("tcp://127.0.0.1:5555", connect_timeout=1.0)

    start = time.perf_counter()
    with pytest.raises(ZmtpConnectError, match="connection refused"):
        dealer.connect()

    assert time.perf_counter() - start < 0.25
    assert not dealer.connected


def test_without_select_it_connects_and_talks(router, monkeypatch):
    monkeypatch.setattr(zmtp, "select", None)
    sock, address = router
    with ZmtpDealer(address, connect_timeout=2.0) as dealer:
        dealer.send_multipart([b"", b"hello"])
        assert sock.poll(5000)
        envelope, *frames = sock.recv_multipart()
        assert frames == [b"", b"hello"]
        sock.send_multipart([envelope, b"", b"back"])
        assert dealer.recv_multipart(timeout=5.0) == [b"", b"back"]
        start = time.perf_counter()
        assert dealer.recv_multipart(timeout=0.0) is None
        assert time.perf_counter() - start < 0.05


def test_without_select_a_refusal_is_seen_at_once(monkeypatch):
    monkeypatch.setattr(zmtp, "select", None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dealer = ZmtpDealer(f"tcp://127.0.0.1:{port}", connect_timeout=1.0)
    start = time.perf_counter()
    with pytest.raises(ZmtpConnectError, match="connection refused"):
        dealer.connect()
    assert time.perf_counter() - start < 0.25
