"""Every default and limit of the DAWBridge Remote Script, in one place.

Times are in Live's ticks (about 100 ms each) or seconds, as named.
"""

SCRIPT_NAME = "DAWBridge"

TICK_INTERVAL = 1  # schedule_message delay between two polls of the engine (ticks)
ATTACH_RETRY_SECONDS = 5.0  # how often to try attaching while the engine is away
MAX_CONNECT_SECONDS = 0.5  # a connection attempt runs on Live's thread (loopback: instant)

START_HINT = "start it with `dawbridge serve`"

MUSICAL_OPS = ("harmonize", "drums", "fill", "vary", "continue", "restyle")

# Controller buttons: name -> "note|cc <number> [channel <1..16>]". Notes 36..41 are C1..F1 in
# Live's naming (the bottom row of most pad controllers); CCs 102..107 are undefined in the MIDI
# spec, free for buttons. A name is an op, optionally with ":<label>" to give it more buttons.
DEFAULT_BUTTONS = (
    ("harmonize", "note 36"), ("drums", "note 37"), ("fill", "note 38"),
    ("vary", "note 39"), ("continue", "note 40"), ("restyle", "note 41"),
    ("harmonize:cc", "cc 102"), ("drums:cc", "cc 103"), ("fill:cc", "cc 104"),
    ("vary:cc", "cc 105"), ("continue:cc", "cc 106"), ("restyle:cc", "cc 107"),
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
