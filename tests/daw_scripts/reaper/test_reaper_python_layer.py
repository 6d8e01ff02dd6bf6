"""The fake REAPER keeps the rules of REAPER's Python layer (``reaper_python.py``), and the
actions work under them: candidates are real takes, new tracks go right under the source track
(also a folder track), refused notes are reported."""

from __future__ import annotations

import inspect

import pytest

from daw_scripts.reaper import messages
from tests.daw_scripts.reaper import reaper_api
from tests.daw_scripts.reaper.conftest import configure, notes_in_beats, run_action
from tests.daw_scripts.reaper.fake_reaper import FakeReaper, _Refused

PHRASE = [(60, 0.0, 1.0, 100), (64, 1.0, 1.0, 100), (67, 2.0, 2.0, 100)]


@pytest.fixture
def ns(reaper):
    return reaper.namespace()


# --- the Python layer -------------------------------------------------------------------------


def test_every_fake_function_has_a_c_signature_of_the_same_arity():
    fake = FakeReaper()
    offered = sorted(name[4:] for name in dir(fake) if name.startswith("RPR_"))
    assert offered == sorted(reaper_api.API)
    for name, sig in reaper_api.API.items():
        parameters = inspect.signature(getattr(fake, "RPR_" + name)).parameters
        assert len(parameters) == len(sig.params), name


def test_the_signature_table_reads_the_header_conventions():
    sig = reaper_api.API["MIDI_InsertNote"]
    assert [p.name for p in sig.params if p.is_out] == ["noSortInOptional"]
    assert [p.object_type for p in sig.params][:2] == ["MediaItem_Take*", None]
    assert [p.name for p in reaper_api.API["GetSetMediaTrackInfo_String"].params if p.is_out] == ["stringNeedBig"]
    assert reaper_api.API["ValidatePtr2"].params[1].object_type == "void*"


def test_validateptr2_is_false_from_python_even_for_a_live_track(reaper, ns):
    reaper.add_track("Lead")
    track = ns["RPR_GetTrack"](0, 0)
    assert reaper.valid(int(track[-16:], 16), "MediaTrack*")
    assert ns["RPR_ValidatePtr2"](0, track, "MediaTrack*") == 0


def test_a_pointer_of_the_wrong_type_or_gone_becomes_null(reaper, ns):
    item = reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)
    item_ptr = ns["RPR_GetSelectedMediaItem"](0, 0)
    track_ptr = ns["RPR_GetTrack"](0, 0)

    assert ns["RPR_GetMediaItemInfo_Value"](track_ptr, "D_LENGTH") == 0.0  # a track as an item
    assert ns["RPR_GetMediaItemInfo_Value"](item_ptr.replace("MediaItem*", "void*"), "D_LENGTH") == 0.0
    reaper.project.tracks[0].items.remove(item)  # the user deletes it
    assert ns["RPR_GetActiveTake"](item_ptr) == reaper_api.null("MediaItem_Take*")
    assert ns["RPR_GetTakeName"](reaper.ptr(item.takes[0])) == ""
    assert reaper.null_calls == ["GetMediaItemInfo_Value(item)"] * 2 + [
        "GetActiveTake(item)", "GetTakeName(take)"]


def test_a_source_no_take_owns_is_null_so_a_new_take_stays_empty(reaper, ns):
    reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)
    item = ns["RPR_GetSelectedMediaItem"](0, 0)
    take = ns["RPR_AddTakeToMediaItem"](item)

    assert ns["RPR_SetMediaItemTake_Source"](take, ns["RPR_PCM_Source_CreateFromType"]("MIDI")) == 0
    assert ns["RPR_TakeIsMIDI"](take) == 0
    assert ns["RPR_MIDI_InsertNote"](take, 0, 0, 0, 960, 0, 60, 100, 1)[0] == 0
    assert reaper.null_calls == ["SetMediaItemTake_Source(source)", "MIDI_InsertNote"]
    owned = ns["RPR_GetMediaItemTake_Source"](ns["RPR_GetTake"](item, 0))
    assert reaper.valid(int(owned[-16:], 16), "PCM_source*")


