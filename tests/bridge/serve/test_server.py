"""The server against real clients on loopback: service ops, hostile frames, size limits,
many clients at once."""

from __future__ import annotations

import json
import threading

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.client import Client, EngineError
from bridge.constants import MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES
from tests.bridge.helpers import melody
from tests.bridge.timing_composer import TimingComposer


def _raw(address: str, frames: list[bytes], timeout_ms: int = 2000) -> list[bytes] | None:
    """Send frames from a fresh DEALER; the reply's frames, or None when none came."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(address)
    try:
        sock.send_multipart(frames)
        if not sock.poll(timeout_ms):
            return None
        return sock.recv_multipart()
    finally:
        sock.close()


def _error(frames: list[bytes] | None) -> dict:
    assert frames is not None, "no reply"
    reply = json.loads(frames[-1])
    assert reply["ok"] is False
    return reply


def test_ping_and_info(modelless_address: str) -> None:
    with Client(modelless_address) as client:
        assert client.ping() < 1.0
        info = client.info()
    assert info["protocol"] == 1
    assert "harmonize" in info["ops"] and "dispatch" in info["ops"]
    assert info["limits"]["max_request_bytes"] == MAX_REQUEST_BYTES
    assert info["served"] == 0  # pings and info are not served work


def test_musical_op_without_weights_says_what_to_do(start_engine, tmp_path) -> None:
    server = start_engine(weights=tmp_path / "missing")
    with Client(server.address) as client, pytest.raises(EngineError) as caught:
        client.request("harmonize", clip=melody(2))
    assert caught.value.code == "model_unavailable"
    assert "dawbridge train" in caught.value.message and "--weights" in caught.value.message
    with Client(server.address) as client:
        assert "dawbridge train" in client.info()["model_error"]


@pytest.mark.parametrize(("frames", "code"), [
    ([b"", b"not json"], "invalid_request"),
    ([b"", b"\xff\xfe\x00"], "invalid_request"),
    ([b"", b"[1, 2]"], "invalid_request"),
    ([b"", b'{"v": 2, "id": "x", "op": "ping"}'], "unsupported_version"),
    ([b"", b'{"v": 1, "id": "x", "op": "sing"}'], "unknown_op"),
    ([b"", b'{"v": 1, "id": "x", "op": "ping", "extra": 1}'], "invalid_request"),
    ([b"", b'{"v": 1, "op": "ping"}'], "invalid_request"),
    ([b"", b'{"v": 1, "id": "x", "op": "ping"}', b"second"], "invalid_request"),
    ([b""], "invalid_request"),
    ([b"", b'{"v": 1, "id": "x", "op": "cancel", "target": "nothing"}'], "not_found"),
])
def test_bad_frames_get_error_replies(modelless_address: str, frames: list[bytes], code: str) -> None:
    assert _error(_raw(modelless_address, frames))["error"]["code"] == code
    with Client(modelless_address) as client:
        client.ping()


def test_error_reply_echoes_a_readable_id(modelless_address: str) -> None:
    reply = _error(_raw(modelless_address, [b"", b'{"v": 1, "id": "abc", "op": "harmonize"}']))
    assert reply["id"] == "abc" and reply["error"]["field"] == "clip"


def test_dealer_without_delimiter_is_answered_in_kind(modelless_address: str) -> None:
    frames = _raw(modelless_address, [b'{"v": 1, "id": "n", "op": "ping"}'])
    assert frames is not None and len(frames) == 1 and json.loads(frames[0])["ok"] is True


def test_req_socket_is_served(modelless_address: str) -> None:
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(modelless_address)
    try:
        sock.send(b'{"v": 1, "id": "r", "op": "ping"}')
        assert sock.poll(2000)
        assert json.loads(sock.recv())["result"]["pong"] is True
    finally:
        sock.close()


def test_3_mb_frame_is_refused_and_the_engine_serves_on(modelless_address: str) -> None:
    frame = b'{"v": 1, "id": "big", "op": "ping", "pad": "' + b"x" * (3 * 1000 * 1000) + b'"}'
    assert _error(_raw(modelless_address, [b"", frame], 10_000))["error"]["code"] == "too_large"
    with Client(modelless_address) as client:
        client.ping()


def test_frame_over_socket_limit_drops_the_peer_only(modelless_address: str) -> None:
    assert _raw(modelless_address, [b"", b"x" * (MAX_MESSAGE_BYTES + 1)], 1000) is None
    with Client(modelless_address) as client:
        client.ping()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(st.binary(max_size=64) | st.sampled_from([b"", b"{}", b'{"v":1}', b"null"]),
                       min_size=1, max_size=4))
def test_hostile_frames_never_stop_the_engine(modelless_address: str, frames: list[bytes]) -> None:
    reply = _raw(modelless_address, frames)
    if reply is not None:
        message = json.loads(reply[-1])
        assert message["ok"] is False or message["result"]["pong"] is True
    with Client(modelless_address, timeout=2.0) as client:
        client.ping()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12))
def test_json_of_any_shape_gets_exactly_one_reply(modelless_address: str, payload: object) -> None:
    frame = json.dumps({"v": 1, "id": "h", "op": "harmonize", "clip": payload}).encode()
    reply = _error(_raw(modelless_address, [b"", frame]))
    assert reply["id"] == "h" and reply["error"]["code"] in ("invalid_request", "model_unavailable")


def test_fifty_concurrent_clients(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001), queue_size=64)
    failures: list[BaseException] = []

    def client_session(index: int) -> None:
        try:
            with Client(server.address, timeout=20.0) as client:
                for _ in range(5):
                    client.ping()
                result = client.request("vary", clip=melody(2, base=40 + index), seed=index, timeout=30.0)
                notes = result["candidates"][0]["clips"][0]["notes"]
                assert notes[0]["pitch"] == 40 + index + 7
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client_session, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    with Client(server.address) as client:
        info = client.info()
    assert info["served"] == 50 and info["failed"] == 0


def test_a_taken_address_is_reported_as_such(modelless_address: str) -> None:
    """A second engine on the same address fails with the bind error, the one a caller can act
    on (retry, pick another port), and leaves the first engine serving."""
    from bridge.serve.server import running_engine

    with pytest.raises(zmq.ZMQError, match="in use"):
        with running_engine(modelless_address, composer=TimingComposer(bar_seconds=0.0)):
            pass
    with Client(modelless_address) as client:
        assert client.request("ping", timeout=5.0)["pong"] is True
