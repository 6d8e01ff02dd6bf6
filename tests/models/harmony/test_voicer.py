"""The plan's voicers (models/harmony/voicer.py): block chords of 3-4 notes in every metre,
changing with the harmony and voice-led; a bass of roots and approach notes that ends on the
tonic; four-part voices in range without parallels."""

from __future__ import annotations

import itertools

import pytest

from models.harmony import plan, voicer
from models.harmony.detect import ChordSpan
from models.harmony.symbols import parse
from tests.models.music import in_quarters, melody

METRES = [(4, 4), (3, 4), (2, 4), (6, 8), (9, 8), (12, 8), (2, 2), (3, 2), (4, 2), (5, 4)]


def progression(symbols: list[str], bar: float) -> list[ChordSpan]:
    return [ChordSpan(i * bar, (i + 1) * bar, parse(s)) for i, s in enumerate(symbols)]


@pytest.mark.parametrize("ts", METRES)
def test_block_chords_fill_every_metre_with_three_or_four_notes(ts: tuple[int, int]) -> None:
    bar = ts[0] * 4 / ts[1]
    chords = progression(["Am", "F", "C", "G", "Am", "Dm7", "E7", "Am"], bar)
    part = voicer.block_chords(chords, None, 8 * bar, ts, 100.0, "A minor")
    onsets: dict[float, list[int]] = {}
    for n in part.notes:
        onsets.setdefault(n.start, []).append(n.pitch)
    assert sorted(onsets) == [i * bar for i in range(8)]  # one chord a bar, the whole clip long
    assert max(n.end for n in part.notes) == 8 * bar
    for (_, pitches), span in zip(sorted(onsets.items()), chords, strict=True):
        assert 3 <= len(pitches) <= 4 and max(pitches) - min(pitches) <= 12
        assert {p % 12 for p in pitches} <= span.chord.pitch_classes
        assert all(voicer.PAD[0] <= p <= voicer.PAD[1] for p in pitches)


def test_block_chords_are_voice_led() -> None:
    chords = progression(["C", "Am", "F", "G", "C"], 4.0)
    part = voicer.block_chords(chords, None, 20.0, (4, 4), 100.0, "C major")
    blocks = [sorted(p for p in (n.pitch for n in part.notes if n.start == t)) for t in (0, 4, 8, 12, 16)]
    for a, b in itertools.pairwise(blocks):
        assert sum(abs(x - y) for x, y in zip(a, b, strict=False)) <= 6, (a, b)  # nearest voicing
        assert set(a) & set(b) or a[0] % 12 == 7 or b[0] % 12 == 7, (a, b)  # common tones held


def test_block_chords_stay_under_the_melody() -> None:
    tune = melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 72]), 12.0)
    chords = progression(["C", "G7", "C"], 4.0)
    part = voicer.block_chords(chords, tune, 12.0, (4, 4), 100.0, "C major")
    for n in part.notes:
        above = [m.pitch for m in tune.notes if m.start < n.end and m.end > n.start]
        assert n.pitch < min(above)


def test_bass_line_walks_into_each_chord_and_ends_on_the_tonic() -> None:
    chords = progression(["C", "Am", "F", "G", "C"], 4.0)
    part = voicer.bass_line(chords, 20.0, (4, 4), 100.0, "C major", frozenset({0, 2, 4, 5, 7, 9, 11}))
    on_changes = [n.pitch % 12 for n in part.notes if n.start % 4 == 0]
    assert on_changes == [0, 9, 5, 7, 0]
    assert part.notes[-1].pitch % 12 == 0 and part.notes[-1].end == 20.0
    approaches = [n for n in part.notes if n.start % 4 == 3]
    assert approaches, "a note leads into the next chord"
    assert all(n.pitch >= 28 for n in part.notes)


