"""Continue: the next N bars of a clip (melody, bass, chords or drums) in its style, key and
metre. The clip's last bars (as many as fit ``CONTEXT_TOKENS``) are read as the context and
the new bars written after them; the result holds only the new bars, its beat 0 at the end of
the clip (a clip that ends inside a bar is continued from that point)."""

from __future__ import annotations

import math
import statistics

from models.net import vocab as V
from models.net.tokenizer import bar_ticks, decode
from models.ops import humanize
from models.ops.drums import to_classes
from models.ops.groove import GroovePrior
from models.ops.regions import (
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
from models.tasks import ContinueTask

CONTEXT_TOKENS = 600  # forced tokens of the clip at most (and half the model's window)


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
