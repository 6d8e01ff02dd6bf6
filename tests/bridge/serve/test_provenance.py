"""A result says which drummers' performances its clips started from (a part's ``source``),
and ``info`` credits the data the shipped tables were built from."""

from __future__ import annotations

from bridge.protocol import InfoResult, MusicResult
from bridge.serve.convert import music_result
from models.interface import CREDITS
from models.representation import Note, Part


def test_sources_travel_with_each_candidate() -> None:
    drums = Part((Note(36, 0.0, 0.25, 100),), 4.0, kind="drums", extra={"source": "groove:drummer1/session1/3 bars 1-8"})
    plain = Part((Note(60, 0.0, 1.0, 90),), 4.0, kind="melody")
    result = music_result([[drums], [plain]], "m", 1, 0.5)
    assert result.candidates[0].sources == ["groove:drummer1/session1/3 bars 1-8"]
    assert result.candidates[1].sources == []
    assert MusicResult.model_validate(result.model_dump()) == result


def test_info_credits_the_groove_midi_dataset() -> None:
    assert any("Groove MIDI Dataset, Gillick, Tang, Roberts, Engel, Bamman 2019" in c for c in CREDITS)
    assert InfoResult.model_fields["credits"].default_factory is not None


def test_dawbridge_info_shows_the_credits() -> None:
    from bridge.cli.main import info_text

    text = info_text("tcp://127.0.0.1:5555", {"version": "x", "protocol": 1, "credits": list(CREDITS)})
    assert "credits   Drum grooves" in text and "Bamman 2019" in text
