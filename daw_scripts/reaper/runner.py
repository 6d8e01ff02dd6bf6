"""Send an action's requests and wait for them without freezing REAPER.

The requests go out at once; then a ``defer`` tick (about 30 a second) polls for replies, keeps
a progress tooltip by the mouse pointer, and watches for a cancel. When every request has its
answer the results are inserted in one undo point and the tooltip goes away; what a result
says beside its clips (the chords a harmonization follows, the engine's warnings) goes to
REAPER's console, a line each.

Cancelling: while a request runs, ExtState ``DAWBridge/running`` says so. Running any DAWBridge
action again then offers to cancel it (it sets ``DAWBridge/cancel``, which the next tick sees).
If the user terminates the script instead (REAPER asks when its action is run again), the
``atexit`` handler cancels the requests at the engine. Python 3.7, stdlib only.
"""

import traceback

from ..common.clips import candidates_from_result, result_notes
from ..common.engine_client import EngineClient, PendingRequest
from ..common.errors import CANCELLED, EngineError, EngineUnreachable, unreachable_message
from ..common.zmtp import ConnectProbe
from . import messages, writing
from .catalog import EXT_SECTION

RUNNING = "running"
CANCEL = "cancel"
HEARTBEAT_STALE = 5.0  # seconds without a tick: the running script is gone
TOOLTIP_EVERY = 0.25  # seconds between tooltip refreshes
CANCEL_FLUSH = 0.1  # seconds the socket stays open after a cancel was sent


def running(host):
    """``(token, title, seconds running)`` of the DAWBridge request running now, or None."""
    parts = host.ext_get(EXT_SECTION, RUNNING).split("|")
    if len(parts) != 4:
        return None
    token, title, started, beat = parts
    now = host.now()
    try:
        if now - float(beat) > HEARTBEAT_STALE:
            return None
        return token, title, int(now - float(started))
    except ValueError:
        return None


def offer_cancel(host):
    """When another DAWBridge request is running, ask whether to cancel it. True when one was
    running (the caller should not start another)."""
    state = running(host)
    if state is None:
        return False
    token, title, seconds = state
    if host.ask(messages.BUSY.format(title=title, seconds=seconds)):
        host.ext_set(EXT_SECTION, CANCEL, token)
    return True


class Job(object):
    """One request and where its result goes: ``place(candidates)`` -> Placement."""

    def __init__(self, fields, place):
        self.fields = fields
        self.place = place


