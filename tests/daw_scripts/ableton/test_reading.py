"""Reading the selection: the clip's region and notes, the set's metre, tempo and Live 12
scale, what the clip holds, and the request each op sends."""

import fake_live
import live_sets as sets
import pytest
from DAWBridge import action, clip, config, song, view


def _fields(live_song, op, text="", overrides=None):
    selection = view.selected_clip(live_song)
    return action.request_fields(live_song, selection, config.Config(text), op, overrides)


def test_a_looping_session_clip_is_read_over_its_loop():
    live_song, _, source = sets.session_melody()
    source.loop_start, source.loop_end = 4.0, 8.0
    sent = clip.read(live_song, source)
    assert sent["length"] == 4.0
    assert [(n["pitch"], n["start"]) for n in sent["notes"]] == [(79, 0.0), (76, 2.0), (72, 3.0)]
    assert sent["time_signature"] == [4, 4] and sent["tempo"] == 120.0
    assert sent["name"] == "Verse melody" and sent["kind"] == "melody"


def test_an_arrangement_clip_is_read_between_its_markers_without_muted_notes():
    live_song, _, source = sets.arrangement_melody()
    source.start_marker, source.end_marker = 0.0, 4.0
    source._notes[0].mute = True
    sent = clip.read(live_song, source)
    assert sent["length"] == 4.0
    assert [n["pitch"] for n in sent["notes"]] == [74, 76, 77]


def test_metre_comes_from_the_clip():
    live_song, _, source = sets.session_melody()
    source.signature_numerator, source.signature_denominator = 6, 8
    assert clip.read(live_song, source)["time_signature"] == [6, 8]


@pytest.mark.parametrize("root, scale, mode, expected", [
    (2, "Minor", True, "D minor"),
    (7, "Mixolydian", True, "G major"),
    (10, "Dorian", True, "Bb minor"),
    (0, "Whole Tone", True, None),
    (2, "Minor", False, None),
])
def test_live_12_scale_becomes_the_key(root, scale, mode, expected):
    live_song = fake_live.Song(version="12.3")
    live_song.root_note, live_song.scale_name, live_song.scale_mode = root, scale, mode
    assert song.key(live_song) == expected


def test_live_11_has_no_scale():
    assert song.key(fake_live.Song(version="11.2")) is None


def test_nothing_or_audio_selected_says_what_to_do():
    live_song = fake_live.Song()
    assert view.selected_clip(live_song) == "select a MIDI clip first"
    live_song, _, source = sets.session_melody()
    source.is_midi_clip = False
    assert "audio" in view.selected_clip(live_song)


def test_a_drum_rack_track_holds_drums():
    live_song, _, source = sets.session_drums()
    assert _fields(live_song, "vary")["clip"]["kind"] == "drums"


def test_harmonize_sends_the_clip_with_the_settings_style():
    fields = _fields(sets.session_melody()[0], "harmonize", "style.harmonize = chords\n")
    assert fields["style"] == "chords" and fields["candidates"] == 3
    assert len(fields["clip"]["notes"]) == len(sets.MELODY)


def test_drums_sends_bars_metre_tempo_and_the_clip_as_context():
    fields = _fields(sets.session_melody()[0], "drums")
    assert (fields["bars"], fields["time_signature"], fields["tempo"]) == (2, [4, 4], 120.0)
    assert fields["context"][0]["kind"] == "melody" and "clip" not in fields


def test_drums_from_a_drum_clip_sends_no_context():
    assert "context" not in _fields(sets.session_drums()[0], "drums")


def test_fill_replaces_the_bars_of_the_selected_notes():
    live_song, _, source = sets.session_drums()
    assert "span" not in _fields(live_song, "fill")
    source.select_notes(lambda n: 4.5 <= n.start_time < 5.0)
    assert _fields(live_song, "fill")["span"] == [4.0, 8.0]


def test_restyle_style_follows_the_clip_and_overrides_cannot_replace_it():
    assert _fields(sets.session_drums()[0], "restyle")["style"] == "funk"
    fields = _fields(sets.session_melody()[0], "restyle", overrides={"style": "reel", "clip": {}})
    assert fields["style"] == "reel" and fields["clip"]["notes"]


def test_a_clip_longer_than_the_protocol_allows_is_refused_by_name():
    live_song, _, source = sets.session_melody()
    source.loop_end = 2000.0
    with pytest.raises(ValueError, match="length must be > 0 and at most 1024 beats"):
        clip.read(live_song, source)
