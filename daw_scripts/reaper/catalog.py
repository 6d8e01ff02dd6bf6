"""The REAPER actions DAWBridge ships: script file, action name, and the op each one runs.

The installer writes one small script per action from ``ACTION_SCRIPT`` and registers exactly
these; the README lists them. Python 3.7, stdlib only.
"""

SCRIPT_FOLDER = "DAWBridge"  # under <resource path>/Scripts/
EXT_SECTION = "DAWBridge"  # REAPER ExtState section for settings and the running request

# (script file in daw_scripts/reaper/, action name in REAPER's action list, op, or None for
# the settings, or LISTEN)
LISTEN = "listen"
ACTIONS = (
    ("DAWBridge_Harmonize_selected_items.py", "DAWBridge: Harmonize selected items", "harmonize"),
    ("DAWBridge_Drums_for_time_selection.py", "DAWBridge: Drums for time selection", "drums"),
    ("DAWBridge_Fill_at_time_selection.py", "DAWBridge: Fill at time selection", "fill"),
    ("DAWBridge_Vary_selected_items.py", "DAWBridge: Vary selected items", "vary"),
    ("DAWBridge_Continue_selected_items.py", "DAWBridge: Continue selected items", "continue"),
    ("DAWBridge_Restyle_selected_items.py", "DAWBridge: Restyle selected items", "restyle"),
    ("DAWBridge_Settings.py", "DAWBridge: Settings", None),
    ("DAWBridge_Listen.py", "DAWBridge: Listen", LISTEN),
)

# What the installer writes for each action, next to this file: REAPER runs one file per
# action. It finds the folder holding ``daw_scripts`` and hands over to the shared code.
ACTION_SCRIPT = '''"""{name} (a REAPER action written by `dawbridge install reaper`)."""

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

{call}
'''


def action_script(name, op):
    """The source of the script for the action ``name`` running ``op`` (None: the settings)."""
    if op is None:
        call = "from daw_scripts.reaper import preferences  # noqa: E402\n\npreferences.main(globals())"
    elif op == LISTEN:
        call = "from daw_scripts.reaper import listener  # noqa: E402\n\nlistener.main(globals())"
    else:
        call = "from daw_scripts.reaper import actions  # noqa: E402\n\nactions.main({!r}, globals())".format(op)
    return ACTION_SCRIPT.format(name=name, call=call)
