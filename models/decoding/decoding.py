"""Constrained decoding: a plan of forced and generated segments, decoded for a batch of
candidates in lockstep with one KV cache.

A task turns its request into a :class:`Plan`: the tokens the model must read verbatim (the
header, the context tracks, bar lines) and the spans it must write (one track in one bar, under
:class:`Constraints`). Every candidate row advances one token per step, forced or sampled, so
the rows share positions and the cache; the constraints mask the logits before sampling, so
the output always follows the token grammar, the requested bars, the voice's range, key and
monophony, and never leaves the clip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from models.decoding import voicing
from models.decoding.drafts import Lookup
from models.decoding.guide import ChordGuide
from models.errors import Cancelled
from models.net import fused_step
from models.net import vocab as V
from models.net.transformer import GPT, KVCache
from models.ops.groove import GroovePrior

MAX_CHORD = 6
ROLL_PART = 8  # a full context forgets this part of itself beyond the need (1/8: the cache moves
# once every block_size / 8 tokens)
GRID = frozenset({0, 3, 4, 6, 8, 9})  # positions within a beat the tokenizer snaps onsets to
# Choices a row guesses ahead per forward pass at most (models/decoding/drafts.py: as many as its
# guesses have held), read with the token it samples and checked against the model's own draws;
# 0 reads no guesses.
GUESSES = 8
# A row whose span leans on a groove prior guesses the prior's favourite where it leads every
# other allowed token by this much log-bias: on drums the model draws the prior's favourite
# 93% of the times the prior has one, where guessing from the row's own tokens held 43%.
FAVOURED_MARGIN = 1.0


@dataclass(frozen=True)
class Constraints:
    """What a generated span may contain: one track, one bar."""

    role: str
    bar_start: int  # absolute tick of the bar line
    bar_ticks: int
    end_tick: int  # absolute tick notes must end by (the clip's end)
    pitches: frozenset[int]  # allowed pitches (range, key or drum classes applied)
    min_notes: int = 0
    max_notes: int = 64
    min_pos: int = 0  # first allowed position in the bar (e.g. the end of a span kept before it)
    mono: bool | None = None  # one note at a time; None = as the role is (MONOPHONIC_ROLES)
    pitch_only: bool = False  # write exactly one PITCH (POS and DUR around it are forced)
    start_pos: int = -1  # >= 0: the span continues a forced onset at this position (more notes there)
    start_pitches: frozenset[int] = frozenset()  # the pitches already forced at start_pos
    # the note forced at start_pos (one pitch, its POS and PITCH read) still needs its DUR: the
    # span writes that first (a kept note whose length the model chooses), then goes on as usual
    pending_dur: bool = False
    longest: int = 0  # > 0: no note lasts longer (ticks)
    voices: tuple[str, ...] = ()  # part-writing order, top voice first: no crossing, no parallels
    legato: bool = False  # a monophonic voice leaves no gap while the melody (context) sounds;
    # the melody itself leaves none (a span of it ends only where its line reaches the span's end)
    prior: GroovePrior | None = None  # a drum part's own recent bars, leaned on while sampling
    emphasis: tuple[tuple[int, float], ...] = ()  # (pitch, log-bias) added while sampling a pitch
    # (position in the bar, pitch, log-bias): a hit of that pitch there is favoured (e.g. the
    # kick where the bass of the context plays)
    accents: tuple[tuple[int, int, float], ...] = ()
    # (absolute tick, pitches): a note starts at the tick with one of these pitches, and notes
    # after it keep to them (the tonic in the bass under a piece's last melody note); the
    # voicing rules still come first
    cadence: tuple[int, frozenset[int]] | None = None
    hold: bool = False  # the cadence's notes last as long as they may (a final chord held, not re-struck)
    # pitch classes one of which the cadence's chord must hold (a closing triad's third): a voice
    # given them takes one at the cadence where no voice written before it sounds one there
    complete: frozenset[int] = frozenset()
    guide: ChordGuide | None = None  # a chord plan: chord tones on the beats (models/decoding/guide.py)

    @property
    def monophonic(self) -> bool:
        return self.role in V.MONOPHONIC_ROLES if self.mono is None else self.mono


@dataclass
class Segment:
    forced: list[int] = field(default_factory=list)  # tokens read verbatim
    generate: Constraints | None = None  # or: a span the model writes


@dataclass
class Plan:
    segments: list[Segment]
    # notes of the forced voices as (start tick, end tick, pitch), for the voice-leading rules
    context: dict[str, list[voicing.Span]] = field(default_factory=dict)
    # Guidance away from another condition: a header to contrast with the plan's own (the start
    # of the first segment). The decoder reads the row under both and samples from
    # logits + guidance * (logits - logits under the contrast header).
    contrast: list[int] | None = None
    guidance: float = 0.0

    def __post_init__(self) -> None:
        for i, seg in enumerate(self.segments):
            if seg.generate is not None and (i + 1 >= len(self.segments) or not self.segments[i + 1].forced):
                raise ValueError("a generated segment must be followed by a forced one (its end token)")
        if self.contrast is not None and (not self.segments or self.segments[0].generate is not None
                                          or len(self.contrast) > len(self.segments[0].forced)):
            raise ValueError("contrast must be a header no longer than the plan's first (forced) segment")

    def contrasted(self) -> Plan:
        """The same plan under the contrast header (what the guided row is steered away from)."""
        assert self.contrast is not None
        first = self.segments[0].forced
        return Plan([Segment(forced=[*self.contrast, *first[len(self.contrast):]]), *self.segments[1:]], self.context)


@dataclass
class _Guess:
    """A token a row read on a guess: where in the pass's tokens, the choice it stands for (the
    allowed ids and their biases there), and the row as it was before it."""

    at: int  # index in the row's tokens of the pass
    token: int
    allowed: list[int]
    bias: list[float] | None
    before: tuple


class _Row:
    """One candidate's progress through the plan."""

    def __init__(self, plan: Plan, busy: dict[str, int]) -> None:
        self.plan = plan
        self.seg = 0
        self.offset = 0  # index into the current forced segment
        self.tokens: list[int] = []
        self.busy = dict(busy)  # role -> tick until which a monophonic voice sounds
        self.known = {role: list(notes) for role, notes in plan.context.items()}  # for voicing
        self.lookup = Lookup()
        self.guesses: list[_Guess] = []  # read in the last pass, not yet checked
        self.at_pos: set[int] = set()  # pitches struck at the current position
        # allowed() and bias() of the state as it stands (a pass asks again where it stopped,
        # and a guess where the tokens read without a choice end): None once it changes
        self._allowed: list[int] | None = None
        self._bias: tuple[list[int], list[float] | None] | None = None
        self._reset_span()

    def snapshot(self) -> tuple:
        """Everything :meth:`accept` changes, to go back to with :meth:`restore`."""
        return (self.seg, self.offset, len(self.tokens), dict(self.busy), {r: len(n) for r, n in self.known.items()},
                self.state, self.pos, self.notes, set(self.at_pos), self.pitch, self.pending)

    def restore(self, snapshot: tuple) -> None:
        """Back to a :meth:`snapshot`: the tokens accepted since are given back."""
        (self.seg, self.offset, length, busy, known, self.state, self.pos, self.notes, at_pos, self.pitch,
         self.pending) = snapshot
        self._allowed = self._bias = None
        del self.tokens[length:]
        self.busy, self.at_pos = dict(busy), set(at_pos)
        self.known = {role: notes[:known[role]] for role, notes in self.known.items() if role in known}
        self.lookup.rewind(length)

    def _reset_span(self) -> None:
        self.state = "note"  # note | pitch | dur | vel
        self.pos = -1
        self.notes = 0
        self.at_pos = set()
        self.pitch = -1
        self.pending = False  # the DUR to write is a forced note's (not counted as a new note)
        seg = None if self.done else self.current()
        if seg is not None and seg.generate is not None and seg.generate.start_pos >= 0:
            self.pos, self.at_pos = seg.generate.start_pos, set(seg.generate.start_pitches)
            if seg.generate.pending_dur:
                self.state, self.pitch = "dur", max(seg.generate.start_pitches)
                self.pending = True

    @property
    def done(self) -> bool:
        return self.seg >= len(self.plan.segments)

    def current(self) -> Segment:
        return self.plan.segments[self.seg]

    def forced_next(self) -> int | None:
        """The next token if it is forced, else None (the model chooses)."""
        if self.done:
            return V.PAD
        seg = self.current()
        return seg.forced[self.offset] if seg.generate is None else None

    def accept(self, token: int) -> None:
        self.tokens.append(token)
        self._allowed = self._bias = None
        if self.done:
            return
        seg = self.current()
        if seg.generate is None:
            self.offset += 1
            if self.offset >= len(seg.forced):
                self.seg, self.offset = self.seg + 1, 0
                self._reset_span()
            return
        c = seg.generate
        if token == self.plan.segments[self.seg + 1].forced[0]:  # the span's end token
            self.seg, self.offset = self.seg + 1, 1
            if self.offset >= len(self.current().forced):
                self.seg, self.offset = self.seg + 1, 0
            self._reset_span()
            return
        if self.state == "note":
            if V.POS0 <= token < V.POS0 + V.MAX_BAR_TICKS:
                self.pos, self.at_pos = token - V.POS0, set()
                self.state = "pitch"
                return
            self.state = "pitch"  # a PITCH at the same position: handled below
        if self.state == "pitch":
            self.pitch = token - V.PITCH0
            self.at_pos.add(self.pitch)
            self.state = "dur"
        elif self.state == "dur":
            ticks = V.DURATIONS[token - V.DUR0]
            self.notes += 0 if self.pending else 1
            self.pending = False
            if c.voices:
                start = c.bar_start + self.pos
                self.known.setdefault(c.role, []).append((start, start + ticks, self.pitch))
            if c.monophonic:
                self.busy[c.role] = c.bar_start + self.pos + ticks
            self.state = "vel" if c.role in V.VELOCITY_ROLES else "note"
        elif self.state == "vel":
            self.state = "note"

    def allowed(self) -> list[int]:
        """Token ids the model may choose now (the current segment generates); the same list
        until the state changes."""
        if self._allowed is None:
            self._allowed = self._allowed_now()
        return self._allowed

    def _allowed_now(self) -> list[int]:
        seg = self.current()
        c = seg.generate
        assert c is not None
        end_token = self.plan.segments[self.seg + 1].forced[0]
        if c.pitch_only:
            if self.pitch >= 0:
                return [end_token]
            return [V.PITCH0 + p for p in c.pitches] or [V.PITCH0 + 60]
        if self.state == "note":
            out: list[int] = []
            if self.notes >= c.min_notes or not self._room(c):
                out.append(end_token)
            if self.notes >= c.max_notes:
                return out or [end_token]
            first = max(self.pos + 1, c.min_pos)
            if c.monophonic:
                first = max(first, self.busy.get(c.role, 0) - c.bar_start)
            last = min(c.bar_ticks, c.end_tick - c.bar_start)  # exclusive
            if (c.legato and first < last and first % 12 in GRID
                    and (c.role == "melody" or self._melody_sounds(c.bar_start + first))):
                return [V.POS0 + first]  # the voice goes on where its last note ended
            due = self._cadence_due(c)
            if due is not None and first <= due < last:
                if self.notes + 1 >= c.max_notes:  # the span's last note is the cadence's
                    return [V.POS0 + due]
                last, out = due + 1, []  # the cadence's note is still to come: no end before it
            out += [V.POS0 + p for p in range(first, last) if p % 12 in GRID]
            if self.pos >= 0 and not c.monophonic and len(self.at_pos) < MAX_CHORD:
                out += [V.PITCH0 + p for p in c.pitches if p not in self.at_pos]
            return out or [end_token]
        if self.state == "pitch":
            choices = [p for p in c.pitches if p not in self.at_pos]
            if c.guide is not None:
                choices = c.guide.filter(c.role, c.bar_start + self.pos, choices)
            if c.voices:
                tick = c.bar_start + self.pos
                choices = voicing.allowed_pitches(c.role, c.voices, self.known, tick, choices) or choices
                span = None if c.guide is None else c.guide.on_beat(tick)
                tones = None if span is None else span[2]
                choices = voicing.leaving_room(c.role, c.voices, self.known, tick, choices, tones) or choices
            if c.cadence is not None and c.bar_start + self.pos >= c.cadence[0]:
                choices = [p for p in choices if p in c.cadence[1]] or choices
                if c.complete and c.bar_start + self.pos == c.cadence[0] and not self._heard(c.cadence[0]) & c.complete:
                    choices = [p for p in choices if p % 12 in c.complete] or choices
            return [V.PITCH0 + p for p in choices] or [V.PITCH0 + min(c.pitches)]
        if self.state == "dur":
            start = c.bar_start + self.pos
            left = c.end_tick - start
            if c.longest:
                left = min(left, c.longest)
            if c.voices:
                left = min(left, max(1, voicing.longest(c.role, c.voices, self.known, start, self.pitch)))
            if c.cadence is not None and start < c.cadence[0]:
                left = min(left, c.cadence[0] - start)  # make way for the cadence's note
            if c.guide is not None:
                left = min(left, c.guide.longest(start, self.pitch) or left)
            fits = [(i, d) for i, d in enumerate(V.DURATIONS) if d <= left]
            if c.legato and c.role == "melody":  # end where the next note can start (or at the span's end)
                fits = [(i, d) for i, d in fits if (self.pos + d) % 12 in GRID or d == left] or fits
            if c.hold and c.cadence is not None and start >= c.cadence[0]:
                fits = fits[-1:]
            return [V.DUR0 + i for i, _ in fits] or [V.DUR0]
        return list(range(V.VEL0, V.VEL0 + len(V.VELOCITY_CENTRES)))

    def bias(self, allowed: list[int]) -> list[float] | None:
        """Log-biases the span's groove prior, pitch emphasis and accents add to the ``allowed``
        tokens' logits, or None when the span has none of them."""
        if self._bias is None or self._bias[0] is not allowed:
            self._bias = (allowed, self._bias_now(allowed))
        return self._bias[1]

    def _bias_now(self, allowed: list[int]) -> list[float] | None:
        c = self.current().generate
        if c is None or (c.prior is None and not c.emphasis and not c.accents) or self.state not in ("note", "pitch"):
            return None
        found: dict[int, float] = {}
        if c.prior is not None:
            classes = [t for t in allowed if V.PITCH0 <= t < V.PITCH0 + 128]
            after = max(self.at_pos, default=-1) if self.state == "note" else -1
            biases, stay = c.prior.classes(self.pos, [t - V.PITCH0 for t in classes], after)
            found = dict(zip(classes, biases, strict=True))
            if self.state == "note":
                positions = [t for t in allowed if V.POS0 <= t < V.POS0 + V.MAX_BAR_TICKS]
                *onsets, end = c.prior.next_onset([t - V.POS0 for t in positions], stay if self.pos >= 0 else 0.0)
                found |= dict(zip(positions, onsets, strict=True))
                found[self.plan.segments[self.seg + 1].forced[0]] = end
        for pitch, extra in c.emphasis:
            token = V.PITCH0 + pitch
            found[token] = found.get(token, 0.0) + extra
        for pos, pitch, extra in c.accents:
            token = V.POS0 + pos if pos > self.pos and self.state == "note" else V.PITCH0 + pitch if pos == self.pos else -1
            found[token] = found.get(token, 0.0) + extra
        return [found.get(t, 0.0) for t in allowed]

    def _cadence_due(self, c: Constraints) -> int | None:
        """The cadence's position in this bar while its note is still to be struck, else None."""
        if c.cadence is None:
            return None
        due = c.cadence[0] - c.bar_start
        return due if self.pos < due < min(c.bar_ticks, c.end_tick - c.bar_start) else None

    def _heard(self, tick: int) -> set[int]:
        """Pitch classes the voices written so far (the melody among them) sound at ``tick``."""
        return {p % 12 for notes in self.known.values() if (p := voicing.sounding(notes, tick)) is not None}

    def _melody_sounds(self, tick: int) -> bool:
        return voicing.sounding(self.known.get("melody", []), tick) is not None

    def _room(self, c: Constraints) -> bool:
        """Whether another note can start: at a later grid point, or in a chord at this one."""
        if (self.pos >= 0 and not c.monophonic and len(self.at_pos) < MAX_CHORD
                and any(p not in self.at_pos for p in c.pitches)):
            return True
        start = max(c.min_pos, self.pos + 1)
        if c.monophonic:
            start = max(start, self.busy.get(c.role, 0) - c.bar_start)
        stop = min(c.bar_ticks, c.end_tick - c.bar_start)
        return any(p % 12 in GRID for p in range(start, stop))


