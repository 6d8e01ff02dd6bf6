"""What REAPER's Python layer does to a call, and the C signatures it does it by.

REAPER generates ``reaper_python.py`` from its API header (``reaper_plugin_functions.h``): one
``RPR_<name>`` per function, a ctypes call in between. The rules this module reproduces for
the fake, all read from that generated wrapper:

- A pointer argument is a string such as ``'(MediaTrack*)0x0000000000012340'``. The wrapper
  passes it only when its type is the parameter's type (or the parameter is ``void*``) and
  ``ValidatePtr(pointer, type)`` accepts it; anything else goes in as NULL. ``ValidatePtr``
  accepts an object of the current project: a track, item or take in it, a PCM source that a
  take in it owns. It accepts nothing as ``void*``, so ``ValidatePtr2(proj, pointer, type)``
  always receives NULL and returns False from Python.
- A NULL project is the current project.
- Out-parameters (``int*``, ``double*``, ``bool*``, writable ``char*`` buffers, and the
  ``const bool* ...InOptional`` ones passed by reference) make the function return a tuple: the
  return value (none for ``void``), then every argument, out-values filled in.
- ``void`` functions without out-parameters return None; ``bool`` comes back as 0 or 1,
  pointers as strings (NULL: zeros), ``const char*`` as str.

``SIGNATURES`` holds the C prototypes of every function the fake offers, written out here
from the header's declarations (parameter names as there). ``test_reaper_api.py`` checks them
against a generated ``reaper_python.py`` when one is at hand (``REAPER_PYTHON=...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIGNATURES = """
bool AddTempoTimeSigMarker(ReaProject* proj, double timepos, double bpm, int timesig_num, int timesig_denom, bool lineartempochange)
MediaItem_Take* AddTakeToMediaItem(MediaItem* item)
int CountMediaItems(ReaProject* proj)
int CountSelectedMediaItems(ReaProject* proj)
int CountSelectedTracks(ReaProject* proj)
int CountTakes(MediaItem* item)
int CountTempoTimeSigMarkers(ReaProject* proj)
int CountTrackMediaItems(MediaTrack* track)
int CountTracks(ReaProject* proj)
MediaItem* CreateNewMIDIItemInProj(MediaTrack* track, double starttime, double endtime, const bool* qnInOptional)
void DeleteExtState(const char* section, const char* key, bool persist)
MediaItem_Take* GetActiveTake(MediaItem* item)
const char* GetExtState(const char* section, const char* key)
void GetProjectName(ReaProject* proj, char* buf, int buf_sz)
MediaItem* GetMediaItem(ReaProject* proj, int itemidx)
MediaTrack* GetMediaItem_Track(MediaItem* item)
double GetMediaItemInfo_Value(MediaItem* item, const char* parmname)
MediaItem_Take* GetMediaItemTake(MediaItem* item, int tk)
MediaItem* GetMediaItemTake_Item(MediaItem_Take* take)
PCM_source* GetMediaItemTake_Source(MediaItem_Take* take)
MediaTrack* GetMediaItemTake_Track(MediaItem_Take* take)
double GetMediaItemTakeInfo_Value(MediaItem_Take* take, const char* parmname)
double GetMediaTrackInfo_Value(MediaTrack* tr, const char* parmname)
void GetMousePosition(int* xOut, int* yOut)
const char* GetResourcePath()
MediaItem* GetSelectedMediaItem(ReaProject* proj, int selitem)
MediaTrack* GetSelectedTrack(ReaProject* proj, int seltrackidx)
void GetSet_LoopTimeRange2(ReaProject* proj, bool isSet, bool isLoop, double* startOut, double* endOut, bool allowautoseek)
bool GetSetMediaItemTakeInfo_String(MediaItem_Take* tk, const char* parmname, char* stringNeedBig, bool setNewValue)
bool GetSetMediaTrackInfo_String(MediaTrack* tr, const char* parmname, char* stringNeedBig, bool setNewValue)
MediaItem_Take* GetTake(MediaItem* item, int takeidx)
const char* GetTakeName(MediaItem_Take* take)
MediaTrack* GetTrack(ReaProject* proj, int trackidx)
MediaItem* GetTrackMediaItem(MediaTrack* tr, int itemidx)
bool GetUserInputs(const char* title, int num_inputs, const char* captions_csv, char* retvals_csv, int retvals_csv_sz)
bool HasExtState(const char* section, const char* key)
void InsertTrackAtIndex(int idx, bool wantDefaults)
bool IsMediaItemSelected(MediaItem* item)
void Main_OnCommand(int command, int flag)
int MIDI_CountEvts(MediaItem_Take* take, int* notecntOut, int* ccevtcntOut, int* textsyxevtcntOut)
bool MIDI_GetNote(MediaItem_Take* take, int noteidx, bool* selectedOut, bool* mutedOut, double* startppqposOut, double* endppqposOut, int* chanOut, int* pitchOut, int* velOut)
double MIDI_GetPPQPosFromProjQN(MediaItem_Take* take, double projqn)
double MIDI_GetPPQPosFromProjTime(MediaItem_Take* take, double projtime)
double MIDI_GetProjQNFromPPQPos(MediaItem_Take* take, double ppqpos)
double MIDI_GetProjTimeFromPPQPos(MediaItem_Take* take, double ppqpos)
bool MIDI_InsertNote(MediaItem_Take* take, bool selected, bool muted, double startppqpos, double endppqpos, int chan, int pitch, int vel, const bool* noSortInOptional)
bool MIDI_SetItemExtents(MediaItem* item, double startQN, double endQN)
void MIDI_Sort(MediaItem_Take* take)
PCM_source* PCM_Source_CreateFromType(const char* sourcetype)
void PreventUIRefresh(int prevent_count)
void SelectAllMediaItems(ReaProject* proj, bool selected)
void SetActiveTake(MediaItem_Take* take)
void SetExtState(const char* section, const char* key, const char* value, bool persist)
bool SetMediaItemInfo_Value(MediaItem* item, const char* parmname, double newvalue)
void SetMediaItemSelected(MediaItem* item, bool selected)
bool SetMediaItemTake_Source(MediaItem_Take* take, PCM_source* source)
bool SetMediaTrackInfo_Value(MediaTrack* tr, const char* parmname, double newvalue)
void SetTrackSelected(MediaTrack* track, bool selected)
int ShowMessageBox(const char* msg, const char* title, int type)
void ShowConsoleMsg(const char* msg)
bool TakeIsMIDI(MediaItem_Take* take)
double time_precise()
double TimeMap2_GetDividedBpmAtTime(ReaProject* proj, double time)
double TimeMap2_QNToTime(ReaProject* proj, double qn)
double TimeMap2_timeToQN(ReaProject* proj, double tpos)
void TimeMap_GetTimeSigAtTime(ReaProject* proj, double time, int* timesig_numOut, int* timesig_denomOut, double* tempoOut)
double TimeMap_QNToTime(double qn)
double TimeMap_timeToQN(double tpos)
void TrackCtl_SetToolTip(const char* fmt, int xpos, int ypos, bool topmost)
void TrackList_AdjustWindows(bool isMinor)
const char* Undo_CanUndo2(ReaProject* proj)
void Undo_BeginBlock2(ReaProject* proj)
void Undo_EndBlock2(ReaProject* proj, const char* descchange, int extraflags)
int Undo_DoUndo2(ReaProject* proj)
void UpdateArrange()
void UpdateItemInProject(MediaItem* item)
bool ValidatePtr2(ReaProject* proj, void* pointer, const char* ctypename)
"""

POINTER = re.compile(r"^\((\w+\*|HWND)\)0x([0-9A-F]+)$")
_PROTOTYPE = re.compile(r"^(.+?)\s*\b(\w+)\((.*)\)$")
_NUMBERS = {"int": int, "double": float, "bool": int}


def null(ctype: str) -> str:
    """REAPER's spelling of a NULL pointer of ``ctype``."""
    return f"({ctype})0x{0:016X}"


