"""The chord plan: which chord sounds where, chosen with the whole melody in view.

A search over key-relative chords, one per harmonic step (the metre's beat: a quarter in
4/4 and 3/4, a dotted quarter in 6/8, 9/8 and 12/8, a half note in 2/2, 3/2 and 4/2). What it
weighs, all learnt from the training chorales (models/weights/harmony.json):
- the whole melody, read step by step by small bidirectional networks
  (models/harmony/emission.py);
- transitions that depend on where the step falls in the bar (a new bar favours a change);
- the close: a melody ending on a note of the tonic chord ends on the tonic.
Forward-backward gives each step's chords a probability over all paths, and each step takes
the chord expected to share the most pitch classes with the step's chord (the chord agreement
that the harmony is judged by), not the single likeliest path. A given progression (the
producer's chords) is the plan as it is.

Alternatives to that plan are drawn from the same distribution over paths (forward filtering,
backward sampling), sharpened by ``SAMPLE_TEMPERATURE``, so each stays a likely harmonization
under the same key lock, close and opening rest; one is kept only when it changes enough of the
plan and of the alternatives before it to be heard as another harmony (:func:`alternatives`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from models.harmony.detect import ChordSpan, beat_labels, weights
from models.harmony.emission import Emission, features
from models.harmony.symbols import Chord
from models.keys import parse_key
from models.representation import Note, Part, Piece

STATE_QUALITIES = ("", "m", "dim", "7", "m7", "maj7", "dim7", "m7b5")
STATES = [Chord(root, q) for root in range(12) for q in STATE_QUALITIES]
S = len(STATES)
INDEX = {(c.root, c.quality): i for i, c in enumerate(STATES)}
POSITIONS = 3  # a step's place in the bar: 0 the downbeat, 1 another strong beat, 2 a weak one


def agreement(a: frozenset[int], b: frozenset[int]) -> float:
    """Pitch classes two sets share over those either holds (what chord agreement averages)."""
    return len(a & b) / len(a | b) if a | b else 0.0


# (S, S): the agreement of every two chords
_PCS = [c.pitch_classes for c in STATES]  # each once: a property builds its set at every read
OVERLAP = np.array([[agreement(a, b) for b in _PCS] for a in _PCS])


@dataclass(frozen=True)
class Weights:
    """How much each term counts in the search (1.0 = as counted)."""

    emission: float = 0.0  # the melody note sounding on the step, as counted (the HMM's emission)
    network: float = 1.0  # the emission networks' reading of the whole melody at the step
    prior: float = 0.5  # how much of the chords' overall frequency the network's reading gives back
    transition: float = 0.65  # the networks see the neighbouring steps too, so the moves count less
    cadence: float = 0.0  # chords and moves at phrase ends, by what chorales do there
    final: bool = True  # the last step is a tonic chord
    posterior: bool = True  # each step's chord weighed over all paths, not the single best path
    overlap: bool = True  # ... the chord sharing most pitch classes with them (else the likeliest)


HMM = Weights(emission=1.0, network=0.0, transition=1.0, final=False, posterior=False)
FORBIDDEN = -1e5  # a step score below this rules the chord out (a key lock, the closing tonic)
# Alternatives: paths drawn with every score divided by this (below 1: likelier paths more often),
# each changing at least MIN_CHANGE of the steps against the plan and every alternative kept
# before it. Chosen on the music21 chorales (their train and valid splits): the alternatives'
# agreement with Bach's chords is highest from 0.6 to 0.7, and below 0.7 more of them are not
# found within the draws allowed (two asked for per tune: 8% missing at 0.6, 3% at 0.7)
SAMPLE_TEMPERATURE = 0.7
MIN_CHANGE = 0.2  # about one chord a bar of 4/4: fewer changes are heard as the same harmony
DRAWS_PER_ALTERNATIVE = 24  # draws tried for each alternative before giving up on more


def step_beats(time_signature: tuple[int, int]) -> float:
    """Quarter-note beats per harmonic step: the metre's own beat."""
    num, den = time_signature
    if den == 8 and num % 3 == 0:
        return 1.5
    return 4.0 / den if den <= 4 else 1.0


def position(step: int, time_signature: tuple[int, int], offset: float = 0.0) -> int:
    """0 on the downbeat, 1 on another strong beat (the middle of an even bar), else 2."""
    beats = step_beats(time_signature)
    per_bar = time_signature[0] * 4.0 / time_signature[1]
    at = (step * beats + offset) % per_bar
    if at < 1e-6:
        return 0
    steps = round(per_bar / beats)
    return 1 if steps % 2 == 0 and steps >= 4 and abs(at - per_bar / 2) < 1e-6 else 2