@dataclass
class Sampler:
    """Draws one token from the allowed ones: temperature, then the nucleus (top-p), in numpy
    on the logits row (a chain of small torch operations costs several times more).

    Seeded: the random numbers come from a torch generator, drawn as ``torch.multinomial``
    draws them for one sample (an exponential per allowed id; the id with the largest
    probability / exponential wins), so a seed gives the choices it gave when this was torch
    throughout (up to float rounding of near-ties)."""

    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)

    def for_row(self, row: int) -> Sampler:
        """The sampler of a job's candidate row ``row``: row 0 draws from this one's stream,
        every other row from its own, derived from (seed, row). So a candidate writes the same
        whichever other rows decode beside it, and however many passes its tokens take."""
        if row == 0:
            return self
        seed = int(np.random.SeedSequence([self.seed % 2**63, row]).generate_state(1, np.uint64)[0] >> 1)
        return Sampler(self.temperature, self.top_p, seed)

    def pick(self, logits: np.ndarray | torch.Tensor, allowed: list[int], bias: list[float] | None = None) -> int:
        """Sample one id from ``allowed`` given logits (V,), with temperature and nucleus;
        ``bias`` (one per allowed id) is added to the tempered logits (a prior's log-weights)."""
        if len(allowed) == 1:
            return allowed[0]
        row = logits.detach().float().cpu().numpy() if isinstance(logits, torch.Tensor) else logits
        temperature = max(self.temperature, 1e-3)
        noise = torch.empty(len(allowed)).exponential_(generator=self.generator).numpy()
        # the same arithmetic, compiled (several times faster) once the kernels are: asking
        # starts their compile at the first pause in the decoding, also where the torch path
        # serves the passes (a GPU's draws are the host's: a quarter of its work per request)
        if fused_step.ready():
            return fused_step.draw(row, allowed, bias, temperature, self.top_p, noise)
        sub = row[allowed].astype(np.float32) / np.float32(temperature)
        if bias is not None:
            sub += np.asarray(bias, dtype=np.float32)
        probs = np.exp(sub - sub.max())
        probs /= probs.sum()
        if self.top_p < 1.0:  # the nucleus: ids until the mass before them reaches top_p
            order = np.argsort(-probs, kind="stable")
            ranked = probs[order]
            probs[order[np.cumsum(ranked) - ranked >= self.top_p]] = 0.0
        return allowed[int(np.argmax(probs / noise))]


