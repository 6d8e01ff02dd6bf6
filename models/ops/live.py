"""Live harmonization, one melody note at a time (the `dawbridge ports` harmonizer).

The `harmonize` task decodes whole bars after the whole melody; a player at a keyboard needs
the harmony of the note just pressed within a few milliseconds. :class:`LiveHarmonizer` keeps a
rolling context -- the recent bars of melody as played and the harmony it chose, in the token
format the model was trained on -- with the KV cache of the completed bars kept warm, and
answers each note-on with a short constrained decode of one onset: per voice the position is
forced to the note's grid position, the model chooses the pitch (voice range, key lock, below
the tune, no crossing), and the duration is forced to the expected note length. A background
thread reads the completed bars into a fresh cache at each bar line, so a note costs the
current bar's tokens plus one step per voice.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from models.constants import CHORALE_RANGES, VOICE_RANGES
from models.decoding.decoding import Sampler
from models.errors import ModelUnavailable
from models.keys import estimate_key
from models.net import vocab as V
from models.net.tokenizer import Header, bar_ticks, header_tokens, note_tokens, snap
from models.ops.harmonize import SOPRANO_CENTRE, STYLE_ROLES, scale_pitches
from models.representation import Note

if TYPE_CHECKING:  # the engine's interface, named here only in a type hint
    from models.interface import Composer
from models.net.transformer import GPT, KVCache

CONTEXT_TOKENS = 320  # completed-bar tokens kept in the warm cache
CONTEXT_BARS = 8  # completed bars at most
STALE_BARS = 2  # completed bars a note may read past the cache before it is rebuilt at once
MELODY_PER_ONSET = 4  # melody notes at one grid position that enter the context (highest)
CHORD_NOTES = (2, 4)  # notes of a `chords` onset, least and most
DEFAULT_DURATION = 12  # ticks (a beat) expected of a note before any has ended
SAME_ONSET_LOOKBACK = 8  # voice notes ``onset`` looks back through for one at the same position


@dataclass(eq=False)
class LiveNote:
    """A note in the rolling context; ``dur`` is None while it sounds."""

    tick: int  # onset on the 12-per-beat grid, from the stream's beat 0
    pitch: int  # as played or sent
    dur: int | None = None
    guess: int = DEFAULT_DURATION  # the duration the context assumed while it was sounding


@dataclass(frozen=True)
class Voicing:
    """The harmony chosen for one melody note: (role, note) in the model's role order."""

    melody: LiveNote
    voices: tuple[tuple[str, LiveNote], ...]


@dataclass
class _Prefix:
    """The warm cache: header plus completed bars ``first_bar .. end_bar - 1``."""

    cache: KVCache
    length: int
    end_bar: int
    shift: int  # semitones the context is moved by (the engine's octave shift)
    pitches: dict[str, frozenset[int]]  # allowed pitches per role, moved
    generation: int  # the context it was read from (``reset`` starts a new one)
    fed: list[int] = field(default_factory=list)  # tokens in the cache after ``length``


def live_model(composer: Composer) -> GPT:
    """The Transformer inside a loaded composer, or ModelUnavailable saying why not."""
    model = getattr(composer, "model", None)
    if not isinstance(model, GPT) or "harmonize" not in composer.ops():
        raise ModelUnavailable(f"the loaded model ({composer.name}) cannot harmonize live")
    return model


