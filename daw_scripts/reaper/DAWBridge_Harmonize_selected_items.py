"""DAWBridge: Harmonize selected items (a REAPER action).

Sends each selected MIDI item to the DAWBridge engine and puts the harmony it answers on new
tracks under the item's track, aligned with the item, one take per candidate.
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

actions.main("harmonize", globals())
