"""The DAWBridge wire protocol: every message a DAW script, the CLI or a worker exchanges with
the engine, as pydantic v2 models.

This module is the single source of truth for the protocol. The JSON Schema generated from it
is committed as ``bridge/protocol.schema.json`` (``python -m bridge.schema``) and a test fails
when the two drift. Musical times are quarter-note beats relative to the clip start.

Frames: a client sends one JSON object per message (after an empty delimiter frame when it
uses DEALER). Every request carries a client-chosen ``id``; the engine answers it with exactly
one final reply (``ok`` true or false) carrying the same id, optionally preceded by progress
events.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from models.harmony.symbols import parse as parse_chord
from models.keys import canonical_key

# The styles the model knows, as the vocabulary lists them (the Literals below match them).
from models.net.vocab import DRUM_STYLES as DRUM_STYLES
from models.net.vocab import MELODY_STYLES as MELODY_STYLES

PROTOCOL_VERSION = 1

MAX_NOTES_PER_CLIP = 8192  # 256 bars of a busy drum part (32 notes a bar); a dense piano part of 64 bars
MAX_NOTES_PER_REQUEST = 8192  # every clip of one request together (a drum request's context clips)
MAX_CLIP_BEATS = 1024.0  # 256 bars of 4/4
MAX_CONTEXT_CLIPS = 8
MAX_CANDIDATES = 8
MAX_ID_CHARS = 128
MAX_GENERATED_BARS = 64
MAX_COMMAND_ITEMS = 64  # values in a dispatch command, nested ones included
MAX_COMMAND_DEPTH = 4
MAX_COMMAND_NUMBER = 2**31  # numbers in a dispatch command are finite and at most this in size

HARMONIZE_STYLES = ("chorale", "chords", "bass")

HarmonizeStyle = Literal["chorale", "chords", "bass"]
DrumStyle = Literal[
    "rock", "funk", "jazz", "latin", "hiphop", "soul", "pop", "punk", "reggae", "blues",
    "country", "dance", "gospel", "afrobeat", "afrocuban", "highlife", "middleeastern",
    "neworleans",
]
MelodyStyle = Literal["chorale", "reel", "jig", "hornpipe", "air", "polka", "waltz", "march"]
ClipKind = Literal["melody", "chords", "bass", "drums", "other"]
MAX_KEY_CHARS = 32
MAX_CHORDS = 1024  # one chord a beat over the longest clip
MAX_SYMBOL_CHARS = 16


class ErrorCode(str, Enum):
    """The closed set of error codes an engine may answer with."""

    invalid_request = "invalid_request"  # not JSON, wrong shape, a field out of range
    unsupported_version = "unsupported_version"  # "v" is not PROTOCOL_VERSION
    unknown_op = "unknown_op"  # "op" names no operation
    too_large = "too_large"  # the frame exceeds the engine's size limit
    model_unavailable = "model_unavailable"  # no usable weights are loaded
    overloaded = "overloaded"  # the request queue is full; retry later
    timeout = "timeout"  # the request's deadline passed before it finished
    cancelled = "cancelled"  # a cancel request stopped it
    not_found = "not_found"  # cancel/dispatch named something the engine does not hold
    duplicate_id = "duplicate_id"  # this client already has a request in flight with this id
    unavailable = "unavailable"  # an upstream engine or worker cannot be reached
    unauthorized = "unauthorized"  # the peer is not allowed to do this
    shutting_down = "shutting_down"  # the engine is stopping and takes no new work
    internal = "internal"  # a bug in the engine; the message says what failed


def _key_name(value: str | None) -> str | None:
    """A key as people type it ("C major", "Cm", "F#m", "bb minor", "A min"), held in its canonical
    form ("C minor"); anything else is refused with the accepted spellings."""
    return None if value is None else canonical_key(value)


class _Strict(BaseModel):
    # allow_inf_nan=False: 1e999 (infinity) and NaN are refused in every float field
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- music -------------------------------------------------------------------------------


class Note(_Strict):
    """One note. Times are quarter-note beats from the clip start."""

    pitch: int = Field(ge=0, le=127, description="MIDI note number 0..127 (GM drum map on drum clips).")
    start: float = Field(ge=0.0, le=MAX_CLIP_BEATS, description="Onset in beats from the clip start.")
    duration: float = Field(gt=0.0, le=MAX_CLIP_BEATS, description="Length in beats, > 0.")
    velocity: int = Field(default=100, ge=1, le=127, description="MIDI velocity 1..127.")
    channel: int | None = Field(default=None, ge=0, le=15, description="MIDI channel 0..15 (9 = GM drums).")


class Clip(_Strict):
    """A MIDI clip in DAW-neutral form: notes, length, metre, and what is known of its music."""

    notes: list[Note] = Field(default_factory=list, max_length=MAX_NOTES_PER_CLIP,
                              description=f"At most {MAX_NOTES_PER_CLIP} notes, each starting inside the clip.")
    length: float = Field(gt=0.0, le=MAX_CLIP_BEATS, description="Clip length in beats.")
    time_signature: tuple[int, int] = Field(default=(4, 4), description="[numerator 1..32, denominator 1|2|4|8|16|32].")
    tempo: float | None = Field(default=None, ge=10.0, le=400.0, description="Beats per minute at the clip start.")
    key: str | None = Field(default=None, max_length=MAX_KEY_CHARS, description='Key such as "C major" or "F# minor" (also "Cm", "F#m", "Bb min").')
    _key = field_validator("key")(_key_name)
    name: str | None = Field(default=None, max_length=256, description="The clip's or track's name in the DAW.")
    kind: ClipKind | None = Field(default=None, description="What the clip holds; guessed from its notes when absent.")

    @field_validator("time_signature")
    @classmethod
    def _metre(cls, value: tuple[int, int]) -> tuple[int, int]:
        return _check_metre(value)

    @model_validator(mode="after")
    def _notes_inside(self) -> Clip:
        for index, note in enumerate(self.notes):
            if note.start >= self.length:
                raise ValueError(
                    f"notes[{index}].start must be in range 0..{self.length:g}, below the clip length, got {note.start:g}"
                )
        return self


Span = tuple[float, float]


# --- requests ----------------------------------------------------------------------------


class _Request(_Strict):
    v: Literal[1] = Field(description="Protocol version; must be 1.")

    @field_validator("v", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if type(value) is not int:
            raise ValueError(f"v must be the integer {PROTOCOL_VERSION}")
        return value
    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="Client-chosen request id, echoed in every reply.")
    timeout: float | None = Field(default=None, gt=0.0, le=600.0,
                                  description="Seconds the client will wait; the engine answers 'timeout' after it.")


class _Generate(_Request):
    candidates: int = Field(default=1, ge=1, le=MAX_CANDIDATES, description="Distinct results to return, 1..8.")
    temperature: float = Field(default=1.0, ge=0.05, le=2.0, description="Sampling temperature 0.05..2.0.")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1,
                             description="Same seed + same input = same output; random when absent.")


class ChordAt(_Strict):
    """A chord symbol and its onset: the harmony from this beat until the next chord."""

    start: float = Field(ge=0.0, le=MAX_CLIP_BEATS, description="Onset in beats from the clip start.")
    symbol: str = Field(min_length=1, max_length=MAX_SYMBOL_CHARS,
                        description='A chord symbol: root A-G with an optional # or b, a quality (none for major, m, 7, maj7, m7, dim, dim7, m7b5, aug, sus2, sus4, 6, m6, 7sus4, ...) and an optional /bass, e.g. "Am", "F/A", "G7", "Bbmaj7".')

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        parse_chord(value)  # raises ValueError naming the symbol and what is accepted
        return value


class HarmonizeRequest(_Generate):
    """A melody clip -> harmony clips aligned to its bars, in its key; or a chord or keys clip ->
    a new voicing or a bass line of its chords."""

    op: Literal["harmonize"]
    clip: Clip = Field(description="The melody to harmonize (or a chord clip to re-voice; drums are refused).")
    chords: list[ChordAt] | None = Field(default=None, max_length=MAX_CHORDS,
                                         description="The producer's chords, in time order: the harmony follows them instead of planning its own.")
    pickup: float | None = Field(default=None, ge=0.0, le=MAX_CLIP_BEATS,
                                 description="Beats before the clip's first bar line (an anacrusis); absent: read from the melody.")
    style: HarmonizeStyle = Field(default="chorale",
                                  description="chorale: alto, tenor, bass voices; chords: a block-chord part; bass: a bass line. "
                                              "The planned chords are the same for every seed; the seed picks how they are voiced.")
    key: str | None = Field(default=None, max_length=MAX_KEY_CHARS, description='Lock every generated note to this key, e.g. "G major", "F#m", "Bb min".')
    _key = field_validator("key")(_key_name)
    pitch_range: tuple[int, int] | None = Field(default=None, description="[low, high] MIDI pitches for generated notes.")

    @field_validator("pitch_range")
    @classmethod
    def _range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        return _check_pitch_range(value)

    @model_validator(mode="after")
    def _chords_in_clip(self) -> HarmonizeRequest:
        starts = [c.start for c in self.chords or []]
        for i, start in enumerate(starts):
            if start >= self.clip.length:
                raise ValueError(f"chords[{i}].start must be in range 0..{self.clip.length:g}, below the clip length, got {start:g}")
            if i and start <= starts[i - 1]:
                raise ValueError(f"chords[{i}].start must be after chords[{i - 1}].start ({starts[i - 1]:g}), got {start:g}")
        bar = self.clip.time_signature[0] * 4.0 / self.clip.time_signature[1]
        if self.pickup is not None and self.pickup >= bar:
            raise ValueError(f"pickup must be in range 0..{bar:g} beats, shorter than a bar (of "
                             f"{self.clip.time_signature[0]}/{self.clip.time_signature[1]}), got {self.pickup:g}")
        return self


class DrumsRequest(_Generate):
    """A drum clip (GM drum map) of the requested length and style, fitting optional context clips."""

    op: Literal["drums"]
    bars: int = Field(default=4, ge=1, le=MAX_GENERATED_BARS, description="Bars to generate, 1..64.")
    time_signature: tuple[int, int] = Field(default=(4, 4), description="Metre of the generated clip.")
    tempo: float | None = Field(default=None, ge=10.0, le=400.0, description="Beats per minute.")
    style: DrumStyle = Field(default="rock", description="A Groove MIDI Dataset style.")
    context: list[Clip] = Field(default_factory=list, max_length=MAX_CONTEXT_CLIPS,
                                description="Bass, chords or melody clips the groove should fit: the kick locks with the bass line (the clip of kind bass, else chords, else a low clip).")
    humanize: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = on the grid, 1 = a drummer's micro-timing.")
    density: float | None = Field(default=None, ge=0.0, le=1.0, description="0 = sparse, 1 = busy.")
    fills: int = Field(default=0, ge=0, le=MAX_GENERATED_BARS,
                       description="A fill in the last bar of every N bars (a phrase, e.g. 4 or 8), 2..64; 0 = none.")
    fill_intensity: float = Field(default=0.5, ge=0.0, le=1.0,
                                  description="The phrase-end fills: 0 = light, on the groove's own drums; 1 = busy, around the toms and crash.")

    @field_validator("time_signature")
    @classmethod
    def _metre(cls, value: tuple[int, int]) -> tuple[int, int]:
        return _check_metre(value)

    @field_validator("fills")
    @classmethod
    def _phrase(cls, value: int) -> int:
        if value == 1:
            raise ValueError(f"fills must be 0 (none) or a phrase of 2..{MAX_GENERATED_BARS} bars, got 1")
        return value


class FillRequest(_Generate):
    """A drum clip with a span replaced by a fill; notes outside the span are kept exactly."""

    op: Literal["fill"]
    clip: Clip = Field(description="The drum clip.")
    span: Span | None = Field(default=None, description="[start, end] beats to replace; default: the last bar.")
    intensity: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = a light fill on the groove's own drums, 1 = a busy one around the toms and crash.")
    humanize: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = on the grid, 1 = a drummer's micro-timing.")

    @field_validator("span")
    @classmethod
    def _span(cls, value: Span | None) -> Span | None:
        if value is not None and not 0.0 <= value[0] < value[1] <= MAX_CLIP_BEATS:
            raise ValueError(f"span must be [start, end] with 0 <= start < end <= {MAX_CLIP_BEATS:g}")
        return value


class VaryRequest(_Generate):
    """Variations of a clip over the same bars and harmony."""

    op: Literal["vary"]
    clip: Clip = Field(description="The clip to vary (melody, chords, bass or drums).")
    strength: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = identical, 1 = a new part over the same bars.")
    keep_rhythm: bool = Field(default=False, description="Keep every onset and duration; change pitches only.")
    key: str | None = Field(default=None, max_length=MAX_KEY_CHARS, description='Lock generated notes to this key, e.g. "G major", "F#m", "Bb min".')
    _key = field_validator("key")(_key_name)


class ContinueRequest(_Generate):
    """The next bars of a clip in the same style, key and metre. Result clips hold only the new
    bars; their beat 0 is the end of the given clip."""

    op: Literal["continue"]
    clip: Clip = Field(description="The clip to continue.")
    bars: int = Field(default=4, ge=1, le=MAX_GENERATED_BARS, description="Bars to add, 1..64.")
    key: str | None = Field(default=None, max_length=MAX_KEY_CHARS, description='Lock generated notes to this key, e.g. "G major", "F#m", "Bb min".')
    _key = field_validator("key")(_key_name)


class RestyleRequest(_Generate):
    """The clip in another style, keeping its bars and skeleton to the degree strength says. A
    melody keeps the onsets and pitches of its strongest notes and is written in the style's
    metre at the same pulse: a jig over 4/4 comes back in triplets, a reel over 6/8 in duplets."""

    op: Literal["restyle"]
    clip: Clip = Field(description="A drum clip or a melody clip.")
    style: str = Field(min_length=1, max_length=32,
                       description="Target style: a drum style for drum clips, a melody style for melodies.")
    strength: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = keep everything, 1 = keep only the bars.")


class PingRequest(_Request):
    """Liveness check; answered at once, never queued."""

    op: Literal["ping"]


class InfoRequest(_Request):
    """Version, model, device, ops, styles and limits of the engine."""

    op: Literal["info"]


class CancelRequest(_Request):
    """Stop a request this client sent; it is answered with 'cancelled'."""

    op: Literal["cancel"]
    target: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="The id of the request to cancel.")


class AttachRequest(_Request):
    """A DAW session offers to receive commands. The reply comes at once; later commands arrive
    as ``command`` events carrying this request's id, for as long as the session stays connected."""

    op: Literal["attach"]
    daw: Literal["live", "reaper", "other"] = Field(description="Which host the session lives in.")
    name: str = Field(default="", max_length=128, description="A label for the session, e.g. the Live set's name.")


