"""A rule-based four-part harmonizer: the baseline the model is measured against.

Per beat it picks the diatonic triad (I, IV, V, vi, ii, iii in that order of preference, V in
minor with the raised leading tone) that contains the melody note and keeps the bass moving
least, puts the root in the bass and fills tenor and alto with the nearest chord tones below
the melody. Textbook rules, no learning.
"""

from __future__ import annotations

from models.constants import CHORALE_RANGES
from models.keys import estimate_key, parse_key
from models.representation import Note, Part

MAJOR_DEGREES = (0, 2, 4, 5, 7, 9, 11)
MINOR_DEGREES = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor
PREFERENCE = (0, 3, 4, 5, 1, 2, 6)  # scale degrees of chord roots, most preferred first


def triads(key: str) -> list[tuple[int, frozenset[int]]]:
    """(root pitch class, chord pitch classes) for the diatonic triads, in order of preference."""
    tonic, mode = parse_key(key)
    scale = [(tonic + d) % 12 for d in (MAJOR_DEGREES if mode == "major" else MINOR_DEGREES)]
    out = []
    for degree in PREFERENCE:
        root = scale[degree]
        out.append((root, frozenset({root, scale[(degree + 2) % 7], scale[(degree + 4) % 7]})))
    return out


def melody_at(melody: Part, time: float) -> int | None:
    for note in melody.notes:
        if note.start <= time < note.end:
            return note.pitch
    return None


def harmonize(melody: Part, key: str | None = None) -> list[Part]:
    """Alto, tenor and bass for ``melody``, one chord per beat."""
    key = key or melody.key or estimate_key(melody.notes)
    chords = triads(key)
    voices: dict[str, list[Note]] = {"alto": [], "tenor": [], "bass": []}
    prev_bass = 48
    beat = 0.0
    while beat < melody.length:
        top = melody_at(melody, beat)
        if top is not None:
            fitting = [c for c in chords if top % 12 in c[1]] or chords[:1]
            root, tones = min(fitting[:3], key=lambda c: abs(_nearest(c[0], prev_bass, CHORALE_RANGES["bass"]) - prev_bass))
            bass = _nearest(root, prev_bass, CHORALE_RANGES["bass"])
            alto = _below(top, tones, CHORALE_RANGES["alto"])
            tenor = _below(alto, tones, CHORALE_RANGES["tenor"])
            dur = min(1.0, melody.length - beat)
            for role, pitch in (("alto", alto), ("tenor", tenor), ("bass", bass)):
                voices[role].append(Note(pitch, beat, dur, 80))
            prev_bass = bass
        beat += 1.0
    return [Part(tuple(voices[r]), melody.length, melody.time_signature, melody.tempo, key, name=r.capitalize())
            for r in ("alto", "tenor", "bass")]


def _nearest(pc: int, near: int, span: tuple[int, int]) -> int:
    candidates = [p for p in range(span[0], span[1] + 1) if p % 12 == pc]
    return min(candidates, key=lambda p: abs(p - near))


def _below(above: int, tones: frozenset[int], span: tuple[int, int]) -> int:
    for pitch in range(above - 1, span[0] - 1, -1):
        if pitch % 12 in tones and pitch <= span[1]:
            return pitch
    return span[0]
