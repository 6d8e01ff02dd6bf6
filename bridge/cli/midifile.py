"""Standard MIDI Files in and out (mido): the parts of a type 0 or type 1 file as protocol
Clips, the choice of which part is the melody (or the drums), and writing results back.

Times become quarter-note beats from the start of the file. The model hears the first tempo
and time signature; tempo changes and each part's program changes are kept for the written
file, later metre changes are ignored (both reported in ``Song.notices``, for the command to
say). A part is one track and channel, so type 0 files split by channel.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import mido

from bridge.protocol import MAX_CLIP_BEATS, MAX_NOTES_PER_CLIP, Clip, ClipKind, Note
from models.keys import canonical_key, key_name, parse_key

Programs = list[tuple[float, int]]  # (beat, General MIDI program 0..127), in time order

DRUM_CHANNEL = 9
TICKS_PER_BEAT = 480
ONE_SHOT = 1 / TICKS_PER_BEAT  # beats a drum hit counts towards the music's length, however long it is held
MELODY_WORDS = ("melody", "lead", "vocal", "voice", "soprano", "tune", "solo", "theme", "sing")
ACCOMPANIMENT_WORDS = ("bass", "chord", "pad", "accomp", "comp", "drum", "perc", "harmony", "rhythm")
DRUM_WORDS = ("drum", "perc", "kit", "beat", "groove")


class MidiFileError(ValueError):
    """A file that cannot be used; the message names the file and what is wrong."""


@dataclass
class FilePart:
    """The notes of one track and channel."""

    index: int
    name: str
    channel: int
    notes: list[tuple[int, float, float, int]] = field(default_factory=list)  # pitch, start, duration, velocity
    programs: Programs = field(default_factory=list)

    def program_at(self, beat: float) -> int | None:
        """The program sounding at ``beat`` (the first one before any change), None when the
        file sets none."""
        earlier = [program for at, program in self.programs if at <= beat]
        return earlier[-1] if earlier else self.programs[0][1] if self.programs else None

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL

    def describe(self) -> str:
        kind = "drums" if self.is_drums else f"channel {self.channel + 1}"
        return f"[{self.index}] {self.name or 'unnamed'} ({kind}, {len(self.notes)} notes)"


@dataclass
class Song:
    """What a MIDI file holds, in beats."""

    parts: list[FilePart]
    length: float
    tempo: float | None
    time_signature: tuple[int, int]
    key: str | None
    tempos: list[tuple[float, float]] = field(default_factory=list)  # (beat, bpm): every tempo change
    notices: list[str] = field(default_factory=list)  # what the file holds that the model does not hear

    def clip(self, part: FilePart, kind: ClipKind | None = None) -> Clip:
        """``part`` as a validated protocol Clip over the whole song."""
        if len(part.notes) > MAX_NOTES_PER_CLIP:
            raise MidiFileError(f"{part.describe()} has more than {MAX_NOTES_PER_CLIP} notes")
        notes = [Note(pitch=p, start=s, duration=d, velocity=v, channel=part.channel) for p, s, d, v in part.notes]
        return Clip(notes=notes, length=self.length, time_signature=self.time_signature, tempo=self.tempo,
                    key=self.key, name=part.name or None,
                    kind=kind or ("drums" if part.is_drums else None))


def read(path: str | Path) -> Song:
    """Read a type 0 or type 1 Standard MIDI File; raises MidiFileError."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MidiFileError(f"{path}: not a readable MIDI file ({exc})") from exc
    if midi.type == 2:
        raise MidiFileError(f"{path}: type 2 MIDI files (independent sequences) are not supported")
    tpb = float(midi.ticks_per_beat)
    tempos: list[tuple[float, float]] = []
    metres: list[tuple[int, int]] = []
    keys: list[str] = []
    parts: dict[tuple[int, int], FilePart] = {}
    programs: dict[tuple[int, int], Programs] = defaultdict(list)  # (track, channel) -> changes
    end = 0.0
    for track_index, track in enumerate(midi.tracks):
        name = ""
        tick = 0
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for message in track:
            tick += message.time
            if message.type == "track_name" and not name:
                name = message.name.strip()
            elif message.type == "set_tempo":
                tempos.append((round(tick / tpb, 6), min(400.0, max(10.0, round(mido.tempo2bpm(message.tempo), 3)))))
            elif message.type == "program_change":
                programs[(track_index, message.channel)].append((round(tick / tpb, 6), message.program))
            elif message.type == "time_signature":
                metres.append((message.numerator, message.denominator))
            elif message.type == "key_signature":
                keys.append(canonical_key(message.key))
            elif message.type == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)].append((tick, message.velocity))
            elif message.type in ("note_off", "note_on"):
                started = sounding.get((message.channel, message.note))
                if started:
                    on, velocity = started.pop(0)
                    _add(parts, track_index, message.channel, message.note, on, tick, velocity, tpb)
        for (channel, pitch), left in sounding.items():
            for on, velocity in left:
                _add(parts, track_index, channel, pitch, on, tick, velocity, tpb)
        end = max(end, tick / tpb)
        for (index, _channel), part in parts.items():
            if index == track_index:
                part.name = name
    tempos = _tempo_map(tempos)
    notices = []
    if len(tempos) > 1:
        notices.append(f"{path} changes tempo {len(tempos) - 1} time(s); the model hears the first tempo "
                       f"({tempos[0][1]:g} bpm), the written file keeps the changes")
    metre = metres[0] if metres else (4, 4)
    if len(set(metres)) > 1:
        notices.append(f"{path} changes metre; every part is read in the first one, {metre[0]}/{metre[1]}")
    if not 1 <= metre[0] <= 32 or metre[1] not in (1, 2, 4, 8, 16, 32):
        raise MidiFileError(f"{path}: time signature {metre[0]}/{metre[1]} is not supported")
    bar = metre[0] * 4.0 / metre[1]
    # a drum hit is a one-shot: how long its note is held says nothing about where the music
    # ends (a hat held over the bar line of an 8-bar loop must not make it 9 bars)
    notes_end = max((s + (ONE_SHOT if p.is_drums else d) for p in parts.values() for _, s, d, _ in p.notes),
                    default=end)
    length = max(bar, math.ceil(round(notes_end / bar, 6)) * bar)
    if length > MAX_CLIP_BEATS:
        raise MidiFileError(f"{path}: the music is {length:g} beats long; the limit is {MAX_CLIP_BEATS:g} "
                            "beats (trim the file first)")
    ordered = sorted((p for p in parts.values() if p.notes), key=lambda p: (p.index, p.channel))
    for number, part in enumerate(ordered):
        part.notes.sort(key=lambda n: (n[1], n[0]))
        part.programs = sorted(programs.get((part.index, part.channel)) or  # else the channel's, set elsewhere
                               [change for (_, channel), changes in programs.items() if channel == part.channel
                                for change in changes])
        part.index = number
    return Song(ordered, length, tempos[0][1] if tempos else None, metre, keys[0] if keys else None,
                tempos, notices)


