"""REAPER as the scripts see it: the ``RPR_`` functions of a ReaScript's namespace, and the few
conventions of REAPER's Python API that every module needs.

Inside REAPER a Python ReaScript runs as ``__main__`` with every API function in its globals
as ``RPR_<name>``, plus ``RPR_defer``/``RPR_atexit``, which take a string of Python code that
REAPER runs later in that same namespace. Pointers are strings like
``'(MediaItem*)0x00000000DEADBEEF'``; NULL is such a string of zeros, so ``if take:`` is always
true and :func:`is_null` is the test. Functions with out-parameters return a tuple: the return
value, then every argument with the out-values filled in. Python 3.7, stdlib only.
"""

import itertools

PROJECT = 0  # the current project, for every ``ReaProject*`` argument
MB_OK = 0
MB_YESNO = 4
IDYES = 6
UNDO_STATE_ALL = -1

_callbacks = {}  # key -> callable, for the code strings handed to RPR_defer / RPR_atexit
_keys = itertools.count(1)


def is_null(pointer):
    """True for REAPER's NULL pointer (or a missing value)."""
    if not pointer:
        return True
    text = str(pointer)
    return text.endswith("0x0000000000000000") or text in ("0", "None")


class Host(object):
    """``host.CountSelectedMediaItems(0)`` calls ``RPR_CountSelectedMediaItems(0)`` from the
    script's namespace; ``host.defer(fn)`` schedules a Python callable."""

    def __init__(self, namespace):
        self.namespace = namespace

    def __getattr__(self, name):
        try:
            return self.namespace["RPR_" + name]
        except KeyError:
            raise AttributeError("this REAPER has no API function {}".format(name)) from None

    def has(self, name):
        return ("RPR_" + name) in self.namespace

    def defer(self, callback):
        """Run ``callback()`` on one of REAPER's next timer ticks (about 30 per second)."""
        self._schedule("defer", callback)

    def at_exit(self, callback):
        """Run ``callback()`` when the script ends, also when the user terminates it."""
        self._schedule("atexit", callback)

    def _schedule(self, kind, callback):
        # REAPER runs the string later; it reaches the callable through sys.modules, so it
        # does not matter in which namespace REAPER evaluates it.
        key = next(_keys)
        _callbacks[key] = callback
        self.namespace["RPR_" + kind]("import sys; sys.modules[{!r}]._call({})".format(__name__, key))

    def message(self, text, title="DAWBridge"):
        """A modal message with an OK button."""
        self.ShowMessageBox(text, title, MB_OK)

    def ask(self, text, title="DAWBridge"):
        """A Yes/No question; True for Yes."""
        return self.ShowMessageBox(text, title, MB_YESNO) == IDYES

    def tooltip(self, text):
        """Show ``text`` in a tooltip by the mouse pointer ("" hides it)."""
        x, y = self.GetMousePosition(0, 0)[:2]
        self.TrackCtl_SetToolTip(text, int(x) + 16, int(y) + 16, True)

    def ext_get(self, section, key):
        return self.GetExtState(section, key)

    def ext_set(self, section, key, value, persist=False):
        self.SetExtState(section, key, value, persist)

    def ext_delete(self, section, key):
        self.DeleteExtState(section, key, False)

    def now(self):
        return self.time_precise()


def _call(key):
    """Run (once) the callable scheduled under ``key``."""
    callback = _callbacks.pop(key, None)
    if callback is not None:
        callback()
