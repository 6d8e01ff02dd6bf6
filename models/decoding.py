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

import torch

from models import vocab as V
from models import voicing
from models.interface import Cancelled
from models.transformer import GPT, KVCache

MAX_CHORD = 6
GRID = frozenset({0, 3, 4, 6, 8, 9})  # positions within a beat the tokenizer snaps onsets to


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
    voices: tuple[str, ...] = ()  # part-writing order, top voice first: no crossing, no parallels
    legato: bool = False  # a monophonic voice leaves no gap while the melody (context) sounds

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

    def __post_init__(self) -> None:
        for i, seg in enumerate(self.segments):
            if seg.generate is not None and (i + 1 >= len(self.segments) or not self.segments[i + 1].forced):
                raise ValueError("a generated segment must be followed by a forced one (its end token)")


class _Row:
    """One candidate's progress through the plan."""

    def __init__(self, plan: Plan, busy: dict[str, int]) -> None:
        self.plan = plan
        self.seg = 0
        self.offset = 0  # index into the current forced segment
        self.tokens: list[int] = []
        self.busy = dict(busy)  # role -> tick until which a monophonic voice sounds
        self.known = {role: list(notes) for role, notes in plan.context.items()}  # for voicing
        self._reset_span()

    def _reset_span(self) -> None:
        self.state = "note"  # note | pitch | dur | vel
        self.pos = -1
        self.notes = 0
        self.at_pos: set[int] = set()
        self.pitch = -1
        seg = None if self.done else self.current()
        if seg is not None and seg.generate is not None and seg.generate.start_pos >= 0:
            self.pos, self.at_pos = seg.generate.start_pos, set(seg.generate.start_pitches)

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
            self.notes += 1
            if c.voices:
                start = c.bar_start + self.pos
                self.known.setdefault(c.role, []).append((start, start + ticks, self.pitch))
            if c.monophonic:
                self.busy[c.role] = c.bar_start + self.pos + ticks
            self.state = "vel" if c.role in V.VELOCITY_ROLES else "note"
        elif self.state == "vel":
            self.state = "note"

    def allowed(self) -> list[int]:
        """Token ids the model may choose now (the current segment generates)."""
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
            if c.legato and first < last and first % 12 in GRID and self._melody_sounds(c.bar_start + first):
                return [V.POS0 + first]  # the voice goes on where its last note ended
            out += [V.POS0 + p for p in range(first, last) if p % 12 in GRID]
            if self.pos >= 0 and not c.monophonic and len(self.at_pos) < MAX_CHORD:
                out += [V.PITCH0 + p for p in c.pitches if p not in self.at_pos]
            return out or [end_token]
        if self.state == "pitch":
            choices = [p for p in c.pitches if p not in self.at_pos]
            if c.voices:
                choices = voicing.allowed_pitches(c.role, c.voices, self.known, c.bar_start + self.pos, choices) or choices
            return [V.PITCH0 + p for p in choices] or [V.PITCH0 + min(c.pitches)]
        if self.state == "dur":
            left = c.end_tick - (c.bar_start + self.pos)
            if c.voices:
                left = min(left, max(1, voicing.longest(c.role, c.voices, self.known, c.bar_start + self.pos, self.pitch)))
            fits = [V.DUR0 + i for i, d in enumerate(V.DURATIONS) if d <= left]
            return fits or [V.DUR0]
        return list(range(V.VEL0, V.VEL0 + len(V.VELOCITY_CENTRES)))

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
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)

    def pick(self, logits: torch.Tensor, allowed: list[int]) -> int:
        """Sample one id from ``allowed`` given logits (V,), with temperature and nucleus."""
        if len(allowed) == 1:
            return allowed[0]
        idx = torch.tensor(allowed)
        sub = logits.index_select(0, idx).float() / max(self.temperature, 1e-3)
        probs = torch.softmax(sub, dim=0)
        if self.top_p < 1.0:
            sorted_p, order = probs.sort(descending=True)
            keep = sorted_p.cumsum(0) - sorted_p < self.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
        choice = torch.multinomial(probs, 1, generator=self.generator).item()
        return allowed[int(choice)]


