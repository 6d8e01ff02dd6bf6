"""EngineClient and PendingRequest over both transports against a real libzmq ROUTER."""

from __future__ import annotations

import socket
import time

import pytest

from daw_scripts.common.engine_client import EngineClient, PendingRequest
from daw_scripts.common.errors import EngineError, EngineTimeout, EngineUnreachable

TRANSPORTS = ["zmtp", "pyzmq"]


@pytest.fixture(params=TRANSPORTS)
def transport(request) -> str:
    return request.param


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def silent(request):
    return []


def refuse(request):
    error = {"code": "invalid_request", "message": "clip.notes.3.pitch must be in range 0..127",
             "field": "clip.notes.3.pitch"}
    return [{"v": 1, "id": request["id"], "ok": False, "error": error}]


def test_request_round_trip(fake_engine, transport):
    engine = fake_engine()
    with EngineClient(engine.address, transport=transport) as client:
        assert client.transport == transport
        result = client.request("ping", timeout=5.0)
    sent = result["echo"]
    assert sent["v"] == 1 and sent["op"] == "ping" and sent["timeout"] == 5.0
    assert engine.envelopes and len(engine.received) == 1


@pytest.mark.parametrize("size", [300, 1_200_000])
def test_large_round_trip(fake_engine, transport, size):
    engine = fake_engine()
    blob = "n" * size
    with EngineClient(engine.address, transport=transport) as client:
        assert client.request("ping", timeout=10.0, blob=blob)["echo"]["blob"] == blob


def test_submit_then_poll_gets_events_and_reply(fake_engine, transport):
    engine = fake_engine()
    with EngineClient(engine.address, transport=transport) as client:
        rid = client.submit("info")
        messages = []
        deadline = time.monotonic() + 5.0
        while len(messages) < 2 and time.monotonic() < deadline:
            messages += client.poll()
            client.wait(0.05)
    assert [m.get("event", "reply") for m in messages] == ["progress", "reply"]
    assert all(m["id"] == rid for m in messages)
    assert messages[1]["ok"] is True