@dataclass(frozen=True)
class Param:
    ctype: str  # as in the header: "MediaTrack*", "const char*", "int*", "const bool*"
    name: str

    @property
    def is_out(self) -> bool:
        """Passed by reference and returned: ``int* xOut``, ``char* buf``, ``const bool* ...InOptional``."""
        if self.ctype == "char*":
            return True
        base = self.ctype.removeprefix("const ").rstrip("*")
        return self.ctype.endswith("*") and base in _NUMBERS and (
            not self.ctype.startswith("const ") or self.name.endswith("InOptional"))

    @property
    def object_type(self) -> str | None:
        """The pointer type when this parameter is an object pointer, else None."""
        if self.ctype.startswith("const ") or not self.ctype.endswith("*"):
            return None
        base = self.ctype.rstrip("*")
        return None if base in _NUMBERS or base == "char" else self.ctype


@dataclass(frozen=True)
class Signature:
    returns: str
    name: str
    params: tuple[Param, ...]

    @property
    def outs(self) -> bool:
        return any(p.is_out for p in self.params)

    def null_result(self, args: tuple):
        """What the call returns when REAPER received a NULL object and did nothing."""
        value = default_value(self.returns)
        if not self.outs:
            return value
        return tuple(args) if self.returns == "void" else (value, *args)


def default_value(ctype: str):
    """A C function's "nothing" result of ``ctype`` as the wrapper hands it back."""
    if ctype == "void":
        return None
    if ctype == "const char*":
        return ""
    if ctype.endswith("*"):
        return null(ctype)
    return _NUMBERS[ctype](0)


def parse(prototype: str) -> Signature:
    found = _PROTOTYPE.match(prototype.strip())
    if found is None:
        raise ValueError(f"not a C prototype: {prototype!r}")
    returns, name, arguments = found.groups()
    params = []
    for argument in filter(None, (a.strip() for a in arguments.split(","))):
        ctype, _, pname = argument.rpartition(" ")
        params.append(Param(ctype.replace(" *", "*").strip(), pname))
    return Signature(returns.strip(), name, tuple(params))


API = {sig.name: sig for sig in map(parse, filter(None, SIGNATURES.strip().splitlines()))}


def pointer_parts(value) -> tuple[str, int] | None:
    """``(type, address)`` of a pointer string, None when ``value`` is not one."""
    found = POINTER.match(str(value))
    return None if found is None else (found.group(1), int(found.group(2), 16))


def check_result(sig: Signature, args: tuple, result):
    """The value the Python wrapper hands back, from what the fake's implementation returned;
    a shape the wrapper could not produce fails the test at the fake."""
    if not sig.outs:
        if sig.returns == "void":
            return None
        return _returned(sig, result)
    expected = len(sig.params) + (0 if sig.returns == "void" else 1)
    if not isinstance(result, tuple) or len(result) != expected:
        raise AssertionError(f"{sig.name} must return {expected} values in the wrapper's tuple, got {result!r}")
    if sig.returns == "void":
        return result
    return (_returned(sig, result[0]), *result[1:])


def _returned(sig: Signature, value):
    if sig.returns in _NUMBERS:
        return _NUMBERS[sig.returns](value)
    if sig.returns == "const char*":
        return str(value)
    if pointer_parts(value) is None or not str(value).startswith(f"({sig.returns})"):
        raise AssertionError(f"{sig.name} must return a {sig.returns} pointer string, got {value!r}")
    return value
