"""The script's settings file: the engine's address, the controller buttons and the controls
sent with each op. Read once when Live loads the script; written with the defaults when absent.

The file is ``ableton.cfg`` in the DAWBridge folder (``~/.dawbridge``, or ``$DAWBRIDGE_HOME``),
one ``name = value`` per line, ``#`` comment lines, parsed by the shared settings module
(``address``, ``candidates``, ``style.harmonize``, ...). On top of those this script reads:

- ``<op>`` or ``<op>:<label>`` = ``note|cc <0..127> [channel <1..16>] [field=value ...]``: a
  button that triggers the op, with controls overriding the defaults; ``off`` removes one.
- ``<op>.<field>`` (``continue.bars``, ``vary.strength``, ...): more controls for one op.

A bad line is skipped with a message naming it and what is allowed; the rest still applies.
"""

import os

from . import constants
from .shared import settings as common_settings

FILE_NAME = "ableton.cfg"
KINDS = ("note", "cc")


def home_dir():
    """The folder holding the settings and the log file."""
    return os.environ.get("DAWBRIDGE_HOME") or os.path.join(os.path.expanduser("~"), ".dawbridge")


class Config(object):
    """Parsed settings. ``buttons`` maps ``(kind, channel 0..15, number)`` to ``(op, controls)``."""

    def __init__(self, text=""):
        self.problems = []  # type: list[str]
        self.settings = common_settings.parse(text, self.problems)
        self.op_controls = dict((op, {}) for op in constants.MUSICAL_OPS)
        self.buttons = {}
        names = dict(constants.DEFAULT_BUTTONS)
        for name, value in list(self.settings.items()):
            op = name.split(":", 1)[0].split(".", 1)[0]
            if op not in constants.MUSICAL_OPS:
                continue
            del self.settings[name]
            if name.startswith(op + "."):
                self.op_controls[op][name[len(op) + 1:]] = parse_value(value)
            else:
                names[name] = value
        for key, value in constants.DEFAULT_OP_CONTROLS:
            op, field = key.split(".", 1)
            self.op_controls[op].setdefault(field, value)
        for name in sorted(names):
            self._add_button(name, names[name])

    @property
    def address(self):
        return self.settings["address"]

    def fields_for(self, op, kind=None, overrides=None):
        """The controls to send with ``op`` for a clip of ``kind``: the common ones (candidates,
        temperature, style), this op's, then ``overrides`` (a button's or a command's)."""
        fields = common_settings.request_fields(self.settings, op, kind)
        if self.settings.get("seed") not in (None, ""):
            fields["seed"] = parse_value(self.settings["seed"])
        fields.update(self.op_controls.get(op, {}))
        fields.update(overrides or {})
        return fields

    def _add_button(self, name, spec):
        if str(spec).strip().lower() in ("off", "none", ""):
            return
        try:
            key, controls = parse_button(str(spec))
        except ValueError as exc:
            self.problems.append("{}: {}".format(name, exc))
            return
        if key in self.buttons:
            self.problems.append("{}: {} {} on channel {} is already {}".format(
                name, key[0], key[2], key[1] + 1, self.buttons[key][0]))
            return
        self.buttons[key] = (name.split(":", 1)[0], controls)


def parse_button(spec):
    """``"note 36 channel 2 style=chords"`` -> ``(("note", 1, 36), {"style": "chords"})``."""
    words = spec.split()
    if len(words) < 2 or words[0].lower() not in KINDS:
        raise ValueError("a button must be 'note <0..127>' or 'cc <0..127>', got '{}'".format(spec))
    kind = words[0].lower()
    number = _int(words[1], "{} number".format(kind), 0, 127)
    channel, rest = 0, words[2:]
    if len(rest) >= 2 and rest[0].lower() == "channel":
        channel = _int(rest[1], "channel", 1, 16) - 1
        rest = rest[2:]
    controls = {}
    for word in rest:
        field, sep, value = word.partition("=")
        if not sep or not field:
            raise ValueError("expected field=value after the button, got '{}'".format(word))
        controls[field] = parse_value(value)
    return (kind, channel, number), controls


def parse_value(text):
    """``"true"`` -> True, ``"3"`` -> 3, ``"0.5"`` -> 0.5, anything else stays a string."""
    if not isinstance(text, str):
        return text
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _int(text, what, low, high):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError("{} must be in range {}..{}, got '{}'".format(what, low, high, text))
    return value


def default_text():
    """The file written on first load: every setting at its default, with how to change it."""
    defaults = common_settings.defaults()
    lines = [
        "# DAWBridge for Ableton Live: settings, read when Live loads the script.",
        "# After editing, re-select DAWBridge as a Control Surface (or restart Live).",
        "",
        "# The engine: start it with `dawbridge serve`.",
        "address = {}".format(defaults.pop("address")),
        "",
        "# Controller buttons: <op> = note|cc <0..127> [channel <1..16>] [field=value ...]",
        "# More buttons for an op: add ':<label>', e.g.  harmonize:chords = note 42 style=chords",
        "# A button set to 'off' is removed.",
    ]
    lines += ["{} = {}".format(name, spec) for name, spec in constants.DEFAULT_BUTTONS]
    lines += ["", "# Controls (styles: see `dawbridge info`)."]
    lines += ["{} = {}".format(k, v) for k, v in sorted(defaults.items())]
    lines += ["{} = {}".format(k, v) for k, v in constants.DEFAULT_OP_CONTROLS]
    lines += ["# seed = 1234"]
    return "\n".join(lines) + "\n"


def load(path=None):
    """Read the settings file (creating it with the defaults when absent) into a Config."""
    path = path or os.path.join(home_dir(), FILE_NAME)
    if not os.path.exists(path):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(default_text())
        except OSError:
            pass  # the defaults apply; the log says why the file is missing
        return Config()
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        config = Config()
        config.problems.append("could not read {} ({})".format(path, exc))
        return config
    return Config(text)
