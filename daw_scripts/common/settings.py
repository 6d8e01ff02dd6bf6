"""DAW-side settings: their defaults, their checks, and a flat ``key=value`` text form.

The same text is kept in REAPER's ExtState (one line: pairs separated by ``;``) and in Live's
config file (one pair per line, ``#`` comments). ``parse`` accepts both and never fails on a
user's typo: a bad value falls back to its default and is reported in ``problems``. Values are
percent-escaped where they hold a separator. Python 3.7, stdlib only.
"""

import re

from .zmtp import parse_endpoint

# Styles the engine knows (bridge/protocol.py; a test keeps these copies equal to it).
HARMONIZE_STYLES = ("chorale", "chords", "bass")
DRUM_STYLES = (
    "rock", "funk", "jazz", "latin", "hiphop", "soul", "pop", "punk", "reggae", "blues",
    "country", "dance", "gospel", "afrobeat", "afrocuban", "highlife", "middleeastern",
    "neworleans",
)
MELODY_STYLES = ("chorale", "reel", "jig", "hornpipe", "air", "polka", "waltz", "march")
TRANSPORTS = ("auto", "pyzmq", "zmtp")

DEFAULTS = {
    "address": "tcp://127.0.0.1:5555",
    "transport": "auto",
    "timeout": 60.0,
    "connect_timeout": 2.0,
    "candidates": 3,
    "temperature": 1.0,
    "style.harmonize": "chorale",
    "style.drums": "rock",
    "style.restyle_drums": "funk",
    "style.restyle_melody": "jig",
}

CHOICES = {
    "transport": TRANSPORTS,
    "style.harmonize": HARMONIZE_STYLES,
    "style.drums": DRUM_STYLES,
    "style.restyle_drums": DRUM_STYLES,
    "style.restyle_melody": MELODY_STYLES,
}
RANGES = {
    "timeout": (1.0, 600.0),
    "connect_timeout": (0.1, 30.0),
    "candidates": (1, 8),
    "temperature": (0.05, 2.0),
}


def defaults():
    """A fresh copy of the default settings."""
    return dict(DEFAULTS)


def check(key, value):
    """``value`` (a string or a number) converted to the setting's type; ValueError naming the
    key when it is out of range. Keys without a default pass through as strings."""
    if key not in DEFAULTS:
        return str(value)
    kind = type(DEFAULTS[key])
    try:
        value = kind(float(value)) if kind in (int, float) else str(value).strip()
    except (TypeError, ValueError):
        raise ValueError("{} must be a number, got {!r}".format(key, value)) from None
    if key in RANGES:
        low, high = RANGES[key]
        if not low <= value <= high:
            raise ValueError("{} must be in range {:g}..{:g}, got {:g}".format(key, low, high, value))
    if key in CHOICES and value not in CHOICES[key]:
        raise ValueError("{} must be one of {}, got {!r}".format(key, ", ".join(CHOICES[key]), value))
    if key == "address":
        parse_endpoint(value)
    return value


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def quote(text, safe=""):
    """Percent-encode ``text`` (UTF-8) except letters, digits, ``_.-~`` and ``safe``: what
    ``urllib.parse.quote`` does, which not every host's Python carries."""
    keep = _UNRESERVED.union(safe)
    return "".join(c if c in keep else "".join("%{:02X}".format(b) for b in c.encode("utf-8"))
                   for c in text)


def unquote(text):
    """Undo :func:`quote` (invalid UTF-8 becomes U+FFFD, as ``urllib.parse.unquote`` does)."""
    return _ESCAPES.sub(lambda m: bytes(int(h, 16) for h in m.group(0).split("%")[1:]).decode(
        "utf-8", "replace"), text)


def parse(text, problems=None):
    """Settings from ``key=value`` pairs separated by ``;`` or newlines, over the defaults.

    Bad lines and values are skipped (the default stays); a message for each is appended to
    ``problems`` when a list is given."""
    settings = defaults()
    for item in (text or "").replace("\r", "\n").replace(";", "\n").split("\n"):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        key, sep, value = item.partition("=")
        key = unquote(key.strip())
        try:
            if not sep or not key:
                raise ValueError("expected key=value, got {!r}".format(item))
            settings[key] = check(key, unquote(value.strip()))
        except ValueError as exc:
            if problems is not None:
                problems.append(str(exc))
    return settings


def serialize(settings, separator=";"):
    """The ``key=value`` text for ``settings``, keys sorted; ``separator`` ";" for one line
    (REAPER ExtState) or "\\n" for a file (Live)."""
    pairs = []
    for key in sorted(settings):
        value = settings[key]
        if isinstance(value, float):
            value = "{:g}".format(value)
        pairs.append("{}={}".format(quote(str(key), safe="._-"), quote(str(value), safe="._-:/*[]")))
    return separator.join(pairs)


def style_for(settings, op, kind=None):
    """The style to send with ``op`` (None for ops without one); restyle picks the drum or the
    melody style from the clip's ``kind``."""
    if op in ("harmonize", "drums"):
        return settings.get("style." + op) or DEFAULTS["style." + op]
    if op == "restyle":
        key = "style.restyle_drums" if kind == "drums" else "style.restyle_melody"
        return settings.get(key) or DEFAULTS[key]
    return None


def request_fields(settings, op, kind=None):
    """The controls every musical request carries, from the settings: candidates,
    temperature and, where the op has one, style."""
    fields = {
        "candidates": int(settings.get("candidates", DEFAULTS["candidates"])),
        "temperature": float(settings.get("temperature", DEFAULTS["temperature"])),
    }
    style = style_for(settings, op, kind)
    if style is not None:
        fields["style"] = style
    return fields
