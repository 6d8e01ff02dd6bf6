"""Harmonize targets derived from four-part chorales: a block-chord pad under the melody
(`chords_from_chorale`) and the bass line alone (`bass_from_chorale`)."""
from __future__ import annotations

from collections.abc import Sequence

from models.representation import Piece


def derived_sources(chorales: Sequence[Piece]) -> dict[str, list[Piece]]:
    return {}
