"""One musical op on the selected clip, from reading it to the new clips: ``Action.start`` reads
the selection and sends the request; the manager calls ``poll`` every tick until it reports."""

import logging

from . import clip, constants, placement, track, view
from .shared import clips, engine_client, errors, session

log = logging.getLogger(__name__)


class Action(object):
    """A request in flight for one selection. ``poll`` -> None while waiting, else a message."""

    def __init__(self, op, selection, pending):
        self.op = op
        self.style = pending.fields.get("style")
        self.selection = selection
        self.pending = pending
        self.title = clips.OP_NOUNS.get(op, op.capitalize())

    @classmethod
    def start(cls, song, client, config, op, overrides=None):
        """``(Action, None)`` once the request is sent, or ``(None, message)`` saying why not."""
        selection = view.selected_clip(song)
        if not isinstance(selection, view.Selection):
            return None, selection
        try:
            fields = request_fields(song, selection, config, op, overrides)
        except ValueError as exc:
            return None, "the selected clip cannot be sent: {}".format(exc)
        timeout = float(config.settings.get("timeout", engine_client.DEFAULT_TIMEOUT))
        pending = engine_client.PendingRequest.start(client, op, fields, timeout=timeout)
        log.info("%s of %r: request %s", op, selection.clip.name, pending.id or "not sent")
        return cls(op, selection, pending), None

    @property
    def progress(self):
        return self.pending.progress

    def poll(self, song):
        """None while the engine works; then the message for the status bar: where the result
        went, and what it says beside its clips (a harmonization's chords, warnings)."""
        if self.pending.poll() is None:
            return None
        if self.pending.error is not None:
            return describe_error(self.pending.error)
        report = placement.place(song, self.selection, self.op, self.pending.result, self.style)
        notes = clips.result_notes(self.pending.result, self.pending.fields.get("clip"))
        return "; ".join(["{}: {}".format(self.title, report)] + notes)

    def cancel(self):
        self.pending.cancel()


def request_fields(song, selection, config, op, overrides=None):
    """The request's fields for ``op`` on the selection."""
    kind = "drums" if track.holds_drums(selection.track) else None
    source = clip.read(song, selection.clip, selection.clip.name or selection.track.name, kind)
    extra = session.controls(overrides)
    fields = config.fields_for(op, source["kind"], extra)
    numerator, denominator = source["time_signature"]
    bar_beats = numerator * 4.0 / denominator
    if op == "drums":
        fields.setdefault("bars", max(1, min(64, int(round(source["length"] / bar_beats)))))
        fields.setdefault("time_signature", source["time_signature"])
        fields.setdefault("tempo", source.get("tempo"))
        if source["kind"] != "drums" and source["notes"]:
            fields["context"] = [source]
    else:
        fields["clip"] = source
        if op == "fill" and "span" not in fields:
            span = clip.selected_span(selection.clip, bar_beats)
            if span is not None:
                fields["span"] = span
    return fields


def describe_error(error):
    """A status-bar line for an engine error: what happened and what to do."""
    if error.code == errors.UNREACHABLE:
        return "the engine is not running: {}".format(constants.START_HINT)
    if error.code == "model_unavailable":
        return "the engine has no model loaded: {}".format(error.message)
    if error.code == errors.TIMEOUT:
        return "the engine took too long; try again or ask for fewer candidates"
    if error.code == errors.CANCELLED:
        return "cancelled"
    return "the engine refused ({}): {}".format(error.code, error.message)
