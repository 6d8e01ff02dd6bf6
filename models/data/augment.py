"""Data augmentation: transposing Pieces, and the transpositions that keep every voice inside
its role's range (ranges in models.constants). Drum tracks are never transposed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.keys import transpose_key
from models.representation import Part, Piece

MAX_SHIFT = 6  # semitones either way: every key reachable once


def _transpose_part(part: Part, semitones: int) -> Part:
    notes = tuple(replace(n, pitch=n.pitch + semitones) for n in part.notes)
    bad = [n.pitch for n in notes if not 0 <= n.pitch <= 127]
    if bad:
        raise ValueError(f"transposing by {semitones} puts pitch {bad[0]} outside 0..127")
    key = transpose_key(part.key, semitones) if part.key else None
    return replace(part, notes=notes, key=key)


def transpose(piece: Piece, semitones: int) -> Piece:
    """The piece moved by `semitones`; drum tracks unchanged, key names updated."""
    if semitones == 0:
        return piece
    tracks = tuple((role, part if role == "drums" or part.kind == "drums"
                    else _transpose_part(part, semitones)) for role, part in piece.tracks)
    labels = {**piece.labels, "transpose": str(int(piece.labels.get("transpose", 0)) + semitones)}
    return replace(piece, tracks=tracks, labels=labels)


def ranges_for(piece: Piece) -> Mapping[str, tuple[int, int]]:
    """Four-part vocal ranges for chorale-derived pieces, the general ones otherwise."""
    return CHORALE_RANGES if "alto" in {r for r, _ in piece.tracks} else VOICE_RANGES


def transpositions(piece: Piece, ranges: Mapping[str, tuple[int, int]] | None = None,
                   max_shift: int = MAX_SHIFT) -> Iterator[int]:
    """Shifts in -max_shift..max_shift, ascending, that keep every pitched track of a role
    listed in `ranges` inside its range. 0 (the piece as written) is always yielded."""
    ranges = ranges_for(piece) if ranges is None else ranges
    spans = []
    for role, part in piece.tracks:
        if role == "drums" or not part.notes or role not in ranges:
            continue
        lo, hi = ranges[role]
        pitches = [n.pitch for n in part.notes]
        spans.append((lo - min(pitches), hi - max(pitches)))
    for shift in range(-max_shift, max_shift + 1):
        if shift == 0 or all(down <= shift <= up for down, up in spans):
            yield shift