def phrase_ends(melody: Part, step: float, steps: int) -> list[bool]:
    """Steps where a phrase closes: a note of two steps or more, a note before a rest of a step
    or more, the last note."""
    out = [False] * steps
    notes = sorted(melody.notes, key=lambda n: n.start)
    for i, n in enumerate(notes):
        k = int(n.start / step + 1e-6)
        if k >= steps:
            continue
        gap = (notes[i + 1].start - n.end) if i + 1 < len(notes) else math.inf
        if n.duration >= 2 * step - 1e-6 or gap >= step - 1e-6:
            out[k] = True
    return out


class Planner:
    """Log-probabilities from the counted table; ``plan`` runs the search for one melody."""

    def __init__(self, table: dict, weights: Weights = Weights()) -> None:
        self.weights = weights
        self.modes = {mode: _ModeTables(table[mode]) for mode in ("major", "minor")}
        self.network = Emission(table["emission"]) if "emission" in table else None
        self._last: tuple[Part, str, float, frozenset[int] | None, Lattice] | None = None

    def lattice(self, melody: Part, key: str, offset: float = 0.0,
                only: frozenset[int] | None = None) -> Lattice:
        """The scores every path through ``melody``'s harmonic steps is weighed by. ``only``:
        pitch classes every chord must keep to (a key lock). The last one is kept: a request
        plans its harmony and then draws alternatives from the same lattice."""
        last = self._last
        if last is not None and last[0] is melody and last[1:4] == (key, offset, only):
            return last[4]
        found = self._lattice(melody, key, offset, only)
        self._last = (melody, key, offset, only, found)
        return found

    def _lattice(self, melody: Part, key: str, offset: float, only: frozenset[int] | None) -> Lattice:
        tonic, mode = parse_key(key)
        t = self.modes[mode]
        w = self.weights
        step = step_beats(melody.time_signature)
        n = max(1, math.ceil(melody.length / step - 1e-6))
        rel = [Note((x.pitch - tonic) % 12, x.start, x.duration) for x in melody.notes]
        scores = w.emission * onset_matrix(rel, step, n) @ t.emit_onset.T  # (n, S)
        if w.network and self.network is not None:
            x = window(melody, tonic, mode, step, n, offset)
            scores = scores + w.network * (self.network.log_probs(x) - w.prior * t.prior)
        ends = phrase_ends(melody, step, n) if w.cadence else [False] * n
        trans = []
        for k in range(1, n):
            tk = w.transition * t.trans[position(k, melody.time_signature, offset)]
            if ends[k]:
                tk = tk + w.cadence * t.cadence
                scores[k] += w.cadence * t.end_prior
            trans.append(tk)
        if only is not None:
            scores[:, [not STATES[i].transposed(tonic).pitch_classes <= only for i in range(S)]] = -1e9
        if w.final:
            scores[-1] += t.final
            last = max(melody.notes, key=lambda x: x.start, default=None)
            if last is not None and (last.pitch - tonic) % 12 in (0, 3, 4, 7):  # a close on the tonic chord
                scores[-1, [STATES[i].root != 0 or STATES[i].quality not in ("", "m") for i in range(S)]] -= 1e6
        scores[0] += t.start
        first = min((x.start for x in melody.notes), default=0.0)
        return Lattice(scores, trans, tonic, step, melody.length, sum((k + 1) * step <= first + 1e-6 for k in range(n)))

    def steps(self, melody: Part, key: str, offset: float = 0.0,
              only: frozenset[int] | None = None) -> list[Chord | None]:
        """One chord per harmonic step (absolute pitch classes); None for the steps of an
        opening rest. ``only``: pitch classes every chord must keep to (a key lock)."""
        lat = self.lattice(melody, key, offset, only)
        if not self.weights.posterior:
            return lat.chords(viterbi(lat.scores, lat.trans))
        chosen = posterior(lat.scores, lat.trans)
        if self.weights.overlap:
            chosen = np.where(lat.scores > FORBIDDEN, expected_overlap(chosen), -np.inf)
        return lat.chords([int(i) for i in chosen.argmax(1)])

    def plan(self, melody: Part, key: str, offset: float = 0.0, only: frozenset[int] | None = None) -> list[ChordSpan]:
        return spans(self.steps(melody, key, offset, only), step_beats(melody.time_signature), melody.length)

    def draws(self, melody: Part, key: str, seed: int, offset: float = 0.0, only: frozenset[int] | None = None,
              temperature: float = SAMPLE_TEMPERATURE) -> Iterator[list[ChordSpan]]:
        """Plans drawn one after another from the distribution over paths that ``steps`` weighs
        (its scores and transitions divided by ``temperature``), reproducibly from ``seed``."""
        lat = self.lattice(melody, key, offset, only)
        sharp = Lattice(lat.scores / temperature, [tk / temperature for tk in lat.trans], lat.tonic, lat.step,
                        lat.length, lat.rest)
        fwd = forward(sharp.scores, sharp.trans)
        rng = np.random.default_rng(seed)
        while True:
            yield spans(sharp.chords(backward_sample(fwd, sharp.trans, rng)), lat.step, lat.length)


