"""The rule baseline, as written in the harmonization measure: on each quarter-note beat take
the diatonic triads that contain the melody note, prefer I, then IV and V, then vi and ii (iii
and vii last), and prefer a change of chord; voice it simply (root in the bass nearest the last
bass, tenor and alto the nearest chord tones below the melody). In minor, V and vii take the
raised leading tone (harmonic minor). Textbook rules, no learning.
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


def choose(top: int, chords: list[tuple[int, frozenset[int]]], previous: int | None) -> tuple[int, frozenset[int]]:
    """The preferred triad holding ``top``, another one when it would repeat the chord before."""
    fitting = [c for c in chords if top % 12 in c[1]] or chords[:1]
    changed = [c for c in fitting if c[0] != previous]
    return (changed or fitting)[0]


def harmonize(melody: Part, key: str | None = None) -> list[Part]:
    """Alto, tenor and bass for ``melody``, one chord per quarter-note beat."""
    key = key or melody.key or estimate_key(melody.notes)
    chords = triads(key)
    voices: dict[str, list[Note]] = {"alto": [], "tenor": [], "bass": []}
    prev_bass, prev_root = 48, None
    beat = 0.0
    while beat < melody.length:
        top = melody_at(melody, beat)
        if top is not None:
            root, tones = choose(top, chords, prev_root)
            bass = _nearest(root, prev_bass, CHORALE_RANGES["bass"])
            alto = _below(top, tones, CHORALE_RANGES["alto"])
            tenor = _below(alto, tones, CHORALE_RANGES["tenor"])
            dur = min(1.0, melody.length - beat)
            for role, pitch in (("alto", alto), ("tenor", tenor), ("bass", bass)):
                voices[role].append(Note(pitch, beat, dur, 80))
            prev_bass, prev_root = bass, root
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
