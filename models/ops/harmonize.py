"""Harmonize: a melody -> alto, tenor and bass voices (chorale), a block-chord part (chords) or
a bass line (bass), aligned to the melody's bars and in its key.

The melody is read as the context track of every bar and the harmony tracks are generated bar
by bar after it. A melody outside the soprano's usual range is moved by octaves into it and
the result moved back, so the harmony keeps its distance below the tune.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.decoding.decoding import Constraints, Plan, Segment
from models.keys import estimate_key, parse_key
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, header_tokens, note_tokens, quantize_part
from models.representation import Note, Part

STYLE_ROLES = {
    "chorale": ("bass", "tenor", "alto"),
    "chords": ("chords",),
    "bass": ("bass",),
}
OUTPUT_NAMES = {"alto": "Alto", "tenor": "Tenor", "bass": "Bass", "chords": "Chords"}
OUTPUT_KINDS = {"alto": "other", "tenor": "other", "bass": "bass", "chords": "chords"}
# Part-writing order (top voice first) for the voice-leading rules; chords are a free pad.
VOICE_ORDER = {"chorale": ("melody", "alto", "tenor", "bass"), "bass": ("melody", "bass"), "chords": ()}
SOPRANO_CENTRE = 69  # where a chorale tune's median pitch usually sits
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the raised leading tone


@dataclass(frozen=True)
class Setup:
    """A harmonization's plan and what is needed to turn its tokens back into clips."""

    plan: Plan
    roles: tuple[str, ...]
    octave_shift: int  # semitones the melody was moved by (a multiple of 12)
    key: str
    velocity: int


def scale_pitches(key: str) -> frozenset[int]:
    tonic, mode = parse_key(key)
    steps = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    return frozenset(p for p in range(128) if (p - tonic) % 12 in steps)


def octave_shift(melody: Part) -> int:
    """Semitones (whole octaves) that bring the melody's median pitch into the soprano's range;
    0 for a melody already inside it."""
    if not melody.notes:
        return 0
    median = statistics.median(n.pitch for n in melody.notes)
    low, high = CHORALE_RANGES["melody"]
    if low <= median <= high:
        return 0
    return 12 * round((SOPRANO_CENTRE - median) / 12)


def plan_harmony(melody: Part, style: str, key: str | None, pitch_range: tuple[int, int] | None) -> Setup:
    if style not in STYLE_ROLES:
        raise ValueError(f"style must be one of {', '.join(STYLE_ROLES)}, got {style!r}")
    if not melody.notes:
        raise ValueError("clip.notes must hold at least one note to harmonize")
    tpb = bar_ticks(melody.time_signature)
    shift = octave_shift(melody)
    moved = _transpose(melody, shift)
    music_key = key or melody.key or estimate_key(moved.notes)
    header = Header("chorale", melody.time_signature, music_key, melody.tempo)
    bars = melody.bars
    end_tick = int(round(melody.length * V.TICKS_PER_BEAT))
    per_bar = quantize_part(moved, "melody", bars, tpb)
    roles = STYLE_ROLES[style]
    ranges = CHORALE_RANGES if style == "chorale" else VOICE_RANGES
    locked = scale_pitches(key) if key else None
    allowed = {r: _pitches(ranges[r], pitch_range, shift, locked) for r in roles}
    for role, pitches in allowed.items():
        if not pitches:  # the range, moved with the melody's register, leaves MIDI 0..127
            wanted = f"pitch_range {pitch_range[0]}..{pitch_range[1]}" if pitch_range else "MIDI 0..127"
            raise ValueError(f"{wanted} leaves no pitch for the {role} of a melody this "
                             f"{'high' if shift < 0 else 'low'}; choose a range nearer the melody")
    segments = [Segment(forced=header_tokens(header))]
    order = [r for r in V.ROLE_ORDER if r in roles]
    melody_spans = [(bar * tpb + pos, bar * tpb + pos + dur, pitch)
                    for bar, notes in enumerate(per_bar) for pos, pitch, dur, _ in notes]
    cadence = final_cadence(melody_spans, music_key, allowed.get("bass", frozenset()))
    for bar in range(bars):
        segments.append(Segment(forced=[V.BAR, V.TRK["melody"]] + note_tokens(per_bar[bar], velocity=False)))
        sounding = bool(per_bar[bar]) or _held_into(per_bar, bar, tpb)
        for role in order:
            segments.append(Segment(forced=[V.TRK[role]]))
            segments.append(Segment(generate=Constraints(
                role=role, bar_start=bar * tpb, bar_ticks=tpb, end_tick=end_tick,
                pitches=allowed[role], min_notes=1 if sounding else 0,
                max_notes=24 if role == "chords" else 12, voices=VOICE_ORDER[style],
                legato=style == "chorale", cadence=cadence if role == "bass" else None,
            )))
    segments.append(Segment(forced=[V.EOS]))
    velocity = int(statistics.median(n.velocity for n in melody.notes))
    plan = Plan(segments, context={"melody": melody_spans} if VOICE_ORDER[style] else {})
    return Setup(plan, roles, shift, music_key, max(1, velocity - 8))