class Run(object):
    """The requests of one action, followed from REAPER's timer until they are answered."""

    def __init__(self, host, op, title, jobs, settings):
        self.host = host
        self.op = op
        self.title = title
        self.jobs = jobs
        self.settings = settings
        self.client = None
        self.pending = []
        self.finished = False
        self._probe = None
        self.token = "{:.6f}".format(host.now())
        self.started = host.now()
        self._shown = (None, 0.0)

    def start(self):
        """Send the requests once the engine accepts connections: the connection attempt is
        read on REAPER's timer, so an engine that is away never freezes REAPER (Windows retries
        a refused loopback connect for about two seconds before it says so)."""
        try:
            self._probe = ConnectProbe(self.settings["address"], self.settings["connect_timeout"],
                                       self.host.now)
        except ValueError:  # not a tcp:// address: the client's own connect says what is wrong
            self._probe = None
        self._beat()
        self.host.at_exit(self._on_exit)
        self._await_engine()

    def _await_engine(self):
        try:
            if self.host.ext_get(EXT_SECTION, CANCEL) == self.token:
                return self._end()
            answer = True if self._probe is None else self._probe.result()
            if answer is None:
                self._beat()
                return self.host.defer(self._await_engine)
            if not answer:
                error = EngineUnreachable(unreachable_message(self.settings["address"], "connection refused"))
                return self._end(message=messages.engine_error(self.title, error))
            self._send()
        except Exception:
            self._bug()

    def _send(self):
        settings = self.settings
        try:
            self.client = EngineClient(settings["address"], settings["transport"],
                                       settings["connect_timeout"])
        except (EngineError, ValueError) as exc:
            return self._end(message=messages.engine_error(self.title, _as_engine_error(exc)))
        for job in self.jobs:
            self.pending.append(PendingRequest.start(self.client, self.op, job.fields,
                                                     timeout=settings["timeout"]))
        if all(p.done for p in self.pending):  # nothing could even be sent
            return self._finish()
        self._beat()
        self.host.defer(self._tick)

    def _tick(self):
        try:
            if self.host.ext_get(EXT_SECTION, CANCEL) == self.token:
                for pending in self.pending:
                    pending.cancel()
                return self._end()
            waiting = [p for p in self.pending if p.poll() is None]
            if not waiting:
                return self._finish()
            self._beat()
            self._show_progress()
            self.host.defer(self._tick)
        except Exception:
            self._bug()

    def _finish(self):
        done = [(self.jobs[i], p) for i, p in enumerate(self.pending) if p.error is None]
        failed = [p.error for p in self.pending if p.error is not None]
        placements = []
        for job, pending in done:
            candidates = candidates_from_result(pending.result)
            if any(clip.get("notes") for candidate in candidates for clip in candidate):
                placements.append(job.place(candidates))
        message, lost = None, 0
        if placements:
            lost = writing.insert(self.host, self.op, placements, "DAWBridge: " + self.title)[1]
        for job, pending in done:
            self._say_notes(job, pending.result)
        if lost:
            message = messages.NOTES_REFUSED.format(title=self.title, count=lost)
        elif failed and done:
            message = messages.partial_failure(self.title, len(failed), len(self.pending), failed[0])
        elif failed:
            message = messages.engine_error(self.title, failed[0])
        elif not placements:
            message = messages.EMPTY_RESULT
        self._end(message)

    def _say_notes(self, job, result):
        """Put what a result says beside its clips (a harmonization's chords, the engine's
        warnings) in REAPER's console, a line each."""
        clip = job.fields.get("clip")
        for note in result_notes(result, clip):
            name = (clip or {}).get("name") or messages.NO_NAME
            self.host.ShowConsoleMsg(messages.RESULT_NOTE.format(title=self.title, name=name, note=note))

    def _show_progress(self):
        now = self.host.now()
        done = sum(p.progress for p in self.pending) / max(1, len(self.pending))
        text = messages.PROGRESS.format(title=self.title, percent=int(done * 100),
                                        seconds=int(now - self.started))
        if text != self._shown[0] or now - self._shown[1] >= TOOLTIP_EVERY:
            self.host.tooltip(text)
            self._shown = (text, now)

    def _beat(self):
        state = "|".join((self.token, self.title, repr(self.started), repr(self.host.now())))
        self.host.ext_set(EXT_SECTION, RUNNING, state)

    def _on_exit(self):
        """The script ends: normally after ``_end``; early when the user terminates it."""
        if not self.finished:
            for pending in self.pending:
                pending.cancel()
            self._end()

    def _bug(self):
        for pending in self.pending:
            pending.cancel()
        self._end(messages.BUG.format(error=traceback.format_exc(limit=4)))

    def _end(self, message=None):
        self.finished = True
        if self._probe is not None:
            self._probe.close()
        self.host.tooltip("")
        if self.host.ext_get(EXT_SECTION, RUNNING).startswith(self.token + "|"):
            self.host.ext_delete(EXT_SECTION, RUNNING)
        if self.host.ext_get(EXT_SECTION, CANCEL) == self.token:
            self.host.ext_delete(EXT_SECTION, CANCEL)
        if self.client is not None:
            if any(p.error is not None and p.error.code == CANCELLED for p in self.pending):
                self.client.wait(CANCEL_FLUSH)  # let the cancel leave before the socket closes
            self.client.close()
            self.client = None
        if message:
            self.host.message(message)


def _as_engine_error(exc):
    if isinstance(exc, EngineError):
        return exc
    return EngineError("invalid_request", "The engine address in the DAWBridge settings is "
                       "not usable: {}. Fix it with 'DAWBridge: Settings'.".format(exc))
