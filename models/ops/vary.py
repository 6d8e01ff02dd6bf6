"""Vary: N variations of a clip (melody, bass, chords or drums) over the same bars and key.

``strength`` is the share of the clip the model rewrites, 0 = identical, 1 = a new part. The
clip is cut into units (half bars for clips of four bars or more, beats for shorter ones); each
candidate rewrites its own random ``round(strength * units)`` of them and keeps every other
note as it was (bit for bit). With ``keep_rhythm`` every onset, duration and velocity stays and
the model re-picks the pitch of ``round(strength * notes)`` notes. Pitches stay in the key
(``key`` locks them to its scale) and near the clip's range; drums stay on the nine classes.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from models.decoding.decoding import Constraints, Plan, Segment
from models.keys import estimate_key
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, decode, header_tokens
from models.ops import humanize
from models.ops.drums import to_classes
from models.ops.regions import (
    QNote,
    Rewrite,
    Track,
    generated_notes,
    line_mode,
    pitch_set,
    plan,
    quantize,
    role_of,
)
from models.representation import Note, Part
from models.styles.drums import guess_style
from models.tasks import VaryTask


def header_for(part: Part, role: str, key: str | None) -> Header:
    style = guess_style(part) if role == "drums" else None
    return Header(style, part.time_signature, None if role == "drums" else key, part.tempo)


def music_key(part: Part, role: str, key: str | None) -> str | None:
    if role == "drums":
        return None
    return key or part.key or (estimate_key(part.notes) if part.notes else None)


def build(task: VaryTask, block: int = 1024) -> Rewrite:
    clip = task.clip
    role = role_of(clip)
    tpb = bar_ticks(clip.time_signature)
    key = music_key(clip, role, task.key)
    header = header_for(clip, role, key)
    pitches = pitch_set(clip, role, key, locked=task.key is not None)
    pairs, extra = grid_pairs(clip.notes, role)
    if task.strength <= 0 or not pairs:
        return Rewrite(lambda rows, seed: None, lambda tokens, row, seed: [_named(clip, list(clip.notes))])
    if task.keep_rhythm:
        return _pitches_only(task, header, role, pairs, extra, pitches, tpb)
    return _regions(task, header, role, pairs, extra, pitches, tpb)


def grid_pairs(notes: tuple[Note, ...], role: str) -> tuple[list[tuple[Note, QNote]], list[Note]]:
    """(note, its grid form as the model reads it) for every note the model can read, and the
    notes it cannot (drum pitches outside the GM classes, duplicates on the grid)."""
    pairs: list[tuple[Note, QNote]] = []
    extra: list[Note] = []
    seen: set[tuple[int, int]] = set()
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        view = to_classes([n]) if role == "drums" else [n]
        if not view:
            extra.append(n)
            continue
        q = quantize(view, role)[0]
        if (q[0], q[1]) in seen:
            extra.append(n)
            continue
        seen.add((q[0], q[1]))
        pairs.append((n, q))
    pairs.sort(key=lambda pq: (pq[1][0], pq[1][1]))
    return pairs, extra


def _regions(task: VaryTask, header: Header, role: str, pairs: list[tuple[Note, QNote]],
             extra: list[Note], pitches: frozenset[int], tpb: int) -> Rewrite:
    clip = task.clip
    total = math.ceil(clip.length * V.TICKS_PER_BEAT - 1e-6)
    bars = clip.bars
    unit = tpb // 2 if bars >= 4 else V.TICKS_PER_BEAT
    units = math.ceil(total / unit)
    count = max(1, round(task.strength * units))
    mono = line_mode(clip, role)
    drum = role == "drums"
    qs = [q for _, q in pairs]
    per_bar = max(1, round(len(qs) / max(1, bars)))
    track = Track(role, pitches, mono=mono, min_notes=per_bar // 2 if drum else 0,
                  max_notes=max(8, 3 * per_bar))
    velocity = int(statistics.median(n.velocity for n in clip.notes)) if clip.notes else 90
    amount = humanize.amount_of(clip.notes, clip.tempo) if drum else 0.0
    chosen: list[list[tuple[int, int]]] = []

    def plans(rows: int, seed: int) -> list[Plan]:
        chosen.clear()
        out = []
        for row in range(rows):
            rng = np.random.default_rng([seed, row])
            picked = sorted(rng.choice(units, size=min(count, units), replace=False).tolist())
            regions = [(u * unit, min(total, (u + 1) * unit)) for u in picked]
            chosen.append(regions)
            kept = [q for q in qs if not any(lo <= q[0] < hi for lo, hi in regions)]
            out.append(plan(header, track, kept, regions, bars, tpb, end_tick=total))
        return out

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        regions = chosen[row]
        kept_notes = [n for (n, _), q in zip(pairs, qs, strict=True)
                      if not any(lo <= q[0] < hi for lo, hi in regions)]
        kept_q = [q for q in qs if not any(lo <= q[0] < hi for lo, hi in regions)]
        new = generated_notes(decode(tokens, clip.length)[1].get(role), kept_q, regions)
        if drum:
            new = humanize.apply(new, amount, clip.tempo, seed, (0.0, clip.length))
        else:
            new = [Note(n.pitch, n.start, n.duration, velocity) for n in new]
        return [_named(clip, kept_notes + extra + new)]

    return Rewrite(plans, finish)


def _pitches_only(task: VaryTask, header: Header, role: str, pairs: list[tuple[Note, QNote]],
                  extra: list[Note], pitches: frozenset[int], tpb: int) -> Rewrite:
    clip = task.clip
    count = max(1, round(task.strength * len(pairs)))
    bars = clip.bars
    qs = [q for _, q in pairs]

    def plans(rows: int, seed: int) -> list[Plan]:
        out = []
        for row in range(rows):
            rng = np.random.default_rng([seed, row])
            picked = set(rng.choice(len(qs), size=min(count, len(qs)), replace=False).tolist())
            out.append(_rhythm_plan(header, role, qs, picked, pitches, bars, tpb))
        return out

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        decoded = decode(tokens, clip.length)[1].get(role)
        new_pitches = [n.pitch for n in decoded.notes] if decoded else []
        notes, seen = list(extra), set()
        for (n, _), pitch in zip(pairs, new_pitches, strict=False):
            if (n.start, pitch) not in seen:
                seen.add((n.start, pitch))
                notes.append(Note(pitch, n.start, n.duration, n.velocity))
        return [_named(clip, notes)]

    return Rewrite(plans, finish)


def _rhythm_plan(header: Header, role: str, qs: list[QNote], picked: set[int], pitches: frozenset[int],
                 bars: int, tpb: int) -> Plan:
    """Every POS, DUR (and VEL) forced; the picked notes' PITCH written by the model."""
    segments = [Segment(forced=header_tokens(header))]
    forced: list[int] = []
    velocity = role in V.VELOCITY_ROLES
    for bar in range(bars):
        forced += [V.BAR, V.TRK[role]]
        last = -1
        for i, q in enumerate(qs):
            if not bar * tpb <= q[0] < (bar + 1) * tpb:
                continue
            pos = q[0] - bar * tpb
            if pos != last:
                forced.append(V.POS0 + pos)
                last = pos
            if i in picked:
                segments.append(Segment(forced=forced))
                segments.append(Segment(generate=Constraints(
                    role=role, bar_start=bar * tpb, bar_ticks=tpb, end_tick=(bar + 1) * tpb,
                    pitches=pitches, pitch_only=True)))
                forced = []
            else:
                forced.append(V.PITCH0 + q[1])
            forced.append(V.DUR0 + V.duration_index(q[2]))
            if velocity:
                forced.append(V.VEL0 + V.velocity_bin(q[3]))
    segments.append(Segment(forced=forced + [V.EOS]))
    return Plan([s for s in segments if s.forced or s.generate])


def _named(clip: Part, notes: list[Note]) -> Part:
    ordered = tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))
    return Part(ordered, clip.length, clip.time_signature, clip.tempo, clip.key,
                name=f"{clip.name or 'Clip'} (variation)", kind=clip.kind)
