"""A faithful, in-memory fake of REAPER's Python ReaScript API: the one every REAPER test uses.

It follows ``reaper_python.py`` as REAPER generates it, through :mod:`reaper_api`: every
``RPR_<name>`` a script sees is checked against the function's C signature there. Objects
travel as pointer strings such as ``'(MediaItem*)0x0000000000012340'``; a pointer argument
whose type is wrong, or whose object is no longer in the project (a PCM source counts only
while a take owns it), reaches REAPER as NULL, and the call then does nothing and returns 0,
False, "" or NULL (recorded in ``null_calls``). ``ValidatePtr2`` therefore returns False, as it
does from Python. A function with out-parameters returns a tuple of its return value followed
by every argument with the out-values filled in (``MIDI_GetNote`` -> ``(retval, take, noteidx,
selected, muted, startppqpos, endppqpos, chan, pitch, vel)``); void functions return None; C
booleans come back as ``0``/``1``. ``RPR_defer``/``RPR_atexit`` take a string of Python code
that REAPER runs later in the script's own namespace.

The model: one project of tracks (name, folder depth, selection) holding items (position and
length in seconds, selection, an active take) holding takes; a MIDI take's notes are in PPQ,
960 per quarter note, counted from the start of its source. A tempo map of constant-tempo
segments, each with a time signature. ExtState; nested undo blocks (the outermost one makes an
undo point, and ``Undo_DoUndo2`` puts the project back as it was before it); a time selection;
message boxes and input dialogs answered from queues the test fills; tooltips and console text
recorded; ``Main_OnCommand`` for the one action the scripts run (40543, "Take: Implode items on
same track into takes").

What REAPER would refuse quietly (a NULL object, a MIDI call on a take without MIDI) returns
the C default and is recorded in ``null_calls``; a call no REAPER accepts (an unknown
parameter name, a bad note, the wrong number of arguments) raises :class:`FakeReaperError`.
"""

from __future__ import annotations

import copy
import itertools
import time
from bisect import insort
from dataclasses import dataclass, field

from tests.daw_scripts.reaper.reaper_api import API, check_result, null, pointer_parts

PPQ = 960
IMPLODE_ON_SAME_TRACK = 40543  # Take: Implode items on same track into takes


class FakeReaperError(AssertionError):
    """A call REAPER would not have accepted (unknown parameter, bad value, wrong arity)."""


class _Refused(Exception):
    """Inside an implementation: REAPER would return its "nothing" value here."""


# --- the project --------------------------------------------------------------------------


@dataclass(order=True)
class Note:
    start_ppq: float
    end_ppq: float
    pitch: int
    chan: int = 0
    vel: int = 100
    selected: int = 0
    muted: int = 0


@dataclass
class Source:
    kind: str  # "MIDI" or "WAVE"
    notes: list[Note] = field(default_factory=list)


@dataclass
class Take:
    name: str = ""
    source: Source | None = None
    start_offset: float = 0.0  # D_STARTOFFS, seconds


@dataclass
class Item:
    position: float  # seconds
    length: float  # seconds
    takes: list[Take] = field(default_factory=list)
    active: int = 0
    selected: int = 0


@dataclass
class Track:
    name: str = ""
    items: list[Item] = field(default_factory=list)
    folder_depth: int = 0
    selected: int = 0


@dataclass
class Marker:
    time: float
    qn: float
    bpm: float
    num: int
    den: int


