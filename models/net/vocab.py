"""The token vocabulary (format v2): every token the model reads or writes, and the grid.

A sequence is a header of control tokens followed by bars; inside a bar each track of the piece
appears in a fixed role order, even when empty, so the bar structure is always explicit:

    BOS STYLE_x METER_x KEY_x TEMPO_x
    BAR [FILL] [HARM POS_p CHORD_r_q [SLASH_b] ...] TRK_melody POS_p PITCH_n DUR_d VEL_v ... TRK_bass ... BAR ... EOS

A piece with a harmony (the chorales and the parts derived from them, and every harmonization)
leads each bar with its chord lane: ``HARM``, then each chord sounding in the bar at its
position (the chord held over the bar line restated at position 0), root and quality in one
token and an inversion's bass note after it. Format v2 added these tokens at the end of the
vocabulary, so every v1 token keeps its id.

A note is ``[POS] PITCH DUR [VEL]``; VEL only on drum tracks (the pitched corpora carry no
dynamics, and every token is a decoding step). POS is left out when the note starts where the previous note
of the same track and bar started (chords, drum hits). Positions count ticks of the bar on a
grid of 12 per beat, which holds 16ths (3 ticks), 8th triplets (4) and 16th triplets (2).
Durations are quantized to a fixed set of tick counts and may cross bar lines. Drums use GM
note numbers in PITCH tokens (the drum class table lives in models/drum_map.py).

docs/tokens.md records this format and its version; change both together.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from models.keys import parse_key

FORMAT_VERSION = 2
TICKS_PER_BEAT = 12
MAX_BAR_BEATS = 8
MAX_BAR_TICKS = TICKS_PER_BEAT * MAX_BAR_BEATS

# Track roles in the order they appear inside every bar. Melody first: it is the context of
# harmonization; bass before the inner voices so that the outer voices are fixed first.
ROLE_ORDER = ("melody", "bass", "tenor", "alto", "chords", "drums")
MONOPHONIC_ROLES = frozenset({"bass", "tenor", "alto"})
VELOCITY_ROLES = frozenset({"drums"})  # only these tracks carry VEL tokens

STYLES = (
    "none", "chorale", "reel", "jig", "hornpipe", "air", "polka", "waltz", "march",
    "rock", "funk", "jazz", "latin", "hiphop", "soul", "pop", "punk", "reggae", "blues",
    "country", "dance", "gospel", "afrobeat", "afrocuban", "highlife", "middleeastern",
    "neworleans",
)
MELODY_STYLES = STYLES[1:STYLES.index("rock")]
DRUM_STYLES = STYLES[STYLES.index("rock"):]
METERS = ("2/4", "3/4", "4/4", "5/4", "6/4", "7/4", "2/2", "3/2", "3/8", "5/8", "6/8", "7/8",
          "9/8", "12/8", "other")
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEYS = ("none",) + tuple(f"{n}_{m}" for m in ("major", "minor") for n in PITCH_NAMES)
TEMPO_EDGES = (70, 90, 105, 120, 135, 150, 170)  # bpm; bins below, between and above
TEMPOS = ("none",) + tuple(str(i) for i in range(len(TEMPO_EDGES) + 1))
DURATIONS = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 27, 30, 32, 33, 36,
             40, 42, 45, 48, 54, 60, 66, 72, 84, 96, 108, 120, 144, 168, 192, 240, 288, 384)
VELOCITY_EDGES = (30, 48, 62, 76, 90, 104, 118)  # bins 0..7
VELOCITY_CENTRES = (22, 40, 56, 70, 84, 98, 112, 124)
SPECIALS = ("PAD", "BOS", "EOS", "BAR", "FILL")
# The chord qualities of the harmony lane: what a template match reads from four voices or a
# keys part (models/harmony/detect.py). A producer's other qualities are read as the nearest of
# these (their exact tones still bind the voices through the decoder's chord guide).
CHORD_QUALITIES = ("", "m", "dim", "aug", "7", "m7", "maj7", "dim7", "m7b5")
NEAREST_QUALITY = {"sus2": "", "sus4": "", "6": "", "m6": "m", "mMaj7": "m", "7sus4": "7", "aug7": "aug"}


@dataclass(frozen=True)
class Vocab:
    """Token strings <-> ids, and the id ranges of each token family."""

    tokens: tuple[str, ...]

    @classmethod
    def build(cls) -> Vocab:
        tokens: list[str] = list(SPECIALS)
        tokens += [f"STYLE_{s}" for s in STYLES]
        tokens += [f"METER_{m}" for m in METERS]
        tokens += [f"KEY_{k}" for k in KEYS]
        tokens += [f"TEMPO_{t}" for t in TEMPOS]
        tokens += [f"TRK_{r}" for r in ROLE_ORDER]
        tokens += [f"POS_{p}" for p in range(MAX_BAR_TICKS)]
        tokens += [f"PITCH_{p}" for p in range(128)]
        tokens += [f"DUR_{d}" for d in DURATIONS]
        tokens += [f"VEL_{v}" for v in range(len(VELOCITY_CENTRES))]
        # format v2: the harmony lane, appended so that the v1 ids stay
        tokens += ["HARM"]
        tokens += [f"CHORD_{PITCH_NAMES[r]}_{q or 'maj'}" for q in CHORD_QUALITIES for r in range(12)]
        tokens += [f"SLASH_{PITCH_NAMES[b]}" for b in range(12)]
        return cls(tuple(tokens))

    def __post_init__(self) -> None:
        index = {t: i for i, t in enumerate(self.tokens)}
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        return self._index[token]  # type: ignore[attr-defined]

    def family(self, prefix: str) -> range:
        ids = [i for i, t in enumerate(self.tokens) if t.startswith(prefix)]
        return range(ids[0], ids[-1] + 1)


VOCAB = Vocab.build()

PAD, BOS, EOS, BAR, FILL = (VOCAB.id(s) for s in SPECIALS)
HEADER = 5  # tokens of a sequence's header: BOS STYLE METER KEY TEMPO
POS0 = VOCAB.id("POS_0")
PITCH0 = VOCAB.id("PITCH_0")
DUR0 = VOCAB.id(f"DUR_{DURATIONS[0]}")
VEL0 = VOCAB.id("VEL_0")
TRK = {r: VOCAB.id(f"TRK_{r}") for r in ROLE_ORDER}
HARM = VOCAB.id("HARM")
CHORD0 = VOCAB.id("CHORD_C_maj")  # CHORD0 + 12 * quality index + root
SLASH0 = VOCAB.id("SLASH_C")  # SLASH0 + bass pitch class


def chord_tokens(root: int, quality: str, bass: int | None = None) -> list[int]:
    """A chord of the harmony lane: CHORD_<root>_<quality> [SLASH_<bass>] (no position)."""
    quality = NEAREST_QUALITY.get(quality, quality)
    out = [CHORD0 + 12 * CHORD_QUALITIES.index(quality) + root % 12]
    if bass is not None and bass % 12 != root % 12:
        out.append(SLASH0 + bass % 12)
    return out


def meter_token(time_signature: tuple[int, int]) -> int:
    name = f"{time_signature[0]}/{time_signature[1]}"
    return VOCAB.id(f"METER_{name if name in METERS else 'other'}")


def key_token(key: str | None) -> int:
    """``key`` like "F# minor" (any enharmonic spelling) -> its KEY token."""
    if not key:
        return VOCAB.id("KEY_none")
    tonic, mode = parse_key(key)  # raises ValueError naming the expected form
    return VOCAB.id(f"KEY_{PITCH_NAMES[tonic]}_{mode}")


def tempo_token(tempo: float | None) -> int:
    if tempo is None:
        return VOCAB.id("TEMPO_none")
    bin_ = sum(1 for edge in TEMPO_EDGES if tempo >= edge)
    return VOCAB.id(f"TEMPO_{bin_}")


def style_token(style: str | None) -> int:
    return VOCAB.id(f"STYLE_{style if style in STYLES else 'none'}")


@functools.lru_cache(maxsize=4096)
def duration_index(ticks: float) -> int:
    """Index of the nearest representable duration (by ratio); cached, since tokenizing and
    live decoding ask for the same few tick counts over and over."""
    ticks = max(ticks, 1.0)
    return min(range(len(DURATIONS)), key=lambda i: abs(math.log(DURATIONS[i]) - math.log(ticks)))


def velocity_bin(velocity: int) -> int:
    return sum(1 for edge in VELOCITY_EDGES if velocity >= edge)
