"""Live clips <-> the protocol's clips: read a clip's notes over its loop (or between its markers)
with the metre, tempo and Live 12 scale of the set; write generated notes into a new clip.

Live's notes are in beats from the clip's zero; the protocol's are in beats from the start of
the region sent, so reading subtracts the region start and writing adds nothing (new clips start
at zero). Muted notes are not sent.
"""

import Live

from . import song as song_info
from .shared import clips

MAX_PITCHES = 128


def region(clip):
    """``(start, end)`` in clip beats: the loop when the clip loops, else start to end marker."""
    if clip.looping:
        return float(clip.loop_start), float(clip.loop_end)
    return float(clip.start_marker), float(clip.end_marker)


def read(song, clip, name=None, kind=None):
    """The protocol clip for ``clip``'s region. Raises ValueError when it cannot be sent (too
    long, too many notes), naming what is wrong."""
    start, end = region(clip)
    notes = [
        (note.pitch, note.start_time - start, note.duration, note.velocity)
        for note in clip.get_notes_extended(0, MAX_PITCHES, start, end - start)
        if not note.mute
    ]
    protocol = clips.make_clip(
        notes, end - start, song_info.time_signature(song, clip), song_info.tempo(song),
        song_info.key(song), name or clip.name or None)
    protocol["kind"] = kind or clips.guess_kind(protocol["notes"])
    return protocol


def selected_span(clip, bar_beats):
    """The whole bars (protocol beats) covered by the notes selected in the clip, or None."""
    getter = getattr(clip, "get_selected_notes_extended", None)  # Live 11.1 and later
    if getter is None:
        return None
    start, end = region(clip)
    inside = [n for n in getter() if start <= n.start_time < end]
    if not inside:
        return None
    first = min(n.start_time for n in inside) - start
    last = max(n.start_time + n.duration for n in inside) - start
    low = (first // bar_beats) * bar_beats
    high = min(end - start, -(-last // bar_beats) * bar_beats)
    return [low, high] if high > low else None


def write(clip, notes):
    """Add protocol notes (beats from the clip start) to an empty Live clip."""
    specifications = tuple(
        Live.Clip.MidiNoteSpecification(
            pitch=int(note["pitch"]), start_time=float(note["start"]),
            duration=float(note["duration"]), velocity=float(note.get("velocity", 100)),
            mute=False)
        for note in notes
    )
    if specifications:
        clip.add_new_notes(specifications)
