"""DAWBridge: Continue selected items (a REAPER action).

Asks the DAWBridge engine to continue each selected MIDI item by as many bars as it has and
puts the continuation on a new track, right after the item, one take per candidate.
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

actions.main("continue", globals())
