"""Continue: the next N bars of a clip (melody, bass, chords or drums) in its style, key and
metre. The clip's last bars (as many as fit ``CONTEXT_TOKENS``) are read as the context and
the new bars written after them; the result holds only the new bars, its beat 0 at the end of
the clip (a clip that ends inside a bar is continued from that point)."""

from __future__ import annotations

import math
import statistics

from models.constants import DRUM_CLASSES
from models.net import vocab as V
from models.net.tokenizer import bar_ticks, decode
from models.ops import humanize
from models.ops.drums import phrase_priors, to_classes
from models.ops.groove import GroovePrior
from models.ops.regions import (
    QNote,
    Rewrite,
    Track,
    bars_budget,
    generated_notes,
    is_unbroken,
    line_mode,
    pitch_set,
    plan,
    quantize,
    role_of,
)
from models.ops.vary import header_for, music_key
from models.representation import Note, Part
from models.styles import grooves
from models.tasks import ContinueTask

CONTEXT_TOKENS = 600  # forced tokens of the clip at most (and half the model's window)
ALTERNATION_BARS = 4  # whole bars read for a two-bar phrase
ALIKE = 0.8  # kick/snare F1 at which two bars count as the same bar
SKELETON = frozenset(DRUM_CLASSES[c] for c in ("kick", "snare"))


def alternation(kept: list[QNote], bars: int, tpb: int) -> list[tuple[grooves.Hit, ...]] | None:
    """The last ``ALTERNATION_BARS`` whole bars (before bar ``bars``) when they alternate two
    different bars (kick/snare F1 of bars two apart at least ``ALIKE``, of neighbours under it),
    else None."""
    if bars < ALTERNATION_BARS:
        return None
    first = bars - ALTERNATION_BARS
    out: list[list[grooves.Hit]] = [[] for _ in range(ALTERNATION_BARS)]
    for tick, pitch, _, velocity in kept:
        if first * tpb <= tick < bars * tpb:
            out[tick // tpb - first].append((tick % tpb, pitch, velocity))
    ks = [{(t, c) for t, c, _ in bar if c in SKELETON} for bar in out]

    def alike(a: int, b: int) -> bool:
        return 2 * len(ks[a] & ks[b]) >= ALIKE * max(1, len(ks[a]) + len(ks[b]))

    pairs = range(ALTERNATION_BARS - 2)
    if all(alike(b, b + 2) for b in pairs) and not any(alike(b, b + 1) for b in range(ALTERNATION_BARS - 1)):
        return [tuple(bar) for bar in out]
    return None


def build(task: ContinueTask, block: int = 1024) -> Rewrite:
    clip = task.clip
    role = role_of(clip)
    drum = role == "drums"
    tpb = bar_ticks(clip.time_signature)
    key = music_key(clip, role, task.key)
    header = header_for(clip, role, key)
    pitches = pitch_set(clip, role, key, locked=task.key is not None)
    start = math.ceil(clip.length * V.TICKS_PER_BEAT - 1e-6)
    stop = start + task.bars * tpb
    kept = quantize(to_classes(clip.notes) if drum else list(clip.notes), role)
    kept = [q for q in kept if q[0] < start]
    phrase = alternation(kept, start // tpb, tpb) if drum else None
    prior = GroovePrior.from_bars([(q[0], q[1]) for q in kept], range(start // tpb), tpb) if drum else None
    first_bar = bars_budget(kept, tpb, start // tpb, min(CONTEXT_TOKENS, block // 2))
    kept = [q for q in kept if q[0] >= first_bar * tpb]
    bars = math.ceil(stop / tpb) - first_bar
    clip_bars = max(1, math.ceil(start / tpb) - first_bar)
    per_bar = len(kept) / clip_bars
    mono = line_mode(clip, role)
    track = Track(role, pitches, mono=mono,
                  min_notes=max(1, round(per_bar * (0.5 if drum else 0.3))) if kept else 1,
                  max_notes=max(8, round(3 * per_bar)), prior=prior,
                  legato=mono is True and is_unbroken(clip))  # an unbroken line goes on unbroken
    the_plan = plan(header, track, kept, [(start, stop)], bars, tpb, first_bar=first_bar, end_tick=stop)
    if phrase is not None:  # a two-bar phrase goes on as one: each bar leans on its own kind
        the_plan = phrase_priors(the_plan, phrase, tpb, first_bar=start // tpb - len(phrase))
    length = task.bars * tpb / V.TICKS_PER_BEAT
    shift = start / V.TICKS_PER_BEAT
    amount = humanize.amount_of(clip.notes, clip.tempo) if drum else 0.0
    velocity = int(statistics.median(n.velocity for n in clip.notes)) if clip.notes else 90

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        new = generated_notes(decode(tokens)[1].get(role), kept, [(start, stop)], offset=first_bar * tpb)
        new = [Note(n.pitch, n.start - shift, min(n.duration, length - (n.start - shift)),
                    n.velocity if drum else velocity) for n in new]
        if drum:
            new = humanize.apply(new, amount, clip.tempo, seed, (0.0, length))
        return [Part(tuple(sorted(new, key=lambda n: (n.start, n.pitch))), length, clip.time_signature,
                     clip.tempo, key if not drum else clip.key,
                     name=f"{clip.name or 'Clip'} (continued)", kind=clip.kind)]

    return Rewrite(lambda rows, seed: [the_plan] * rows, finish)
