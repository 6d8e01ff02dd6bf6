"""The wire schema: valid requests round-trip, anything else is a ProtocolError with the right
code (never another exception), and the committed schema and README table do not drift."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import protocol, schema
from bridge.protocol import Clip, ErrorCode, ProtocolError, decode_request
from bridge.serve.convert import clip_to_part, part_to_clip, request_to_task
from tests.bridge.helpers import melody

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
notes = st.builds(dict, pitch=st.integers(0, 127), start=st.floats(0, 31.9), duration=st.floats(0.01, 8),
                  velocity=st.integers(1, 127))


def _code(frame: bytes) -> ErrorCode | None:
    try:
        decode_request(frame)
    except ProtocolError as exc:
        assert exc.request_id is None or isinstance(exc.request_id, str)
        return exc.code
    return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_fail_cleanly(frame: bytes) -> None:
    _code(frame)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "id", "op", "clip", "style", "candidates", "target", "x"]),
                       JSON, max_size=6))
def test_any_json_object_decodes_or_fails_cleanly(data: dict) -> None:
    _code(json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(["harmonize", "vary", "continue", "fill"]), body=st.lists(notes, max_size=20),
       candidates=st.integers(-2, 10), seed=st.integers(-5, 2**32))
def test_musical_requests_validate_bounds(op: str, body: list, candidates: int, seed: int) -> None:
    frame = json.dumps({"v": 1, "id": "p", "op": op, "clip": {"length": 32.0, "notes": body},
                        "candidates": candidates, "seed": seed}).encode()
    code = _code(frame)
    valid = 1 <= candidates <= 8 and 0 <= seed <= 2**31 - 1
    assert code is (None if valid else ErrorCode.invalid_request)


@pytest.mark.parametrize(("change", "field"), [
    ({"pitch": 128}, "clip.notes.0.pitch"), ({"velocity": 0}, "clip.notes.0.velocity"),
    ({"duration": 0}, "clip.notes.0.duration"), ({"start": -1}, "clip.notes.0.start"),
    ({"channel": 16}, "clip.notes.0.channel"), ({"pitch": "60"}, "clip.notes.0.pitch"),
])
def test_note_bounds_name_the_field(change: dict, field: str) -> None:
    clip = melody(1)
    clip["notes"][0].update(change)
    with pytest.raises(ProtocolError) as caught:
        decode_request(json.dumps({"v": 1, "id": "n", "op": "vary", "clip": clip}).encode())
    assert caught.value.field == field and caught.value.request_id == "n"


def test_version_op_and_shape_codes() -> None:
    assert _code(b'{"v": 2, "id": "a", "op": "ping"}') is ErrorCode.unsupported_version
    assert _code(b'{"v": true, "id": "a", "op": "ping"}') is ErrorCode.unsupported_version
    assert _code(b'{"v": 1, "id": "a", "op": "dance"}') is ErrorCode.unknown_op
    assert _code(b'{"v": 1, "id": "a"}') is ErrorCode.invalid_request
    assert _code(b'{"v": 1, "id": "a", "op": "ping", "n": NaN}') is ErrorCode.invalid_request
    assert _code(b'{"v": 1, "id": "", "op": "ping"}') is ErrorCode.invalid_request
    assert _code(b'{"v": 1, "id": "a", "op": "ping"}') is None


def test_clip_part_round_trip_and_tasks() -> None:
    clip = Clip.model_validate({**melody(2, 3), "key": "D minor", "name": "lead"})
    assert part_to_clip(clip_to_part(clip)) == clip.model_copy(
        update={"notes": [n.model_copy(update={"channel": None}) for n in clip.notes]})
    request = decode_request(json.dumps({"v": 1, "id": "t", "op": "harmonize", "clip": melody(2),
                                         "style": "bass", "candidates": 3}).encode())
    task = request_to_task(request, seed=9)
    assert (task.op, task.style, task.sampling.candidates, task.sampling.seed) == ("harmonize", "bass", 3, 9)
    assert task.melody.bars == 2


def test_committed_schema_and_readme_table_are_current() -> None:
    assert schema.SCHEMA_PATH.read_text(encoding="utf-8") == schema.schema_text(), \
        "bridge/protocol.schema.json is stale; run `python -m bridge.schema`"
    readme = schema.README_PATH.read_text(encoding="utf-8")
    assert readme == schema.readme_text(readme), "README.md's op table is stale; run `python -m bridge.schema`"


def test_style_literals_are_the_vocabularys_styles():
    from typing import get_args

    assert get_args(protocol.DrumStyle) == protocol.DRUM_STYLES
    assert get_args(protocol.MelodyStyle) == protocol.MELODY_STYLES


def test_keys_as_people_type_them_come_back_canonical() -> None:
    clip = {**melody(1), "key": "c major"}
    request = decode_request(json.dumps({"v": 1, "id": "k", "op": "vary", "clip": clip, "key": "F#m"}).encode())
    assert (request.clip.key, request.key) == ("C major", "F# minor")
    with pytest.raises(ProtocolError) as caught:
        decode_request(json.dumps({"v": 1, "id": "k", "op": "continue", "clip": clip, "key": "H dur"}).encode())
    assert caught.value.field == "key" and '"F#m", "Bb minor", "A min"' in str(caught.value)


def test_harmonize_chords_are_validated_and_reach_the_task() -> None:
    body = {"v": 1, "id": "c", "op": "harmonize", "clip": melody(2),
            "chords": [{"start": 0, "symbol": "Am"}, {"start": 4, "symbol": "F/A"}], "pickup": 1}
    task = request_to_task(decode_request(json.dumps(body).encode()), seed=1)
    assert task.chords == ((0.0, "Am"), (4.0, "F/A")) and task.pickup == 1.0
    for chords, words, field in [
            ([{"start": 0, "symbol": "Hm"}], "chord symbol 'Hm' is not understood", "chords.0.symbol"),
            ([{"start": 0, "symbol": "Am"}, {"start": 0, "symbol": "F"}], "chords[1].start must be after", "chords.1.start"),
            ([{"start": 99, "symbol": "Am"}], "chords[0].start must be in range 0..8, below the clip length", "chords.0.start")]:
        with pytest.raises(ProtocolError) as err:
            decode_request(json.dumps(body | {"chords": chords}).encode())
        assert err.value.code == ErrorCode.invalid_request and words in str(err.value), str(err.value)
        assert err.value.field == field and "Value error" not in str(err.value)
    with pytest.raises(ProtocolError, match="pickup must be in range 0..4") as err:
        decode_request(json.dumps(body | {"pickup": 4}).encode())
    assert err.value.field == "pickup"


def test_drum_phrase_fills_are_validated_and_reach_the_task() -> None:
    base = {"v": 1, "id": "f", "op": "drums", "bars": 8}
    with pytest.raises(ProtocolError) as caught:
        decode_request(json.dumps(base | {"fills": 1}).encode())
    assert caught.value.field == "fills" and "2..64" in str(caught.value)
    with pytest.raises(ProtocolError) as caught:
        decode_request(json.dumps(base | {"fill_intensity": 1.5}).encode())
    assert caught.value.field == "fill_intensity"
    task = request_to_task(decode_request(json.dumps(base | {"fills": 4, "fill_intensity": 0.8}).encode()), 3)
    assert (task.fills, task.fill_intensity) == (4, 0.8)