def decode(
    model: GPT,
    plan: Plan | Sequence[Plan],
    rows: int,
    sampler: Sampler,
    busy: dict[str, int] | None = None,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    first_row: int = 0,
) -> list[list[int]]:
    """Run ``plan`` for ``rows`` candidates (or one plan per row, a sequence of ``rows`` plans);
    returns each row's whole token list (rows that end early are padded with PAD). The rows
    are candidates ``first_row``, ``first_row + 1``, ... (:meth:`Sampler.for_row`)."""
    if not isinstance(plan, Plan) and len(plan) != rows:
        raise ValueError(f"plan must be one Plan or {rows} plans (one per row), got {len(plan)}")
    out = decode_many(model, [DecodeJob(plan, rows, sampler, busy, progress, should_stop, first_row)])[0]
    if isinstance(out, Cancelled):
        raise out
    return out


@dataclass
class DecodeJob:
    """One request's share of a batched decode: its plan (or one plan per row), its candidate
    rows and its sampler (row r draws from ``sampler.for_row(first_row + r)``)."""

    plan: Plan | Sequence[Plan]
    rows: int
    sampler: Sampler
    busy: dict[str, int] | None = None
    progress: Callable[[float], None] | None = None
    should_stop: Callable[[], bool] | None = None
    first_row: int = 0  # the candidate number of the job's first row (its sampler's stream)
    # Set by decode_many: the job's rows gave up context (a roll or a rebuild) while another
    # job's rows shared the cache. When that happens is the longest row's and the widest
    # pass's call, so its tokens may then differ from a decode of the job alone.
    crowded: bool = False

    def plans(self) -> list[Plan]:
        return [self.plan] * self.rows if isinstance(self.plan, Plan) else list(self.plan)


