"""Large requests validated in slices: the same request, or the same refusal naming the same
field, as the protocol's whole validation gives."""

from __future__ import annotations

import json

import pytest

from bridge.constants import PARSE_INLINE_BYTES
from bridge.protocol import ProtocolError, decode_request
from bridge.serve.parser import decode_sliced, read_request
from tests.bridge.serve.test_numbers import HOSTILE, _frame


def _long_clip(notes: int = 2000, kind: str = "melody") -> dict:
    return {"notes": [{"pitch": 48 + i % 24, "start": round(i * 0.25, 6), "duration": 0.25, "velocity": 90}
                      for i in range(notes)], "length": 512.0, "time_signature": [4, 4], "tempo": 96.5,
            "key": "c major", "kind": kind, "name": "lead"}


VALID = [
    {"op": "harmonize", "clip": _long_clip(), "style": "chords", "key": "F#m", "candidates": 1},
    {"op": "vary", "clip": _long_clip(), "strength": 0.3, "seed": 7},
    {"op": "continue", "clip": _long_clip(), "bars": 8},
    {"op": "fill", "clip": _long_clip(kind="drums"), "span": [504.0, 508.0]},
    {"op": "drums", "context": [_long_clip(1000, "bass"), _long_clip(1000, "chords")], "style": "funk", "bars": 8},
]


@pytest.mark.parametrize("fields", VALID, ids=[f["op"] for f in VALID])
def test_a_large_valid_request_decodes_as_a_whole(fields: dict) -> None:
    frame = json.dumps({"v": 1, "id": "big", **fields}).encode()
    assert len(frame) > PARSE_INLINE_BYTES
    sliced = decode_sliced(frame)
    assert sliced is not None and sliced == decode_request(frame)
    assert read_request([b"peer", b"", frame])[1] == sliced


def _padded(fields: dict) -> bytes:
    """A request frame made large with whitespace, so it takes the sliced path."""
    frame = _frame(fields)
    return frame[:-1] + b" " * max(0, PARSE_INLINE_BYTES + 1 - len(frame)) + b"}"


BAD_NOTES = [
    ({"op": "harmonize", "clip": {**_long_clip(), "notes": _long_clip()["notes"] + [{"pitch": 300, "start": 0,
                                                                                    "duration": 1}]}},
     "clip.notes.2000.pitch"),
    ({"op": "harmonize", "clip": {**_long_clip(), "length": 4.0}}, "clip"),
    ({"op": "drums", "context": [_long_clip(), {**_long_clip(10), "notes": [{"pitch": 60, "start": 0}]}]},
     "context.1.notes.0.duration"),
]


@pytest.mark.parametrize("fields, field", HOSTILE + BAD_NOTES)
def test_a_large_bad_request_is_refused_naming_the_same_field(fields: dict, field: str) -> None:
    frame = _padded(fields)
    assert decode_sliced(frame) is None
    with pytest.raises(ProtocolError) as caught:
        read_request([b"peer", b"", frame])
    assert caught.value.field == field and caught.value.request_id == "x"