class DispatchRequest(_Request):
    """Ask attached DAW sessions to run a musical op on their current selection."""

    op: Literal["dispatch"]
    daw: Literal["live", "reaper", "other"] | None = Field(default=None, description="Only sessions of this host; all when absent.")
    command: dict[str, Any] = Field(description='The op and its controls, e.g. {"op": "harmonize", "style": "chords"}.')

    @field_validator("command")
    @classmethod
    def _musical(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("op") not in MUSICAL_OPS:
            raise ValueError(f"command.op must be one of {', '.join(MUSICAL_OPS)}")
        _check_plain(value, "command", [0])
        return value


Request = Annotated[
    HarmonizeRequest | DrumsRequest | FillRequest | VaryRequest | ContinueRequest | RestyleRequest
    | PingRequest | InfoRequest | CancelRequest | AttachRequest | DispatchRequest,
    Field(discriminator="op"),
]
REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Request)

MUSICAL_OPS = ("harmonize", "drums", "fill", "vary", "continue", "restyle")
SERVICE_OPS = ("ping", "info", "cancel", "attach", "dispatch")
ALL_OPS = MUSICAL_OPS + SERVICE_OPS
MusicalRequest = HarmonizeRequest | DrumsRequest | FillRequest | VaryRequest | ContinueRequest | RestyleRequest
REQUEST_MODELS: dict[str, type[_Request]] = {  # op -> its request model, in the union's order
    get_args(model.model_fields["op"].annotation)[0]: model for model in get_args(get_args(Request)[0])
}


