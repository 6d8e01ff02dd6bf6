"""Workers by descriptor (bridge/studio/broker.py): a worker whose descriptor a new worker took
is gone, and the monitor's late report of that close never takes the new worker with it; what
a worker sent before its close is read before the close buries it."""

from __future__ import annotations

import time

import zmq

from bridge.serve.scheduler import Scheduler
from bridge.studio import broker as broker_module
from bridge.studio.broker import GONE, READY, Broker, encode


def test_a_late_close_report_spares_the_worker_that_took_the_descriptor(monkeypatch) -> None:
    scheduler = Scheduler(lambda jobs: None, lambda job, message: None, workers=0)
    broker = Broker(scheduler, "tcp://127.0.0.1:*", zmq.Context.instance())
    broker.open()
    reports: list[list[int]] = []
    monkeypatch.setattr(broker_module, "closed_connections", lambda monitor: reports.pop() if reports else [])
    try:
        broker.on_frames([b"old", *encode(READY, {"capacity": 1})], fd=7)
        broker.on_frames([b"new", *encode(READY, {"capacity": 1})], fd=7)  # before the close report
        assert set(broker.workers) == {b"new"} and broker.lost == 1
        reports.append([7])  # the monitor reports the old worker's close, late
        broker.housekeeping()
        assert set(broker.workers) == {b"new"} and broker.lost == 1
        reports.append([7])  # the new worker's own close
        broker.housekeeping()
        assert broker.workers == {} and broker.lost == 2
    finally:
        broker.close()
        scheduler.close()


def test_what_a_worker_said_before_it_closed_is_read_before_it_is_buried() -> None:
    """A worker that stops says GONE and closes at once. The close can reach the broker's
    monitor in a round whose poll came before the GONE did; the broker reads the GONE first, so
    the worker left (not lost), as it would a last RESULT."""
    scheduler = Scheduler(lambda jobs: None, lambda job, message: None, workers=0)
    context = zmq.Context.instance()
    broker = Broker(scheduler, "tcp://127.0.0.1:*", context)
    broker.open()
    worker = context.socket(zmq.DEALER)
    try:
        worker.connect(broker.address)
        worker.send_multipart(encode(READY, {"capacity": 1, "name": "leaving"}))
        deadline = time.monotonic() + 5
        while not broker.workers:
            assert time.monotonic() < deadline, "the worker never joined"
            broker.receive()
            time.sleep(0.01)
        worker.send_multipart(encode(GONE))
        worker.close(linger=500)
        time.sleep(0.3)  # the GONE and the close have both arrived; nothing has read them
        broker.housekeeping()
        assert broker.workers == {} and broker.lost == 0
    finally:
        broker.close()
        scheduler.close()
