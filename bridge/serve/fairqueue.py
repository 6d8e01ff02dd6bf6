"""The scheduler's waiting line: one queue per client, taken in turns, so a producer who sends
many requests (or 8-candidate ones) cannot starve another producer.

A client is the reply envelope of its requests (a DAW behind a relay is told apart from the
other DAWs behind the same relay). :meth:`FairQueue.take` gives the next batch: one job per
client per turn, oldest first, until the batch holds ``max_jobs`` jobs or ``max_rows``
candidate rows. A client whose next job does not fit keeps its turn for the next batch.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Queued(Protocol):
    envelope: tuple[bytes, ...]

    @property
    def rows(self) -> int: ...


Q = TypeVar("Q", bound=Queued)


class FairQueue(Generic[Q]):
    """Jobs waiting to run, per client, in turns. Not thread-safe: the scheduler holds its lock."""

    def __init__(self) -> None:
        self._clients: OrderedDict[tuple[bytes, ...], deque[Q]] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Q]:
        for jobs in self._clients.values():
            yield from jobs

    def append(self, job: Q) -> None:
        self._clients.setdefault(job.envelope, deque()).append(job)
        self._count += 1

    def push_front(self, job: Q) -> None:
        """Put ``job`` first in line (a retry after its worker died): its client's turn is next."""
        jobs = self._clients.setdefault(job.envelope, deque())
        jobs.appendleft(job)
        self._clients.move_to_end(job.envelope, last=False)
        self._count += 1

    def remove(self, job: Q) -> bool:
        """Take ``job`` out of the line; False when it was not waiting."""
        jobs = self._clients.get(job.envelope)
        if jobs is None:
            return False
        try:
            jobs.remove(job)
        except ValueError:
            return False
        self._count -= 1
        if not jobs:
            del self._clients[job.envelope]
        return True

    def take(self, max_jobs: int = 1, max_rows: int = 1 << 30) -> list[Q]:
        """The next batch: clients in turn, one job each per round. The first job is always
        taken, whatever its rows; later ones only while the rows fit."""
        out: list[Q] = []
        rows = 0
        progress = True
        while progress and len(out) < max_jobs:
            progress = False
            for key in list(self._clients):
                if len(out) >= max_jobs:
                    break
                jobs = self._clients[key]
                if out and rows + jobs[0].rows > max_rows:
                    continue  # keeps its turn
                job = jobs.popleft()
                out.append(job)
                rows += job.rows
                self._count -= 1
                progress = True
                if jobs:
                    self._clients.move_to_end(key)
                else:
                    del self._clients[key]
        return out
