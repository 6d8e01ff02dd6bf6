"""The DAW-side client against the real engine (bridge.serve.server), over both transports."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import zmq

from bridge.serve.server import running_engine
from daw_scripts.common.clips import candidates_from_result, clip_label, make_clip, make_note
from daw_scripts.common.engine_client import EngineClient, PendingRequest
from daw_scripts.common.errors import EngineError, EngineUnreachable
from daw_scripts.common.settings import defaults, request_fields
from tests.bridge.timing_composer import TimingComposer

TRANSPORTS = ["zmtp", "pyzmq"]


def melody(bars: int = 2):
    notes = [make_note(60 + (i % 8), float(i), 1.0, 90) for i in range(bars * 4)]
    return make_clip(notes, bars * 4.0, tempo=120.0, name="Lead")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ping_and_info(engine_address, transport):
    with EngineClient(engine_address, transport=transport) as client:
        assert client.request("ping", timeout=5.0)["pong"] is True
        info = client.request("info", timeout=5.0)
    assert info["protocol"] == 1
    assert {"harmonize", "drums", "fill", "vary", "continue", "restyle"} <= set(info["ops"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_harmonize_from_a_timer(start_engine, transport):
    server = start_engine(composer=TimingComposer(bar_seconds=0.02))
    settings = defaults()
    fields = dict(request_fields(settings, "harmonize"), clip=melody(), seed=7)
    with EngineClient(str(server.address), transport=transport) as client:
        pending = PendingRequest.start(client, "harmonize", fields, timeout=10.0)
        ticks = 0
        while pending.poll() is None:  # what REAPER's defer / Live's tick does
            ticks += 1
            time.sleep(0.005)
    assert pending.error is None, pending.error
    candidates = candidates_from_result(pending.result)
    assert len(candidates) == settings["candidates"]
    labels = [clip_label("harmonize", c[0], i, len(candidates)) for i, c in enumerate(candidates)]
    assert labels[0].startswith("Harmony 1/3")
    assert ticks > 0 and pending.progress == 1.0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_engine_errors_carry_its_words(start_engine, tmp_path, transport):
    server = start_engine(weights=tmp_path / "missing")
    with EngineClient(str(server.address), transport=transport) as client:
        with pytest.raises(EngineError) as caught:
            client.request("harmonize", timeout=10.0, clip=melody())
    assert caught.value.code == "model_unavailable"
    assert "dawbridge" in caught.value.message


@contextmanager
def engine_on(address: str) -> Iterator[object]:
    """An engine bound to ``address``, retrying while the previous one's port is released."""
    deadline = time.monotonic() + 5.0
    while True:
        try:
            engine = running_engine(address, composer=TimingComposer(bar_seconds=0.0))
            server = engine.__enter__()
            break
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield server
    finally:
        engine.__exit__(None, None, None)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_real_engine_restart(transport):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    client = EngineClient(address, transport=transport)
    try:
        with running_engine(address, composer=TimingComposer(bar_seconds=0.3)):
            pending = PendingRequest.start(client, "vary", {"clip": melody(4)}, timeout=20.0)
            time.sleep(0.2)
            assert pending.poll() is None
        start = time.monotonic()  # the engine stopped (answering what it could) and is gone
        while pending.poll() is None:
            assert time.monotonic() - start < 5.0, "the pending request hangs"
            time.sleep(0.01)
        assert pending.done  # finished during the engine's graceful stop, or failed: never hangs
        with engine_on(address):
            for _attempt in range(10):
                try:
                    assert client.request("ping", timeout=5.0)["pong"] is True
                    break
                except EngineUnreachable:
                    time.sleep(0.1)
            else:
                pytest.fail("the client did not reconnect to the restarted engine")
    finally:
        client.close()