# --- replies -----------------------------------------------------------------------------


class Candidate(_Strict):
    """One generated result: one or more clips (a chorale harmonization has three)."""

    clips: list[Clip] = Field(description="The generated clips, each named after what it holds.")
    sources: list[str] = Field(default_factory=list, max_length=16,
                               description="The drummers' performances the clips started from (Groove MIDI Dataset train split, CC BY 4.0) and their bars, e.g. 'groove:drummer1/session1/3 bars 1-8'; empty when the model wrote them alone.")
    chords: list[ChordAt] = Field(default_factory=list, max_length=MAX_CHORDS,
                                  description="harmonize: the chord plan the clips follow (given, read from a chord clip, or planned).")
    warnings: list[str] = Field(default_factory=list, max_length=8,
                                description="What the producer should know, e.g. a melody that contradicts the locked key.")


class MusicResult(_Strict):
    candidates: list[Candidate] = Field(description="As many as were asked for, distinct.")
    model: str = Field(description="The model that made them.")
    seed: int = Field(description="The seed used; send it back to get the same result.")
    elapsed: float = Field(description="Seconds the engine spent on the request.")


class PingResult(_Strict):
    pong: Literal[True] = True
    time: float = Field(description="Engine clock, seconds since the epoch.")


class InfoResult(_Strict):
    version: str
    protocol: int
    model: str | None = Field(description="Loaded model name, or null when none is loaded.")
    model_error: str | None = Field(default=None, description="Why no model is loaded, and what to do.")
    device: str
    ops: list[str]
    styles: dict[str, list[str]] = Field(description="Styles per op.")
    limits: dict[str, int | float] = Field(description="Sizes and counts are integers; times are seconds.")
    uptime: float = 0.0
    queue_depth: int = 0
    served: int = 0
    failed: int = 0
    workers: int = 0
    sessions: int = Field(default=0, description="Attached DAW sessions.")
    credits: list[str] = Field(default_factory=list, description="Data the shipped model and tables were built from, with their attribution.")


