"""Key names and key estimation: "C major" / "F# minor" strings (read from the spellings people
type: "Cm", "F#m", "bb minor", "A min"), their pitch classes, and a Krumhansl-Kessler profile
estimate over a duration-weighted pitch-class histogram."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from models.representation import Note

MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# A tonic letter, an optional sharp or flat (music21's "-" too, before a space or the end), a mode word.
_KEY_SPELLING = re.compile(r"^\s*([A-Ga-g])([#♯b♭]|-(?=\s|$))?\s*([A-Za-z]*)\s*$")
_ACCIDENTALS = {None: "", "#": "#", "♯": "#", "b": "b", "♭": "b", "-": "b"}
_MODES = {"": "major", "M": "major", "maj": "major", "major": "major", "m": "minor", "min": "minor", "minor": "minor"}
ACCEPTED_KEYS = ('a tonic A..G (either case) with an optional # or b, then major, maj, M, minor, min or m '
                 '(nothing means major), e.g. "C major", "c major", "C", "Cm", "F#m", "Bb minor", "A min"')

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# The profiles rotated to every tonic (rows 0-11 major, 12-23 minor), centred, and their spreads
_ROTATED = np.array([np.roll(profile, tonic) for profile in (_KK_MAJOR, _KK_MINOR) for tonic in range(12)])
_CENTRED_PROFILES = _ROTATED - _ROTATED.mean(axis=1, keepdims=True)
_PROFILE_SPREADS = np.sqrt((_CENTRED_PROFILES * _CENTRED_PROFILES).sum(axis=1))


def key_name(tonic_pc: int, mode: str) -> str:
    """The house spelling of a key: key_name(6, "minor") == "F# minor"."""
    if mode not in ("major", "minor"):
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    tonics = MAJOR_TONICS if mode == "major" else MINOR_TONICS
    return f"{tonics[tonic_pc % 12]} {mode}"


def canonical_key(name: str) -> str:
    """The canonical form of a key name a producer may type: canonical_key("F#m") == "F# minor",
    canonical_key("c") == "C major", canonical_key("Bb min") == "Bb minor". The tonic keeps its
    spelling (sharp or flat); raises ValueError listing the accepted spellings."""
    match = _KEY_SPELLING.match(name) if isinstance(name, str) else None
    mode = None if match is None else _MODES.get(match[3] if match[3] == "M" else match[3].lower())
    if match is None or mode is None:
        raise ValueError(f"key must be {ACCEPTED_KEYS}; got {name!r}")
    return f"{match[1].upper()}{_ACCIDENTALS[match[2]]} {mode}"


def parse_key(name: str) -> tuple[int, str]:
    """"F# minor" -> (6, "minor"); accepts every spelling canonical_key does ("Gbm", "A- minor")."""
    tonic, mode = canonical_key(name).split()
    pc = _PC[tonic[0]] + {"#": 1, "b": -1}.get(tonic[1:], 0)
    return pc % 12, mode


def transpose_key(name: str, semitones: int) -> str:
    pc, mode = parse_key(name)
    return key_name(pc + semitones, mode)


def key_scores(notes: Iterable[Note]) -> np.ndarray:
    """Correlation of the duration-weighted pitch-class histogram with the 24 key profiles:
    shape (2, 12), row 0 major, row 1 minor, column = tonic pitch class."""
    hist = np.zeros(12)
    for note in notes:
        hist[note.pitch % 12] += note.duration
    centred = hist - hist.mean()
    spread = float(np.sqrt(centred @ centred))
    if spread == 0.0:  # no notes, or every pitch class equally long: no key stands out
        return np.zeros((2, 12))
    # Pearson's r with each rotated profile, all 24 at once (24 np.corrcoef calls took about
    # 2.5 ms of a harmonize request); rounded to 12 places, so keys that tie exactly (a
    # melody symmetric under some transposition) tie here too and the first of them wins
    scores = _CENTRED_PROFILES @ centred / (_PROFILE_SPREADS * spread)
    return np.round(np.clip(scores, -1.0, 1.0), 12).reshape(2, 12)


def estimate_key(notes: Iterable[Note], sharps: int | None = None, margin: float = 0.05) -> str:
    """The best-correlated key. With a key signature (`sharps`, negative for flats), the
    signature's major or relative minor wins when it scores within `margin` of the best key,
    so a Dorian-signature tune still gets its real key while ties follow the notation."""
    scores = key_scores(notes)
    row, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    best = (int(tonic), ("major", "minor")[int(row)])
    if sharps is not None:
        major_pc = (7 * sharps) % 12
        minor_pc = (major_pc + 9) % 12
        sig = (major_pc, "major") if scores[0, major_pc] >= scores[1, minor_pc] else (minor_pc, "minor")
        if scores[0 if sig[1] == "major" else 1, sig[0]] >= scores[row, tonic] - margin:
            best = sig
    return key_name(*best)
