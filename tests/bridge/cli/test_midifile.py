"""Reading and writing Standard MIDI Files: type 0 and 1, tempo, metre, key, part choice."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from bridge.cli import midifile
from bridge.cli.midifile import MidiFileError
from tests.bridge.midi_files import daw_export, type0_tune


def test_type0_tune_keeps_tempo_metre_and_key(tmp_path: Path) -> None:
    song = midifile.read(type0_tune(tmp_path / "tune.mid"))
    assert (song.tempo, song.time_signature, song.key, song.length) == (90.0, (3, 4), "G major", 12.0)
    clip = song.clip(midifile.choose(song))
    assert len(clip.notes) == 12 and clip.notes[1].start == 1.0
    assert clip.notes[0].duration == pytest.approx(88 / 96, abs=1e-6)


def test_daw_export_picks_the_lead_and_the_drums(tmp_path: Path) -> None:
    song = midifile.read(daw_export(tmp_path / "song.mid"))
    assert [p.name for p in song.parts] == ["Drums", "Bass", "Chords", "Lead Synth"]
    assert midifile.choose(song, "melody").name == "Lead Synth"
    assert midifile.choose(song, "drums").name == "Drums"
    assert midifile.choose(song, "melody", "bass").name == "Bass"
    assert midifile.choose(song, "melody", "2").name == "Chords"
    with pytest.raises(MidiFileError, match="the parts are"):
        midifile.choose(song, "melody", "violin")
    assert song.clip(song.parts[0]).kind == "drums"


def test_melody_is_the_highest_single_line_when_names_say_nothing(tmp_path: Path) -> None:
    path = daw_export(tmp_path / "song.mid")
    midi = mido.MidiFile(str(path))
    for track in midi.tracks[1:]:
        track[0] = mido.MetaMessage("track_name", name="Track")
    midi.save(str(path))
    song = midifile.read(path)
    assert midifile.choose(song).channel == 3


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    song = midifile.read(daw_export(tmp_path / "song.mid"))
    clips = [(song.clip(p), 0.0) for p in song.parts]
    midifile.write(tmp_path / "out.mid", clips + [(clips[3][0], 16.0)], song.tempo, song.time_signature, "A minor")
    again = midifile.read(tmp_path / "out.mid")
    assert again.tempo == 128.0 and again.key == "A minor" and again.length == 32.0
    assert [len(p.notes) for p in again.parts] == [len(p.notes) for p in song.parts] + [32]
    assert again.parts[0].is_drums and not again.parts[1].is_drums
    assert again.parts[4].notes[0][1] == 16.0


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd not really")
    with pytest.raises(MidiFileError, match="not a readable MIDI file"):
        midifile.read(junk)
    empty = tmp_path / "empty.mid"
    mido.MidiFile(type=1).save(str(empty))
    with pytest.raises(MidiFileError, match="no notes"):
        midifile.choose(midifile.read(empty))


def test_tempo_map_programs_and_notices(tmp_path: Path) -> None:
    path = type0_tune(tmp_path / "tune.mid")
    midi = mido.MidiFile(str(path))
    track = midi.tracks[0]
    track.insert(3, mido.Message("program_change", program=73, channel=0))
    track.insert(len(track) - 1, mido.MetaMessage("time_signature", numerator=4, denominator=4))
    midi.save(str(path))
    song = midifile.read(path)
    assert song.parts[0].programs == [(0.0, 73)] and song.parts[0].program_at(5.0) == 73
    assert song.notices == [f"{path} changes metre; every part is read in the first one, 3/4"]
    clip = song.clip(song.parts[0])
    midifile.write(tmp_path / "out.mid", [(clip, 0.0)], time_signature=(3, 4), key="Db minor",
                   tempos=[(0.0, 90.0), (3.0, 60.0), (6.0, 90.0)], programs=[[(0.0, 73), (6.0, 74)]])
    again = midifile.read(tmp_path / "out.mid")
    assert again.key == "C# minor" and again.tempos == [(0.0, 90.0), (3.0, 60.0), (6.0, 90.0)]
    assert again.parts[0].programs == [(0.0, 73), (6.0, 74)] and len(again.notices) == 1


def _held_over_the_bar_line(path: Path, channel: int) -> Path:
    """Two bars of eighths in 4/4, the last one held half a beat past the end of bar 2."""
    from tests.bridge.midi_files import _notes

    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4)])
    _notes(track, [(42 if channel == 9 else 60, i * 240, 240 if i < 15 else 480) for i in range(16)], channel, 480)
    midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_a_drum_hit_held_over_the_bar_line_does_not_add_a_bar(tmp_path: Path) -> None:
    """A drum hit is a one-shot: a two-bar loop whose last hat rings past the bar line stays two
    bars (a fill or a continuation goes where the loop ends); a held pitched note still counts."""
    assert midifile.read(_held_over_the_bar_line(tmp_path / "drums.mid", 9)).length == 8.0
    assert midifile.read(_held_over_the_bar_line(tmp_path / "keys.mid", 0)).length == 12.0
