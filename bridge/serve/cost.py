"""What a musical request costs, estimated before it is parsed in full and before it is queued,
so one request cannot hold the model for an hour or the loop for seconds.

- notes: every note of the request's clips together, at most MAX_NOTES_PER_REQUEST; counted in
  the raw frame first (a cheap scan for ``"pitch"``), then exactly once it is parsed;
- work: bars the model writes, times candidates, at most MAX_REQUEST_WORK (see its note for the
  seconds that takes).
"""

from __future__ import annotations

import math

from bridge.constants import MAX_REQUEST_WORK
from bridge.protocol import (
    MAX_NOTES_PER_REQUEST,
    Clip,
    ContinueRequest,
    DrumsRequest,
    FillRequest,
    MusicalRequest,
)

PITCH_KEY = b'"pitch"'


def counted_notes(frame: bytes) -> int:
    """Notes a raw request frame holds at least (keys spelled with escapes are not counted; the
    frame size limit bounds those)."""
    return frame.count(PITCH_KEY)


def notes(request: MusicalRequest) -> int:
    """Notes of every clip of the request."""
    clips: list[Clip] = list(request.context) if isinstance(request, DrumsRequest) else [request.clip]
    return sum(len(clip.notes) for clip in clips)


def bars(clip: Clip) -> int:
    num, den = clip.time_signature
    return max(1, math.ceil(clip.length / (num * 4 / den) - 1e-9))


def work(request: MusicalRequest) -> int:
    """Bars the model writes, times candidates."""
    if isinstance(request, DrumsRequest | ContinueRequest):
        written = request.bars
    elif isinstance(request, FillRequest):
        num, den = request.clip.time_signature
        span = request.span[1] - request.span[0] if request.span is not None else num * 4 / den
        written = max(1, math.ceil(span / (num * 4 / den) - 1e-9))
    else:
        written = bars(request.clip)
    return written * request.candidates


def too_costly(request: MusicalRequest) -> str | None:
    """Why the request is refused as too large, or None."""
    count = notes(request)
    if count > MAX_NOTES_PER_REQUEST:
        return f"the request holds {count} notes; the limit is {MAX_NOTES_PER_REQUEST} in all its clips"
    cost = work(request)
    if cost > MAX_REQUEST_WORK:
        return (f"the request asks for {cost} bars in all (bars times candidates); the limit is "
                f"{MAX_REQUEST_WORK}: ask for fewer candidates or send a shorter clip")
    return None
