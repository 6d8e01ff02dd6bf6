"""The drum-op evaluation's measures (models/eval/ops.py) on hand-made grooves: where a
hit belongs, onset F1, the two continuation baselines, the style's typical bar, fill density
and the real-fill figures."""

from __future__ import annotations

import pytest

from models.eval.ops import crop, f1, onsets, real_fills, recurring, typical_bars, windows
from models.representation import Note, Part, Piece

KICK, SNARE, HAT, TOM = 36, 38, 42, 45


def drums(hits: list[tuple[float, int]], bars: int, tempo: float = 100.0) -> Part:
    notes = tuple(Note(pitch, start, 0.25, 90) for start, pitch in sorted(hits))
    return Part(notes, 4.0 * bars, (4, 4), tempo, None, "drums", "drums")


def backbeat(bars: int) -> list[tuple[float, int]]:
    return [(4.0 * b + beat, pitch) for b in range(bars) for beat, pitch in ((0, KICK), (1, SNARE), (2, KICK), (3, SNARE))]


def piece(part: Part, style: str, beat_type: str = "beat", session: str = "s1", split: str = "train") -> Piece:
    return Piece((("drums", part),), style, f"test:{style}", split, {"beat_type": beat_type, "session": session})


def test_a_hit_belongs_to_the_bar_it_snaps_into() -> None:
    early_downbeat = drums([(3.98, KICK), (1.0, SNARE)], 2)
    assert onsets(crop(early_downbeat, 4, 8), [KICK]) == {(0, KICK)}
    assert onsets(crop(early_downbeat, 0, 4)) == {(12, SNARE)}


def test_f1_counts_shared_hits() -> None:
    assert f1({(0, KICK), (12, SNARE)}, {(0, KICK), (24, SNARE)}) == pytest.approx(0.5)
    assert f1(set(), set()) == 1.0 and f1({(0, KICK)}, set()) == 0.0


def test_recurring_keeps_hits_of_at_least_two_of_four_bars() -> None:
    hits = backbeat(4) + [(4.0 * 3 + 3.5, SNARE)]  # a one-off ghost in the last bar
    assert recurring(drums(hits, 4)) == {(0, KICK), (12, SNARE), (24, KICK), (36, SNARE)}


def test_typical_bar_is_what_half_the_style_bars_hold() -> None:
    steady = piece(drums(backbeat(4), 4), "rock")
    sparse = piece(drums([(0.0, KICK), (4.0, KICK), (9.0, SNARE)], 3), "rock")
    other = piece(drums([(0.5, KICK)], 1), "funk")
    fill = piece(drums([(0.0, TOM)], 1), "funk", beat_type="fill")
    typical = typical_bars([steady, sparse, other, fill])
    # rock: 7 bars; the downbeat kick is in 6, the backbeat snares in 4 (>= 3.5), beat 3 in 4
    assert typical["rock"] == {(0, KICK), (12, SNARE), (24, KICK), (36, SNARE)}
    assert typical["funk"] == {(6, KICK)}


def test_windows_take_four_bars_and_the_next() -> None:
    long = piece(drums(backbeat(9), 9), "rock", split="valid")
    [(context, target, style)] = windows([long], limit=1)
    assert style == "rock" and context.length == 16 and target.length == 4
    assert onsets(target) == {(0, KICK), (12, SNARE), (24, KICK), (36, SNARE)}


def test_real_fills_compare_density_with_the_same_session_beats() -> None:
    beat = piece(drums(backbeat(2), 2), "rock", split="valid")  # 1 hit per beat
    fill = piece(drums([(b * 0.5, TOM) for b in range(8)] + [(0.0, KICK)], 1), "rock", "fill", split="valid")
    figures = real_fills([beat, fill])
    assert figures["fills"] == 1 and figures["density_ratio"] == pytest.approx(9 / 4)
    assert figures["toms_crash_share"] == pytest.approx(8 / 9, abs=1e-4)  # rounded for the table
