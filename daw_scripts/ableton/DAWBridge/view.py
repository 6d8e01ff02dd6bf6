"""What the user has selected in Live (Song.View): the clip shown in the Detail View, in the
Session or on the Arrangement timeline, with the track and slot it belongs to."""


class Selection(object):
    """The selected MIDI clip and where it lives. ``slot_index`` is None for Arrangement clips."""

    def __init__(self, clip, track, slot_index):
        self.clip = clip
        self.track = track
        self.slot_index = slot_index

    @property
    def is_arrangement(self):
        return self.slot_index is None


def selected_clip(song):
    """The Selection, or a string saying what to select instead."""
    clip = song.view.detail_clip
    if clip is None:
        slot = song.view.highlighted_clip_slot
        clip = slot.clip if slot is not None and slot.has_clip else None
    if clip is None:
        return "select a MIDI clip first"
    if not getattr(clip, "is_midi_clip", False):
        return "the selected clip is audio; select a MIDI clip"
    track, slot_index = _owner(song, clip)
    if track is None:
        return "the selected clip is on no track of this set"
    return Selection(clip, track, slot_index)


def _owner(song, clip):
    """(track, slot index) of a Session clip, (track, None) of an Arrangement clip."""
    parent = getattr(clip, "canonical_parent", None)
    if parent is not None and hasattr(parent, "clip_slots"):  # an Arrangement clip's track
        return parent, None
    track = getattr(parent, "canonical_parent", None)  # a Session clip's slot's track
    if track is not None and hasattr(track, "clip_slots"):
        for index, slot in enumerate(track.clip_slots):
            if slot == parent:
                return track, index
    for track in song.tracks:  # no usable parents: search the set
        for index, slot in enumerate(track.clip_slots):
            if slot.has_clip and slot.clip == clip:
                return track, index
        if clip in list(getattr(track, "arrangement_clips", ())):
            return track, None
    return None, None