class LiveHarmonizer:
    """Note-by-note harmony from one model. ``onset``/``end`` from one thread; ``refresh``
    may be called from the same thread whenever it is idle."""

    def __init__(self, model: GPT, style: str = "chorale", key: str | None = None,
                 time_signature: tuple[int, int] = (4, 4), tempo: float | None = None,
                 temperature: float = 0.8, seed: int = 0, background: bool = True) -> None:
        if style not in STYLE_ROLES:
            raise ValueError(f"style must be one of {', '.join(STYLE_ROLES)}, got {style!r}")
        self.model = model
        self.style = style
        self.key = key
        self.locked = scale_pitches(key) if key else None  # raises ValueError naming the form
        self.tpb = bar_ticks(time_signature)
        self.time_signature = time_signature
        self.tempo = tempo
        self.roles = tuple(r for r in V.ROLE_ORDER if r in STYLE_ROLES[style])
        self.ranges = CHORALE_RANGES if style == "chorale" else VOICE_RANGES
        self.sampler = Sampler(temperature=temperature, seed=seed)
        self.background = background
        self.device = next(model.parameters()).device
        self._melody: list[LiveNote] = []
        self._voices: dict[str, list[LiveNote]] = {r: [] for r in self.roles}
        self._lock = threading.Lock()
        self._prefix: _Prefix | None = None
        self._rebuilding: threading.Thread | None = None
        self._generation = 0

    # --- the note path --------------------------------------------------------------------

    def onset(self, beats: float, pitch: int) -> Voicing | None:
        """A melody note-on at ``beats``: decode and record its harmony. None when this grid
        position already has its harmony (a chord or a grace note in the melody)."""
        tick = snap(beats * V.TICKS_PER_BEAT)
        bar, pos = divmod(tick, self.tpb)
        with self._lock:
            melody = LiveNote(tick, pitch, guess=self._expected_duration())
            if self._melody and tick < self._melody[-1].tick:  # the song jumped back
                self._clear()
            self._melody.append(melody)
            if any(n.tick == tick for n in self._voices[self.roles[0]][-SAME_ONSET_LOOKBACK:]):
                return None
            for notes in self._voices.values():  # a new onset ends each voice's last note
                if notes and notes[-1].dur is None:
                    notes[-1].dur = max(1, tick - notes[-1].tick)
            self._prune(bar)
        prefix = self._prefix_for(bar)
        chosen = self._decode(prefix, bar, pos, pitch + prefix.shift)
        voices = tuple((role, LiveNote(tick, p - prefix.shift)) for role, p in chosen)
        with self._lock:
            for role, note in voices:
                self._voices[role].append(note)
        return Voicing(melody, voices)

    def end(self, note: LiveNote, beats: float) -> None:
        """A note of the context (melody or voice) stopped sounding at ``beats``."""
        if note.dur is None:
            note.dur = max(1, snap(beats * V.TICKS_PER_BEAT) - note.tick)

    @torch.inference_mode()
    def _decode(self, prefix: _Prefix, bar: int, pos: int, top: int) -> list[tuple[str, int]]:
        with self._lock:
            stable = self._bars_tokens(prefix.end_bar, bar, prefix.shift)
            stable += self._partial_melody(bar, prefix.shift, frozen=True)
            expected = V.DUR0 + V.duration_index(self._expected_duration())
            sections = {r: self._role_tokens(r, bar, prefix.shift) for r in self.roles}
        cache = prefix.cache
        if stable[:len(prefix.fed)] == prefix.fed:  # the bar so far is in the cache: add the new note
            feed = stable[len(prefix.fed):]
            _truncate(cache, prefix.length + len(prefix.fed))
        else:
            feed = stable
            _truncate(cache, prefix.length)
        prefix.fed = []
        chosen: list[tuple[str, int]] = []
        floor = 0
        try:
            for r, role in enumerate(self.roles):
                feed += [V.TRK[role]] + sections[role] + [V.POS0 + pos]
                allowed = self._allowed(prefix, r, floor, top)
                used: list[int] = []
                for i in range(CHORD_NOTES[1] if role == "chords" else 1):
                    options = [V.PITCH0 + p for p in allowed if p not in used]
                    if not options:
                        break
                    logits = self.model(torch.tensor([feed], device=self.device), cache)[0, -1]  # (V,)
                    if r == 0 and i == 0:
                        prefix.fed = stable  # its cache entries are now complete
                    if role == "chords" and i >= CHORD_NOTES[0]:
                        options.append(V.BAR)  # "no more notes at this onset"
                    token = self.sampler.pick(logits, options)
                    if token == V.BAR:
                        break
                    used.append(token - V.PITCH0)
                    feed = [token, expected]
                if self.style == "chorale" and used:
                    floor = used[0] + 1  # the next voice up neither crosses nor doubles this one
                chosen += [(role, p) for p in sorted(used)]
        finally:
            _truncate(cache, prefix.length + len(prefix.fed))  # keep the bar's melody warm
        return chosen

    def _allowed(self, prefix: _Prefix, index: int, floor: int, top: int) -> list[int]:
        """Pitches of voice ``index``: at or above ``floor``, below the tune (``top``), leaving
        room for the voices above it; without room, only the first rule that can be kept."""
        pitches = sorted(prefix.pitches[self.roles[index]])
        above = [prefix.pitches[r] for r in self.roles[index + 1:]] if self.style == "chorale" else []

        def room(p: int) -> bool:
            for upper in above:
                p = min((q for q in upper if p < q < top), default=-1)
                if p < 0:
                    return False
            return True

        return ([p for p in pitches if floor <= p < top and room(p)]
                or [p for p in pitches if floor <= p < top] or [p for p in pitches if floor <= p] or pitches)

    # --- the rolling context --------------------------------------------------------------

    def refresh(self, beats: float) -> None:
        """Idle-time housekeeping: once a bar line has passed, read the completed bars into a
        fresh cache (in a background thread unless ``background`` is off)."""
        bar = snap(beats * V.TICKS_PER_BEAT) // self.tpb
        prefix = self._prefix
        if prefix is None or prefix.end_bar >= bar:
            return
        if self._rebuilding is not None and self._rebuilding.is_alive():
            return
        if not self.background:
            self._install(self._build(bar))
            return
        self._rebuilding = threading.Thread(target=lambda: self._install(self._build(bar)),
                                            name="live-context", daemon=True)
        self._rebuilding.start()

    def warm_up(self) -> None:
        """One throw-away note, so the first real one does not pay for first-call set-up."""
        self.onset(0.0, SOPRANO_CENTRE)
        self.reset()

    def reset(self) -> None:
        """Forget the context (the transport restarted or jumped)."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._melody = []
        self._voices = {r: [] for r in self.roles}
        self._prefix = None
        self._generation += 1

    def wait(self) -> None:
        """Block until a background rebuild (if any) is finished."""
        if self._rebuilding is not None:
            self._rebuilding.join()

    def _prefix_for(self, bar: int) -> _Prefix:
        prefix = self._prefix
        if prefix is None or bar - prefix.end_bar > STALE_BARS:
            prefix = self._install(self._build(bar))
        return prefix

    def _install(self, prefix: _Prefix) -> _Prefix:
        with self._lock:
            if prefix.generation == self._generation and (
                    self._prefix is None or prefix.end_bar >= self._prefix.end_bar):
                self._prefix = prefix
            return self._prefix or prefix

    @torch.inference_mode()
    def _build(self, end_bar: int) -> _Prefix:
        with self._lock:
            generation = self._generation
            recent = [n.pitch for n in self._melody[-32:]]
            shift = 12 * round((SOPRANO_CENTRE - statistics.median(recent)) / 12) if recent else 0
            key = self.key or (estimate_key([Note(n.pitch, 0.0, (n.dur or DEFAULT_DURATION) / 12.0)
                                             for n in self._melody[-64:]]) if recent else None)
            first = max(self._first_bar(), end_bar - CONTEXT_BARS)
            bars = [self._bars_tokens(b, b + 1, shift) for b in range(first, end_bar)]
        budget = min(CONTEXT_TOKENS, self.model.config.block_size // 2)  # room left for the open bar
        while bars and sum(len(b) for b in bars) > budget:
            bars.pop(0)
        tokens = header_tokens(Header("chorale", self.time_signature, key, self.tempo))
        tokens += [t for b in bars for t in b]
        cache = KVCache(self.model.config.n_layer, capacity=self.model.config.block_size)
        self.model(torch.tensor([tokens], device=self.device), cache)
        return _Prefix(cache, len(tokens), end_bar, shift, self._pitches(shift), generation)

    def _pitches(self, shift: int) -> dict[str, frozenset[int]]:
        out = {}
        for role in self.roles:
            low, high = self.ranges[role]
            pitches = frozenset(p for p in range(low, high + 1) if 0 <= p - shift <= 127)
            if self.locked is not None:
                pitches = frozenset(p for p in pitches if p in self.locked) or pitches
            out[role] = pitches
        return out

    def _first_bar(self) -> int:
        return self._melody[0].tick // self.tpb if self._melody else 0

    def _prune(self, bar: int) -> None:
        keep = (bar - CONTEXT_BARS - STALE_BARS - 1) * self.tpb
        self._melody = [n for n in self._melody if n.tick >= keep or n.dur is None]
        for role, notes in self._voices.items():
            self._voices[role] = [n for n in notes if n.tick >= keep or n.dur is None]

    # --- tokens ---------------------------------------------------------------------------

    def _bars_tokens(self, start: int, stop: int, shift: int) -> list[int]:
        """Whole bars ``start .. stop - 1``: the melody, then each voice."""
        out: list[int] = []
        for bar in range(start, stop):
            out += self._partial_melody(bar, shift)
            for role in self.roles:
                out += [V.TRK[role]] + self._role_tokens(role, bar, shift)
        return out

    def _partial_melody(self, bar: int, shift: int, frozen: bool = False) -> list[int]:
        """BAR TRK_melody and the melody notes of ``bar`` known so far; ``frozen``: with the
        durations assumed at their note-ons (so the tokens of an open bar only ever grow)."""
        at: dict[int, list[LiveNote]] = {}
        for n in self._melody:
            if n.tick // self.tpb == bar:
                at.setdefault(n.tick, []).append(n)
        notes = []
        for tick, group in at.items():
            pitches = sorted({n.pitch: n for n in group}.items())[-MELODY_PER_ONSET:]
            notes += [(tick - bar * self.tpb, _clamp(p + shift), n.guess if frozen else self._duration(n), 0)
                      for p, n in pitches]
        return [V.BAR, V.TRK["melody"]] + note_tokens(sorted(notes), velocity=False)

    def _role_tokens(self, role: str, bar: int, shift: int) -> list[int]:
        notes = [n for n in self._voices[role] if n.tick // self.tpb == bar]
        rows = []
        for i, n in enumerate(notes):
            dur = self._duration(n)
            if role in V.MONOPHONIC_ROLES and i + 1 < len(notes):
                dur = min(dur, notes[i + 1].tick - n.tick)
            rows.append((n.tick - bar * self.tpb, _clamp(n.pitch + shift), max(1, dur), 0))
        return note_tokens(sorted(set(rows)), velocity=False)

    def _duration(self, note: LiveNote) -> int:
        return note.dur if note.dur is not None else self._expected_duration()

    def _expected_duration(self) -> int:
        ended = [n.dur for n in self._melody[-9:] if n.dur is not None]
        return int(statistics.median(ended)) if ended else DEFAULT_DURATION


def _clamp(pitch: int) -> int:
    return min(127, max(0, pitch))


def _truncate(cache: KVCache, length: int) -> None:
    """Forget everything after the first ``length`` positions (the buffers are kept)."""
    cache.pos = min(cache.pos, length)
