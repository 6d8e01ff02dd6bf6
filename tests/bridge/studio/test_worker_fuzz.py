"""Anything a worker sends: rogue workers join with odd capacities, answer jobs with errors,
malformed or foreign results (some twice), send progress out of range and junk frames, and
leave by GONE, by a silent close or by a last result and a close at once, beside a real
worker; clients keep sending and cancelling. Every request still gets exactly one final
reply, the engine logs no error of its own and keeps serving."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import Any

import pytest
import zmq

from bridge.client import Client
from bridge.serve.server import running_engine
from bridge.studio.broker import GONE, HEARTBEAT, PROGRESS, READY, RESULT, decode, encode
from bridge.studio.worker import running_worker
from tests.bridge.helpers import melody, read_finals
from tests.bridge.timing_composer import TimingComposer

FINAL_CODES = {"ok", "internal", "unavailable", "cancelled"}


def _replies(request_id: str) -> list[Any]:
    """What a rogue answers a job with: error replies, results that fail the broker's checks."""
    one_note = {"notes": [{"pitch": 60, "start": 0, "duration": 1, "velocity": 90}], "length": 1,
                "time_signature": [4, 4], "tempo": 120, "kind": "melody"}
    return [
        {"v": 1, "id": request_id, "ok": False, "error": {"code": "internal", "message": "rogue"}},
        {"v": 1, "id": request_id, "ok": False, "error": {"code": "no such code"}},
        {"v": 1, "id": "someone else", "ok": True, "result": {}},
        {"v": 1, "id": request_id, "ok": True, "result": {"candidates": [], "model": "x", "seed": 1, "elapsed": 0}},
        {"v": 1, "id": request_id, "ok": True,
         "result": {"candidates": [{"clips": [one_note]}], "model": "x", "seed": 1, "elapsed": 0}},
        "garbage",
        None,
    ]


def _rogue(address: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    context = zmq.Context.instance()
    while not stop.is_set():
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(address)
        sock.send_multipart(encode(READY, {"capacity": rng.choice([1, 2, 4, 0, 99, "x"]), "name": "rogue"}))
        jobs: list[tuple[str, str]] = []  # (ticket, request id)
        end = time.monotonic() + rng.uniform(0.2, 2.0)
        while time.monotonic() < end and not stop.is_set():
            if sock.poll(30):
                try:
                    command, body = decode(sock.recv_multipart())
                except ValueError:
                    continue
                if command == b"JOB":
                    jobs.append((body["ticket"], body["request"]["id"]))
            act = rng.random()
            if act < 0.1:
                sock.send_multipart(encode(HEARTBEAT))
            elif act < 0.15 and jobs:
                ticket, _ = rng.choice(jobs)
                sock.send_multipart(encode(PROGRESS, {"ticket": ticket, "done": rng.choice([0.5, -1, 2, "x", None])}))
            elif act < 0.25 and jobs:
                ticket, request_id = jobs.pop(rng.randrange(len(jobs)))
                frames = encode(RESULT, {"ticket": ticket, "reply": rng.choice(_replies(request_id))})
                for _ in range(rng.choice([1, 1, 2])):
                    sock.send_multipart(frames)
            elif act < 0.28:
                sock.send_multipart(rng.choice([[b"JUNK", b"{}"], [RESULT, b"[1]"], [b"\x00" * 5], [b"", b"", b""],
                                                [RESULT, b'{"ticket": 5, "reply": {}}']]))
        ending = rng.random()
        if ending < 0.4:
            sock.send_multipart(encode(GONE))
            sock.close(linger=200)
        elif ending < 0.7 or not jobs:
            sock.close()
        else:  # a last result, then a close at once
            ticket, request_id = jobs.pop()
            sock.send_multipart(encode(RESULT, {"ticket": ticket, "reply": _replies(request_id)[0]}))
            sock.close(linger=200)


@pytest.mark.parametrize("seed", [1, 2])
def test_rogue_workers_beside_a_real_one(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(seed)
    caplog.set_level(logging.ERROR)
    with running_engine(composer=TimingComposer(), workers=0, worker_bind="tcp://127.0.0.1:*",
                        queue_size=256) as server:
        assert server.broker is not None and server.broker.address is not None
        stop = threading.Event()
        real, real_thread = running_worker(server.broker.address, composer=TimingComposer(bar_seconds=0.01),
                                           max_batch=2, capacity=2, name="real")
        rogues = [threading.Thread(target=_rogue, args=(server.broker.address, stop, seed * 10 + k), daemon=True)
                  for k in range(2)]
        for rogue in rogues:
            rogue.start()
        sent: list[str] = []
        finals: Counter[tuple[str, str]] = Counter()
        try:
            with Client(server.address) as client:
                end = time.monotonic() + 5.0
                while time.monotonic() < end:
                    for _ in range(rng.randint(1, 3)):
                        # a deadline past the test's end: a request the engine forgot would go unanswered
                        sent.append(client.send("harmonize", clip=melody(rng.choice([1, 2])), seed=rng.randrange(99),
                                                timeout=60.0))
                    if rng.random() < 0.1:
                        client.send("cancel", target=rng.choice(sent))
                    read_finals(client, finals, time.monotonic() + rng.uniform(0.05, 0.3))
                stop.set()
                for rogue in rogues:
                    rogue.join(5)
                deadline = time.monotonic() + 12.0
                while time.monotonic() < deadline and not set(sent) <= {i for i, _ in finals}:
                    read_finals(client, finals, time.monotonic() + 0.2)
                assert client.request("ping", timeout=5.0)["pong"] is True
        finally:
            stop.set()
            real.stop()
            real_thread.join(5)
    ours = Counter({key: n for key, n in finals.items() if key[0] in set(sent)})  # not the cancels' own
    per_request = Counter(request_id for request_id, _ in ours.elements())
    assert set(per_request) == set(sent) and set(per_request.values()) == {1}
    codes = Counter(code for _, code in ours.elements())
    assert set(codes) <= FINAL_CODES and codes["ok"] > len(sent) // 2, codes
    assert server.broker.malformed > 0  # the rogues were heard
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bridge")]
