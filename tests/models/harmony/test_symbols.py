"""Chord symbols (models/harmony/symbols.py): parsing, spelling, pitch classes and the errors
that name the symbol and what is accepted."""

from __future__ import annotations

import pytest

from models.harmony.symbols import QUALITIES, Chord, parse


@pytest.mark.parametrize(("symbol", "tones", "bass"), [
    ("C", (0, 4, 7), 0),
    ("Am", (9, 0, 4), 9),
    ("F/A", (5, 9, 0), 9),
    ("G7", (7, 11, 2, 5), 7),
    ("Bbmaj7", (10, 2, 5, 9), 10),
    ("C#m7b5", (1, 4, 7, 11), 1),
    ("Bø7", (11, 2, 5, 9), 11),
    ("Ddim", (2, 5, 8), 2),
    ("G#dim7", (8, 11, 2, 5), 8),
    ("Eaug", (4, 8, 0), 4),
    ("Dsus4", (2, 7, 9), 2),
    ("Gsus2", (7, 9, 2), 7),
    ("F6", (5, 9, 0, 2), 5),
    ("E7/G#", (4, 8, 11, 2), 8),
    ("Ebm", (3, 6, 10), 3),
])
def test_parse_gives_tones_and_bass(symbol: str, tones: tuple[int, ...], bass: int) -> None:
    chord = parse(symbol)
    assert chord.tones == tones
    assert chord.bass_pc == bass
    assert chord.pitch_classes == frozenset(tones)


@pytest.mark.parametrize("symbol", ["C", "Am", "F/A", "G7", "Bbmaj7", "C#m7b5", "F#m", "E7/G#", "Dsus4", "Ebdim7"])
def test_format_round_trips(symbol: str) -> None:
    assert parse(symbol).symbol == symbol
    assert parse(parse(symbol).symbol) == parse(symbol)


def test_every_quality_round_trips_on_every_root() -> None:
    for quality in QUALITIES:
        for root in range(12):
            chord = Chord(root, quality)
            assert parse(chord.symbol) == chord


@pytest.mark.parametrize("symbol", ["H", "Cmaj9", "Am/X", "", "m", "C/", "c"])
def test_errors_name_the_symbol_and_what_is_accepted(symbol: str) -> None:
    with pytest.raises(ValueError) as err:
        parse(symbol)
    text = str(err.value)
    assert "a root A-G" in text and "m7b5" in text and "/BASS" in text
    if symbol:
        assert repr(symbol) in text


def test_slash_of_the_root_is_root_position() -> None:
    assert parse("C/C") == parse("C")
    assert parse("Am/C").transposed(2) == parse("Bm/D")
