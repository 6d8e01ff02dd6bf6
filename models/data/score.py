"""Reading music21 scores into the representation: metre, pickup, key signature, tempo and
monophonic voices as `Note`s, plus the corpus-path naming and hashed splits that every
music21-based loader shares."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from music21 import chord, key, meter, note, stream, tempo

from models.constants import DEFAULT_VELOCITY, VALID_PERCENT
from models.representation import Note

_EPS = 1e-6


def corpus_root() -> Path:
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent


def corpus_source(path: str | Path) -> str:
    """'music21:bach/bwv1.6.mxl' for a file of the music21 corpus."""
    return "music21:" + Path(path).resolve().relative_to(corpus_root()).as_posix()


def hashed_split(source: str, valid_percent: int = VALID_PERCENT) -> str:
    """Deterministic train/valid assignment from the source name alone."""
    digest = hashlib.sha1(source.encode("utf-8")).digest()
    return "valid" if int.from_bytes(digest[:4], "big") % 100 < valid_percent else "train"


def metre(score: stream.Stream) -> tuple[int, int] | None:
    """The single time signature of a score, or None when it changes (or is absent)."""
    sigs = {(ts.numerator, ts.denominator) for ts in score.recurse().getElementsByClass(meter.TimeSignature)}
    return sigs.pop() if len(sigs) == 1 else None


def sharps(score: stream.Stream) -> int | None:
    """Sharps of the first key signature (negative for flats), None when there is none."""
    for ks in score.recurse().getElementsByClass(key.KeySignature):
        return int(ks.sharps)
    return None


def tempo_bpm(score: stream.Stream) -> float | None:
    """Quarter-note tempo of the first written metronome mark, None when none is written."""
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM()
        if bpm and not getattr(mark, "numberImplicit", False):
            return float(bpm)
    return None


def pickup_shift(part: stream.Part, bar: float) -> float:
    """Beats to add so that bar lines fall at multiples of `bar`: the rest before an anacrusis."""
    measures = part.getElementsByClass(stream.Measure)
    if not measures:
        return 0.0
    first = measures[0]
    if first.paddingLeft > _EPS:
        return float(first.paddingLeft)
    filled = float(first.highestTime)
    if len(measures) > 1 and _EPS < filled < bar - _EPS:
        return bar - filled
    return 0.0


def voice_notes(part: stream.Stream, shift: float, highest: bool = True) -> tuple[Note, ...]:
    """A monophonic voice: tied notes merged, grace notes dropped, chords reduced to their
    highest (or lowest) pitch, and a note cut where the next one starts."""
    events: list[list] = []  # [start, pitch, duration]
    for item in part.flatten().notes:
        dur = float(item.quarterLength)
        if dur <= _EPS or item.duration.isGrace:
            continue
        if isinstance(item, chord.Chord):
            midis = [p.midi for p in item.pitches]
            pitch = max(midis) if highest else min(midis)
        elif isinstance(item, note.Note):
            pitch = item.pitch.midi
        else:
            continue
        start = float(item.offset) + shift
        tie = item.tie.type if item.tie is not None else None
        prev = events[-1] if events else None
        if (tie in ("continue", "stop") and prev is not None and prev[1] == pitch
                and abs(prev[0] + prev[2] - start) < _EPS):
            prev[2] += dur
        else:
            events.append([start, pitch, dur])
    events.sort()
    notes: list[Note] = []
    for i, (start, pitch, dur) in enumerate(events):
        if i + 1 < len(events) and events[i + 1][0] < start + dur - _EPS:
            dur = events[i + 1][0] - start
        if dur > _EPS:
            notes.append(Note(pitch, round(start, 6), round(dur, 6), DEFAULT_VELOCITY))
    return tuple(notes)


def bar_ceil(length: float, bar: float) -> float:
    """`length` rounded up to whole bars."""
    return max(1, math.ceil(length / bar - _EPS)) * bar


def merged_pitches(notes: tuple[Note, ...]) -> list[int]:
    """The pitch sequence with repeated consecutive pitches merged (how a grid without note-on
    flags reads a melody)."""
    out: list[int] = []
    for n in notes:
        if not out or out[-1] != n.pitch:
            out.append(n.pitch)
    return out
