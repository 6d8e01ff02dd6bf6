"""A storm on a worker-mode engine (no model of its own, remote workers only): hostile frames
on both sockets, NaN and Infinity in every field that takes a number, and a rogue worker that
answers every job with a forged reply. The engine must not die, and every request that carries
an id must be answered exactly once. (Client keys on the worker socket: test_keyfolders.py.)"""

from __future__ import annotations

import json
import random
import time
from collections import Counter

import zmq

from bridge.serve.server import Server, running_engine
from bridge.studio.broker import decode, encode
from bridge.studio.worker import running_worker
from tests.bridge.helpers import melody
from tests.bridge.timing_composer import TimingComposer

DRUM_CLIP = {"length": 4, "kind": "drums", "notes": [{"pitch": 36, "start": 0, "duration": 0.25}]}
# requests with a non-finite number somewhere; "X" is replaced by NaN, Infinity, -Infinity or 1e999
NON_FINITE = [
    '{"v":1,"id":"{id}","op":"fill","clip":' + json.dumps(DRUM_CLIP) + ',"span":[0,X]}',
    '{"v":1,"id":"{id}","op":"harmonize","clip":{"length":X,"notes":[]}}',
    '{"v":1,"id":"{id}","op":"harmonize","temperature":X,"clip":' + json.dumps(melody(1)) + "}",
    '{"v":1,"id":"{id}","op":"drums","density":X,"context":[{"length":4,"tempo":X,"notes":[]}]}',
    '{"v":1,"id":"{id}","op":"vary","clip":{"length":4,"notes":[{"pitch":60,"start":X,"duration":1}]}}',
    '{"v":1,"id":"{id}","op":"dispatch","command":{"op":"fill","span":[0,X]}}',
    '{"v":1,"id":"{id}","op":"ping","timeout":X}',
    '{"v":1,"id":"{id}","op":"drums","time_signature":[4,0]}',
]
CONSTANTS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]
STORM_MESSAGES = 4000  # a few seconds; set higher for a longer run outside the suite


def _forged(ticket: str, request_id: str, rnd: random.Random) -> list[list[bytes]]:
    """A rogue worker's answer to one job: progress and a RESULT, one forgery or another."""
    good = {"candidates": [{"clips": [melody(1)]}], "model": "rogue", "seed": 1, "elapsed": 0.1}
    reply = {"v": 1, "id": request_id, "ok": True, "result": good}
    body = json.dumps({"ticket": ticket, "reply": reply})
    forgeries = [
        body.replace('"elapsed": 0.1', '"elapsed": NaN'),
        body.replace('"elapsed": 0.1', '"elapsed": 1e999'),
        body.replace('"seed": 1', '"seed": Infinity'),
        body.replace('"pitch": 60', '"pitch": 300'),
        body.replace('"length": 4.0', '"length": -1'),
        json.dumps({"ticket": ticket, "reply": {**reply, "result": {**good, "candidates": good["candidates"] * 9}}}),
        json.dumps({"ticket": ticket, "reply": {"v": 1, "id": request_id, "ok": False,
                                                "error": {"code": "pwned", "message": "x"}}}),
        json.dumps({"ticket": ticket, "reply": {**reply, "id": "someone else"}}),
        json.dumps({"ticket": ticket, "reply": {**reply, "result": "not an object"}}),
        body,  # a well-formed result: passed on
    ]
    progress = rnd.choice(['{"ticket": "%s", "done": NaN}', '{"ticket": "%s", "done": 1e999}',
                           '{"ticket": "%s", "done": 0.5}', '{"ticket": "%s", "done": true}']) % ticket
    return [[b"PROGRESS", progress.encode()], [b"RESULT", rnd.choice(forgeries).encode()]]


