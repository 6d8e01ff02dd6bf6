"""Voice-leading rules used while decoding part-writing: no crossings, no parallel fifths or
octaves against known voices (whichever voice is above), no unisons struck against them,
checked on hand-made voices."""

from __future__ import annotations

from models.decoding import voicing

ORDER = ("melody", "alto", "tenor", "bass")


def test_parallel_fifths_below_the_melody_are_refused() -> None:
    # melody C5 -> D5 on beat 2 over alto F4 (a fifth below): alto G4 would be parallel fifths.
    known = {"melody": [(0, 12, 72), (12, 24, 74)], "alto": [(0, 12, 65)]}
    allowed = voicing.allowed_pitches("alto", ORDER, known, 12, range(60, 74))
    assert 67 not in allowed
    assert 66 in allowed


def test_parallel_octaves_with_the_bass_are_refused_from_the_grid_point_before() -> None:
    # bass G2 -> A2 at beat 2; tenor G3 on beat 1 moving to A3 would be parallel octaves.
    known = {"melody": [(0, 24, 79)], "bass": [(0, 12, 43), (12, 24, 45)], "tenor": [(0, 12, 55)]}
    allowed = voicing.allowed_pitches("tenor", ORDER, known, 12, range(50, 70))
    assert 57 not in allowed
    assert 60 in allowed


def test_no_voice_crosses_a_known_voice() -> None:
    known = {"melody": [(0, 24, 67)], "bass": [(0, 24, 48)]}
    allowed = voicing.allowed_pitches("tenor", ORDER, known, 0, range(40, 80))
    assert min(allowed) >= 48 and max(allowed) <= 67


def test_a_note_stops_before_a_later_note_of_a_known_voice_would_cross_it() -> None:
    known = {"melody": [(0, 12, 72), (12, 24, 62)]}
    assert voicing.longest("alto", ORDER, known, 0, 65) == 12
    assert voicing.longest("alto", ORDER, known, 0, 60) == 1 << 30


def test_a_note_struck_on_the_beat_is_consonant_with_the_known_voices() -> None:
    known = {"melody": [(0, 12, 72)], "bass": [(0, 12, 48)]}
    allowed = voicing.allowed_pitches("tenor", ORDER, known, 0, range(48, 73))
    assert all(abs(p - 72) % 12 in voicing.CONSONANT for p in allowed)
    assert all(abs(p - 48) % 12 in voicing.CONSONANT_WITH_BASS for p in allowed)
    assert 60 in allowed and 62 not in allowed and 53 not in allowed


def test_a_note_does_not_strike_a_unison_with_a_known_voice_unless_nothing_else_is_left() -> None:
    # melody E5 over bass C3: a tenor may take C4 or G4 but not E5 (the melody's own pitch) or C3
    known = {"melody": [(0, 24, 76)], "bass": [(0, 24, 48)]}
    allowed = voicing.allowed_pitches("tenor", ORDER, known, 0, range(48, 77))
    assert 76 not in allowed and 48 not in allowed
    assert {60, 67} <= set(allowed)
    # only the unison is left between the bass and the melody: it stays allowed
    assert voicing.allowed_pitches("tenor", ORDER, known, 0, [48]) == [48]


def test_a_voice_leaves_the_voices_still_to_come_a_pitch_of_their_own_below_the_melody() -> None:
    known = {"melody": [(0, 24, 66)]}  # F#4 over an F# major chord
    f_sharp = frozenset({6, 10, 1})
    # the tenor under an alto still to come: C#4 would leave the alto only a unison
    assert voicing.leaving_room("tenor", ORDER, known, 0, [54, 58, 61], f_sharp) == [54, 58]
    assert voicing.leaving_room("tenor", ORDER, known, 6, [54, 58, 61], None) == [54, 58, 61]  # off the beat
    # the bass under two: A#3 leaves only C#4 for both
    assert voicing.leaving_room("bass", ORDER, known, 0, [42, 54, 58], f_sharp) == [42, 54]
    # the alto written last, or a tenor under a known alto: no one to leave room for
    assert voicing.leaving_room("alto", ORDER, known, 0, [61, 63], f_sharp) == [61, 63]
    assert voicing.leaving_room("tenor", ORDER, known | {"alto": [(0, 24, 63)]}, 0, [61, 62], f_sharp) == [61, 62]
