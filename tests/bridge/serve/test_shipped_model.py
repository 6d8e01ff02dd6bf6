"""The engine serving the shipped model: real harmonizations come back, and music the model
cannot do as asked is refused as invalid_request naming the field, while the engine keeps
serving."""

from __future__ import annotations

import pytest

from bridge.client import Client, EngineError
from models.interface import DEFAULT_WEIGHTS
from tests.bridge.helpers import melody

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.with_suffix(".safetensors").exists(),
                                reason="no shipped weights in models/weights/")


def test_harmonize_returns_three_voices_inside_the_clip(engine_address: str) -> None:
    with Client(engine_address, timeout=60) as client:
        result = client.request("harmonize", clip=melody(bars=4), style="chorale", seed=5, timeout=60)
    clips = result["candidates"][0]["clips"]
    assert [c["name"].split()[0] for c in clips] == ["Bass", "Tenor", "Alto"]
    for clip in clips:
        assert clip["length"] == 16.0 and clip["notes"]
        assert all(0 <= n["start"] < 16.0 and n["start"] + n["duration"] <= 16.0 + 1e-6 for n in clip["notes"])


def test_a_metre_the_model_cannot_hold_is_invalid_request(engine_address: str) -> None:
    clip = melody(bars=2, beats_per_bar=9)
    with Client(engine_address, timeout=60) as client:
        harmony = client.request("harmonize", clip=clip, timeout=60)  # planned and voiced in any metre
        assert harmony["candidates"][0]["clips"][0]["notes"]
        with pytest.raises(EngineError) as caught:
            client.request("continue", clip=clip, timeout=60)
        assert caught.value.code == "invalid_request"
        assert "time_signature" in str(caught.value)
        assert client.request("ping")["pong"] is True