def _tempo_map(changes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Tempo changes in time order, one per beat (the last wins), repeats of the tempo dropped."""
    tempos: list[tuple[float, float]] = []
    for beat, bpm in sorted(dict(changes).items()):
        if not tempos or tempos[-1][1] != bpm:
            tempos.append((beat, bpm))
    return tempos


def _add(parts: dict[tuple[int, int], FilePart], track: int, channel: int, pitch: int, on: int, off: int,
         velocity: int, tpb: float) -> None:
    part = parts.setdefault((track, channel), FilePart(index=track, name="", channel=channel))
    duration = max(off - on, 1) / tpb
    part.notes.append((pitch, round(on / tpb, 6), round(duration, 6), min(max(velocity, 1), 127)))


def choose(song: Song, want: str = "melody", track: str | None = None) -> FilePart:
    """The part to send: ``track`` (an index or part of a name) when given, else the likeliest
    melody (``want="melody"``) or drum part (``want="drums"``)."""
    if not song.parts:
        raise MidiFileError("the file has no notes")
    if track is not None:
        return _named(song, track)
    if want == "drums":
        return max(song.parts, key=_drum_score)
    pitched = [p for p in song.parts if not p.is_drums] or song.parts
    return max(pitched, key=_melody_score)


def _named(song: Song, track: str) -> FilePart:
    if track.isdigit() and int(track) < len(song.parts):
        return song.parts[int(track)]
    matches = [p for p in song.parts if track.lower() in p.name.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(p.describe() for p in song.parts)
    raise MidiFileError(f"--track {track!r} names {'no' if not matches else 'more than one'} part; the parts are: {listing}")


def _melody_score(part: FilePart) -> float:
    name = part.name.lower()
    score = 100.0 * any(w in name for w in MELODY_WORDS) - 50.0 * any(w in name for w in ACCOMPANIMENT_WORDS)
    if len(part.notes) < 4:
        score -= 50.0
    overlaps = sum(1 for a, b in zip(part.notes, part.notes[1:], strict=False) if b[1] < a[1] + a[2] - 1e-6)
    mono = 1.0 - overlaps / max(1, len(part.notes) - 1)
    mean_pitch = sum(n[0] for n in part.notes) / max(1, len(part.notes))
    return score + 30.0 * mono + 20.0 * mean_pitch / 127.0


def _drum_score(part: FilePart) -> float:
    name = part.name.lower()
    return 100.0 * part.is_drums + 50.0 * any(w in name for w in DRUM_WORDS) + min(len(part.notes), 1000) / 1000


def write(path: str | Path, tracks: list[tuple[Clip, float]], tempo: float | None = None,
          time_signature: tuple[int, int] = (4, 4), key: str | None = None,
          tempos: list[tuple[float, float]] | None = None, programs: list[Programs] | None = None,
          markers: list[tuple[float, str]] | None = None) -> None:
    """Write a type 1 file: a conductor track (metre, key, ``tempo`` or the ``tempos`` map of
    (beat, bpm) changes, ``markers`` such as the chord plan as (beat, text) marker events), then
    one track per (clip, offset in beats), each with its ``programs`` (program changes, in beats
    of the track) when given."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor: list[tuple[int, int, mido.Message]] = [
        (0, 0, mido.MetaMessage("time_signature", numerator=time_signature[0], denominator=time_signature[1])),
    ]
    if key is not None:
        tonic, mode = key_name(*parse_key(key)).split()  # the spelling Standard MIDI Files have
        conductor.append((0, 0, mido.MetaMessage("key_signature", key=tonic + ("m" if mode == "minor" else ""))))
    for beat, bpm in tempos or [(0.0, tempo or 120.0)]:
        conductor.append((_tick(beat), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    conductor += [(_tick(beat), 2, mido.MetaMessage("marker", text=text)) for beat, text in markers or []]
    midi.tracks.append(_timed(conductor))
    pitched_channels = [c for c in range(16) if c != DRUM_CHANNEL]
    for number, (clip, offset) in enumerate(tracks):
        channel = DRUM_CHANNEL if is_drum_clip(clip) else pitched_channels[number % len(pitched_channels)]
        midi.tracks.append(_track(clip, offset, channel, programs[number] if programs else []))
    midi.save(str(path))


def is_drum_clip(clip: Clip) -> bool:
    """A clip for the drum channel: of kind drums, or all its notes on channel 10."""
    return clip.kind == "drums" or bool(clip.notes) and all(n.channel == DRUM_CHANNEL for n in clip.notes)


def _track(clip: Clip, offset: float, channel: int, programs: Programs) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message]] = [
        (_tick(beat), 0, mido.Message("program_change", program=program, channel=channel))
        for beat, program in programs]
    for note in clip.notes:
        on = _tick(offset + note.start)
        off = max(on + 1, _tick(offset + note.start + note.duration))
        events.append((on, 2, mido.Message("note_on", note=note.pitch, velocity=note.velocity, channel=channel)))
        events.append((off, 1, mido.Message("note_off", note=note.pitch, velocity=0, channel=channel)))
    return _timed([(0, 0, mido.MetaMessage("track_name", name=clip.name or "generated"))] + events)


def _tick(beat: float) -> int:
    return round(beat * TICKS_PER_BEAT)


def _timed(events: list[tuple[int, int, mido.Message]]) -> mido.MidiTrack:
    """A track of (absolute tick, order at that tick, message) events, with delta times."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    return track