class TempoMap:
    """Constant-tempo segments starting at markers; the first marker is at time 0."""

    def __init__(self, bpm: float, time_signature: tuple[int, int]) -> None:
        self.markers = [Marker(0.0, 0.0, bpm, *time_signature)]

    def _at_time(self, t: float) -> Marker:
        return [m for m in self.markers if m.time <= t + 1e-12][-1] if t >= 0 else self.markers[0]

    def _at_qn(self, qn: float) -> Marker:
        return [m for m in self.markers if m.qn <= qn + 1e-12][-1] if qn >= 0 else self.markers[0]

    def qn_to_time(self, qn: float) -> float:
        m = self._at_qn(qn)
        return m.time + (qn - m.qn) * 60.0 / m.bpm

    def time_to_qn(self, t: float) -> float:
        m = self._at_time(t)
        return m.qn + (t - m.time) * m.bpm / 60.0

    def at(self, t: float) -> Marker:
        return self._at_time(t)

    def add(self, t: float, bpm: float, num: int, den: int) -> None:
        prev = self._at_time(t)
        marker = Marker(t, 0.0, bpm if bpm > 0 else prev.bpm, num or prev.num, den or prev.den)
        self.markers = sorted([m for m in self.markers if abs(m.time - t) > 1e-9] + [marker],
                              key=lambda m: m.time)
        for before, m in zip(self.markers, self.markers[1:], strict=False):  # times stay, beats follow
            m.qn = before.qn + (m.time - before.time) * before.bpm / 60.0


@dataclass
class Project:
    tempo: TempoMap
    tracks: list[Track] = field(default_factory=list)
    time_selection: tuple[float, float] = (0.0, 0.0)


_TYPES = {Track: "MediaTrack*", Item: "MediaItem*", Take: "MediaItem_Take*", Source: "PCM_source*"}
_ITEM_PARMS = ("D_POSITION", "D_LENGTH", "B_UISEL", "I_CURTAKE")
_TRACK_PARMS = ("IP_TRACKNUMBER", "I_FOLDERDEPTH", "I_SELECTED")