@dataclass(frozen=True)
class Lattice:
    """One melody's search: (n, S) step scores, the n-1 (S, S) transition scores between
    steps, and how its key-relative states become the clip's chords."""

    scores: np.ndarray
    trans: list[np.ndarray]
    tonic: int
    step: float  # beats per step
    length: float
    rest: int  # steps of an opening rest: no chord sounds there

    def chords(self, path: Sequence[int]) -> list[Chord | None]:
        return [None if k < self.rest else STATES[s].transposed(self.tonic) for k, s in enumerate(path)]


def alternatives(best: Sequence[ChordSpan], draws: Iterator[Sequence[ChordSpan]], count: int, step: float,
                 share: float = MIN_CHANGE, tries: int = DRAWS_PER_ALTERNATIVE) -> list[list[ChordSpan]]:
    """Up to ``count`` plans from ``draws``, each changing the chord of at least ``share`` of the
    ``step``-beat steps where ``best`` sounds one, against ``best`` and every plan kept before
    it; fewer when ``tries`` draws in a row find none (a short or fully determined melody). The
    k-th plan depends only on the draws, never on ``count``."""
    kept: list[list[ChordSpan]] = []
    while len(kept) < count:
        for _ in range(tries):
            plan = list(next(draws))
            if all(changed(plan, other, step) >= share for other in (best, *kept)):
                kept.append(plan)
                break
        else:
            break
    return kept


def changed(plan: Sequence[ChordSpan], other: Sequence[ChordSpan], step: float) -> float:
    """The share of ``other``'s chord-bearing steps (every ``step`` beats) where ``plan`` sounds
    another chord."""
    beats = [k * step for k in range(math.ceil((other[-1].end if other else 0.0) / step - 1e-6))]
    heard = [t for t in beats if chord_at(other, t) is not None]
    return sum(chord_at(plan, t) != chord_at(other, t) for t in heard) / len(heard) if heard else 0.0


def viterbi(scores: np.ndarray, trans: Sequence[np.ndarray]) -> list[int]:
    """The best path through (n, S) step scores and n-1 (S, S) transition scores."""
    best = scores[0]
    back = []
    for k, tk in enumerate(trans, start=1):
        total = best[:, None] + tk  # (from, to)
        back.append(total.argmax(0))
        best = total.max(0) + scores[k]
    path = [int(best.argmax())]
    for ptr in reversed(back):
        path.append(int(ptr[path[-1]]))
    return path[::-1]


def forward(scores: np.ndarray, trans: Sequence[np.ndarray]) -> np.ndarray:
    """(n, S): log of the summed weight of every path that ends in each step's state."""
    fwd = np.zeros_like(scores)
    fwd[0] = scores[0]
    for k, tk in enumerate(trans, start=1):
        fwd[k] = _logsumexp(fwd[k - 1][:, None] + tk, 0) + scores[k]
    return fwd


def backward_sample(fwd: np.ndarray, trans: Sequence[np.ndarray], rng: np.random.Generator) -> list[int]:
    """One path drawn in proportion to its weight: the last state from the forward sums, then
    each earlier one given the state after it."""
    path = [_draw(fwd[-1], rng)]
    for k in range(len(fwd) - 2, -1, -1):
        path.append(_draw(fwd[k] + trans[k][:, path[-1]], rng))
    return path[::-1]


def _draw(log_weights: np.ndarray, rng: np.random.Generator) -> int:
    cumulative = np.cumsum(np.exp(log_weights - log_weights.max()))
    return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(cumulative) - 1)


