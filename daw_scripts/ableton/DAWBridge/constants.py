"""Every default and limit of the DAWBridge Remote Script, in one place.

Times are in Live's ticks (about 100 ms each) or seconds, as named.
"""

from .shared import session

SCRIPT_NAME = "DAWBridge"

TICK_INTERVAL = 1  # schedule_message delay between two polls of the engine (ticks)
ATTACH_RETRY_SECONDS = 5.0  # how often to try attaching while the engine is away

START_HINT = "start it with `dawbridge serve`"

MUSICAL_OPS = session.MUSICAL_OPS

# Controller buttons: name -> "note|cc <number> [channel <1..16>]". The defaults are CCs 102..107
# on channel 1, which the MIDI spec leaves undefined. No note is a default: a note the script
# takes from Live's MIDI map reaches no track, and the low notes are a controller's drum pads.
# A name is an op, optionally with ":<label>" to give it more buttons.
DEFAULT_BUTTONS = (
    ("harmonize", "cc 102"), ("drums", "cc 103"), ("fill", "cc 104"),
    ("vary", "cc 105"), ("continue", "cc 106"), ("restyle", "cc 107"),
)

# Per-op controls besides candidates, temperature and style (those are common settings).
DEFAULT_OP_CONTROLS = (
    ("vary.strength", 0.5),
    ("continue.bars", 4),
    ("fill.intensity", 0.5),
    ("restyle.strength", 0.5),
)

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Live 12 scale names -> the protocol's mode ("major" | "minor"); other scales send no key.
SCALE_MODES = {
    "major": "major", "ionian": "major", "lydian": "major", "mixolydian": "major",
    "minor": "minor", "aeolian": "minor", "dorian": "minor", "phrygian": "minor",
    "locrian": "minor", "harmonic minor": "minor", "melodic minor": "minor",
}
