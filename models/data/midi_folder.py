"""A folder of the user's own MIDI files as training pieces, for `dawbridge train --data DIR`.

Each file becomes one piece: drum tracks (channel 10) -> drums, the highest pitched track ->
melody, the lowest -> bass, others with overlapping notes -> chords. Files are split 90/10 into
train and valid by a hash of their path, so the split never changes between runs.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import mido

from models.keys import estimate_key
from models.representation import Note, Part, Piece

log = logging.getLogger(__name__)
MIDI_SUFFIXES = (".mid", ".midi", ".smf")


def read_tracks(path: Path) -> tuple[list[tuple[list[Note], bool]], tuple[int, int], float | None, float]:
    """(notes, is_drum) per track with notes, the first time signature, tempo and length (beats)."""
    mid = mido.MidiFile(path)
    tpq = mid.ticks_per_beat
    ts, tempo, tracks, end = (4, 4), None, [], 0.0
    for track in mid.tracks:
        now, open_notes, notes, drum = 0, {}, [], False
        for msg in track:
            now += msg.time
            if msg.type == "time_signature" and now == 0:
                ts = (msg.numerator, msg.denominator)
            elif msg.type == "set_tempo" and tempo is None:
                tempo = round(mido.tempo2bpm(msg.tempo), 2)
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)] = (now, msg.velocity)
                drum = drum or msg.channel == 9
            elif msg.type in ("note_off", "note_on"):
                started = open_notes.pop((msg.channel, msg.note), None)
                if started is not None and now > started[0]:
                    notes.append(Note(msg.note, started[0] / tpq, (now - started[0]) / tpq, started[1]))
        if notes:
            tracks.append((sorted(notes, key=lambda n: (n.start, n.pitch)), drum))
            end = max(end, max(n.end for n in notes))
    return tracks, ts, tempo, end


def piece_from_file(path: Path) -> Piece | None:
    tracks, ts, tempo, end = read_tracks(path)
    if not tracks:
        return None
    bar = ts[0] * 4.0 / ts[1]
    length = max(bar, -(-end // bar) * bar)
    pitched = sorted((t for t, drum in tracks if not drum), key=lambda ns: -sum(n.pitch for n in ns) / len(ns))
    roles: list[tuple[str, list[Note]]] = []
    if pitched:
        roles.append(("melody", pitched[0]))
    if len(pitched) > 1:
        roles.append(("bass", pitched[-1]))
    if len(pitched) > 2:
        roles.append(("chords", [n for ns in pitched[1:-1] for n in ns]))
    drums = [n for t, drum in tracks if drum for n in t]
    if drums:
        roles.append(("drums", drums))
    key = estimate_key([n for _, ns in roles if _ != "drums" for n in ns]) if pitched else None
    parts = tuple(
        (role, Part(tuple(ns), length, ts, tempo, key, kind=role if role != "drums" else "drums"))
        for role, ns in roles
    )
    split = "valid" if int(hashlib.sha1(path.name.encode()).hexdigest(), 16) % 10 == 0 else "train"
    return Piece(parts, None, f"user:{path.name}", split)


def load_folder(folder: Path) -> dict[str, list[Piece]]:
    """{"train": [...], "valid": [...]} from every MIDI file under ``folder``."""
    if not folder.is_dir():
        raise SystemExit(f"--data {folder}: not a folder")
    out: dict[str, list[Piece]] = {"train": [], "valid": []}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES):
        try:
            piece = piece_from_file(path)
        except (OSError, ValueError, EOFError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        if piece is not None:
            out[piece.split].append(piece)
    return out
