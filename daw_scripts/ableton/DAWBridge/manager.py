"""The Control Surface Live instantiates: it owns the tick, the triggers and the one action in
flight, and delegates everything else to the module of the Live object concerned.

Live's main thread runs all of it: ``_tick`` every TICK_INTERVAL ticks (``schedule_message``),
``receive_midi`` for the controller buttons forwarded in ``build_midi_map``. Nothing here waits:
the engine is polled, never awaited, and the Live Object Model is only touched from these calls.
"""

import logging

import Live

try:
    from _Framework.ControlSurface import ControlSurface
except ImportError:  # a Live without the legacy framework
    from ableton.v2.control_surface import ControlSurface

from . import config, constants
from . import log as log_file
from . import song as song_info
from .action import Action
from .shared import session

log = logging.getLogger(__name__)

NOTE_ON, NOTE_OFF, CONTROL_CHANGE = 0x90, 0x80, 0xB0


class Manager(ControlSurface):
    """DAWBridge's Control Surface: buttons and engine commands in, new clips out."""

    def __init__(self, c_instance):
        ControlSurface.__init__(self, c_instance)
        self._connected = True
        self._log_handlers = log_file.start(self.log_message)
        self._config = config.load()
        for problem in self._config.problems:
            log.warning("settings: %s", problem)
        self._link = session.SessionLink(self._config.settings, "live", song_info.set_name(self._song()),
                                         constants.ATTACH_RETRY_SECONDS)
        self._action = None
        self._shown_percent = None
        self._cc_values = {}
        self._said_unreachable = False
        self.schedule_message(constants.TICK_INTERVAL, self._tick)
        note = " ({} settings problems, see the log)".format(len(self._config.problems)) \
            if self._config.problems else ""
        self._status("ready; engine at {}{}".format(self._link.address, note))

    @property
    def busy(self):
        """True while a request is in flight."""
        return self._action is not None

    @property
    def attached(self):
        """True while the engine knows this set as a Live session (commands can reach it)."""
        return self._link.attached

    # --- triggers --------------------------------------------------------------------------

    def trigger(self, op, overrides=None, source="button"):
        """Run ``op`` on the selected clip (the same op from a button again cancels it)."""
        if self._action is not None:
            if source == "button" and op == self._action.op:
                self._action.cancel()
                return
            self._status("still working on {}; wait for it first".format(self._action.title))
            return
        action, problem = Action.start(self._song(), self._link.client, self._config, op, overrides)
        if action is None:
            self._status(problem)
            return
        self._action, self._shown_percent = action, None
        if action.pending.done:  # not even sent (the engine is away): say so at once
            self._poll_action()
        else:
            self._status("{}: asking the engine...".format(action.title))

    def receive_midi(self, midi_bytes):
        """A forwarded note or CC from the controller: a button press starts its op."""
        if len(midi_bytes) != 3:
            return ControlSurface.receive_midi(self, midi_bytes)
        status, number, value = midi_bytes
        kind = {NOTE_ON: "note", NOTE_OFF: "note", CONTROL_CHANGE: "cc"}.get(status & 0xF0)
        key = (kind, status & 0x0F, number)
        if key not in self._config.buttons:
            return ControlSurface.receive_midi(self, midi_bytes)
        if kind == "note":
            pressed = status & 0xF0 == NOTE_ON and value > 0
        else:  # a CC button fires when it crosses 64 upwards
            pressed = value >= 64 and self._cc_values.get(key, 0) < 64
            self._cc_values[key] = value
        if pressed:
            op, controls = self._config.buttons[key]
            self.trigger(op, controls, "button")

    def build_midi_map(self, midi_map_handle):
        """Ask Live to forward the configured notes and CCs to ``receive_midi``."""
        ControlSurface.build_midi_map(self, midi_map_handle)
        script_handle = self._c_instance.handle()
        for kind, channel, number in self._config.buttons:
            if kind == "note":
                Live.MidiMap.forward_midi_note(script_handle, midi_map_handle, channel, number)
            else:
                Live.MidiMap.forward_midi_cc(script_handle, midi_map_handle, channel, number)

    # --- the tick --------------------------------------------------------------------------

    def _tick(self):
        if not self._connected:
            return
        try:
            for command in self._link.poll():
                overrides = session.controls(command)
                log.info("command from the engine: %s %s", command["op"], overrides)
                self.trigger(command["op"], overrides, "engine")
            self._report_connection()
            self._poll_action()
        except Exception:
            log.exception("tick failed")
        finally:
            self.schedule_message(constants.TICK_INTERVAL, self._tick)

    def _report_connection(self):
        """Say once that the engine is away, and once that it came back."""
        if self._link.unreachable and not self._said_unreachable:
            self._said_unreachable = True
            self._status("the engine is not running at {}: {}".format(
                self._link.address, constants.START_HINT))
        elif self._link.attached and self._said_unreachable:
            self._said_unreachable = False
            self._status("connected to the engine at {}".format(self._link.address))

    def _poll_action(self):
        if self._action is None:
            return
        action = self._action
        try:
            message = action.poll(self._song())
        except Exception as exc:
            log.exception("%s failed while writing its result", action.op)
            message = "{}: could not write the result ({}); see the log".format(action.title, exc)
        if message is None:
            percent = int(action.progress * 10) * 10
            if percent != self._shown_percent:
                self._shown_percent = percent
                self._status("{}: working... {}%".format(action.title, percent))
            return
        self._action = None
        self._status(message if message.startswith(action.title) else
                     "{}: {}".format(action.title, message))

    def _song(self):
        """The Song: a method in ``_Framework``, a property in ``ableton.v2``."""
        song = self.song
        return song() if callable(song) else song

    def _status(self, text):
        log.info("%s", text)
        self.show_message("{}: {}".format(constants.SCRIPT_NAME, text))

    def disconnect(self):
        """Live unloads the script: stop waiting, close the connection, release the log."""
        self._connected = False
        if self._action is not None:
            self._action.cancel()
            self._action = None
        self._link.close()
        log_file.stop(self._log_handlers)
        ControlSurface.disconnect(self)
