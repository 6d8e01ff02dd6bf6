"""models/weights/harmony.json: the chord planner's counts, from the training chorales only
(music21 chorales and JSB train, the hold-outs and the JSB valid tunes excluded by the corpus).

Each training chorale is labelled per harmonic step from Bach's four voices (template matching,
models/harmony/detect.py) and counted per mode, key-relative: chord transitions by bar
position, melody pitch classes under each chord, chords at phrase ends and the moves into
them, first and last chords. The emission networks (models/harmony/emission.py) learn from the
same labels and from how well each chord agrees with what the four voices sound at each step.
Rebuild with ``python -m models.harmony.table --build``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.constants import WEIGHTS_DIR
from models.harmony import emission
from models.harmony.detect import beat_labels
from models.harmony.plan import (
    INDEX,
    POSITIONS,
    STATE_QUALITIES,
    STATES,
    Planner,
    S,
    agreement,
    onset_matrix,
    phrase_ends,
    position,
    step_beats,
    window,
)
from models.harmony.symbols import Chord
from models.keys import parse_key
from models.representation import Note, Part, Piece

TABLE_PATH = WEIGHTS_DIR / "harmony.json"
VERSION = 4
# labels outside the planner's chords, mapped onto the nearest one it has
FOLD = {"aug": "", "sus2": "", "sus4": "", "6": "", "m6": "m", "mMaj7": "m", "7sus4": "7", "aug7": "7"}


def state(chord: Chord, tonic: int) -> int:
    quality = chord.quality if chord.quality in STATE_QUALITIES else FOLD[chord.quality]
    return INDEX[((chord.root - tonic) % 12, quality)]


def empty() -> dict[str, np.ndarray]:
    return {"emit_onset": np.zeros((S, 12)), "emit_weighted": np.zeros((S, 12)),
            "trans": np.zeros((POSITIONS, S, S)), "cadence": np.zeros((S, S)), "phrase_end": np.zeros(S),
            "start": np.zeros(S), "final": np.zeros(S)}


def count(pieces: Sequence[Piece], samples: list | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per-mode counts over ``pieces``; per chorale, (features, states, agreement) for the
    emission networks are appended to ``samples`` (see ``emission.train``)."""
    tables = {"major": empty(), "minor": empty()}
    for piece in pieces:
        melody = piece.part("melody")
        if melody is None or melody.key is None or len(piece.tracks) < 4:
            continue
        tonic, mode = parse_key(melody.key)
        t = tables[mode]
        step = step_beats(melody.time_signature)
        labels = beat_labels([p for _, p in piece.tracks], melody.length, step)
        n = len(labels)
        rel = [Note((x.pitch - tonic) % 12, x.start, x.duration) for x in melody.notes]
        onsets = onset_matrix(rel, step, n)
        ends = phrase_ends(melody, step, n)
        states = [None if c is None else state(c, tonic) for c in labels]
        seen = [k for k, s in enumerate(states) if s is not None]
        if not seen:
            continue
        if samples is not None:
            labelled = np.array([-1 if s is None else s for s in states])
            samples.append((window(melody, tonic, mode, step, n), labelled, sounding_agreement(piece, melody, tonic, step, n)))
        t["start"][states[seen[0]]] += 1
        t["final"][states[seen[-1]]] += 1
        for k in seen:
            s = states[k]
            t["emit_onset"][s] += onsets[k]
            if ends[k]:
                t["phrase_end"][s] += 1
            prev = states[k - 1] if k > 0 else None
            if prev is not None:
                t["trans"][position(k, melody.time_signature), prev, s] += 1
                if ends[k]:
                    t["cadence"][prev, s] += 1
    return tables


def sounding_agreement(piece: Piece, melody: Part, tonic: int, step: float, n: int) -> np.ndarray:
    """(n, S): per step, how well each chord with the melody's note agrees with the pitch
    classes all four voices sound at the step's start (0 where none sounds)."""
    out = np.zeros((n, S), dtype=np.float32)
    voices = [x for _, part in piece.tracks for x in part.notes]
    chords = [c.pitch_classes for c in STATES]
    for k in range(n):
        sound, top = _sounding(voices, k * step, tonic), _sounding(melody.notes, k * step, tonic)
        if sound:
            out[k] = [agreement(c | top, sound) for c in chords]
    return out


def _sounding(notes: Sequence[Note], t: float, tonic: int) -> frozenset[int]:
    return frozenset((x.pitch - tonic) % 12 for x in notes if x.start <= t + 1e-6 < x.end - 1e-6)


def build(out: Path) -> str:
    from models.data.corpus import load_all

    corpus = load_all(sources=("chorales", "jsb"), derived=False)
    train = [p for source in ("chorales", "jsb") for p in corpus[source] if p.split == "train"]
    samples: list = []
    tables = count(train, samples)
    net = emission.train(samples, S)
    doc = {"version": VERSION, "states": [f"{c.root}:{c.quality}" for c in (Chord(i // len(STATE_QUALITIES),
           STATE_QUALITIES[i % len(STATE_QUALITIES)]) for i in range(S))],
           "source": f"{len(train)} training chorales (music21 chorales and JSB train splits)"}
    doc["emission"] = net
    for mode, t in tables.items():
        doc[mode] = {k: np.round(v, 2).tolist() for k, v in t.items()}
    out.write_text(json.dumps(doc, separators=(",", ":")))
    steps = int(sum(t["emit_onset"].sum() for t in tables.values()))
    return f"{len(train)} chorales, {steps} labelled steps"


@functools.cache
def load(path: Path = TABLE_PATH) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("version") != VERSION:
        raise ValueError(f"{path}: harmony table version must be {VERSION}, got {doc.get('version')!r}; "
                         "rebuild it with `python -m models.harmony.table --build`")
    return doc


@functools.cache
def planner() -> Planner:
    """The shipped table's planner, built once per process (not per request)."""
    return Planner(load())


def main(argv: list[str] | None = None) -> int:
    from models.styles.table_build import main as table_main

    return table_main(argv, "models.harmony.table", __doc__ or "", TABLE_PATH, build)


if __name__ == "__main__":
    raise SystemExit(main())