# What a generated span (one track's bar) roughly writes, in tokens: a voice's bar about 24, a
# drum bar about 60 (many hits, each with its velocity; 4-bar drum requests wrote 186-315 tokens).
SPAN_TOKENS = 24
DRUM_SPAN_TOKENS = 60


def plan_length(plan: Plan | Sequence[Plan]) -> int:
    """A rough token count of the whole plan: its forced tokens and what its generated spans
    write, about (:data:`SPAN_TOKENS`, :data:`DRUM_SPAN_TOKENS`)."""
    if not isinstance(plan, Plan):
        return max((plan_length(p) for p in plan), default=0)
    return sum(len(s.forced) + _span_tokens(s.generate) for s in plan.segments)


def _span_tokens(span: Constraints | None) -> int:
    if span is None:
        return 0
    return DRUM_SPAN_TOKENS if span.role in V.VELOCITY_ROLES else SPAN_TOKENS


@torch.inference_mode()
def decode_many(model: GPT, jobs: list[DecodeJob]) -> list[list[list[int]] | Cancelled]:
    """Run several jobs' rows in shared forward passes; one entry per job: its rows' token
    lists, or :class:`Cancelled` when its ``should_stop`` fired (the other jobs go on).

    Each forward pass feeds every row what it can read without a choice: the token it samples,
    then all the tokens that follow forced (a bar line, a context track) or determined by its
    constraints (a legato voice's next position). A row then reads on a guess (its groove
    prior's clear favourite, else models/decoding/drafts.py): up to ``GUESSES`` more choices,
    each with what follows it without a choice. The next pass's logits check each guess against
    the draw the row's sampler makes there; the first that differs is replaced by that draw and
    the row forgets what it read after it. A row's sampler draws exactly what it would draw
    without guesses, so the tokens are the same (up to float rounding), in fewer passes where
    the guesses hold.

    Rows read different numbers of tokens, so the batch is ragged (:meth:`GPT.forward_rows`):
    padding fills the shorter rows and each row keeps its own positions. Every candidate row
    draws from its own stream (:meth:`Sampler.for_row`), so it decodes to the same tokens alone
    or in company (up to float rounding of batched matmuls). Finished and cancelled rows leave
    the batch."""
    with model.pinned():  # one step for every pass: the weights' versions read once
        return _decode_many(model, jobs)


