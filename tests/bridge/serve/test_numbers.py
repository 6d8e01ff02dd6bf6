"""Numbers at the protocol's edge: every number of every op, nested ones included, is finite
and bounded, and a refusal names the field; what the edge accepts, the engine can encode."""

from __future__ import annotations

import json

import pytest

from bridge.client import Client, EngineError
from bridge.protocol import ErrorCode, ProtocolError, decode_request
from tests.bridge.helpers import melody

DRUM = {"length": 4, "kind": "drums", "notes": [{"pitch": 36, "start": 0, "duration": 0.25}]}

# (request fields, the field the refusal must name); every value is a non-finite or unbounded number
HOSTILE = [
    ({"op": "fill", "clip": DRUM, "span": [0, "1e999"]}, "span.1"),
    ({"op": "fill", "clip": DRUM, "span": [0, "-1e999"]}, "span.1"),
    ({"op": "fill", "clip": DRUM, "span": [3, 2]}, "span"),
    ({"op": "harmonize", "clip": {**melody(1), "length": "1e999"}}, "clip.length"),
    ({"op": "harmonize", "clip": {**melody(1), "tempo": "1e999"}}, "clip.tempo"),
    ({"op": "harmonize", "clip": melody(1), "temperature": "1e999"}, "temperature"),
    ({"op": "drums", "context": [{**melody(1), "length": "1e999"}]}, "context.0.length"),
    ({"op": "drums", "density": "-1e999"}, "density"),
    ({"op": "drums", "time_signature": [4, 0]}, "time_signature"),
    ({"op": "drums", "time_signature": [4, 3]}, "time_signature"),
    ({"op": "vary", "clip": melody(1), "strength": "1e999"}, "strength"),
    ({"op": "ping", "timeout": "1e999"}, "timeout"),
    ({"op": "dispatch", "command": {"op": "fill", "span": [0, "1e999"]}}, "command"),
    ({"op": "dispatch", "command": {"op": "fill", "seed": 10**30}}, "command"),
]


def _frame(fields: dict) -> bytes:
    """A request frame; the string "1e999" stands for the bare JSON number 1e999 (infinity)."""
    text = json.dumps({"v": 1, "id": "x", **fields})
    return text.replace('"1e999"', "1e999").replace('"-1e999"', "-1e999").encode()


@pytest.mark.parametrize("fields, field", HOSTILE)
def test_non_finite_and_unbounded_numbers_are_refused_naming_the_field(fields: dict, field: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_request(_frame(fields))
    assert caught.value.code is ErrorCode.invalid_request
    assert caught.value.field == field and caught.value.request_id == "x"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_are_refused_anywhere(constant: str) -> None:
    frame = _frame({"op": "dispatch", "command": {"op": "fill", "x": 0}}).replace(b'"x": 0', b'"x": ' + constant.encode())
    with pytest.raises(ProtocolError, match="not a JSON number"):
        decode_request(frame)


@pytest.mark.parametrize("version", ["true", "1.0"])
def test_the_version_is_the_integer_one(version: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_request(b'{"v": %s, "id": "x", "op": "ping"}' % version.encode())
    assert caught.value.code is ErrorCode.unsupported_version


def test_hostile_numbers_get_an_error_reply_and_the_engine_serves_on(modelless_address: str) -> None:
    with Client(modelless_address) as client:
        for fields, field in HOSTILE:
            client.send_raw(_frame({**fields, "id": "hostile"}))
            with pytest.raises(EngineError) as caught:
                client.wait("hostile")
            assert caught.value.code == "invalid_request" and caught.value.field == field
        assert client.ping() < 1.0


def test_info_limits_are_integers_where_they_count(modelless_address: str) -> None:
    with Client(modelless_address) as client:
        limits = client.info()["limits"]
    for name in ("max_candidates", "max_notes_per_clip", "max_request_bytes", "queue_size", "max_generated_bars"):
        assert type(limits[name]) is int, name
