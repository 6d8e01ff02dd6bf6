"""DAWBridge's settings in REAPER: kept in ExtState (section "DAWBridge", key "settings", one
``key=value;...`` line that persists across sessions), edited in REAPER's input dialog.
Python 3.7, stdlib only.
"""

from ..common import settings as common_settings
from . import messages
from .catalog import EXT_SECTION

KEY = "settings"

# (settings key, dialog caption) in dialog order; captions must not contain commas
FIELDS = (
    ("address", "Engine address"),
    ("candidates", "Candidates (1-8)"),
    ("temperature", "Temperature (0.05-2)"),
    ("style.harmonize", "Harmonize style (chorale/chords/bass)"),
    ("style.drums", "Drum style"),
    ("style.restyle_drums", "Restyle drums to"),
    ("style.restyle_melody", "Restyle melodies to"),
    ("timeout", "Timeout (seconds)"),
)
SEPARATOR = "|"  # between the dialog's values; no setting can hold it


def load(host, problems=None):
    """The settings stored in REAPER, over the defaults."""
    return common_settings.parse(host.ext_get(EXT_SECTION, KEY), problems)


def save(host, settings):
    host.ext_set(EXT_SECTION, KEY, common_settings.serialize(settings), True)


def _show(value):
    return "{:g}".format(value) if isinstance(value, float) else str(value)


def edit(host):
    """Show the settings dialog; save what the user entered. True when saved."""
    settings = load(host)
    captions = ",".join(caption for _, caption in FIELDS)
    captions += ",separator={},extrawidth=160".format(SEPARATOR)
    values = SEPARATOR.join(_show(settings[key]) for key, _ in FIELDS)
    answer = host.GetUserInputs("DAWBridge settings", len(FIELDS), captions, values, 4096)
    if not answer[0]:
        return False
    entered = answer[4].split(SEPARATOR)
    problems = []
    for index, (key, caption) in enumerate(FIELDS):
        text = entered[index].strip() if index < len(entered) else ""
        try:
            settings[key] = common_settings.check(key, text)
        except ValueError as exc:
            problems.append("{}: {}".format(caption, exc))
    save(host, settings)
    if problems:
        host.message(messages.SETTINGS_PROBLEMS.format(problems="\n".join(problems)))
    return True


def main(namespace):
    """The "DAWBridge: Settings" action."""
    from .host import Host  # here, so that this module stays importable without REAPER

    host = Host(namespace)
    try:
        if edit(host):
            host.message(messages.SETTINGS_SAVED)
    except Exception:
        import traceback

        host.message(messages.BUG.format(error=traceback.format_exc(limit=4)))
