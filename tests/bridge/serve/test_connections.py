"""The engine's connections: a REQ socket gets exactly one message per request; a client that
goes away has its requests cancelled, so the next one does not wait; sessions are bounded and
end with their connection; messages are limited in total size; a request's cost is checked
before it is queued; every request leaves one log line; a client whose send nothing takes
gives up within its timeout."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
import zmq

from bridge.client import Client, EngineUnreachable
from bridge.constants import MAX_SESSIONS_PER_CONNECTION
from bridge.studio.relay import running_relay
from tests.bridge.helpers import melody, outcome
from tests.bridge.timing_composer import TimingComposer


def _req_roundtrip(address: str, request: dict, timeout_ms: int = 10_000) -> list[dict]:
    """Send one request from a REQ socket; every message it then receives."""
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.REQ_RELAXED, 1)  # lets a second message show, should one come
    sock.connect(address)
    try:
        sock.send(json.dumps(request).encode())
        got = []
        while sock.poll(timeout_ms if not got else 500):
            got.append(json.loads(sock.recv()))
        return got
    finally:
        sock.close()


def test_a_req_client_gets_only_the_final_reply(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05))
    request = {"v": 1, "id": "r", "op": "harmonize", "clip": melody(8), "seed": 1}
    messages = _req_roundtrip(server.address, request)
    assert len(messages) == 1 and messages[0]["ok"] is True, messages  # no progress events first
    with running_relay(server.address) as relay:
        messages = _req_roundtrip(relay.address, {**request, "id": "via-relay"})
    assert len(messages) == 1 and messages[0]["ok"] is True, messages


def test_a_req_client_cannot_attach(modelless_address: str) -> None:
    messages = _req_roundtrip(modelless_address, {"v": 1, "id": "a", "op": "attach", "daw": "live"})
    assert messages[0]["error"]["code"] == "invalid_request"


def _abandon_then_ask(address: str) -> float:
    """A client sends a long request and goes away; seconds another client's short one takes."""
    leaving = Client(address)
    leaving.send("harmonize", clip=melody(40), timeout=60.0)  # 40 bars x 0.2 s = 8 s of work
    time.sleep(0.4)
    leaving.close()  # as a CLI stopped with Ctrl-C
    time.sleep(0.2)
    started = time.monotonic()
    with Client(address) as other:
        assert other.request("harmonize", clip=melody(1), timeout=20.0)
    return time.monotonic() - started


def test_a_client_that_goes_away_frees_the_model(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.2), workers=1)
    assert _abandon_then_ask(server.address) < 2.0  # not the 7.6 s left of the abandoned request
    assert server.scheduler.depth == 0
    with running_relay(server.address) as relay:  # through a studio relay as well
        assert _abandon_then_ask(relay.address) < 2.0


def test_sessions_are_bounded_per_connection_and_end_with_it(modelless_address: str) -> None:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(modelless_address)
    for index in range(MAX_SESSIONS_PER_CONNECTION + 12):  # made-up routing frames, one per session
        attach = {"v": 1, "id": f"s{index}", "op": "attach", "daw": "live"}
        sock.send_multipart([b"fake-%d" % index, b"", json.dumps(attach).encode()])
    codes = []
    while len(codes) < MAX_SESSIONS_PER_CONNECTION + 12 and sock.poll(2000):
        reply = json.loads(sock.recv_multipart()[-1])
        codes.append("ok" if reply["ok"] else reply["error"]["code"])
    assert codes.count("ok") == MAX_SESSIONS_PER_CONNECTION and codes.count("overloaded") == 12
    with Client(modelless_address) as cli:
        assert cli.info()["sessions"] == MAX_SESSIONS_PER_CONNECTION
        sock.close()
        end = time.monotonic() + 5.0
        while cli.info()["sessions"]:  # gone with the connection, no dispatch needed to notice
            assert time.monotonic() < end, "the sessions outlived their connection"
            time.sleep(0.05)


def test_a_message_is_limited_in_total_size(modelless_address: str) -> None:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(modelless_address)
    try:
        part = b"x" * (2 * 1024 * 1024)  # each part under the 4 MiB frame limit, 6 MiB in all
        sock.send_multipart([part, part, b"", part])
        assert sock.poll(10_000)
        assert json.loads(sock.recv_multipart()[-1])["error"]["code"] == "too_large"
        sock.send_multipart([b""] * 20 + [b'{"v":1,"id":"p","op":"ping"}'])  # too many frames
        assert sock.poll(2000)
        assert json.loads(sock.recv_multipart()[-1])["error"]["code"] == "too_large"
    finally:
        sock.close()
    with Client(modelless_address) as client:
        assert client.ping() < 1.0


def test_a_request_too_costly_is_refused_before_it_is_queued(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.0))
    big = {"notes": [{"pitch": 40 + i % 20, "start": i * 0.1, "duration": 0.1} for i in range(8000)],
           "length": 1024.0, "kind": "bass"}
    with Client(server.address) as client:
        assert outcome(client, client.send("harmonize", clip=melody(64), candidates=8)) == "too_large"
        assert outcome(client, client.send("drums", context=[big, big])) == "too_large"  # 16,000 notes
        assert outcome(client, client.send("harmonize", clip=melody(32), candidates=8)) == "ok"
    assert server.scheduler.depth == 0


def test_one_log_line_per_request(start_engine, caplog) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.01))
    with caplog.at_level(logging.INFO, logger="bridge.serve.server"), Client(server.address) as client:
        request_id = client.send("vary", clip=melody(2))
        assert outcome(client, request_id) == "ok"
        client.ping()
        time.sleep(0.1)
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(lines) == 1
    line = lines[0]
    assert line.op == "vary" and line.outcome == "ok" and line.client
    assert line.queue_seconds >= 0 and line.compute_seconds > 0
    assert request_id in line.getMessage() and "queue" in line.getMessage()
    assert not [r for r in caplog.records if getattr(r, "op", None) == "ping" and r.levelno >= logging.INFO]


def test_sessions_are_bounded_in_total(modelless_address: str, monkeypatch) -> None:
    from bridge import constants

    monkeypatch.setattr(constants, "MAX_SESSIONS", 3)
    clients = [Client(modelless_address) for _ in range(4)]
    try:
        codes = []
        for client in clients:
            request_id = client.send("attach", daw="live")
            codes.append(outcome(client, request_id))
        assert codes == ["ok", "ok", "ok", "overloaded"]
    finally:
        for client in clients:
            client.close()


def test_a_send_nothing_takes_says_the_engine_is_unreachable() -> None:
    """A DEALER with no connection holds a send until one comes; the client gives up after its
    timeout instead (a client refused by a CURVE engine once waited there for good)."""
    context = zmq.Context()
    context.setsockopt(zmq.IMMEDIATE, 1)  # no connection, no queue: the send has nowhere to go
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        with Client(f"tcp://127.0.0.1:{port}", timeout=0.3, context=context) as client:
            started = time.monotonic()
            with pytest.raises(EngineUnreachable, match="took no request"):
                client.send("ping")
            assert time.monotonic() - started < 2.0
    finally:
        context.term()
