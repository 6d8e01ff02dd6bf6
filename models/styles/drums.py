"""Recognising a drum clip's Groove style: onset-histogram features and a softmax regression
(numpy only), trained on the Groove MIDI train split and shipped as
models/weights/drum_styles.json.

Features: for each of the nine drum classes, the share of the clip's onsets at each position
within the beat (the tokenizer's six grid points), notes per beat (log) and the tempo. The ops
use it to put a style in the header of a clip that comes without one (fill, vary, continue);
the evaluation trains its own copy the same way to judge restyle.

    python -m models.styles.drums --build     # retrain and write the shipped weights
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP, GROOVE_CREDIT, WEIGHTS_DIR
from models.net import vocab as V
from models.net.tokenizer import snap
from models.representation import Part, Piece
from models.styles import table_build

WEIGHTS_PATH = WEIGHTS_DIR / "drum_styles.json"
CREDIT = GROOVE_CREDIT
DEFAULT_STYLE = "rock"
_POINTS = (0, 3, 4, 6, 8, 9)
_CLASSES = tuple(DRUM_CLASSES.values())
FEATURES = len(_CLASSES) * len(_POINTS) + 2


def features(part: Part, tempo: bool = True) -> np.ndarray:
    """The feature vector of one drum clip (zeros for an empty clip); ``tempo`` False leaves
    the tempo out (0), for judging clips whose tempo was kept on purpose."""
    x = np.zeros(FEATURES)
    notes = [n for n in part.notes if n.pitch in DRUM_PITCH_MAP]
    for n in notes:
        point = snap(n.start * V.TICKS_PER_BEAT) % V.TICKS_PER_BEAT
        x[_CLASSES.index(DRUM_PITCH_MAP[n.pitch]) * len(_POINTS) + _POINTS.index(point)] += 1
    if notes:
        x[:-2] /= len(notes)
    x[-2] = math.log1p(len(notes) / max(part.length, 1.0))
    x[-1] = (part.tempo or 110.0) / 100.0 if tempo else 0.0
    return x


Featurize = Callable[[Part, bool], np.ndarray]


class StyleClassifier:
    """Softmax regression over standardized features (``featurize``: drum features by default;
    models/styles/melody.py has the melodic ones)."""

    def __init__(self, styles: list[str], mean: np.ndarray, scale: np.ndarray, weights: np.ndarray,
                 tempo: bool = True, featurize: Featurize | None = None) -> None:
        self.styles, self.mean, self.scale, self.weights, self.tempo = styles, mean, scale, weights, tempo
        self.featurize = featurize or features

    @classmethod
    def train(cls, parts: Sequence[Part], labels: Sequence[str], steps: int = 400, rate: float = 0.5,
              l2: float = 1e-3, tempo: bool = True, featurize: Featurize | None = None) -> StyleClassifier:
        featurize = featurize or features
        styles = sorted(set(labels))
        x = np.stack([featurize(p, tempo) for p in parts])
        mean, scale = x.mean(0), np.maximum(x.std(0), 1e-3)
        x = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        y = np.zeros((len(x), len(styles)))
        y[np.arange(len(x)), [styles.index(s) for s in labels]] = 1
        # Balance the classes: rock and funk dominate the dataset.
        weight = 1.0 / y.sum(0)[np.argmax(y, 1)]
        weight = weight / weight.mean()
        w = np.zeros((x.shape[1], len(styles)))
        for _ in range(steps):
            p = _softmax(x @ w)
            grad = x.T @ ((p - y) * weight[:, None]) / len(x) + l2 * w
            w -= rate * grad
        return cls(styles, mean, scale, w, tempo, featurize)

    def probabilities(self, part: Part) -> dict[str, float]:
        x = np.append((self.featurize(part, self.tempo) - self.mean) / self.scale, 1.0)
        return dict(zip(self.styles, _softmax(x @ self.weights).tolist(), strict=True))

    def predict(self, part: Part) -> str:
        probs = self.probabilities(part)
        return max(probs, key=probs.__getitem__)

    def to_json(self, about: dict[str, str] | None = None) -> dict[str, Any]:
        """The weights, under ``about`` (format, credit, source, licence; the Groove drum
        classifier's by default)."""
        about = about or {"format": "dawbridge-drum-styles", "credit": CREDIT,
                          "source": "Groove MIDI Dataset train split", "licence": "CC BY 4.0 (derived weights)"}
        return about | {"version": 1, "styles": self.styles, "mean": np.round(self.mean, 5).tolist(),
                        "scale": np.round(self.scale, 5).tolist(), "weights": np.round(self.weights, 5).tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any], featurize: Featurize | None = None) -> StyleClassifier:
        return cls(list(data["styles"]), np.array(data["mean"]), np.array(data["scale"]), np.array(data["weights"]),
                   featurize=featurize)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def train_on(pieces: Sequence[Piece], tempo: bool = True) -> StyleClassifier:
    """A classifier from Groove train beats (raises ValueError on validation pieces)."""
    chosen = [p for p in pieces if p.style and p.labels.get("beat_type") == "beat"]
    if any(p.split != "train" for p in chosen):
        raise ValueError("pieces must come from the Groove train split")
    return StyleClassifier.train([p.first for p in chosen], [p.style for p in chosen if p.style], tempo=tempo)


@lru_cache(maxsize=1)
def shipped() -> StyleClassifier | None:
    try:
        return StyleClassifier.from_json(json.loads(WEIGHTS_PATH.read_text()))
    except (OSError, ValueError, KeyError):
        return None


def guess_style(part: Part) -> str:
    """The clip's most likely Groove style (``DEFAULT_STYLE`` without notes or weights)."""
    classifier = shipped()
    if classifier is None or not part.notes:
        return DEFAULT_STYLE
    return classifier.predict(part)


def build(out: Path) -> str:
    from models.data.corpus import training_split

    pieces = training_split("groove")
    classifier = train_on(pieces)
    out.write_text(json.dumps(classifier.to_json()) + "\n")
    return f"{len(classifier.styles)} styles from {len(pieces)} train performances"


def main(argv: list[str] | None = None) -> int:
    return table_build.main(argv, "models.styles.drums", __doc__ or "", WEIGHTS_PATH, build)


if __name__ == "__main__":
    raise SystemExit(main())