def test_ids_are_fresh(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        ids = {client.submit("ping") for _ in range(50)}
    other = EngineClient(engine.address, transport=transport)
    assert len(ids) == 50 and other.new_id() not in ids
    other.close()


def test_poll_never_blocks(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        client.submit("ping")
        times = []
        for _ in range(200):
            start = time.perf_counter()
            assert client.poll() == []
            times.append(time.perf_counter() - start)
    times.sort()
    median, p95 = times[100], times[190]  # the worst few are the OS scheduler's, not poll's
    assert median < 0.001 and p95 < 0.010, f"poll(): median {median * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms"


def test_error_reply_raises_engine_error(fake_engine, transport):
    engine = fake_engine(refuse)
    with EngineClient(engine.address, transport=transport) as client:
        with pytest.raises(EngineError) as caught:
            client.request("harmonize", timeout=5.0, clip={})
    assert caught.value.code == "invalid_request"
    assert caught.value.field == "clip.notes.3.pitch"
    assert "0..127" in str(caught.value)
    assert type(caught.value) is EngineError


def test_engine_absent_is_unreachable_quickly(transport):
    client = EngineClient(f"tcp://127.0.0.1:{free_port()}", transport=transport)
    start = time.perf_counter()
    with pytest.raises(EngineUnreachable) as caught:
        client.request("ping", timeout=10.0)
    elapsed = time.perf_counter() - start
    client.close()
    assert elapsed < 1.0
    assert "dawbridge serve" in str(caught.value) and caught.value.code == "unreachable"


def test_pending_request_absent_engine_is_done_at_once(transport):
    client = EngineClient(f"tcp://127.0.0.1:{free_port()}", transport=transport)
    pending = PendingRequest.start(client, "ping", {})
    assert pending.poll() is True and pending.done
    assert isinstance(pending.error, EngineUnreachable)
    client.close()


def test_timeout_raises_and_cancels(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        start = time.perf_counter()
        with pytest.raises(EngineTimeout, match="within 0.3 s"):
            client.request("harmonize", timeout=0.3, clip={})
        assert 0.25 < time.perf_counter() - start < 1.5
        deadline = time.monotonic() + 2.0
        while len(engine.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    first, cancel = engine.received
    assert cancel["op"] == "cancel" and cancel["target"] == first["id"]


def test_engine_restarted_mid_request(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "harmonize", {"clip": {}}, timeout=3.0)
        deadline = time.monotonic() + 2.0
        while not engine.received and time.monotonic() < deadline:
            assert pending.poll() is None
            time.sleep(0.01)
        engine.handler = silent
        engine.restart(pause=0.05)
        start = time.monotonic()
        while pending.poll() is None:
            assert time.monotonic() - start < 5.0, "the pending request hangs"
            time.sleep(0.01)
        assert isinstance(pending.error, (EngineUnreachable, EngineTimeout))
        engine.handler = lambda r: [{"v": 1, "id": r["id"], "ok": True, "result": {"again": 1}}]
        result = retry(lambda: client.request("ping", timeout=2.0))
    assert result == {"again": 1}


def retry(call, attempts: int = 5):
    """A DAW user presses the button again after 'engine unreachable'."""
    for attempt in range(attempts):
        try:
            return call()
        except EngineUnreachable:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def test_pending_request_progress_and_result(fake_engine, transport):
    engine = fake_engine()
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "vary", {"clip": {"notes": []}}, timeout=5.0)
        progress = []
        while pending.poll() is None:
            progress.append(pending.progress)
            time.sleep(0.005)
    assert pending.error is None and pending.progress == 1.0
    assert pending.result["echo"]["op"] == "vary"
    assert pending.result["echo"]["id"] == pending.id
    assert all(0.0 <= p <= 1.0 for p in progress)


def test_pending_request_cancel(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "drums", {"bars": 4}, timeout=5.0)
        pending.cancel()
        assert pending.poll() is True
        assert pending.error.code == "cancelled"
        deadline = time.monotonic() + 2.0
        while len(engine.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert engine.received[1] == {"v": 1, "id": engine.received[1]["id"], "op": "cancel",
                                  "target": pending.id}


def test_pending_request_deadline(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "fill", {}, timeout=0.2)
        while pending.poll() is None:
            time.sleep(0.01)
    assert isinstance(pending.error, EngineTimeout)


def test_concurrent_requests_are_routed_by_id(fake_engine, transport):
    held = []

    def answer_in_reverse(request):
        held.append(request)
        if len(held) < 3:
            return []
        return [{"v": 1, "id": r["id"], "ok": True, "result": {"n": r["n"]}} for r in reversed(held)]

    engine = fake_engine(answer_in_reverse)
    with EngineClient(engine.address, transport=transport) as client:
        pendings = [PendingRequest.start(client, "ping", {"n": n}, timeout=5.0) for n in range(2)]
        other = client.submit("ping", n=2)
        while not all(p.poll() for p in pendings):
            time.sleep(0.005)
        assert [p.result["n"] for p in pendings] == [0, 1]
        deadline = time.monotonic() + 2.0
        rest = []
        while not rest and time.monotonic() < deadline:
            rest = client.poll()
    assert [m["id"] for m in rest] == [other]


def test_host_poll_does_not_steal_pending_replies(fake_engine, transport):
    """Live polls its attach session with client.poll() on the same tick as an action."""
    engine = fake_engine()
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "vary", {"clip": {}}, timeout=5.0)
        deadline = time.monotonic() + 2.0
        while not engine.received and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert client.poll() == []
        while pending.poll() is None:
            time.sleep(0.01)
    assert pending.result["echo"]["op"] == "vary"


def test_garbage_frames_are_dropped(fake_engine, transport):
    def garbage_first(request):
        return [b"\xff\xfe not json", b'["not", "an", "object"]',
                {"v": 1, "id": request["id"], "ok": True, "result": {"fine": True}}]

    engine = fake_engine(garbage_first)
    with EngineClient(engine.address, transport=transport) as client:
        assert client.request("ping", timeout=5.0) == {"fine": True}


def test_lost_connection_fails_pending_quickly(fake_engine, transport):
    engine = fake_engine(silent)
    with EngineClient(engine.address, transport=transport) as client:
        pending = PendingRequest.start(client, "harmonize", {"clip": {}}, timeout=30.0)
        deadline = time.monotonic() + 2.0
        while not engine.received and time.monotonic() < deadline:
            pending.poll()
            time.sleep(0.01)
        engine.stop()
        start = time.monotonic()
        while pending.poll() is None:
            assert time.monotonic() - start < 3.0, "a lost connection should not wait for the deadline"
            time.sleep(0.01)
    assert isinstance(pending.error, EngineUnreachable)
    assert "lost" in str(pending.error)


def test_session_changes_after_a_restart(fake_engine, transport):
    engine = fake_engine()
    with EngineClient(engine.address, transport=transport) as client:
        client.request("attach", timeout=5.0, daw="live")
        attached_under = client.session
        engine.restart(pause=0.05)
        deadline = time.monotonic() + 3.0
        while client.session == attached_under and time.monotonic() < deadline:
            client.poll()
            time.sleep(0.01)
        assert client.session != attached_under
        assert retry(lambda: client.request("attach", timeout=2.0, daw="live"))


def test_unknown_transport_is_refused():
    with pytest.raises(ValueError, match="transport must be one of"):
        EngineClient(transport="carrier-pigeon")
