"""Real Standard MIDI Files for the tests, written with mido: a one-track type 0 tune and a
DAW-like type 1 export (conductor track, drums, bass, chords, lead)."""

from __future__ import annotations

from pathlib import Path

import mido


def _notes(track: mido.MidiTrack, notes: list[tuple[int, int, int]], channel: int, tpb: int) -> None:
    """Append (pitch, start beat*tpb, length ticks) notes in time order."""
    events = []
    for pitch, start, length in notes:
        events.append((start, 1, mido.Message("note_on", note=pitch, velocity=96, channel=channel)))
        events.append((start + length, 0, mido.Message("note_on", note=pitch, velocity=0, channel=channel)))
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick


def type0_tune(path: Path, tpb: int = 96, bars: int = 4) -> Path:
    """A waltz tune (3/4, 90 bpm, G major) on channel 1, all in one track."""
    midi = mido.MidiFile(type=0, ticks_per_beat=tpb)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)),
        mido.MetaMessage("time_signature", numerator=3, denominator=4),
        mido.MetaMessage("key_signature", key="G"),
    ])
    scale = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 69]
    _notes(track, [(scale[i % 12], i * tpb, tpb - 8) for i in range(bars * 3)], 0, tpb)
    midi.tracks.append(track)
    midi.save(str(path))
    return path


def daw_export(path: Path, tpb: int = 480, bars: int = 4) -> Path:
    """What a DAW writes: a conductor track, then Drums (ch 10), Bass, Chords and Lead tracks."""
    midi = mido.MidiFile(type=1, ticks_per_beat=tpb)
    midi.tracks.append(mido.MidiTrack([
        mido.MetaMessage("track_name", name="Song"),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(128)),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
    ]))
    beats = bars * 4
    layout = {
        "Drums": (9, [(36 if b % 2 == 0 else 38, b * tpb, tpb // 4) for b in range(beats)]),
        "Bass": (1, [(36 + (b // 4) % 3, b * tpb, tpb - 20) for b in range(beats)]),
        "Chords": (2, [(p, bar * 4 * tpb, 4 * tpb - 20) for bar in range(bars) for p in (60, 64, 67)]),
        "Lead Synth": (3, [(72 + (b * 5) % 7, b * tpb // 2, tpb // 2 - 10) for b in range(beats * 2)]),
    }
    for name, (channel, notes) in layout.items():
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name),
                                mido.Message("program_change", program=33 if name == "Bass" else 0, channel=channel)])
        _notes(track, notes, channel, tpb)
        midi.tracks.append(track)
    midi.save(str(path))
    return path
