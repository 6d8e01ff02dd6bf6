"""A DAW session's link to the engine: one client, attached as a session of its DAW (``live``,
``reaper``) so that commands from the CLI (``dawbridge live harmonize``, ``dawbridge reaper
drums``) or any client's ``dispatch`` reach it.

Polled from the host's timer and never blocking for long: while detached, ``poll`` first
watches a connection attempt to the address across polls (a refused connection is never waited
for on the host's thread, not even where Windows retries it for seconds) and sends an attach
once something accepts there (at most every ``retry_seconds``); it reads
whatever has arrived, and returns the commands addressed to this session. When the connection
is lost (the engine stopped or restarted) it attaches again. Python 3.7, stdlib only.
"""

import logging
import time

from . import engine_client, errors, zmtp

log = logging.getLogger(__name__)

MUSICAL_OPS = ("harmonize", "drums", "fill", "vary", "continue", "restyle")
# Fields a button or a pushed command may not set: the script supplies them from the selection.
RESERVED = ("v", "id", "op", "clip", "context", "timeout")
RETRY_SECONDS = 5.0  # how often to try attaching while the engine is away
MAX_CONNECT_SECONDS = 0.5  # a connection attempt runs on the host's main thread


def controls(command):
    """The controls a pushed command (or a button) sets over the settings: all but the op and
    the fields the script fills in itself."""
    return dict((k, v) for k, v in (command or {}).items() if k not in RESERVED)


class SessionLink(object):
    """The client plus the attached session's state."""

    def __init__(self, settings, daw, session_name, retry_seconds=RETRY_SECONDS,
                 clock=time.monotonic):
        self.address = settings["address"]
        self.daw = daw
        self.session_name = session_name
        self.retry_seconds = retry_seconds
        connect = min(float(settings.get("connect_timeout", MAX_CONNECT_SECONDS)),
                      MAX_CONNECT_SECONDS)  # a connection attempt holds the host's thread
        self.client = engine_client.EngineClient(
            self.address, settings.get("transport", "auto"), connect)
        self.attach_id = None
        self.attached = False
        self.unreachable = False  # the last attach found nothing at the address
        self._clock = clock
        self._next_attach = 0.0
        self._attached_on = None  # the connection the attach was sent on
        self._probe = None  # the connection attempt watched before an attach

    def poll(self):
        """Commands (dicts with "op" and controls) the engine pushed since the last poll."""
        now = self._clock()
        if self.attach_id is None and now >= self._next_attach and self._reachable(now):
            self._attach(now)
        commands = []
        for message in self.client.poll():
            if message.get("id") == self.attach_id and self.attach_id is not None:
                commands.extend(self._on_session_message(message, now))
            else:
                log.debug("ignored a message for %s", message.get("id"))
        if self.attached and self._connection() != self._attached_on:
            log.info("connection to the engine lost; attaching again")
            self.attach_id, self.attached = None, False
        return commands

    def close(self):
        if self._probe is not None:
            self._probe.close()
        self.client.close()

    def _reachable(self, now):
        """Whether something accepts connections at the address: a probe started on one poll
        and read on the next ones. False (and the next try in ``retry_seconds``) when refused."""
        if self._probe is None:
            try:
                self._probe = zmtp.ConnectProbe(self.address, clock=self._clock)
            except ValueError:  # not a tcp:// address: the client's own connect decides
                return True
        answer = self._probe.result()
        if answer is None:
            return False
        self._probe = None
        if not answer:
            log.debug("nothing accepts connections at %s yet", self.address)
            self.unreachable = True
            self._next_attach = now + self.retry_seconds
        return answer

    def _attach(self, now):
        self._next_attach = now + self.retry_seconds
        try:
            self.attach_id = self.client.submit("attach", daw=self.daw, name=self.session_name)
        except errors.EngineError as exc:
            log.debug("attach failed: %s", exc)
            self.unreachable = exc.code == errors.UNREACHABLE
            return
        self._attached_on = self._connection()

    def _on_session_message(self, message, now):
        if message.get("event") == "command":
            command = message.get("command")
            if isinstance(command, dict) and command.get("op") in MUSICAL_OPS:
                return [command]
            log.warning("ignored a command that names no musical op: %r", command)
        elif message.get("ok") is True:
            self.attached = True  # on the connection it was sent on, which may be gone already
            self.unreachable = False
            log.info("attached to the engine at %s as %r", self.address, self.session_name)
        elif message.get("ok") is False:
            log.info("attach refused: %s", (message.get("error") or {}).get("message"))
            self.attach_id, self.attached = None, False
            self._next_attach = now + self.retry_seconds
        return []

    def _connection(self):
        """A token that changes whenever the client's connection to the engine is replaced."""
        transport = getattr(self.client, "_transport", None)
        return transport.session() if transport is not None else None
