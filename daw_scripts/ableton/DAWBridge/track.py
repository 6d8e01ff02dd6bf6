"""Tracks: what a track holds (a Drum Rack means drums) and clips on a track's Arrangement
timeline, created directly (Live 12) or through a Session slot (Live 11)."""

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

    Live 12 has ``Track.create_midi_clip``. Live 11 gets there through a Session slot: the clip
    is made in the first empty slot, copied to the Arrangement, and the slot emptied again."""
    create = getattr(track, "create_midi_clip", None)
    if create is not None:
        new = create(float(position), float(length))
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
