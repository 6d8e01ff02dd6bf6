"""Put generated clips into the project: new tracks under the source track, one item per
generated part with one take per candidate, all in one undo point, the new items selected.

Clip times are beats from the clip start; notes go in through REAPER's
``MIDI_GetPPQPosFromProjQN``, so positions are right in beats and in seconds whatever the tempo
map does. Each candidate is first an item of its own (``CreateNewMIDIItemInProj`` gives its take
a real MIDI source); REAPER's "Take: Implode items on same track into takes" then makes them one
item, and the take named as candidate 1 is made active. A take added with
``AddTakeToMediaItem`` would have no source, and Python cannot give it one: the wrapper passes
a PCM source that no take owns yet as NULL.

New tracks sit right under the source track, at its folder level: under a folder track, after
the folder's last track. Nothing that existed before is changed, except that the track closing
a folder hands that folder end to the last new track below it. Python 3.7, stdlib only.
"""

from ..common.clips import clip_label
from .host import PROJECT, UNDO_STATE_ALL, is_null

DRUM_CHANNEL = 9
IMPLODE_ON_SAME_TRACK = 40543  # REAPER's "Take: Implode items on same track into takes"


class Placement(object):
    """Where one request's result goes: under ``track``, starting at beat ``start_qn``;
    ``candidates`` is the result's ``[[clip per part], ...]``."""

    def __init__(self, track, start_qn, candidates):
        self.track = track
        self.start_qn = start_qn
        self.candidates = candidates


def insert(host, op, placements, undo_name):
    """Insert every placement in one undo block; return ``(new items, notes REAPER refused)``."""
    new_items, lost = [], []
    host.Undo_BeginBlock2(PROJECT)
    host.PreventUIRefresh(1)
    try:
        tracks = _TrackMaker(host)
        for placement in placements:
            new_items.extend(_insert_one(host, op, placement, tracks, lost))
        host.SelectAllMediaItems(PROJECT, False)
        for item in new_items:
            host.SetMediaItemSelected(item, True)
    finally:
        host.PreventUIRefresh(-1)
        host.Undo_EndBlock2(PROJECT, undo_name, UNDO_STATE_ALL)
    host.TrackList_AdjustWindows(False)
    host.UpdateArrange()
    return new_items, sum(lost)


def _insert_one(host, op, placement, tracks, lost):
    candidates = [c for c in placement.candidates if c]
    parts = max([len(c) for c in candidates] or [0])
    items = []
    for part in range(parts):
        clips = [c[part] for c in candidates if part < len(c)]
        track = tracks.under(placement.track, part, _track_name(op, clips[0], part, parts))
        items.append(_insert_item(host, op, track, placement.start_qn, clips, lost))
    return items


def _track_name(op, clip, part, parts):
    if clip.get("name") or parts == 1:
        return clip_label(op, clip, 0, 1)
    return clip_label(op, clip, part, parts)


def _insert_item(host, op, track, start_qn, clips, lost):
    """One item holding one take per clip (candidate); the first candidate's take is active."""
    end_qn = start_qn + max(float(c["length"]) for c in clips)
    labels = [clip_label(op, clip, index, len(clips)) for index, clip in enumerate(clips)]
    items = []
    for index, clip in enumerate(clips):
        item = host.CreateNewMIDIItemInProj(track, start_qn, end_qn, True)[0]
        take = host.GetActiveTake(item)
        host.GetSetMediaItemTakeInfo_String(take, "P_NAME", labels[index], True)
        lost.append(_write_notes(host, take, start_qn, clip))
        items.append(item)
    item = items[0]
    if len(items) > 1:
        host.SelectAllMediaItems(PROJECT, False)
        for candidate in items:
            host.SetMediaItemSelected(candidate, True)
        host.Main_OnCommand(IMPLODE_ON_SAME_TRACK, 0)
        item = host.GetSelectedMediaItem(PROJECT, 0)
        for index in range(host.CountTakes(item)):
            take = host.GetTake(item, index)
            if host.GetTakeName(take) == labels[0]:
                host.SetActiveTake(take)
    host.UpdateItemInProject(item)
    return item


def _write_notes(host, take, start_qn, clip):
    """Insert the clip's notes into ``take``; return how many REAPER refused."""
    default_channel = DRUM_CHANNEL if clip.get("kind") == "drums" else 0
    refused = 0
    for note in clip.get("notes", []):
        begin = start_qn + float(note["start"])
        start_ppq = host.MIDI_GetPPQPosFromProjQN(take, begin)
        end_ppq = host.MIDI_GetPPQPosFromProjQN(take, begin + float(note["duration"]))
        channel = note.get("channel")
        inserted = host.MIDI_InsertNote(
            take, False, False, round(start_ppq), max(round(end_ppq), round(start_ppq) + 1),
            default_channel if channel is None else int(channel),
            int(note["pitch"]), int(note.get("velocity", 100)), True)[0]
        refused += 0 if inserted else 1
    host.MIDI_Sort(take)
    return refused


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
        # 0 when the track is gone (the user deleted it while the engine worked): the Python
        # wrapper passes a pointer that is no longer in the project as NULL.
        number = 0 if is_null(above) else int(host.GetMediaTrackInfo_Value(above, "IP_TRACKNUMBER"))
        if number <= 0:
            index, closer = host.CountTracks(PROJECT), None
        else:
            closer = _folder_end(host, number - 1)
            index = closer[0] + 1
        host.InsertTrackAtIndex(index, True)
        track = host.GetTrack(PROJECT, index)
        host.GetSetMediaTrackInfo_String(track, "P_NAME", name, True)
        if closer is not None:
            _hand_over_folder_end(host, closer, track)
        self.made[key] = track
        self.last[source] = track
        return track


def _depth(host, track):
    return int(host.GetMediaTrackInfo_Value(track, "I_FOLDERDEPTH"))


def _folder_end(host, index):
    """``(index, track, level, level after)`` of the last track of the folder the track at
    ``index`` opens (the track itself when it opens none); levels are relative to it."""
    track = host.GetTrack(PROJECT, index)
    level, after = 0, _depth(host, track)
    count = host.CountTracks(PROJECT)
    while after > 0 and index + 1 < count:
        index += 1
        track = host.GetTrack(PROJECT, index)
        level, after = after, after + _depth(host, track)
    return index, track, level, after


def _hand_over_folder_end(host, closer, new_track):
    """The new track, right after ``closer``, sits at the source's level and closes the folders
    ``closer`` used to close beyond that level."""
    _, track, level, after = closer
    if after < 0:  # (after > 0: a folder never closed; the new track stays inside it)
        host.SetMediaTrackInfo_Value(track, "I_FOLDERDEPTH", -level)
        host.SetMediaTrackInfo_Value(new_track, "I_FOLDERDEPTH", after)
