"""Model-package constants in one place: voice ranges per role, the drum-class map and the
data grid facts that loaders, augmentation and the tokenizer share."""

from __future__ import annotations

from pathlib import Path

# The shipped weights, model card and the small tables derived from the training splits.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# Inclusive MIDI ranges per track role. VOICE_RANGES is the general one (folk melodies reach
# high on the fiddle); CHORALE_RANGES is four-part vocal writing as in Bach's chorales.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "melody": (55, 88),
    "alto": (52, 74),
    "tenor": (45, 69),
    "bass": (34, 64),
    "chords": (48, 76),
}
CHORALE_RANGES: dict[str, tuple[int, int]] = {
    "melody": (59, 81),
    "alto": (52, 74),
    "tenor": (45, 69),
    "bass": (34, 64),
    "chords": (48, 76),
}

# The nine GM drum classes (Magenta's reduction), each named by the GM pitch it is written as.
DRUM_CLASSES: dict[str, int] = {
    "kick": 36,
    "snare": 38,
    "closed_hat": 42,
    "open_hat": 46,
    "low_tom": 45,
    "mid_tom": 48,
    "high_tom": 50,
    "crash": 49,
    "ride": 51,
}

# Input MIDI pitch -> drum class. The Roland TD-11 pads of the Groove MIDI Dataset follow the
# dataset paper's table (rims go with their drum heads: tom 1 = 48/50, tom 2 = 45/47, floor
# tom 3 = 43/58); the other GM pitches follow Magenta's drum reduction.
_DRUM_MEMBERS: dict[str, tuple[int, ...]] = {
    "kick": (35, 36),
    "snare": (27, 28, 31, 32, 33, 34, 37, 38, 39, 40, 56, 65, 66, 75, 85),
    "closed_hat": (22, 42, 44, 54, 68, 69, 70, 71, 73, 78, 80),
    "open_hat": (26, 46, 67, 72, 74, 79, 81),
    "low_tom": (29, 41, 43, 58, 61, 64, 84),
    "mid_tom": (45, 47, 60, 63, 77, 86, 87),
    "high_tom": (30, 48, 50, 62, 76, 83),
    "crash": (49, 52, 55, 57),
    "ride": (51, 53, 59, 82),
}
DRUM_PITCH_MAP: dict[int, int] = {
    pitch: DRUM_CLASSES[cls] for cls, members in _DRUM_MEMBERS.items() for pitch in members
}

GROOVE_CREDIT = "Groove MIDI Dataset, Gillick, Tang, Roberts, Engel, Bamman 2019"  # CC BY 4.0 asks for it
DEFAULT_VELOCITY = 100  # notes of score sources, which carry no dynamics per note
JSB_STEP = 0.25  # beats per step of the JSB 16th-note grid
VALID_PERCENT = 5  # share of hashed sources put in the validation split
