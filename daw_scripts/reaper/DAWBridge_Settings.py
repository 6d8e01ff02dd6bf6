"""DAWBridge: Settings (a REAPER action).

Edits the engine address, candidates, temperature, default styles and timeout that the
other DAWBridge actions use; they are kept in REAPER's ExtState.
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

from daw_scripts.reaper import preferences  # noqa: E402

preferences.main(globals())
