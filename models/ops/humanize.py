"""Drum humanizing: the drummers' micro-timing and dynamics, learned once from the Groove MIDI
Dataset's train split and shipped as a small JSON table (models/weights/humanize.json).

For each GM drum class and position within the beat (the tokenizer's grid points: 16ths and
8th triplets) the table holds the mean and spread of how far the drummers played from that
grid point (milliseconds, so it carries across tempi) and of their velocities. ``apply`` moves
grid notes by ``amount`` times a draw from that distribution (0 = on the grid, 1 = as played)
and spreads velocities inside the bin the model chose; it is seeded, so the same seed gives
the same feel. ``amount_of`` reads how humanized a clip already is.

    python -m models.ops.humanize --build        # rebuild the table from the corpus cache
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DRUM_CLASSES, GROOVE_CREDIT, WEIGHTS_DIR
from models.net import vocab as V
from models.net.tokenizer import snap
from models.representation import Note, Piece
from models.styles import table_build

TABLE_PATH = WEIGHTS_DIR / "humanize.json"
CREDIT = GROOVE_CREDIT
DEFAULT_TEMPO = 120.0
GRID_POINTS = (0, 3, 4, 6, 8, 9)  # ticks within a beat
_CLASS_OF = {pitch: name for name, pitch in DRUM_CLASSES.items()}
_MARGIN = 0.05  # ticks kept from a cell's edge
Cell = tuple[float, float, float, float]  # offset mean ms, offset sd ms, velocity mean, velocity sd


def build_table(pieces: Sequence[Piece]) -> dict[str, Any]:
    """The table from Groove train pieces (raises ValueError on any other split: validation
    data is for evaluation only)."""
    offsets: dict[tuple[str, int], list[float]] = defaultdict(list)
    velocities: dict[tuple[str, int], list[float]] = defaultdict(list)
    for piece in pieces:
        if piece.split != "train" or not piece.source.startswith("groove:"):
            raise ValueError(f"pieces must be Groove train pieces, got {piece.source} ({piece.split})")
        part = piece.first
        ms_per_beat = 60000.0 / (part.tempo or DEFAULT_TEMPO)
        for n in part.notes:
            name = _CLASS_OF.get(n.pitch)
            if name is None:
                continue
            tick = n.start * V.TICKS_PER_BEAT
            grid = snap(tick)
            key = (name, grid % V.TICKS_PER_BEAT)
            offsets[key].append((tick - grid) / V.TICKS_PER_BEAT * ms_per_beat)
            velocities[key].append(n.velocity)
    classes: dict[str, dict[str, list[float]]] = {}
    every = [x for xs in offsets.values() for x in xs]
    for name in DRUM_CLASSES:
        cells = {}
        for point in GRID_POINTS:
            off, vel = offsets.get((name, point), []), velocities.get((name, point), [])
            if len(off) >= 20:
                cells[str(point)] = [round(float(np.mean(off)), 2), round(float(np.std(off)), 2),
                                     round(float(np.mean(vel)), 1), round(float(np.std(vel)), 1), len(off)]
        classes[name] = cells
    return {
        "format": "dawbridge-humanize", "version": 1,
        "source": "Groove MIDI Dataset train split (info.csv split 'train')",
        "credit": CREDIT, "licence": "CC BY 4.0 (derived statistics)",
        "units": "per class and position within the beat (ticks of 12 per beat): "
                 "[offset mean ms, offset sd ms, velocity mean, velocity sd, notes]",
        "mean_abs_ms": round(float(np.mean(np.abs(every))), 2) if every else 0.0,
        "classes": classes,
    }


@lru_cache(maxsize=1)
def load_table(path: Path = TABLE_PATH) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _cell(table: dict[str, Any], pitch: int, point: int) -> Cell | None:
    cells = table["classes"].get(_CLASS_OF.get(pitch, ""), {})
    cell = cells.get(str(point)) or cells.get("0")
    return None if cell is None else (cell[0], cell[1], cell[2], cell[3])


def apply(notes: Sequence[Note], amount: float, tempo: float | None, seed: int,
          bounds: tuple[float, float] | None = None) -> list[Note]:
    """Grid notes -> humanized notes. ``amount`` 0..1; ``bounds`` (beats): onsets stay inside
    [start, end) (a fill's span, the clip). Velocities stay inside the model's velocity bin."""
    if amount <= 0 or not notes:
        return list(notes)
    table = load_table()
    rng = np.random.default_rng(seed)
    beats_per_ms = (tempo or DEFAULT_TEMPO) / 60000.0
    out = []
    for n in notes:
        cell = _cell(table, n.pitch, round(n.start * V.TICKS_PER_BEAT) % V.TICKS_PER_BEAT)
        z = rng.standard_normal(2)
        if cell is None:
            out.append(n)
            continue
        start = n.start + amount * (cell[0] + cell[1] * float(z[0])) * beats_per_ms
        start = _within_cell(start, n.start)
        if bounds is not None:
            start = max(start, bounds[0])
        velocity = _velocity(n.velocity, cell, amount, float(z[1]))
        out.append(Note(n.pitch, _onset(start, bounds), n.duration, velocity))
    return out


def _onset(start: float, bounds: tuple[float, float] | None) -> float:
    """A humanized onset to the microsecond, inside ``bounds``' [start, end): rounded, unless
    rounding would put it on the end or past it (a clip whose end is not on the grid), where
    it is the last float before the end."""
    onset = round(max(start, 0.0), 6)
    if bounds is not None and onset >= bounds[1]:
        return math.nextafter(bounds[1], -math.inf)
    return onset


def _cells() -> dict[int, tuple[float, float]]:
    """Per grid point of a beat, its cell: the ticks closer to it than to either neighbour."""
    points = [GRID_POINTS[-1] - V.TICKS_PER_BEAT, *GRID_POINTS, V.TICKS_PER_BEAT]
    return {p: ((points[i] + p) / 2 + _MARGIN, (p + points[i + 2]) / 2 - _MARGIN)
            for i, p in enumerate(GRID_POINTS)}


_CELLS = _cells()


def _within_cell(start: float, grid_start: float) -> float:
    """``start`` kept inside the grid cell of ``grid_start`` (16ths and triplets lie a tick
    apart). The table's offsets were measured that way, hits snapped to their nearest grid
    point, so a draw from the normal's tail must not move a 16th onto a triplet: the feel
    changes, the rhythm does not."""
    tick = round(grid_start * V.TICKS_PER_BEAT)
    base = tick - tick % V.TICKS_PER_BEAT
    point = tick % V.TICKS_PER_BEAT  # off the beat's grid in a metre of odd eighths (7/8's 2nd bar)
    low, high = _CELLS.get(point, (point - 0.5 + _MARGIN, point + 0.5 - _MARGIN))
    return min(max(start, (base + low) / V.TICKS_PER_BEAT), (base + high) / V.TICKS_PER_BEAT)


def _velocity(velocity: int, cell: Cell, amount: float, z: float) -> int:
    """A velocity drawn from the cell's distribution, clipped to the bin ``velocity`` is in."""
    b = V.velocity_bin(velocity)
    low = V.VELOCITY_EDGES[b - 1] if b > 0 else 1
    high = V.VELOCITY_EDGES[b] - 1 if b < len(V.VELOCITY_EDGES) else 127
    drawn = min(max(cell[2] + cell[3] * z, low), high)
    return int(min(127, max(1, round(velocity + amount * (drawn - velocity)))))


def amount_of(notes: Sequence[Note], tempo: float | None) -> float:
    """How humanized a drum clip is, 0..1: its mean distance from the grid relative to the
    drummers' (0 for a clip on the grid)."""
    if not notes:
        return 0.0
    ms_per_beat = 60000.0 / (tempo or DEFAULT_TEMPO)
    off = [abs(n.start * V.TICKS_PER_BEAT - snap(n.start * V.TICKS_PER_BEAT)) / V.TICKS_PER_BEAT * ms_per_beat
           for n in notes]
    typical = float(load_table().get("mean_abs_ms") or 1.0)
    return min(1.0, max(0.0, float(np.mean(off)) / typical))


def build(out: Path) -> str:
    from models.data.corpus import training_split

    pieces = training_split("groove")
    table = build_table(pieces)
    out.write_text(json.dumps(table, indent=1) + "\n")
    return f"{len(pieces)} train performances, mean |offset| {table['mean_abs_ms']} ms"


def main(argv: list[str] | None = None) -> int:
    return table_build.main(argv, "models.ops.humanize", __doc__ or "", TABLE_PATH, build)


if __name__ == "__main__":
    raise SystemExit(main())
