"""Small builders shared by the engine tests: clips as the wire carries them, and what a
client's socket received."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from bridge.client import Client, EngineError, EngineUnreachable


def melody(bars: int = 8, beats_per_bar: int = 4, base: int = 60) -> dict[str, Any]:
    """A clip dict: one quarter note per beat, a rising scale pattern."""
    steps = (0, 2, 4, 5, 7, 9, 11, 12)
    notes = [{"pitch": base + steps[i % len(steps)], "start": float(i), "duration": 1.0, "velocity": 90}
             for i in range(bars * beats_per_bar)]
    return {"notes": notes, "length": float(bars * beats_per_bar),
            "time_signature": [beats_per_bar, 4], "tempo": 120.0, "kind": "melody"}


def outcome(client: Client, request_id: str, timeout: float = 10.0) -> str:
    """'ok', the error code of the request's final reply, or 'unreachable'."""
    try:
        client.wait(request_id, timeout)
    except EngineError as exc:
        return exc.code
    except EngineUnreachable:
        return "unreachable"
    return "ok"


def read_finals(client: Client, finals: Counter[tuple[str, str]], until: float) -> None:
    """Read what ``client``'s socket receives until ``until`` (``time.monotonic``), counting
    each final reply as (request id, "ok" or its error code); progress events are skipped."""
    sock = client._socket
    while (left := until - time.monotonic()) > 0:
        if sock.poll(max(1, round(left * 1000))):
            message = json.loads(sock.recv_multipart()[-1])
            if "ok" in message:
                finals[(str(message.get("id")), message.get("error", {}).get("code", "ok"))] += 1
