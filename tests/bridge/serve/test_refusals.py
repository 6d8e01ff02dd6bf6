"""A refusal by the model is answered invalid_request with the field its message names."""

from __future__ import annotations

from bridge.protocol import REQUEST_ADAPTER, named_field
from tests.bridge.helpers import melody


def test_the_field_is_the_request_field_the_message_starts_with() -> None:
    fill = REQUEST_ADAPTER.validate_python({"v": 1, "id": "a", "op": "fill", "clip": melody(bars=2)})
    assert named_field(fill, "clip must be a drum clip for fill, got a melody clip") == "clip"
    assert named_field(fill, "clip.kind is drums: harmonize takes a melody") == "clip.kind"
    assert named_field(fill, "clip.notes[3].start must be in range 0..4") == "clip.notes.3.start"
    assert named_field(fill, "span must overlap the clip (0..8 beats), got (9, 10)") == "span"
    assert named_field(fill, "MIDI 0..127 leaves no pitch for the bass") is None  # not a field
    assert named_field(fill, "pitch_range 0..20 leaves no pitch") is None  # not a field of fill
    assert named_field(fill, "") is None
