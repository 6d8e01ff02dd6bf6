"""The REAPER actions DAWBridge ships: script file, action name, and the op each one runs.

The installer registers exactly these; the README lists them. Python 3.7, stdlib only.
"""

SCRIPT_FOLDER = "DAWBridge"  # under <resource path>/Scripts/
EXT_SECTION = "DAWBridge"  # REAPER ExtState section for settings and the running request

# (script file in daw_scripts/reaper/, action name in REAPER's action list, op or None)
ACTIONS = (
    ("DAWBridge_Harmonize_selected_items.py", "DAWBridge: Harmonize selected items", "harmonize"),
    ("DAWBridge_Drums_for_time_selection.py", "DAWBridge: Drums for time selection", "drums"),
    ("DAWBridge_Fill_at_time_selection.py", "DAWBridge: Fill at time selection", "fill"),
    ("DAWBridge_Vary_selected_items.py", "DAWBridge: Vary selected items", "vary"),
    ("DAWBridge_Continue_selected_items.py", "DAWBridge: Continue selected items", "continue"),
    ("DAWBridge_Restyle_selected_items.py", "DAWBridge: Restyle selected items", "restyle"),
    ("DAWBridge_Settings.py", "DAWBridge: Settings", None),
)
