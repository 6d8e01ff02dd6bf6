"""Every sentence the REAPER actions show the user, in one place. Python 3.7, stdlib only."""

from ..common.errors import CANCELLED, START_HINT, TIMEOUT, UNREACHABLE

TITLE = "DAWBridge"

NOTHING_SELECTED = ("Nothing is selected. Select one or more MIDI items (click an item; "
                    "Ctrl/Cmd-click to add more), then run the action again.")
NOT_MIDI = ("The selected items are not MIDI items. DAWBridge works on MIDI: select items "
            "whose active take is MIDI, then run the action again.")
NO_TIME_SELECTION = ("There is no time selection. Drag in the ruler over the bars you want, "
                     "then run the action again.")
FILL_OUTSIDE = ("The time selection does not overlap any selected MIDI item. Select the drum "
                "item and make a time selection over the beats to fill.")
CANNOT_SEND = "The selection cannot be sent to the engine: {error}."
EMPTY_RESULT = "The engine answered, but with no notes to insert."
NOTES_REFUSED = ("REAPER refused {count} of the notes of '{title}', so the new takes are "
                 "incomplete. Undo it (Ctrl/Cmd+Z) and run the action again.")
RESULT_NOTE = "DAWBridge: {title} of '{name}': {note}\n"
NO_NAME = "the selection"
PROGRESS = "DAWBridge: {title}... {percent}% ({seconds} s). Run a DAWBridge action again to cancel."
BUSY = ("DAWBridge is still working on '{title}' (started {seconds} s ago).\n\n"
        "Cancel it?  Yes: stop it.  No: let it finish.")
SETTINGS_SAVED = "DAWBridge settings saved."
SETTINGS_PROBLEMS = "Some settings were not saved:\n\n{problems}\n\nThe other settings were saved."
LISTENING = ("DAWBridge: listening for commands from the engine at {address} "
             "(`dawbridge reaper <op>`). To stop, run 'DAWBridge: Listen' again and choose "
             "Terminate instances.\n")
LISTEN_ATTACHED = "DAWBridge: attached to the engine at {address}.\n"
LISTEN_AWAY = ("DAWBridge: the engine at {address} is not running; attaching when it starts "
               "(`dawbridge serve`).\n")
LISTEN_BUSY = "DAWBridge: '{op}' from the engine was skipped: '{title}' is still running.\n"
LISTEN_STOPPED = "DAWBridge: stopped listening.\n"
BUG = ("DAWBridge hit an unexpected error and stopped; the project was not changed by it.\n\n"
       "{error}\n\nPlease report this with the text above.")


def engine_error(title, error):
    """The message for an EngineError: the engine's own words, and what to do."""
    if error.code == UNREACHABLE:
        text = error.message
        return text if START_HINT in text or "dawbridge serve" in text else text + " " + START_HINT
    if error.code == TIMEOUT:
        return error.message
    if error.code == CANCELLED:
        return "'{}' was cancelled.".format(title)
    return "The DAWBridge engine could not do '{}':\n\n{}".format(title, error.message)


def partial_failure(title, failed, total, error):
    """Some requests of an action worked, others did not."""
    return "{} of {} requests for '{}' failed; the others were inserted.\n\n{}".format(
        failed, total, title, engine_error(title, error))
