"""The JSB chorales (Boulanger-Lewandowski split, 16th-note SATB grid) as four-track Pieces.

The grid has no note-on flags, so consecutive equal pitches in a voice are read as one held
note (a repeated note in the score becomes one longer note). Where a piece's soprano tune
matches a music21 chorale, the music21 score lends its metre and pickup; otherwise the piece
is read as 4/4 starting on a downbeat.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from models.constants import DEFAULT_VELOCITY, JSB_STEP
from models.data.chorales import TUNE_MATCH_RATIO, VOICES, best_match, tune_signature
from models.data.score import bar_ceil, merged_pitches
from models.keys import estimate_key
from models.representation import Note, Part, Piece

log = logging.getLogger(__name__)

SPLITS = {"train": "train", "valid": "valid"}


def read_jsb(path: Path) -> dict[str, list[list[list[int]]]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for split in SPLITS:
        if split not in data:
            raise ValueError(f"{path}: JSB json must hold a {split!r} list")
    return data


def grid_voice(steps: Sequence[Sequence[int]], voice: int, shift: float = 0.0) -> tuple[Note, ...]:
    """One voice of the step grid, equal consecutive pitches merged, -1 = rest."""
    notes: list[Note] = []
    start, pitch = 0, -1
    for i in range(len(steps) + 1):
        p = steps[i][voice] if i < len(steps) else -1
        if i < len(steps) and p == pitch:
            continue
        if pitch >= 0:
            notes.append(Note(int(pitch), shift + start * JSB_STEP, (i - start) * JSB_STEP, DEFAULT_VELOCITY))
        start, pitch = i, p
    return tuple(notes)


def _alignment(jsb_soprano: tuple[Note, ...], ref: Piece) -> float | None:
    """The shift that puts the JSB soprano's onsets on the score's (its pickup, or 0 when the
    grid already holds the opening rest), or None when neither fits. The grid merges repeated
    notes, so its onsets are a subset of the score's."""
    ref_starts = {round(n.start, 6) for n in ref.tracks[0][1].notes}
    head = jsb_soprano[:12]
    for shift in (float(ref.labels.get("pickup", "0")), 0.0):
        same = sum(round(n.start + shift, 6) in ref_starts for n in head)
        if head and same >= 0.9 * len(head):
            return shift
    return None


def jsb_piece(steps: Sequence[Sequence[int]], index: int, split: str, ref: Piece | None) -> Piece:
    """A Piece from one JSB step list; `ref` (a matching music21 chorale) lends metre and pickup."""
    ts, shift, labels = (4, 4), 0.0, {"jsb_index": str(index)}
    if ref is not None:
        aligned = _alignment(grid_voice(steps, 0), ref)
        if aligned is not None:
            ts, shift = ref.tracks[0][1].time_signature, aligned
            labels["pickup"] = ref.labels.get("pickup", "0")
        labels["score"] = ref.source
    voices = [grid_voice(steps, v, shift) for v in range(4)]
    bar = ts[0] * 4.0 / ts[1]
    length = bar_ceil(shift + len(steps) * JSB_STEP, bar)
    key_str = estimate_key([n for notes in voices for n in notes])
    tracks = tuple(
        (role, Part(notes, length, ts, None, key_str, name=vocal.capitalize(), kind=kind))
        for notes, (role, vocal, kind) in zip(voices, VOICES, strict=True)
    )
    return Piece(tracks, "chorale", f"jsb:{split}/{index}", split, labels)


def soprano_tunes(data: dict, split: str) -> list[list[int]]:
    """Merged soprano pitch sequences of one split (the tunes held out when split is valid)."""
    return [merged_pitches(grid_voice(steps, 0)) for steps in data[split]]


def load_jsb(
    split: str,
    path: Path,
    references: Sequence[Piece] = (),
    drop_like: Sequence[Piece] = (),
    counts: Counter | None = None,
) -> list[Piece]:
    """JSB pieces of `split` ('train' or 'valid').

    `references` are parsed music21 chorales (hold-outs included) used only to borrow metre
    and pickup. For 'train', a piece is dropped when its tune matches a 'valid' tune, or one of
    `drop_like` (music21 chorales already loaded, or held out) — counted in `counts`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    counts = counts if counts is not None else Counter()
    data = read_jsb(path)
    ref_sigs = [tune_signature(merged_pitches(p.tracks[0][1].notes)) for p in references]
    valid_sigs = [tune_signature(t) for t in soprano_tunes(data, "valid")]
    drop_sigs = [tune_signature(merged_pitches(p.tracks[0][1].notes)) for p in drop_like]
    pieces = []
    for index, steps in enumerate(data[split]):
        sig = tune_signature(merged_pitches(grid_voice(steps, 0)))
        if split == "train":
            if best_match(sig, valid_sigs)[1] >= TUNE_MATCH_RATIO:
                counts["valid_tune"] += 1
                continue
            j, ratio = best_match(sig, drop_sigs)
            if ratio >= TUNE_MATCH_RATIO:
                counts["dup_" + drop_like[j].labels.get("status", "music21")] += 1
                continue
        i, ratio = best_match(sig, ref_sigs)
        ref = references[i] if ratio >= TUNE_MATCH_RATIO else None
        piece = jsb_piece(steps, index, split, ref)
        counts["score_matched" if ref is not None else "score_unmatched"] += 1
        counts["pickup_from_score"] += "pickup" in piece.labels
        pieces.append(piece)
    counts["loaded"] += len(pieces)
    log.info("jsb %s: %s", split, dict(counts))
    return pieces
