"""Chord symbols: a root, a quality (triads, sixths, sevenths, sus, diminished, half-diminished,
augmented) and an optional bass note for inversions ("F/A"), parsed from and formatted to the
spelling lead sheets and DAWs use, with their pitch classes.

A small table of our own rather than a chord library: harmonize needs pitch-class sets, the
chord's bass and exact error messages, and the engine should not import more than that.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# roots whose chords are spelled with sharps (their keys have sharps): D, E, F#, G, A, B, and
# for minor-third chords also C# and G#
_SHARP_ROOTS = {"major": frozenset({2, 4, 6, 7, 9, 11}), "minor": frozenset({1, 2, 4, 6, 8, 9, 11})}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"#": 1, "b": -1, "♯": 1, "♭": -1}

# quality (as written in a symbol) -> intervals above the root, root first
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "mMaj7": (0, 3, 7, 11),
    "dim7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10),
    "7sus4": (0, 5, 7, 10),
    "aug7": (0, 4, 8, 10),
}
# other spellings of the same qualities
ALIASES: dict[str, str] = {
    "M": "", "maj": "", "min": "m", "-": "m", "mi": "m", "°": "dim", "o": "dim", "+": "aug",
    "sus": "sus4", "M7": "maj7", "Maj7": "maj7", "Δ": "maj7", "Δ7": "maj7", "min7": "m7", "-7": "m7",
    "mi7": "m7", "°7": "dim7", "o7": "dim7", "ø": "m7b5", "ø7": "m7b5", "min7b5": "m7b5", "-7b5": "m7b5",
    "+7": "aug7", "7+": "aug7", "min6": "m6", "-6": "m6", "mM7": "mMaj7", "minMaj7": "mMaj7",
    "dom7": "7", "7sus": "7sus4",
}
ACCEPTED = ("a root A-G with an optional # or b, then a quality: "
            + ", ".join(q or "(none: major)" for q in QUALITIES) + ", then optionally /BASS (e.g. 'F/A')")


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class 0..11
    quality: str = ""  # a key of QUALITIES
    bass: int | None = None  # pitch class of a bass other than the root (an inversion or slash chord)

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(f"chord quality must be one of {', '.join(repr(q) for q in QUALITIES)}, "
                             f"got {self.quality!r}")
        if not 0 <= self.root <= 11 or (self.bass is not None and not 0 <= self.bass <= 11):
            raise ValueError("chord root and bass must be pitch classes 0..11")

    @property
    def tones(self) -> tuple[int, ...]:
        """Pitch classes, root first, then third, fifth, seventh (or sixth)."""
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality])

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset(self.tones) | ({self.bass} if self.bass is not None else set())

    @property
    def bass_pc(self) -> int:
        """The pitch class the bass plays: the slash note, else the root."""
        return self.root if self.bass is None else self.bass

    @property
    def symbol(self) -> str:
        family = "minor" if QUALITIES[self.quality][1] == 3 else "major"
        names = SHARP_NAMES if self.root in _SHARP_ROOTS[family] else NOTE_NAMES
        text = names[self.root] + self.quality
        return text if self.bass is None or self.bass == self.root else f"{text}/{names[self.bass]}"

    def transposed(self, semitones: int) -> Chord:
        bass = None if self.bass is None else (self.bass + semitones) % 12
        return Chord((self.root + semitones) % 12, self.quality, bass)

    def __str__(self) -> str:
        return self.symbol


def note_class(name: str) -> int | None:
    """'F#' -> 6, 'Bb' -> 10; None when ``name`` is not a note name."""
    if not name or name[0].upper() not in _LETTERS or name[0] != name[0].upper():
        return None
    pc = _LETTERS[name[0]]
    for accidental in name[1:]:
        if accidental not in _ACCIDENTALS:
            return None
        pc += _ACCIDENTALS[accidental]
    return pc % 12


def parse(symbol: str) -> Chord:
    """'Am' -> Chord(9, 'm'); 'F/A' -> Chord(5, '', 9); 'Bbmaj7', 'C#m7b5', 'Gsus4', 'E7/G#'.
    Raises ValueError naming the symbol and what is accepted."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValueError(f"chord symbol must be a non-empty string: {ACCEPTED}; got {symbol!r}")
    text = symbol.strip()
    head, sep, slash = text.partition("/")
    split = 1 + sum(1 for ch in head[1:3] if ch in _ACCIDENTALS) if head else 0
    # 'Bbm' is B-flat minor; a lone 'b' after the letter is a flat, never a quality
    while split > 1 and note_class(head[:split]) is None:
        split -= 1
    root = note_class(head[:split])
    quality = ALIASES.get(head[split:], head[split:])
    bass = note_class(slash) if slash else None
    if root is None or quality not in QUALITIES or (sep and bass is None):
        raise ValueError(f"chord symbol {symbol!r} is not understood: {ACCEPTED}")
    return Chord(root, quality, None if bass == root else bass)
