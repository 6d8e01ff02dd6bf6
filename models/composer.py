"""The model behind :mod:`models.interface`: loads weights onto a device and runs tasks.

Each op has a runner (``RUNNERS``): a function that turns its task into a decoding plan
(models/decoding/decoding.py), decodes all candidates at once and turns tokens back into parts. The
composer adds what every op shares: device, timing, and candidates that differ from one another.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.decoding.decoding import (
    DecodeJob,
    Plan,
    Sampler,
    decode,
    decode_many,
    plan_length,
)
from models.errors import ModelUnavailable
from models.net import checkpoint, cuda_graphs, fused_step
from models.net.tokenizer import decode as decode_tokens
from models.net.transformer import GPT
from models.ops import continuation, drums, harmonize, phrase_fills, regions, restyle, vary
from models.representation import Part
from models.tasks import HarmonizeTask, Task

log = logging.getLogger(__name__)

Progress = Callable[[float], None] | None
StopCheck = Callable[[], bool] | None
# draw(rows, seed) -> one list of parts per row
Draw = Callable[[int, int], list[list[Part]]]
Runner = Callable[[GPT, Any, Progress, StopCheck], Draw]
MAX_REDRAWS = 3
REDRAW_STRIDE = 7919  # a redraw's seed: the request's seed + this times the attempt


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ModelUnavailable(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


def harmonize_runner(model: GPT, task: HarmonizeTask, progress: Progress, should_stop: StopCheck) -> Draw:
    setup = harmonize_setup(task)

    def draw(rows: int, seed: int) -> list[list[Part]]:
        # a voiced plan's variants follow from the draw (the first draw's rows are 0, 1, ...,
        # a redraw's go on after them), so a batched first draw gives the same ones
        first = (seed - task.sampling.seed) // REDRAW_STRIDE * task.sampling.candidates
        ready = Batchable(setup.plan, harmonize_finishing(setup, task, first), setup.voiced if first == 0 else 0,
                          setup.decoded(rows, first_draw=first == 0))
        sampler = Sampler(temperature=task.sampling.temperature, seed=seed)
        tokens = decode(model, setup.plan, ready.rows, sampler, progress=progress, should_stop=should_stop,
                        first_row=ready.skip) if ready.rows else []
        return ready.candidates(tokens, rows)

    return draw


def harmonize_finishing(setup: harmonize.Setup, task: HarmonizeTask, first: int) -> Finish:
    """:func:`harmonize.finish` for a draw's candidates, called in row order, numbered from
    ``first``; a candidate of no tokens is voiced from the plan."""
    rows = itertools.count(first)

    def finish(tokens: list[int]) -> list[Part]:
        parts = decode_tokens(tokens, task.melody.length)[1] if tokens else {}
        return harmonize.finish(setup, parts, task.melody, task.style, next(rows), task.sampling.seed)

    return finish


def harmonize_setup(task: HarmonizeTask) -> harmonize.Setup:
    return harmonize.plan_harmony(task.melody, task.style, task.key, task.pitch_range, task.chords, task.pickup,
                                  task.sampling.candidates, task.sampling.seed)


RUNNERS: dict[str, Runner] = {
    "harmonize": harmonize_runner,
    "drums": phrase_fills.runner,
    "fill": regions.runner(drums.build_fill),
    "vary": regions.runner(vary.build),
    "continue": regions.runner(continuation.build),
    "restyle": regions.runner(restyle.build),
}
STYLES: dict[str, list[str]] = {
    "harmonize": list(harmonize.STYLE_ROLES),
    "drums": list(restyle.DRUM_STYLES),
    "restyle": list(restyle.DRUM_STYLES + restyle.MELODY_STYLES),
}


class TransformerComposer:
    """Satisfies :class:`models.interface.Composer`."""

    def __init__(self, model: GPT, meta: dict[str, Any], device: str) -> None:
        self.model = model
        self.meta = meta
        self.device = device
        self.name = str(meta.get("name", "dawbridge"))

    def ops(self) -> list[str]:
        return list(RUNNERS)

    def styles(self) -> dict[str, list[str]]:
        return {op: list(styles) for op, styles in STYLES.items()}

    def run(self, task: Task, progress: Progress = None, should_stop: StopCheck = None) -> list[list[Part]]:
        runner = RUNNERS.get(task.op)
        if runner is None:
            raise ModelUnavailable(f"the loaded model ({self.name}) does not do {task.op}")
        started = time.perf_counter()
        with fast_floats(self.device):
            draw = runner(self.model, task, progress, should_stop)
            result = distinct(draw, task.sampling.candidates, task.sampling.seed)
        log.debug("%s: %d candidates in %.3f s", task.op, len(result), time.perf_counter() - started)
        return result

    def shares_passes(self) -> bool:
        """Whether requests decoded together (:meth:`run_many`) take less time than one after
        another: on a GPU, where a pass of many rows costs about what one row's does, and on
        the CPU's numpy step (1.4-1.7x for 4-16 fills); not once the CPU's compiled step
        serves, whose passes cost per token and whose lone rows guess further ahead (0.6-1.0x
        for 4-16 fills, 0.9-1.2x for 2-bar harmonize requests of 4 candidates)."""
        return self.model._serving_step_kind() is not fused_step.FusedStep

    def run_many(self, tasks: list[Task], progress: list[Progress] | None = None,
                 should_stop: list[StopCheck] | None = None) -> list[Outcome]:
        """Several tasks at once, in shared forward passes where their ops allow (:func:`run_many`)."""
        with fast_floats(self.device):
            return run_many(self, tasks, progress, should_stop)


@contextmanager
def fast_floats(device: str) -> Iterator[None]:
    """On CPU, flush denormal floats to zero while decoding (tiny activations otherwise take
    the processor's slow path: about a quarter of the time). The setting is the calling
    thread's; it is put back afterwards so that other code in the process is unaffected."""
    if device != "cpu":
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def distinct(draw: Draw, count: int, seed: int) -> list[list[Part]]:
    """``count`` candidates with pairwise different notes: draws again for duplicates. When the
    music leaves no room for more (a fully constrained request), duplicates fill the rest."""
    results = draw(count, seed)
    unique = _unique(results)
    for attempt in range(1, MAX_REDRAWS + 1):
        if len(unique) == count:
            return unique
        unique = _unique(unique + draw(count - len(unique), seed + REDRAW_STRIDE * attempt))
    return (unique + results)[:count]


def _unique(results: list[list[Part]]) -> list[list[Part]]:
    seen, out = set(), []
    for parts in results:
        key = tuple(p.notes for p in parts)
        if key not in seen:
            seen.add(key)
            out.append(parts)
    return out


def load(weights: Path, device: str) -> TransformerComposer:
    device = pick_device(device)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if device == "cpu":
        # Decoding is one small step per token: a single thread is fastest, and leaves the
        # other cores to the DAW (several threads were 10x slower on a busy 2-core machine).
        # Set before loading: the load's first tensor copies would otherwise start torch's
        # thread pool for the few small conversions it does (0.2-0.4 s on a 2-core machine).
        torch.set_num_threads(1)
    if device == "cuda":
        use_planless_attention()
    try:
        stem = checkpoint.stem_of(weights)
        model, meta = checkpoint.load(stem, device, dtype)
    except checkpoint.CheckpointError as exc:
        raise ModelUnavailable(
            f"cannot load model weights ({exc}); reinstall DAWBridge to restore the shipped "
            "model, train one with `dawbridge train`, or pass --weights PATH"
        ) from exc
    model.cuda_graphs = device == "cuda" and cuda_graphs.wanted()
    return TransformerComposer(model, meta, device)


def use_planless_attention() -> None:
    """Keep CUDA's attention off cuDNN. cuDNN builds an execution plan for every new shape it
    sees (about 15 ms on an H200), and decoding's shapes change with every pass: the keys grow
    by the tokens read, rows come and go. It had made a 4-bar drum request take 2-5 s on an
    H200 (0.2 s on a 2-core CPU). The other kernels (memory-efficient, flash, math) need no plan.
    The setting is the process's: the engine serves one model."""
    torch.backends.cuda.enable_cudnn_sdp(False)


# --- several requests in shared forward passes -------------------------------------------------

Finish = Callable[[list[int]], list[Part]]  # a candidate's tokens -> its parts; no tokens: made without decoding


@dataclass(frozen=True)
class Batchable:
    """A task as :func:`run_many` decodes it with others: its plan (or one per decoded row),
    ``finish`` for each candidate in order, the ``skip`` leading candidates made without
    decoding, the ``rows`` decoded after them (the candidates after those are made without
    decoding too), and what its sampler's temperature is multiplied by."""

    plan: Plan | list[Plan]
    finish: Finish
    skip: int
    rows: int
    temperature: float = 1.0

    def candidates(self, tokens: list[list[int]], count: int) -> list[list[Part]]:
        """The draw's ``count`` candidates in order, from the decoded rows' ``tokens``."""
        return ([self.finish([]) for _ in range(self.skip)] + [self.finish(t) for t in tokens]
                + [self.finish([]) for _ in range(count - self.skip - len(tokens))])


# planner(model, task) -> the task ready to decode with others, or None where its op cannot be
# this time (drums with fills: a fill reads the groove decoded before it)
Planner = Callable[[GPT, Any], Batchable | None]
Planned = tuple[int, Batchable]  # a task's index and its plan
Outcome = list[list[Part]] | Exception
MAX_ROWS = 32  # candidate rows in one shared forward pass
LENGTH_SLACK = 1.5  # a bucket's longest plan is at most this many times its shortest
# A plan shares passes when its estimated length leaves this part of the context free: room for
# the widest pass of its bucket and for the estimate's error (4-bar drums were estimated at
# 220-271 tokens and wrote 186-315; a 2-bar chorale 202, and wrote about 150)
FIT_ROOM = 4


def harmonize_plan(model: GPT, task: HarmonizeTask) -> Batchable:
    setup = harmonize_setup(task)
    return Batchable(setup.plan, harmonize_finishing(setup, task, 0), setup.voiced,
                     setup.decoded(task.sampling.candidates))


def regions_plan(build: Callable[[Any, int], regions.Rewrite]) -> Planner:
    """The planner of an op that :func:`regions.runner` runs: the first draw's plans, every
    candidate decoded (none where the rewrite needs no decoding)."""

    def plan(model: GPT, task: Any) -> Batchable:
        rewrite = build(task, model.config.block_size)
        count, seed = task.sampling.candidates, task.sampling.seed
        plans, finish = rewrite.plans(count, seed), rewrite.finishing(seed)
        if plans is None:
            return Batchable([], lambda _: finish(None), count, 0, rewrite.temperature)
        return Batchable(plans, finish, 0, count, rewrite.temperature)

    return plan


def drums_plan(model: GPT, task: Any) -> Batchable | None:
    """Drums decode with others when they have no fills (a fill reads the groove before it)."""
    return None if phrase_fills.phrase_ends(task.bars, task.fills) else regions_plan(drums.build_drums)(model, task)


PLANNERS: dict[str, Planner] = {
    "harmonize": harmonize_plan,
    "drums": drums_plan,
    "fill": regions_plan(drums.build_fill),
    "vary": regions_plan(vary.build),
    "continue": regions_plan(continuation.build),
    "restyle": regions_plan(restyle.build),
}


def run_many(composer: TransformerComposer, tasks: list[Task], progress: list[Progress] | None = None,
              should_stop: list[StopCheck] | None = None) -> list[Outcome]:
    """Run several tasks, decoding those of batchable ops together in shared forward passes
    (bucketed by plan length); one entry per task: its candidates, or the exception that
    stopped it (:class:`Cancelled`, :class:`ModelUnavailable`, ...). A task gives the same
    candidates here as through :meth:`run` with the same seed (up to float rounding): one
    whose rows outgrew the context in company (:attr:`DecodeJob.crowded`) is decoded again
    alone."""
    progress = progress or [None] * len(tasks)
    should_stop = should_stop or [None] * len(tasks)
    outcomes: list[Outcome | None] = [None] * len(tasks)
    planned: list[Planned] = []
    for i, task in enumerate(tasks):
        planner = PLANNERS.get(task.op)
        try:
            ready = None if planner is None else planner(composer.model, task)
            if ready is None:
                outcomes[i] = composer.run(task, progress[i], should_stop[i])
            elif ready.rows == 0:  # nothing to decode
                outcomes[i] = _finish_many(composer, task, ready.candidates([], task.sampling.candidates),
                                           progress[i], should_stop[i])
            else:
                planned.append((i, ready))
        except Exception as exc:  # reported per task; the others go on
            outcomes[i] = exc
    for bucket in _buckets(planned, composer.model.config.block_size):
        jobs = [DecodeJob(ready.plan, ready.rows, Sampler(temperature=tasks[i].sampling.temperature * ready.temperature,
                                                          seed=tasks[i].sampling.seed),
                          progress=progress[i], should_stop=should_stop[i], first_row=ready.skip)
                for i, ready in bucket]
        started = time.perf_counter()
        decoded = decode_many(composer.model, jobs)
        log.debug("%d requests, %d rows decoded together in %.3f s", len(jobs),
                  sum(job.rows for job in jobs), time.perf_counter() - started)
        for (i, ready), job, tokens in zip(bucket, jobs, decoded, strict=True):
            if job.crowded and not isinstance(tokens, Exception):
                log.debug("%s request %d outgrew the context in company: decoded again alone", tasks[i].op, i)
                try:
                    outcomes[i] = composer.run(tasks[i], progress[i], should_stop[i])
                except Exception as exc:
                    outcomes[i] = exc
                continue
            outcomes[i] = tokens if isinstance(tokens, Exception) else _finish_many(
                composer, tasks[i], ready.candidates(tokens, tasks[i].sampling.candidates), progress[i], should_stop[i])
    return [o if o is not None else RuntimeError("no outcome") for o in outcomes]


def _finish_many(composer: TransformerComposer, task: Task, first: list[list[Part]], progress: Progress,
                 should_stop: StopCheck) -> Outcome:
    """Distinct candidates from a batched first draw; redraws (rare) run alone, their runner
    set up only then (a harmonize runner plans the chords again: about as long as the rest of
    a batched request's host work)."""
    draws = iter([first])

    @functools.cache
    def redraw() -> Draw:
        return RUNNERS[task.op](composer.model, task, progress, should_stop)

    def draw(rows: int, seed: int) -> list[list[Part]]:
        return next(draws, None) or redraw()(rows, seed)

    try:
        return distinct(draw, task.sampling.candidates, task.sampling.seed)
    except Exception as exc:
        return exc


def _buckets(planned: list[Planned], context: int) -> list[list[Planned]]:
    """Group plans of similar length (at most MAX_ROWS candidate rows each), so short requests
    do not step along with long ones. A plan that may not fit the model's ``context`` with a
    pass's tokens beside it (its estimated length above ``context - context // FIT_ROOM``) has
    a bucket of its own: its rows would likely give up context, which in company means decoding
    it again alone (:attr:`DecodeJob.crowded`)."""
    fits = context - context // FIT_ROOM
    buckets: list[list[Planned]] = []
    rows = shortest = 0
    for length, item in sorted(((plan_length(item[1].plan), item) for item in planned), key=lambda pair: pair[0]):
        need = item[1].rows
        if not buckets or rows + need > MAX_ROWS or length > LENGTH_SLACK * shortest or length > fits:
            buckets.append([])
            rows, shortest = 0, length
        buckets[-1].append(item)
        rows += need
    return buckets