class CancelResult(_Strict):
    cancelled: str = Field(description="The id of the request that was stopped.")


class AttachResult(_Strict):
    attached: Literal[True] = True
    session: str = Field(description="The attach request's id; command events carry it.")


class DispatchResult(_Strict):
    delivered: int = Field(description="How many attached sessions received the command.")


class ErrorBody(_Strict):
    code: ErrorCode
    message: str = Field(description="What went wrong and, where it can, what to do.")
    field: str | None = Field(default=None, description="The offending field's path, e.g. clip.notes.3.pitch.")


class OkReply(_Strict):
    v: Literal[1] = 1
    id: str
    ok: Literal[True] = True
    result: dict[str, Any]


class ErrorReply(_Strict):
    v: Literal[1] = 1
    id: str | None = Field(description="The request's id, or null when it could not be read.")
    ok: Literal[False] = False
    error: ErrorBody


class ProgressEvent(_Strict):
    v: Literal[1] = 1
    id: str
    event: Literal["progress"] = "progress"
    done: float = Field(ge=0.0, le=1.0, description="Fraction of the work done.")


class CommandEvent(_Strict):
    """Pushed to an attached DAW session: run this op on your selection."""

    v: Literal[1] = 1
    id: str = Field(description="The attach request's id.")
    event: Literal["command"] = "command"
    command: dict[str, Any]


