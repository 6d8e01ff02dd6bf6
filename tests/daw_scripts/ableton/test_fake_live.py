"""The fake Live keeps the host's rules the script depends on (undo steps, main thread, slots,
note windows, MIDI forwarding), so a script that passes here respects them in Live."""

import threading

import fake_live
import pytest


def test_changes_outside_an_undo_step_are_one_step_each_and_a_step_groups_them():
    song = fake_live.Song()
    song.create_midi_track(0)
    song.create_midi_track(1)
    assert song.undo_steps() == 2
    song.begin_undo_step()
    song.create_midi_track(0)
    song.tracks[0].name = "Alto"
    song.tracks[0].clip_slots[0].create_clip(4.0)
    song.end_undo_step()
    assert song.undo_steps() == 3
    song.undo()
    assert [t.name for t in song.tracks] == ["1-MIDI", "2-MIDI"]


def test_the_lom_refuses_other_threads():
    song = fake_live.Song()
    failures = []

    def worker():
        try:
            song.create_midi_track(-1)
        except RuntimeError as exc:
            failures.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert failures and not song.tracks


def test_clip_slots_take_one_midi_clip():
    song = fake_live.Song()
    midi, audio = song.add_track("Keys"), song.add_track("Vox", midi=False)
    clip = midi.clip_slots[0].create_clip(8.0)
    assert (clip.looping, clip.loop_start, clip.loop_end, clip.length) == (True, 0.0, 8.0, 8.0)
    with pytest.raises(RuntimeError):
        midi.clip_slots[0].create_clip(4.0)
    with pytest.raises(RuntimeError):
        audio.clip_slots[0].create_clip(4.0)


def test_get_notes_extended_returns_notes_starting_in_the_area():
    song = fake_live.Song()
    clip = fake_live.add_session_clip(song.add_track("Keys"), 0, 8.0,
                                      [(60, 0.0, 4.0, 100), (64, 3.5, 1.0, 90), (67, 4.0, 1.0, 80)])
    assert [n.pitch for n in clip.get_notes_extended(0, 128, 1.0, 3.0)] == [64]
    assert [n.pitch for n in clip.get_notes_extended(61, 10, 0.0, 8.0)] == [64, 67]
    with pytest.raises(TypeError):
        clip.add_new_notes(((60, 0.0, 1.0, 100),))


def test_create_midi_clip_is_live_12_1_on_and_returns_the_clip_only_from_12_3():
    made = {}
    for version in fake_live.LIVE_VERSIONS:
        track = fake_live.Song(version=version).add_track("A")
        if hasattr(track, "create_midi_clip"):
            made[version] = track.create_midi_clip(4.0, 8.0)
            assert [c.start_time for c in track.arrangement_clips] == [4.0]
    assert sorted(made) == ["12.1", "12.3"]
    assert made["12.1"] is None and made["12.3"].length == 8.0


def test_each_version_has_its_python_and_its_scale():
    assert fake_live.APIS["11.2"].python == (3, 7)
    assert {fake_live.APIS[v].python for v in ("12.0", "12.1", "12.3")} == {(3, 11)}
    assert not hasattr(fake_live.Song(version="11.2"), "scale_name")
    assert fake_live.Song(version="12.0").scale_name == "Major"


def test_a_stretched_loop_ends_at_its_right_edge():
    track = fake_live.Song().add_track("A")
    clip = fake_live.add_arrangement_clip(track, 8.0, 4.0, [], end_time=24.0, looping=True)
    assert (clip.length, clip.end_time) == (4.0, 24.0)