def test_void_functions_return_none_and_out_parameters_follow_the_return_value(reaper, ns):
    track = reaper.add_track("Lead")
    reaper.add_midi_item(track, 0.0, 4.0, PHRASE)
    item = ns["RPR_GetSelectedMediaItem"](0, 0)
    assert ns["RPR_SetMediaItemSelected"](item, False) is None
    assert ns["RPR_SelectAllMediaItems"](0, True) is None
    assert ns["RPR_MIDI_Sort"](ns["RPR_GetActiveTake"](item)) is None
    created = ns["RPR_CreateNewMIDIItemInProj"](ns["RPR_GetTrack"](0, 0), 8.0, 12.0, True)
    assert len(created) == 5 and created[0].startswith("(MediaItem*)") and created[1:] == (
        ns["RPR_GetTrack"](0, 0), 8.0, 12.0, 1)
    note = ns["RPR_MIDI_GetNote"](ns["RPR_GetActiveTake"](item), 0, 0, 0, 0.0, 0.0, 0, 0, 0)
    assert note[0] == 1 and note[8] == 60 and len(note) == 10
    with pytest.raises(TypeError):
        ns["RPR_CountTracks"]()


# --- what the actions do under these rules ------------------------------------------------------


def test_every_candidate_is_a_take_with_its_notes_and_the_first_is_active(reaper, engine):
    configure(reaper, candidates=3)
    reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)

    run_action(reaper, "vary")

    (item,) = reaper.track_named("Variation").items
    assert [t.name for t in item.takes] == [f"Variation {i}/3" for i in (1, 2, 3)]
    for index, take in enumerate(item.takes):
        assert take.source is not None and take.source.kind == "MIDI"
        assert notes_in_beats(item, index) == [(p + 2 + index, s, d) for p, s, d, _ in PHRASE]
    assert item.takes[item.active].name == "Variation 1/3"
    assert reaper.null_calls == [] and reaper.messages == []
    assert reaper.selected_items() == [item] and reaper.undo_points == ["DAWBridge: Vary"]


def test_new_tracks_go_right_under_the_source_not_at_the_end(reaper, engine):
    reaper.add_track("Lead")
    reaper.add_track("Pad")
    reaper.add_midi_item(reaper.track_named("Lead"), 0.0, 4.0, PHRASE)

    run_action(reaper, "vary")

    assert [t.name for t in reaper.project.tracks] == ["Lead", "Variation", "Pad"]
    assert reaper.null_calls == []


def test_under_a_folder_track_the_result_goes_after_the_folder_at_its_level(reaper, engine):
    depths = {"Band": 1, "Strings": 1, "Violins": 0, "Cellos": -2, "Coda": 0}
    for name, depth in depths.items():
        reaper.add_track(name, folder_depth=depth)
    reaper.add_midi_item(reaper.track_named("Strings"), 0.0, 4.0, PHRASE)

    run_action(reaper, "harmonize")

    assert [(t.name, t.folder_depth) for t in reaper.project.tracks] == [
        ("Band", 1), ("Strings", 1), ("Violins", 0), ("Cellos", -1),
        ("Harmony (Alto)", 0), ("Harmony (Tenor)", 0), ("Harmony (Bass)", -1), ("Coda", 0)]


def test_notes_reaper_refuses_are_reported(reaper, engine, monkeypatch):
    reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)
    inserted = []

    def refuse_the_second_candidate(take, *args):
        inserted.append(take)
        if len(inserted) > len(PHRASE):
            raise _Refused(take)
        return original(take, *args)

    original = reaper.RPR_MIDI_InsertNote
    monkeypatch.setattr(reaper, "RPR_MIDI_InsertNote", refuse_the_second_candidate)

    run_action(reaper, "vary")

    assert [m[0] for m in reaper.messages] == [messages.NOTES_REFUSED.format(title="Vary", count=3)]
