"""Settings text: defaults, checks, the one-line (REAPER ExtState) and file (Live) forms."""

from __future__ import annotations

import pytest

from bridge import protocol
from daw_scripts.common import settings


def test_style_lists_match_the_protocol():
    assert settings.HARMONIZE_STYLES == protocol.HARMONIZE_STYLES
    assert settings.DRUM_STYLES == protocol.DRUM_STYLES
    assert settings.MELODY_STYLES == protocol.MELODY_STYLES


def test_defaults_are_valid():
    for key, value in settings.DEFAULTS.items():
        assert settings.check(key, value) == value


@pytest.mark.parametrize("separator", [";", "\n"])
def test_round_trip(separator):
    values = settings.defaults()
    values.update({"address": "tcp://studio.local:6000", "candidates": 5, "temperature": 0.85,
                   "style.drums": "funk", "custom.note": "a=b; c"})
    text = settings.serialize(values, separator)
    if separator == ";":
        assert "\n" not in text  # fits one ExtState value
    assert settings.parse(text) == values


def test_parse_keeps_defaults_for_bad_values():
    problems = []
    text = "# DAWBridge\ncandidates = 12\ntemperature=warm\nstyle.drums=polka\naddress=5555\nnoise\n"
    assert settings.parse(text, problems) == settings.defaults()
    assert problems == [
        "candidates must be in range 1..8, got 12",
        "temperature must be a number, got 'warm'",
        "style.drums must be one of " + ", ".join(settings.DRUM_STYLES) + ", got 'polka'",
        "endpoint must look like tcp://host:port, got '5555'",
        "expected key=value, got 'noise'",
    ]


def test_parse_types():
    parsed = settings.parse("candidates=2;timeout=90;temperature=1.3")
    assert parsed["candidates"] == 2 and isinstance(parsed["candidates"], int)
    assert parsed["timeout"] == 90.0 and isinstance(parsed["timeout"], float)
    assert settings.parse("") == settings.defaults()
    assert settings.parse(None) == settings.defaults()


def test_style_for_and_request_fields():
    values = settings.defaults()
    assert settings.style_for(values, "harmonize") == "chorale"
    assert settings.style_for(values, "restyle", "drums") == "funk"
    assert settings.style_for(values, "restyle", "melody") == "jig"
    assert settings.style_for(values, "fill") is None
    assert settings.request_fields(values, "vary") == {"candidates": 3, "temperature": 1.0}
    assert settings.request_fields(values, "drums")["style"] == "rock"
