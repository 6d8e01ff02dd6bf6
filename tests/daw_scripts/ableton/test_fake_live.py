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


def test_create_midi_clip_is_live_12_only():
    assert hasattr(fake_live.Song(version=12).add_track("A"), "create_midi_clip")
    assert not hasattr(fake_live.Song(version=11).add_track("A"), "create_midi_clip")
