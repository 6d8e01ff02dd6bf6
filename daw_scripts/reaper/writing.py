"""Put generated clips into the project: new tracks under the source track, one item per
generated part with one take per candidate, all in one undo point, the new items selected.

Clip times are beats from the clip start; notes go in through REAPER's
``MIDI_GetPPQPosFromProjQN``, so positions are right in beats and in seconds whatever the tempo
map does. Nothing that existed before is changed, except that a source track closing a folder
hands that folder end to the last new track below it, so the new tracks stay in its folder.
Python 3.7, stdlib only.
"""

from ..common.clips import clip_label
from .host import PROJECT, UNDO_STATE_ALL, is_null

DRUM_CHANNEL = 9


class Placement(object):
    """Where one request's result goes: under ``track``, starting at beat ``start_qn``;
    ``candidates`` is the result's ``[[clip per part], ...]``."""

    def __init__(self, track, start_qn, candidates):
        self.track = track
        self.start_qn = start_qn
        self.candidates = candidates


def insert(host, op, placements, undo_name):
    """Insert every placement in one undo block; return the new items."""
    new_items = []
    host.Undo_BeginBlock2(PROJECT)
    host.PreventUIRefresh(1)
    try:
        tracks = _TrackMaker(host)
        for placement in placements:
            new_items.extend(_insert_one(host, op, placement, tracks))
        host.SelectAllMediaItems(PROJECT, False)
        for item in new_items:
            host.SetMediaItemSelected(item, True)
    finally:
        host.PreventUIRefresh(-1)
        host.Undo_EndBlock2(PROJECT, undo_name, UNDO_STATE_ALL)
    host.TrackList_AdjustWindows(False)
    host.UpdateArrange()
    return new_items


def _insert_one(host, op, placement, tracks):
    candidates = [c for c in placement.candidates if c]
    parts = max([len(c) for c in candidates] or [0])
    items = []
    for part in range(parts):
        clips = [c[part] for c in candidates if part < len(c)]
        track = tracks.under(placement.track, part, _track_name(op, clips[0], part, parts))
        items.append(_insert_item(host, op, track, placement.start_qn, clips))
    return items


def _track_name(op, clip, part, parts):
    if clip.get("name") or parts == 1:
        return clip_label(op, clip, 0, 1)
    return clip_label(op, clip, part, parts)


def _insert_item(host, op, track, start_qn, clips):
    """One item holding one take per clip (candidate); the first take is active."""
    end_qn = start_qn + max(float(c["length"]) for c in clips)
    item = host.CreateNewMIDIItemInProj(track, start_qn, end_qn, True)[0]
    first = host.GetActiveTake(item)
    for index, clip in enumerate(clips):
        take = first if index == 0 else _new_midi_take(host, item)
        host.GetSetMediaItemTakeInfo_String(take, "P_NAME", clip_label(op, clip, index, len(clips)), True)
        _write_notes(host, take, start_qn, clip)
    host.MIDI_SetItemExtents(item, start_qn, end_qn)
    host.SetActiveTake(first)
    host.UpdateItemInProject(item)
    return item


def _new_midi_take(host, item):
    take = host.AddTakeToMediaItem(item)
    host.SetMediaItemTake_Source(take, host.PCM_Source_CreateFromType("MIDI"))
    return take


def _write_notes(host, take, start_qn, clip):
    default_channel = DRUM_CHANNEL if clip.get("kind") == "drums" else 0
    for note in clip.get("notes", []):
        begin = start_qn + float(note["start"])
        start_ppq = host.MIDI_GetPPQPosFromProjQN(take, begin)
        end_ppq = host.MIDI_GetPPQPosFromProjQN(take, begin + float(note["duration"]))
        channel = note.get("channel")
        host.MIDI_InsertNote(take, False, False, round(start_ppq), max(round(end_ppq), round(start_ppq) + 1),
                             default_channel if channel is None else int(channel),
                             int(note["pitch"]), int(note.get("velocity", 100)), True)
    host.MIDI_Sort(take)


class _TrackMaker(object):
    """New tracks directly under a source track, in the order asked for; one per (source
    track, part) however many placements share them."""

    def __init__(self, host):
        self.host = host
        self.made = {}  # (source track, part) -> new track
        self.last = {}  # source track -> the lowest new track under it

    def under(self, source, part, name):
        key = (source, part)
        if key in self.made:
            return self.made[key]
        host = self.host
        above = self.last.get(source, source)
        if not is_null(above) and not host.ValidatePtr2(PROJECT, above, "MediaTrack*"):
            above = None  # the user deleted the track while the engine worked
        if is_null(above):
            index = host.CountTracks(PROJECT)
        else:
            index = int(host.GetMediaTrackInfo_Value(above, "IP_TRACKNUMBER"))
        host.InsertTrackAtIndex(index, True)
        track = host.GetTrack(PROJECT, index)
        host.GetSetMediaTrackInfo_String(track, "P_NAME", name, True)
        if not is_null(above):
            depth = int(host.GetMediaTrackInfo_Value(above, "I_FOLDERDEPTH"))
            if depth < 0:  # `above` closed folders: the new track closes them now
                host.SetMediaTrackInfo_Value(above, "I_FOLDERDEPTH", 0)
                host.SetMediaTrackInfo_Value(track, "I_FOLDERDEPTH", depth)
        self.made[key] = track
        self.last[source] = track
        return track
