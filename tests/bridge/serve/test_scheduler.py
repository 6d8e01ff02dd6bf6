"""Scheduling against real work (the timing composer): progress, cancel, deadlines, overload,
duplicate ids and shutdown with requests in flight — each answered exactly once."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.client import Client, EngineError
from tests.bridge.helpers import melody, outcome
from tests.bridge.timing_composer import TimingComposer


def test_result_progress_and_seed(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05))
    seen: list[float] = []
    with Client(server.address) as client:
        result = client.request("harmonize", clip=melody(8), candidates=2, seed=42, on_progress=seen.append)
    assert result["seed"] == 42 and result["model"] == "timing-composer"
    first, second = (c["clips"][0]["notes"][0]["pitch"] for c in result["candidates"])
    assert (first, second) == (67, 68)
    assert seen and seen == sorted(seen) and all(0.0 < d <= 1.0 for d in seen)


def test_cancel_answers_the_request_once(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.2))
    with Client(server.address) as client:
        request_id = client.send("vary", clip=melody(32))
        time.sleep(0.3)
        assert client.cancel(request_id) == {"cancelled": request_id}
        assert outcome(client, request_id) == "cancelled"
        with pytest.raises(EngineError) as caught:
            client.cancel(request_id)
        assert caught.value.code == "not_found"
        assert client.info()["queue_depth"] == 0


def test_a_client_cannot_cancel_another_clients_request(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05))
    with Client(server.address) as owner, Client(server.address) as other:
        request_id = owner.send("vary", clip=melody(4))
        with pytest.raises(EngineError) as caught:
            other.cancel(request_id)
        assert caught.value.code == "not_found"
        assert outcome(owner, request_id) == "ok"


def test_deadline_running_and_queued(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.2))
    with Client(server.address) as client:
        started = time.monotonic()
        running = client.send("vary", clip=melody(32), timeout=0.5)
        queued = client.send("vary", clip=melody(2), timeout=0.3)
        assert outcome(client, queued) == "timeout"
        assert outcome(client, running) == "timeout"
        assert time.monotonic() - started < 2.0
        assert client.request("vary", clip=melody(1), timeout=5.0)["candidates"]


def test_overload_when_the_queue_is_full(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.1), queue_size=3, client_share=1.0)
    with Client(server.address) as client:
        ids = [client.send("vary", clip=melody(4)) for _ in range(5)]
        codes = [outcome(client, request_id) for request_id in ids]
    assert codes == ["ok", "ok", "ok", "overloaded", "overloaded"]


def test_one_client_holds_only_its_share_of_the_queue(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.1), queue_size=8)  # a share of 4
    with Client(server.address) as greedy, Client(server.address) as other:
        ids = [greedy.send("vary", clip=melody(4)) for _ in range(6)]
        mine = other.send("vary", clip=melody(1))
        assert outcome(other, mine) == "ok"
        codes = [outcome(greedy, request_id) for request_id in ids]
    assert codes == ["ok"] * 4 + ["overloaded"] * 2


def test_duplicate_id_in_flight(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05))
    with Client(server.address) as client:
        client.send("vary", request_id="same", clip=melody(4))
        client.send("vary", request_id="same", clip=melody(4))
        codes = sorted([outcome(client, "same"), outcome(client, "same")])
    assert codes == ["duplicate_id", "ok"]


def test_shutdown_answers_everything_in_flight(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.2), shutdown_grace=0.5)
    with Client(server.address, timeout=10.0) as client:
        ids = [client.send("vary", clip=melody(16)) for _ in range(4)]
        time.sleep(0.2)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        codes = [outcome(client, request_id) for request_id in ids]
        stopper.join()
    assert codes == ["shutting_down"] * 4


def test_shutdown_lets_short_work_finish(start_engine) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.05), shutdown_grace=5.0)
    with Client(server.address, timeout=10.0) as client:
        request_id = client.send("vary", clip=melody(4))
        time.sleep(0.05)
        server.stop()
        assert outcome(client, request_id) == "ok"
        late = client.send("vary", clip=melody(1))
        assert outcome(client, late, 2.0) in ("shutting_down", "unreachable")
