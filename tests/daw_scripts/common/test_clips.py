"""Clip and note builders: field checks, fitting a DAW selection, and the engine's own schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.protocol import REQUEST_ADAPTER
from daw_scripts.common.clips import (
    candidates_from_result,
    chord_plan,
    clip_label,
    guess_kind,
    make_clip,
    make_note,
    progression_text,
    result_notes,
)
from daw_scripts.common.settings import defaults, request_fields

SCHEMA = Path(__file__).resolve().parents[3] / "bridge" / "protocol.schema.json"


def melody_clip(**extra):
    notes = [make_note(60 + i, float(i), 1.0, 90) for i in range(8)]
    return make_clip(notes, 8.0, time_signature=(4, 4), tempo=120.0, **extra)


def drum_clip():
    notes = [make_note(36 if i % 2 == 0 else 38, i * 0.5, 0.25, 100, channel=9) for i in range(16)]
    return make_clip(notes, 8.0, kind="drums")


def test_make_note_fields():
    assert make_note(60, 0, 1) == {"pitch": 60, "start": 0.0, "duration": 1.0, "velocity": 100}
    assert make_note(36, 1.0000000001, 0.5, 127, channel=9) == {
        "pitch": 36, "start": 1.0, "duration": 0.5, "velocity": 127, "channel": 9}


@pytest.mark.parametrize("args, field", [
    ((128, 0, 1), "pitch"),
    ((-1, 0, 1), "pitch"),
    (("C4", 0, 1), "pitch"),
    ((60, -0.5, 1), "start"),
    ((60, 0, 0), "duration"),
    ((60, 0, -1), "duration"),
    ((60, 0, float("nan")), "duration"),
    ((60, 0, 1, 0), "velocity"),
    ((60, 0, 1, 128), "velocity"),
    ((60, 0, 1, 100, 16), "channel"),
])
def test_make_note_names_the_field(args, field):
    with pytest.raises(ValueError, match=f"^{field} must"):
        make_note(*args)


def test_make_clip_fits_a_selection():
    notes = [
        (60, -0.5, 1.0, 0),  # starts before the clip: trimmed; velocity 0 clamped to 1
        (61, -2.0, 1.0),  # wholly before: dropped
        (62, 3.999, 2.0, 200),  # ends after the clip: kept; velocity clamped
        (64, 4.0, 1.0),  # starts at the end: dropped
        {"pitch": 59, "start": 1.0, "duration": 0.5},
    ]
    clip = make_clip(notes, 4.0, time_signature=(3, 4), key="F# minor", name="Lead")
    assert clip["notes"] == [
        {"pitch": 60, "start": 0.0, "duration": 0.5, "velocity": 1},
        {"pitch": 59, "start": 1.0, "duration": 0.5, "velocity": 100},
        {"pitch": 62, "start": 3.999, "duration": 2.0, "velocity": 127},
    ]
    assert clip["time_signature"] == [3, 4] and clip["key"] == "F# minor"
    assert "tempo" not in clip and "kind" not in clip


@pytest.mark.parametrize("kwargs, field", [
    ({"length": 0}, "length"),
    ({"length": 2000}, "length"),
    ({"time_signature": (0, 4)}, "time_signature numerator"),
    ({"time_signature": (4, 3)}, "time_signature denominator"),
    ({"time_signature": "4/4"}, "time_signature"),
    ({"tempo": 5}, "tempo"),
    ({"key": "H major"}, "key"),
    ({"kind": "vocals"}, "kind"),
])
def test_make_clip_names_the_field(kwargs, field):
    args = {"notes": [], "length": 4.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{field} must"):
        make_clip(**args)


def test_make_clip_names_the_note():
    with pytest.raises(ValueError, match=r"^notes\[1\]: pitch must be in range 0\.\.127"):
        make_clip([(60, 0, 1), (130, 1, 1)], 4.0)


def test_make_clip_limits_note_count_as_the_protocol_does():
    from bridge.protocol import MAX_NOTES_PER_CLIP
    from daw_scripts.common import clips

    assert clips.MAX_NOTES_PER_CLIP == MAX_NOTES_PER_CLIP
    with pytest.raises(ValueError, match="at most 8192 notes"):
        make_clip([(60, i * 0.01, 0.01) for i in range(8193)], 1000.0)


@pytest.mark.parametrize("op, build", [
    ("harmonize", lambda s: {"clip": melody_clip(key="C major"), **request_fields(s, "harmonize")}),
    ("drums", lambda s: {"bars": 4, "context": [melody_clip()], **request_fields(s, "drums")}),
    ("fill", lambda s: {"clip": drum_clip(), "span": [6.0, 8.0], **request_fields(s, "fill")}),
    ("vary", lambda s: {"clip": melody_clip(name="Lead", kind="melody"), **request_fields(s, "vary")}),
    ("continue", lambda s: {"clip": melody_clip(), "bars": 2, **request_fields(s, "continue")}),
    ("restyle", lambda s: {"clip": drum_clip(), **request_fields(s, "restyle", "drums")}),
    ("restyle", lambda s: {"clip": melody_clip(), **request_fields(s, "restyle", "melody")}),
])
def test_requests_pass_the_engine_schema(op, build):
    message = {"v": 1, "id": "abc-1", "op": op, **build(defaults())}
    wire = json.loads(json.dumps(message))  # exactly what goes over the wire
    REQUEST_ADAPTER.validate_python(wire)


def test_schema_file_knows_the_ops():
    if not SCHEMA.exists():
        pytest.skip("bridge/protocol.schema.json is not generated yet")
    text = SCHEMA.read_text()
    for op in ("harmonize", "drums", "fill", "vary", "continue", "restyle", "ping", "info"):
        assert f'"{op}"' in text


def test_guess_kind():
    block = [make_note(p, b, 1.0) for b in range(4) for p in (60, 64, 67)]
    legato = [make_note(72 + i % 5, i * 0.5, 0.55) for i in range(16)]
    bass = [make_note(36 + i % 7, float(i), 0.9) for i in range(8)]
    drums = [make_note(42, i * 0.25, 0.1, channel=9) for i in range(16)]
    assert guess_kind(block) == "chords"
    assert guess_kind(legato) == "melody"
    assert guess_kind(bass) == "bass"
    assert guess_kind(drums) == "drums"
    assert guess_kind([]) == "melody"


def test_candidates_from_result():
    clip = melody_clip()
    result = {"candidates": [{"clips": [clip, clip]}, {"clips": [clip]}], "model": "m", "seed": 1,
              "elapsed": 0.1}
    assert candidates_from_result(result) == [[clip, clip], [clip]]
    assert candidates_from_result({}) == []
    assert candidates_from_result(None) == []


def test_clip_label():
    assert clip_label("harmonize", {"name": "chorale"}, 1, 3) == "Harmony 2/3 (chorale)"
    assert clip_label("drums", {"kind": "drums"}, 0, 1) == "Drums"
    assert clip_label("vary", {"kind": "melody"}, 0, 2) == "Variation 1/2 (melody)"
    assert clip_label("continue", {}, 2, 4) == "Continuation 3/4"


def test_the_chord_plan_of_a_result_reads_as_a_producer_writes_chords():
    plan = [{"start": 0.0, "symbol": "Am"}, {"start": 4.0, "symbol": "F"}, {"start": 8.0, "symbol": "C"},
            {"start": 10.0, "symbol": "G/B"}]
    result = {"candidates": [{"clips": [], "chords": []}, {"clips": [], "chords": plan, "warnings": ["w"]},
                             {"clips": [], "chords": plan, "warnings": ["w", "x"]}]}
    assert chord_plan(result) == [(0.0, "Am"), (4.0, "F"), (8.0, "C"), (10.0, "G/B")]
    assert progression_text(chord_plan(result), 12.0) == "Am F C:2 G/B:2"
    assert progression_text(chord_plan(result), 14.0) == "Am F C:2 G/B"
    assert progression_text([(0.0, "D"), (3.0, "A7")], 6.0, (3, 4)) == "D A7"
    assert result_notes(result, {"length": 14.0, "time_signature": [4, 4]}) == [
        "chords Am F C:2 G/B", "w", "x"]
    assert result_notes({"candidates": [{"clips": [], "warnings": ["w"]}]}) == ["w"]
    assert chord_plan(None) == [] and result_notes({}) == [] and result_notes({"candidates": ["?"]}) == []
