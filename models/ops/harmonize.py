"""Harmonize: a melody -> alto, tenor and bass voices (chorale), a block-chord part (chords) or
a bass line (bass), following a chord plan that sees the whole clip.

The plan is the producer's chords when given, the chords read from the clip when it is a chord
or keys part (answered with a new voicing or a bass line, never harmonized as a tune), and
otherwise the phrase-level planner's (models/harmony/plan.py). The chorale voices are written
by the model bar by bar under the plan (chord tones on the beats, the chord's bass where a
chord begins); the chord part and the bass line are voiced from the plan directly
(models/harmony/voicer.py). A pickup (given or detected) becomes the opening rest of a full
bar while the work is done, so bars fall where the music's bars are. A melody outside the
soprano's usual range is moved by octaves into it and the result moved back, no voice below E1.

Candidates: the plan voiced by the voicer first, then (a chorale) the model's voices under the
same plan, then the voicer on alternative plans the planner draws, each another harmony of the
tune; a given or read progression has no alternatives (the model's voices, or other voicings of
it, as before). Every candidate's parts name the plan they follow.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.decoding.decoding import Constraints, Plan, Segment
from models.decoding.guide import ChordGuide
from models.harmony import detect, plan, table, voicer
from models.harmony.detect import ChordSpan
from models.harmony.symbols import Chord
from models.keys import estimate_key, parse_key
from models.net import vocab as V
from models.net.tokenizer import (
    Header,
    bar_ticks,
    harmony_lane,
    header_tokens,
    note_tokens,
    quantize_part,
)
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
LOWEST = 28  # E1: no generated note goes below it
# The model's own chorale voices may reach past the voicer's SATB ranges (to the wider chorale
# ranges) only against this log-bias: a hard SATB range doubled their parallel fifths and
# octaves on the eval (0.17 -> 0.33-0.38 per 100 moves, seeds 0 and 1).
OUTSIDE_SATB = -3.0
OUT_OF_KEY = 0.2  # share of the melody's length outside a locked key that is worth a word
Realize = Callable[[int], dict[str, Part]]  # variant -> parts (a plan voiced without the model)


@dataclass(frozen=True)
class Voicing:
    """A candidate voiced without the model from a plan of its own."""

    chords: tuple[ChordSpan, ...]  # in the working copy's beats
    realize: Realize  # the request's seed -> parts


@dataclass(frozen=True)
class Setup:
    """A harmonization's plan and what is needed to turn its tokens back into clips."""

    plan: Plan
    roles: tuple[str, ...]
    octave_shift: int  # semitones the melody was moved by (a multiple of 12)
    key: str
    velocity: int
    chords: tuple[ChordSpan, ...] = ()  # the chord plan, in the clip's beats
    pad: float = 0.0  # beats of rest put before a pickup to fill its bar
    direct: Realize | None = None  # the parts are voiced from the plan, not decoded
    first: Realize | None = None  # the first candidate is voiced from the plan, the others decoded
    warning: str | None = None
    alternatives: tuple[Voicing, ...] = ()  # the candidates after the best plan's ``lead``

    @property
    def voiced(self) -> int:
        """Candidates ahead of the decoded ones that are voiced from the plan instead (0 or 1):
        their rows are not decoded, and :func:`finish` makes them from no tokens."""
        return int(self.first is not None)

    @property
    def lead(self) -> int:
        """Candidates from the best plan: its voicing, and for a decoded chorale the model's."""
        return 1 + self.voiced

    def decoded(self, candidates: int, first_draw: bool = True) -> int:
        """Rows a draw of ``candidates`` decodes: in a first draw those between the voiced one
        and the alternative plans (which, like it, :func:`finish` makes from no tokens), in a
        redraw every one; none where every part is voiced from the plan (``direct``: its plan
        holds nothing to write, and :func:`finish` would set aside what the model read)."""
        if self.direct is not None:
            return 0
        if not first_draw:
            return candidates
        return max(0, candidates - self.voiced - len(self.alternatives))

    def alternative(self, candidate: int) -> Voicing | None:
        """The voicing of an alternative plan that candidate number ``candidate`` is, if any."""
        i = candidate - self.lead
        return self.alternatives[i] if 0 <= i < len(self.alternatives) else None


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