@torch.inference_mode()
def decode(
    model: GPT,
    plan: Plan | Sequence[Plan],
    rows: int,
    sampler: Sampler,
    busy: dict[str, int] | None = None,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[list[int]]:
    """Run ``plan`` for ``rows`` candidates (or one plan per row, a sequence of ``rows`` plans);
    returns each row's whole token list."""
    device = next(model.parameters()).device
    plans = [plan] * rows if isinstance(plan, Plan) else list(plan)
    if len(plans) != rows:
        raise ValueError(f"plan must be one Plan or {rows} plans (one per row), got {len(plans)}")
    states = [_Row(p, busy or {}) for p in plans]
    total = max(sum(len(s.forced) + (24 if s.generate else 0) for s in p.segments) for p in plans)
    # The shared prefix: the leading forced tokens all rows have in common, read in one chunk.
    leads = [_forced_lead(p) for p in plans]
    prefix: list[int] = []
    for tokens in zip(*leads, strict=False):
        if any(t != tokens[0] for t in tokens):
            break
        prefix.append(tokens[0])
    for st in states:
        for tok in prefix:
            st.accept(tok)
    limit = model.config.block_size
    cache = KVCache(model.config.n_layer, capacity=min(limit, total + 64))
    logits = model(torch.tensor([prefix] * rows, device=device), cache)[:, -1]
    steps = 0
    while not all(st.done for st in states):
        if should_stop is not None and should_stop():
            raise Cancelled("stopped while decoding")
        run = _shared_forced_run(states)
        if run:  # every row reads the same forced tokens next: one forward pass for all of them
            for st in states:
                for tok in run:
                    st.accept(tok)
            feed = torch.tensor([run] * rows, device=device)
        else:
            nxt = []
            for r, st in enumerate(states):
                forced = st.forced_next()
                tok = forced if forced is not None else sampler.pick(logits[r], st.allowed())
                st.accept(tok)
                nxt.append(tok)
            if rows == 1:  # tokens the constraints leave no choice about ride along in one pass
                nxt += _determined_run(states[0])
            feed = torch.tensor(nxt, device=device).view(rows, -1)
        steps += feed.shape[1]
        if cache.length() + feed.shape[1] >= limit - 1:
            cache, logits = _rebuild(model, states, limit // 2, device)
        else:
            logits = model(feed, cache)[:, -1]
        if progress is not None and steps % 32 < feed.shape[1]:
            progress(min(0.99, (len(prefix) + steps) / max(total, 1)))
    return [st.tokens for st in states]


def _determined_run(st: _Row) -> list[int]:
    """Accept the tokens that follow in a generated span while exactly one is allowed (a legato
    voice's next position, the end of a full bar); the sampler would not draw for them."""
    run: list[int] = []
    while not st.done and st.forced_next() is None:
        allowed = st.allowed()
        if len(allowed) != 1:
            break
        st.accept(allowed[0])
        run.append(allowed[0])
    return run


def _shared_forced_run(states: list[_Row]) -> list[int]:
    """The rest of the current forced segment when every row is in the same one, else []."""
    runs = []
    for st in states:
        if st.done or st.current().generate is not None:
            return []
        runs.append(st.current().forced[st.offset:])
    first = runs[0]
    return first if len(first) > 1 and all(r == first for r in runs[1:]) else []


def _forced_lead(plan: Plan) -> list[int]:
    """The forced tokens a plan starts with, up to its first generated segment."""
    lead: list[int] = []
    for seg in plan.segments:
        if seg.generate is not None:
            break
        lead += seg.forced
    return lead


def _rebuild(model: GPT, states: list[_Row], keep: int, device: torch.device) -> tuple[KVCache, torch.Tensor]:
    """The context is full: restart the cache from the header plus the last ``keep`` tokens."""
    seqs = [st.tokens[:5] + st.tokens[-keep:] for st in states]
    cache = KVCache(model.config.n_layer, capacity=model.config.block_size)
    logits = model(torch.tensor(seqs, device=device), cache)[:, -1]
    return cache, logits


@dataclass
class DecodeJob:
    """One request's share of a batched decode: its plan, its candidate rows and its sampler."""

    plan: Plan
    rows: int
    sampler: Sampler
    busy: dict[str, int] | None = None
    progress: Callable[[float], None] | None = None
    should_stop: Callable[[], bool] | None = None


def prefix_length(plan: Plan) -> int:
    """Tokens of the leading forced segments (what :func:`decode` reads in one chunk)."""
    n = 0
    for seg in plan.segments:
        if seg.generate is not None:
            break
        n += len(seg.forced)
    return n


def plan_length(plan: Plan) -> int:
    """A rough token count of the whole plan (forced tokens plus ~24 per generated span)."""
    return sum(len(s.forced) + (24 if s.generate else 0) for s in plan.segments)


@torch.inference_mode()
def decode_many(model: GPT, jobs: list[DecodeJob]) -> list[list[list[int]] | Cancelled]:
    """Run several plans in shared forward passes; one entry per job: its rows' token lists,
    or :class:`Cancelled` when its ``should_stop`` fired (the other jobs go on).

    Rows advance one token per step, forced or sampled, so rows of different plans share
    positions and one cache. The jobs' common prefix length is read in one chunk; the rest of
    a longer prefix is stepped like any forced token. Each job samples with its own sampler, in
    the order :func:`decode` would, so a job decodes to the same tokens alone or in company (up
    to float rounding of batched matmuls). Finished and cancelled rows leave the batch."""
    device = next(model.parameters()).device
    start = min(prefix_length(job.plan) for job in jobs)
    states: list[_Row] = []
    owner: list[int] = []
    for j, job in enumerate(jobs):
        prefix = _leading(job.plan, start)
        for _ in range(job.rows):
            st = _Row(job.plan, job.busy or {})
            for tok in prefix:
                st.accept(tok)
            states.append(st)
            owner.append(j)
    totals = [max(plan_length(job.plan), 1) for job in jobs]
    limit = model.config.block_size
    cache = KVCache(model.config.n_layer, capacity=min(limit, max(totals) + 64))
    logits = model(torch.tensor([st.tokens for st in states], device=device), cache)[:, -1]
    outcome: list[list[list[int]] | Cancelled | None] = [None] * len(jobs)
    active = list(range(len(states)))  # indices into states, in cache row order
    steps = 0
    while active:
        for j, job in enumerate(jobs):
            if outcome[j] is None and job.should_stop is not None and job.should_stop():
                outcome[j] = Cancelled("stopped while decoding")
        keep = [k for k, i in enumerate(active) if outcome[owner[i]] is None and not states[i].done]
        if not keep:
            break
        if len(keep) < len(active):
            cache.select(torch.tensor(keep, dtype=torch.long, device=device))
            logits = logits[keep]
            active = [active[k] for k in keep]
        nxt = []
        for k, i in enumerate(active):
            st = states[i]
            forced = st.forced_next()
            tok = forced if forced is not None else jobs[owner[i]].sampler.pick(logits[k], st.allowed())
            st.accept(tok)
            nxt.append(tok)
        steps += 1
        if cache.length() >= limit - 1:
            cache, logits = _rebuild(model, [states[i] for i in active], limit // 2, device)
        else:
            logits = model(torch.tensor(nxt, device=device).view(len(active), 1), cache)[:, -1]
        if steps % 32 == 0:
            for j, job in enumerate(jobs):
                if job.progress is not None and outcome[j] is None:
                    job.progress(min(0.99, (start + steps) / totals[j]))
    results: list[list[list[int]] | Cancelled] = []
    for j, out in enumerate(outcome):
        if out is None:  # rows that finished early are padded, as decode() pads them
            out = [states[i].tokens for i in range(len(states)) if owner[i] == j]
            width = max(len(tokens) for tokens in out)
            out = [tokens + [V.PAD] * (width - len(tokens)) for tokens in out]
        results.append(out)
    return results


def _leading(plan: Plan, count: int) -> list[int]:
    """The first ``count`` tokens of the plan's leading forced segments."""
    tokens: list[int] = []
    for seg in plan.segments:
        if seg.generate is not None or len(tokens) >= count:
            break
        tokens += seg.forced
    return tokens[:count]
