"""Workers on other machines: they join and leave while the engine serves; one killed under load
costs its requests at most one retry or an `unavailable` reply, and every request gets exactly
one final reply; malformed traffic on the worker socket is dropped and the engine keeps serving."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import zmq

from bridge.client import Client
from bridge.serve.server import Server, running_engine
from bridge.studio.broker import decode, encode
from bridge.studio.worker import running_worker
from tests.bridge.helpers import melody, outcome, read_finals
from tests.bridge.studio.proc import spawn
from tests.bridge.timing_composer import TimingComposer


def _broker_engine(**options):
    return running_engine(composer=TimingComposer(), workers=0, worker_bind="tcp://127.0.0.1:*", **options)


def _wait_workers(server: Server, count: int, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while server.broker is not None and server.broker.count != count:
        assert time.monotonic() < end, f"{server.broker.count} workers, expected {count}"
        time.sleep(0.05)


def _finals(client: Client, ids: list[str], timeout: float) -> Counter[tuple[str, str]]:
    """Final replies (request id, outcome) read for ``timeout`` seconds, or for half of it once
    every request has its reply."""
    finals: Counter[tuple[str, str]] = Counter()
    end = time.monotonic() + timeout
    read_finals(client, finals, end - timeout / 2)
    while time.monotonic() < end and len({request_id for request_id, _ in finals}) < len(ids):
        read_finals(client, finals, min(end, time.monotonic() + 0.1))
    return finals


def test_workers_join_and_leave_while_serving() -> None:
    with _broker_engine() as server, Client(server.address) as client:
        assert outcome(client, client.send("harmonize", clip=melody(1))) == "unavailable"
        assert client.info()["workers"] == 0
        worker, thread = running_worker(server.broker.address, composer=TimingComposer(), name="one")
        _wait_workers(server, 1)
        assert client.info()["workers"] == 1
        assert client.request("harmonize", clip=melody(2), seed=5)["seed"] == 5
        worker.stop()  # orderly: says GONE
        thread.join(5)
        _wait_workers(server, 0, 2.0)
        assert outcome(client, client.send("harmonize", clip=melody(1))) == "unavailable"


def test_one_of_two_workers_killed_under_load() -> None:
    with _broker_engine(queue_size=64) as server:
        local, thread = running_worker(server.broker.address, composer=TimingComposer(bar_seconds=0.02),
                                       max_batch=1, capacity=2, name="steady")
        doomed = spawn("worker", server.broker.address, bar_seconds=0.02)
        try:
            _wait_workers(server, 2)
            with Client(server.address) as client:
                ids = [client.send("harmonize", clip=melody(8), seed=i, timeout=30.0) for i in range(24)]
                time.sleep(0.6)
                doomed.kill()
                finals = _finals(client, ids, 12.0)
        finally:
            doomed.kill()
            doomed.wait(10)
            local.stop()
            thread.join(5)
        per_id = Counter(request_id for request_id, _ in finals.elements())
        assert set(per_id) == set(ids) and set(per_id.values()) == {1}, finals
        codes = Counter(code for _, code in finals.elements())
        assert set(codes) <= {"ok", "unavailable"} and codes["ok"] >= 20, codes
        assert server.broker.lost == 1 and server.broker.retried >= 1


def test_malformed_traffic_on_the_worker_socket() -> None:
    with _broker_engine() as server:
        ctx = zmq.Context.instance()
        rogue = ctx.socket(zmq.DEALER)
        rogue.setsockopt(zmq.LINGER, 0)
        rogue.connect(server.broker.address)
        for frames in ([b"READY"], [b"READY", b"{not json"], [b"READY", b"[1,2]"], [b"\xff" * 3, b"{}", b"x"],
                       [b"READY", b'{"capacity": 0}'], [b"READY", b'{"capacity": "8"}'],
                       [b"RESULT", b'{"ticket": "1", "reply": {}}'], [b"NONSENSE", b"{}"], [b""]):
            rogue.send_multipart(frames)
        # a registered worker that answers a real job with garbage: the client hears `internal`
        rogue.send_multipart(encode(b"READY", {"capacity": 1, "name": "rogue"}))
        _wait_workers(server, 1)
        with Client(server.address) as client:
            request = client.send("harmonize", clip=melody(1))
            assert rogue.poll(5000)
            command, body = decode(rogue.recv_multipart())
            while command != b"JOB":
                command, body = decode(rogue.recv_multipart())
            rogue.send_multipart(encode(b"PROGRESS", {"ticket": body["ticket"], "done": "lots"}))
            rogue.send_multipart(encode(b"RESULT", {"ticket": body["ticket"], "reply": {"id": "someone else"}}))
            assert outcome(client, request) == "internal"
            assert server.broker.malformed >= 8
            rogue.send_multipart(encode(b"GONE"))
            rogue.close()
            _wait_workers(server, 0)  # the rogue's GONE is read before the real worker joins
            worker, thread = running_worker(server.broker.address, composer=TimingComposer())
            _wait_workers(server, 1)
            assert client.request("harmonize", clip=melody(2), seed=1)["seed"] == 1
            worker.stop()
            thread.join(5)


@pytest.mark.parametrize("stop", ["cancel", "deadline"])
def test_a_stopped_request_is_withdrawn_from_its_worker(stop: str) -> None:
    with _broker_engine() as server:
        worker, thread = running_worker(server.broker.address, composer=TimingComposer(bar_seconds=0.1),
                                        max_batch=1, capacity=1)
        _wait_workers(server, 1)
        with Client(server.address) as client:
            slow = client.send("harmonize", clip=melody(40), timeout=1.0 if stop == "deadline" else 30.0)
            time.sleep(0.3)
            if stop == "cancel":
                client.cancel(slow)
            assert outcome(client, slow) == ("cancelled" if stop == "cancel" else "timeout")
            assert client.request("harmonize", clip=melody(1), timeout=5.0)  # the slot is free again
        worker.stop()
        thread.join(5)
