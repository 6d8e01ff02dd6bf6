"""Key names: the spellings people type read as one canonical form, pitch classes, refusals."""

from __future__ import annotations

import pytest

from models.keys import canonical_key, key_name, parse_key, transpose_key


@pytest.mark.parametrize(("typed", "canonical"), [
    ("C major", "C major"), ("c major", "C major"), ("C", "C major"), ("Cm", "C minor"),
    ("F#m", "F# minor"), ("Bb minor", "Bb minor"), ("bb minor", "Bb minor"), ("bbm", "Bb minor"),
    ("A min", "A minor"), ("Ebmaj", "Eb major"), ("CM", "C major"), (" e ", "E major"),
    ("f\u266fm", "F# minor"), ("B\u266d MINOR", "Bb minor"), ("A- minor", "Ab minor"), ("Db", "Db major"),
])
def test_common_spellings_read_as_the_canonical_name(typed: str, canonical: str) -> None:
    assert canonical_key(typed) == canonical
    assert canonical_key(canonical) == canonical


@pytest.mark.parametrize("typed", ["", "H major", "C# dorian", "C-major", "Cmm", "minor", "C##"])
def test_other_names_are_refused_with_the_accepted_spellings(typed: str) -> None:
    with pytest.raises(ValueError, match=r'^key must be a tonic A\.\.G .*"Cm", "F#m", "Bb minor", "A min"; got'):
        canonical_key(typed)


def test_pitch_classes_and_house_spelling() -> None:
    assert parse_key("F#m") == (6, "minor") and parse_key("Gb major") == (6, "major")
    assert parse_key("A- minor") == (8, "minor") and parse_key("cb") == (11, "major")
    assert key_name(6, "minor") == "F# minor" and transpose_key("bbm", 2) == "C minor"
