"""The groove library: real drummers' bars from the Groove MIDI Dataset's train split (Gillick,
Tang, Roberts, Engel, Bamman 2019; CC BY 4.0), indexed by style, metre, tempo, feel (straight or
swung), density and kick/snare pattern, shipped as models/weights/grooves.json.

Each performance keeps up to ``MAX_BARS`` bars on the tokenizer's grid (12 ticks a beat), one
hit per (tick, drum class) with its velocity. ``drums`` starts from the grooves that fit a
request (:meth:`Library.find`), ``restyle`` leans on the target style's bars nearest the
source's skeleton. A style with no beat recordings on the train split (gospel: fills only)
borrows the grooves of the style its drummers' train fills are recognised as.

    python -m models.styles.grooves --build      # rebuild from the train split
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP, WEIGHTS_DIR
from models.constants import GROOVE_CREDIT as CREDIT
from models.net import vocab as V
from models.net.tokenizer import bar_ticks, snap
from models.representation import Note, Part, Piece
from models.styles import table_build

LIBRARY_PATH = WEIGHTS_DIR / "grooves.json"
MAX_BARS = 24  # bars kept per performance (from its start)
MIN_HITS = 3  # a bar with fewer is a pause or a count-in, not a groove bar
MIN_BARS = 2  # a performance with fewer groove bars has no phrase to vary
RECOGNISED_BARS = 8  # bars the style classifier reads to say how recognisable a groove is
CLASSES = tuple(DRUM_CLASSES.values())
_HEX = np.full(256, -1, np.int64)  # an ASCII code -> the value of its hex digit, -1 for others
_HEX[np.frombuffer(b"0123456789abcdefABCDEF", np.uint8)] = [*range(16), *range(10, 16)]
SKELETON = (DRUM_CLASSES["kick"], DRUM_CLASSES["snare"])
KICK = DRUM_CLASSES["kick"]
Hit = tuple[int, int, int]  # (tick in the bar, drum class, velocity)
# Retrieval costs: a tempo an octave away costs TEMPO_COST, the whole density range DENSITY_COST,
# and a kick on every bass onset saves BASS_GAIN (on the first 4 bars of 20 train chorale bass
# lines as context, 1.5 started 68% of the bass notes with a kick, 4.0 84%; without the bass 34%).
TEMPO_COST = 4.0
DENSITY_COST = 2.0
BASS_GAIN = 4.0
# times (1 - the Hellinger affinity) between its drum-class shares and its style's: the square
# roots weigh a missing ride or hi-hat as much as a busier snare (2 with a plain cosine left a
# jazz beat with no ride among the six that fit best at 120 bpm; 4 with the roots keeps it out).
TYPICAL_COST = 4.0
# Without a bass line to fit, the style's most recognisable grooves lead: RECOGNISABLE_GAIN times
# how sure the shipped style classifier is of a groove's style is taken off its cost, and
# FLOOR_COST times how much more often than the style's grooves on average it plays a kick on
# every beat is added (a recognisable rock groove is often a four-on-the-floor one, which
# drummers play in a sixth of their bars). On the 4-bar requests of the eval's drums part made
# from every third train beat (judged by its classifier; two seeds): gain 0 recognised 0.60,
# 2 0.82, 4 0.85, 8 0.88, but with four on the floor outside dance in 19-32% of bars against
# the drummers' 17%; gain 2 with FLOOR_COST 4: 0.79, with 4-6% four on the floor and 5-6% snare-
# dominated bars (drummers 7%). With a bass line both stay off: fitting its onsets comes first
# (gain 2 took the bass notes starting with a kick from 0.69 to 0.48 on validation).
RECOGNISABLE_GAIN = 3.0
FLOOR_COST = 4.0
# ... and TYPICAL_GAIN times how typical its bars are of the style's (:func:`typicality`) is taken
# off too. The classifier is surest of a style's most distinctive performances, which are not
# what a producer asking for the style expects: for rock at 120 bpm the six that fit best were a
# tom groove, snare rolls, a ride groove with five snares in four bars and two more tom grooves,
# where the style's most typical performances play eighth hats over a backbeat. On the eval's
# drums part run on train requests (two seeds), typical and recognisable gains 0 and 2 recognised
# the style in 0.81 / 0.76 of windows; 10 and 3 in 0.80 / 0.78, with snare-dominated, hat-less
# and four-on-the-floor bars in 6.1 / 1.7-3.7 / 2.8-6.3% of bars (drummers 6.9 / 7.6 / 17%), and
# rock at 120 bpm has a backbeat over hats or ride in 15 of 20 seeds (2 before); 10 and 2
# recognised 0.73 / 0.76, 20 and 1 0.63 (the drummers' own bars 0.63, the typical bar 0.76).
TYPICAL_GAIN = 10.0


@dataclass(frozen=True)
class Groove:
    """One train performance: where it came from, how it is played, and its bars."""

    source: str  # "groove:drummer1/session1/3"
    style: str
    time_signature: tuple[int, int]
    bpm: float
    swung: bool  # off-beat eighths played as triplets
    bars: tuple[tuple[Hit, ...], ...]
    # scores the library stores from its build (:func:`scored`): how sure the style classifier is
    # of its style (:func:`recognisability`), how typical its bars are of the style's (:func:`typicality`)
    recognisable: float = 0.0
    typical: float = 0.0

    @cached_property
    def density(self) -> float:
        """Median hits per bar."""
        return float(statistics.median(len(bar) for bar in self.bars))

    @cached_property
    def on_the_floor(self) -> float:
        """The share of its bars with a kick on every beat (four on the floor in 4/4)."""
        beats = set(range(0, bar_ticks(self.time_signature), V.TICKS_PER_BEAT))
        return sum(beats <= {t for t, c, _ in bar if c == KICK} for bar in self.bars) / len(self.bars)

    @cached_property
    def skeleton(self) -> frozenset[tuple[int, int]]:
        """Kick/snare hits (tick in the bar, class) found in at least half its bars."""
        count = Counter((t, c) for bar in self.bars for t, c, _ in set(bar) if c in SKELETON)
        return frozenset(hit for hit, n in count.items() if 2 * n >= len(self.bars))

    @cached_property
    def shares(self) -> tuple[float, ...]:
        """The share of its hits on each drum class."""
        count = Counter(c for bar in self.bars for _, c, _ in bar)
        total = max(1, sum(count.values()))
        return tuple(count[c] / total for c in CLASSES)

    def kick_share(self, positions: frozenset[int]) -> float:
        """The share of ``positions`` (ticks in the bar) where its bars play a kick, averaged."""
        if not positions:
            return 0.0
        kick = DRUM_CLASSES["kick"]
        return sum(len(positions & {t for t, c, _ in bar if c == kick}) for bar in self.bars) / (
            len(positions) * len(self.bars))


@dataclass(frozen=True)
class Library:
    grooves: tuple[Groove, ...]
    borrowed: dict[str, str]  # style with no grooves of its own -> the style lent to it

    def of_style(self, style: str, time_signature: tuple[int, int]) -> list[Groove]:
        style = self.borrowed.get(style, style)
        return [g for g in self.grooves if g.style == style and g.time_signature == time_signature]

    def find(self, style: str, time_signature: tuple[int, int], tempo: float | None = None,
             density: float | None = None, bass: Iterable[int] = ()) -> list[Groove]:
        """The style's grooves in that metre, best fit first: nearest in tempo, in density (0..1:
        the style's sparsest to busiest performance), played on the style's usual drums (a jazz
        beat kept on a tom comes last) and with a kick on most ``bass`` onsets (ticks in the
        bar); without ``bass``, the most recognisable of the style and no more on the floor
        than its grooves are, and (unless ``density`` is asked for) the most typical of the
        style (:func:`typicality`). Empty when the library has none."""
        pool = self.of_style(style, time_signature)
        if not pool:
            return []
        ranks = sorted(g.density for g in pool)
        positions = frozenset(bass)
        usual = [sum(g.shares[i] for g in pool) / len(pool) for i in range(len(CLASSES))]
        floor = sum(g.on_the_floor for g in pool) / len(pool)

        def cost(g: Groove) -> float:
            out = TEMPO_COST * abs(math.log2(g.bpm / tempo)) if tempo else 0.0
            out += TYPICAL_COST * (1.0 - _affinity(g.shares, usual))
            if density is not None:
                out += DENSITY_COST * abs(ranks.index(g.density) / max(1, len(ranks) - 1) - density)
            if not positions:  # with a bass line, fitting its onsets comes first
                out -= RECOGNISABLE_GAIN * g.recognisable
                out += FLOOR_COST * max(0.0, g.on_the_floor - floor)
                if density is None:  # a density asked for comes first, as a bass line's onsets do
                    out -= TYPICAL_GAIN * g.typical
            return out - BASS_GAIN * g.kick_share(positions)

        return sorted(pool, key=lambda g: (cost(g), g.source))

    def nearest(self, style: str, time_signature: tuple[int, int], skeleton: set[tuple[int, int]],
                tempo: float | None = None, typical: float = 0.0, recognisable: float = 0.0) -> list[Groove]:
        """The style's grooves ordered by how much of ``skeleton`` (kick/snare hits in the bar)
        they share (F1), plus ``typical`` times how much they share with the style's own
        (the kick/snare hits of half its bars), plus ``recognisable`` times how sure the drum
        style classifier is of their style, then by tempo."""
        pool = self.of_style(style, time_signature)
        usual = self.skeleton_of(pool)

        def score(g: Groove) -> tuple[float, float, str]:
            near = _f1(g.skeleton, skeleton) + typical * _f1(g.skeleton, usual)
            if recognisable:
                near += recognisable * g.recognisable
            return (-near, abs(math.log2(g.bpm / tempo)) if tempo else 0.0, g.source)

        return sorted(pool, key=score)

    @staticmethod
    def skeleton_of(pool: Sequence[Groove]) -> frozenset[tuple[int, int]]:
        """The kick/snare hits found in at least half of the grooves' bars."""
        count = Counter((t, c) for g in pool for bar in g.bars for t, c, _ in set(bar) if c in SKELETON)
        total = sum(len(g.bars) for g in pool)
        return frozenset(hit for hit, n in count.items() if 2 * n >= total)


