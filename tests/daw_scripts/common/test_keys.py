"""The scripts read a key the way the protocol does: the same spellings accepted, the same refused,
the same canonical form sent. The scripts cannot import the engine, so ``clips`` mirrors its
rule; these checks hold the two together."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.protocol import MAX_KEY_CHARS, Clip
from daw_scripts.common import clips
from models import keys

SPELLINGS = [
    "C major", "c major", "C", "c", "Cm", "cm", "F#m", "F#", "Bb minor", "bb minor", "A min", "Amin",
    "Ab maj", "EbM", "Ebm", "DM", "Dm", "D MAJOR", "d Minor", "G# MIN", "  E minor  ", "E\tminor",
    "B\u266d minor", "F\u266f major", "Gbm", "A- minor", "E-", "C - minor", "Cb", "B#m",
    # refused
    "", " ", "H major", "C dorian", "C##", "C#b", "Cmm", "C maj or", "C-m", "-C", "C major!",
    "C major" + " " * 30, "minor", "Ebb major", "E \u266e", "\u00c7 major", "C majeur",
]


def protocol_key(text):
    """What the protocol makes of ``text`` as a clip's key: the canonical form, or None (refused)."""
    try:
        return Clip(length=4.0, key=text).key
    except ValidationError:
        return None


def script_key(text):
    try:
        return clips.canonical_key(text)
    except ValueError:
        return None


@pytest.mark.parametrize("text", SPELLINGS)
def test_the_scripts_accept_and_spell_a_key_as_the_protocol_does(text):
    expected = protocol_key(text)
    assert script_key(text) == expected
    if expected is None:
        with pytest.raises(ValueError, match="key must be a tonic A..G"):
            clips.make_clip([], 4.0, key=text)
    else:
        assert clips.make_clip([], 4.0, key=text)["key"] == expected
        assert Clip.model_validate(clips.make_clip([], 4.0, key=text)).key == expected


def test_the_short_names_producers_type_are_accepted():
    assert [script_key(k) for k in ("Cm", "F#", "F#m", "Bb", "A min")] == [
        "C minor", "F# major", "F# minor", "Bb major", "A minor"]


def test_the_mirrored_rule_is_the_protocols():
    assert clips.MAX_KEY_CHARS == MAX_KEY_CHARS
    assert clips.ACCEPTED_KEYS == keys.ACCEPTED_KEYS
    assert clips.KEY_PATTERN.pattern == keys._KEY_SPELLING.pattern.replace("\u266f", "\\u266f").replace(
        "\u266d", "\\u266d")
    assert clips.KEY_ACCIDENTALS == keys._ACCIDENTALS
    assert clips.KEY_MODES == keys._MODES
