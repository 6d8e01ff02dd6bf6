"""The scheduler: a bounded queue of musical requests, worker threads that call the model,
per-request deadlines, cancel by id, and an orderly stop.

Every job is answered exactly once (:meth:`Job.claim`), whoever gets there first: the worker
with a result, a cancel (by id, or of everything a client asked for when it goes away), an
expired deadline, or shutdown. One client (one connection) holds at most its share of the queue. The scheduler never touches a
socket; it hands replies and progress events to ``deliver``, which must be thread-safe.
Workers take jobs through :meth:`Scheduler._take`: a batch of waiting jobs, clients in turn
(bridge/serve/fairqueue.py), which ``work_many`` runs in shared forward passes when the model can.
Remote workers (bridge/studio/broker.py) take jobs with :meth:`Scheduler.take_nowait` and hand back
replies with :meth:`Scheduler.complete`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bridge.constants import MAX_BATCH_ROWS, PROGRESS_INTERVAL, QUEUE_SIZE, WORKERS
from bridge.protocol import ErrorCode, MusicalRequest, error_reply, ok_reply, progress_event
from bridge.serve.fairqueue import FairQueue

log = logging.getLogger(__name__)

Envelope = tuple[bytes, ...]
Message = dict[str, Any]


class Refused(Exception):
    """A request the engine answers with an error code instead of a result."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field  # the request field the refusal is about, where one is

    def reply(self, job: Job) -> dict[str, Any]:
        """The error reply for ``job``: its own stop reason (a timeout, a cancel) before this."""
        if job.reason is not None:
            return error_reply(job.request.id, job.reason, self.message)
        return error_reply(job.request.id, self.code, self.message, self.field)


