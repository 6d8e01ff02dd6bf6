"""Where results go: new MIDI tracks right of the source track, one per part of a result (a
chorale harmonization has three), named after what they hold; the source clip is not touched.

- Session: candidate i of a part goes into the new track's slots from the source clip's scene on
  (scenes are added when the set runs out of them).
- Arrangement: the first candidate goes on the new track's timeline at the source clip's song
  position (after it for ``continue``); the others wait in the new track's Session slots.

Everything happens inside one undo step.
"""

from . import clip, clip_slot, track
from . import song as song_info
from .shared import clips


def place(song, selection, op, result, style=None):
    """Write ``result``'s candidates; return a short report for the status bar. Clips are
    labelled "Harmony 2/3 (chorale)": op, candidate, and the style asked for (else the part)."""
    candidates = [c for c in clips.candidates_from_result(result) if c]
    if not candidates:
        return "the engine sent no clips"
    parts = max(len(c) for c in candidates)
    source_index = song_info.track_index(song, selection.track)
    after = len(song.tracks) - 1 if source_index is None else source_index
    names = []
    with song_info.undo_step(song):
        for part in range(parts):
            first = next(c[part] for c in candidates if len(c) > part)
            new_track = song_info.new_midi_track(song, after + 1 + part, track_name(op, first))
            names.append(new_track.name)
            clips_of_part = [(i, c[part]) for i, c in enumerate(candidates) if len(c) > part]
            if selection.is_arrangement:
                position = arrangement_position(selection.clip, op)
                _arrangement(song, new_track, op, clips_of_part, len(candidates), position, style)
            else:
                _session(song, new_track, op, clips_of_part, len(candidates), selection.slot_index,
                         style)
    _reselect(song, selection)
    return "{} on {} '{}'".format(
        "{} candidates".format(len(candidates)) if len(candidates) > 1 else "1 result",
        "new tracks" if len(names) > 1 else "new track", "', '".join(names))


def arrangement_position(source, op):
    """Where an Arrangement result goes: at the source clip, or for ``continue`` at its right
    edge on the timeline (a looped clip may be stretched over several loops)."""
    return float(source.end_time if op == "continue" else source.start_time)


def _reselect(song, selection):
    """New tracks take Live's selection; give it back to the source clip so the next press
    works on it again."""
    song.view.selected_track = selection.track
    song.view.detail_clip = selection.clip


def track_name(op, protocol_clip):
    """A new track is named after what it holds: the clip's name, else its kind, else the op."""
    name = protocol_clip.get("name") or str(protocol_clip.get("kind") or "").capitalize()
    return name or clips.OP_NOUNS.get(op, op.capitalize())


def _label(op, protocol_clip, index, count, style):
    return clips.clip_label(op, {"name": style} if style else protocol_clip, index, count)


def _session(song, new_track, op, candidates, count, start, style):
    for index, protocol_clip in candidates:
        slot_index = clip_slot.next_empty(new_track, start)
        song_info.ensure_scenes(song, slot_index + 1)
        new = clip_slot.create_clip(new_track.clip_slots[slot_index], protocol_clip["length"])
        new.name = _label(op, protocol_clip, index, count, style)
        clip.write(new, protocol_clip.get("notes", ()))
        start = slot_index + 1


def _arrangement(song, new_track, op, candidates, count, position, style):
    (index, first), others = candidates[0], candidates[1:]
    track.add_arrangement_clip(song, new_track, position, first.get("notes", ()),
                               first["length"], _label(op, first, index, count, style))
    if others:
        _session(song, new_track, op, others, count, 0, style)