class FakeReaper:
    """The fake host. ``namespace()`` is what a ReaScript's globals hold inside REAPER."""

    def __init__(self, bpm: float = 120.0, time_signature: tuple[int, int] = (4, 4),
                 resource_path: str = "/fake/REAPER") -> None:
        self.project = Project(TempoMap(bpm, time_signature))
        self.resource_path = resource_path
        self.project_name = ""  # the .rpp file name; "" while the project is unsaved
        self.ext_state: dict[tuple[str, str], str] = {}
        self.persisted: set[tuple[str, str]] = set()
        self.undo_points: list[str] = []
        self.unguarded_changes: list[str] = []  # project changes made outside an undo block
        self.messages: list[tuple[str, str, int]] = []
        self.message_answers: list[int] = []  # ShowMessageBox answers; then 1 (OK) / 6 (Yes)
        self.input_answers: list[str | None] = []  # GetUserInputs answers (None = Cancel)
        self.input_prompts: list[tuple[str, str, str]] = []  # (title, captions, defaults)
        self.tooltips: list[str] = []
        self.null_calls: list[str] = []  # "Function(param)" calls REAPER got NULL in and ignored
        self.console = ""
        self.mouse = (400, 300)
        self.deferred: list[tuple[str, dict]] = []
        self.at_exit: list[tuple[str, dict]] = []
        self._undo_depth = 0
        self._undo_stack: list[tuple[str, Project]] = []
        self._before_block: Project | None = None
        self._addresses = itertools.count(0x10000, 0x40)
        self._by_address: dict[int, object] = {}
        self._address_of: dict[int, int] = {}

    # --- building a project (the test's side) ---------------------------------------------

    def add_track(self, name: str = "", folder_depth: int = 0) -> Track:
        track = Track(name=name, folder_depth=folder_depth)
        self.project.tracks.append(track)
        return track

    def add_tempo_marker(self, qn: float, bpm: float, time_signature: tuple[int, int] = (0, 0)) -> None:
        """A tempo (and time signature) change at beat ``qn``, as ``AddTempoTimeSigMarker``
        makes it (0 keeps the time signature)."""
        self.project.tempo.add(self.project.tempo.qn_to_time(qn), bpm, *time_signature)

    def add_midi_item(self, track: Track, start_qn: float, length_qn: float,
                      notes=(), name: str = "", selected: bool = True) -> Item:
        """An item of ``length_qn`` beats at beat ``start_qn``; ``notes`` are ``(pitch, start,
        duration, velocity[, channel])`` in beats from the item start."""
        tm = self.project.tempo
        position = tm.qn_to_time(start_qn)
        item = Item(position, tm.qn_to_time(start_qn + length_qn) - position, selected=int(selected))
        source = Source("MIDI")
        for pitch, start, duration, velocity, *chan in notes:
            insort(source.notes, Note(round(start * PPQ), round((start + duration) * PPQ), pitch,
                                      chan[0] if chan else 0, velocity))
        item.takes.append(Take(name=name, source=source))
        self._place(track, item)
        return item

    def add_audio_item(self, track: Track, position: float, length: float, selected: bool = True) -> Item:
        item = Item(position, length, [Take("audio.wav", Source("WAVE"))], selected=int(selected))
        self._place(track, item)
        return item

    def set_time_selection(self, start_qn: float, end_qn: float) -> None:
        tm = self.project.tempo
        self.project.time_selection = (tm.qn_to_time(start_qn), tm.qn_to_time(end_qn))

    def snapshot(self) -> Project:
        """A deep copy of the project, to compare before and after."""
        return copy.deepcopy(self.project)

    def selected_items(self) -> list[Item]:
        return [i for t in self.project.tracks for i in t.items if i.selected]

    def track_named(self, name: str) -> Track:
        return next(t for t in self.project.tracks if t.name == name)

    # --- running scripts (REAPER's side) -----------------------------------------------------

    def namespace(self, path: str = "<script>") -> dict:
        """A ReaScript's globals inside REAPER: every ``RPR_`` function, ``__file__``."""
        ns: dict = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
        for name in dir(self):
            if name.startswith("RPR_"):
                ns[name] = self.python_function(name[4:])
        ns["RPR_defer"] = lambda code: self.deferred.append((code, ns))
        ns["RPR_atexit"] = lambda code: self.at_exit.append((code, ns))
        return ns

    def run_script(self, path: str, ticks: int = 20_000, tick_seconds: float = 0.005) -> dict:
        """Run a ReaScript file, then its deferred code until it stops deferring, then its
        atexit code. A deferred chain longer than ``ticks`` fails the test."""
        ns = self.start_script(path)
        self.run_deferred(ticks, tick_seconds)
        return ns

    def start_script(self, path: str) -> dict:
        """Run a ReaScript file's top level only, as REAPER does before any deferred tick."""
        ns = self.namespace(path)
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
        exec(code, ns)  # what REAPER does with a ReaScript
        return ns

    def run_deferred(self, ticks: int = 20_000, tick_seconds: float = 0.005, finish: bool = True) -> int:
        """Run deferred code tick by tick until none is left (or ``ticks`` ran when ``finish``
        is false), then, when the chain ended, the atexit code."""
        count = 0
        while self.deferred:
            if count >= ticks:
                if not finish:
                    return count
                raise FakeReaperError(f"the script was still deferring after {ticks} ticks")
            pending, self.deferred = self.deferred, []
            for code, ns in pending:
                exec(code, ns)
            count += 1
            time.sleep(tick_seconds)
        self._run_at_exit()
        return count

    def terminate_scripts(self) -> None:
        """The user stops the running scripts: deferred code is dropped, atexit code runs."""
        self.deferred = []
        self._run_at_exit()

    def _run_at_exit(self) -> None:
        pending, self.at_exit = self.at_exit, []
        for code, ns in pending:
            exec(code, ns)

    # --- the Python layer -----------------------------------------------------------------

    def python_function(self, name: str):
        """``RPR_<name>`` as a script calls it: arguments packed and results shaped by the C
        signature, the way ``reaper_python.py`` does it."""
        sig = API.get(name)
        if sig is None:
            raise FakeReaperError(f"{name} has no signature in reaper_api.SIGNATURES")
        implementation = getattr(self, "RPR_" + name)

        def call(*args):
            if len(args) != len(sig.params):
                raise TypeError(f"RPR_{name}() takes {len(sig.params)} arguments ({len(args)} given)")
            packed = [self._pack(p.object_type, a) if p.object_type else a for p, a in zip(sig.params, args, strict=True)]
            for param, value in zip(sig.params, packed, strict=True):
                if param.object_type not in (None, "ReaProject*") and value == null(param.object_type):
                    self.null_calls.append(f"{name}({param.name})")
                    return sig.null_result(args)
            try:
                result = implementation(*packed)
            except _Refused:
                self.null_calls.append(name)
                return sig.null_result(args)
            return check_result(sig, args, result)

        call.__name__ = "RPR_" + name
        return call

    def _pack(self, ctype: str, value) -> str:
        """``rpr_packp``: the pointer when its type fits and ``ValidatePtr`` accepts it, else NULL."""
        parts = pointer_parts(value)
        if parts is None or (parts[0] != ctype and ctype != "void*") or not self.valid(parts[1], ctype):
            return null(ctype)
        return str(value)

    def valid(self, address: int, ctype: str) -> bool:
        """``ValidatePtr``: an object of ``ctype`` in the project (a source: owned by a take in it)."""
        found = self._by_address.get(address)
        if found is None or _TYPES.get(type(found)) != ctype:
            return False
        if isinstance(found, Source):
            return any(take.source is found for item in self._all_items() for take in item.takes)
        return self._alive(found)

    # --- pointers and bookkeeping -----------------------------------------------------------

    def ptr(self, obj: object | None, ctype: str = "void*") -> str:
        if obj is None:
            return null(ctype)
        address = self._address_of.get(id(obj))
        if address is None or self._by_address.get(address) is not obj:
            address = next(self._addresses)
            self._address_of[id(obj)] = address
            self._by_address[address] = obj
        return f"({_TYPES[type(obj)]})0x{address:016X}"

    def obj(self, pointer: str, kind: type):
        prefix = f"({_TYPES[kind]})0x"
        if not isinstance(pointer, str) or not pointer.startswith(prefix):
            raise FakeReaperError(f"expected a {_TYPES[kind]} pointer, got {pointer!r}")
        found = self._by_address.get(int(pointer[len(prefix):], 16))
        if found is None or (kind is not Source and not self._alive(found)):
            raise FakeReaperError(f"{pointer!r} is NULL or no longer in the project")
        return found

    def _alive(self, obj: object) -> bool:
        for track in self.project.tracks:
            if obj is track:
                return True
            for item in track.items:
                if obj is item or any(obj is take for take in item.takes):
                    return True
        return False

    def _changed(self, what: str) -> None:
        if self._undo_depth == 0:
            self.unguarded_changes.append(what)

    def _place(self, track: Track, item: Item) -> None:
        track.items.append(item)
        track.items.sort(key=lambda i: i.position)

    def _track_of(self, item: Item) -> Track:
        return next(t for t in self.project.tracks if any(i is item for i in t.items))

    def _item_of(self, take: Take) -> Item:
        return next(i for t in self.project.tracks for i in t.items if any(k is take for k in i.takes))

    def _midi_take(self, pointer: str) -> Take:
        """The take, when it has a MIDI source; MIDI calls on any other take do nothing."""
        take = self.obj(pointer, Take)
        if take.source is None or take.source.kind != "MIDI":
            raise _Refused(pointer)
        return take

    def _source_start_qn(self, take: Take) -> float:
        item = self._item_of(take)
        tm = self.project.tempo
        return tm.time_to_qn(item.position) - take.start_offset * tm.at(item.position).bpm / 60.0

    def _all_items(self) -> list[Item]:
        return [i for t in self.project.tracks for i in t.items]

    # --- tracks ------------------------------------------------------------------------------

    def RPR_CountTracks(self, proj):
        return len(self.project.tracks)

    def RPR_GetTrack(self, proj, trackidx):
        tracks = self.project.tracks
        return self.ptr(tracks[trackidx] if 0 <= trackidx < len(tracks) else None, "MediaTrack*")

    def RPR_InsertTrackAtIndex(self, idx, wantDefaults):
        self._changed("InsertTrackAtIndex")
        self.project.tracks.insert(max(0, min(idx, len(self.project.tracks))), Track())

    def RPR_CountSelectedTracks(self, proj):
        return sum(t.selected for t in self.project.tracks)

    def RPR_GetSelectedTrack(self, proj, seltrackidx):
        chosen = [t for t in self.project.tracks if t.selected]
        return self.ptr(chosen[seltrackidx] if 0 <= seltrackidx < len(chosen) else None, "MediaTrack*")

    def RPR_SetTrackSelected(self, track, selected):
        self._changed("SetTrackSelected")
        self.obj(track, Track).selected = int(bool(selected))

    def RPR_GetMediaTrackInfo_Value(self, tr, parmname):
        track = self.obj(tr, Track)
        if parmname == "IP_TRACKNUMBER":
            return float(next(n for n, t in enumerate(self.project.tracks, 1) if t is track))
        if parmname == "I_FOLDERDEPTH":
            return float(track.folder_depth)
        if parmname == "I_SELECTED":
            return float(track.selected)
        raise FakeReaperError(f"track parameter {parmname!r} is not modelled ({_TRACK_PARMS})")

    def RPR_SetMediaTrackInfo_Value(self, tr, parmname, newvalue):
        track = self.obj(tr, Track)
        self._changed("SetMediaTrackInfo_Value " + parmname)
        if parmname == "I_FOLDERDEPTH":
            track.folder_depth = int(newvalue)
        elif parmname == "I_SELECTED":
            track.selected = int(newvalue)
        else:
            raise FakeReaperError(f"track parameter {parmname!r} cannot be set here")
        return 1

    def RPR_GetSetMediaTrackInfo_String(self, tr, parmname, stringNeedBig, setNewValue):
        track = self.obj(tr, Track)
        if parmname != "P_NAME":
            raise FakeReaperError(f"track string {parmname!r} is not modelled")
        if setNewValue:
            self._changed("GetSetMediaTrackInfo_String P_NAME")
            track.name = str(stringNeedBig)
        return (1, tr, parmname, track.name, setNewValue)

    # --- items -------------------------------------------------------------------------------

    def RPR_CountMediaItems(self, proj):
        return len(self._all_items())

    def RPR_GetMediaItem(self, proj, itemidx):
        items = self._all_items()
        return self.ptr(items[itemidx] if 0 <= itemidx < len(items) else None, "MediaItem*")

    def RPR_CountSelectedMediaItems(self, proj):
        return len(self.selected_items())

    def RPR_GetSelectedMediaItem(self, proj, selitem):
        chosen = self.selected_items()
        return self.ptr(chosen[selitem] if 0 <= selitem < len(chosen) else None, "MediaItem*")

    def RPR_CountTrackMediaItems(self, track):
        return len(self.obj(track, Track).items)

    def RPR_GetTrackMediaItem(self, tr, itemidx):
        items = self.obj(tr, Track).items
        return self.ptr(items[itemidx] if 0 <= itemidx < len(items) else None, "MediaItem*")

    def RPR_GetMediaItem_Track(self, item):
        return self.ptr(self._track_of(self.obj(item, Item)))

    def RPR_GetMediaItemInfo_Value(self, item, parmname):
        it = self.obj(item, Item)
        values = {"D_POSITION": it.position, "D_LENGTH": it.length, "B_UISEL": it.selected,
                  "I_CURTAKE": it.active}
        if parmname not in values:
            raise FakeReaperError(f"item parameter {parmname!r} is not modelled ({_ITEM_PARMS})")
        return float(values[parmname])

    def RPR_SetMediaItemInfo_Value(self, item, parmname, newvalue):
        it = self.obj(item, Item)
        self._changed("SetMediaItemInfo_Value " + parmname)
        if parmname == "D_POSITION":
            it.position = float(newvalue)
        elif parmname == "D_LENGTH":
            it.length = float(newvalue)
        elif parmname == "B_UISEL":
            it.selected = int(bool(newvalue))
        elif parmname == "I_CURTAKE":
            it.active = int(newvalue)
        else:
            raise FakeReaperError(f"item parameter {parmname!r} is not modelled ({_ITEM_PARMS})")
        return 1

    def RPR_SetMediaItemSelected(self, item, selected):
        self._changed("SetMediaItemSelected")
        self.obj(item, Item).selected = int(bool(selected))

    def RPR_IsMediaItemSelected(self, item):
        return self.obj(item, Item).selected

    def RPR_SelectAllMediaItems(self, proj, selected):
        self._changed("SelectAllMediaItems")
        for it in self._all_items():
            it.selected = int(bool(selected))

    def RPR_CreateNewMIDIItemInProj(self, track, starttime, endtime, qnInOptional):
        tr = self.obj(track, Track)
        self._changed("CreateNewMIDIItemInProj")
        tm = self.project.tempo
        start, end = (tm.qn_to_time(starttime), tm.qn_to_time(endtime)) if qnInOptional else (starttime, endtime)
        item = Item(start, end - start, [Take("", Source("MIDI"))])
        self._place(tr, item)
        return (self.ptr(item), track, starttime, endtime, int(bool(qnInOptional)))

    def RPR_MIDI_SetItemExtents(self, item, startQN, endQN):
        it = self.obj(item, Item)
        self._changed("MIDI_SetItemExtents")
        tm = self.project.tempo
        it.position, it.length = tm.qn_to_time(startQN), tm.qn_to_time(endQN) - tm.qn_to_time(startQN)
        return 1

    def RPR_UpdateItemInProject(self, item):
        self.obj(item, Item)

    # --- takes -------------------------------------------------------------------------------

    def RPR_CountTakes(self, item):
        return len(self.obj(item, Item).takes)

    def RPR_GetTake(self, item, takeidx):
        takes = self.obj(item, Item).takes
        return self.ptr(takes[takeidx] if 0 <= takeidx < len(takes) else None, "MediaItem_Take*")

    RPR_GetMediaItemTake = RPR_GetTake

    def RPR_GetActiveTake(self, item):
        it = self.obj(item, Item)
        return self.ptr(it.takes[it.active] if it.takes else None, "MediaItem_Take*")

    def RPR_SetActiveTake(self, take):
        tk = self.obj(take, Take)
        self._changed("SetActiveTake")
        item = self._item_of(tk)
        item.active = next(n for n, k in enumerate(item.takes) if k is tk)

    def RPR_AddTakeToMediaItem(self, item):
        it = self.obj(item, Item)
        self._changed("AddTakeToMediaItem")
        take = Take()  # no source until SetMediaItemTake_Source
        it.takes.append(take)
        return self.ptr(take)

    def RPR_GetMediaItemTake_Item(self, take):
        return self.ptr(self._item_of(self.obj(take, Take)))

    def RPR_GetMediaItemTake_Track(self, take):
        return self.ptr(self._track_of(self._item_of(self.obj(take, Take))))

    def RPR_TakeIsMIDI(self, take):
        source = self.obj(take, Take).source
        return int(source is not None and source.kind == "MIDI")

    def RPR_GetTakeName(self, take):
        return self.obj(take, Take).name

    def RPR_GetSetMediaItemTakeInfo_String(self, tk, parmname, stringNeedBig, setNewValue):
        take = self.obj(tk, Take)
        if parmname != "P_NAME":
            raise FakeReaperError(f"take string {parmname!r} is not modelled")
        if setNewValue:
            self._changed("GetSetMediaItemTakeInfo_String P_NAME")
            take.name = str(stringNeedBig)
        return (1, tk, parmname, take.name, setNewValue)

    def RPR_GetMediaItemTakeInfo_Value(self, take, parmname):
        tk = self.obj(take, Take)
        if parmname == "D_STARTOFFS":
            return tk.start_offset
        if parmname == "D_PLAYRATE":
            return 1.0
        raise FakeReaperError(f"take parameter {parmname!r} is not modelled")

    def RPR_PCM_Source_CreateFromType(self, sourcetype):
        if sourcetype != "MIDI":
            raise FakeReaperError(f"only MIDI sources are modelled, got {sourcetype!r}")
        return self.ptr(Source("MIDI"))

    def RPR_GetMediaItemTake_Source(self, take):
        return self.ptr(self.obj(take, Take).source, "PCM_source*")

    def RPR_SetMediaItemTake_Source(self, take, source):
        tk, src = self.obj(take, Take), self.obj(source, Source)
        if src is not tk.source:  # only an owned source gets here (see ``valid``)
            raise FakeReaperError("a source another take owns would be owned twice")
        return 1

    def RPR_Main_OnCommand(self, command, flag):
        if command != IMPLODE_ON_SAME_TRACK:
            raise FakeReaperError(f"action {command} is not modelled")
        self._changed("Main_OnCommand")
        for track in self.project.tracks:
            chosen = [i for i in track.items if i.selected]
            if len(chosen) < 2:
                continue
            first = chosen[0]
            end = max(i.position + i.length for i in chosen)
            for other in chosen[1:]:
                for take in other.takes:
                    take.start_offset += first.position - other.position
                first.takes.extend(other.takes)
                track.items.remove(other)
            first.position, first.length = min(i.position for i in chosen), end - min(i.position for i in chosen)

    # --- MIDI --------------------------------------------------------------------------------

    def RPR_MIDI_CountEvts(self, take, notecntOut, ccevtcntOut, textsyxevtcntOut):
        notes = len(self._midi_take(take).source.notes)
        return (notes, take, notes, 0, 0)

    def RPR_MIDI_GetNote(self, take, noteidx, selectedOut, mutedOut, startppqposOut,
                         endppqposOut, chanOut, pitchOut, velOut):
        notes = self._midi_take(take).source.notes
        if not 0 <= noteidx < len(notes):
            return (0, take, noteidx, 0, 0, 0.0, 0.0, 0, 0, 0)
        n = notes[noteidx]
        return (1, take, noteidx, n.selected, n.muted, float(n.start_ppq), float(n.end_ppq),
                n.chan, n.pitch, n.vel)

    def RPR_MIDI_InsertNote(self, take, selected, muted, startppqpos, endppqpos, chan, pitch,
                            vel, noSortInOptional):
        source = self._midi_take(take).source
        self._changed("MIDI_InsertNote")
        if not (0 <= pitch <= 127 and 0 <= chan <= 15 and 1 <= vel <= 127 and endppqpos > startppqpos):
            raise FakeReaperError(f"bad note: pitch {pitch} chan {chan} vel {vel} ppq {startppqpos}..{endppqpos}")
        note = Note(float(startppqpos), float(endppqpos), int(pitch), int(chan), int(vel),
                    int(bool(selected)), int(bool(muted)))
        if noSortInOptional:
            source.notes.append(note)
        else:
            insort(source.notes, note)
        return (1, take, selected, muted, startppqpos, endppqpos, chan, pitch, vel,
                int(bool(noSortInOptional)))

    def RPR_MIDI_Sort(self, take):
        self._midi_take(take).source.notes.sort()

    def RPR_MIDI_GetProjQNFromPPQPos(self, take, ppqpos):
        return self._source_start_qn(self._midi_take(take)) + ppqpos / PPQ

    def RPR_MIDI_GetPPQPosFromProjQN(self, take, projqn):
        return (projqn - self._source_start_qn(self._midi_take(take))) * PPQ

    def RPR_MIDI_GetProjTimeFromPPQPos(self, take, ppqpos):
        return self.project.tempo.qn_to_time(self.RPR_MIDI_GetProjQNFromPPQPos(take, ppqpos))

    def RPR_MIDI_GetPPQPosFromProjTime(self, take, projtime):
        return self.RPR_MIDI_GetPPQPosFromProjQN(take, self.project.tempo.time_to_qn(projtime))

    # --- time map ----------------------------------------------------------------------------

    def RPR_TimeMap2_QNToTime(self, proj, qn):
        return self.project.tempo.qn_to_time(qn)

    def RPR_TimeMap2_timeToQN(self, proj, tpos):
        return self.project.tempo.time_to_qn(tpos)

    def RPR_TimeMap_QNToTime(self, qn):
        return self.project.tempo.qn_to_time(qn)

    def RPR_TimeMap_timeToQN(self, tpos):
        return self.project.tempo.time_to_qn(tpos)

    def RPR_TimeMap_GetTimeSigAtTime(self, proj, time, timesig_numOut, timesig_denomOut, tempoOut):
        m = self.project.tempo.at(time)
        return (proj, time, m.num, m.den, m.bpm)

    def RPR_TimeMap2_GetDividedBpmAtTime(self, proj, time):
        m = self.project.tempo.at(time)
        return m.bpm * m.den / 4.0

    def RPR_AddTempoTimeSigMarker(self, proj, timepos, bpm, timesig_num, timesig_denom, lineartempochange):
        self._changed("AddTempoTimeSigMarker")
        self.project.tempo.add(timepos, bpm, timesig_num, timesig_denom)
        return 1

    def RPR_CountTempoTimeSigMarkers(self, proj):
        return len(self.project.tempo.markers) - 1  # the project's own tempo is no marker

    def RPR_GetSet_LoopTimeRange2(self, proj, isSet, isLoop, startOut, endOut, allowautoseek):
        if isSet:
            self.project.time_selection = (float(startOut), float(endOut))
        start, end = self.project.time_selection
        return (proj, isSet, isLoop, start, end, allowautoseek)

    # --- undo, UI refresh --------------------------------------------------------------------

    def RPR_Undo_BeginBlock2(self, proj):
        if self._undo_depth == 0:
            self._before_block = self.snapshot()
        self._undo_depth += 1

    def RPR_Undo_EndBlock2(self, proj, descchange, extraflags):
        if self._undo_depth == 0:
            raise FakeReaperError("Undo_EndBlock2 without Undo_BeginBlock2")
        self._undo_depth -= 1
        if self._undo_depth == 0:
            self.undo_points.append(descchange)
            self._undo_stack.append((descchange, self._before_block))

    def RPR_Undo_CanUndo2(self, proj):
        return self._undo_stack[-1][0] if self._undo_stack else ""

    def RPR_Undo_DoUndo2(self, proj):
        if not self._undo_stack:
            return 0
        _, before = self._undo_stack.pop()
        self.project = before
        return 1

    def RPR_PreventUIRefresh(self, prevent_count):
        pass

    def RPR_UpdateArrange(self):
        pass

    def RPR_TrackList_AdjustWindows(self, isMinor):
        pass

    def RPR_ValidatePtr2(self, proj, pointer, ctypename):
        kind = next((k for k, v in _TYPES.items() if v == ctypename), None)
        try:
            self.obj(pointer, kind)
        except FakeReaperError:
            return 0
        return 1

    # --- ExtState ----------------------------------------------------------------------------

    def RPR_GetExtState(self, section, key):
        return self.ext_state.get((section, key), "")

    def RPR_SetExtState(self, section, key, value, persist):
        self.ext_state[(section, key)] = str(value)
        (self.persisted.add if persist else self.persisted.discard)((section, key))

    def RPR_HasExtState(self, section, key):
        return int((section, key) in self.ext_state)

    def RPR_DeleteExtState(self, section, key, persist):
        self.ext_state.pop((section, key), None)
        self.persisted.discard((section, key))

    # --- dialogs, messages, misc -------------------------------------------------------------

    def RPR_ShowMessageBox(self, msg, title, type):
        self.messages.append((msg, title, type))
        if self.message_answers:
            return self.message_answers.pop(0)
        return 6 if type in (3, 4) else 1  # Yes / OK

    def RPR_ShowConsoleMsg(self, msg):
        self.console += msg

    def RPR_GetUserInputs(self, title, num_inputs, captions_csv, retvals_csv, retvals_csv_sz):
        self.input_prompts.append((title, captions_csv, retvals_csv))
        answer = self.input_answers.pop(0) if self.input_answers else retvals_csv
        if answer is None:
            return (0, title, num_inputs, captions_csv, retvals_csv, retvals_csv_sz)
        return (1, title, num_inputs, captions_csv, answer, retvals_csv_sz)

    def RPR_GetProjectName(self, proj, buf, buf_sz):
        return (proj, self.project_name, buf_sz)

    def RPR_GetResourcePath(self):
        return self.resource_path

    def RPR_GetMousePosition(self, xOut, yOut):
        return self.mouse

    def RPR_TrackCtl_SetToolTip(self, fmt, xpos, ypos, topmost):
        self.tooltips.append(fmt)

    def RPR_time_precise(self):
        return time.perf_counter()
