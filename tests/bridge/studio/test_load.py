"""Load and fairness: 64 concurrent clients all served; a client that stops reading, or one
that floods the queue, cannot hold the others up; the fair queue's turns and row budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bridge.client import Client
from bridge.serve.fairqueue import FairQueue
from tests.bridge.helpers import melody, outcome
from tests.bridge.timing_composer import TimingComposer


def test_64_concurrent_clients(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.002), queue_size=64, workers=2)
    clients = [Client(server.address, timeout=20.0) for _ in range(64)]
    try:
        sent = [(client, client.send("harmonize", clip=melody(2), seed=i, timeout=20.0))
                for i, client in enumerate(clients)]
        assert [outcome(client, rid, 20.0) for client, rid in sent] == ["ok"] * 64
    finally:
        for client in clients:
            client.close()
    assert server.served >= 64 and server.scheduler.depth == 0


def test_a_flooding_client_cannot_starve_another(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05), queue_size=32, workers=1)
    with Client(server.address, timeout=30.0) as greedy, Client(server.address) as other:
        flood = [greedy.send("harmonize", clip=melody(4), candidates=2, timeout=30.0) for _ in range(10)]
        time.sleep(0.1)
        started = time.monotonic()
        assert outcome(other, other.send("harmonize", clip=melody(1), timeout=30.0)) == "ok"
        waited = time.monotonic() - started
        assert waited < 1.5, f"waited {waited:.2f} s behind a flood of 10 x 0.4 s"
        assert [outcome(greedy, rid, 30.0) for rid in flood] == ["ok"] * 10


def test_a_client_that_stops_reading_cannot_block_others(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.0), queue_size=64, workers=1)
    with Client(server.address) as deaf, Client(server.address) as other:
        big = melody(64)
        for _ in range(60):  # replies it never reads pile up in its pipe
            deaf.send("harmonize", clip=big, candidates=4, timeout=30.0)
        started = time.monotonic()
        for _ in range(5):
            assert other.request("harmonize", clip=melody(1), timeout=10.0)
            assert other.ping() < 1.0
        assert time.monotonic() - started < 10.0


@dataclass(eq=False)
class _Job:
    envelope: tuple[bytes, ...]
    rows: int = 1


def test_fair_queue_turns_and_row_budget() -> None:
    queue = FairQueue()
    a = [_Job((b"a",), 8) for _ in range(3)]
    b = [_Job((b"b",), 1) for _ in range(2)]
    c = _Job((b"c",), 2)
    for job in (*a, *b, c):
        queue.append(job)
    assert queue.take(1) == [a[0]]  # oldest client first
    assert queue.take(8, max_rows=4) == [b[0], c, b[1]]  # a's 8 rows do not fit; a keeps its turn
    assert queue.take(8, max_rows=10) == [a[1]]  # a is first again; its second job does not fit
    retry = _Job((b"z",))
    queue.push_front(retry)
    assert queue.take(1) == [retry] and len(queue) == 1
    assert queue.remove(a[2]) and not queue and not queue.remove(a[2])
