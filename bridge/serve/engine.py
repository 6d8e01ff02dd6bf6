"""The engine's model side: loads the composer in the background, turns a musical job into a
model task and the model's parts into a result, and describes itself for ``info``."""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bridge import __version__
from bridge.constants import DEFAULT_TIMEOUT, MAX_REQUEST_BYTES, MAX_REQUEST_WORK
from bridge.protocol import (
    ALL_OPS,
    DRUM_STYLES,
    HARMONIZE_STYLES,
    MAX_CANDIDATES,
    MAX_CLIP_BEATS,
    MAX_CONTEXT_CLIPS,
    MAX_GENERATED_BARS,
    MAX_NOTES_PER_CLIP,
    MAX_NOTES_PER_REQUEST,
    MELODY_STYLES,
    PROTOCOL_VERSION,
    ErrorCode,
    InfoResult,
    MusicResult,
    named_field,
)
from bridge.serve.convert import music_result, request_to_task
from bridge.serve.scheduler import Job, Refused
from models.interface import CREDITS, Cancelled, Composer, ModelUnavailable, load_composer

log = logging.getLogger(__name__)

RESTART_HINT = " (then restart `dawbridge serve`)"


class ComposerSlot:
    """Holds the composer once loaded. Loading runs in a thread so the engine answers ``ping``
    and ``info`` at once; musical requests wait for it."""

    def __init__(self, loader: Callable[[], Composer], device: str = "auto") -> None:
        self._loader = loader
        self.requested_device = device
        self._done = threading.Event()
        self._composer: Composer | None = None
        self.error: str | None = None

    @classmethod
    def of(cls, composer: Composer) -> ComposerSlot:
        """A slot holding an already loaded composer."""
        slot = cls(lambda: composer, composer.device)
        slot._load()
        return slot

    @classmethod
    def from_weights(cls, weights: str | Path | None, device: str) -> ComposerSlot:
        return cls(lambda: load_composer(weights, device), device)

    @classmethod
    def at_start(cls, weights: str | Path | None, device: str) -> ComposerSlot:
        """:meth:`from_weights` for a process that loads its one model as it starts (`dawbridge
        serve`, `dawbridge worker`): the cyclic garbage collector waits while the model loads,
        and what the load leaves is then frozen (``gc.freeze``). Importing torch and building
        the model leave some 180,000 objects that live as long as the process; the collector's
        passes over them during the load found next to nothing to free and took about a fifth
        of it, and once they are frozen no later collection (inside a request) walks them again."""
        return cls(partial(_load_frozen, weights, device), device)

    def start(self) -> None:
        if not self._done.is_set():
            threading.Thread(target=self._load, name="dawbridge-loader", daemon=True).start()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            self._composer = self._loader()
        except ModelUnavailable as exc:
            self.error = str(exc) + RESTART_HINT
            log.warning("no model: %s", self.error)
        except Exception as exc:  # corrupt weights, a broken install: say so, keep serving
            self.error = f"the model failed to load ({type(exc).__name__}: {exc}){RESTART_HINT}"
            log.error("model failed to load", exc_info=True)
        else:
            log.info("model %s on %s loaded in %.1f s", self._composer.name, self._composer.device,
                     time.monotonic() - started)
        finally:
            self._done.set()

    @property
    def loaded(self) -> Composer | None:
        return self._composer

    @property
    def loading(self) -> bool:
        return not self._done.is_set()

    def get(self, should_stop: Callable[[], bool]) -> Composer:
        """The composer, waiting while it loads; raises Refused when there is none."""
        while not self._done.wait(0.05):
            if should_stop():
                raise Cancelled("stopped while the model was loading")
        if self._composer is None:
            raise Refused(ErrorCode.model_unavailable, self.error or "no model is loaded")
        return self._composer


