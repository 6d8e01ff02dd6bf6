"""Training data as token arrays: the corpus tokenized once and cached on disk, and a sampler
of training windows with transposition applied on the fly.

The cache is one ``.npz`` per split: every piece's tokens concatenated (uint16), offsets, the
source of each piece and the transpositions that keep every voice in range. Windows start at a
bar line with the piece's header in front, so the model always sees its controls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.constants import VOICE_RANGES
from models.net import vocab as V
from models.net.tokenizer import ChordEvent, encode
from models.representation import Piece

log = logging.getLogger(__name__)

HEADER = V.HEADER
MAX_SHIFT = 6
# How often each source is drawn, relative to the others (sources missing from a cache are skipped).
SOURCE_WEIGHTS = {
    "chorales": 0.30, "jsb": 0.10, "chorale_chords": 0.12, "chorale_bass": 0.10,
    "folk": 0.18, "groove": 0.20, "user": 1.0,
}
TRACK_IDS = np.array(list(V.TRK.values()))
KEY_IDS = np.array([V.VOCAB.id(f"KEY_{k}") for k in V.KEYS[1:]])  # 24 keys: 12 major, 12 minor


@dataclass
class TokenSet:
    tokens: np.ndarray  # uint16, all pieces back to back
    offsets: np.ndarray  # int64, piece i is tokens[offsets[i]:offsets[i+1]]
    sources: np.ndarray  # int16 index into names
    shifts: np.ndarray  # int8 (n, 2): lowest and highest allowed transposition
    names: list[str]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, tokens=self.tokens, offsets=self.offsets, sources=self.sources,
                            shifts=self.shifts, names=np.array(self.names), format=np.array(V.FORMAT_VERSION))

    @classmethod
    def load(cls, path: Path) -> TokenSet:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["tokens"], z["offsets"], z["sources"], z["shifts"], [str(n) for n in z["names"]])

    @staticmethod
    def current(path: Path) -> bool:
        """Whether the cache at ``path`` exists and holds this token format (a cache written by
        an earlier format is built again rather than trained on)."""
        if not path.exists():
            return False
        with np.load(path, allow_pickle=False) as z:
            return "format" in z.files and int(z["format"]) == V.FORMAT_VERSION


def shift_range(piece: Piece) -> tuple[int, int]:
    """Transpositions (semitones) that keep every pitched voice inside its range."""
    if any(role == "drums" for role, _ in piece.tracks):
        return 0, 0
    lo, hi = -MAX_SHIFT, MAX_SHIFT
    for role, part in piece.tracks:
        if not part.notes:
            continue
        low, high = VOICE_RANGES.get(role, (21, 108))
        pitches = [n.pitch for n in part.notes]
        lo = max(lo, low - min(pitches))
        hi = min(hi, high - max(pitches))
    return (lo, hi) if lo <= hi else (0, 0)


def harmonies(pieces: dict[str, list[Piece]]) -> dict[str, list[ChordEvent]]:
    """The harmony of every four-voice piece (a chorale), read beat by beat from its voices as
    the chord planner's training labels are, by source; a part derived from a chorale (its
    chord pad, its bass line) shares it through the chorale's source."""
    from models.harmony.plan import written

    return {piece.source: [s.lane for s in written(piece)] for group in pieces.values() for piece in group
            if all(piece.part(r) for r in ("melody", "bass", "tenor", "alto"))}


def build(pieces: dict[str, list[Piece]]) -> TokenSet:
    names = sorted(pieces)
    lanes = harmonies(pieces)
    chunks, offsets, sources, shifts = [], [0], [], []
    for si, name in enumerate(names):
        for piece in pieces[name]:
            try:
                harmony = lanes.get(piece.source.split("#")[0], ())
                toks = encode(piece, fill_bars=_fill_bars(piece), harmony=harmony)
            except ValueError as exc:
                log.debug("skipping %s: %s", piece.source, exc)
                continue
            chunks.append(np.asarray(toks, dtype=np.uint16))
            offsets.append(offsets[-1] + len(toks))
            sources.append(si)
            shifts.append(shift_range(piece))
    return TokenSet(np.concatenate(chunks), np.asarray(offsets, dtype=np.int64),
                    np.asarray(sources, dtype=np.int16), np.asarray(shifts, dtype=np.int8).reshape(-1, 2), names)


def _fill_bars(piece: Piece) -> list[int]:
    """Groove fill recordings are fills throughout: every bar carries the FILL flag."""
    if piece.labels.get("beat_type") != "fill":
        return []
    part = piece.first
    return list(range(part.bars))