def check_clip(clip: Part) -> None:
    """What harmonize accepts: a clip with notes that is not a drum part."""
    if clip.kind == "drums":
        raise ValueError("clip.kind is drums: harmonize takes a melody, or a chord or keys clip to "
                         "re-voice; for drums use drums, fill, vary or restyle")
    if not clip.notes:
        raise ValueError("clip.notes must hold at least one note to harmonize")


def is_chord_input(clip: Part) -> bool:
    """A chord or keys clip (kind chords, or a clip of stacked notes with no tune)."""
    return clip.kind == "chords" or (clip.kind != "melody" and detect.is_chord_clip(clip))


def detect_pickup(melody: Part) -> float:
    """Beats of pickup before the first bar line of a clip that starts with its first note (as
    notation programs export an anacrusis); 0 when the clip starts on its downbeat. A pickup is
    read when the long notes fall on the downbeats it implies and the last note starts on one,
    where without it they do not (or the clip's length is a pickup short of whole bars)."""
    bar = melody.beats_per_bar
    beat = 4.0 / melody.time_signature[1]  # a pickup is a whole number of the metre's note values
    if not melody.notes or min(n.start for n in melody.notes) > 1e-6:
        return 0.0  # the clip already holds its opening rest

    # a bar that halves into whole beats (4/4, 2/2, 6/8) has a second strong beat: long notes
    # there count half, so a tune whose phrases end on beat 3 is not read as a half-bar pickup
    half = bar / 2 if (bar / 2 / beat).is_integer() else None

    def on_downbeats(shift: float) -> float:
        return sum(n.duration ** 1.5 * (1.0 if _on_bar_line(n.start - shift, bar) else 0.5)
                   for n in melody.notes if _on_bar_line(n.start - shift, bar)
                   or (half is not None and _on_bar_line(n.start - shift - half, bar)))

    final = max(melody.notes, key=lambda n: n.start)
    if _on_bar_line(final.start, bar):
        return 0.0
    extra = melody.length % bar  # a clip of whole bars plus the pickup
    best, best_score = 0.0, on_downbeats(0.0)
    for k in range(1, round(bar / beat)):
        shift = k * beat
        whole_bars = abs(extra - shift) < 1e-6
        if not _on_bar_line(final.start - shift, bar) or not (whole_bars or final.end >= melody.length - 0.25):
            continue
        score = on_downbeats(shift)
        if score > 1.2 * best_score:
            best, best_score = shift, score
    return best


def _on_bar_line(beat: float, bar: float) -> bool:
    return abs((beat + 1e-6) % bar) < 2e-6


@dataclass(frozen=True)
class Harmony:
    """A clip's chord plan, and the working copy of its tune the plan was made on (a pickup's
    bar filled with rest, moved by octaves into the soprano's range)."""

    spans: tuple[ChordSpan, ...]  # in the working copy's beats (``pad`` after the clip's)
    moved: Part
    shift: int
    pad: float
    key: str
    chord_input: bool
    detected: bool = False  # the pickup was read from the melody, not given
    drawn: bool = False  # the planner's: other plans can be drawn (not given, not read from a clip)
    lock: frozenset[int] | None = None  # pitch classes a locked key leaves the planner

    def items(self) -> list[tuple[float, Chord]]:
        """(beat in the clip, chord) for every chord of the plan."""
        return [(max(0.0, s.start - self.pad), s.chord) for s in self.spans if s.end - self.pad > 1e-6]


