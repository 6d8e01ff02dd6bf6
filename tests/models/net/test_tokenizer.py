"""Token format v1 round trips (models/net/tokenizer.py, models/net/vocab.py): real chorales and folk
tunes on the grid come back exactly; real Groove performances come back quantized, and the
test says how many notes quantization moved, changed or merged."""

from __future__ import annotations

import numpy as np
import pytest

from models.constants import DEFAULT_VELOCITY, DRUM_CLASSES
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, decode, encode, header_tokens, snap
from models.representation import Note, Part, Piece
from tests.models.music import chorale, folk_tune, groove, needs_groove

CHORALES = {
    "bwv66.6.mxl": "4/4, F# minor, a pickup of three beats",
    "bwv269.mxl": "3/4 with a two-beat pickup",
    "bwv229.2.mxl": "3/4, melody notes tied over bar lines",
    "bwv437.mxl": "4/4, inner voices tied over bar lines",
    "bwv248.23-2.mxl": "12/8",
    "bwv123.6.mxl": "3/2",
    "bwv25.6.mxl": "4/4 from the downbeat",
}
JIGS = [("oneills1850/0550-0625.abc", "553"), ("oneills1850/0550-0625.abc", "564")]  # 6/8, pickups
GROOVES = [
    "drummer1/session1/1",  # funk beat, 4/4
    "drummer1/session1/10",  # jazz-funk fill
    "drummer7/session3/100",  # fill with flams and fast rolls
    "drummer1/session2/4",  # jazz in 3/4
    "drummer6/session1/1",  # rock in 6/8
]
GRID_EPS = 1e-9


def names(tokens: list[int]) -> list[str]:
    return [V.VOCAB.tokens[t] for t in tokens]


def assert_round_trip(piece: Piece) -> None:
    tokens = encode(piece)
    header, parts = decode(tokens, piece.first.length, default_velocity=DEFAULT_VELOCITY)
    assert header.time_signature == piece.first.time_signature
    assert header.key == piece.first.key
    assert header.style == piece.style
    assert set(parts) == {role for role, _ in piece.tracks}
    for role, part in piece.tracks:
        back = parts[role]
        assert back.notes == part.notes, f"{piece.source} {role}: notes differ after the round trip"
        assert (back.length, back.time_signature, back.key) == (part.length, part.time_signature, part.key)
    assert tokens.count(V.BAR) == piece.first.bars
    rebuilt = Piece(tuple((role, parts[role]) for role, _ in piece.tracks), header.style, piece.source)
    assert encode(rebuilt)[5:] == tokens[5:], "tokens -> parts -> tokens must give the same bars"


@pytest.mark.parametrize("name", sorted(CHORALES), ids=lambda n: n.removesuffix(".mxl"))
def test_chorale_round_trip_is_exact(name: str) -> None:
    assert_round_trip(chorale(name))


@pytest.mark.parametrize("collection, number", JIGS, ids=[n for _, n in JIGS])
def test_six_eight_folk_tune_round_trip_is_exact(collection: str, number: str) -> None:
    piece = folk_tune(collection, number)
    assert piece.first.time_signature == (6, 8)
    assert_round_trip(piece)
    assert names(encode(piece))[2] == "METER_6/8"
    assert bar_ticks((6, 8)) == 3 * V.TICKS_PER_BEAT


def test_pickup_is_the_end_of_a_first_bar_that_opens_with_a_rest() -> None:
    piece = chorale("bwv66.6.mxl")
    assert piece.labels["pickup"] == "3"
    tokens = names(encode(piece))
    first_bar = tokens[5:tokens.index("BAR", 6)]
    assert first_bar[:3] == ["BAR", "TRK_melody", "POS_36"]  # beat 4 of 4 = tick 36 of 48
    assert all(int(t[4:]) >= 36 for t in first_bar if t.startswith("POS_")), first_bar
    _, parts = decode(encode(piece), piece.first.length)
    assert min(n.start for n in parts["melody"].notes) == 3.0


def test_three_four_bars() -> None:
    piece = chorale("bwv269.mxl")
    tokens = encode(piece)
    assert names(tokens)[2] == "METER_3/4"
    assert tokens.count(V.BAR) == piece.first.length / 3
    positions = [int(t[4:]) for t in names(tokens) if t.startswith("POS_")]
    assert max(positions) < bar_ticks((3, 4)) == 36


