"""Corpus loaders, derived harmonize targets, augmentation and the cache, on real music21
corpus files and real Groove MIDI files (a handful of each, not the whole corpus)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from models.constants import CHORALE_RANGES, DRUM_CLASSES, DRUM_PITCH_MAP
from models.data.augment import transpose, transpositions
from models.data.cache import read_pieces, write_pieces
from models.data.chorales import (
    TUNE_MATCH_RATIO,
    best_match,
    load_bach_chorales,
    parse_chorale,
    tune_signature,
)
from models.data.corpus import DATA_DIR, grouped_splits, holdout_paths
from models.data.derive import bass_from_chorale, chords_from_chorale
from models.data.folk import folk_style, folk_tunes, parse_tune
from models.data.groove import load_groove, read_drums
from models.data.jsb import grid_voice, load_jsb, read_jsb, soprano_tunes
from models.data.score import corpus_root, merged_pitches
from models.keys import estimate_key, key_name, parse_key
from models.representation import Note

JSB = DATA_DIR / "jsb" / "jsb-chorales-16th-satb.json"
GROOVE = DATA_DIR / "groove"
needs_data = pytest.mark.skipif(not (DATA_DIR / "holdout").exists(),
                                reason=f"shared data not found at {DATA_DIR}")


def chorale(name: str):
    piece, reason = parse_chorale(corpus_root() / "bach" / name)
    assert piece is not None, reason
    return piece


def folk_tune(source: str):
    text = dict(folk_tunes())[source]
    piece, reason = parse_tune((source, text))
    assert piece is not None, reason
    return piece


# --- hold-outs -----------------------------------------------------------------------------

@needs_data
def test_holdout_paths_are_never_loaded():
    held = holdout_paths()
    root = corpus_root()
    paths = [root / h for h in held[:3]] + [root / "bach" / n for n in ("bwv1.6.mxl", "bwv122.6.mxl")]
    counts: Counter = Counter()
    pieces = load_bach_chorales(held, (), workers=1, counts=counts, paths=paths)
    assert counts["holdout_list"] == 3
    assert {p.source for p in pieces} == {"music21:bach/bwv1.6.mxl", "music21:bach/bwv122.6.mxl"}


@needs_data
def test_chorale_with_a_jsb_valid_tune_is_left_out():
    piece = chorale("bwv1.6.mxl")
    tune = merged_pitches(piece.part("melody").notes)
    counts: Counter = Counter()
    transposed = [p + 2 for p in tune]  # tunes match whatever the key
    pieces = load_bach_chorales((), [transposed], workers=1, counts=counts,
                                paths=[corpus_root() / "bach" / "bwv1.6.mxl"])
    assert pieces == [] and counts["jsb_valid_tune"] == 1


@needs_data
def test_no_jsb_valid_tune_in_jsb_train():
    counts: Counter = Counter()
    train = load_jsb("train", JSB, counts=counts)
    valid = [tune_signature(t) for t in soprano_tunes(read_jsb(JSB), "valid")]
    assert counts["valid_tune"] > 0
    for piece in train:
        sig = tune_signature(merged_pitches(piece.part("melody").notes))
        assert best_match(sig, valid)[1] < TUNE_MATCH_RATIO
        assert piece.split == "train"


@needs_data
def test_jsb_valid_is_the_valid_split_and_aligned_to_its_score():
    ref = chorale("bwv88.7.mxl")  # its tune is a JSB validation piece
    pieces = load_jsb("valid", JSB, references=[ref])
    assert len(pieces) == 76 and all(p.split == "valid" for p in pieces)
    matched = [p for p in pieces if p.labels.get("score") == ref.source]
    assert len(matched) >= 2  # the validation split holds several settings of this tune
    piece = next(p for p in matched if "pickup" in p.labels)
    assert piece.labels["pickup"] == ref.labels["pickup"] == "3"
    assert piece.first.time_signature == ref.first.time_signature
    starts = [n.start for n in ref.part("melody").notes[:8]]
    assert [n.start for n in piece.part("melody").notes[:8]] == starts


def test_jsb_grid_merges_held_notes_and_reads_rests():
    steps = [[60, 0, 0, 0], [60, 0, 0, 0], [-1, 0, 0, 0], [62, 0, 0, 0], [62, 0, 0, 0]]
    assert grid_voice(steps, 0) == (Note(60, 0.0, 0.5), Note(62, 0.75, 0.5))


# --- metre, pickups, keys ------------------------------------------------------------------

def test_chorale_pickup_is_an_incomplete_first_bar():
    piece = chorale("bwv1.6.mxl")
    melody = piece.part("melody")
    assert [r for r, _ in piece.tracks] == ["melody", "alto", "tenor", "bass"]
    assert [p.kind for _, p in piece.tracks] == ["melody", "other", "other", "bass"]
    assert melody.time_signature == (4, 4) and melody.key == "F major"
    assert melody.notes[0].start == 3.0 and melody.length % 4 == 0
    assert all(p.length == melody.length for _, p in piece.tracks)


def test_three_four_chorale_with_pickup():
    piece = chorale("bwv299.mxl")
    melody = piece.part("melody")
    assert melody.time_signature == (3, 4) and melody.beats_per_bar == 3.0
    assert melody.notes[0].start == 2.0  # one-beat anacrusis
    assert melody.length % 3 == 0


def test_six_eight_jig_with_pickup():
    piece = folk_tune("music21:oneills1850/0900-0950.abc#935")
    melody = piece.part("melody")
    assert piece.style == "jig" and melody.time_signature == (6, 8)
    assert melody.kind == "melody" and melody.key == "A major"
    assert melody.notes[0].start == 2.5  # eighth-note pickup into a 3-beat bar
    # every bar line falls on a multiple of 3 beats: the downbeats carry notes
    starts = {n.start for n in melody.notes}
    assert all(bar * 3.0 in starts for bar in range(1, 8))


def test_folk_style_mapping():
    assert folk_style("slip jig") == folk_style("Slide") == "jig"
    assert folk_style("REEL") == "reel" and folk_style("clog") == "hornpipe"
    assert folk_style("strathspey") is None and folk_style("Gavotte") is None
    assert folk_style("", "Miss Smith's Hornpipe") == "hornpipe"
    assert folk_style("", "The Enchanted Valley") is None


def test_key_names():
    assert key_name(6, "minor") == "F# minor" and key_name(10, "major") == "Bb major"
    assert parse_key("Gb major") == (6, "major") and parse_key("A- minor") == (8, "minor")
    scale = [Note(p, i, 1.0) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 60])]
    assert estimate_key(scale) == "C major"


# --- derived harmonize targets -------------------------------------------------------------

def test_chords_from_chorale_are_held_blocks_in_range():
    piece = chorale("bwv1.6.mxl")
    chords = chords_from_chorale(piece)
    pad = chords.part("chords")
    assert [r for r, _ in chords.tracks] == ["melody", "chords"] and chords.style == "chords"
    assert pad.kind == "chords" and all(48 <= n.pitch <= 72 for n in pad.notes)
    assert all(n.start == int(n.start) for n in pad.notes)  # changes on beats only here
    assert len({n.start for n in pad.notes}) < len(piece.part("bass").notes)


def test_bass_from_chorale_absorbs_passing_notes():
    piece = chorale("bwv1.6.mxl")
    bass = bass_from_chorale(piece).part("bass")
    original = piece.part("bass")
    assert bass.kind == "bass" and len(bass.notes) < len(original.notes)
    assert sum(n.duration for n in bass.notes) == sum(n.duration for n in original.notes)
    assert bass_from_chorale(piece, simplify=False).part("bass").notes == original.notes


# --- augmentation --------------------------------------------------------------------------

def test_transpositions_keep_voices_in_range():
    piece = chorale("bwv1.6.mxl")
    shifts = list(transpositions(piece))
    assert 0 in shifts and len(shifts) > 1
    for shift in shifts:
        if shift == 0:
            continue
        moved = transpose(piece, shift)
        for role, part in moved.tracks:
            lo, hi = CHORALE_RANGES[role]
            assert all(lo <= n.pitch <= hi for n in part.notes), (shift, role)
    outside = [s for s in range(-6, 7) if s not in shifts]
    for shift in outside:
        moved = transpose(piece, shift)
        assert any(not CHORALE_RANGES[r][0] <= n.pitch <= CHORALE_RANGES[r][1]
                   for r, p in moved.tracks for n in p.notes)
    assert transpose(piece, 1).first.key == "F# major"
    assert transpose(piece, -2).first.key == "Eb major"


@needs_data
def test_drums_are_never_transposed():
    piece = load_groove("valid", GROOVE, limit=1)[0]
    assert transpose(piece, 5).tracks == piece.tracks
    assert list(transpositions(piece)) == list(range(-6, 7))


# --- drums ---------------------------------------------------------------------------------

def test_td11_pads_map_to_gm_drum_classes():
    assert DRUM_PITCH_MAP[22] == DRUM_CLASSES["closed_hat"]  # hi-hat closed, edge
    assert DRUM_PITCH_MAP[26] == DRUM_CLASSES["open_hat"]  # hi-hat open, edge
    assert DRUM_PITCH_MAP[44] == DRUM_CLASSES["closed_hat"]  # pedal
    assert DRUM_PITCH_MAP[40] == DRUM_PITCH_MAP[37] == DRUM_CLASSES["snare"]  # rim, x-stick
    assert DRUM_PITCH_MAP[48] == DRUM_PITCH_MAP[50] == DRUM_CLASSES["high_tom"]  # tom 1
    assert DRUM_PITCH_MAP[45] == DRUM_PITCH_MAP[47] == DRUM_CLASSES["mid_tom"]  # tom 2
    assert DRUM_PITCH_MAP[43] == DRUM_PITCH_MAP[58] == DRUM_CLASSES["low_tom"]  # floor tom
    assert DRUM_PITCH_MAP[55] == DRUM_PITCH_MAP[52] == DRUM_CLASSES["crash"]
    assert DRUM_PITCH_MAP[53] == DRUM_PITCH_MAP[59] == DRUM_CLASSES["ride"]


@needs_data
def test_groove_file_keeps_velocities_and_micro_timing():
    notes, bpm = read_drums(GROOVE / "drummer1/session1/1_funk_80_beat_4-4.mid")
    assert bpm == 80.0 and len(notes) > 500
    assert {n.pitch for n in notes} <= set(DRUM_CLASSES.values())
    assert len({n.velocity for n in notes}) > 20
    off_grid = sum(abs(n.start * 12 - round(n.start * 12)) > 1e-3 for n in notes)
    assert off_grid > 0.5 * len(notes)


@needs_data
def test_groove_valid_split_and_labels():
    pieces = load_groove("valid", GROOVE)
    assert len(pieces) == 124 and all(p.split == "valid" for p in pieces)
    piece = pieces[0]
    assert [r for r, _ in piece.tracks] == ["drums"] and piece.first.kind == "drums"
    assert piece.labels["beat_type"] in ("beat", "fill") and piece.labels["drummer"]
    assert piece.style == piece.labels["style"].split("/")[0]
    assert {p.first.time_signature for p in pieces} >= {(4, 4)}


# --- splits and cache ----------------------------------------------------------------------

def test_grouped_splits_keep_one_tune_in_one_split():
    a = chorale("bwv1.6.mxl")
    twin = type(a)(a.tracks, a.style, "music21:bach/other.mxl", "train", a.labels)
    out = grouped_splits([a, twin] * 1)
    assert out[0].split == out[1].split


@needs_data
def test_cache_round_trip_equals_fresh_parse(tmp_path: Path):
    pieces = [chorale("bwv1.6.mxl"), folk_tune("music21:oneills1850/0900-0950.abc#935"),
              load_groove("valid", GROOVE, limit=1)[0]]
    write_pieces(tmp_path, "mixed", pieces, "fp")
    back, _ = read_pieces(tmp_path, "mixed", "fp")
    assert back == pieces
    assert [p.labels for p in back] == [p.labels for p in pieces]
    assert read_pieces(tmp_path, "mixed", "other") is None
