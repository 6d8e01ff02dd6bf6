"""Harmonize through the engine's interface (models/ops/harmonize.py, models/composer.py) with a
tiny randomly initialised model and the shipped chord planner: whatever the model's weights,
every output clip has the melody's length, metre and bars, stays on the grid and inside the
clip, keeps monophonic voices monophonic and in range (moved by the melody's octave shift),
honours key lock and pitch_range, and seeded runs are reproducible while candidates differ."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.decoding.decoding import Sampler, decode
from models.eval.harmonize import SATB
from models.harmony import plan
from models.harmony.detect import ChordSpan
from models.harmony.symbols import Chord
from models.interface import Cancelled, load_composer
from models.net import vocab as V
from models.net.tokenizer import decode as decode_tokens
from models.ops.harmonize import (
    OUTPUT_NAMES,
    OUTSIDE_SATB,
    STYLE_ROLES,
    closing_triad,
    detect_pickup,
    final_cadence,
    octave_shift,
    plan_harmony,
    plan_text,
)
from models.representation import Part
from models.tasks import HarmonizeTask, Sampling
from tests.models.music import bars_of, chorale_soprano, in_quarters, lanes_of, melody

EPS = 1e-6
GRID = {0, 3, 4, 6, 8, 9}
STYLES = ("chorale", "chords", "bass")
SCALES = {"C major": {0, 2, 4, 5, 7, 9, 11}, "A minor": {9, 11, 0, 2, 4, 5, 7, 8}}  # minor: + leading tone


def melodies() -> dict[str, Part]:
    return {
        "c_major": melody(in_quarters([72, 74, 76, 77, 79, 77, 76, 74]), 8.0),
        "a_minor": melody(in_quarters([69, 71, 72, 74, 76, 74, 72, 71, 69, 68, 69, 69]), 12.0, key="A minor"),
        "pickup": melody([(67, 3, 1)] + in_quarters([72, 74, 76, 77], 4) + [(79, 8, 2), (77, 10, 1), (76, 11, 1)], 12.0),
        "three_four": melody([(72, 0, 2), (74, 2, 1), (76, 3, 1), (77, 4, 1), (79, 5, 1), (76, 6, 3)], 9.0, (3, 4)),
        "six_eight": melody([(72, 0, 1.5), (74, 1.5, 0.5), (76, 2, 1), (77, 3, 1.5), (79, 4.5, 1.5), (76, 6, 3)],
                            9.0, (6, 8)),
        "tied": melody([(72, 0, 1), (74, 1, 1), (76, 2, 2.5), (77, 4.5, 1.5), (79, 6, 6), (77, 12, 4)], 16.0),
        "rests": melody([(72, 0, 1), (76, 1, 1), (79, 2, 2), (77, 8, 1), (76, 9, 1), (74, 10, 2)], 16.0),
        "far_above": melody(in_quarters([91, 93, 95, 96, 98, 96, 95, 93]), 8.0),
        "far_below": melody(in_quarters([43, 45, 47, 48, 50, 48, 47, 45]), 8.0),
        "humanized_short_bar": melody([(72, 0.02, 0.95), (71, 0.98, 1.03), (72, 2.01, 1.9), (74, 4.03, 0.97),
                                       (76, 4.99, 2.2), (74, 8.02, 1.5)], 10.0),
        "bwv66.6": chorale_soprano("bwv66.6.mxl", 4),  # F# minor, pickup of three beats
        "bwv269": chorale_soprano("bwv269.mxl", 3),  # 3/4, pickup of two beats
    }


MELODIES = melodies()


def sounding_bars(part: Part) -> set[int]:
    bar = part.beats_per_bar
    return {b for n in part.notes for b in range(part.bars) if n.start < (b + 1) * bar - EPS and n.end > b * bar + EPS}


def check_clips(m: Part, parts: list[Part], style: str, pitch_range: tuple[int, int] | None = None) -> None:
    roles = STYLE_ROLES[style]
    shift = octave_shift(m)
    ranges = CHORALE_RANGES if style == "chorale" else VOICE_RANGES
    assert [p.name for p in parts] == [f"{OUTPUT_NAMES[r]} ({style})" for r in roles]
    melody_bars = sounding_bars(m)
    for role, part in zip(roles, parts, strict=True):
        where = f"{style}/{role}"
        assert (part.length, part.time_signature, part.bars) == (m.length, m.time_signature, m.bars), where
        lo, hi = (pitch_range if pitch_range is not None else
                  (ranges[role][0] - shift, ranges[role][1] - shift))
        for n in part.notes:
            assert 0 <= n.start and n.duration > 0 and n.end <= m.length + EPS, f"{where}: {n} leaves the clip"
            ticks = n.start * V.TICKS_PER_BEAT
            assert abs(ticks - round(ticks)) < EPS and round(ticks) % 12 in GRID, f"{where}: {n} is off the grid"
            assert lo <= n.pitch <= hi, f"{where}: {n} outside {lo}..{hi}"
            assert 1 <= n.velocity <= 127
        if role in V.MONOPHONIC_ROLES:
            notes = sorted(part.notes, key=lambda n: n.start)
            for a, b in zip(notes, notes[1:], strict=False):
                assert b.start >= a.end - EPS, f"{where}: {a} and {b} overlap in a monophonic voice"
        assert melody_bars <= sounding_bars(part), f"{where}: silent in a bar where the melody sounds"


def run(composer, m: Part, style: str, *, candidates: int = 1, temperature: float = 1.0, seed: int = 0,
        key: str | None = None, pitch_range: tuple[int, int] | None = None) -> list[list[Part]]:
    task = HarmonizeTask(m, style, key, pitch_range, Sampling(candidates, temperature, seed))
    return composer.run(task)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", list(MELODIES))
def test_every_clip_keeps_the_constraints(composer, name: str, style: str) -> None:
    m = MELODIES[name]
    results = run(composer, m, style, candidates=2, seed=11)
    assert len(results) == 2
    for parts in results:
        check_clips(m, parts, style)
        assert all(p.key == (m.key or parts[0].key) for p in parts)


@pytest.mark.parametrize("name", ["pickup", "six_eight", "tied", "rests", "humanized_short_bar"])
def test_tokens_follow_the_grammar_with_exactly_the_melody_bars(composer, name: str) -> None:
    style = "chorale"  # the chord part and the bass line are voiced from the plan, not decoded
    m = MELODIES[name]
    setup = plan_harmony(m, style, None, None)
    tokens = decode(composer.model, setup.plan, 2, Sampler(seed=5))
    for row in tokens:
        bars = bars_of(row)
        assert len(bars) == m.bars
        for bar in bars:
            assert list(bar) == ["melody", *[r for r in V.ROLE_ORDER if r in STYLE_ROLES[style]]]
        melody_back = decode_tokens(row, m.length)[1]["melody"]
        assert [n.pitch - setup.octave_shift for n in melody_back.notes] == [n.pitch for n in m.notes]


def test_every_bar_the_model_voices_leads_with_the_plans_chord_lane(composer) -> None:
    m = MELODIES["c_major"]
    chords = ((0.0, "C"), (2.0, "Am"), (4.0, "F/A"), (6.0, "G7"), (7.0, "Csus4"))
    setup = plan_harmony(m, "chorale", None, None, chords=chords)
    row = decode(composer.model, setup.plan, 1, Sampler(seed=1))[0]
    assert lanes_of(row) == [[(0, "CHORD_C_maj"), (24, "CHORD_A_m")],
                             [(0, "CHORD_F_maj+SLASH_A"), (24, "CHORD_G_7"), (36, "CHORD_C_maj")]]
    assert len(bars_of(row)) == m.bars


def test_the_models_chorale_voices_lean_away_from_pitches_outside_satb() -> None:
    m = MELODIES["c_major"]
    setup = plan_harmony(m, "chorale", None, None, chords=((0.0, "C"), (4.0, "F"), (6.0, "G7")))
    spans = [seg.generate for seg in setup.plan.segments if seg.generate is not None]
    assert {c.role for c in spans} == {"alto", "tenor", "bass"}
    for c in spans:
        low, high = SATB[c.role]
        outside = {p for p in c.pitches if not low <= p <= high}
        assert outside, f"the {c.role}'s chorale range reaches past SATB"
        assert dict(c.emphasis) == dict.fromkeys(outside, OUTSIDE_SATB)
        assert OUTSIDE_SATB < 0


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name, key", [("c_major", "C major"), ("a_minor", "A minor"), ("far_above", "C major"),
                                       ("six_eight", "C major"), ("pickup", "C major")])
def test_key_lock_keeps_every_pitch_in_the_scale(composer, name: str, key: str, style: str) -> None:
    m = MELODIES[name]
    for parts in run(composer, m, style, candidates=3, seed=3, key=key, temperature=1.5):  # 3: another plan
        check_clips(m, parts, style)
        outside = [n for p in parts for n in p.notes if n.pitch % 12 not in SCALES[key]]
        assert not outside, f"{key} lock broken by {outside}"
        assert all(p.key == key for p in parts)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name, pitch_range", [("c_major", (55, 67)), ("three_four", (40, 52)),
                                               ("far_above", (70, 90)), ("far_below", (30, 45))])
def test_pitch_range_is_honoured(composer, name: str, pitch_range: tuple[int, int], style: str) -> None:
    m = MELODIES[name]
    for parts in run(composer, m, style, candidates=2, seed=4, pitch_range=pitch_range):
        check_clips(m, parts, style, pitch_range)
        assert sum(len(p.notes) for p in parts) > 0


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name, shift", [("far_above", -24), ("far_below", 24), ("c_major", 0)])
def test_far_melodies_are_moved_by_octaves_and_back(composer, name: str, shift: int, style: str) -> None:
    m = MELODIES[name]
    assert octave_shift(m) == shift
    lowest = min(n.pitch for n in m.notes)
    for parts in run(composer, m, style, candidates=2, seed=6):
        check_clips(m, parts, style)  # ranges moved by the same octaves
        for role, part in zip(STYLE_ROLES[style], parts, strict=True):
            if role == "bass":
                assert all(n.pitch < lowest for n in part.notes), "the bass sits below the melody"


def test_octave_shift_leaves_a_melody_in_the_soprano_range_alone() -> None:
    for pitches, shift in [([72, 74, 76, 77, 79, 77, 76, 79], 0), ([59, 60, 62, 60], 0), ([79, 81, 79, 81], 0),
                           ([82, 84, 86, 84], -12), ([55, 57, 58, 57], 12), ([31, 33, 35, 33], 36)]:
        assert octave_shift(melody(in_quarters(pitches), 4.0)) == shift, pitches


@pytest.mark.parametrize("style", STYLES)
def test_seeded_runs_are_reproducible(composer, tiny_weights: Path, style: str) -> None:
    m = MELODIES["pickup"]
    first = run(composer, m, style, seed=42, candidates=2)
    again = run(load_composer(tiny_weights, "cpu"), m, style, seed=42, candidates=2)
    assert [[p.notes for p in c] for c in first] == [[p.notes for p in c] for c in again]
    if style == "chorale":  # the plan's chords first, then the model's voices, drawn by the seed
        other = run(composer, m, style, seed=43, candidates=2)
        assert first[0][0].extra["chords"] == other[0][0].extra["chords"]
        assert [p.notes for p in first[1]] != [p.notes for p in other[1]]


@pytest.mark.parametrize("style", STYLES)
def test_the_seed_picks_the_voicing_of_a_single_candidate(composer, style: str) -> None:
    """One candidate voiced from the plan: the same chords whatever the seed, voiced another
    way for another seed; seed 0 is the plain setting, the first of two candidates."""
    m = MELODIES["bwv66.6"]
    found = [run(composer, m, style, seed=seed)[0] for seed in range(4)]
    assert len({parts[0].extra["chords"] for parts in found}) == 1
    assert len({tuple(p.notes for p in parts) for parts in found}) > 1
    for parts in found:
        check_clips(m, parts, style)
    assert [p.notes for p in found[0]] == [p.notes for p in run(composer, m, style, seed=0, candidates=2)[0]]
    assert [p.notes for p in found[3]] == [p.notes for p in run(composer, m, style, seed=3)[0]]


@pytest.mark.parametrize("style", STYLES)
def test_four_candidates_are_four_distinct_results(composer, style: str) -> None:
    m = MELODIES["a_minor"]
    results = run(composer, m, style, candidates=4, seed=8)
    assert len(results) == 4
    assert len({tuple(p.notes for p in parts) for parts in results}) == 4
    for parts in results:
        check_clips(m, parts, style)
    assert [p.notes for p in results[0]] == [p.notes for p in run(composer, m, style, candidates=4, seed=8)[0]]


def test_temperature_changes_the_model_voices(composer) -> None:
    m = MELODIES["c_major"]
    cool = run(composer, m, "chorale", seed=9, temperature=0.2, candidates=2)
    hot = run(composer, m, "chorale", seed=9, temperature=2.0, candidates=2)
    assert [p.notes for p in cool[1]] != [p.notes for p in hot[1]]


def test_outputs_sit_in_the_melody_key_with_a_quieter_velocity(composer) -> None:
    m = MELODIES["bwv66.6"]
    parts = run(composer, m, "chorale")[0]
    assert {p.key for p in parts} == {"F# minor"}
    assert {n.velocity for p in parts for n in p.notes} == {96 - 8}
    assert [p.kind for p in parts] == ["bass", "other", "other"]


@pytest.mark.parametrize("style", ["chorale", "bass"])
@pytest.mark.parametrize("seed", range(3))
def test_a_melody_ending_on_the_tonic_chord_closes_on_the_tonic_in_the_bass(composer, style: str, seed: int) -> None:
    """Even the random model ends in root position: the cadence is a constraint."""
    for m, tonic in ((MELODIES["c_major"], 0), (MELODIES["a_minor"], 9), (MELODIES["tied"], 0)):
        closing = m.notes[-1]
        ends_on_tonic_chord = (closing.pitch - tonic) % 12 in (0, 3, 4, 7)
        parts = run(composer, m, style, seed=seed)[0]
        bass = parts[STYLE_ROLES[style].index("bass")]
        under = [n.pitch for n in bass.notes if n.start <= closing.start + EPS < n.end]
        if ends_on_tonic_chord:
            assert under and under[0] % 12 == tonic, (style, m.notes[-1], bass.notes[-3:])
    assert final_cadence([(0, 12, 74)], "C major", frozenset({36, 48})) is None  # ends on D: an open close
    assert final_cadence([(0, 12, 76), (12, 24, 72)], "C major", frozenset({36, 41, 48})) == (12, frozenset({36, 48}))


@pytest.mark.parametrize("seed", range(3))
def test_the_models_chorale_voices_close_on_the_whole_tonic_triad_and_hold_it(composer, seed: int) -> None:
    """Candidate 2 (the model's own voices) under an authentic close: every voice strikes a tone
    of the tonic triad with the melody's last note and holds it, the third among them (the random
    model too)."""
    closes = melody(in_quarters([72, 74, 76, 77, 79, 77, 74, 72]), 8.0, key="C major")
    long_close = melody([(76, 0, 1), (74, 1, 1), (72, 2, 1), (71, 3, 1), (72, 4, 4)], 8.0, key="C major")
    for m, tonic in ((closes, 0), (MELODIES["a_minor"], 9), (long_close, 0)):
        closing = max(m.notes, key=lambda n: n.start)
        parts = run(composer, m, "chorale", candidates=2, seed=seed)[1]
        for p in parts:
            tail = [n for n in p.notes if n.end > closing.start + EPS]
            assert len(tail) == 1 and abs(tail[0].start - closing.start) < EPS, (p.name, tail)
            assert tail[0].end >= m.length - EPS, (p.name, tail)
        steps = {(n.pitch - tonic) % 12 for p in (m, *parts) for n in p.notes if n.start <= closing.start + EPS < n.end}
        thirds = steps & {3, 4}
        assert len(thirds) == 1 and steps - thirds <= {0, 7}, steps  # root, fifth and one third: the whole triad


def test_the_upper_voices_are_asked_for_the_closing_third_and_the_bass_for_the_root() -> None:
    m = melody(in_quarters([72, 74, 76, 77, 79, 77, 74, 72]), 8.0, key="C major")
    setup = plan_harmony(m, "chorale", None, None, candidates=2, chords=((0.0, "C"), (4.0, "G7"), (7.0, "C")))
    closing = [seg.generate for seg in setup.plan.segments if seg.generate is not None][-3:]
    assert {c.role: (c.cadence is not None and c.cadence[0], c.hold, c.complete) for c in closing} == {
        "bass": (7 * 12, True, frozenset()), "tenor": (7 * 12, True, frozenset({4})), "alto": (7 * 12, True, frozenset({4}))}
    assert {p % 12 for p in next(c for c in closing if c.role == "bass").cadence[1]} == {0}


def test_the_closing_triad_takes_its_third_from_the_melody_then_the_plan_then_the_key() -> None:
    major, minor = Chord(9, ""), Chord(9, "m")
    assert closing_triad([(0, 12, 76), (12, 24, 72)], "C major", []) == (12, frozenset({0, 4, 7}), 4)
    assert closing_triad([(0, 12, 69)], "A minor", []) == (0, frozenset({9, 0, 4}), 0)  # the key's third
    assert closing_triad([(0, 12, 69)], "A minor", [ChordSpan(0, 1, major)]) == (0, frozenset({9, 1, 4}), 1)  # Picardy
    assert closing_triad([(0, 12, 69)], "A minor", [ChordSpan(0, 1, minor)]) == (0, frozenset({9, 0, 4}), 0)
    assert closing_triad([(0, 12, 73)], "A minor", [ChordSpan(0, 1, minor)]) == (0, frozenset({9, 1, 4}), 1)  # melody's C#
    assert closing_triad([(0, 12, 74)], "C major", []) is None  # ends on D: an open close


def test_one_chorale_candidate_is_voiced_from_the_plan_without_decoding(composer) -> None:
    m = MELODIES["bwv66.6"]
    one = plan_harmony(m, "chorale", None, None, candidates=1)
    assert one.direct is not None and all(seg.generate is None for seg in one.plan.segments)
    assert [p.notes for p in run(composer, m, "chorale")[0]] == [p.notes for p in run(composer, m, "chorale", candidates=2)[0]]


def test_bad_requests_are_value_errors(composer) -> None:
    with pytest.raises(ValueError, match="clip.notes"):
        run(composer, melody([], 8.0), "chorale")
    with pytest.raises(ValueError, match="style must be one of"):
        run(composer, MELODIES["c_major"], "jazz")


def test_a_pitch_range_out_of_reach_of_the_melody_says_so(composer) -> None:
    with pytest.raises(ValueError, match="pitch_range 0..10 leaves no pitch for the bass of a melody this high"):
        run(composer, MELODIES["far_above"], "chorale", pitch_range=(0, 10))
    with pytest.raises(ValueError, match="MIDI 0..127 leaves no pitch"):
        run(composer, melody(in_quarters([0, 2, 0, 2]), 4.0), "bass")  # moved up 6 octaves


def test_progress_and_cancel(composer) -> None:
    seen: list[float] = []
    run_task = HarmonizeTask(MELODIES["tied"], "chorale", sampling=Sampling(2))  # one is voiced without decoding
    composer.run(run_task, progress=seen.append)
    assert seen and all(0 < f < 1 for f in seen) and seen == sorted(seen)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        composer.run(run_task, should_stop=stop)


@pytest.mark.parametrize("ts", [(4, 2), (3, 2), (2, 2), (6, 8), (9, 8), (12, 8), (5, 4), (3, 4), (2, 4)])
@pytest.mark.parametrize("style", STYLES)
def test_every_metre_gets_parts_the_whole_clip_long(composer, ts: tuple[int, int], style: str) -> None:
    bar = ts[0] * 4 / ts[1]
    length = 4 * bar
    tune = melody([(67 + (i * 5) % 9, i * bar / 4, bar / 4) for i in range(16)], length, ts, key="C major")
    results = run(composer, tune, style, candidates=2)  # a chorale's second candidate is decoded
    parts = results[0]
    for part in parts:
        assert part.notes and max(n.end for n in part.notes) == pytest.approx(length), (ts, part.name)
    for part in (p for candidate in results for p in candidate):
        assert sounding_bars(part) == set(range(4)), (ts, part.name)
    if style == "chords":
        starts = {n.start for n in parts[0].notes}
        assert all(sum(1 for n in parts[0].notes if n.start == t) >= 3 for t in starts)


@pytest.mark.parametrize("style", STYLES)
def test_a_low_melody_keeps_every_voice_above_e1(composer, style: str) -> None:
    cello = melody(in_quarters([46, 50, 53, 55, 53, 50, 48, 46, 43, 46, 50, 46]), 12.0, key="Bb major")
    for parts in run(composer, cello, style, candidates=2):
        assert min(n.pitch for p in parts for n in p.notes) >= 28


def test_a_key_lock_adds_no_clash_and_names_a_melody_outside_it(composer) -> None:
    tune = MELODIES["a_minor"]
    free, locked = (run(composer, tune, "chords", key=k)[0][0] for k in (None, "A minor"))
    for part in (free, locked):
        for n in part.notes:
            top = [m.pitch for m in tune.notes if m.start <= n.start < m.end]
            assert not top or (top[0] - n.pitch) % 12 not in (1, 11), n
    assert "warning" not in locked.extra
    g_major = run(composer, MELODIES["c_major"], "chords", key="G major")[0][0]  # F natural twice
    assert "25% of its length outside G major (F)" in g_major.extra["warning"]


def test_a_drum_clip_is_refused_by_its_kind(composer) -> None:
    drums = Part(melody(in_quarters([36, 38, 36, 38]), 4.0).notes, 4.0, kind="drums")
    with pytest.raises(ValueError, match="clip.kind is drums"):
        run(composer, drums, "chorale")


def test_given_chords_drive_every_style(composer) -> None:
    m = MELODIES["c_major"]
    chords = ((0.0, "C"), (2.0, "Am"), (4.0, "F"), (6.0, "G7"))
    for style in STYLES:
        parts = composer.run(HarmonizeTask(m, style, chords=chords))[0]
        assert parts[0].extra["chords"] == "0:C 2:Am 4:F 6:G7"
        tones = {0: {0, 4, 7}, 1: {9, 0, 4}, 2: {5, 9, 0}, 3: {7, 11, 2, 5}}
        for p in parts:
            on_beats = [n for n in p.notes if n.start % 2 == 0]  # the strong beats of 4/4
            assert all(n.pitch % 12 in tones[int(n.start // 2)] for n in on_beats), (style, p.name)


def test_a_tune_on_its_downbeat_whose_phrases_end_on_beat_three_has_no_pickup() -> None:
    """Ode to Joy's shape: quarters from the downbeat, each phrase closing on a half note on
    beat 3 (a half-bar pickup would put those half notes on bar lines)."""
    phrase = [(64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1),
              (60, 1), (60, 1), (62, 1), (64, 1), (64, 1.5), (62, 0.5), (62, 2)]
    notes, at = [], 0.0
    for pitch, beats in phrase + phrase[:-3] + [(62, 1.5), (60, 0.5), (60, 2)]:
        notes.append((pitch, at, beats))
        at += beats
    assert at == 32.0 and detect_pickup(melody(notes, 32.0)) == 0.0


# --- candidates of other harmonies: the voicer on alternative plans --------------------------------

def plans_of(results: list[list[Part]]) -> list[str]:
    """Each candidate's plan, as all its parts name it."""
    for parts in results:
        assert len({p.extra["chords"] for p in parts}) == 1
    return [parts[0].extra["chords"] for parts in results]


