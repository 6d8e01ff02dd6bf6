"""Live sets the tests start from: a melody in the Session or on the Arrangement timeline, a
drum loop on a Drum Rack track. Built with the fake's helpers, outside the undo history."""

import fake_live

# A C major melody over two bars of 4/4: (pitch, start, duration, velocity).
MELODY = [
    (72, 0.0, 1.0, 96), (74, 1.0, 1.0, 90), (76, 2.0, 1.0, 92), (77, 3.0, 1.0, 88),
    (79, 4.0, 2.0, 100), (76, 6.0, 1.0, 90), (72, 7.0, 1.0, 94),
]
DRUMS = [(36, float(b), 0.25, 110) for b in range(0, 8, 2)] + \
        [(38, float(b), 0.25, 100) for b in range(1, 8, 2)] + \
        [(42, b / 2.0, 0.25, 80) for b in range(16)]


class DrumRack:
    """A device the LOM reports as a Drum Rack."""

    can_have_drum_pads = True
    name = "Drum Rack"


def session_melody(version=None, slot=2, scenes=8):
    """A set whose track 'Lead' holds MELODY in ``slot``, selected in the Detail View."""
    song = fake_live.Song(version=version, scenes=scenes)
    song.add_track("Bass")
    lead = song.add_track("Lead")
    song.add_track("Pads")
    clip = fake_live.add_session_clip(lead, slot, 8.0, MELODY, name="Verse melody")
    song.view.detail_clip = clip
    song.view.selected_track = lead
    return song, lead, clip


def arrangement_melody(version=None, position=16.0):
    """A set whose track 'Lead' holds MELODY on the timeline at ``position``, selected."""
    song = fake_live.Song(version=version)
    lead = song.add_track("Lead")
    song.add_track("Pads")
    clip = fake_live.add_arrangement_clip(lead, position, 8.0, MELODY, name="Verse melody")
    song.view.detail_clip = clip
    song.view.selected_track = lead
    return song, lead, clip


def session_drums(slot=0):
    """A set whose track 'Beat' (a Drum Rack) holds DRUMS in ``slot``, selected."""
    song = fake_live.Song()
    beat = song.add_track("Kit")
    beat.devices = [DrumRack()]
    clip = fake_live.add_session_clip(beat, slot, 8.0, DRUMS, name="Groove")
    song.view.detail_clip = clip
    return song, beat, clip


def new_tracks(song, before):
    """Tracks added since ``before`` (a list of the set's tracks then)."""
    return [t for t in song.tracks if t not in before]


def notes_of(clip):
    return sorted((n.pitch, n.start_time, n.duration, n.velocity) for n in
                  clip.get_notes_extended(0, 128, 0.0, 100000.0))
