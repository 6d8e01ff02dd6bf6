"""Writing results: new tracks right of the source named after their content, candidates in
consecutive Session slots or at the source's song position, one undo step, source untouched."""

import fake_live
import live_sets as sets
import pytest
from DAWBridge import placement, view


def _clip(name, pitch, length=8.0, kind="chords"):
    notes = [{"pitch": pitch, "start": float(b), "duration": 1.0, "velocity": 90} for b in range(4)]
    return {"notes": notes, "length": length, "time_signature": [4, 4], "name": name, "kind": kind}


def _result(*candidates):
    return {"candidates": [{"clips": list(c)} for c in candidates], "model": "m", "seed": 1,
            "elapsed": 0.1}


def _state(song):
    """Everything visible in the set, for before/after comparisons."""
    return [(t.name, [s.clip.snapshot() if s.has_clip else None for s in t.clip_slots],
             [c.snapshot() for c in t.arrangement_clips]) for t in song.tracks] + [len(song.scenes)]


def test_session_candidates_go_into_consecutive_slots_of_a_new_track():
    song, lead, source = sets.session_melody(slot=2)
    before, original = list(song.tracks), source.snapshot()
    result = _result([_clip("Chords", 60)], [_clip("Chords", 62)], [_clip("Chords", 64)])
    report = placement.place(song, view.selected_clip(song), "harmonize", result, "chords")
    assert report == "3 candidates on new track 'Chords'"
    new = sets.new_tracks(song, before)
    assert [t.name for t in song.tracks] == ["Bass", "Lead", "Chords", "Pads"]
    slots = new[0].clip_slots
    assert [slots[i].clip.name for i in (2, 3, 4)] == [
        "Harmony 1/3 (chords)", "Harmony 2/3 (chords)", "Harmony 3/3 (chords)"]
    assert not slots[0].has_clip and not slots[5].has_clip
    assert sets.notes_of(slots[3].clip) == [(62, float(b), 1.0, 90.0) for b in range(4)]
    assert slots[2].clip.length == 8.0
    assert source.snapshot() == original
    assert song.view.detail_clip is source and song.view.selected_track is lead


def test_a_result_with_parts_gets_a_track_per_part_in_order():
    song, _, _ = sets.session_melody(slot=0)
    parts = [_clip("Alto", 67, kind="melody"), _clip("Tenor", 60, kind="melody"),
             _clip("Bass", 48, kind="bass")]
    placement.place(song, view.selected_clip(song), "harmonize", _result(parts, parts), "chorale")
    assert [t.name for t in song.tracks] == ["Bass", "Lead", "Alto", "Tenor", "Bass", "Pads"]
    assert song.tracks[2].clip_slots[1].clip.name == "Harmony 2/2 (chorale)"
    assert song.tracks[4].clip_slots[0].clip.name == "Harmony 1/2 (chorale)"


def test_the_whole_action_is_one_undo_step():
    song, _, _ = sets.session_melody(slot=7, scenes=8)
    before = _state(song)
    placement.place(song, view.selected_clip(song), "vary",
                    _result([_clip("A", 60)], [_clip("A", 61)], [_clip("A", 62)]))
    assert len(song.scenes) == 10  # slots 7, 8, 9: two scenes added
    assert song.undo_steps() == 1
    song.undo()
    assert _state(song) == before


@pytest.mark.parametrize("version", fake_live.LIVE_VERSIONS)
def test_arrangement_result_sits_at_the_source_position_alternatives_in_slots(version):
    song, lead, source = sets.arrangement_melody(version=version, position=16.0)
    before, original = list(song.tracks), source.snapshot()
    placement.place(song, view.selected_clip(song), "harmonize",
                    _result([_clip("Chords", 60)], [_clip("Chords", 62)]))
    new = sets.new_tracks(song, before)[0]
    assert song.tracks.index(new) == 1
    (placed,) = new.arrangement_clips
    assert (placed.start_time, placed.length, placed.name) == (16.0, 8.0, "Harmony 1/2 (Chords)")
    assert sets.notes_of(placed)[0] == (60, 0.0, 1.0, 90.0)
    assert new.clip_slots[0].clip.name == "Harmony 2/2 (Chords)"
    assert source.snapshot() == original and song.undo_steps() == 1


@pytest.mark.parametrize("version", fake_live.LIVE_VERSIONS)
def test_a_continuation_goes_after_the_source(version):
    song, _, _ = sets.arrangement_melody(version=version, position=16.0)
    placement.place(song, view.selected_clip(song), "continue", _result([_clip("Lead", 72, 16.0)]))
    (placed,) = song.tracks[1].arrangement_clips
    assert (placed.start_time, placed.length, placed.name) == (24.0, 16.0, "Continuation (Lead)")
    assert song.undo_steps() == 1 and not any(s.has_clip for s in song.tracks[1].clip_slots)


def test_a_continuation_of_a_stretched_loop_goes_after_its_right_edge():
    song, lead, source = sets.arrangement_melody(position=16.0)
    source.looping, source._end_time = True, 48.0  # the 8-beat loop drawn out to beat 48
    placement.place(song, view.selected_clip(song), "continue", _result([_clip("Lead", 72, 8.0)]))
    (placed,) = song.tracks[1].arrangement_clips
    assert placed.start_time == 48.0


def test_live_11_reaches_the_arrangement_through_a_session_slot():
    song, _, _ = sets.arrangement_melody(version="11.2", position=32.0)
    before = _state(song)
    placement.place(song, view.selected_clip(song), "harmonize", _result([_clip("Chords", 60)]))
    new = song.tracks[1]
    (placed,) = new.arrangement_clips
    assert (placed.start_time, placed.name) == (32.0, "Harmony (Chords)")
    assert sets.notes_of(placed)[0] == (60, 0.0, 1.0, 90.0)
    assert not any(slot.has_clip for slot in new.clip_slots)
    assert song.undo_steps() == 1
    song.undo()
    assert _state(song) == before


def test_an_empty_result_changes_nothing():
    song, _, _ = sets.session_melody()
    assert placement.place(song, view.selected_clip(song), "vary", {"candidates": []}) == \
        "the engine sent no clips"
    assert song.undo_steps() == 0
