"""Tracks: what a track holds (a Drum Rack means drums) and clips on a track's Arrangement
timeline, created directly (Live 12.1 and later) or through a Session slot (Live 11, 12.0)."""

from . import clip, clip_slot

DRUM_WORDS = ("drum", "beat", "perc", "kit")


def holds_drums(track):
    """True when the track plays a Drum Rack or is named like a drum track."""
    for device in getattr(track, "devices", ()):
        if getattr(device, "can_have_drum_pads", False):
            return True
    name = str(getattr(track, "name", "")).lower()
    return any(word in name for word in DRUM_WORDS)


def add_arrangement_clip(song, track, position, notes, length, name):
    """A new MIDI clip with ``notes`` on ``track``'s timeline at ``position`` beats.

    Live 12.1 and later have ``Track.create_midi_clip``; it returns None in 12.1 and the clip
    in 12.3, so the new clip is found on the timeline instead. Live 11 and 12.0 get there
    through a Session slot: the clip is made in the first empty slot, copied to the
    Arrangement, and the slot emptied again."""
    create = getattr(track, "create_midi_clip", None)
    if create is not None:
        before = list(track.arrangement_clips)
        create(float(position), float(length))
        new = _new_arrangement_clip(track, before, position)
        new.name = name
        clip.write(new, notes)
        return
    index = clip_slot.next_empty(track)
    while index >= len(track.clip_slots):
        song.create_scene(-1)
    slot = track.clip_slots[index]
    temporary = clip_slot.create_clip(slot, length)
    temporary.name = name
    clip.write(temporary, notes)
    track.duplicate_clip_to_arrangement(temporary, float(position))
    slot.delete_clip()


def _new_arrangement_clip(track, before, position):
    """The clip that appeared on ``track``'s timeline at ``position`` since ``before``."""
    for candidate in track.arrangement_clips:
        if candidate not in before and abs(float(candidate.start_time) - position) < 1e-6:
            return candidate
    raise RuntimeError("Live made no Arrangement clip at beat {:g}".format(position))
