"""A DAW session's attach never waits on the host's thread for an engine that is away: the
connection attempt is a probe read on each poll (daw_scripts/common/zmtp.ConnectProbe), and the
attach is sent only once something accepts connections at the address."""

from __future__ import annotations

import errno
import socket
import time

import pytest

from bridge.serve.server import running_engine
from daw_scripts.common import session, zmtp


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def test_a_probe_answers_false_where_nothing_listens_and_true_where_something_does() -> None:
    refused = zmtp.ConnectProbe(f"tcp://127.0.0.1:{_free_port()}")
    deadline = time.monotonic() + 5
    while refused.result() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert refused.result() is False
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        accepting = zmtp.ConnectProbe(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        deadline = time.monotonic() + 5
        while accepting.result() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert accepting.result() is True


def test_a_pending_attempt_is_never_waited_for_and_gives_up_in_time(monkeypatch) -> None:
    """As Winsock does with a refused loopback connect: the attempt stays under way for
    seconds. Every poll returns at once, nothing is sent, and the link tries again later."""
    monkeypatch.setattr(zmtp, "_connect_progress", lambda sock, address, left: errno.EINPROGRESS)
    clock = Clock()
    link = session.SessionLink({"address": f"tcp://127.0.0.1:{_free_port()}", "transport": "zmtp"},
                               "live", "Set", retry_seconds=5.0, clock=clock)
    sent = []
    monkeypatch.setattr(link.client, "submit", lambda *a, **k: sent.append(a) or "x")
    try:
        for _ in range(20):
            commands, took = _timed(link.poll)
            assert commands == [] and took < 0.05
            clock.now += 0.1
        assert sent == [] and not link.unreachable  # 2 s in: still under way
        clock.now += 1.5
        link.poll()
        assert sent == [] and link.unreachable  # given up after 3 s; next try in 5 s
        clock.now += 1.0
        link.poll()
        assert link._probe is None
    finally:
        link.close()


@pytest.mark.timeout(60)
def test_the_link_attaches_once_the_engine_accepts() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    clock = Clock()
    link = session.SessionLink({"address": address, "transport": "zmtp"}, "live", "Set",
                               retry_seconds=5.0, clock=clock)
    try:
        link.poll()
        assert link.unreachable and link.attach_id is None  # refused at once on loopback
        with running_engine(address, composer=None) as server:
            clock.now += 5.0
            deadline = time.monotonic() + 20
            while not link.attached and time.monotonic() < deadline:
                link.poll()
                time.sleep(0.01)
            assert link.attached and len(server.sessions) == 1
    finally:
        link.close()
