"""Recognising a melody's style (reel, jig, hornpipe, air, polka, waltz, march, chorale) from
its rhythm and line, with the drum classifier's softmax regression (models/styles/drums.py),
trained on the folk tunes and chorale soprano lines of the train split and shipped as
models/weights/melody_styles.json.

Features: where onsets fall within the beat, the spread of note lengths, dotted pairs, the
intervals between notes, notes per beat, the pitch spread and the metre (simple or compound,
beats per bar; the tempo is left out). Restyle writes a style in its own metre family
(models/ops/metre_view.py), and a result is judged read in that metre. Restyle uses the classifier to name the style a melody comes from
(to steer away from it); the evaluation trains its own copy the same way to judge restyle.

    python -m models.styles.melody --build     # retrain and write the shipped weights
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.constants import WEIGHTS_DIR
from models.net import vocab as V
from models.net.tokenizer import snap
from models.ops.metre_view import is_compound
from models.representation import Part, Piece
from models.styles import table_build
from models.styles.drums import StyleClassifier

WEIGHTS_PATH = WEIGHTS_DIR / "melody_styles.json"
STYLES = V.MELODY_STYLES
ABOUT = {"format": "dawbridge-melody-styles",
         "credit": "O'Neill's 1850, Ryan's Mammoth Collection, Aird's Airs and the Bach chorales of the music21 corpus",
         "source": "train split of the folk tunes and chorale soprano lines", "licence": "public-domain music"}
_POINTS = (0, 3, 4, 6, 8, 9)  # the tokenizer's grid points within a beat
_LENGTHS = (0.26, 0.34, 0.51, 0.76, 1.01, 1.51, 2.01)  # note-length bins (beats), and longer
_INTERVALS = (0, 2, 4, 7)  # repeated note, step, third, up to a fifth, and wider
FEATURES = len(_POINTS) + len(_LENGTHS) + 1 + 1 + len(_INTERVALS) + 1 + 2 + 2


def features(part: Part, tempo: bool = False) -> np.ndarray:
    """The feature vector of one melody (zeros for an empty clip); ``tempo`` is ignored."""
    x = np.zeros(FEATURES)
    notes = sorted(part.notes, key=lambda n: (n.start, -n.pitch))
    if not notes:
        return x
    line = [n for i, n in enumerate(notes) if i == 0 or n.start > notes[i - 1].start + 1e-6]  # top of chords
    at = 0
    for n in line:
        x[at + _POINTS.index(snap(n.start * V.TICKS_PER_BEAT) % V.TICKS_PER_BEAT)] += 1
    at += len(_POINTS)
    for n in line:
        x[at + next((i for i, edge in enumerate(_LENGTHS) if n.duration <= edge), len(_LENGTHS))] += 1
    at += len(_LENGTHS) + 1
    pairs = list(zip(line, line[1:], strict=False))
    x[at] = sum(abs(a.duration - 3 * b.duration) < 0.02 for a, b in pairs)  # dotted: long-short 3:1
    at += 1
    for a, b in pairs:
        step = abs(b.pitch - a.pitch)
        x[at + next((i for i, edge in enumerate(_INTERVALS) if step <= edge), len(_INTERVALS))] += 1
    at += len(_INTERVALS) + 1
    x[: len(_POINTS) + len(_LENGTHS) + 1] /= len(line)
    x[len(_POINTS) + len(_LENGTHS) + 1: at] /= max(1, len(pairs))
    x[at] = math.log1p(len(line) / max(part.length, 1.0))
    x[at + 1] = float(np.std([n.pitch for n in line])) / 12.0
    x[at + 2] = float(is_compound(part.time_signature))
    x[at + 3] = part.beats_per_bar / 4.0
    return x


def train_on(pieces: Sequence[Piece]) -> StyleClassifier:
    """A classifier from train-split melodies (raises ValueError on validation pieces)."""
    chosen = [p for p in pieces if p.style in STYLES and p.part("melody") is not None]
    if any(p.split != "train" for p in chosen):
        raise ValueError("pieces must come from the train split")
    parts = [p.part("melody") for p in chosen]
    return StyleClassifier.train([p for p in parts if p is not None], [p.style or "" for p in chosen],
                                 tempo=False, featurize=features)


def training_pieces() -> list[Piece]:
    """Folk tunes and chorales of the train split (a chorale's melody is its soprano)."""
    from models.data.corpus import training_split

    return training_split("folk") + training_split("chorales")


@lru_cache(maxsize=1)
def shipped() -> StyleClassifier | None:
    try:
        return StyleClassifier.from_json(json.loads(WEIGHTS_PATH.read_text()), featurize=features)
    except (OSError, ValueError, KeyError):
        return None


def guess_style(part: Part) -> str | None:
    """The melody's most likely style, None without notes or weights."""
    classifier = shipped()
    if classifier is None or not part.notes:
        return None
    return classifier.predict(part)


def build(out: Path) -> str:
    pieces = training_pieces()
    classifier = train_on(pieces)
    out.write_text(json.dumps(classifier.to_json(ABOUT)) + "\n")
    return f"{len(classifier.styles)} styles from {len(pieces)} train pieces"


def main(argv: list[str] | None = None) -> int:
    return table_build.main(argv, "models.styles.melody", __doc__ or "", WEIGHTS_PATH, build)


if __name__ == "__main__":
    raise SystemExit(main())
