"""Read what the user selected in REAPER and turn it into protocol clips.

PPQ positions become quarter-note beats through REAPER's own conversion
(``MIDI_GetProjQNFromPPQPos``), so tempo changes, take offsets and the take's PPQ resolution
are REAPER's business; tempo and time signature are those at the item's start. The source
items are only read, never written. Python 3.7, stdlib only.
"""

from ..common.clips import guess_kind, make_clip
from .host import PROJECT, is_null


class Source(object):
    """A selected MIDI item and the clip read from it (or from a window of it)."""

    def __init__(self, item, track, start_qn, end_qn, clip):
        self.item = item
        self.track = track
        self.start_qn = start_qn
        self.end_qn = end_qn
        self.clip = clip


def selected_midi_items(host):
    """``(sources, skipped)``: a Source per selected item whose active take is MIDI, in
    REAPER's selection order; ``skipped`` counts the selected items that are not MIDI."""
    sources, skipped = [], 0
    for index in range(host.CountSelectedMediaItems(PROJECT)):
        item = host.GetSelectedMediaItem(PROJECT, index)
        source = read_item(host, item)
        if source is None:
            skipped += 1
        else:
            sources.append(source)
    return sources, skipped


def read_item(host, item, window=None):
    """The Source for ``item``, None when its active take is not MIDI. ``window`` is a
    ``(start_qn, end_qn)`` range in project beats: only that part is read, re-based to it."""
    take = host.GetActiveTake(item)
    if is_null(take) or not host.TakeIsMIDI(take):
        return None
    position = host.GetMediaItemInfo_Value(item, "D_POSITION")
    length = host.GetMediaItemInfo_Value(item, "D_LENGTH")
    start_qn = host.TimeMap2_timeToQN(PROJECT, position)
    end_qn = host.TimeMap2_timeToQN(PROJECT, position + length)
    if window is not None:
        start_qn, end_qn = max(start_qn, window[0]), min(end_qn, window[1])
        if end_qn <= start_qn:
            return None
    track = host.GetMediaItem_Track(item)
    notes = _notes(host, take, start_qn)
    num, den, tempo = metre_at(host, host.TimeMap2_QNToTime(PROJECT, start_qn))
    name = host.GetTakeName(take) or track_name(host, track) or None
    clip = make_clip(notes, end_qn - start_qn, (num, den), tempo, name=name, kind=guess_kind(
        [{"pitch": n[0], "start": n[1], "duration": n[2], "channel": n[4]} for n in notes]))
    return Source(item, track, start_qn, end_qn, clip)


def _notes(host, take, start_qn):
    """(pitch, start, duration, velocity, channel) per unmuted note, beats from ``start_qn``."""
    count = host.MIDI_CountEvts(take, 0, 0, 0)[2]
    notes = []
    for index in range(count):
        ok, _, _, _, muted, start_ppq, end_ppq, chan, pitch, vel = host.MIDI_GetNote(
            take, index, 0, 0, 0.0, 0.0, 0, 0, 0)
        if not ok or muted:
            continue
        start = host.MIDI_GetProjQNFromPPQPos(take, start_ppq) - start_qn
        end = host.MIDI_GetProjQNFromPPQPos(take, end_ppq) - start_qn
        if end > start:
            notes.append((pitch, start, end - start, vel, chan))
    return notes


def metre_at(host, seconds):
    """``(numerator, denominator, bpm)`` in effect at ``seconds`` (BPM in quarter notes)."""
    _, _, num, den, tempo = host.TimeMap_GetTimeSigAtTime(PROJECT, seconds, 0, 0, 0.0)
    return int(num) or 4, int(den) or 4, float(tempo)


def track_name(host, track):
    return host.GetSetMediaTrackInfo_String(track, "P_NAME", "", False)[3]


def time_selection(host):
    """``(start_qn, end_qn)`` of the time selection, None when there is none."""
    _, _, _, start, end, _ = host.GetSet_LoopTimeRange2(PROJECT, False, False, 0.0, 0.0, False)
    if end - start <= 1e-9:
        return None
    return host.TimeMap2_timeToQN(PROJECT, start), host.TimeMap2_timeToQN(PROJECT, end)


def bars_in(host, start_qn, end_qn):
    """Whole bars (at least one) of the metre at ``start_qn`` that fit in the range, and the
    metre: ``(bars, (num, den), bpm)``."""
    num, den, tempo = metre_at(host, host.TimeMap2_QNToTime(PROJECT, start_qn))
    bar = num * 4.0 / den
    return max(1, int(round((end_qn - start_qn) / bar))), (num, den), tempo


def first_selected_track(host):
    """The first selected track, or None."""
    track = host.GetSelectedTrack(PROJECT, 0)
    return None if is_null(track) else track