@pytest.mark.parametrize("name", ["bwv66.6", "pickup", "six_eight"])
def test_chorale_candidates_after_the_models_voice_other_plans(composer, name: str) -> None:
    """1: the plan voiced; 2: the model's voices under it; 3 and 4: other plans voiced, each
    changing at least a fifth of the steps against the plan and against each other, without
    decoding."""
    m = MELODIES[name]
    setup = plan_harmony(m, "chorale", None, None, candidates=4, seed=8)
    assert setup.decoded(4) == 1 and len(setup.alternatives) == 2
    step = plan.step_beats(m.time_signature)
    first, second = (alt.chords for alt in setup.alternatives)
    for a, b in ((first, setup.chords), (second, setup.chords), (second, first)):
        assert plan.changed(a, b, step) >= plan.MIN_CHANGE
    results = run(composer, m, "chorale", candidates=4, seed=8)
    plans = plans_of(results)
    assert plans == [plan_text(setup)] * 2 + [plan_text(setup, alt.chords) for alt in setup.alternatives]
    assert len(set(plans)) == 3
    for parts in results:
        check_clips(m, parts, "chorale")


@pytest.mark.parametrize("style", STYLES)
def test_candidate_k_is_the_same_whether_3_or_4_are_asked_for(composer, style: str) -> None:
    m = MELODIES["bwv66.6"]
    three, four = (run(composer, m, style, candidates=n, seed=21) for n in (3, 4))
    assert [[(p.notes, p.extra) for p in c] for c in three] == [[(p.notes, p.extra) for p in c] for c in four[:3]]


