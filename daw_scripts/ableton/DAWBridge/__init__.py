"""DAWBridge for Ableton Live: a MIDI Remote Script (Control Surface) that sends the selected
MIDI clip to the DAWBridge engine and writes the results into new clips.

Live imports this package from the User Library's ``Remote Scripts`` folder and calls
``create_instance`` with its ``c_instance`` when DAWBridge is chosen as a Control Surface.
"""


def create_instance(c_instance):
    from .manager import Manager

    return Manager(c_instance)