@dataclass(eq=False)
class Job:
    """One musical request in flight: who sent it, what it asks, and when it must be done."""

    envelope: Envelope
    request: MusicalRequest
    deadline: float  # time.monotonic() seconds
    received: float = field(default_factory=time.monotonic)
    started: float | None = None  # when a worker (thread or remote) took it
    one_reply: bool = False  # the client reads only the final reply (a REQ socket): no progress
    client: str = ""  # how logs name the client
    reason: ErrorCode | None = None
    last_progress: float = 0.0
    attempts: int = 0  # times handed to a remote worker
    _stop: threading.Event = field(default_factory=threading.Event)
    _answered: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> tuple[Envelope, str]:
        return self.envelope, self.request.id

    @property
    def rows(self) -> int:
        """Candidate rows the model decodes for this job."""
        return self.request.candidates

    @property
    def answered(self) -> bool:
        return self._answered

    @property
    def client_id(self) -> bytes:
        """The connection that sent it: its share of the queue is counted by this."""
        return self.envelope[0] if self.envelope else b""

    def should_stop(self) -> bool:
        """Polled by the model between steps."""
        return self._stop.is_set()

    def stop(self, reason: ErrorCode) -> None:
        """Ask the model to stop; the first reason given is the one reported."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self._stop.set()

    def claim(self) -> bool:
        """True exactly once: the caller may send the final reply."""
        with self._lock:
            if self._answered:
                return False
            self._answered = True
            return True


Work = Callable[[Job, Callable[[float], None]], BaseModel]
# work_many(jobs, progress callbacks) -> one result or exception per job
WorkMany = Callable[[list[Job], list[Callable[[float], None]]], Sequence[BaseModel | Exception]]
Deliver = Callable[[Job, Message], None]


class Scheduler:
    """Runs jobs on ``workers`` threads through ``work``; at most ``queue_size`` in flight.
    With ``work_many`` and ``max_batch`` > 1, a thread takes up to ``max_batch`` waiting jobs
    (``max_rows`` candidate rows) at once while ``batchable()`` says the model can share passes.
    ``workers`` may be 0 when remote workers take the jobs."""

    def __init__(self, work: Work, deliver: Deliver, queue_size: int = QUEUE_SIZE,
                 workers: int = WORKERS, *, max_batch: int = 1, max_rows: int = MAX_BATCH_ROWS,
                 work_many: WorkMany | None = None, batchable: Callable[[], bool] | None = None,
                 client_share: float = 1.0) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if workers < 0:
            raise ValueError("workers must be at least 0")
        if max_batch < 1 or max_rows < 1:
            raise ValueError("max_batch and max_rows must be at least 1")
        if not 0.0 < client_share <= 1.0:
            raise ValueError("client_share must be in range 0..1 (above 0)")
        self._work = work
        self._deliver = deliver
        self.queue_size = queue_size
        self.client_limit = max(1, int(queue_size * client_share))
        self.workers = workers
        self.max_batch = max_batch
        self.max_rows = max_rows
        self._work_many = work_many
        self._batchable = batchable or (lambda: True)
        self.batches = 0  # batches of more than one job run
        self.batched = 0  # jobs run in them
        self._queue: FairQueue[Job] = FairQueue()
        self._jobs: dict[tuple[Envelope, str], Job] = {}
        self._per_client: dict[bytes, int] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []

    # --- the loop's side -------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._worker, name=f"dawbridge-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def depth(self) -> int:
        """Requests waiting or running."""
        with self._cond:
            return len(self._jobs)

    def submit(self, job: Job) -> None:
        """Queue ``job``; raises Refused when it cannot be taken."""
        with self._cond:
            if self._closed:
                raise Refused(ErrorCode.shutting_down, "the engine is shutting down; retry when it is back")
            if job.key in self._jobs:
                raise Refused(ErrorCode.duplicate_id, f"request id {job.request.id!r} is already in flight")
            if len(self._jobs) >= self.queue_size:
                raise Refused(ErrorCode.overloaded,
                              f"the engine is busy ({self.queue_size} requests in flight); retry shortly")
            held = self._per_client.get(job.client_id, 0)
            if held >= self.client_limit:
                raise Refused(ErrorCode.overloaded,
                              f"you have {held} requests in flight, your share of this engine; "
                              "retry when one is answered")
            self._per_client[job.client_id] = held + 1
            self._jobs[job.key] = job
            self._queue.append(job)
            self._cond.notify()

    def take_nowait(self, limit: int) -> list[Job]:
        """Up to ``limit`` waiting jobs, clients in turn, for a remote worker; never waits."""
        with self._cond:
            return _started(self._queue.take(limit))

    def requeue(self, job: Job) -> bool:
        """Put a job whose remote worker died first in line again; False when it was answered."""
        with self._cond:
            if job.answered or job.key not in self._jobs or self._closed:
                return False
            self._queue.push_front(job)
            self._cond.notify()
            return True

    def complete(self, job: Job, message: Message) -> None:
        """The final reply a remote worker sent (dropped when the job was answered already)."""
        self._answer(job, message)

    def progress(self, job: Job, done: float) -> None:
        """A progress event a remote worker sent."""
        if not job.should_stop() and not job.one_reply:
            self._deliver(job, progress_event(job.request.id, done))

    def cancel(self, envelope: Envelope, target: str) -> bool:
        """Stop the request ``target`` of this client and answer it ``cancelled``."""
        with self._cond:
            job = self._jobs.get((envelope, target))
        if job is None:
            return False
        self._end(job, ErrorCode.cancelled, f"request {target!r} was cancelled")
        return True

    def cancel_client(self, client_id: bytes, why: str) -> int:
        """Stop every request of the connection ``client_id`` (it went away, or lost its key);
        returns how many. The model thread is free for the next request at its next step."""
        with self._cond:
            jobs = [job for job in self._jobs.values() if job.client_id == client_id]
        for job in jobs:
            self._end(job, ErrorCode.cancelled, f"request {job.request.id!r} was cancelled: {why}")
        return len(jobs)

    def expire(self, now: float | None = None) -> int:
        """Answer ``timeout`` for every job past its deadline; returns how many."""
        now = time.monotonic() if now is None else now
        with self._cond:
            late = [job for job in self._jobs.values() if job.deadline <= now]
        for job in late:
            waited = now - job.received
            self._end(job, ErrorCode.timeout, f"request {job.request.id!r} did not finish within {waited:.1f} s")
        return len(late)

    def close(self) -> None:
        """Take no new work and answer every queued job ``shutting_down``; running ones go on."""
        with self._cond:
            self._closed = True
            queued = list(self._queue)
            self._cond.notify_all()
        for job in queued:
            self._end(job, ErrorCode.shutting_down, "the engine is shutting down; retry when it is back")

    def stop_running(self) -> None:
        """Ask every running job to stop; each is answered ``shutting_down``."""
        with self._cond:
            running = list(self._jobs.values())
        for job in running:
            self._end(job, ErrorCode.shutting_down, "the engine is shutting down; retry when it is back")

    def join(self, timeout: float) -> bool:
        """Wait for the workers to exit after :meth:`close`; True when all did."""
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    # --- the workers' side -----------------------------------------------------------------

    def _end(self, job: Job, code: ErrorCode, message: str) -> None:
        job.stop(code)
        self._answer(job, error_reply(job.request.id, code, message))

    def _answer(self, job: Job, message: Message) -> None:
        if not job.claim():
            return
        with self._cond:
            if self._jobs.pop(job.key, None) is not None:
                held = self._per_client.get(job.client_id, 1) - 1
                if held > 0:
                    self._per_client[job.client_id] = held
                else:
                    self._per_client.pop(job.client_id, None)
            self._queue.remove(job)
        self._deliver(job, message)

    def _take(self) -> list[Job]:
        """The next jobs to run together, clients in turn; empty when the scheduler is closed."""
        limit = self.max_batch if self._work_many is not None and self._batchable() else 1
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            return _started(self._queue.take(limit, self.max_rows))

    def _worker(self) -> None:
        while True:
            batch = [job for job in self._take() if not job.should_stop()]
            if self._closed and not batch and not self._queue:
                return
            if len(batch) > 1:
                self._run_many(batch)
            else:
                for job in batch:
                    self._run(job)

    def _progress(self, job: Job) -> Callable[[float], None]:
        def progress(done: float) -> None:
            now = time.monotonic()
            if job.one_reply:
                return
            if now - job.last_progress >= PROGRESS_INTERVAL and not job.should_stop():
                job.last_progress = now
                self._deliver(job, progress_event(job.request.id, done))

        return progress

    def _run_many(self, batch: list[Job]) -> None:
        assert self._work_many is not None
        self.batches += 1
        self.batched += len(batch)
        try:
            outcomes = self._work_many(batch, [self._progress(job) for job in batch])
        except Exception as exc:  # a bug in the engine or the model: every job of the batch hears of it
            log.error("a batch of %d requests failed", len(batch), exc_info=True)
            outcomes = [exc] * len(batch)
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Refused):
                self._answer(job, outcome.reply(job))
            elif isinstance(outcome, Exception):
                log.error("request %s (%s) failed: %r", job.request.id, job.request.op, outcome)
                self._answer(job, error_reply(job.request.id, ErrorCode.internal,
                                              f"{type(outcome).__name__}: {outcome}"))
            else:
                self._answer(job, ok_reply(job.request.id, outcome))

    def _run(self, job: Job) -> None:
        try:
            result = self._work(job, self._progress(job))
        except Refused as refused:
            self._answer(job, refused.reply(job))
        except Exception as exc:  # a bug in the engine or the model; the engine keeps serving
            log.error("request %s (%s) failed", job.request.id, job.request.op, exc_info=True)
            self._answer(job, error_reply(job.request.id, ErrorCode.internal, f"{type(exc).__name__}: {exc}"))
        else:
            self._answer(job, ok_reply(job.request.id, result))


def _started(jobs: list[Job]) -> list[Job]:
    now = time.monotonic()
    for job in jobs:
        job.started = now
    return jobs
