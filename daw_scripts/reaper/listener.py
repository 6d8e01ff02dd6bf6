"""The "DAWBridge: Listen" action: this REAPER attaches to the engine as a session, so that
``dawbridge reaper <op>`` (or any client's ``dispatch``) runs that action on the current
selection, with the command's controls over the settings.

It runs until it is stopped (run it again and choose *Terminate instances*, or quit REAPER). A
``defer`` tick (about 30 a second) polls the engine without blocking, attaches again after the
engine restarts, and starts each command that arrives as if its action had been run; a command
that arrives while a DAWBridge request is running is skipped, and the console says so. The
console also says when it is attached and when the engine is away. Python 3.7, stdlib only.
"""

import traceback

from ..common.session import SessionLink
from . import actions, messages, preferences, runner
from .host import PROJECT, Host


def main(namespace):
    """The "DAWBridge: Listen" action."""
    host = Host(namespace)
    try:
        Listener(host).start()
    except Exception:
        host.message(messages.BUG.format(error=traceback.format_exc(limit=4)))


class Listener(object):
    """The attached session, followed from REAPER's timer until the script is stopped."""

    def __init__(self, host):
        self.host = host
        self.link = SessionLink(preferences.load(host), "reaper", project_name(host))
        self.stopped = False
        self._said = None  # "attached" or "away": what the console said last

    def start(self):
        self.host.ShowConsoleMsg(messages.LISTENING.format(address=self.link.address))
        self.host.at_exit(self.stop)
        self.host.defer(self._tick)

    def _tick(self):
        if self.stopped:
            return
        try:
            for command in self.link.poll():
                self._run(command)
            self._report()
        except Exception:
            self.host.ShowConsoleMsg(messages.BUG.format(error=traceback.format_exc(limit=4)) + "\n")
        self.host.defer(self._tick)

    def _run(self, command):
        busy = runner.running(self.host)
        if busy is not None:
            self.host.ShowConsoleMsg(messages.LISTEN_BUSY.format(op=command["op"], title=busy[1]))
            return
        actions.start(self.host, command["op"], command)

    def _report(self):
        now = "attached" if self.link.attached else "away" if self.link.unreachable else self._said
        if now != self._said:
            self._said = now
            text = messages.LISTEN_ATTACHED if now == "attached" else messages.LISTEN_AWAY
            self.host.ShowConsoleMsg(text.format(address=self.link.address))

    def stop(self):
        """The script ends: leave the engine."""
        self.stopped = True
        self.link.close()
        self.host.ShowConsoleMsg(messages.LISTEN_STOPPED)


def project_name(host):
    """A label for this project in the engine's session list."""
    name = host.GetProjectName(PROJECT, "", 512)[1]
    return "REAPER: {}".format(name) if name else "REAPER"
