"""The six musical actions: what each one reads from the selection, what it asks the engine,
and where its answer goes. ``main(op, namespace)`` is what every action script calls;
``start(host, op, controls)`` is what a command pushed to "DAWBridge: Listen" runs.

- harmonize / vary / restyle: one request per selected MIDI item; the result sits under the
  item's track, aligned with the item.
- continue: as many new bars as the item has, placed right after it.
- fill: one request per selected MIDI item that the time selection overlaps; the span is the
  overlap (the last bar when there is no time selection); the result is aligned with the item.
- drums: one request for the time selection (whole bars of the metre there), the selected
  MIDI items inside it as context; the result goes under the first selected item's track (or
  the first selected track, or at the end of the project).

Python 3.7, stdlib only.
"""

import traceback

from ..common.session import controls as command_controls
from ..common.settings import request_fields
from . import messages, preferences, reading, runner
from .host import Host
from .runner import Job
from .writing import Placement

MAX_CONTEXT_CLIPS = 8
MAX_BARS = 64
TITLES = {
    "harmonize": "Harmonize",
    "drums": "Drums",
    "fill": "Fill",
    "vary": "Vary",
    "continue": "Continue",
    "restyle": "Restyle",
}


def main(op, namespace):
    """Run the action for ``op`` in a ReaScript whose globals are ``namespace``."""
    host = Host(namespace)
    try:
        if runner.offer_cancel(host):
            return
        start(host, op)
    except Exception:
        host.message(messages.BUG.format(error=traceback.format_exc(limit=4)))


def start(host, op, controls=None):
    """Plan ``op`` on the selection and send its requests; ``controls`` (a pushed command's)
    go over the settings."""
    settings = preferences.load(host)
    try:
        jobs, problem = PLANNERS[op](host, settings)
    except ValueError as exc:  # a selection the protocol cannot carry (too long, too many notes)
        jobs, problem = [], messages.CANNOT_SEND.format(error=exc)
    if problem:
        host.message(problem)
        return
    for job in jobs:
        job.fields.update(command_controls(controls))
    runner.Run(host, op, TITLES[op], jobs, settings).start()


def _selected(host):
    """``(sources, problem)`` for the actions that work on selected items."""
    sources, skipped = reading.selected_midi_items(host)
    if sources:
        return sources, None
    return [], messages.NOT_MIDI if skipped else messages.NOTHING_SELECTED


def _aligned(source):
    return lambda candidates: Placement(source.track, source.start_qn, candidates)


def _per_item(op):
    def plan(host, settings):
        sources, problem = _selected(host)
        jobs = []
        for source in sources:
            fields = request_fields(settings, op, source.clip.get("kind"))
            fields["clip"] = source.clip
            jobs.append(Job(fields, _aligned(source)))
        return jobs, problem
    return plan


def _plan_continue(host, settings):
    sources, problem = _selected(host)
    jobs = []
    for source in sources:
        num, den = source.clip["time_signature"]
        bar = num * 4.0 / den
        bars = max(1, min(MAX_BARS, int(round(source.clip["length"] / bar))))
        fields = request_fields(settings, "continue")
        fields.update(clip=source.clip, bars=bars)
        jobs.append(Job(fields, _after(source, bars * bar)))
    return jobs, problem


def _after(source, new_beats):
    """Continuations go after the source; a result that repeats the source goes over it."""
    def place(candidates):
        length = float(candidates[0][0]["length"]) if candidates and candidates[0] else new_beats
        whole = abs(length - (source.clip["length"] + new_beats)) < 1e-3
        return Placement(source.track, source.start_qn if whole else source.end_qn, candidates)
    return place


def _plan_fill(host, settings):
    sources, problem = _selected(host)
    window = reading.time_selection(host)
    jobs = []
    for source in sources:
        fields = request_fields(settings, "fill")
        fields["clip"] = source.clip
        if window is not None:
            start, end = max(window[0], source.start_qn), min(window[1], source.end_qn)
            if end - start <= 1e-6:
                continue
            fields["span"] = [round(start - source.start_qn, 6), round(end - source.start_qn, 6)]
        jobs.append(Job(fields, _aligned(source)))
    if sources and not jobs:
        return [], messages.FILL_OUTSIDE
    return jobs, problem


def _plan_drums(host, settings):
    window = reading.time_selection(host)
    if window is None:
        return [], messages.NO_TIME_SELECTION
    bars, metre, tempo = reading.bars_in(host, *window)
    context, tracks = [], []
    for index in range(host.CountSelectedMediaItems(0)):
        source = reading.read_item(host, host.GetSelectedMediaItem(0, index), window)
        if source is not None:
            tracks.append(source.track)
            if len(context) < MAX_CONTEXT_CLIPS and source.clip["notes"]:
                context.append(source.clip)
    track = tracks[0] if tracks else reading.first_selected_track(host)
    fields = request_fields(settings, "drums")
    fields.update(bars=min(bars, MAX_BARS), time_signature=list(metre), tempo=round(tempo, 6),
                  context=context)
    start = window[0]
    return [Job(fields, lambda candidates: Placement(track, start, candidates))], None


PLANNERS = {
    "harmonize": _per_item("harmonize"),
    "vary": _per_item("vary"),
    "restyle": _per_item("restyle"),
    "continue": _plan_continue,
    "fill": _plan_fill,
    "drums": _plan_drums,
}