def test_chorale_voices_stay_in_range_without_parallels() -> None:
    tune = melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 72]), 12.0)
    chords = plan.spans([parse(s) for s in ["C", "G", "C", "F", "C", "F", "C", "G", "Am", "G", "C", "C"]],
                        1.0, 12.0)
    parts = voicer.chorale(tune, chords, 1.0)
    grids = {"s": [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 72]}
    for role, part in parts.items():
        low, high = voicer.SATB[role]
        assert all(low <= n.pitch <= high for n in part.notes), role
        grid = [next(n.pitch for n in part.notes if n.start <= t < n.end) for t in range(12)]
        grids[role] = grid
    for a, b in itertools.combinations(grids.values(), 2):
        for t in range(11):
            assert not voicer._parallel(a[t], a[t + 1], b[t], b[t + 1]), t
    assert grids["bass"][-1] % 12 == 0  # root position at the close


def test_chorale_variants_voice_the_same_chords_another_way() -> None:
    tune = melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 72]), 12.0)
    chords = plan.spans([parse(s) for s in ["C", "G", "C", "F", "C", "F", "C", "G", "Am", "G", "C", "C"]],
                        1.0, 12.0)

    def classes(parts: dict) -> list[set[int]]:
        return [{n.pitch % 12 for p in (tune, *parts.values()) for n in p.notes if n.start <= t < n.end}
                for t in range(12)]

    settings = [voicer.chorale(tune, chords, 1.0, variant=v) for v in range(voicer.OPENINGS)]
    for parts in settings:  # each beat: the chord's root and third, nothing outside chord and tune
        for t, heard in enumerate(classes(parts)):
            chord = plan.chord_at(chords, t)
            assert chord is not None and set(chord.tones[:2]) <= heard <= chord.pitch_classes | {tune.notes[t].pitch % 12}
    assert len({tuple(p.notes for p in parts.values()) for parts in settings}) > 1
    for parts in settings:
        for role, part in parts.items():
            assert all(voicer.SATB[role][0] <= n.pitch <= voicer.SATB[role][1] for n in part.notes), role
        assert next(n for n in parts["bass"].notes if n.end >= 12.0).pitch % 12 == 0


def test_bass_line_passes_through_an_inversion() -> None:
    chords = progression(["C", "G", "Am", "F"], 4.0)
    part = voicer.bass_line(chords, 16.0, (4, 4), 100.0, "C major", frozenset({0, 2, 4, 5, 7, 9, 11}), variant=5)
    assert [n.pitch % 12 for n in part.notes if n.start % 4 == 0] == [0, 11, 9, 5]  # C - G/B - Am - F


def test_a_long_bass_line_keeps_its_register() -> None:
    chords = progression(["C", "Dm7", "G7", "C", "F", "G", "Am", "Em", "F", "G7", "C", "Dm", "Em", "F", "G", "C"], 2.0)
    part = voicer.bass_line(chords, 32.0, (4, 4), 100.0, "C major", frozenset({0, 2, 4, 5, 7, 9, 11}))
    pitches = [n.pitch for n in part.notes]
    assert max(pitches) - min(pitches) <= 14 and part.notes[-1].pitch == part.notes[0].pitch


def test_chorale_triads_keep_their_fifth() -> None:
    """A triad sounds whole where a voicing has room for it (the harmony is judged by the pitch
    classes sounding): G to C under E, from G/B/D/G, takes a G rather than a third C."""
    g_chord = (62, 59, 50, 43)  # soprano, alto, tenor, bass
    alto, tenor, bass = voicer._best_voicing(64, parse("C"), g_chord, False, voicer.SATB)
    assert {64 % 12, alto % 12, tenor % 12, bass % 12} == parse("C").pitch_classes
    pitches = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 67]
    symbols = ["C", "F", "G", "Am", "G", "C", "G", "F", "C", "D", "G", "G"]
    tune = melody(in_quarters(pitches), 12.0)
    parts = voicer.chorale(tune, plan.spans([parse(s) for s in symbols], 1.0, 12.0), 1.0)
    for t, symbol in enumerate(symbols):
        sounding = {pitches[t] % 12} | {n.pitch % 12 for p in parts.values() for n in p.notes if n.start <= t < n.end}
        assert sounding == parse(symbol).pitch_classes, (t, symbol)
