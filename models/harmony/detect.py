"""Reading chords from notes: a chord label per span by template matching (the chord whose tones
cover the most sounding weight, missing tones and foreign notes counted against it, the bass
breaking ties), used to label the training chorales beat by beat and to read a producer's
chord or keys clip as a progression.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.harmony.symbols import Chord
from models.representation import Note, Part

# qualities a template match may return (what four voices or a keys part can show)
LABEL_QUALITIES = ("", "m", "dim", "aug", "7", "m7", "maj7", "dim7", "m7b5")
MISSING = 0.6  # cost of a chord tone nobody plays, in beats of sounding weight
SEVENTH = 0.15  # a seventh chord must explain this much more than its triad
TEMPLATES = [Chord(root, q) for q in LABEL_QUALITIES for root in range(12)]
RELEASE = 0.5  # a keys clip: a note held into a beat that ends within this share of it is a release


@dataclass(frozen=True)
class ChordSpan:
    """A chord of a plan or progression, sounding from ``start`` to ``end`` (beats)."""

    start: float
    end: float
    chord: Chord

    @property
    def lane(self) -> tuple[float, int, str, int | None]:
        """(start, root, quality, bass or None): the chord as the token format's chord lane
        takes it (models/net/tokenizer.py ``harmony_lane``)."""
        return self.start, self.chord.root, self.chord.quality, self.chord.bass


def weights(notes: Iterable[Note], start: float, end: float, onset_weight: float = 0.5) -> dict[int, float]:
    """Pitch class -> beats sounding in [start, end), plus ``onset_weight`` for a note sounding
    at ``start`` (what is heard on the beat counts most)."""
    out: dict[int, float] = {}
    for n in notes:
        overlap = min(n.end, end) - max(n.start, start)
        if overlap > 1e-9:
            out[n.pitch % 12] = out.get(n.pitch % 12, 0.0) + overlap + (onset_weight if n.start <= start + 1e-9 else 0.0)
    return out


def label(sounding: dict[int, float], bass: int | None = None) -> Chord | None:
    """The best-fitting chord for pitch-class weights (``bass``: the lowest pitch class, which
    picks the root among equals and becomes the slash note when it is another chord tone)."""
    total = sum(sounding.values())
    if total <= 0:
        return None
    best: tuple[float, Chord] | None = None
    for chord in TEMPLATES:
        tones = chord.tones
        hit = sum(sounding.get(pc, 0.0) for pc in tones)
        missing = sum(1 for pc in tones if pc not in sounding)
        score = 2 * hit - total - MISSING * missing
        score += 0.25 * (bass == chord.root) - SEVENTH * (len(tones) > 3) - 0.05 * (chord.quality in ("aug", "dim"))
        if best is None or score > best[0]:
            best = (score, chord)
    assert best is not None
    chord = best[1]
    if bass is not None and bass != chord.root and bass in chord.tones:
        return Chord(chord.root, chord.quality, bass)
    return chord


def beat_labels(voices: Sequence[Part], length: float, step: float = 1.0, spread: int = 0,
                tail: float = 0.0) -> list[Chord | None]:
    """One label per ``step`` beats over all ``voices`` (Bach's four, or a keys part): None where
    nothing sounds. The lowest note is the chord's bass when it lies ``spread`` semitones or
    more below the next one (a keys player's inversions are not a bass line). A note struck
    before the span that ends within its first ``tail`` share is left out (a keys player's
    release past the bar line, not part of the next chord)."""
    notes = [n for part in voices for n in part.notes]
    out: list[Chord | None] = []
    t = 0.0
    while t < length - 1e-9:
        here = [n for n in notes if n.start < t + step - 1e-9 and n.end > t + 1e-9
                and not (n.start < t - 1e-9 and n.end <= t + tail * step + 1e-9)]
        struck = sorted({n.pitch for n in here if n.start <= t + 1e-9} or {n.pitch for n in here})
        bass = struck[0] % 12 if struck and (len(struck) == 1 or struck[1] - struck[0] >= spread) else None
        out.append(label(weights(here, t, t + step, 2.0 * step), bass))
        t += step
    return out


def progression(part: Part, step: float = 1.0) -> list[ChordSpan]:
    """A chord or keys clip read as chord spans: labelled per ``step`` beats, a chord held until
    the next change (silent beats continue the chord before them); a slash chord only where a
    bass note stands apart below the rest."""
    spans: list[ChordSpan] = []
    for i, chord in enumerate(beat_labels([part], part.length, step, spread=7, tail=RELEASE)):
        start = i * step
        if chord is None or (spans and spans[-1].chord == chord):
            continue
        if spans:
            spans[-1] = ChordSpan(spans[-1].start, start, spans[-1].chord)
        spans.append(ChordSpan(start, part.length, chord))
    return spans


def is_chord_clip(part: Part) -> bool:
    """Whether a clip reads as chords rather than a tune: most of its sounding time has three
    or more notes at once."""
    if not part.notes:
        return False
    onsets = sorted({round(n.start, 3) for n in part.notes})
    stacked = sum(1 for t in onsets if sum(1 for n in part.notes if n.start - 1e-3 <= t < n.end - 1e-3) >= 3)
    return stacked >= 0.6 * len(onsets)
