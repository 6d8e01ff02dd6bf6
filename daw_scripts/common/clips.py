"""Clips and notes as the wire protocol carries them, built from what a DAW reads.

Times are quarter-note beats from the clip start. ``make_note`` checks one note the way the
engine will (pitch 0..127, velocity 1..127, duration > 0, channel 0..15) and raises ValueError
naming the field; ``make_clip`` builds a whole clip from what a DAW selection holds, dropping
notes that start outside the clip, trimming ones that start before it and clamping velocities,
so a real-world selection always becomes a valid request. Python 3.7, stdlib only.
"""

import re

MAX_NOTES_PER_CLIP = 8192  # the protocol's limit (bridge/protocol.py)
MAX_CLIP_BEATS = 1024.0
KINDS = ("melody", "chords", "bass", "drums", "other")
# Keys as the protocol reads them (bridge/protocol.py, models/keys.py; mirrored here, as the
# scripts cannot import the engine): a tonic letter, an optional sharp or flat (music21's "-"
# too, before a space or the end), a mode word; sent in the canonical form "F# minor".
KEY_PATTERN = re.compile(r"^\s*([A-Ga-g])([#\u266fb\u266d]|-(?=\s|$))?\s*([A-Za-z]*)\s*$")
KEY_ACCIDENTALS = {None: "", "#": "#", "\u266f": "#", "b": "b", "\u266d": "b", "-": "b"}
KEY_MODES = {"": "major", "M": "major", "maj": "major", "major": "major",
             "m": "minor", "min": "minor", "minor": "minor"}
ACCEPTED_KEYS = ('a tonic A..G (either case) with an optional # or b, then major, maj, M, minor, min or m '
                 '(nothing means major), e.g. "C major", "c major", "C", "Cm", "F#m", "Bb minor", "A min"')
MAX_KEY_CHARS = 32
DENOMINATORS = (1, 2, 4, 8, 16, 32)
DRUM_CHANNEL = 9
BASS_MEDIAN_BELOW = 52  # E3: a part whose median pitch is lower is a bass part
CHORD_OVERLAP_SHARE = 0.5
LEGATO_BEATS = 0.125  # share of notes sounding with another for a part to be chords
_DIGITS = 6  # beats are rounded to a millionth, hiding float noise from PPQ conversions

OP_NOUNS = {
    "harmonize": "Harmony",
    "drums": "Drums",
    "fill": "Fill",
    "vary": "Variation",
    "continue": "Continuation",
    "restyle": "Restyle",
}


def _int_in(name, value, low, high):
    try:
        number = int(round(float(value)))
    except (TypeError, ValueError):
        raise ValueError("{} must be a number in range {}..{}, got {!r}".format(
            name, low, high, value)) from None
    if not low <= number <= high:
        raise ValueError("{} must be in range {}..{}, got {}".format(name, low, high, number))
    return number