def typicality(pool: Sequence[Groove]) -> dict[str, float]:
    """How typical each groove's bars are of the pool's (a style's performances in one metre):
    the mean over its bars of the onset F1 a bar can expect against a bar drawn from the pool,
    each of its hits (tick, class) counting the share of the pool's bars that have it. The
    style's most typical bars score highest, a busy or unusual bar low. Source -> score."""
    count = Counter((t, c) for g in pool for bar in g.bars for t, c, _ in set(bar))
    bars = sum(len(g.bars) for g in pool)
    share = {hit: n / bars for hit, n in count.items()}
    total = sum(share.values())

    def score(g: Groove) -> float:
        hits = [{(t, c) for t, c, _ in bar} for bar in g.bars]
        return statistics.mean(2 * sum(share[h] for h in bar) / (len(bar) + total) for bar in hits)

    return {g.source: score(g) for g in pool}


def recognisability(g: Groove) -> float:
    """How sure the shipped drum style classifier (models/styles/drums.py, train split) is that
    the groove's first bars are of its style (0 without the classifier)."""
    from models.styles.drums import shipped as classifier

    judge = classifier()
    if judge is None or g.style not in judge.styles:
        return 0.0
    tpb = bar_ticks(g.time_signature)
    notes = tuple(Note(c, (b * tpb + t) / V.TICKS_PER_BEAT, 0.25, v)
                  for b, bar in enumerate(g.bars[:RECOGNISED_BARS]) for t, c, v in bar)
    part = Part(notes, len(g.bars[:RECOGNISED_BARS]) * tpb / V.TICKS_PER_BEAT, g.time_signature, g.bpm, kind="drums")
    return judge.probabilities(part)[g.style]