def chord_plan(melody: Part, style: str = "chorale", key: str | None = None,
               chords: Sequence[tuple[float, str]] | None = None, pickup: float | None = None) -> Harmony:
    """The chords a harmonization of ``melody`` follows: ``chords`` when given, a chord clip's
    own progression, else the planner's (at a chord part's pace for the chords and bass styles)."""
    check_clip(melody)
    chord_input = is_chord_input(melody)
    bar = melody.beats_per_bar
    lead = detect_pickup(melody) if pickup is None and not chord_input and not chords else (pickup or 0.0)
    if not 0 <= lead < bar:
        raise ValueError(f"pickup must be in range 0..{bar:g} beats (shorter than a bar), got {lead:g}")
    pad = (bar - lead) % bar
    tune = top_line(melody) if chord_input else melody
    shift = octave_shift(tune)
    moved = _transpose(_delayed(tune, pad), shift)
    music_key = key or melody.key or estimate_key(_delayed(melody, pad).notes)
    if chords:
        spans = given(chords, pad, moved.length)
    elif chord_input:
        spans = detect.progression(_delayed(melody, pad), plan.step_beats(melody.time_signature))
    else:
        only = frozenset(p % 12 for p in scale_pitches(key) | _classes(moved)) if key else None
        spans = at_pace(style, moved, table.planner().plan(moved, music_key, only=only))
    drawn = not chords and not chord_input
    return Harmony(tuple(spans), moved, shift, pad, music_key, chord_input, pickup is None and lead > 0, drawn,
                   only if drawn else None)


def at_pace(style: str, moved: Part, spans: list[ChordSpan]) -> list[ChordSpan]:
    """A planner's plan as ``style`` follows it: a chorale's chord on every step, a chord part's
    and a bass line's at a chord part's pace (:func:`slower`)."""
    return spans if style == "chorale" else slower(spans, moved, pad_step(moved.time_signature))


def alternative_plans(h: Harmony, style: str, count: int, seed: int) -> list[list[ChordSpan]]:
    """Up to ``count`` other plans of the planner's for ``h``'s tune, drawn from ``seed``, each
    another harmony at the style's pace (:func:`models.harmony.plan.alternatives`)."""
    if count <= 0:
        return []
    draws = (at_pace(style, h.moved, d) for d in table.planner().draws(h.moved, h.key, seed, only=h.lock))
    grid = plan.step_beats(h.moved.time_signature) if style == "chorale" else pad_step(h.moved.time_signature)
    return plan.alternatives(h.spans, draws, count, grid)


def plan_harmony(melody: Part, style: str, key: str | None, pitch_range: tuple[int, int] | None,
                 chords: Sequence[tuple[float, str]] | None = None, pickup: float | None = None,
                 candidates: int = 2, seed: int = 0) -> Setup:
    """The work of one harmonize request: the chord plan, and how its parts are made (voiced
    from the plan, or decoded; a single chorale candidate needs no decoding), the alternative
    plans of the candidates after the best plan's drawn from ``seed``."""
    if style not in STYLE_ROLES:
        raise ValueError(f"style must be one of {', '.join(STYLE_ROLES)}, got {style!r}")
    h = chord_plan(melody, style, key, chords, pickup)
    words = [key_warning(melody, key) if key else None,
             f"a pickup of {melody.beats_per_bar - h.pad:g} beats was read from the melody (set --pickup to change it)"
             if h.detected else None]
    warning = "; ".join(w for w in words if w) or None
    setup = _realization(h.moved, style, h.key, pitch_range, key, h.shift, list(h.spans), h.chord_input,
                         candidates, functools.partial(alternative_plans, h, style, seed=seed) if h.drawn else None)
    return replace(setup, chords=h.spans, pad=h.pad, warning=warning)


def alternative_voicings(best: list[ChordSpan], voice: Callable[[list[ChordSpan]], Realize],
                         others: list[list[ChordSpan]], lead: int, candidates: int) -> tuple[Voicing, ...]:
    """The candidates after the best plan's ``lead``: the voicer on each alternative plan, then,
    where the tune leaves no more alternatives, other voicings of the best plan (variant =
    candidate number + seed, as every candidate of a fixed plan has)."""
    out = [Voicing(tuple(c), voice(c)) for c in others]
    realize = voice(best)
    out += [Voicing(tuple(best), functools.partial(_offset, realize, k)) for k in range(lead + len(out), candidates)]
    return tuple(out)


def _offset(realize: Realize, by: int, variant: int) -> dict[str, Part]:
    return realize(variant + by)


