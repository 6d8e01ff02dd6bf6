"""The script's link to the engine: one client, attached as a Live session so that commands
from the CLI (``dawbridge live harmonize``) or any client reach this set.

Polled from the manager's tick and never blocking: ``poll`` sends an attach while detached (at
most every ATTACH_RETRY_SECONDS; a refused loopback connection fails at once), reads whatever has
arrived, and returns the commands addressed to this session. When the connection is lost (the
engine stopped or restarted) it attaches again.
"""

import logging
import time

from . import constants
from .shared import engine_client, errors

log = logging.getLogger(__name__)


class EngineLink(object):
    """The client plus the attached session's state."""

    def __init__(self, settings, session_name, clock=time.monotonic):
        self.address = settings["address"]
        self.session_name = session_name
        connect = min(float(settings.get("connect_timeout", constants.MAX_CONNECT_SECONDS)),
                      constants.MAX_CONNECT_SECONDS)  # a connection attempt holds Live's thread
        self.client = engine_client.EngineClient(
            self.address, settings.get("transport", "auto"), connect)
        self.attach_id = None
        self.attached = False
        self.unreachable = False  # the last attach found nothing at the address
        self._clock = clock
        self._next_attach = 0.0
        self._attached_on = None  # the connection the attach was sent on

    def poll(self):
        """Commands (dicts with "op" and controls) the engine pushed since the last poll."""
        now = self._clock()
        if self.attach_id is None and now >= self._next_attach:
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
        self.client.close()

    def _attach(self, now):
        self._next_attach = now + constants.ATTACH_RETRY_SECONDS
        try:
            self.attach_id = self.client.submit("attach", daw="live", name=self.session_name)
        except errors.EngineError as exc:
            log.debug("attach failed: %s", exc)
            self.unreachable = exc.code == errors.UNREACHABLE
            return
        self._attached_on = self._connection()

    def _on_session_message(self, message, now):
        if message.get("event") == "command":
            command = message.get("command")
            if isinstance(command, dict) and command.get("op") in constants.MUSICAL_OPS:
                return [command]
            log.warning("ignored a command that names no musical op: %r", command)
        elif message.get("ok") is True:
            self.attached = True  # on the connection it was sent on, which may be gone already
            self.unreachable = False
            log.info("attached to the engine at %s as %r", self.address, self.session_name)
        elif message.get("ok") is False:
            log.info("attach refused: %s", (message.get("error") or {}).get("message"))
            self.attach_id, self.attached = None, False
            self._next_attach = now + constants.ATTACH_RETRY_SECONDS
        return []

    def _connection(self):
        """A token that changes whenever the client's connection to the engine is replaced."""
        transport = getattr(self.client, "_transport", None)
        return transport.session() if transport is not None else None
