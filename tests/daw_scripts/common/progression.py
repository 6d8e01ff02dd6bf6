"""A keys part both DAWs' tests send to harmonize: Am F C G as block chords, a chord a bar of
4/4, three or four notes in the inversions a keys player reaches for; and what a bass line or
a new voicing of it must hold. Also: recording what the scripts send, and waiting for the
shipped model behind a real engine."""

from __future__ import annotations

import time

import pytest

from daw_scripts.common import engine_client
from daw_scripts.common.engine_client import EngineClient

BAR = 4.0
CHORDS = ("Am", "F", "C", "G")
LENGTH = BAR * len(CHORDS)
VOICINGS = {"Am": (57, 60, 64), "F": (53, 57, 60, 65), "C": (48, 55, 60, 64), "G": (55, 59, 62)}
TONES = {"Am": {9, 0, 4}, "F": {5, 9, 0}, "C": {0, 4, 7}, "G": {7, 11, 2}}
ROOTS = {"Am": 9, "F": 5, "C": 0, "G": 7}
ROLL = 0.01  # beats between the notes of a chord, low to high: a hand, not a grid
DRUMS = [(36 if b % 2 == 0 else 38, float(b), 0.25, 100, 9) for b in range(8)] + \
        [(42, b / 2.0, 0.25, 70, 9) for b in range(16)]


def keys_part(held: float = 0.0) -> list[tuple[int, float, float, int]]:
    """(pitch, start, duration, velocity): each chord struck from its bar line up, each note
    released ``held`` beats after the next bar line (legato, as a player changes chords;
    never past the clip)."""
    notes = []
    for bar, symbol in enumerate(CHORDS):
        for index, pitch in enumerate(VOICINGS[symbol]):
            start = bar * BAR + index * ROLL
            end = min(LENGTH, (bar + 1) * BAR + held)
            notes.append((pitch, round(start, 6), round(end - start, 6), 88 + 4 * index))
    return notes


def chord_at(beat: float) -> str:
    return CHORDS[min(len(CHORDS) - 1, int(beat // BAR))]


def check_bass(notes: list[tuple[int, float, float]]) -> None:
    """(pitch, start, duration) in beats from the clip start: on every bar's downbeat a bass note
    starts, and it is a tone of the bar's chord (its root on the first and last bar)."""
    for bar, symbol in enumerate(CHORDS):
        struck = [p for p, s, _ in notes if abs(s - bar * BAR) < 1e-6]
        assert len(struck) == 1, (symbol, notes)
        assert struck[0] % 12 in TONES[symbol], (symbol, struck, notes)
        if bar in (0, len(CHORDS) - 1):
            assert struck[0] % 12 == ROOTS[symbol], (symbol, struck, notes)
        assert struck[0] <= 60, (symbol, struck)  # the bass range tops out at middle C


def check_voicing(notes: list[tuple[int, float, float]]) -> None:
    """A new voicing: on every strong beat (beats 1 and 3 of a bar) three or more notes sound,
    and every note sounding there is a tone of the bar's chord."""
    for beat in range(0, int(LENGTH), 2):
        sounding = [p for p, s, d in notes if s - 1e-6 <= beat < s + d - 1e-6]
        symbol = chord_at(beat)
        assert len(sounding) >= 3, (beat, symbol, notes)
        assert {p % 12 for p in sounding} <= TONES[symbol], (beat, symbol, sounding)


CHECKS = {"bass": check_bass, "chords": check_voicing}  # what each harmonize style must hold
# Released at the bar line, or held past it as a keys player changes chords legato.
HELD = pytest.mark.parametrize("held", [0.0, 0.1], ids=["released", "legato"])


def record_requests(monkeypatch) -> list[engine_client.PendingRequest]:
    """Every request the scripts send from now on (``.op``, ``.fields``, then ``.result`` or
    ``.error``)."""
    sent = []
    start = engine_client.PendingRequest.start

    def recording(*args, **options):
        sent.append(start(*args, **options))
        return sent[-1]

    monkeypatch.setattr(engine_client.PendingRequest, "start", staticmethod(recording))
    return sent


def wait_for_model(address: str, seconds: float = 120.0) -> None:
    """Wait until the engine at ``address`` has loaded its model; skip when it has none."""
    with EngineClient(address) as client:
        deadline = time.monotonic() + seconds
        while True:
            info = client.request("info", timeout=10)
            if info["model"] or info["model_error"] != "the model is loading" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    if not info["model"]:
        pytest.skip(f"no shipped model: {info['model_error']}")