def _realization(moved: Part, style: str, music_key: str, pitch_range: tuple[int, int] | None,
                 locked_key: str | None, shift: int, spans: list[ChordSpan], chord_input: bool,
                 candidates: int, draw: Callable[[int], list[list[ChordSpan]]] | None = None) -> Setup:
    """How the parts of ``spans`` are made; ``draw(count)``: up to ``count`` alternative plans
    (None for a fixed plan, whose candidates keep to it)."""
    velocity = max(1, int(statistics.median(n.velocity for n in moved.notes)) - 8)
    header = Header("chorale", moved.time_signature, music_key, moved.tempo)
    forced = Plan([Segment(forced=header_tokens(header)), Segment(forced=[V.EOS])])
    roles = STYLE_ROLES[style]
    length, ts, tempo = moved.length, moved.time_signature, moved.tempo
    ranges = CHORALE_RANGES if style == "chorale" else VOICE_RANGES
    role_pitches(roles, ranges, pitch_range, shift, locked_key, moved)
    span = {r: _span(own, ranges[r], pitch_range, shift) for r, own in (*voicer.SATB.items(), ("chords", voicer.PAD))}
    span["line"] = _span(voicer.BASS, ranges["bass"], pitch_range, shift)
    tune = None if chord_input else moved
    step = plan.step_beats(ts)

    def voice(chords: list[ChordSpan]) -> Realize:
        """``chords`` voiced without the model, in the style's voicer."""
        realize: dict[str, Realize] = {
            "chords": lambda v: {"chords": voicer.block_chords(chords, tune, length, ts, tempo, music_key,
                                                               span["chords"], v)},
            "bass": lambda v: {"bass": voicer.bass_line(chords, length, ts, tempo, music_key,
                                                        frozenset(p % 12 for p in scale_pitches(music_key)),
                                                        span["line"], v)},
            "chorale": lambda v: voicer.chorale(moved, chords, step, ranges=span, variant=v),
        }
        return realize[style]

    decoded = style == "chorale" and not chord_input and candidates > 1
    lead = 2 if decoded else 1
    others = () if draw is None else alternative_voicings(spans, voice, draw(candidates - lead), lead, candidates)
    if not decoded:
        return Setup(forced, roles, shift, music_key, velocity, direct=voice(spans), alternatives=others)
    # the chorale: the voicer's setting first (it agrees best with Bach's harmony, see the model
    # card), then the model's own voices under the same plan, then the voicer on other plans
    return Setup(model_plan(moved, style, music_key, pitch_range, locked_key, shift, spans), roles, shift,
                 music_key, velocity, first=voice(spans), alternatives=others)


def _span(own: tuple[int, int], role: tuple[int, int], user: tuple[int, int] | None, shift: int) -> tuple[int, int]:
    """A voicer's range: its own inside the role's, inside the user's (moved by the melody's
    octave shift) where they meet, never below E1 once moved back."""
    low, high = max(own[0], role[0]), min(own[1], role[1])
    if user is not None:
        u = (user[0] + shift, user[1] + shift)
        low, high = (max(low, u[0]), min(high, u[1])) if max(low, u[0]) <= min(high, u[1]) else u
    low = max(low, LOWEST + shift)
    return low, max(low, high)