def _beats(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("{} must be a number of beats, got {!r}".format(name, value)) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("{} must be a finite number of beats, got {!r}".format(name, value))
    return round(number, _DIGITS)


def make_note(pitch, start, duration, velocity=100, channel=None):
    """One protocol note; raises ValueError naming the field that is out of range."""
    start = _beats("start", start)
    duration = _beats("duration", duration)
    if not 0.0 <= start <= MAX_CLIP_BEATS:
        raise ValueError("start must be in range 0..{:g} beats, got {:g}".format(MAX_CLIP_BEATS, start))
    if not 0.0 < duration <= MAX_CLIP_BEATS:
        raise ValueError("duration must be > 0 and at most {:g} beats, got {:g}".format(
            MAX_CLIP_BEATS, duration))
    note = {
        "pitch": _int_in("pitch", pitch, 0, 127),
        "start": start,
        "duration": duration,
        "velocity": _int_in("velocity", velocity, 1, 127),
    }
    if channel is not None:
        note["channel"] = _int_in("channel", channel, 0, 15)
    return note


def _fit_note(raw, length):
    """A note from a DAW, fitted into [0, length): None when nothing of it is inside."""
    if isinstance(raw, dict):
        pitch, start, duration = raw["pitch"], raw["start"], raw["duration"]
        velocity, channel = raw.get("velocity", 100), raw.get("channel")
    else:
        pitch, start, duration = raw[0], raw[1], raw[2]
        velocity = raw[3] if len(raw) > 3 else 100
        channel = raw[4] if len(raw) > 4 else None
    start, duration = _beats("start", start), _beats("duration", duration)
    if start < 0.0:  # began before the clip: keep the part inside it
        duration, start = round(duration + start, _DIGITS), 0.0
    if duration <= 0.0 or start >= length:
        return None
    velocity = min(127, max(1, int(round(float(velocity)))))
    return make_note(pitch, start, min(duration, MAX_CLIP_BEATS), velocity, channel)


def _check_time_signature(time_signature):
    try:
        num, den = int(time_signature[0]), int(time_signature[1])
    except (TypeError, ValueError, IndexError):
        raise ValueError("time_signature must be [numerator, denominator], got {!r}".format(
            time_signature)) from None
    if not 1 <= num <= 32:
        raise ValueError("time_signature numerator must be in range 1..32, got {}".format(num))
    if den not in DENOMINATORS:
        raise ValueError("time_signature denominator must be one of 1, 2, 4, 8, 16, 32, got {}".format(den))
    return [num, den]


def make_clip(notes, length, time_signature=(4, 4), tempo=None, key=None, name=None, kind=None):
    """A protocol clip from notes (dicts like ``make_note``'s or (pitch, start, duration
    [, velocity[, channel]]) tuples) and a length in beats.

    Notes starting at or after ``length`` or ending before 0 are dropped, notes starting
    before 0 are trimmed, velocities clamped to 1..127; anything else out of range raises
    ValueError naming the field. Notes come out sorted by start, then pitch."""
    length = _beats("length", length)
    if not 0.0 < length <= MAX_CLIP_BEATS:
        raise ValueError("length must be > 0 and at most {:g} beats, got {:g}".format(
            MAX_CLIP_BEATS, length))
    fitted = []
    for index, raw in enumerate(notes):
        try:
            note = _fit_note(raw, length)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ValueError("notes[{}]: {}".format(index, exc)) from None
        if note is not None:
            fitted.append(note)
    if len(fitted) > MAX_NOTES_PER_CLIP:
        raise ValueError("notes: at most {} notes per clip, got {}".format(MAX_NOTES_PER_CLIP, len(fitted)))
    fitted.sort(key=lambda n: (n["start"], n["pitch"]))
    clip = {"notes": fitted, "length": length, "time_signature": _check_time_signature(time_signature)}
    _add_optional(clip, tempo, key, name, kind)
    return clip


def _add_optional(clip, tempo, key, name, kind):
    if tempo is not None:
        tempo = _beats("tempo", tempo)
        if not 10.0 <= tempo <= 400.0:
            raise ValueError("tempo must be in range 10..400 BPM, got {:g}".format(tempo))
        clip["tempo"] = tempo
    if key is not None:
        clip["key"] = canonical_key(key)
    if name is not None:
        clip["name"] = str(name)[:256]
    if kind is not None:
        if kind not in KINDS:
            raise ValueError("kind must be one of {}, got {!r}".format(", ".join(KINDS), kind))
        clip["kind"] = kind


def canonical_key(name):
    """The canonical form of a key as a producer types it, as the engine reads it:
    canonical_key("F#m") == "F# minor", canonical_key("c") == "C major"; raises ValueError
    listing the accepted spellings."""
    match = KEY_PATTERN.match(name) if isinstance(name, str) and len(name) <= MAX_KEY_CHARS else None
    mode = None if match is None else KEY_MODES.get(match.group(3) if match.group(3) == "M" else match.group(3).lower())
    if match is None or mode is None:
        raise ValueError("key must be {} (at most {} characters); got {!r}".format(
            ACCEPTED_KEYS, MAX_KEY_CHARS, name))
    return "{}{} {}".format(match.group(1).upper(), KEY_ACCIDENTALS[match.group(2)], mode)


def _overlap_share(notes):
    """The share of notes that sound together with another note; legato overlaps shorter than
    LEGATO_BEATS (or half the note) do not count."""
    ordered = sorted(notes, key=lambda n: (n["start"], n["pitch"]))
    slack = [min(LEGATO_BEATS, n["duration"] / 2.0) for n in ordered]
    marked = [False] * len(ordered)
    latest_end = float("-inf")
    for i, note in enumerate(ordered):  # overlaps an earlier note
        marked[i] = note["start"] < latest_end - slack[i]
        latest_end = max(latest_end, note["start"] + note["duration"])
    for i in range(len(ordered) - 1):  # overlaps a later one: the next onset is the earliest
        if ordered[i + 1]["start"] < ordered[i]["start"] + ordered[i]["duration"] - slack[i]:
            marked[i] = True
    return sum(marked) / float(len(ordered))


def guess_kind(notes):
    """"drums" when channel 9 is used, "chords" when most notes overlap, "bass" when the
    median pitch is below E3, else "melody" (also for no notes)."""
    notes = list(notes)
    if not notes:
        return "melody"
    if any(n.get("channel") == DRUM_CHANNEL for n in notes):
        return "drums"
    if _overlap_share(notes) >= CHORD_OVERLAP_SHARE:
        return "chords"
    pitches = sorted(n["pitch"] for n in notes)
    if pitches[len(pitches) // 2] < BASS_MEDIAN_BELOW:
        return "bass"
    return "melody"


def candidates_from_result(result):
    """The clips of each candidate of a musical op's result: ``[[clip, ...], ...]``."""
    if not isinstance(result, dict):
        return []
    out = []
    for candidate in result.get("candidates") or []:
        clips = candidate.get("clips") if isinstance(candidate, dict) else None
        out.append([c for c in clips or [] if isinstance(c, dict)])
    return out


def clip_label(op, clip, index, count):
    """A name for a generated clip: "Harmony 2/3 (chorale)" for index 1 of 3 (counting from
    0); the part in brackets is the clip's name, else its kind; "i/n" only when count > 1."""
    noun = OP_NOUNS.get(op, str(op).capitalize())
    label = "{} {}/{}".format(noun, index + 1, count) if count > 1 else noun
    detail = (clip or {}).get("name") or (clip or {}).get("kind")
    if detail and detail.lower() != noun.lower():
        label = "{} ({})".format(label, detail)
    return label


def _candidates(result):
    candidates = result.get("candidates") if isinstance(result, dict) else None
    return [c for c in candidates or [] if isinstance(c, dict)]


def chord_plan(result):
    """The chords a harmonize result follows, ``[(start beat, symbol), ...]``: those of its
    first candidate that carries any. That is the plan the producer hears first; a melody's
    later candidates may voice alternative plans, each named in its own candidate."""
    for candidate in _candidates(result):
        plan = [(float(c["start"]), str(c["symbol"])) for c in candidate.get("chords") or []
                if isinstance(c, dict) and "start" in c and "symbol" in c]
        if plan:
            return plan
    return []


def progression_text(plan, length, time_signature=(4, 4)):
    """A chord plan as a producer writes one (and ``dawbridge harmonize --chords`` reads it): a
    symbol per chord, with ``:beats`` where it does not last a bar: "Am F C G", "Am:2 G:2 F"."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    words = []
    for index, (start, symbol) in enumerate(plan):
        end = plan[index + 1][0] if index + 1 < len(plan) else max(float(length), start)
        beats = round(end - start, 3)
        words.append(symbol if beats <= 0 or abs(beats - bar) < 1e-3 else "{}:{:g}".format(symbol, beats))
    return " ".join(words)


def result_notes(result, clip=None):
    """What a result says beside its clips, for the producer: "chords Am F C G" (the plan a
    harmonize result follows, in the metre of ``clip``, the clip sent) and the engine's
    warnings, once each."""
    clip = clip or {}
    plan = chord_plan(result)
    notes = []
    if plan:
        length = clip.get("length", plan[-1][0])
        notes.append("chords " + progression_text(plan, length, clip.get("time_signature") or (4, 4)))
    for candidate in _candidates(result):
        for warning in candidate.get("warnings") or []:
            if str(warning) not in notes:
                notes.append(str(warning))
    return notes
