"""Pieces <-> token ids (format v2, see models/net/vocab.py and docs/tokens.md).

``encode`` quantizes onsets to the grid (the nearest 16th or 8th-triplet point), durations to
the duration table and velocities to 8 bins; ``decode`` turns a token stream back into parts.
Both are pure functions of their input; the round trip is exact for music already on the grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.net import vocab as V
from models.representation import Note, Part, Piece

ChordEvent = tuple[float, int, str, "int | None"]  # start beat, root pitch class, quality, bass or None


@dataclass(frozen=True)
class Header:
    style: str | None
    time_signature: tuple[int, int]
    key: str | None
    tempo: float | None


def bar_ticks(time_signature: tuple[int, int]) -> int:
    num, den = time_signature
    ticks = num * 4 * V.TICKS_PER_BEAT // den
    if num * 4 * V.TICKS_PER_BEAT % den or not 0 < ticks <= V.MAX_BAR_TICKS:
        raise ValueError(
            f"time_signature {num}/{den} must give a bar of 1..{V.MAX_BAR_BEATS} beats on the "
            f"{V.TICKS_PER_BEAT}-per-beat grid"
        )
    return ticks


def snap(ticks: float) -> int:
    """Nearest point of the union of the 16th grid (3 ticks) and the 8th-triplet grid (4)."""
    base = int(ticks // 12) * 12
    points = (0, 3, 4, 6, 8, 9, 12)
    best = min(points, key=lambda p: abs(base + p - ticks))
    return base + best


def header_tokens(header: Header) -> list[int]:
    return [
        V.BOS,
        V.style_token(header.style),
        V.meter_token(header.time_signature),
        V.key_token(header.key),
        V.tempo_token(header.tempo),
    ]


def note_tokens(notes: Iterable[tuple[int, int, int, int]], velocity: bool) -> list[int]:
    """(pos, pitch, duration ticks, velocity) sorted by (pos, pitch) -> note tokens of one bar.
    Only drum tracks carry VEL tokens (the pitched corpora have no dynamics)."""
    out: list[int] = []
    last_pos = -1
    for pos, pitch, dur, vel in notes:
        if pos != last_pos:
            out.append(V.POS0 + pos)
            last_pos = pos
        out.append(V.PITCH0 + pitch)
        out.append(V.DUR0 + V.duration_index(dur))
        if velocity:
            out.append(V.VEL0 + V.velocity_bin(vel))
    return out


def harmony_lane(chords: Sequence[ChordEvent], bar: int, ticks_per_bar: int) -> list[int]:
    """A bar's chord lane: HARM, then every chord sounding in the bar at its position (sorted
    ``chords`` each sound until the next one; the one held over the bar line is restated at
    position 0, so that every bar names its own harmony)."""
    start, end = bar * ticks_per_bar, (bar + 1) * ticks_per_bar
    out = [V.HARM]
    held: list[int] | None = None
    for beat, root, quality, bass in chords:
        tick = snap(beat * V.TICKS_PER_BEAT)
        if tick >= end:
            break
        chord = V.chord_tokens(root, quality, bass)
        if tick <= start:
            held = chord
            continue
        if held is not None:
            out += [V.POS0] + held
            held = None
        out += [V.POS0 + tick - start] + chord
    if held is not None:
        out += [V.POS0] + held
    return out


def quantize_part(part: Part, role: str, bars: int, ticks_per_bar: int) -> list[list[tuple[int, int, int, int]]]:
    """Notes of one part as per-bar lists of (pos, pitch, duration ticks, velocity)."""
    per_bar: list[list[tuple[int, int, int, int]]] = [[] for _ in range(bars)]
    seen: set[tuple[int, int]] = set()
    for note in part.notes:
        tick = snap(note.start * V.TICKS_PER_BEAT)
        bar, pos = divmod(tick, ticks_per_bar)
        if bar >= bars or (tick, note.pitch) in seen:
            continue
        seen.add((tick, note.pitch))
        dur = 3 if role == "drums" else max(1, round(note.duration * V.TICKS_PER_BEAT))
        per_bar[bar].append((pos, note.pitch, dur, note.velocity))
    for notes in per_bar:
        notes.sort(key=lambda n: (n[0], n[1]))
    if role in V.MONOPHONIC_ROLES:
        per_bar = [_one_per_onset(notes) for notes in per_bar]
    return per_bar


def _one_per_onset(notes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    kept: dict[int, tuple[int, int, int, int]] = {}
    for n in notes:
        kept[n[0]] = n  # the highest pitch at an onset wins (sorted ascending)
    return sorted(kept.values())


def encode(piece: Piece, fill_bars: Sequence[int] = (), harmony: Sequence[ChordEvent] = ()) -> list[int]:
    """A whole piece -> token ids, BOS .. EOS; with ``harmony`` (its chords, in time order)
    every bar leads with its chord lane."""
    first = piece.first
    header = Header(piece.style, first.time_signature, first.key, first.tempo)
    tpb = bar_ticks(first.time_signature)
    bars = max(1, math.ceil(first.length * V.TICKS_PER_BEAT / tpb - 1e-6))
    tracks = sorted(piece.tracks, key=lambda t: V.ROLE_ORDER.index(t[0]))
    quantized = [(role, quantize_part(part, role, bars, tpb)) for role, part in tracks]
    out = header_tokens(header)
    fills = set(fill_bars)
    for bar in range(bars):
        out.append(V.BAR)
        if bar in fills:
            out.append(V.FILL)
        if harmony:
            out += harmony_lane(harmony, bar, tpb)
        for role, per_bar in quantized:
            out.append(V.TRK[role])
            out += note_tokens(per_bar[bar], velocity=role in V.VELOCITY_ROLES)
    out.append(V.EOS)
    return out


def decode(tokens: Sequence[int], length: float | None = None,
           default_velocity: int = 90) -> tuple[Header, dict[str, Part]]:
    """Token ids -> header and one part per track role. Tolerates a missing EOS. Pitched
    tracks carry no velocity tokens; their notes get ``default_velocity``."""
    toks = list(tokens)
    if not toks or toks[0] != V.BOS or len(toks) < 5:
        raise ValueError("a token sequence must start with BOS and the four header tokens")
    header = parse_header(toks[1:5])
    tpb = bar_ticks(header.time_signature)
    notes: dict[str, list[Note]] = {}
    bar, role, pos = -1, None, 0
    i = 5
    while i < len(toks):
        tok = V.VOCAB.tokens[toks[i]]
        if toks[i] == V.EOS:
            break
        if toks[i] == V.BAR:
            bar, role, pos = bar + 1, None, 0
        elif toks[i] == V.HARM:
            role = None  # the chord lane holds no notes
        elif tok.startswith("TRK_"):
            role, pos = tok[4:], 0
            notes.setdefault(role, [])
        elif tok.startswith("POS_"):
            pos = int(tok[4:])
        elif tok.startswith("PITCH_") and role is not None and i + 1 < len(toks):
            dur = V.DURATIONS[toks[i + 1] - V.DUR0]
            vel = default_velocity
            i += 1
            if role in V.VELOCITY_ROLES and i + 1 < len(toks):
                vel = V.VELOCITY_CENTRES[toks[i + 1] - V.VEL0]
                i += 1
            start = (bar * tpb + pos) / V.TICKS_PER_BEAT
            notes[role].append(Note(int(tok[6:]), start, dur / V.TICKS_PER_BEAT, vel))
        i += 1
    total = length if length is not None else max(bar + 1, 1) * tpb / V.TICKS_PER_BEAT
    parts = {
        role: Part(tuple(ns), total, header.time_signature, header.tempo, header.key, kind=_kind(role))
        for role, ns in notes.items()
    }
    return header, parts


def parse_header(toks: Sequence[int]) -> Header:
    names = [V.VOCAB.tokens[t] for t in toks]
    style = names[0].removeprefix("STYLE_")
    meter = names[1].removeprefix("METER_")
    key = names[2].removeprefix("KEY_")
    num, den = (4, 4) if meter == "other" else tuple(int(x) for x in meter.split("/"))
    return Header(
        None if style == "none" else style,
        (num, den),
        None if key == "none" else key.replace("_", " "),
        None,
    )


def _kind(role: str) -> str:
    return {"melody": "melody", "bass": "bass", "chords": "chords", "drums": "drums"}.get(role, "other")
