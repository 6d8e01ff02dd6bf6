"""The Groove MIDI Dataset (Gillick, Tang, Roberts, Engel, Bamman 2019; CC BY 4.0) as one-track
drum Pieces: Roland TD-11 notes mapped to the nine GM drum classes of
`models.constants.DRUM_PITCH_MAP`, velocities and real (unquantized) onsets kept, style and
beat/fill labels from info.csv. The dataset's test split is not shipped here."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import mido

from models.constants import DRUM_PITCH_MAP
from models.data.score import bar_ceil
from models.net import vocab as V
from models.representation import Note, Part, Piece

log = logging.getLogger(__name__)

SPLITS = {"train": "train", "valid": "validation"}  # our name -> info.csv name
_MIN_DURATION = 1e-3  # beats


def groove_style(style_field: str) -> str | None:
    """The first style of info.csv's `style` ("jazz/funk" -> "jazz") if the vocabulary knows it."""
    first = style_field.split("/")[0].strip().lower()
    return first if first in V.DRUM_STYLES else None


def read_info(groove_dir: Path) -> list[dict[str, str]]:
    path = groove_dir / "info.csv"
    if not path.exists():
        raise FileNotFoundError(f"Groove MIDI info.csv not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_drums(path: Path, counts: Counter | None = None) -> tuple[tuple[Note, ...], float | None]:
    """Mapped drum notes in beats (onsets exactly as played) and the first tempo (quarter bpm)."""
    counts = counts if counts is not None else Counter()
    mid = mido.MidiFile(str(path))
    tpb = mid.ticks_per_beat
    bpm = None
    open_notes: dict[int, tuple[int, int]] = {}  # input pitch -> (start tick, velocity)
    notes: list[Note] = []

    def close(pitch: int, tick: int) -> None:
        start, vel = open_notes.pop(pitch)
        mapped = DRUM_PITCH_MAP.get(pitch)
        if mapped is None:
            counts["unmapped_notes"] += 1
            return
        notes.append(Note(mapped, round(start / tpb, 6),
                          round(max((tick - start) / tpb, _MIN_DURATION), 6), vel))

    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and bpm is None:
                bpm = round(mido.tempo2bpm(msg.tempo), 3)
            elif msg.type == "note_on" and msg.velocity > 0:
                if msg.note in open_notes:
                    close(msg.note, tick)
                open_notes[msg.note] = (tick, msg.velocity)
            elif msg.type in ("note_off", "note_on") and msg.note in open_notes:
                close(msg.note, tick)
        for pitch in list(open_notes):
            close(pitch, tick)
    notes.sort(key=lambda n: (n.start, n.pitch))
    return tuple(notes), bpm


def load_groove(split: str, groove_dir: Path, counts: Counter | None = None,
                limit: int | None = None) -> list[Piece]:
    """Groove performances of `split` ('train' or 'valid', info.csv's 'validation'); the first
    `limit` of them when given."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    counts = counts if counts is not None else Counter()
    pieces: list[Piece] = []
    for row in read_info(groove_dir):
        if row["split"] != SPLITS[split]:
            continue
        if limit is not None and len(pieces) >= limit:
            break
        num, den = (int(x) for x in row["time_signature"].split("-"))
        notes, bpm = read_drums(groove_dir / row["midi_filename"], counts)
        if not notes:
            counts["empty"] += 1
            continue
        bar = num * 4.0 / den
        part = Part(notes, bar_ceil(max(n.end for n in notes), bar), (num, den),
                    bpm or float(row["bpm"]), None, name="Drums", kind="drums")
        labels = {"beat_type": row["beat_type"], "drummer": row["drummer"], "bpm": row["bpm"],
                  "style": row["style"], "session": row["session"]}
        pieces.append(Piece((("drums", part),), groove_style(row["style"]),
                            f"groove:{row['id']}", split, labels))
        counts[f"loaded_{split}"] += 1
    log.info("groove %s: %s", split, dict(counts))
    return pieces