def scored(grooves: Sequence[Groove]) -> list[Groove]:
    """``grooves`` with the scores a library stores: how recognisable each is, and how typical
    against its style's in its metre (asking the classifier about every groove takes about
    0.2 s, so no request does it)."""
    groups: dict[tuple[str, tuple[int, int]], list[Groove]] = {}
    for g in grooves:
        groups.setdefault((g.style, g.time_signature), []).append(g)
    typical = {source: value for pool in groups.values() for source, value in typicality(pool).items()}
    return [dataclasses.replace(g, recognisable=recognisability(g), typical=typical[g.source]) for g in grooves]


def _affinity(a: Sequence[float], b: Sequence[float]) -> float:
    """The Hellinger affinity of two share vectors (1: alike, 0: nothing in common)."""
    return sum(math.sqrt(x * y) for x, y in zip(a, b, strict=True)) / max(1e-9, math.sqrt(sum(a) * sum(b)))


def _f1(a: frozenset[tuple[int, int]] | set[tuple[int, int]], b: frozenset[tuple[int, int]] | set[tuple[int, int]]
        ) -> float:
    return 2 * len(a & b) / max(1, len(a) + len(b))


def bars_of(piece: Piece, limit: int = MAX_BARS) -> list[tuple[Hit, ...]]:
    """A performance's bars on the grid from its first with a kick or snare: a hit belongs to the
    bar its grid point falls in (an early downbeat is the next bar's), one hit per tick and class
    (the loudest)."""
    part = piece.first
    tpb = bar_ticks(part.time_signature)
    loudest: dict[tuple[int, int], int] = {}
    for n in part.notes:
        if n.pitch in DRUM_PITCH_MAP:
            key = (snap(n.start * V.TICKS_PER_BEAT), DRUM_PITCH_MAP[n.pitch])
            loudest[key] = max(loudest.get(key, 0), n.velocity)
    count = max(1, int(part.length * V.TICKS_PER_BEAT) // tpb)
    bars: list[list[Hit]] = [[] for _ in range(count)]
    for (tick, cls), vel in sorted(loudest.items()):
        if tick // tpb < count:
            bars[tick // tpb].append((tick % tpb, cls, vel))
    kept = [tuple(bar) for bar in bars if len(bar) >= MIN_HITS]
    while kept and not any(c in SKELETON for _, c, _ in kept[0]):
        kept.pop(0)  # a count-in on the hi-hat is not the groove
    return kept[:limit]


def swung(piece: Piece) -> bool:
    """Whether its off-beat eighths are played late, as triplets (grid point 8 of 12) rather
    than straight (6)."""
    points = Counter(snap(n.start * V.TICKS_PER_BEAT) % V.TICKS_PER_BEAT for n in piece.first.notes)
    return points[8] > points[6]


def build_library(pieces: Sequence[Piece]) -> dict[str, Any]:
    """The library from Groove train pieces (raises ValueError on any other split)."""
    from models.styles.drums import shipped

    found = []
    for piece in pieces:
        if piece.split != "train" or not piece.source.startswith("groove:"):
            raise ValueError(f"pieces must be Groove train pieces, got {piece.source} ({piece.split})")
        bars = bars_of(piece)
        if piece.style and piece.labels.get("beat_type") == "beat" and len(bars) >= MIN_BARS:
            found.append(Groove(piece.source, piece.style, piece.first.time_signature,
                                round(piece.first.tempo or 120.0, 1), swung(piece), tuple(bars)))
    grooves = [{"source": g.source, "style": g.style, "metre": "{}/{}".format(*g.time_signature), "bpm": g.bpm,
                "swung": g.swung, "recognisable": g.recognisable, "typical": g.typical,
                "bars": [_encode(bar) for bar in g.bars]} for g in scored(found)]
    have = {g["style"] for g in grooves}
    borrowed = {}
    classifier = shipped()
    for style in V.DRUM_STYLES:
        fills = [p for p in pieces if p.style == style and p.labels.get("beat_type") == "fill"]
        if style not in have and fills and classifier is not None:
            votes = Counter(s for s in (classifier.predict(p.first) for p in fills) if s in have)
            borrowed[style] = votes.most_common(1)[0][0] if votes else "rock"
    return {"format": "dawbridge-grooves", "version": 1, "credit": CREDIT,
            "source": "Groove MIDI Dataset train split (info.csv split 'train'), beat recordings",
            "licence": "CC BY 4.0 (the performances, on a 12-per-beat grid)",
            "hits": "per bar, 5 hex digits a hit: tick in the bar (2), drum class index (1), velocity (2)",
            "recognisable": "per groove, how sure the shipped drum style classifier is of its style (first 8 bars)",
            "typical": "per groove, how typical its bars are of its style's (expected onset F1 to the style's bars)",
            "classes": list(CLASSES), "borrowed": borrowed, "grooves": grooves}


def _encode(bar: Sequence[Hit]) -> str:
    return "".join(f"{t:02x}{CLASSES.index(c):x}{v:02x}" for t, c, v in bar)


def _decode(text: str) -> tuple[Hit, ...]:
    return _decode_bars([text])[0]


def _decode_bars(texts: Sequence[str]) -> list[tuple[Hit, ...]]:
    """Bars of hits from their hex text (:func:`_encode`), every hit in one pass of numpy: the
    shipped library's 115,000 hits read one by one took about 0.2 s of the first drums request.
    Raises ValueError on anything but 5 hex digits a hit."""
    digits = _HEX[np.frombuffer("".join(texts).encode("ascii"), np.uint8)]
    if (digits < 0).any() or any(len(text) % 5 for text in texts):
        raise ValueError("groove bars must be 5 hex digits a hit")
    digits = digits.reshape(-1, 5)
    hits = list(zip((digits[:, 0] * 16 + digits[:, 1]).tolist(), np.asarray(CLASSES)[digits[:, 2]].tolist(),
                    (digits[:, 3] * 16 + digits[:, 4]).tolist(), strict=True))
    ends = itertools.accumulate(len(text) // 5 for text in texts)
    return [tuple(hits[end - len(text) // 5:end]) for text, end in zip(texts, ends, strict=True)]


def from_json(data: dict[str, Any]) -> Library:
    bars = iter(_decode_bars([bar for g in data["grooves"] for bar in g["bars"]]))
    grooves = []
    for g in data["grooves"]:
        num, den = (int(x) for x in g["metre"].split("/"))
        grooves.append(Groove(g["source"], g["style"], (num, den), float(g["bpm"]), bool(g["swung"]),
                              tuple(itertools.islice(bars, len(g["bars"]))),
                              float(g.get("recognisable", 0.0)), float(g.get("typical", 0.0))))
    if not all("recognisable" in g and "typical" in g for g in data["grooves"]):  # built before they were stored
        grooves = scored(grooves)
    return Library(tuple(grooves), dict(data.get("borrowed", {})))


@lru_cache(maxsize=1)
def shipped() -> Library | None:
    """The shipped library, or None when it is missing or unreadable (drums then come from the
    model alone)."""
    try:
        return from_json(json.loads(LIBRARY_PATH.read_text()))
    except (OSError, ValueError, KeyError):
        return None


def build(out: Path) -> str:
    from models.data.corpus import training_split

    pieces = training_split("groove")
    data = build_library(pieces)
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    bars = sum(len(g["bars"]) for g in data["grooves"])
    return f"{len(data['grooves'])} train performances, {bars} bars, borrowed {data['borrowed']}"


def main(argv: list[str] | None = None) -> int:
    return table_build.main(argv, "models.styles.grooves", __doc__ or "", LIBRARY_PATH, build)


if __name__ == "__main__":
    raise SystemExit(main())
