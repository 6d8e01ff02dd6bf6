"""What the script reads from and does to Live's Song: tempo, metre, Live 12's scale, new MIDI
tracks and scenes, and the undo step that wraps each action. Main thread only, like all LOM use.
"""

import contextlib

from . import constants


def tempo(song):
    """Beats per minute, clamped to the protocol's 10..400."""
    return min(400.0, max(10.0, float(song.tempo)))


def time_signature(song, clip=None):
    """``[numerator, denominator]`` of the clip when it has one, else of the song."""
    source = clip if clip is not None and hasattr(clip, "signature_numerator") else song
    return [int(source.signature_numerator), int(source.signature_denominator)]


def key(song):
    """Live 12's song scale as the protocol's key (``"D minor"``), or None.

    None on Live 11 (no scale), when Scale Mode is off, or for scales that are neither major-
    nor minor-like (the engine then guesses the key from the notes)."""
    root = getattr(song, "root_note", None)
    name = getattr(song, "scale_name", None)
    if root is None or not name or not getattr(song, "scale_mode", True):
        return None
    mode = constants.SCALE_MODES.get(str(name).strip().lower())
    if mode is None:
        return None
    return "{} {}".format(constants.NOTE_NAMES[int(root) % 12], mode)


def set_name(song):
    """A label for this Live set in the engine's session list."""
    name = getattr(song, "name", "")  # not in every Live version
    return str(name)[:128] if name else "Live"


@contextlib.contextmanager
def undo_step(song):
    """Everything done inside is one entry in Live's undo history."""
    song.begin_undo_step()
    try:
        yield
    finally:
        song.end_undo_step()


def track_index(song, track):
    """The track's position in ``song.tracks``, or None when it is gone."""
    for index, candidate in enumerate(song.tracks):
        if candidate == track:
            return index
    return None


def new_midi_track(song, index, name):
    """Create a MIDI track at ``index`` (clamped to the end) named ``name``; return it."""
    index = min(max(0, index), len(song.tracks))
    song.create_midi_track(index)  # the return value is not the track in every Live version
    track = song.tracks[index]
    track.name = name
    return track


def ensure_scenes(song, count):
    """Add scenes at the end until the set has ``count`` of them."""
    while len(song.scenes) < count:
        song.create_scene(-1)
