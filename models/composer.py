"""The model behind :mod:`models.interface`: loads weights onto a device and runs tasks.

Each task module turns its task into a decoding plan (models/decoding.py); the composer runs
the plan for all candidates at once, turns tokens back into parts, and makes sure the
candidates differ from one another.
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

log = logging.getLogger(__name__)

Progress = Callable[[float], None] | None
StopCheck = Callable[[], bool] | None
MAX_REDRAWS = 3


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ModelUnavailable(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


class TransformerComposer:
    """Satisfies :class:`models.interface.Composer`."""

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any], device: str) -> None:
        self.model = model
        self.meta = meta
        self.device = device
        self.name = str(meta.get("name", "dawbridge"))

    def ops(self) -> list[str]:
        return ["harmonize"]

    def styles(self) -> dict[str, list[str]]:
        return {"harmonize": list(harmonize.STYLE_ROLES)}

    def run(self, task: Task, progress: Progress = None, should_stop: StopCheck = None) -> list[list[Part]]:
        started = time.perf_counter()
        if isinstance(task, HarmonizeTask):
            result = self._harmonize(task, progress, should_stop)
        else:
            raise ModelUnavailable(f"the loaded model ({self.name}) does not do {task.op} yet")
        log.debug("%s: %d candidates in %.3f s", task.op, len(result), time.perf_counter() - started)
        return result

    def _harmonize(self, task: HarmonizeTask, progress: Progress, should_stop: StopCheck) -> list[list[Part]]:
        setup = harmonize.plan_harmony(task.melody, task.style, task.key, task.pitch_range)

        def draw(rows: int, seed: int) -> list[list[Part]]:
            sampler = Sampler(temperature=task.sampling.temperature, seed=seed)
            tokens = decode(self.model, setup.plan, rows, sampler, progress=progress, should_stop=should_stop)
            return [harmonize.finish(setup, decode_tokens(t, task.melody.length)[1], task.melody, task.style)
                    for t in tokens]

        return distinct(draw, task.sampling.candidates, task.sampling.seed)


def distinct(draw: Callable[[int, int], list[list[Part]]], count: int, seed: int) -> list[list[Part]]:
    """``count`` candidates with pairwise different notes: draws again for duplicates."""
    results = draw(count, seed)
    for attempt in range(1, MAX_REDRAWS + 1):
        unique = _unique(results)
        if len(unique) == count:
            return unique
        results = unique + draw(count - len(unique), seed + 7919 * attempt)
    return _unique(results) + results[len(_unique(results)):count]


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