def model_plan(moved: Part, style: str, music_key: str, pitch_range: tuple[int, int] | None,
               locked_key: str | None, shift: int, spans: Sequence[ChordSpan]) -> Plan:
    """The decoding plan of the model's voices: the plan's chord lane and the melody as the
    context of every bar, each voice generated under its range, the key lock and the chord
    guide. A metre the token
    format has no name for (4/2) is written in shorter bars it has (2/2), beats unchanged."""
    moved = replace(moved, time_signature=token_metre(moved.time_signature))
    tpb = bar_ticks(moved.time_signature)
    header = Header("chorale", moved.time_signature, music_key, moved.tempo)
    bars = moved.bars
    end_tick = int(round(moved.length * V.TICKS_PER_BEAT))
    per_bar = quantize_part(moved, "melody", bars, tpb)
    roles = STYLE_ROLES[style]
    ranges = CHORALE_RANGES if style == "chorale" else VOICE_RANGES
    allowed = role_pitches(roles, ranges, pitch_range, shift, locked_key, moved)
    satb = {r: _span(own, ranges[r], pitch_range, shift) for r, own in voicer.SATB.items()} if style == "chorale" else {}
    outside = {r: tuple((p, OUTSIDE_SATB) for p in sorted(allowed[r]) if not satb[r][0] <= p <= satb[r][1])
               if r in satb else () for r in roles}
    beat = int(round(plan.step_beats(moved.time_signature) * V.TICKS_PER_BEAT))
    guide = ChordGuide(tuple((int(round(s.start * V.TICKS_PER_BEAT)), int(round(s.end * V.TICKS_PER_BEAT)),
                              s.chord.pitch_classes, s.chord.bass_pc) for s in spans), beat)
    segments = [Segment(forced=header_tokens(header))]
    order = [r for r in V.ROLE_ORDER if r in roles]
    melody_spans = [(bar * tpb + pos, bar * tpb + pos + dur, pitch)
                    for bar, notes in enumerate(per_bar) for pos, pitch, dur, _ in notes]
    cadence = final_cadence(melody_spans, music_key, allowed.get("bass", frozenset()))
    closing = closing_triad(melody_spans, music_key, spans) if cadence is not None and style == "chorale" else None
    cadences = {r: cadence if r == "bass" else None if closing is None else
                (closing[0], frozenset(p for p in allowed[r] if p % 12 in closing[1])) for r in roles}
    # the first upper voice written in the closing bar with no third heard yet takes the third
    completes = {r: frozenset({closing[2]}) if closing is not None and r != "bass" else frozenset() for r in roles}
    lanes = [s.lane for s in spans]
    for bar in range(bars):
        lane = harmony_lane(lanes, bar, tpb) if lanes else []
        segments.append(Segment(forced=[V.BAR, *lane, V.TRK["melody"]] + note_tokens(per_bar[bar], velocity=False)))
        sounding = bool(per_bar[bar]) or _held_into(per_bar, bar, tpb)
        for role in order:
            segments.append(Segment(forced=[V.TRK[role]]))
            segments.append(Segment(generate=Constraints(
                role=role, bar_start=bar * tpb, bar_ticks=tpb, end_tick=end_tick,
                pitches=allowed[role], min_notes=1 if sounding else 0,
                max_notes=24 if role == "chords" else 12, voices=VOICE_ORDER[style],
                legato=style == "chorale", cadence=cadences[role], hold=closing is not None,
                complete=completes[role], guide=guide,
                emphasis=outside[role],
            )))
    segments.append(Segment(forced=[V.EOS]))
    return Plan(segments, context={"melody": melody_spans} if VOICE_ORDER[style] else {})


def role_pitches(roles: Sequence[str], ranges: dict[str, tuple[int, int]], pitch_range: tuple[int, int] | None,
                 shift: int, locked_key: str | None, moved: Part) -> dict[str, frozenset[int]]:
    """Each role's allowed pitches (in the moved register): its range inside the user's, in the
    locked key (and the melody's own notes); a ValueError when a range leaves none."""
    locked = scale_pitches(locked_key) | _classes(moved) if locked_key else None
    allowed = {r: _pitches(ranges[r], pitch_range, shift, locked) for r in roles}
    for role, pitches in allowed.items():
        if not pitches:  # the range, moved with the melody's register, leaves MIDI 0..127
            wanted = f"pitch_range {pitch_range[0]}..{pitch_range[1]}" if pitch_range else "MIDI 0..127"
            raise ValueError(f"{wanted} leaves no pitch for the {role} of a melody this "
                             f"{'high' if shift < 0 else 'low'}; choose a range nearer the melody")
    return allowed


def token_metre(time_signature: tuple[int, int]) -> tuple[int, int]:
    """``time_signature``, or the metre of a half or a third of its bar when the token format
    has no name for it (4/2 -> 2/2, 8/4 -> 4/4); bars of one beat as a last resort."""
    num, den = time_signature
    for parts in (1, 2, 3, 4):
        if num % parts == 0 and f"{num // parts}/{den}" in V.METERS:
            return num // parts, den
    return (1, den) if f"1/{den}" in V.METERS else (4, 4) if den == 4 else time_signature