@pytest.mark.parametrize("style", ["chords", "bass"])
def test_chord_and_bass_candidates_after_the_first_voice_other_plans(composer, style: str) -> None:
    m = MELODIES["pickup"]
    results = run(composer, m, style, candidates=4, seed=2)
    plans = plans_of(results)
    assert len(set(plans)) == 4
    assert plans[0] == run(composer, m, style, seed=2)[0][0].extra["chords"]  # the first: the plan, as alone
    for parts in results:
        check_clips(m, parts, style)


@pytest.mark.parametrize("style", ["chorale", "bass"])
def test_every_candidate_of_another_plan_closes_on_the_tonic(composer, style: str) -> None:
    for m, tonic in ((MELODIES["a_minor"], 9), (replace(MELODIES["pickup"], key="C major"), 0),
                     (replace(MELODIES["three_four"], key="C major"), 0)):
        closing = m.notes[-1]
        assert (closing.pitch - tonic) % 12 in (0, 3, 4, 7)  # each ends on a note of the tonic chord
        for parts in run(composer, m, style, candidates=4, seed=1)[2:]:
            bass = parts[STYLE_ROLES[style].index("bass")]
            under = [n.pitch for n in bass.notes if n.start <= closing.start + EPS < n.end]
            assert under and under[0] % 12 == tonic, (style, parts[0].extra["chords"])


