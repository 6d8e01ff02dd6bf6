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


def test_a_refusal_by_the_model_names_its_field(engine_address: str) -> None:
    with Client(engine_address, timeout=60) as client:
        with pytest.raises(EngineError) as caught:
            client.request("fill", clip=melody(bars=2), timeout=60)  # a melody is not a drum clip
        assert caught.value.code == "invalid_request" and caught.value.field == "clip"
        with pytest.raises(EngineError) as caught:
            client.request("restyle", clip=melody(bars=2), style="rock", timeout=60)  # a drum style
        assert caught.value.code == "invalid_request" and caught.value.field == "style"
        with pytest.raises(EngineError) as caught:
            client.request("harmonize", clip=melody(bars=2), pitch_range=[0, 20], timeout=60)
        assert caught.value.code == "invalid_request" and caught.value.field == "pitch_range"
        assert client.request("ping")["pong"] is True


def test_a_fill_of_a_clip_shorter_than_a_grid_step_comes_back_inside_it(engine_address: str) -> None:
    """Humanized hits of a clip that ends off the grid stay before its end (the reply's own
    validation refused one rounded onto the end: an internal error instead of a fill)."""
    clip = {"notes": [{"pitch": 42, "start": 0.0, "duration": 0.25, "velocity": 80, "channel": 9}],
            "length": 0.001, "time_signature": [2, 4], "kind": "drums"}
    with Client(engine_address, timeout=60) as client:
        for seed in range(6):
            result = client.request("fill", clip=clip, intensity=0.6, candidates=4, seed=seed, timeout=60)
            for candidate in result["candidates"]:
                assert all(0 <= n["start"] < 0.001 for c in candidate["clips"] for n in c["notes"])
