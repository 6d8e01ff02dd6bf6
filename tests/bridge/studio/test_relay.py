"""The local relay: requests, progress and cancel pass through unchanged; upstream down gives
`unavailable` at once; the relay reconnects by itself; a server dying mid-request costs an
`unavailable` reply, never a hang."""

from __future__ import annotations

import json
import socket
import time

import zmq

from bridge.client import Client, EngineError
from bridge.serve.server import running_engine
from bridge.studio.relay import CONNECT_WAIT, running_relay
from tests.bridge.helpers import melody, outcome
from tests.bridge.studio.proc import spawn
from tests.bridge.timing_composer import TimingComposer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_relay_end_to_end() -> None:
    with running_engine(composer=TimingComposer(bar_seconds=0.05)) as server, \
            running_relay(server.address) as relay, Client(relay.address) as client:
        seen: list[float] = []
        result = client.request("harmonize", clip=melody(4), candidates=2, seed=3, on_progress=seen.append)
        assert result["seed"] == 3 and len(result["candidates"]) == 2 and seen
        slow = client.send("harmonize", clip=melody(40), timeout=30.0)
        time.sleep(0.2)
        assert client.cancel(slow)["cancelled"] == slow
        assert outcome(client, slow) == "cancelled"
        assert client.info()["served"] == 1  # the harmonize; pings and cancels are not served work
        # a DEALER without the empty delimiter gets replies without one, as from the engine
        raw = zmq.Context.instance().socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.connect(relay.address)
        raw.send(json.dumps({"v": 1, "id": "bare", "op": "ping"}).encode())
        assert raw.poll(5000)
        frames = raw.recv_multipart()
        assert len(frames) == 1 and json.loads(frames[0])["id"] == "bare"
        raw.close()


def test_upstream_down_then_up_then_killed() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with running_relay(address) as relay, Client(relay.address, timeout=CONNECT_WAIT + 3) as client:
        started = time.monotonic()
        try:
            client.ping()
            raise AssertionError("answered with no upstream")
        except EngineError as exc:
            assert exc.code == "unavailable" and "cannot be reached" in exc.message
        assert time.monotonic() - started < CONNECT_WAIT + 1.0
        engine = spawn("engine", address, bar_seconds=0.2)
        try:
            end = time.monotonic() + 15
            while outcome(client, client.send("ping"), CONNECT_WAIT + 3) != "ok":
                assert time.monotonic() < end, "the relay never reconnected"
            slow = client.send("harmonize", clip=melody(40), timeout=60.0)
            time.sleep(0.5)
            engine.kill()  # SIGKILL mid-request: no goodbye
            engine.wait(10)
            started = time.monotonic()
            assert outcome(client, slow, 15.0) == "unavailable"
            assert time.monotonic() - started < 8.0
        finally:
            engine.kill()
        engine = spawn("engine", address)  # and back again, with no restart of the relay
        try:
            end = time.monotonic() + 15
            while outcome(client, client.send("ping"), CONNECT_WAIT + 3) != "ok":
                assert time.monotonic() < end, "the relay never reconnected"
        finally:
            engine.kill()
            engine.wait(10)
