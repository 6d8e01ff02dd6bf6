"""Real music for the model tests: chorales of the music21 corpus (through the corpus loaders),
Groove MIDI performances from ../shared/data (resolved from the repository root) and small
hand-written melodies with the features harmonization must handle; and a checker of the token
grammar for what the decoder writes."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest

from models.net import vocab as V
from models.representation import Note, Part, Piece

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
GROOVE_DIR = DATA_DIR / "groove"
JSB_FILE = DATA_DIR / "jsb" / "jsb-chorales-16th-satb.json"

needs_groove = pytest.mark.skipif(
    not (GROOVE_DIR / "info.csv").exists(),
    reason=f"the Groove MIDI files are not here ({GROOVE_DIR}; ../shared/data is absent)")
needs_jsb = pytest.mark.skipif(
    not JSB_FILE.exists(), reason=f"the JSB chorales are not here ({JSB_FILE}; ../shared/data is absent)")


@functools.cache
def chorale(name: str) -> Piece:
    """A Bach chorale of the music21 corpus ('bwv66.6.mxl') as the corpus loader reads it."""
    from models.data.chorales import parse_chorale
    from models.data.score import corpus_root

    piece, reason = parse_chorale(corpus_root() / "bach" / name)
    assert piece is not None, f"{name}: {reason}"
    return piece


@functools.cache
def folk_tune(collection_file: str, number: str) -> Piece:
    """One ABC tune of the music21 folk collections ('oneills1850/0550-0625.abc', '553')."""
    from models.data.folk import parse_tune, split_tunes
    from models.data.score import corpus_root

    header, tunes = split_tunes((corpus_root() / collection_file).read_text(encoding="utf-8"))
    text = next(t for t in tunes if t.startswith(f"X:{number}\n") or t.startswith(f"X: {number}\n"))
    piece, reason = parse_tune((f"music21:{collection_file}#{number}", header + text))
    assert piece is not None, f"{collection_file}#{number}: {reason}"
    return piece


@functools.cache
def groove_rows() -> dict[str, dict[str, str]]:
    with open(GROOVE_DIR / "info.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


@functools.cache
def groove(performance: str) -> Piece:
    """One Groove performance ('drummer1/session1/1') as a one-track drum Piece, built the way
    models.data.groove.load_groove builds it."""
    from models.data.groove import groove_style, read_drums
    from models.data.score import bar_ceil

    row = groove_rows()[performance]
    num, den = (int(x) for x in row["time_signature"].split("-"))
    notes, bpm = read_drums(GROOVE_DIR / row["midi_filename"])
    length = bar_ceil(max(n.end for n in notes), num * 4.0 / den)
    part = Part(notes, length, (num, den), bpm or float(row["bpm"]), None, name="Drums", kind="drums")
    return Piece((("drums", part),), groove_style(row["style"]), f"groove:{performance}", "train",
                 {"beat_type": row["beat_type"]})


def melody(notes: list[tuple[int, float, float]], length: float, time_signature: tuple[int, int] = (4, 4),
           key: str | None = None, velocity: int = 96) -> Part:
    """A melody clip from (pitch, start, duration) triples."""
    return Part(tuple(Note(p, s, d, velocity) for p, s, d in notes), length, time_signature, 100.0, key,
                name="Melody", kind="melody")


def in_quarters(pitches: list[int], start: float = 0.0, beats: float = 1.0) -> list[tuple[int, float, float]]:
    """Consecutive notes of ``beats`` each from ``start``."""
    return [(p, start + i * beats, beats) for i, p in enumerate(pitches)]


def chorale_soprano(name: str, bars: int) -> Part:
    """The first ``bars`` bars of a chorale's soprano as a melody clip (its pickup kept as the
    rest that opens the first bar)."""
    soprano = chorale(name).part("melody")
    assert soprano is not None
    length = bars * soprano.beats_per_bar
    notes = tuple(Note(n.pitch, n.start, min(n.duration, length - n.start), 96)
                  for n in soprano.notes if n.start < length)
    return Part(notes, length, soprano.time_signature, soprano.tempo, soprano.key, name="Soprano",
                kind="melody")


def _lane(names: list[str], i: int) -> list[str]:
    """The chord lane's tokens from ``i`` (after HARM): (POS CHORD [SLASH])*, positions rising."""
    j, pos = i, -1
    while names[j].startswith("POS_"):
        assert int(names[j][4:]) > pos and names[j + 1].startswith("CHORD_"), names[j:j + 2]
        pos = int(names[j][4:])
        j += 3 if names[j + 2].startswith("SLASH_") else 2
    return names[i:j]


def lanes_of(tokens: list[int]) -> list[list[tuple[int, str]]]:
    """Per bar, the chord lane's (position, CHORD token[+SLASH token])."""
    names = [V.VOCAB.tokens[t] for t in tokens]
    out: list[list[tuple[int, str]]] = []
    for i, tok in enumerate(names):
        if tok == "HARM":
            lane = _lane(names, i + 1)
            out.append([(int(lane[k][4:]), "+".join(x for x in lane[k + 1:k + 3] if not x.startswith("POS_")))
                        for k in range(len(lane)) if lane[k].startswith("POS_")])
    return out


def bars_of(tokens: list[int]) -> list[dict[str, list[tuple[int, int, int]]]]:
    """The token grammar, checked: BAR [FILL] [HARM chord lane], then tracks in role order, notes as
    [POS] PITCH DUR [VEL];
    returns per bar {role: [(pos, pitch, duration ticks)]}."""
    names = [V.VOCAB.tokens[t] for t in tokens]
    end = names.index("EOS")
    assert names[0] == "BOS" and set(names[end + 1:]) <= {"PAD"}, "rows done early are padded in lockstep"
    names = names[:end + 1]
    bars: list[dict[str, list[tuple[int, int, int]]]] = []
    role, pos, i = None, -1, 5
    while names[i] != "EOS":
        tok = names[i]
        if tok == "BAR":
            bars.append({})
            role = None
            i += names[i + 1] == "FILL"
            if names[i + 1] == "HARM":
                i += 1 + len(_lane(names, i + 2))
        elif tok.startswith("TRK_"):
            new = tok[4:]
            assert role is None or V.ROLE_ORDER.index(new) > V.ROLE_ORDER.index(role), names[i - 3:i + 1]
            role, pos = new, -1
            bars[-1][role] = []
        elif tok.startswith("POS_"):
            assert role is not None and int(tok[4:]) > pos, "positions rise within a track"
            pos = int(tok[4:])
            assert names[i + 1].startswith("PITCH_")
        elif tok.startswith("PITCH_"):
            assert role is not None and pos >= 0 and names[i + 1].startswith("DUR_")
            if role in V.MONOPHONIC_ROLES:
                assert names[i - 1].startswith("POS_"), f"{role}: two notes at one position"
            bars[-1][role].append((pos, int(tok[6:]), int(names[i + 1][4:])))
            i += 1
            if role in V.VELOCITY_ROLES:
                assert names[i + 1].startswith("VEL_"), f"{role}: a note without its velocity"
                i += 1
        else:
            raise AssertionError(f"unexpected {tok} at {i}")
        i += 1
    return bars