def test_notes_crossing_bar_lines_keep_their_whole_duration() -> None:
    piece = chorale("bwv229.2.mxl")
    soprano = piece.part("melody")
    bar = soprano.beats_per_bar
    crossing = [n for n in soprano.notes if n.start // bar != (n.end - 1e-6) // bar]
    assert len(crossing) >= 5
    _, parts = decode(encode(piece), piece.first.length, default_velocity=DEFAULT_VELOCITY)
    for note in crossing:
        assert note in parts["melody"].notes
        assert note.duration * V.TICKS_PER_BEAT > bar_ticks(soprano.time_signature) - (note.start % bar) * V.TICKS_PER_BEAT


def test_header_tokens_carry_style_metre_key_and_tempo() -> None:
    piece = chorale("bwv66.6.mxl")
    assert piece.first.tempo == 96.0
    assert names(encode(piece)[:5]) == ["BOS", "STYLE_chorale", "METER_4/4", "KEY_F#_minor", "TEMPO_2"]
    cases = [
        (Header(None, (5, 4), None, None), ["BOS", "STYLE_none", "METER_5/4", "KEY_none", "TEMPO_none"]),
        (Header("reel", (2, 2), "Gb major", 69.9), ["BOS", "STYLE_reel", "METER_2/2", "KEY_F#_major", "TEMPO_0"]),
        (Header("jazz", (6, 8), "A- minor", 170), ["BOS", "STYLE_jazz", "METER_6/8", "KEY_Ab_minor", "TEMPO_7"]),
        (Header("unknown", (4, 4), "c minor", 120), ["BOS", "STYLE_none", "METER_4/4", "KEY_C_minor", "TEMPO_4"]),
    ]
    for header, expected in cases:
        assert names(header_tokens(header)) == expected, header


def test_pitched_tracks_carry_no_velocity_tokens() -> None:
    tokens = names(encode(chorale("bwv25.6.mxl")))
    assert not any(t.startswith("VEL_") for t in tokens)
    assert {t for t in tokens if t.startswith("TRK_")} == {"TRK_melody", "TRK_alto", "TRK_tenor", "TRK_bass"}


def test_snap_points_are_sixteenths_and_eighth_triplets() -> None:
    assert [snap(t) for t in (0, 1.4, 1.6, 3, 3.4, 3.6, 5, 7, 7.1, 10.4, 10.6, 11)] == [0, 0, 3, 3, 3, 4, 4, 6, 8, 9, 12, 12]
    for t in range(0, 200):
        assert snap(t / 7) % 12 in (0, 3, 4, 6, 8, 9)


def test_decode_rejects_a_sequence_without_its_header() -> None:
    with pytest.raises(ValueError, match="BOS"):
        decode([V.BAR, V.EOS])


# --- Groove: quantization of real performances -------------------------------------------------

def quantization_report(piece: Piece) -> dict[str, float]:
    """Counts of notes quantization changes, from the original performance and the decoded one."""
    part = piece.first
    _, parts = decode(encode(piece), part.length)
    back = parts.get("drums", Part((), part.length)).notes
    moves = [abs(snap(n.start * V.TICKS_PER_BEAT) / V.TICKS_PER_BEAT - n.start) for n in part.notes]
    return {
        "notes": len(part.notes),
        "kept": len(back),
        "merged": len(part.notes) - len(back),
        "onset_moved": sum(m > GRID_EPS for m in moves),
        "moved_over_32nd": sum(m > 0.125 / 2 + GRID_EPS for m in moves),
        "max_move": max(moves),
        "mean_move": sum(moves) / len(moves),
        "duration_changed": sum(abs(n.duration - 0.25) > GRID_EPS for n in part.notes),
    }


@needs_groove
@pytest.mark.parametrize("performance", GROOVES)
def test_groove_round_trip_quantizes_within_bounds(performance: str) -> None:
    piece = groove(performance)
    part = piece.first
    r = quantization_report(piece)
    figures = (f"{performance} ({piece.first.time_signature[0]}/{piece.first.time_signature[1]}): "
               f"{r['notes']} notes, onsets moved {r['onset_moved']} "
               f"({r['moved_over_32nd']} by more than a 32nd; mean {r['mean_move']:.3f}, max {r['max_move']:.3f} beats), "
               f"durations changed {r['duration_changed']}, merged or past the end {r['merged']}")
    # The grid's widest gap is a 16th (3 ticks), so no onset moves more than half of it.
    assert r["max_move"] <= 1.5 / V.TICKS_PER_BEAT + GRID_EPS, figures
    # Hits of one drum class that land on one grid point become one (flams, fast rolls).
    assert r["merged"] <= max(2, 0.2 * r["notes"]), figures
    assert r["moved_over_32nd"] <= 0.5 * r["notes"], figures
    _, parts = decode(encode(piece), part.length)
    expected = {(n.pitch, snap(n.start * V.TICKS_PER_BEAT)) for n in part.notes
                if snap(n.start * V.TICKS_PER_BEAT) < part.length * V.TICKS_PER_BEAT}
    got = {(n.pitch, round(n.start * V.TICKS_PER_BEAT)) for n in parts["drums"].notes}
    assert got == expected, figures
    assert all(n.duration == 0.25 for n in parts["drums"].notes)
    assert {n.pitch for n in parts["drums"].notes} <= set(DRUM_CLASSES.values())


@needs_groove
def test_groove_round_trip_keeps_velocity_bins_and_labels() -> None:
    piece = groove("drummer1/session1/1")
    tokens = encode(piece)
    assert names(tokens[:5]) == ["BOS", "STYLE_funk", "METER_4/4", "KEY_none", "TEMPO_1"]  # 80 bpm
    _, parts = decode(tokens, piece.first.length)
    first_hit: dict[tuple[int, int], int] = {}
    for n in piece.first.notes:
        first_hit.setdefault((n.pitch, snap(n.start * V.TICKS_PER_BEAT)), n.velocity)
    velocities = set()
    for n in parts["drums"].notes:
        original = first_hit[(n.pitch, round(n.start * V.TICKS_PER_BEAT))]
        assert n.velocity == V.VELOCITY_CENTRES[V.velocity_bin(original)]
        velocities.add(n.velocity)
    assert len(velocities) >= 4, "a real performance uses several dynamics"
    bars = tokens.count(V.BAR)
    notes_per_vel = sum(1 for t in names(tokens) if t.startswith("VEL_"))
    assert notes_per_vel == len(parts["drums"].notes) and bars == piece.first.bars


@needs_groove
def test_groove_fill_flag_and_on_grid_drums_round_trip_exactly() -> None:
    performance = groove("drummer1/session1/10")
    assert performance.labels["beat_type"] == "fill"
    tokens = encode(performance, fill_bars=range(performance.first.bars))
    assert tokens.count(V.FILL) == performance.first.bars
    _, parts = decode(tokens, performance.first.length)
    quantized = Piece((("drums", parts["drums"]),), performance.style, performance.source)
    again = decode(encode(quantized, fill_bars=range(performance.first.bars)), performance.first.length)[1]
    assert again["drums"].notes == parts["drums"].notes  # once on the grid, the round trip is exact


def test_hand_made_drums_on_the_grid_round_trip_exactly() -> None:
    hits = tuple(Note(pitch, beat / 4, 0.25, vel) for beat, (pitch, vel) in enumerate(
        [(36, 124), (42, 70), (38, 112), (42, 56), (36, 98), (46, 84), (38, 124), (49, 40)]))
    part = Part(hits, 4.0, (4, 4), 120.0, None, kind="drums")
    _, parts = decode(encode(Piece((("drums", part),), "rock", "test")), 4.0)
    assert parts["drums"].notes == hits


# --- the chord lane (format v2) -------------------------------------------------------------------

def test_chord_lane_names_every_chord_sounding_in_its_bar() -> None:
    from models.net.tokenizer import harmony_lane

    chords = [(0.0, 0, "", None), (2.0, 7, "7", 11), (6.0, 9, "m", None), (9.5, 2, "sus4", None)]
    assert names(harmony_lane(chords, 0, 48)) == ["HARM", "POS_0", "CHORD_C_maj", "POS_24", "CHORD_G_7", "SLASH_B"]
    # the chord held over the bar line is restated at position 0
    assert names(harmony_lane(chords, 1, 48)) == ["HARM", "POS_0", "CHORD_G_7", "SLASH_B", "POS_24", "CHORD_A_m"]
    # a quality the lane has no token for is read as its nearest (sus4 -> major); 9.5 snaps to tick 18
    assert names(harmony_lane(chords, 2, 48)) == ["HARM", "POS_0", "CHORD_A_m", "POS_18", "CHORD_D_maj"]
    assert names(harmony_lane([(8.0, 0, "", None)], 0, 48)) == ["HARM"]  # nothing sounds yet


def test_chord_lanes_lead_the_bars_and_leave_the_notes_alone() -> None:
    piece = chorale("bwv66.6.mxl")
    harmony = [(float(b), (b * 5) % 12, "m7" if b % 2 else "", None) for b in range(int(piece.first.length))]
    plain, laned = encode(piece), encode(piece, harmony=harmony)
    bars = [i for i, t in enumerate(laned) if t == V.BAR]
    assert all(laned[i + 1] == V.HARM for i in bars) and len(bars) == plain.count(V.BAR)
    from models.data.dataset import without_lanes

    assert without_lanes(np.asarray(laned)).tolist() == plain  # v1 ids unchanged, lanes only added
    assert decode(laned)[1] == decode(plain)[1]
    assert V.FORMAT_VERSION == 2 and V.VOCAB.tokens[:V.HARM] == V.Vocab.build().tokens[:359]