def given(chords: Sequence[tuple[float, str]], pad: float, length: float) -> list[ChordSpan]:
    """The producer's chords ((start beat, symbol), in time order) as spans, each lasting until
    the next."""
    from models.harmony.symbols import parse

    ordered = sorted((start + pad, parse(symbol)) for start, symbol in chords)
    out = []
    for i, (start, chord) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else length
        if end > start and start < length:
            out.append(ChordSpan(start, min(end, length), chord))
    return out


def slower(spans: Sequence[ChordSpan], melody: Part, step: float) -> list[ChordSpan]:
    """The plan at a chord part's pace (``step`` beats): in each step, the planned chord whose
    tones cover most of the melody there; the last step takes the plan's last chord (the
    planner's close: the tonic under a melody ending on it), which a chord before it covering as
    much of the melody would otherwise win."""
    out: list[Chord | None] = []
    k = 0
    while k * step < melody.length - 1e-6:
        a, b = k * step, (k + 1) * step
        inside = [s.chord for s in spans if s.start < b - 1e-6 and s.end > a + 1e-6]
        heard = detect.weights(melody.notes, a, b)
        out.append(max(inside, key=functools.partial(_cover, heard=heard)) if inside else None)
        k += 1
    if spans and out and out[-1] is not None:
        out[-1] = spans[-1].chord
    return plan.spans(out, step, melody.length)


def _cover(chord: Chord, heard: dict[int, float]) -> float:
    return sum(w for pc, w in heard.items() if pc in chord.pitch_classes)