class Engine:
    """What the server needs from the model: ``compose`` for the scheduler, ``info``. With
    ``local_model`` false the engine only hands work to remote workers and never loads one."""

    def __init__(self, slot: ComposerSlot, local_model: bool = True) -> None:
        self.slot = slot
        self.local_model = local_model
        self.started = time.monotonic()

    def compose(self, job: Job, progress: Callable[[float], None]) -> MusicResult:
        request = job.request
        try:
            composer = self.slot.get(job.should_stop)
            seed = request.seed if request.seed is not None else random.randrange(2**31)
            task = request_to_task(request, seed)
            started = time.monotonic()
            parts = composer.run(task, progress=progress, should_stop=job.should_stop)
        except (Cancelled, ModelUnavailable, ValueError) as exc:
            raise _refusal(job, exc) from exc
        if len(parts) != request.candidates:
            log.warning("model returned %d candidates, %d were asked for", len(parts), request.candidates)
        return music_result(parts, composer.name, seed, time.monotonic() - started)

    def batchable(self) -> bool:
        """Whether the loaded model can run several requests in shared forward passes, and
        gains by it now (``shares_passes``: not on the CPU's compiled decode step)."""
        loaded = self.slot.loaded
        shares = getattr(loaded, "shares_passes", None)
        return hasattr(loaded, "run_many") and (shares is None or bool(shares()))

    def compose_many(self, jobs: list[Job], progress: list[Callable[[float], None]]) -> list[MusicResult | Exception]:
        """Several jobs in shared forward passes (the model's ``run_many``); one result or
        exception (Refused for what the client is told) per job."""
        try:
            composer = self.slot.get(lambda: all(job.should_stop() for job in jobs))
        except (Refused, Cancelled) as exc:
            return [_refusal(job, exc) for job in jobs]
        run_many = getattr(composer, "run_many", None)
        if run_many is None:
            return [_outcome(partial(self.compose, job, p)) for job, p in zip(jobs, progress, strict=True)]
        seeds = [job.request.seed if job.request.seed is not None else random.randrange(2**31) for job in jobs]
        tasks = [request_to_task(job.request, seed) for job, seed in zip(jobs, seeds, strict=True)]
        started = time.monotonic()
        outcomes = run_many(tasks, progress, [job.should_stop for job in jobs])
        elapsed = time.monotonic() - started
        out: list[MusicResult | Exception] = []
        for job, seed, parts in zip(jobs, seeds, outcomes, strict=True):
            if isinstance(parts, Exception):
                out.append(_refusal(job, parts))
            else:
                out.append(_outcome(partial(music_result, parts, composer.name, seed, elapsed)))
        return out

    def info(self, queue_depth: int, queue_size: int, workers: int, served: int, failed: int,
             sessions: int) -> InfoResult:
        composer = self.slot.loaded
        styles = composer.styles() if composer is not None else {
            "harmonize": list(HARMONIZE_STYLES), "drums": list(DRUM_STYLES),
            "restyle": list(DRUM_STYLES + MELODY_STYLES),
        }
        error = "the model is loading" if self.slot.loading else self.slot.error
        if not self.local_model:
            error = "this engine runs no model itself: its remote workers do"
        return InfoResult(
            version=__version__, protocol=PROTOCOL_VERSION,
            model=composer.name if composer is not None else None, model_error=error,
            device=(composer.device if composer is not None else
                    self.slot.requested_device if self.local_model else "remote workers"),
            ops=list(ALL_OPS), styles=styles,
            limits={
                "max_request_bytes": MAX_REQUEST_BYTES, "max_notes_per_clip": MAX_NOTES_PER_CLIP,
                "max_notes_per_request": MAX_NOTES_PER_REQUEST, "max_request_work": MAX_REQUEST_WORK,
                "max_clip_beats": int(MAX_CLIP_BEATS), "max_context_clips": MAX_CONTEXT_CLIPS,
                "max_candidates": MAX_CANDIDATES, "max_generated_bars": MAX_GENERATED_BARS,
                "queue_size": queue_size, "default_timeout": int(DEFAULT_TIMEOUT),
            },
            uptime=round(time.monotonic() - self.started, 3), queue_depth=queue_depth,
            served=served, failed=failed, workers=workers, sessions=sessions, credits=list(CREDITS),
        )


def _load_frozen(weights: str | Path | None, device: str) -> Composer:
    """load_composer with the garbage collector held off, and all it leaves frozen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return load_composer(weights, device)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _refusal(job: Job, exc: Exception) -> Exception:
    """What a job is answered when the model stopped or could not run it."""
    if isinstance(exc, Cancelled):
        return Refused(job.reason or ErrorCode.cancelled, f"request {job.request.id!r} was stopped")
    if isinstance(exc, ModelUnavailable):
        return Refused(ErrorCode.model_unavailable, str(exc))
    if isinstance(exc, ValueError):  # the model refuses the music: the message names the field
        return Refused(ErrorCode.invalid_request, str(exc), named_field(job.request, str(exc)))
    return exc


def _outcome(make: Callable[[], MusicResult]) -> MusicResult | Exception:
    try:
        return make()
    except Exception as exc:  # per job: the batch's other jobs still get their results
        return exc