def _decode_many(model: GPT, jobs: list[DecodeJob]) -> list[list[list[int]] | Cancelled]:
    device = next(model.parameters()).device
    states: list[_Row] = []
    owner: list[int] = []
    samplers: list[Sampler | None] = []
    shadow: dict[int, int] = {}  # guided row -> the row reading it under the contrast header
    for j, job in enumerate(jobs):
        for r, plan in enumerate(job.plans()):
            states.append(_Row(plan, job.busy or {}))
            owner.append(j)
            samplers.append(job.sampler.for_row(job.first_row + r))
        for i in range(len(states) - job.rows, len(states)):
            if states[i].plan.contrast is not None:
                shadow[i] = len(states)
                states.append(_Row(states[i].plan.contrasted(), job.busy or {}))
                owner.append(j)
                samplers.append(None)
    mirrors = {s: i for i, s in shadow.items()}
    totals = [max(plan_length(job.plan), 1) for job in jobs]
    reported = [0] * len(jobs)
    limit = model.config.block_size
    capacity = min(limit, max(totals) + 64)
    cache = KVCache(model.config.n_layer, capacity)
    # The forced tokens every row starts with (the header, the context of a shared plan) are
    # read once, for one row (or copied from the model's last leads), and the cache copied to
    # the others.
    prefix = _common_lead(states)
    logits = np.zeros((len(states), model.config.vocab_size), np.float32)  # unused: rows start forced
    at: list[list[int]] = [[k] for k in range(len(states))]  # per row: its guesses' logits, then its last's
    if prefix:
        for st in states:
            for tok in prefix:
                st.accept(tok)
        cache, lead_logits = model.read_lead(prefix, capacity)  # logits after its last token only
        logits = _host(lead_logits)
        at = [[0] for _ in states]
        cache.select(torch.zeros(len(states), dtype=torch.long))
    outcome: list[list[list[int]] | Cancelled | None] = [None] * len(jobs)
    active = list(range(len(states)))  # indices into states, in cache row order
    read: dict[int, list[int]] = {}
    while active:
        for j, job in enumerate(jobs):
            if outcome[j] is None and job.should_stop is not None and job.should_stop():
                outcome[j] = Cancelled("stopped while decoding")
        # the guesses read in the last pass, checked against this pass's draws (a row that
        # reached its end on guesses may need to go on)
        wrong = {i: _check(states[i], samplers[i], logits, at[k]) for k, i in enumerate(active)
                 if states[i].guesses and outcome[owner[i]] is None}
        keep = [k for k, i in enumerate(active) if outcome[owner[i]] is None and not states[i].done]
        if not keep:
            break
        if len(keep) < len(active):
            cache.select(torch.tensor(keep, dtype=torch.long))
            at = [at[k] for k in keep]
            active = [active[k] for k in keep]
        chunks = []
        row_of = {i: k for k, i in enumerate(active)}
        forget: dict[int, int] = {}
        for k, i in enumerate(active):
            st = states[i]
            if i in mirrors:  # a contrast row reads what its guided row read (its own header)
                chunks.append(_mirrored(st, read[mirrors[i]]))
                continue
            sampler = samplers[i]
            assert sampler is not None
            chunk: list[int] = []
            held = wrong.get(i)
            if held is not None:  # a guess did not hold: the row goes on from the model's draw
                forget[k] = len(read[i]) - held[0]
                chunk.append(held[1])
            elif st.forced_next() is None:
                allowed = st.allowed()
                row = logits[at[k][-1]]
                if i in shadow:
                    row = row + st.plan.guidance * (row - logits[at[row_of[shadow[i]]][-1]])
                chunk.append(sampler.pick(row, allowed, st.bias(allowed)))
                st.accept(chunk[0])
            chunk += _without_choice(st)
            if GUESSES and i not in shadow:
                chunk += _guessed(st, len(chunk), alone=len(active) == 1)
            read[i] = chunk
            chunks.append(chunk)
        cache.forget(forget)
        width = max(len(chunk) for chunk in chunks)
        shift = cache.shift
        roomy = _make_room(model, cache, width)
        together = {owner[i] for i in active}
        if (not roomy or cache.shift != shift) and len(together) > 1:
            for j in together:
                jobs[j].crowded = True
        if not roomy:
            for k, i in enumerate(active):  # rare: read again without the guesses
                if states[i].guesses:
                    del chunks[k][states[i].guesses[0].at:]
                    states[i].restore(states[i].guesses[0].before)
                    states[i].guesses = []
            cache, logits = _rebuild(model, [states[i] for i in active], limit // 2, device)
            at = [[k] for k in range(len(active))]
            continue
        at, picks, base = [], list[int](), 0
        for k, i in enumerate(active):
            at.append(list(range(len(picks), len(picks) + len(states[i].guesses) + 1)))
            picks += [base + g.at - 1 for g in states[i].guesses] + [base + len(chunks[k]) - 1]
            base += len(chunks[k])
        logits = _host(model.forward_rows(_padded(chunks, width, device), _lengths(chunks), cache,
                                          np.asarray(picks)))
        for j, job in enumerate(jobs):
            done = max((len(states[i].tokens) for i in active if owner[i] == j), default=0)
            if job.progress is not None and outcome[j] is None and done - reported[j] >= 32:
                reported[j] = done
                job.progress(min(0.99, done / totals[j]))
    results: list[list[list[int]] | Cancelled] = []
    for j, out in enumerate(outcome):
        if out is None:  # rows that finished early are padded to the longest
            out = [states[i].tokens for i in range(len(states)) if owner[i] == j and i not in mirrors]
            width = max(len(tokens) for tokens in out)
            out = [tokens + [V.PAD] * (width - len(tokens)) for tokens in out]
        results.append(out)
    return results


def _check(st: _Row, sampler: Sampler | None, logits: np.ndarray, at: list[int]) -> tuple[int, int] | None:
    """Draw at each choice the row guessed in the last pass, in order (``at``: their logits'
    rows); None when every guess held, else (the index of the first that did not among the
    tokens the row read, the token drawn instead), the row set back to before it and the draw
    accepted."""
    guesses, st.guesses = st.guesses, []
    assert sampler is not None  # rows that guess sample
    for n, (guess, row) in enumerate(zip(guesses, at, strict=False)):
        token = sampler.pick(logits[row], guess.allowed, guess.bias)
        if token != guess.token:
            st.lookup.record(n, n + 1)
            st.restore(guess.before)
            st.accept(token)
            return guess.at, token
    st.lookup.record(len(guesses), len(guesses))
    return None


def _guessed(st: _Row, start: int, alone: bool) -> list[int]:
    """Read on a guess: up to ``GUESSES`` choices the row's lookup guesses (as far as its record
    says, :meth:`Lookup.reach`; ``alone``: the row is the pass's only one), each allowed there
    and followed by what comes without a choice; ``start`` = the tokens the row reads before
    them in this pass. The guesses are kept on the row to be checked."""
    run: list[int] = []
    reach = st.lookup.reach(GUESSES, alone)
    while len(st.guesses) < reach and not st.done:
        allowed = st.allowed()
        bias = st.bias(allowed)
        token = _favoured(st, allowed, bias)
        if token is None:
            token = st.lookup.guess(st.tokens)
        if token is None or token not in allowed:
            break
        st.guesses.append(_Guess(start + len(run), token, allowed, bias, st.snapshot()))
        st.accept(token)
        run.append(token)
        run += _without_choice(st)
    return run


def _favoured(st: _Row, allowed: list[int], bias: list[float] | None) -> int | None:
    """The allowed token the span's groove prior clearly favours (its log-bias at least
    ``FAVOURED_MARGIN`` above every other's), else None."""
    if bias is None or len(allowed) < 2:
        return None
    generate = st.current().generate
    if generate is None or generate.prior is None:
        return None
    order = np.argsort(bias)
    if bias[order[-1]] - bias[order[-2]] < FAVOURED_MARGIN:
        return None
    return allowed[int(order[-1])]


def _common_lead(states: list[_Row]) -> list[int]:
    """The forced tokens all rows read first (up to any row's first generated segment)."""
    leads = []
    for st in states:
        lead: list[int] = []
        for seg in st.plan.segments:
            if seg.generate is not None:
                break
            lead += seg.forced
        leads.append(lead)
    common = leads[0]
    for lead in leads[1:]:
        n = 0
        while n < min(len(common), len(lead)) and common[n] == lead[n]:
            n += 1
        common = common[:n]
    return common


def _mirrored(st: _Row, tokens: list[int]) -> list[int]:
    """Accept another row's ``tokens``, where this row's plan forces its own (its header)."""
    out = []
    for token in tokens:
        forced = st.forced_next()
        out.append(token if forced is None else forced)
        st.accept(out[-1])
    return out


def _without_choice(st: _Row) -> list[int]:
    """Accept the tokens that follow with no choice to make: the rest of a forced segment, and
    in a generated span every token that is the only one allowed (a legato voice's next
    position, the end of a full bar); the sampler would not draw for them."""
    run: list[int] = []
    while not st.done:
        token = st.forced_next()
        if token is None:
            allowed = st.allowed()
            if len(allowed) != 1:
                break
            token = allowed[0]
        st.accept(token)
        run.append(token)
    return run


def _padded(chunks: list[list[int]], width: int, device: torch.device) -> torch.Tensor:
    """The rows' tokens (B, width), padded; built in numpy (7.7 us for one row of four
    tokens, against 11.3 us for a nested list through ``torch.tensor``)."""
    ids = np.full((len(chunks), width), V.PAD, np.int64)
    for row, chunk in enumerate(chunks):
        ids[row, :len(chunk)] = chunk
    return torch.from_numpy(ids).to(device)


def _lengths(chunks: list[list[int]]) -> torch.Tensor:
    """The rows' lengths, on the CPU whatever the device (the cache's bookkeeping)."""
    return torch.from_numpy(np.array([len(chunk) for chunk in chunks], np.int64))


def _make_room(model: GPT, cache: KVCache, width: int) -> bool:
    """Keep attention within the context the model was trained on: when reading ``width``
    more tokens would pass it, forget the oldest tokens after the header (``1 / ROLL_PART`` of
    the context more than needed, so the cache moves once every so many tokens). False when
    a row is too short to give up that much (the cache must then be rebuilt)."""
    limit = model.config.block_size
    need = cache.length() + width - (limit - 1)
    if need <= 0:
        return True
    shortest = cache.length() if cache.row_pos is None else int(cache.row_pos.min())
    room = shortest - V.HEADER
    if room < need:
        return False
    model.roll(cache, V.HEADER, min(room, need + limit // ROLL_PART))
    return True


def _host(logits: torch.Tensor) -> np.ndarray:
    """Logits (B, V) as a float32 numpy array on the host (a view on CPU)."""
    return logits.detach().float().cpu().numpy()


def _rebuild(model: GPT, states: list[_Row], keep: int, device: torch.device) -> tuple[KVCache, np.ndarray]:
    """The context is full: restart the cache from each row's header plus its last ``keep``
    tokens."""
    seqs = [st.tokens[:V.HEADER] + st.tokens[-keep:] for st in states]
    width = max(len(seq) for seq in seqs)
    cache = KVCache(model.config.n_layer, capacity=model.config.block_size)
    logits = model.forward_rows(_padded(seqs, width, device), _lengths(seqs), cache)
    return cache, _host(logits)
