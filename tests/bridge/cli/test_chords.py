"""Chords on the command line (bridge/cli/chords.py) with real MIDI files and the shipped model
in-process: --chords text, `dawbridge chords IN.mid`, the plan written as marker events, a chord
part answered with a bass line that follows it, and a drum part refused by its kind."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from bridge.cli import main as cli
from bridge.cli import midifile
from bridge.cli.chords import parse_progression
from tests.bridge.midi_files import _notes

AM_F_C_G = [(57, 60, 64), (57, 60, 65), (55, 60, 64), (55, 59, 62)]


def song_file(path: Path, tracks: dict[str, tuple[int, list[tuple[int, int, int]]]], tpb: int = 480) -> Path:
    """A type 1 file in 4/4 at 100 bpm: one track per name, (channel, [(pitch, start, length)])."""
    midi = mido.MidiFile(type=1, ticks_per_beat=tpb)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)),
                                       mido.MetaMessage("time_signature", numerator=4, denominator=4)]))
    for name, (channel, notes) in tracks.items():
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        _notes(track, notes, channel, tpb)
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def daw_song(path: Path, tpb: int = 480) -> Path:
    """Lead, keys playing Am-F-C-G (a chord a bar), bass and drums: what a producer exports."""
    lead = [72, 71, 72, 76, 77, 76, 72, 69, 67, 72, 76, 79, 74, 71, 67, 71]
    return song_file(path, {
        "Lead": (0, [(p, i * tpb, tpb - 10) for i, p in enumerate(lead)]),
        "Keys": (1, [(p, bar * 4 * tpb, 4 * tpb - 10) for bar, chord in enumerate(AM_F_C_G) for p in chord]),
        "Bass": (2, [(r, bar * 4 * tpb, 4 * tpb - 10) for bar, r in enumerate((45, 41, 48, 43))]),
        "Drums": (9, [(36 if b % 2 == 0 else 38, b * tpb, tpb // 4) for b in range(16)]),
    }, tpb)


def markers(path: Path) -> list[tuple[float, str]]:
    midi = mido.MidiFile(str(path))
    now, out = 0, []
    for message in midi.tracks[0]:
        now += message.time
        if message.type == "marker":
            out.append((now / midi.ticks_per_beat, message.text))
    return out


def test_chords_text_reads_bars_and_beat_lengths() -> None:
    assert parse_progression("Am F C G", 4.0) == [{"start": 0.0, "symbol": s} | {"start": 4.0 * i}
                                                  for i, s in enumerate(["Am", "F", "C", "G"])]
    assert [c["start"] for c in parse_progression("Am:2 G:2 F", 4.0)] == [0.0, 2.0, 4.0]
    assert [c["start"] for c in parse_progression("D G A", 3.0, pickup=1.0)] == [0.0, 4.0, 7.0]
    assert [c["start"] for c in parse_progression("Am | F | C", 6 * 4 / 8)] == [0.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="chord symbol 'Hm' is not understood"):
        parse_progression("Am Hm", 4.0)
    with pytest.raises(ValueError, match="'Am:x'"):
        parse_progression("Am:x", 4.0)


def test_chords_command_reads_a_keys_part_and_plans_under_a_lead(tmp_path: Path, capsys) -> None:
    song = daw_song(tmp_path / "song.mid")
    assert cli.main(["chords", str(song), "--track", "Keys"]) == 0
    out = capsys.readouterr().out
    assert "chords read from" in out and "progression: Am F C G" in out
    assert cli.main(["chords", str(song)]) == 0
    out = capsys.readouterr().out
    assert "chord plan for [0] Lead" in out and "bar   4" in out


def test_harmonize_follows_given_chords_and_writes_the_plan_as_markers(tmp_path: Path, capsys) -> None:
    song, out = daw_song(tmp_path / "song.mid"), tmp_path / "out.mid"
    code = cli.main(["harmonize", str(song), "-o", str(out), "--in-process", "--device", "cpu",
                     "--style", "bass", "--chords", "Am F C G", "--seed", "1"])
    assert code == 0, capsys.readouterr().err
    assert markers(out) == [(0.0, "Am"), (4.0, "F"), (8.0, "C"), (12.0, "G")]
    bass = midifile.read(out).parts[-1]
    on_bars = [p % 12 for p, start, _, _ in bass.notes if start % 4 == 0]
    assert on_bars == [9, 5, 0, 7]
    assert min(p for p, *_ in bass.notes) >= 28


def test_a_keys_part_is_answered_with_a_bass_line_of_its_chords(tmp_path: Path, capsys) -> None:
    song, out = daw_song(tmp_path / "song.mid"), tmp_path / "out.mid"
    code = cli.main(["harmonize", str(song), "-o", str(out), "--in-process", "--device", "cpu",
                     "--style", "bass", "--track", "Keys"])
    assert code == 0, capsys.readouterr().err
    assert [text for _, text in markers(out)] == ["Am", "F", "C", "G"]
    bass = midifile.read(out).parts[-1]
    assert [p % 12 for p, start, _, _ in bass.notes if start % 4 == 0] == [9, 5, 0, 7]


def test_a_drum_part_is_refused_by_its_kind(tmp_path: Path, capsys) -> None:
    drums = song_file(tmp_path / "drums.mid", {"Drums": (9, [(36 if b % 2 == 0 else 38, b * 480, 120)
                                                              for b in range(16)])})
    code = cli.main(["harmonize", str(drums), "-o", str(tmp_path / "out.mid"), "--in-process", "--device", "cpu"])
    assert code == 1
    err = capsys.readouterr().err
    assert "invalid_request" in err and "clip.kind is drums" in err


def test_a_lead_follows_the_keys_part_of_its_file(tmp_path: Path, capsys) -> None:
    song, out = daw_song(tmp_path / "song.mid"), tmp_path / "out.mid"
    code = cli.main(["harmonize", str(song), "-o", str(out), "--in-process", "--device", "cpu", "--style", "chords"])
    assert code == 0, capsys.readouterr().err
    assert "following the chords of [1] Keys" in capsys.readouterr().err
    assert [text for _, text in markers(out)] == ["Am", "F", "C", "G"]
    chords = midifile.read(out).parts[-1]
    fitting = {0: {9, 0, 4}, 1: {5, 9, 0}, 2: {0, 4, 7}, 3: {7, 11, 2}}
    assert all(p % 12 in fitting[int(start // 4)] for p, start, _, _ in chords.notes)
    onsets = {start for _, start, _, _ in chords.notes}
    assert all(sum(1 for _, s, _, _ in chords.notes if s == t) >= 3 for t in onsets)


def test_a_pickup_exported_at_tick_0_is_read_and_said(tmp_path: Path, capsys) -> None:
    """A 6/8 tune whose eighth-note pickup a notation program wrote at the file's start."""
    tune = [(69, 0.5), (74, 1), (73, 0.5), (74, 1), (76, 0.5), (78, 1.5), (76, 1.5), (74, 1), (76, 0.5), (78, 1),
            (79, 0.5), (81, 3), (79, 1), (78, 0.5), (76, 1), (74, 0.5), (73, 1.5), (69, 1.5), (71, 1), (73, 0.5),
            (74, 1), (76, 0.5), (74, 2.5)]
    notes, at = [], 0.0
    for pitch, beats in tune:
        notes.append((pitch, round(at * 480), round(beats * 480) - 10))
        at += beats
    song = song_file(tmp_path / "jig.mid", {"Tune": (0, notes)})
    midi = mido.MidiFile(str(song))
    midi.tracks[0][1] = mido.MetaMessage("time_signature", numerator=6, denominator=8)
    midi.save(str(song))
    out = tmp_path / "out.mid"
    assert cli.main(["harmonize", str(song), "-o", str(out), "--in-process", "--device", "cpu",
                     "--style", "bass"]) == 0
    assert "a pickup of 0.5 beats was read from the melody" in capsys.readouterr().err
    starts = [beat for beat, _ in markers(out)]
    assert starts[0] == 0.0 and all((s - 0.5) % 3 == 0 for s in starts[1:])
    bass = midifile.read(out).parts[-1]
    assert all((start - 0.5) % 1.5 == 0 for _, start, _, _ in bass.notes if start > 0)
