"""Harmonization metrics and the rule-based baseline (models/eval/harmonize.py, models/eval/rules.py):
hand-made parts with known parallels, a crossing and an out-of-key note give the
expected counts; the baseline writes in-range voices below real chorale melodies; the evaluation
command runs end to end on JSB valid melodies with a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.constants import CHORALE_RANGES
from models.eval import harmonize as E
from models.eval import rules
from models.representation import Note, Part
from tests.models.music import chorale_soprano, needs_jsb

pytestmark = pytest.mark.usefixtures("one_thread")


def part(*notes: tuple[int, float, float], length: float = 4.0, name: str | None = None) -> Part:
    return Part(tuple(Note(p, s, d) for p, s, d in notes), length, (4, 4), None, "C major", name=name)


def test_sounding_grid_holds_the_top_pitch_per_eighth() -> None:
    p = part((60, 0, 1), (64, 0.5, 0.5), (67, 2, 1.5), length=4.0)
    assert E.sounding(p) == [60, 64, None, None, 67, 67, 67, None]
    assert E.sounding(p, 1.0) == [60, None, 67, 67]  # the 8th note at 0.5 holds no whole beat


def test_parallel_fifth_is_counted_where_both_voices_move() -> None:
    grids = {
        "melody": E.sounding(part((72, 0, 2), (74, 2, 2))),  # C5 -> D5
        "alto": E.sounding(part((64, 0, 4))),  # held: oblique motion is no move
        "tenor": E.sounding(part((60, 0, 4))),
        "bass": E.sounding(part((53, 0, 2), (55, 2, 2))),  # F3 -> G3: fifths (plus an octave) with the melody
    }
    assert E.parallels(grids) == (1, 1)


@pytest.mark.parametrize("upper, lower, expected", [
    ((60, 62), (48, 50), (1, 1)),  # parallel octaves
    ((67, 69), (55, 57), (1, 1)),  # octaves again, higher
    ((64, 65), (52, 53), (1, 1)),  # a semitone step in octaves still counts
    ((72, 74), (65, 55), (0, 1)),  # fifth to twelfth by contrary motion: not parallel
    ((71, 74), (60, 62), (0, 1)),  # seventh to octave in similar motion ("hidden"): not counted
    ((72, 74), (69, 71), (0, 1)),  # parallel thirds are fine
])
def test_parallels_between_two_voices(upper: tuple[int, int], lower: tuple[int, int],
                                      expected: tuple[int, int]) -> None:
    grids = {"tenor": E.sounding(part((upper[0], 0, 2), (upper[1], 2, 2))),
             "bass": E.sounding(part((lower[0], 0, 2), (lower[1], 2, 2)))}
    assert E.parallels(grids) == expected


def test_crossings_count_steps_where_a_lower_voice_is_above() -> None:
    grids = {
        "melody": E.sounding(part((72, 0, 4))),
        "alto": E.sounding(part((64, 0, 2), (57, 2, 2))),  # dips below the tenor for two beats
        "tenor": E.sounding(part((60, 0, 4))),
        "bass": E.sounding(part((48, 0, 4))),
    }
    assert E.crossings(grids) == (4, 24)


def test_score_counts_range_key_span_and_agreement() -> None:
    melody = part((72, 0, 1), (74, 1, 1), (76, 2, 2))
    bach = {"alto": part((64, 0, 2), (67, 2, 2)), "tenor": part((60, 0, 4)), "bass": part((48, 0, 4))}
    generated = {
        "alto": part((66, 0, 2), (67, 2, 2)),  # F#: out of C major
        "tenor": part((60, 0, 2), (59, 1.5, 3)),  # overlaps itself and runs past the clip
        "bass": part((29, 0, 4)),  # F1, below the bass range
    }
    counts = E.score(melody, generated, bach, "C major")
    assert counts["out_key"] == 1 and counts["out_range"] == 1 and counts["notes"] == 5
    assert counts["span"] == 2  # one note past the end, one overlap
    # per beat, Bach's chord is C-E (beats 0, 1) and C-G (2, 3): alto F# F# G G, tenor C C B B, bass F
    assert counts["agree_total"] == 12 and counts["agree"] == 4
    assert counts["bass_beats"] == 4 and counts["bass_agree"] == 0
    rates = E.rates(counts)
    assert rates["out_of_key"] == 0.2 and rates["out_of_range"] == 0.2 and rates["span_violations"] == 2.0
    assert rates["chord_agree"] == 0.3333 and rates["bass_agree"] == 0.0
    assert counts["closes"] == 1 and counts["root_closes"] == 0  # F under the last note, not C


def test_root_close_is_the_tonic_in_the_bass_under_the_last_melody_note() -> None:
    melody = part((74, 0, 2), (72, 2, 2))
    assert E.root_close(melody, part((43, 0, 2), (36, 2, 2)), "C major") == {"closes": 1, "root_closes": 1}
    assert E.root_close(melody, part((43, 0, 2), (40, 2, 2)), "C major")["root_closes"] == 0  # first inversion
    assert E.root_close(melody, part((36, 0, 2)), "C major")["root_closes"] == 0  # the bass stopped
    assert E.root_close(melody, None, "C major") == {}


def test_the_final_chord_keeps_to_the_tonic_triad_and_is_held() -> None:
    melody = part((74, 0, 2), (72, 2, 2))  # ends on C in C major: an authentic close
    held = {"alto": part((65, 0, 2), (64, 2, 2)), "bass": part((43, 0, 2), (36, 2, 2))}
    assert E.final_chord(melody, held, "C major") == {"final_closes": 1, "final_in_triad": 1, "final_thirds": 1,
                                                       "final_onsets": 0}
    busy = {"alto": part((65, 0, 2), (64, 2, 1), (62, 3, 1)), "bass": part((43, 0, 2), (36, 2, 2))}
    assert E.final_chord(melody, busy, "C major") == {"final_closes": 1, "final_in_triad": 0, "final_thirds": 1,
                                                       "final_onsets": 1}
    hollow = {"alto": part((67, 2, 2)), "bass": part((36, 2, 2))}  # C, G and C: no third
    assert E.final_chord(melody, hollow, "C major")["final_thirds"] == 0
    picardy = {"alto": part((64, 2, 2)), "tenor": part((61, 2, 2)), "bass": part((45, 2, 2))}  # A major in A minor
    assert E.final_chord(part((69, 2, 2)), picardy, "A minor")["final_in_triad"] == 1
    both = {**picardy, "alto": part((60, 2, 2))}  # C and C# together: not a triad
    assert E.final_chord(part((69, 2, 2)), both, "A minor")["final_in_triad"] == 0
    assert E.final_chord(part((74, 0, 4)), held, "C major") == {}  # ends on D: an open close, not counted


def test_chord_jaccard_compares_all_four_voices_beat_by_beat() -> None:
    melody = part((72, 0, 4))
    bach = {"alto": part((67, 0, 4)), "tenor": part((64, 0, 2), (65, 2, 2)), "bass": part((48, 0, 4))}
    mine = {"alto": part((67, 0, 4)), "tenor": part((64, 0, 4)), "bass": part((48, 0, 2), (53, 2, 2))}
    # beats 0-1: {C, E, G} both = 1; beats 2-3: {C, E, G, F} against {C, G, F} = 3/4
    assert E.chord_jaccard(melody, mine, bach) == (pytest.approx(3.5), 4)
    assert E.chord_jaccard(melody, {}, bach) == (pytest.approx(4 / 3), 4)  # the melody alone: 1 of 3


def test_rules_prefer_i_iv_v_and_a_change_of_chord() -> None:
    chords = rules.triads("C major")
    assert rules.choose(72, chords, None)[0] == 0  # C: I
    assert rules.choose(72, chords, 0)[0] == 5  # C again: IV, a change
    assert rules.choose(74, chords, None)[0] == 7  # D: V
    assert rules.choose(74, chords, 7)[0] == 2  # D again: ii (vii is last)
    assert rules.choose(69, chords, None)[0] == 5  # A: IV before vi


def test_bach_against_itself_agrees_everywhere() -> None:
    melody = part((72, 0, 1), (71, 1, 1), (72, 2, 2))
    bach = {"alto": part((67, 0, 1), (67, 1, 1), (67, 2, 2)), "tenor": part((64, 0, 1), (62, 1, 1), (64, 2, 2)),
            "bass": part((48, 0, 1), (55, 1, 1), (48, 2, 2))}
    rates = E.rates(E.score(melody, bach, bach, "C major"))
    assert rates["chord_agree"] == 1.0 and rates["bass_agree"] == 1.0 and rates["crossings"] == 0.0
    assert rates["out_of_range"] == 0.0 and rates["out_of_key"] == 0.0 and rates["span_violations"] == 0.0


def test_minor_keys_accept_the_raised_sixth_and_seventh() -> None:
    assert E.key_pitch_classes("A minor") == {9, 11, 0, 2, 4, 5, 6, 7, 8}
    assert E.key_pitch_classes("Eb major") == {3, 5, 7, 8, 10, 0, 2}


@pytest.mark.parametrize("name, bars", [("bwv66.6.mxl", 6), ("bwv269.mxl", 6), ("bwv25.6.mxl", 4)])
def test_rule_based_voices_are_in_range_and_below_the_melody(name: str, bars: int) -> None:
    melody = chorale_soprano(name, bars)
    parts = rules.harmonize(melody)
    assert [p.name for p in parts] == ["Alto", "Tenor", "Bass"]
    assert parts[0].key == melody.key
    for p in parts:
        lo, hi = CHORALE_RANGES[p.name.lower()]
        assert p.notes and all(lo <= n.pitch <= hi for n in p.notes), p.name
        assert all(0 <= n.start and n.end <= melody.length for n in p.notes)
        assert p.length == melody.length and p.time_signature == melody.time_signature
    for upper, lower in zip(parts, parts[1:], strict=False):
        assert all(a.pitch > b.pitch for a, b in zip(upper.notes, lower.notes, strict=True))
    for alto in parts[0].notes:
        top = rules.melody_at(melody, alto.start)
        assert top is not None and alto.pitch < top
    counts = E.score(melody, {p.name.lower(): p for p in parts}, {}, melody.key or "C major")
    assert counts["out_range"] == 0 and counts["span"] == 0 and counts["out_key"] == 0


@needs_jsb
def test_eval_command_on_jsb_valid_with_a_tiny_model(tiny_weights: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    table_file = tmp_path / "table.json"
    assert E.main(["--weights", str(tiny_weights), "--device", "cpu", "--limit", "2", "--json", str(table_file)]) == 0
    printed = capsys.readouterr().out
    assert "2 JSB valid chorale melodies" in printed
    results = json.loads(table_file.read_text())
    table = results["all"]
    assert list(table) == ["bach", "rules", "hmm", "planner", "harmonize", "model+plan", "candidate 3", "candidate 4"]
    for system in ("rules", "hmm", "planner", "harmonize"):
        assert table[system]["out_of_range"] == 0.0 and table[system]["span_violations"] == 0.0, system
    assert table["bach"]["chord_agree"] == 1.0 and table["bach"]["crossings"] < 0.05
    assert table["bach"]["chord_jaccard"] == 1.0
    assert 0 < table["rules"]["chord_agree"] < 1 and 0 < table["rules"]["chord_jaccard"] < 1
    assert table["harmonize"] == table["planner"] | {"seconds_per_piece": table["harmonize"]["seconds_per_piece"]}
    assert sum(len(results.get(g, {"bach": {}})) > 1 for g in ("seen", "unseen")) >= 1
    plans = results["plans"]  # the model's voices follow the first's plan, candidates 3 and 4 others
    assert plans["candidate 2 vs 1"]["steps_changed"] == 0.0
    for row in ("candidate 3 vs 1", "candidate 4 vs 1", "candidate 4 vs 3"):
        assert plans[row]["min_steps_changed"] >= 0.2 and plans[row]["pieces_changed"] == 1.0, row