def transpose_tokens(seq: np.ndarray, shift: int) -> np.ndarray:
    if shift == 0:
        return seq
    out = seq.copy()
    pitch = (out >= V.PITCH0) & (out < V.PITCH0 + 128)
    out[pitch] = out[pitch] + shift
    chord = (out >= V.CHORD0) & (out < V.CHORD0 + 12 * len(V.CHORD_QUALITIES))
    quality, root = np.divmod(out[chord].astype(np.int64) - V.CHORD0, 12)
    out[chord] = V.CHORD0 + 12 * quality + (root + shift) % 12
    slash = (out >= V.SLASH0) & (out < V.SLASH0 + 12)
    out[slash] = V.SLASH0 + (out[slash].astype(np.int64) - V.SLASH0 + shift) % 12
    keyed = np.isin(out, KEY_IDS)
    if keyed.any():
        index = np.searchsorted(KEY_IDS, out[keyed])
        mode, tonic = np.divmod(index, 12)
        out[keyed] = KEY_IDS[mode * 12 + (tonic + shift) % 12]
    return out


LANELESS = 0.25  # share of training windows whose chord lanes are left out


def without_lanes(seq: np.ndarray) -> np.ndarray:
    """``seq`` with its chord lanes left out (each HARM up to the bar's first track), as music
    whose harmony nobody wrote down reads: a live harmonization has no plan to give."""
    harm = seq == V.HARM
    marks = harm | np.isin(seq, TRACK_IDS) | (seq == V.BAR)
    last = np.maximum.accumulate(np.where(marks, np.arange(len(seq)), -1))  # the latest marker
    return seq[(last < 0) | ~harm[np.maximum(last, 0)]]


class WindowSampler:
    """Random training windows of ``block + 1`` tokens (inputs and shifted targets); with
    ``augment``, transposed within the voices' ranges and, one time in four, without their chord
    lanes, so that the model serves music with a plan and without one."""

    def __init__(self, data: TokenSet, block: int, seed: int, weights: dict[str, float] | None = None,
                 augment: bool = True) -> None:
        self.data, self.block, self.augment = data, block, augment
        self.rng = np.random.default_rng(seed)
        weights = weights or SOURCE_WEIGHTS
        per_source = np.bincount(data.sources, minlength=len(data.names))
        w = np.array([weights.get(data.names[s], 0.1) / per_source[s] for s in data.sources])
        self.p = w / w.sum()

    def window(self) -> np.ndarray:
        i = int(self.rng.choice(len(self.p), p=self.p))
        piece = self.data.tokens[self.data.offsets[i]:self.data.offsets[i + 1]].astype(np.int64)
        bars = np.flatnonzero(piece == V.BAR)
        start = int(self.rng.choice(bars)) if len(bars) and self.rng.random() < 0.7 else HEADER
        if self.augment and self.rng.random() < LANELESS:
            body = without_lanes(piece[start:start + 2 * self.block])[:self.block + 1 - HEADER]
        else:
            body = piece[start:start + self.block + 1 - HEADER]
        seq = np.concatenate([piece[:HEADER], body])
        if self.augment:
            lo, hi = self.data.shifts[i]
            seq = transpose_tokens(seq, int(self.rng.integers(lo, hi + 1)))
        return seq

    def batch(self, size: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.full((size, self.block), V.PAD, dtype=np.int64)
        y = np.full((size, self.block), -1, dtype=np.int64)
        for row in range(size):
            seq = self.window()
            n = len(seq) - 1
            x[row, :n] = seq[:-1]
            y[row, :n] = seq[1:]
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def is_evaluation(piece: Piece) -> bool:
    """Pieces of the evaluation set (JSB valid) and anything derived from them: never trained
    on, never used to pick a checkpoint."""
    return "jsb:valid" in piece.source or piece.labels.get("score_split") == "evaluation"


def training_pieces(cache_dir: Path | None = None) -> dict[str, dict[str, list[Piece]]]:
    """{"train"|"valid": {source: pieces}} from the corpus cache, evaluation pieces removed."""
    from models.data.corpus import DEFAULT_CACHE_DIR, load_all

    corpus = load_all(cache_dir or DEFAULT_CACHE_DIR)
    out: dict[str, dict[str, list[Piece]]] = {"train": {}, "valid": {}}
    for name, pieces in corpus.items():
        for piece in pieces:
            if is_evaluation(piece):
                continue
            split = "valid" if piece.split == "valid" else "train"
            out[split].setdefault(name, []).append(piece)
    for split, sources in out.items():
        log.info("%s: %s", split, {k: len(v) for k, v in sorted(sources.items())})
    return out