def test_four_seeded_candidates_are_reproducible_and_batch_as_they_run(composer, tiny_weights: Path) -> None:
    m = MELODIES["pickup"]
    task = HarmonizeTask(m, "chorale", sampling=Sampling(4, 1.0, 13))
    once = composer.run(task)
    again = load_composer(tiny_weights, "cpu").run(task)
    batched = composer.run_many([task, HarmonizeTask(MELODIES["tied"], "chorale", sampling=Sampling(3, 1.0, 2))])[0]
    assert isinstance(batched, list)
    for other in (again, batched):
        assert [[(p.notes, p.extra) for p in c] for c in once] == [[(p.notes, p.extra) for p in c] for c in other]
    other_seed = plans_of(composer.run(HarmonizeTask(m, "chorale", sampling=Sampling(4, 1.0, 14))))
    assert plans_of(once)[:2] == other_seed[:2] and plans_of(once)[2:] != other_seed[2:]


@pytest.mark.parametrize("style", STYLES)
def test_a_fixed_plan_keeps_one_harmony_for_every_candidate(composer, style: str) -> None:
    """Given chords, or a chord clip read as its progression: no other plans; a chorale's
    candidates after the first are the model's voices, the others other voicings (of the plan,
    nothing decoded)."""
    m = MELODIES["c_major"]
    chords = ((0.0, "C"), (2.0, "Am"), (4.0, "F"), (6.0, "G7"))
    setup = plan_harmony(m, style, None, None, chords=chords, candidates=4, seed=3)
    assert setup.alternatives == () and setup.decoded(4) == (3 if style == "chorale" else 0)
    results = composer.run(HarmonizeTask(m, style, chords=chords, sampling=Sampling(4, 1.0, 3)))
    assert plans_of(results) == ["0:C 2:Am 4:F 6:G7"] * 4
    pad = Part(tuple(n for c, at in ((60, 0), (57, 4)) for n in melody([(c, at, 4), (c + 4, at, 4), (c + 7, at, 4)],
                                                                         8.0).notes), 8.0, kind="chords")
    read = plan_harmony(pad, style, None, None, candidates=4, seed=3)
    assert read.alternatives == ()
    assert len(set(plans_of(composer.run(HarmonizeTask(pad, style, sampling=Sampling(4, 1.0, 3)))))) == 1


