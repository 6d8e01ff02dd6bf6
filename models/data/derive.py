"""Harmonize targets derived from four-part chorales, for the product's other harmonize styles.

`chords_from_chorale`: melody + a block-chord pad built from the alto, tenor and bass. The lower
voices are cut into segments at every onset; a segment that starts off the beat (quarter beat
in simple metres, dotted quarter in compound ones) is a passing or neighbour sonority and is
absorbed by the chord before it; each chord's pitches are folded by octaves into
CHORDS_RANGE (doublings dropped) and held for as long as that voicing stays the same.

`bass_from_chorale`: melody + the bass voice, with off-beat notes shorter than a beat (passing
and neighbour notes, the eighth-note runs of Bach's basses) absorbed by the note before them,
so the line keeps one note per harmony as a session bassist would play it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from models.ops.metre_view import is_compound
from models.representation import Note, Piece

CHORDS_RANGE = (48, 72)
CHORD_VELOCITY = 80
_EPS = 1e-6


def harmonic_unit(time_signature: tuple[int, int]) -> float:
    """Beats per harmonic step: the dotted quarter in compound metres, else the quarter."""
    return 1.5 if is_compound(time_signature) else 1.0


def _on_grid(t: float, unit: float) -> bool:
    x = t / unit
    return abs(x - round(x)) < _EPS


def _voicing(pitches: Sequence[int], lo: int, hi: int) -> tuple[int, ...]:
    out = set()
    for p in pitches:
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        out.add(p)
    return tuple(sorted(out))


def chord_spans(voices: Sequence[Sequence[Note]], unit: float,
                lo: int = CHORDS_RANGE[0], hi: int = CHORDS_RANGE[1]
                ) -> list[tuple[float, float, tuple[int, ...]]]:
    """(start, end, voiced pitches) of the block chords over some voices."""
    notes = [n for v in voices for n in v]
    bounds = sorted({round(t, 6) for n in notes for t in (n.start, n.end)})
    spans: list[list] = []
    for t0, t1 in zip(bounds, bounds[1:], strict=False):
        sounding = [n.pitch for n in notes if n.start <= t0 + _EPS and n.end > t0 + _EPS]
        if not sounding:
            continue
        prev = spans[-1] if spans else []
        contiguous = bool(prev) and abs(prev[1] - t0) < _EPS
        if contiguous and not _on_grid(t0, unit) and t1 - t0 < unit - _EPS:
            prev[1] = t1  # passing sonority: the chord before it holds
            continue
        voiced = _voicing(sounding, lo, hi)
        if contiguous and prev[2] == voiced:
            prev[1] = t1
        else:
            spans.append([t0, t1, voiced])
    return [(s, e, v) for s, e, v in spans]


def chords_from_chorale(piece: Piece) -> Piece:
    """Piece(melody, chords): the chorale's lower voices as a held block-chord pad."""
    melody = piece.part("melody")
    lower = [piece.part(r) for r in ("alto", "tenor", "bass")]
    if melody is None or any(p is None for p in lower):
        raise ValueError(f"{piece.source}: chords_from_chorale needs melody, alto, tenor, bass")
    spans = chord_spans([p.notes for p in lower if p is not None],
                        harmonic_unit(melody.time_signature))
    notes = tuple(Note(p, s, e - s, CHORD_VELOCITY) for s, e, voiced in spans for p in voiced)
    chords = replace(melody, notes=notes, name="Chords", kind="chords")
    return Piece((("melody", melody), ("chords", chords)), "chords", piece.source + "#chords",
                 piece.split, {**piece.labels, "derived": "chords"})


def simplify_bass(notes: Sequence[Note], unit: float) -> tuple[Note, ...]:
    """Off-beat notes shorter than `unit` merged into the note before them."""
    out: list[Note] = []
    for n in notes:
        prev = out[-1] if out else None
        if (prev is not None and abs(prev.end - n.start) < _EPS and not _on_grid(n.start, unit)
                and n.duration < unit - _EPS):
            out[-1] = replace(prev, duration=n.end - prev.start)
        else:
            out.append(n)
    return tuple(out)


def bass_from_chorale(piece: Piece, simplify: bool = True) -> Piece:
    """Piece(melody, bass): the chorale's bass voice, decorations absorbed when `simplify`."""
    melody, bass = piece.part("melody"), piece.part("bass")
    if melody is None or bass is None:
        raise ValueError(f"{piece.source}: bass_from_chorale needs melody and bass")
    notes = simplify_bass(bass.notes, harmonic_unit(bass.time_signature)) if simplify else bass.notes
    line = replace(bass, notes=notes, name="Bass", kind="bass")
    return Piece((("melody", melody), ("bass", line)), "bass", piece.source + "#bass",
                 piece.split, {**piece.labels, "derived": "bass"})


def derived_sources(chorales: Sequence[Piece]) -> dict[str, list[Piece]]:
    """{"chorale_chords": [...], "chorale_bass": [...]} from four-part chorale pieces."""
    four = [p for p in chorales if all(p.part(r) for r in ("melody", "alto", "tenor", "bass"))]
    return {"chorale_chords": [chords_from_chorale(p) for p in four],
            "chorale_bass": [bass_from_chorale(p) for p in four]}