def posterior(scores: np.ndarray, trans: Sequence[np.ndarray]) -> np.ndarray:
    """(n, S) log posterior of each step's state (forward-backward in log space, unnormalized)."""
    n = len(scores)
    fwd = forward(scores, trans)
    bwd = np.zeros_like(scores)
    for k in range(n - 2, -1, -1):
        bwd[k] = _logsumexp(trans[k] + (scores[k + 1] + bwd[k + 1])[None, :], 1)
    return fwd + bwd


def expected_overlap(log_post: np.ndarray) -> np.ndarray:
    """(n, S): for each step and chord, the pitch-class overlap (intersection over union) it is
    expected to have with the step's chord, over the posterior ``log_post`` (n, S). Its argmax
    is the minimum-risk choice under the measure that chord agreement is judged by."""
    p = np.exp(log_post - log_post.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ OVERLAP


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis, keepdims=True))).squeeze(axis)


def written(piece: Piece, step: float | None = None) -> list[ChordSpan]:
    """A piece's own harmony as chord spans: labelled every ``step`` beats (default: the metre's
    beat) over all its voices, as the planner's training labels are, equal neighbours merged."""
    melody = piece.part("melody") or piece.first
    step = step or step_beats(melody.time_signature)
    return spans(beat_labels([p for _, p in piece.tracks], melody.length, step), step, melody.length)


def spans(per_step: Sequence[Chord | None], step: float, length: float) -> list[ChordSpan]:
    """Per-step chords -> chord spans, equal neighbours merged."""
    out: list[ChordSpan] = []
    for k, chord in enumerate(per_step):
        if chord is None:
            continue
        if out and out[-1].chord == chord:
            continue
        if out:
            out[-1] = ChordSpan(out[-1].start, k * step, out[-1].chord)
        out.append(ChordSpan(k * step, length, chord))
    return out


def chord_at(plan: Sequence[ChordSpan], beat: float) -> Chord | None:
    for span in plan:
        if span.start - 1e-6 <= beat < span.end - 1e-6:
            return span.chord
    return plan[-1].chord if plan and beat >= plan[-1].end - 1e-6 else None


def window(melody: Part, tonic: int, mode: str, step: float, n: int, offset: float = 0.0) -> np.ndarray:
    """The emission networks' input for every step of ``melody`` (see models/harmony/emission.py)."""
    rel = [Note(x.pitch - tonic, x.start, x.duration) for x in melody.notes]
    positions = [position(k, melody.time_signature, offset) for k in range(n)]
    return features(rel, step, n, melody_features(rel, step, n), positions, phrase_ends(melody, step, n),
                    mode == "minor")


def melody_features(notes: Sequence[Note], step: float, n: int, onset: float = 1.0) -> np.ndarray:
    """(n, 12): per step, each pitch class's share of the step (plus ``onset`` for a note struck
    on the step)."""
    feats = np.zeros((n, 12))
    for k in range(n):
        for pc, v in weights(notes, k * step, (k + 1) * step, onset * step).items():
            feats[k, pc % 12] += v / step
    return feats


def onset_matrix(rel: Sequence[Note], step: float, n: int) -> np.ndarray:
    m = np.zeros((n, 12))
    for x in rel:
        first, last = math.ceil(x.start / step - 1e-6), math.ceil(x.end / step - 1e-6)
        for k in range(first, min(last, n)):
            m[k] = 0
            m[k, x.pitch % 12] = 1.0
    return m


class _ModeTables:
    """One mode's counts turned into smoothed log-probabilities."""

    def __init__(self, counts: dict) -> None:
        def logp(a: np.ndarray, alpha: float) -> np.ndarray:
            a = np.asarray(a, dtype=float) + alpha
            return np.log(a / a.sum(-1, keepdims=True))

        self.emit_onset = logp(counts["emit_onset"], 0.5)  # (S, 12)
        self.trans = logp(counts["trans"], 0.1)  # (POSITIONS, S, S)
        usage = np.asarray(counts["trans"]).sum((0, 1)) + 1.0
        chords = logp(usage, 0.0)
        self.prior = chords
        # the cadence terms: how much likelier a chord (and a move into it) is at a phrase end
        self.end_prior = logp(counts["phrase_end"], 0.5) - chords
        self.cadence = logp(counts["cadence"], 0.1) - self.trans.mean(0)
        self.start = logp(counts["start"], 0.5)
        self.final = logp(counts["final"], 0.05)
