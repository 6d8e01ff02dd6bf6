"""The model behind :mod:`models.interface`: loads weights onto a device and runs tasks.

Each op has a runner (``RUNNERS``): a function that turns its task into a decoding plan
(models/decoding.py), decodes all candidates at once and turns tokens back into parts. The
composer adds what every op shares: device, timing, and candidates that differ from one another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from models import checkpoint, harmonize
from models.decoding import Sampler, decode
from models.interface import ModelUnavailable
from models.representation import Part
from models.tasks import HarmonizeTask, Task
from models.tokenizer import decode as decode_tokens
from models.transformer import GPT

log = logging.getLogger(__name__)

Progress = Callable[[float], None] | None
StopCheck = Callable[[], bool] | None
# draw(rows, seed) -> one list of parts per row
Draw = Callable[[int, int], list[list[Part]]]
Runner = Callable[[GPT, Any, Progress, StopCheck], Draw]
MAX_REDRAWS = 3


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ModelUnavailable(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


def harmonize_runner(model: GPT, task: HarmonizeTask, progress: Progress, should_stop: StopCheck) -> Draw:
    setup = harmonize.plan_harmony(task.melody, task.style, task.key, task.pitch_range)

    def draw(rows: int, seed: int) -> list[list[Part]]:
        sampler = Sampler(temperature=task.sampling.temperature, seed=seed)
        tokens = decode(model, setup.plan, rows, sampler, progress=progress, should_stop=should_stop)
        return [harmonize.finish(setup, decode_tokens(t, task.melody.length)[1], task.melody, task.style)
                for t in tokens]

    return draw


RUNNERS: dict[str, Runner] = {"harmonize": harmonize_runner}
STYLES: dict[str, list[str]] = {"harmonize": list(harmonize.STYLE_ROLES)}


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
        draw = runner(self.model, task, progress, should_stop)
        result = distinct(draw, task.sampling.candidates, task.sampling.seed)
        log.debug("%s: %d candidates in %.3f s", task.op, len(result), time.perf_counter() - started)
        return result


def distinct(draw: Draw, count: int, seed: int) -> list[list[Part]]:
    """``count`` candidates with pairwise different notes: draws again for duplicates. When the
    music leaves no room for more (a fully constrained request), duplicates fill the rest."""
    results = draw(count, seed)
    unique = _unique(results)
    for attempt in range(1, MAX_REDRAWS + 1):
        if len(unique) == count:
            return unique
        unique = _unique(unique + draw(count - len(unique), seed + 7919 * attempt))
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
    try:
        stem = checkpoint.stem_of(weights)
        model, meta = checkpoint.load(stem, device, dtype)
    except checkpoint.CheckpointError as exc:
        raise ModelUnavailable(
            f"cannot load model weights ({exc}); reinstall DAWBridge to restore the shipped "
            "model, train one with `dawbridge train`, or pass --weights PATH"
        ) from exc
    if device == "cpu":
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    return TransformerComposer(model, meta, device)
