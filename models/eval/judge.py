"""An independent judge of drum clips for ``dawbridge eval --ops``: which Groove style a clip
sounds like, and how often its bars are ones drummers rarely play.

The style classifier is a softmax regression on per-bar onset histograms (for each of the nine
drum classes, whether a hit falls on each grid point of the bar: 16ths and 8th triplets), with
the tempo left out, trained on the 4/4 beat recordings of the Groove train split only and on
the styles that have them there (17: gospel has fills only). A clip is judged by the sum of
its bars' log-probabilities.

Degenerate bars: the snare on more than 60% of the bar's 16ths; no hi-hat or ride at all;
four on the floor (a kick on every beat) outside the dance styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.net import vocab as V
from models.net.tokenizer import snap
from models.representation import Part, Piece
from models.styles.drums import StyleClassifier

BAR = 4 * V.TICKS_PER_BEAT  # 4/4 only
SLOTS = [t for t in range(BAR) if t % V.TICKS_PER_BEAT in (0, 3, 4, 6, 8, 9)]
CLASSES = tuple(DRUM_CLASSES.values())
FEATURES = len(CLASSES) * len(SLOTS)
DANCE_STYLES = frozenset({"dance"})
SNARE_SHARE = 0.6
KICK, SNARE = DRUM_CLASSES["kick"], DRUM_CLASSES["snare"]
TIME_KEEPERS = frozenset(DRUM_CLASSES[c] for c in ("closed_hat", "open_hat", "ride"))
Bar = frozenset[tuple[int, int]]  # (tick in the bar, class)


def bars(part: Part) -> list[Bar]:
    """A 4/4 drum clip's bars as sets of (tick in the bar, class): a hit belongs to the bar its
    grid point falls in."""
    count = max(1, round(part.length / 4))
    out: list[set[tuple[int, int]]] = [set() for _ in range(count)]
    for n in part.notes:
        tick = snap(n.start * V.TICKS_PER_BEAT)
        if n.pitch in DRUM_PITCH_MAP and tick // BAR < count:
            out[tick // BAR].add((tick % BAR, DRUM_PITCH_MAP[n.pitch]))
    return [frozenset(b) for b in out]


def bar_features(bar: Bar) -> np.ndarray:
    x = np.zeros(FEATURES)
    for tick, cls in bar:
        x[CLASSES.index(cls) * len(SLOTS) + SLOTS.index(tick)] = 1.0
    return x


@dataclass
class Judge:
    classifier: StyleClassifier

    @classmethod
    def train(cls, pieces: Sequence[Piece]) -> Judge:
        """From Groove train pieces (raises ValueError on any other split)."""
        xs, labels = [], []
        for piece in pieces:
            if piece.split != "train":
                raise ValueError(f"pieces must come from the Groove train split, got {piece.source} ({piece.split})")
            if piece.labels.get("beat_type") != "beat" or piece.first.time_signature != (4, 4) or not piece.style:
                continue
            for bar in bars(piece.first):
                if len(bar) >= 3:
                    xs.append(bar_features(bar))
                    labels.append(piece.style)
        parts = [Part((), 4.0, name=str(i)) for i in range(len(xs))]  # the features are looked up by name

        def featurize(part: Part, tempo: bool) -> np.ndarray:
            return xs[int(part.name or 0)]

        trained = StyleClassifier.train(parts, labels, steps=300, tempo=False, featurize=featurize)
        trained.featurize = lambda part, tempo: bar_features(bars(part)[0])
        return cls(trained)

    @property
    def styles(self) -> list[str]:
        return self.classifier.styles

    def log_probs(self, bar: Bar) -> np.ndarray:
        c = self.classifier
        z = np.append((bar_features(bar) - c.mean) / c.scale, 1.0) @ c.weights
        z = z - z.max()
        return np.asarray(z - np.log(np.exp(z).sum()))

    def predict(self, part: Part) -> str:
        """The style the clip's bars together are most likely played in."""
        total = sum((self.log_probs(bar) for bar in bars(part)), np.zeros(len(self.styles)))
        return self.styles[int(np.argmax(total))]


def snare_dominated(bar: Bar) -> bool:
    sixteenths = {t // 3 for t, c in bar if c == SNARE and t % 3 == 0}
    return len(sixteenths) > SNARE_SHARE * (BAR // 3)


def keeps_no_time(bar: Bar) -> bool:
    return not any(c in TIME_KEEPERS for _, c in bar)


def four_on_the_floor(bar: Bar) -> bool:
    return all((beat * V.TICKS_PER_BEAT, KICK) in bar for beat in range(4))


def degenerate(parts: Sequence[tuple[Part, str]]) -> dict[str, float]:
    """The share of bars (of clips with their style) that are snare-dominated, keep no time, or
    (outside the dance styles) four on the floor."""
    snare = none = floor = total = outside = 0
    for part, style in parts:
        for bar in bars(part):
            total += 1
            snare += snare_dominated(bar)
            none += keeps_no_time(bar)
            if style not in DANCE_STYLES:
                outside += 1
                floor += four_on_the_floor(bar)
    return {"bars": total, "snare_dominated": round(snare / max(1, total), 4),
            "no_hat_or_ride": round(none / max(1, total), 4),
            "four_on_the_floor_outside_dance": round(floor / max(1, outside), 4)}


def typical_bar(pieces: Sequence[Piece], style: str) -> Part | None:
    """The style's most typical train bar, as a 4/4 clip: the bar whose hits are most common
    among the style's bars (each hit weighted by the share of bars that have it)."""
    every = [b for p in pieces if p.style == style and p.labels.get("beat_type") == "beat"
             and p.first.time_signature == (4, 4) and p.split == "train" for b in bars(p.first) if len(b) >= 3]
    if not every:
        return None
    count: dict[tuple[int, int], int] = {}
    for bar in every:
        for hit in bar:
            count[hit] = count.get(hit, 0) + 1
    best = max(every, key=lambda bar: (sum(2 * count[h] - len(every) for h in bar), sorted(bar)))
    return bar_part(best, 4.0)


def bar_part(bar: Bar, length: float, repeat: int = 1) -> Part:
    """A bar as a drum clip of ``repeat`` bars (velocity 90, on the grid)."""
    from models.representation import Note

    notes = tuple(Note(cls, r * 4 + tick / V.TICKS_PER_BEAT, 0.25, 90)
                  for r in range(repeat) for tick, cls in sorted(bar))
    return Part(notes, length * repeat, (4, 4), None, name="typical", kind="drums")
