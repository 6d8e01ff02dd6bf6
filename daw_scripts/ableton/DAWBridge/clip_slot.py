"""Session View clip slots: finding empty ones and creating clips in them."""


def next_empty(track, start=0):
    """Index of the first empty slot of ``track`` at or after ``start``; len(slots) when none."""
    slots = list(track.clip_slots)
    for index in range(max(0, start), len(slots)):
        if not slots[index].has_clip:
            return index
    return max(len(slots), start)


def create_clip(slot, length):
    """A new empty MIDI clip of ``length`` beats in an empty slot; Live loops it over 0..length."""
    slot.create_clip(float(length))
    return slot.clip