@pytest.mark.parametrize("style", STYLES)
def test_a_tune_that_leaves_no_other_harmony_gets_other_voicings_of_its_plan(composer, style: str) -> None:
    """Seven steps of G and D that the planner is sure of: no draw changes two of them, so the
    candidates after the plan's are other voicings of it (made without decoding, as they would
    be from other plans). Only the chorale decodes a row (the model's voices); the chord part
    and the bass line are voiced from the plan, every candidate."""
    m = MELODIES["bwv269"]
    setup = plan_harmony(m, style, None, None, candidates=4, seed=0)
    assert setup.decoded(4) == (1 if style == "chorale" else 0)
    assert len(setup.alternatives) == (2 if style == "chorale" else 3)
    assert all(alt.chords == setup.chords for alt in setup.alternatives)
    results = run(composer, m, style, candidates=4, seed=0)
    assert len(set(plans_of(results))) == 1
    assert len({tuple(p.notes for p in parts) for parts in results}) > 1


def test_a_chord_part_ends_on_the_plans_close_where_the_chord_before_covers_as_much() -> None:
    from models.harmony.detect import ChordSpan
    from models.harmony.symbols import parse
    from models.ops.harmonize import at_pace

    tune = melody(in_quarters([72, 69, 72, 72]), 4.0)  # C A C C: F and C cover the last half bar alike
    plan = [ChordSpan(0.0, 3.0, parse("F")), ChordSpan(3.0, 4.0, parse("C"))]
    # half a bar each in 4/4; F, first and as good a cover of C C, would take the last half too
    assert [s.chord.symbol for s in at_pace("chords", tune, plan)] == ["F", "C"]
    assert at_pace("chorale", tune, plan) == plan
