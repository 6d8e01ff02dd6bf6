"""Heartbeats that survive a busy engine: an engine whose loop was held up does not take its
workers for dead, and a worker whose engine is connected but silent (its loop busy) does not
drop its jobs and reconnect; a dead connection is still noticed, by libzmq's own heartbeats."""

from __future__ import annotations

import time

import zmq

from bridge.serve.scheduler import Scheduler
from bridge.studio.broker import Broker, encode
from bridge.studio.worker import running_worker
from tests.bridge.timing_composer import TimingComposer


def test_a_late_loop_round_does_not_lose_the_workers() -> None:
    scheduler = Scheduler(lambda job, progress: None, lambda job, message: None, workers=0)  # type: ignore[arg-type, return-value]
    broker = Broker(scheduler, "tcp://127.0.0.1:*", zmq.Context.instance())
    broker.open()
    worker = zmq.Context.instance().socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    try:
        assert broker.address is not None and broker.socket is not None
        worker.connect(broker.address)
        worker.send_multipart(encode(b"READY", {"capacity": 1}))
        assert broker.socket.poll(2000)
        broker.receive()
        assert broker.count == 1
        broker.housekeeping()
        broker.housekeeping(time.monotonic() + 8.0)  # the loop was stuck for 8 s: the worker was not silent
        assert broker.count == 1 and broker.lost == 0
    finally:
        worker.close()
        broker.close()


def test_a_busy_engine_is_not_taken_for_dead() -> None:
    busy = zmq.Context.instance().socket(zmq.ROUTER)  # connected, but its loop never reads
    busy.setsockopt(zmq.LINGER, 0)
    busy.bind("tcp://127.0.0.1:*")
    worker, thread = running_worker(busy.getsockopt_string(zmq.LAST_ENDPOINT), composer=TimingComposer())
    try:
        time.sleep(4.0)  # longer than WORKER_HEARTBEAT x WORKER_LIVENESS
        assert worker.reconnects == 0
        busy.close()  # now the engine is really gone: the connection drops
        end = time.monotonic() + 10.0
        while worker.reconnects == 0:
            assert time.monotonic() < end, "a dead engine went unnoticed"
            time.sleep(0.1)
    finally:
        worker.kill()
        thread.join(5)
