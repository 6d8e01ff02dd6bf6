"""Workers by descriptor (bridge/studio/broker.py): a worker whose descriptor a new worker took
is gone, and the monitor's late report of that close never takes the new worker with it."""

from __future__ import annotations

import zmq

from bridge.serve.scheduler import Scheduler
from bridge.studio import broker as broker_module
from bridge.studio.broker import READY, Broker, encode


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
