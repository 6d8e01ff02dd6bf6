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


def test_key_scores_are_the_correlations_with_each_rotated_profile() -> None:
    """The 24 scores in one product are Pearson's r of the duration-weighted pitch-class
    histogram with each key's profile, as np.corrcoef gives it; a melody is read in its key."""
    import numpy as np

    from models.keys import _KK_MAJOR, _KK_MINOR, estimate_key, key_scores
    from models.representation import Note

    rng = np.random.default_rng(3)
    for _ in range(20):
        notes = [Note(int(rng.integers(48, 84)), 0.0, float(rng.choice([0.5, 1.0, 2.0]))) for _ in range(12)]
        hist = np.zeros(12)
        for note in notes:
            hist[note.pitch % 12] += note.duration
        expected = [[np.corrcoef(hist, np.roll(profile, tonic))[0, 1] for tonic in range(12)]
                    for profile in (_KK_MAJOR, _KK_MINOR)]
        assert np.allclose(key_scores(notes), expected, atol=1e-12)
    scale = [Note(p, 0.0, 2.0 if p in (62, 69) else 1.0) for p in (62, 64, 65, 67, 69, 70, 72, 74)]
    assert estimate_key(scale) == "D minor"
    assert not key_scores([]).any() and not key_scores([Note(60 + i, 0.0, 1.0) for i in range(12)]).any()
