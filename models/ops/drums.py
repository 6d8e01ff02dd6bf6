"""The drum ops: ``drums`` (a new groove of N bars in a style) and ``fill`` (a span of a drum
clip replaced by a fill, everything outside the span kept bit for bit).

Both write only the nine GM drum classes the model was trained on (models/constants.py), with
velocities, then humanize on the seed (models/ops/humanize.py). ``drums`` reads the header (style,
metre, tempo); its kick leans on the note starts of the context's bass line (``kick_accents``),
and, when asked, it reads the context clips as forced tracks of every bar (untrained: off);
``fill`` reads up to ``CONTEXT_BARS`` bars of the clip before the span and writes the span's
bars flagged FILL, as the Groove fill recordings were tokenized.
"""

from __future__ import annotations

import math
import statistics

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, decode, quantize_part, snap
from models.ops import humanize
from models.ops.regions import Rewrite, Track, bars_budget, generated_notes, plan, quantize
from models.representation import Note, Part
from models.tasks import DrumsTask, FillTask

DRUM_PITCHES = frozenset(DRUM_CLASSES.values())
CONTEXT_BARS = 8  # clip bars read before a fill
CONTEXT_ROLES = {"melody": "melody", "bass": "bass", "chords": "chords"}  # clip kind -> track role
# The model saw drums only alone (Groove MIDI); context tracks beside them are an unseen mix.
# Off unless a caller asks: see the evaluation's drums-with-context figures.
USE_CONTEXT = False
# Notes per 4/4 bar, scaled by the bar's length: Groove train bars hold 12..28 (10th..90th pct).
# A minimum above what the model would write piles the missing notes up at the bar's end, so
# the minimums stay low unless density asks for more.
DENSITY_MIN = (2, 20)  # min notes at density 0 and 1 (no density given: DEFAULT_MIN)
DEFAULT_MIN = 6
DENSITY_MAX = (16, 40)
FILL_MIN = (2, 14)  # min notes per fill bar at intensity 0 and 1
FILL_MAX = (14, 36)
# With a bass (or chords) among the context clips, the kick leans on its note starts, as a
# drummer locks with the bass: the log-bias of a kick where a context note starts. On train
# chorale bass lines, 1.5 took the bass notes starting with a kick from 45% to 78% (and the
# kicks on a bass start from 42% to 59%) with the v1 weights; 2.5 locks harder and turns a
# walking quarter-note bass into four on the floor. The v2 weights lock less: on the first
# 4 bars of 24 train chorale basses (4 seeds; without the bass 2), 1.5 takes the bass starts
# with a kick only from 35% to 62% (kicks on a bass start 41% -> 62%, bars with a kick on all
# four beats 5% -> 17%); 2.0 gives 71% (65%, 25% such bars; v1 at 1.5: 31%), 2.5 gives 79%
# (70%, 37%).
KICK_LOCK = 2.0
BASS_BELOW = 55  # a context clip of unknown kind is read as the bass line when it sits this low
# A fill moves onto the toms and crash the harder it is played: their log-bias at intensity 1
# (on Groove train windows, 1.2 gave them 0.32 of a fill's hits at intensity 0.5 with the v1
# weights; drummers 0.30). With v2, on 40 Groove train windows (2 seeds), 1.2 gives 0.21 at
# intensity 0.5 and 0.30 at 0.8; 2.0 gives 0.28 and 0.52 (drummers' train fills: mean 0.30,
# 90th percentile 0.54), 2.4 gives 0.31 and 0.64. The fill's density barely moves with it.
FILL_EMPHASIS = 2.0
FILL_VOICES = tuple(DRUM_CLASSES[c] for c in ("low_tom", "mid_tom", "high_tom", "crash"))


def to_classes(notes: tuple[Note, ...] | list[Note]) -> list[Note]:
    """Drum notes mapped onto the nine classes the model knows (unknown pitches dropped)."""
    return [Note(DRUM_PITCH_MAP[n.pitch], n.start, n.duration, n.velocity)
            for n in notes if n.pitch in DRUM_PITCH_MAP]


def _lerp(pair: tuple[int, int], x: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * x


def build_drums(task: DrumsTask, block: int = 1024, use_context: bool = USE_CONTEXT) -> Rewrite:
    tpb = bar_ticks(task.time_signature)
    scale = tpb / 48
    density = 0.5 if task.density is None else task.density
    least = DEFAULT_MIN if task.density is None else _lerp(DENSITY_MIN, density)
    track = Track("drums", DRUM_PITCHES, min_notes=round(least * scale),
                  max_notes=max(4, round(_lerp(DENSITY_MAX, density) * scale)), accents=kick_accents(task))
    context = _context(task, tpb) if use_context else {}
    key = next((c.key for c in task.context if c.key), None) if context else None
    header = Header(task.style, task.time_signature, key, task.tempo)
    total = task.bars * tpb
    the_plan = plan(header, track, [], [(0, total)], task.bars, tpb, context)
    length = task.bars * tpb / V.TICKS_PER_BEAT

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        part = decode(tokens, length)[1].get("drums")
        notes = generated_notes(part, [], [(0, total)])
        notes = humanize.apply(notes, task.humanize, task.tempo, seed, (0.0, length))
        return [Part(tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), length, task.time_signature,
                     task.tempo, None, name=f"Drums ({task.style})", kind="drums")]

    return Rewrite(lambda rows, seed: [the_plan] * rows, finish)


