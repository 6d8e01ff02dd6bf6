"""DAWBridge: Drums for time selection (a REAPER action).

Asks the DAWBridge engine for a drum part over the time selection (whole bars), fitting the
selected MIDI items there, and puts it on a new track, one take per candidate.
Needs the engine: `dawbridge serve`.
"""

import os
import sys


def _root():
    """The folder that holds ``daw_scripts`` (this script is in ``daw_scripts/reaper/``)."""
    try:
        here = os.path.dirname(os.path.abspath(__file__))
    except NameError:  # REAPER puts the script's folder first on sys.path
        here = sys.path[0]
    return os.path.dirname(os.path.dirname(here))


if _root() not in sys.path:
    sys.path.insert(0, _root())

from daw_scripts.reaper import actions  # noqa: E402

actions.main("drums", globals())
