"""Reading chords from notes (models/harmony/detect.py): template labels of real voicings, a
keys clip read as its progression, and chord clips told from tunes."""

from __future__ import annotations

from models.harmony.detect import beat_labels, is_chord_clip, label, progression
from models.harmony.symbols import parse
from models.representation import Note, Part
from tests.models.music import chorale, in_quarters, melody


def block(chords: list[tuple[list[int], float, float]], length: float, ts: tuple[int, int] = (4, 4)) -> Part:
    notes = tuple(Note(p, start, dur, 80) for pitches, start, dur in chords for p in pitches)
    return Part(notes, length, ts, 100.0, None, "Keys", "chords")


def test_labels_of_plain_voicings() -> None:
    assert label({0: 1, 4: 1, 7: 1}, 0) == parse("C")
    assert label({9: 1, 0: 1, 4: 1}, 0) == parse("Am/C")
    assert label({7: 1, 11: 1, 2: 1, 5: 1}, 7) == parse("G7")
    assert label({11: 1, 2: 1, 5: 1, 9: 1}, 11) == parse("Bm7b5")
    assert label({}, None) is None


def test_a_keys_clip_reads_as_its_progression() -> None:
    keys = block([([57, 60, 64], 0, 4), ([57, 60, 65], 4, 4), ([55, 60, 64], 8, 4), ([55, 59, 62], 12, 4)], 16.0)
    spans = progression(keys)
    assert [(s.start, s.end, s.chord.symbol) for s in spans] == [
        (0, 4, "Am"), (4, 8, "F"), (8, 12, "C"), (12, 16.0, "G")]
    assert is_chord_clip(keys)
    assert not is_chord_clip(melody(in_quarters([60, 62, 64, 65]), 4.0))


def test_bach_labels_are_mostly_triads_and_sevenths_of_the_key() -> None:
    piece = chorale("bwv66.6.mxl")
    labels = [c for c in beat_labels([p for _, p in piece.tracks], piece.first.length) if c is not None]
    assert len(labels) > 30
    f_sharp_minor = {6, 8, 9, 11, 1, 2, 4, 5}  # natural minor and the leading tone
    inside = sum(c.pitch_classes <= f_sharp_minor for c in labels)
    assert inside / len(labels) > 0.75
    assert labels[-1].root in (6, 1)  # closes on the tonic or (a half close) on the dominant


def test_a_keys_clip_held_past_the_bar_line_reads_as_played() -> None:
    chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]  # Am F C G
    for held in (0.02, 0.25, 0.5):  # released late, as a keys player changes chords legato
        notes = tuple(Note(p, 4.0 * bar, 4.0 + held, 80) for bar, chord in enumerate(chords) for p in chord)
        spans = progression(Part(notes, 16.0, (4, 4), 100.0, kind="chords"))
        assert [(s.start, s.chord) for s in spans] == [(4.0 * i, parse(s)) for i, s in enumerate(("Am", "F", "C", "G"))]
    # a chord struck before the bar line and held through it is the next bar's (an anticipation)
    notes = tuple(Note(p, 0.0, 3.5, 80) for p in chords[0]) + tuple(Note(p, 3.5, 4.5, 80) for p in chords[1])
    assert [s.chord for s in progression(Part(notes, 8.0, (4, 4), 100.0, kind="chords"))] == [parse("Am"), parse("F")]