def kick_accents(task: DrumsTask) -> tuple[tuple[int, int, float], ...]:
    """Kick accents where the context's bass line starts a note: the clip of kind bass, else
    chords, else a clip of unknown kind that sits low (median pitch under BASS_BELOW)."""
    clips = [c for c in task.context if c.time_signature == task.time_signature and c.notes]
    unknown = sorted((statistics.median(n.pitch for n in c.notes), i) for i, c in enumerate(clips) if c.kind is None)
    low = [clips[i] for median, i in unknown if median < BASS_BELOW][:1]
    bass = [c for c in clips if c.kind == "bass"] + [c for c in clips if c.kind == "chords"] + low
    if not bass:
        return ()
    end = task.bars * bar_ticks(task.time_signature)
    starts = sorted({t for n in bass[0].notes if 0 <= (t := snap(n.start * V.TICKS_PER_BEAT)) < end})
    return tuple((t, DRUM_CLASSES["kick"], KICK_LOCK) for t in starts)


def _context(task: DrumsTask, tpb: int) -> dict[str, list[list[tuple[int, int, int, int]]]]:
    out: dict[str, list[list[tuple[int, int, int, int]]]] = {}
    for clip in task.context:
        role = CONTEXT_ROLES.get(clip.kind or "melody")
        if role is None or role in out or clip.time_signature != task.time_signature:
            continue
        out[role] = quantize_part(clip, role, task.bars, tpb)
    return out


def fill_span(clip: Part, span: tuple[float, float] | None) -> tuple[float, float]:
    """The span in beats, inside the clip; default: the clip's last bar."""
    if span is None:
        return max(0.0, (clip.bars - 1) * clip.beats_per_bar), clip.length
    start, end = max(0.0, span[0]), min(clip.length, span[1])
    if not end > start:
        raise ValueError(f"span must overlap the clip (0..{clip.length:g} beats), got {span}")
    return start, end


def build_fill(task: FillTask, block: int = 1024) -> Rewrite:
    from models.styles.drums import guess_style

    clip = task.clip
    tpb = bar_ticks(clip.time_signature)
    start, end = fill_span(clip, task.span)
    lo = math.ceil(start * V.TICKS_PER_BEAT - 1e-6)
    hi = min(math.ceil(end * V.TICKS_PER_BEAT - 1e-6), math.ceil(clip.length * V.TICKS_PER_BEAT - 1e-6))
    outside = [n for n in clip.notes if not start <= n.start < end]
    first_bar, last_bar = lo // tpb, (hi - 1) // tpb
    every = quantize(to_classes(outside), "drums")
    from_bar = max(0, first_bar - CONTEXT_BARS, bars_budget([q for q in every if q[0] < lo], tpb, first_bar, block // 2))
    kept = [q for q in every if from_bar * tpb <= q[0] < (last_bar + 1) * tpb]
    scale = tpb / 48
    track = Track("drums", DRUM_PITCHES, min_notes=round(_lerp(FILL_MIN, task.intensity) * scale),
                  max_notes=max(4, round(_lerp(FILL_MAX, task.intensity) * scale)),
                  fill_bars=frozenset(range(first_bar, last_bar + 1)),
                  emphasis=tuple((p, FILL_EMPHASIS * task.intensity) for p in FILL_VOICES))
    header = Header(guess_style(clip), clip.time_signature, None, clip.tempo)
    the_plan = plan(header, track, kept, [(lo, hi)], last_bar - from_bar + 1, tpb, first_bar=from_bar, end_tick=hi)
    amount = task.humanize

    def finish(tokens: list[int] | None, row: int, seed: int) -> list[Part]:
        assert tokens is not None
        part = decode(tokens)[1].get("drums")
        notes = generated_notes(part, kept, [(lo, hi)], offset=from_bar * tpb)
        notes = humanize.apply(notes, amount, clip.tempo, seed, (start, end))
        merged = sorted(outside + notes, key=lambda n: (n.start, n.pitch))
        return [Part(tuple(merged), clip.length, clip.time_signature, clip.tempo, clip.key,
                     name=f"{clip.name or 'Drums'} (fill)", kind="drums")]

    return Rewrite(lambda rows, seed: [the_plan] * rows, finish,
                   temperature=0.9 + 0.25 * task.intensity)