def final_cadence(melody: list[tuple[int, int, int]], key: str, bass: frozenset[int]) -> tuple[int, frozenset[int]] | None:
    """An authentic close: when the melody's last note belongs to the tonic chord (a third of
    either kind, for a Picardy close in minor), the bass sounds the tonic under it, root
    position, as chorales end. None when the melody ends elsewhere (an open or half close)."""
    if not melody or not bass:
        return None
    start, _, pitch = max(melody)
    tonic, _ = parse_key(key)
    if (pitch - tonic) % 12 not in (0, 3, 4, 7):
        return None
    roots = frozenset(p for p in bass if (p - tonic) % 12 == 0)
    return (start, roots) if roots else None


def _held_into(per_bar: list[list[tuple[int, int, int, int]]], bar: int, tpb: int) -> bool:
    """Whether a melody note from an earlier bar is still sounding in ``bar``."""
    for earlier in range(max(0, bar - 8), bar):
        for pos, _, dur, _ in per_bar[earlier]:
            if earlier * tpb + pos + dur > bar * tpb:
                return True
    return False


def _pitches(voice: tuple[int, int], user: tuple[int, int] | None, shift: int,
             locked: frozenset[int] | None) -> frozenset[int]:
    low, high = voice
    if user is not None:  # the user's range is in the melody's own register
        low, high = max(low, user[0] + shift), min(high, user[1] + shift)
        if low > high:
            low, high = user[0] + shift, user[1] + shift
    out = frozenset(p for p in range(max(0, low), min(127, high) + 1))
    if locked is not None:
        out = frozenset(p for p in out if p in locked) or out
    return frozenset(p for p in out if 0 <= p - shift <= 127)


def _transpose(part: Part, semitones: int) -> Part:
    if semitones == 0:
        return part
    notes = tuple(Note(min(127, max(0, n.pitch + semitones)), n.start, n.duration, n.velocity) for n in part.notes)
    return Part(notes, part.length, part.time_signature, part.tempo, part.key, part.name, part.kind)


def finish(setup: Setup, parts: dict[str, Part], melody: Part, style: str) -> list[Part]:
    """Decoded parts -> the output clips: moved back by the melody's octave shift, clipped to
    the melody's length, named after their voice."""
    out = []
    for role in setup.roles:
        part = parts.get(role) or Part((), melody.length)
        notes = tuple(
            Note(n.pitch - setup.octave_shift, n.start, min(n.duration, melody.length - n.start), setup.velocity)
            for n in part.notes if n.start < melody.length
        )
        out.append(Part(notes, melody.length, melody.time_signature, melody.tempo, setup.key,
                        name=f"{OUTPUT_NAMES[role]} ({style})", kind=OUTPUT_KINDS[role]))
    return out