def pad_step(time_signature: tuple[int, int]) -> float:
    """A chord part's harmonic rhythm: the bar in short bars (2/4, 3/4, 6/8), half a bar when it
    halves into beats (4/4, 2/2, 4/2, 12/8), else the metre's beat (5/4, 9/8, 3/2)."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    beat = plan.step_beats(time_signature)
    beats = round(bar / beat)
    if beats <= 3 and not (time_signature[1] == 8 and beats == 3):
        return bar
    return bar / 2 if beats % 2 == 0 else beat


def key_warning(melody: Part, key: str) -> str | None:
    """A sentence when the melody spends a fifth of its length or more outside a locked key."""
    inside = {p % 12 for p in scale_pitches(key)}
    total = sum(n.duration for n in melody.notes)
    outside = [n for n in melody.notes if n.pitch % 12 not in inside]
    share = sum(n.duration for n in outside) / total if total else 0.0
    if share < OUT_OF_KEY:
        return None
    names = sorted({Chord(n.pitch % 12).symbol for n in outside})
    return (f"the melody spends {share:.0%} of its length outside {key} ({', '.join(names)}); "
            "the harmony keeps to the key and to the melody's own notes")


def authentic_close(melody: list[tuple[int, int, int]], key: str) -> tuple[int, int, int] | None:
    """(tick, tonic pitch class, its step above the tonic) of the melody's last note when it
    belongs to the tonic chord (a third of either kind, for a Picardy close in minor): an
    authentic close. None when the melody ends elsewhere (an open or half close)."""
    if not melody:
        return None
    start, _, pitch = max(melody)
    tonic, _ = parse_key(key)
    step = (pitch - tonic) % 12
    return (start, tonic, step) if step in (0, 3, 4, 7) else None


def final_cadence(melody: list[tuple[int, int, int]], key: str, bass: frozenset[int]) -> tuple[int, frozenset[int]] | None:
    """Under an authentic close (:func:`authentic_close`) the bass sounds the tonic under the
    melody's last note, root position, as chorales end: (that tick, the bass's tonic pitches)."""
    close = authentic_close(melody, key)
    if close is None:
        return None
    start, tonic, _ = close
    roots = frozenset(p for p in bass if (p - tonic) % 12 == 0)
    return (start, roots) if roots else None


def closing_triad(melody: list[tuple[int, int, int]], key: str,
                  spans: Sequence[ChordSpan]) -> tuple[int, frozenset[int], int] | None:
    """Under an authentic close (:func:`authentic_close`), the tonic triad every voice closes on
    at the melody's last onset: (that tick, its pitch classes, its third's pitch class). The third
    is the melody's when the melody ends on one (a Picardy third in minor), else the chord plan's
    closing chord's where it stands on the tonic, else the key's. A chorale holds this chord to
    its end."""
    close = authentic_close(melody, key)
    if close is None:
        return None
    start, tonic, step = close
    last = spans[-1].chord if spans else None
    planned = {(t - tonic) % 12 for t in last.tones} & {3, 4} if last is not None and last.root == tonic else set()
    third = step if step in (3, 4) else min(planned) if len(planned) == 1 else 3 if parse_key(key)[1] == "minor" else 4
    return start, frozenset((tonic + i) % 12 for i in (0, third, 7)), (tonic + third) % 12


def top_line(part: Part) -> Part:
    """The highest note of each onset of a chord clip, as a tune."""
    tops: dict[float, Note] = {}
    for n in part.notes:
        held = tops.get(n.start)
        if held is None or n.pitch > held.pitch:
            tops[n.start] = n
    return Part(tuple(tops[t] for t in sorted(tops)), part.length, part.time_signature, part.tempo, part.key,
                part.name, "melody")


def _classes(part: Part) -> frozenset[int]:
    pcs = {n.pitch % 12 for n in part.notes}
    return frozenset(p for p in range(128) if p % 12 in pcs)


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
    return frozenset(p for p in out if 0 <= p - shift <= 127 and p - shift >= LOWEST)


def _transpose(part: Part, semitones: int) -> Part:
    if semitones == 0:
        return part
    notes = tuple(Note(min(127, max(0, n.pitch + semitones)), n.start, n.duration, n.velocity) for n in part.notes)
    return Part(notes, part.length, part.time_signature, part.tempo, part.key, part.name, part.kind)


def _delayed(part: Part, beats: float) -> Part:
    if beats <= 0:
        return part
    notes = tuple(Note(n.pitch, n.start + beats, n.duration, n.velocity) for n in part.notes)
    return Part(notes, part.length + beats, part.time_signature, part.tempo, part.key, part.name, part.kind)


def plan_text(setup: Setup, chords: Sequence[ChordSpan] | None = None) -> str:
    """The chord plan (``chords``, else the setup's) in the clip's beats: '0:Am 4:F/A 8:C 12:G'."""
    return " ".join(f"{max(0.0, s.start - setup.pad):g}:{s.chord.symbol}"
                    for s in (setup.chords if chords is None else chords) if s.end - setup.pad > 1e-6)


def finish(setup: Setup, parts: dict[str, Part], melody: Part, style: str, variant: int,
           seed: int = 0) -> list[Part]:
    """Decoded (or directly voiced) parts -> the output clips: moved back by the melody's octave
    shift and the pickup's padding, clipped to the melody's length, no note below E1, named
    after their voice; each carries the chord plan (and any word about the key). A plan voiced
    without the model takes its voicer's setting ``variant`` + ``seed``: seed 0 gives the plain
    setting first, another seed another voicing of the same chords. A candidate of an alternative
    plan (``variant`` is the candidate's number) is that plan voiced, named by it."""
    other = setup.alternative(variant)
    if other is not None:
        parts = other.realize(seed)
    elif setup.direct is not None:
        parts = setup.direct(variant + seed)
    elif setup.first is not None and variant == 0:
        parts = setup.first(seed)
    extra = {"chords": plan_text(setup, other.chords if other else None)} | ({"warning": setup.warning} if setup.warning else {})
    out = []
    for role in setup.roles:
        part = parts.get(role) or Part((), melody.length)
        notes = []
        for n in part.notes:
            start, end = max(0.0, n.start - setup.pad), min(melody.length, n.end - setup.pad)
            if end - start < 1e-6:
                continue
            pitch = n.pitch - setup.octave_shift
            while pitch < LOWEST:
                pitch += 12
            notes.append(Note(min(127, pitch), start, end - start, setup.velocity))
        out.append(Part(tuple(notes), melody.length, melody.time_signature, melody.tempo, setup.key,
                        name=f"{OUTPUT_NAMES[role]} ({style})", kind=OUTPUT_KINDS[role], extra=dict(extra)))
    return out