def _serve_rogue(rogue: zmq.Socket, rnd: random.Random) -> None:
    while rogue.poll(0):
        try:
            command, body = decode(rogue.recv_multipart())
        except ValueError:
            continue
        if command == b"JOB":
            for frames in _forged(body["ticket"], body["request"]["id"], rnd):
                rogue.send_multipart(frames)
        elif command == b"HEARTBEAT":
            rogue.send_multipart(encode(b"HEARTBEAT"))


def _hostile(rnd: random.Random) -> list[bytes]:
    return [rnd.randbytes(rnd.randrange(0, 48)) for _ in range(rnd.randrange(1, 5))]


def _wait_workers(server: Server, count: int) -> None:
    end = time.monotonic() + 10.0
    while server.broker is not None and server.broker.count < count:
        assert time.monotonic() < end, "the workers did not join"
        time.sleep(0.05)


def test_worker_mode_engine_survives_a_storm() -> None:
    rnd = random.Random(18)
    ctx = zmq.Context.instance()
    with running_engine(composer=TimingComposer(), workers=0, worker_bind="tcp://127.0.0.1:*",
                        queue_size=64, client_share=1.0) as server:
        assert server.broker is not None
        worker, thread = running_worker(server.broker.address, composer=TimingComposer(bar_seconds=0.0),
                                        max_batch=1, capacity=4, name="honest")
        rogue, stranger, client = ctx.socket(zmq.DEALER), ctx.socket(zmq.DEALER), ctx.socket(zmq.DEALER)
        for sock, address in ((rogue, server.broker.address), (stranger, server.broker.address),
                              (client, server.address)):
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(address)
        rogue.send_multipart(encode(b"READY", {"capacity": 4, "name": "rogue"}))
        _wait_workers(server, 2)
        asked: list[str] = []
        finals: Counter[str] = Counter()
        codes: Counter[str] = Counter()

        def read() -> None:
            while client.poll(0):
                message = json.loads(client.recv_multipart()[-1])
                if "ok" in message and message.get("id") is not None:
                    finals[message["id"]] += 1
                    codes["ok" if message["ok"] else message["error"]["code"]] += 1

        try:
            for index in range(STORM_MESSAGES):
                roll = rnd.random()
                if roll < 0.45:
                    client.send_multipart(_hostile(rnd))
                elif roll < 0.55:
                    stranger.send_multipart(_hostile(rnd) + [b"{}"])
                elif roll < 0.8:
                    request_id = f"n{index}"
                    frame = rnd.choice(NON_FINITE).replace("{id}", request_id).replace("X", rnd.choice(CONSTANTS))
                    client.send_multipart([b"", frame.encode()])
                    asked.append(request_id)
                else:
                    request_id = f"m{index}"
                    request = {"v": 1, "id": request_id, "op": "harmonize", "clip": melody(1), "timeout": 10.0}
                    client.send_multipart([b"", json.dumps(request).encode()])
                    asked.append(request_id)
                if index % 5 == 0:
                    _serve_rogue(rogue, rnd)
                    read()
            end = time.monotonic() + 20.0
            while set(finals) < set(asked) and time.monotonic() < end:
                _serve_rogue(rogue, rnd)
                read()
                time.sleep(0.005)
            time.sleep(0.3)
            read()
            client.send_multipart([b"", b'{"v":1,"id":"alive","op":"ping"}'])
            end = time.monotonic() + 5.0
            while "alive" not in finals and time.monotonic() < end:
                read()
                time.sleep(0.01)
        finally:
            for sock in (rogue, stranger, client):
                sock.close()
            worker.stop()
            thread.join(5)
        assert finals["alive"] == 1, "the engine stopped answering"
        missing = [request_id for request_id in asked if request_id not in finals]
        assert not missing, f"{len(missing)} requests never answered, e.g. {missing[:5]}"
        assert set(finals.values()) == {1}, [key for key, count in finals.items() if count > 1][:5]
        assert codes["invalid_request"] >= 800 and codes["ok"] >= 20 and codes["internal"] >= 10, codes
        assert server.broker.malformed >= 10
