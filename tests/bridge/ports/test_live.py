"""The live harmonizer (models/ops/live.py) with a tiny real model: voices in their ranges, below
the tune, in order and in the key; one harmony per grid position; a rolling context that stays
within its token budget and starts over when the song jumps back."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.interface import load_composer
from models.ops.harmonize import scale_pitches
from models.ops.live import CONTEXT_TOKENS, LiveHarmonizer, live_model
from tests.bridge.ports import fixtures as ports_fixtures

tiny_files = ports_fixtures.tiny_files
tiny_weights = ports_fixtures.tiny_weights


@pytest.fixture
def model(tiny_weights: Path):  # noqa: ANN201 - the GPT
    return live_model(load_composer(tiny_weights, "cpu"))


def play(harmonizer: LiveHarmonizer, pitches: list[int], step: float = 0.5, seed: int = 3) -> list:
    rng = random.Random(seed)
    voicings, beats, previous = [], 0.0, None
    for pitch in pitches:
        voicing = harmonizer.onset(beats, pitch)
        if previous is not None:
            harmonizer.end(previous.melody, beats)
        voicings.append(voicing)
        previous = voicing
        beats += step * rng.choice((1, 2))
        harmonizer.refresh(beats)
    return voicings


def test_chorale_voices_in_range_in_order_below_the_tune_and_in_key(model) -> None:  # noqa: ANN001
    harmonizer = LiveHarmonizer(model, "chorale", key="G major", background=False)
    tune = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67] * 3
    for pitch, voicing in zip(tune, play(harmonizer, tune), strict=True):
        roles = [role for role, _ in voicing.voices]
        pitches = [n.pitch for _, n in voicing.voices]
        assert roles == ["bass", "tenor", "alto"]
        assert pitches == sorted(set(pitches)), "no crossing, no unison"
        assert all(p < pitch for p in pitches)
        assert all(p in scale_pitches("G major") for p in pitches)
        for role, note in voicing.voices:
            low, high = CHORALE_RANGES[role]
            assert low <= note.pitch <= high  # a tune around A4 is not moved


@pytest.mark.parametrize(("style", "sizes"), [("chords", range(2, 5)), ("bass", (1,))])
def test_other_styles(model, style: str, sizes: range) -> None:  # noqa: ANN001
    harmonizer = LiveHarmonizer(model, style, background=False)
    for voicing in play(harmonizer, [67, 69, 71, 72, 74, 72, 71, 69] * 2):
        assert len(voicing.voices) in sizes
        low, high = VOICE_RANGES[voicing.voices[0][0]]
        assert all(low <= n.pitch <= high for _, n in voicing.voices)


def test_one_harmony_per_grid_position_and_a_low_tune(model) -> None:  # noqa: ANN001
    harmonizer = LiveHarmonizer(model, "chorale", background=False)
    first = harmonizer.onset(0.0, 48)  # two octaves low: the context moves it up, the voices follow
    assert first is not None and all(n.pitch < 48 for _, n in first.voices)
    assert harmonizer.onset(0.01, 52) is None  # the same 16th: a chord in the melody
    assert harmonizer.onset(0.5, 50) is not None


def test_context_stays_within_budget_and_restarts_on_a_jump_back(model) -> None:  # noqa: ANN001
    harmonizer = LiveHarmonizer(model, "chords", background=True)
    play(harmonizer, [60 + (i * 5) % 17 for i in range(200)], step=0.25)
    harmonizer.wait()
    prefix = harmonizer._prefix
    assert prefix is not None and prefix.length <= CONTEXT_TOKENS + 5
    assert harmonizer.onset(0.0, 64) is not None  # the song starts again
    assert harmonizer._prefix is not None and harmonizer._prefix.end_bar == 0


def test_bad_style_and_key(model) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="style must be one of"):
        LiveHarmonizer(model, "jazz")
    with pytest.raises(ValueError, match="key must be a tonic A..G"):
        LiveHarmonizer(model, key="H dur")