def _check_pitch_range(value: tuple[int, int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    low, high = value
    if not (0 <= low <= 127 and 0 <= high <= 127):
        raise ValueError("pitch_range values must be in range 0..127")
    if high - low < 5:
        raise ValueError("pitch_range must span at least 5 semitones (low <= high - 5)")
    return value


def _check_metre(value: tuple[int, int]) -> tuple[int, int]:
    num, den = value
    if not 1 <= num <= 32:
        raise ValueError("time_signature numerator must be in range 1..32")
    if den not in (1, 2, 4, 8, 16, 32):
        raise ValueError("time_signature denominator must be one of 1, 2, 4, 8, 16, 32")
    return value


def _check_plain(value: Any, path: str, seen: list[int], depth: int = 0) -> None:
    """A free-form JSON value (a dispatch command): finite, bounded numbers, bounded nesting
    and size; raises ValueError naming the offending path."""
    seen[0] += 1
    if seen[0] > MAX_COMMAND_ITEMS or depth > MAX_COMMAND_DEPTH:
        raise ValueError(f"{path}: at most {MAX_COMMAND_ITEMS} values nested {MAX_COMMAND_DEPTH} deep")
    if isinstance(value, float | int) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= MAX_COMMAND_NUMBER):
            raise ValueError(f"{path} must be a finite number in range -2**31..2**31")
    elif isinstance(value, str) and len(value) > 256:
        raise ValueError(f"{path}: at most 256 characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, f"{path}.{key}", seen, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, f"{path}.{index}", seen, depth + 1)


RESULTS = (MusicResult, PingResult, InfoResult, CancelResult, AttachResult, DispatchResult)


def ok_reply(request_id: str, result: BaseModel) -> dict[str, Any]:
    """The final reply of a request that succeeded, as a JSON-ready dict."""
    return {"v": PROTOCOL_VERSION, "id": request_id, "ok": True, "result": result.model_dump(mode="json")}


def error_reply(request_id: str | None, code: ErrorCode, message: str,
                field: str | None = None) -> dict[str, Any]:
    """The final reply of a request that failed, as a JSON-ready dict."""
    error: dict[str, Any] = {"code": code.value, "message": message}
    if field is not None:
        error["field"] = field
    return {"v": PROTOCOL_VERSION, "id": request_id, "ok": False, "error": error}


def progress_event(request_id: str, done: float) -> dict[str, Any]:
    """A progress event for a request still running."""
    return {"v": PROTOCOL_VERSION, "id": request_id, "event": "progress", "done": round(min(max(done, 0.0), 1.0), 4)}


def command_event(session_id: str, command: dict[str, Any]) -> dict[str, Any]:
    """A command pushed to an attached DAW session."""
    return {"v": PROTOCOL_VERSION, "id": session_id, "event": "command", "command": command}


class ProtocolError(ValueError):
    """A frame that is not a valid request: what the engine answers, and the id when it could read one."""

    def __init__(self, code: ErrorCode, message: str, request_id: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.field = field

    def reply(self) -> dict[str, Any]:
        return error_reply(self.request_id, self.code, self.message, self.field)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_request(frame: bytes) -> Any:
    """Validate one request frame; returns the request model, raises ProtocolError.

    Checks run in order so the error code says the most useful thing: text, JSON, object,
    version, op, then every field (strictly: no strings for numbers, no floats for ints). A valid
    frame is parsed once; the checks in order run only to say what is wrong with an invalid one."""
    try:
        return REQUEST_ADAPTER.validate_json(frame, strict=True)
    except ValidationError:
        pass
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.invalid_request, "a request must be UTF-8 JSON text") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.invalid_request, f"a request must be JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.invalid_request, "a request must be a JSON object")
    raw_id = data.get("id")
    request_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= MAX_ID_CHARS else None
    if "v" not in data:
        raise ProtocolError(ErrorCode.invalid_request, "v is required (the protocol version, 1)", request_id, "v")
    version = data["v"]
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise ProtocolError(ErrorCode.unsupported_version,
                            f"v must be {PROTOCOL_VERSION}; this engine speaks protocol {PROTOCOL_VERSION}",
                            request_id, "v")
    op = data.get("op")
    if op is None:
        raise ProtocolError(ErrorCode.invalid_request, "op is required", request_id, "op")
    if not isinstance(op, str) or op not in ALL_OPS:
        raise ProtocolError(ErrorCode.unknown_op, f"op must be one of {', '.join(ALL_OPS)}", request_id, "op")
    try:
        return REQUEST_ADAPTER.validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = [str(part) for part in first["loc"]]
        if loc and loc[0] == op:
            loc = loc[1:]
        said = first["msg"].removeprefix("Value error, ")  # our own validators' messages as written
        field = ".".join(loc) or named_field(REQUEST_MODELS[op], said)  # a check across fields names one
        message = f"{'.'.join(loc)}: {said}" if loc else said
        raise ProtocolError(ErrorCode.invalid_request, message, request_id, field) from None


def named_field(request: type[BaseModel] | BaseModel, message: str) -> str | None:
    """The field a message starts by naming ("clip.kind is drums: ...", "chords[2].start must
    ..."), as the protocol names fields ("chords.2.start"), where it is one of the request's
    own; else None ("MIDI 0..127 leaves no pitch ...")."""
    head = re.match(r"[A-Za-z_][\w.\[\]]*", message)
    if head is None:
        return None
    path = head.group(0).replace("[", ".").replace("]", "").rstrip(".")
    fields = (request if isinstance(request, type) else type(request)).model_fields
    return path if path.split(".")[0] in fields else None


def json_schema() -> dict[str, Any]:
    """The protocol's JSON Schema: every request, reply and event."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "DAWBridge protocol",
        "version": PROTOCOL_VERSION,
        "request": REQUEST_ADAPTER.json_schema(),
        "replies": {m.__name__: m.model_json_schema() for m in (OkReply, ErrorReply, ProgressEvent, CommandEvent)},
        "results": {m.__name__: m.model_json_schema() for m in RESULTS},
    }
