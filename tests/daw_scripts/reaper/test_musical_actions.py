"""Every musical action end to end: fake REAPER -> action script -> real engine -> new tracks.

The engine is real (sockets, protocol, scheduler); its model is the scripted composer, so every
inserted note can be checked in beats and in seconds, across a tempo change and in 3/4."""

from __future__ import annotations

import pytest

from daw_scripts.reaper import messages
from models.tasks import ContinueTask, DrumsTask, FillTask, HarmonizeTask, RestyleTask, VaryTask
from tests.daw_scripts.reaper.conftest import (
    configure,
    notes_in_beats,
    run_action,
    script_for,
    tracks_after,
    unselected,
)
from tests.daw_scripts.reaper.fake_reaper import PPQ

MELODY = [(60, 0.0, 1.0, 100), (62, 1.0, 1.0, 90), (64, 2.0, 1.0, 80), (65, 3.0, 1.5, 100),
          (67, 4.5, 1.5, 100), (69, 6.0, 2.0, 70)]


def seconds_at(qn: float) -> float:
    """The project built by ``tempo_change_project``: 120 BPM up to beat 8, then 90 BPM."""
    return qn * 0.5 if qn <= 8 else 4.0 + (qn - 8) * 60.0 / 90.0


def tempo_change_project(fake):
    """120 BPM 4/4, then from beat 8 (4 s) 90 BPM in 3/4; a melody over the change."""
    fake.add_tempo_marker(8.0, 90.0, (3, 4))
    track = fake.add_track("Melody")
    item = fake.add_midi_item(track, 4.0, 8.0, MELODY, name="Tune")
    return track, item


def note_seconds(fake, item, take_index=0):
    take = fake.ptr(item.takes[take_index])
    return [round(fake.RPR_MIDI_GetProjTimeFromPPQPos(take, n.start_ppq), 6)
            for n in item.takes[take_index].source.notes]


def test_harmonize_writes_three_voices_under_the_source_across_a_tempo_change(reaper, engine, composer):
    source_track, source = tempo_change_project(reaper)
    before = reaper.snapshot()

    run_action(reaper, "harmonize")

    assert reaper.messages == []
    task = composer.tasks[0]
    assert isinstance(task, HarmonizeTask) and task.style == "chorale"
    assert (task.melody.length, task.melody.time_signature, task.melody.tempo) == (8.0, (4, 4), 120.0)
    assert [(n.pitch, n.start, n.duration) for n in task.melody.notes] == [m[:3] for m in MELODY]
    new = tracks_after(reaper, "Melody", 3)
    assert [t.name for t in new] == ["Harmony (Alto)", "Harmony (Tenor)", "Harmony (Bass)"]
    for track, shift in zip(new, (-5, -12, -24), strict=True):
        (item,) = track.items
        assert item.position == pytest.approx(2.0) and item.length == pytest.approx(seconds_at(12) - 2.0)
        assert [k.name for k in item.takes] == [f"Harmony 1/2 ({track.name[9:-1]})", f"Harmony 2/2 ({track.name[9:-1]})"]
        assert item.active == 0
        for take_index in range(2):
            expected = [(p + shift - take_index, s, d) for p, s, d, _ in MELODY]
            assert notes_in_beats(item, take_index) == expected
            assert note_seconds(reaper, item, take_index) == pytest.approx([seconds_at(4 + s) for _, s, _, _ in MELODY])
    assert reaper.selected_items() == [t.items[0] for t in new]
    assert reaper.undo_points == ["DAWBridge: Harmonize"] and reaper.unguarded_changes == []
    assert unselected(reaper.track_named("Melody").items) == unselected(before.tracks[0].items)
    assert reaper.tooltips[-1] == "" and reaper.ext_state.get(("DAWBridge", "running")) is None
    reaper.RPR_Undo_DoUndo2(0)
    assert reaper.project.tracks == before.tracks


def test_vary_in_three_four_reads_the_metre_and_tempo_at_the_item(reaper, engine, composer):
    reaper.add_tempo_marker(8.0, 90.0, (3, 4))
    track = reaper.add_track("Lead")
    item = reaper.add_midi_item(track, 8.0, 6.0, MELODY[:5])

    run_action(reaper, "vary")

    task = composer.tasks[0]
    assert isinstance(task, VaryTask)
    assert (task.clip.length, task.clip.time_signature, task.clip.tempo) == (6.0, (3, 4), 90.0)
    (new,) = tracks_after(reaper, "Lead", 1)
    assert new.name == "Variation"
    (result,) = new.items
    assert result.position == pytest.approx(item.position) == pytest.approx(4.0)
    assert result.length == pytest.approx(4.0)  # 6 beats at 90 BPM
    assert notes_in_beats(result, 1) == [(p + 3, s, d) for p, s, d, _ in MELODY[:5]]
    assert note_seconds(reaper, result) == pytest.approx([seconds_at(8 + s) for _, s, _, _ in MELODY[:5]])
    assert reaper.undo_points == ["DAWBridge: Vary"] and reaper.unguarded_changes == []


def test_drums_fill_the_time_selection_in_whole_bars_fitting_the_selected_items(reaper, engine, composer):
    reaper.add_tempo_marker(8.0, 90.0, (3, 4))
    bass = reaper.add_track("Bass")
    reaper.add_midi_item(bass, 8.0, 12.0, [(40, 0.0, 3.0, 100), (43, 3.0, 3.0, 100), (45, 14.0, 1.0, 100)])
    reaper.set_time_selection(8.0, 20.0)

    run_action(reaper, "drums")

    task = composer.tasks[0]
    assert isinstance(task, DrumsTask)
    assert (task.bars, task.time_signature, task.tempo, task.style) == (4, (3, 4), 90.0, "rock")
    (context,) = task.context
    assert context.length == 12.0 and [n.pitch for n in context.notes] == [40, 43]
    (drums,) = tracks_after(reaper, "Bass", 1)
    assert drums.name == "Drums"
    (item,) = drums.items
    assert item.position == pytest.approx(4.0) and item.length == pytest.approx(8.0)
    assert len(item.takes) == 2
    notes = item.takes[0].source.notes
    assert {n.chan for n in notes} == {9} and notes[0].start_ppq == 0 and notes[-1].start_ppq == 11.5 * PPQ
    assert reaper.selected_items() == [item]
    assert reaper.undo_points == ["DAWBridge: Drums"] and reaper.unguarded_changes == []


def test_drums_without_items_go_under_the_selected_track_or_at_the_end(reaper, engine, composer):
    first, _ = reaper.add_track("Keys"), reaper.add_track("Pad")
    reaper.set_time_selection(0.0, 8.0)

    run_action(reaper, "drums")  # nothing selected: at the end
    reaper.RPR_SelectAllMediaItems(0, False)  # (the new drums were selected)
    first.selected = 1
    run_action(reaper, "drums")  # under the selected track

    assert [t.name for t in reaper.project.tracks] == ["Keys", "Drums", "Pad", "Drums"]
    assert composer.tasks[0].bars == 2 and composer.tasks[0].context == ()


def test_fill_replaces_the_time_selection_of_a_drum_item(reaper, engine, composer):
    kit = reaper.add_track("Kit")
    groove = [(36, float(b), 0.5, 100, 9) for b in range(16)]
    item = reaper.add_midi_item(kit, 0.0, 16.0, groove)
    reaper.set_time_selection(12.0, 20.0)  # runs past the item: the span stops at its end

    run_action(reaper, "fill")

    task = composer.tasks[0]
    assert isinstance(task, FillTask) and task.span == (12.0, 16.0) and task.clip.kind == "drums"
    (fill,) = tracks_after(reaper, "Kit", 1)
    assert fill.name == "Fill"
    (result,) = fill.items
    assert (result.position, result.length) == pytest.approx((item.position, item.length))
    beats = notes_in_beats(result)
    assert [n for n in beats if n[1] < 12] == [(36, float(b), 0.5) for b in range(12)]
    assert [n for n in beats if n[1] >= 12] == [(38, 12 + i * 0.25, 0.25) for i in range(16)]
    assert {n.chan for n in result.takes[0].source.notes} == {9}


def test_continue_puts_as_many_new_bars_right_after_the_item(reaper, engine, composer):
    source_track, source = tempo_change_project(reaper)

    run_action(reaper, "continue")

    task = composer.tasks[0]
    assert isinstance(task, ContinueTask) and task.bars == 2
    (track,) = tracks_after(reaper, "Melody", 1)
    assert track.name == "Continuation"
    (item,) = track.items
    assert item.position == pytest.approx(seconds_at(12.0))  # the source ends at beat 12
    assert item.length == pytest.approx(seconds_at(20.0) - seconds_at(12.0))
    first_bar = [(p, s, d) for p, s, d, _ in MELODY if s < 4]
    assert notes_in_beats(item) == first_bar + [(p, s + 4, d) for p, s, d in first_bar]


def test_restyle_picks_the_drum_or_the_melody_style_from_the_settings(reaper, engine, composer):
    configure(reaper, style__restyle_melody="reel")
    lead, kit = reaper.add_track("Lead"), reaper.add_track("Kit")
    reaper.add_midi_item(lead, 0.0, 4.0, MELODY[:4])
    reaper.add_midi_item(kit, 0.0, 4.0, [(36, 0.0, 0.5, 100, 9), (38, 1.0, 0.5, 100, 9)])

    run_action(reaper, "restyle")

    styles = sorted(t.style for t in composer.tasks if isinstance(t, RestyleTask))
    assert styles == ["funk", "reel"]
    assert [t.name for t in reaper.project.tracks] == ["Lead", "Restyle (reel)", "Kit", "Restyle (funk)"]
    assert reaper.undo_points == ["DAWBridge: Restyle"]  # two requests, one undo point


def test_items_on_one_track_share_the_new_tracks_and_folders_stay_closed(reaper, engine, composer):
    reaper.add_track("Strings", folder_depth=1)
    violins = reaper.add_track("Violins", folder_depth=-1)  # closes the folder
    reaper.add_track("After")
    reaper.add_midi_item(violins, 0.0, 4.0, MELODY[:4])
    reaper.add_midi_item(violins, 8.0, 4.0, MELODY[:4])

    run_action(reaper, "harmonize")

    names = [t.name for t in reaper.project.tracks]
    assert names == ["Strings", "Violins", "Harmony (Alto)", "Harmony (Tenor)", "Harmony (Bass)", "After"]
    assert [t.folder_depth for t in reaper.project.tracks] == [1, 0, 0, 0, -1, 0]
    for track in reaper.project.tracks[2:5]:
        assert [i.position for i in track.items] == pytest.approx([0.0, 4.0])
    assert len(reaper.selected_items()) == 6 and reaper.undo_points == ["DAWBridge: Harmonize"]


def test_progress_shows_while_the_engine_works(reaper, start_engine):
    from tests.daw_scripts.reaper.scripted_composer import ScriptedComposer

    slow = ScriptedComposer(seconds=0.6)
    configure(reaper, address=str(start_engine(composer=slow).address), candidates=1)
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, MELODY[:4])

    run_action(reaper, "harmonize")

    shown = [t for t in reaper.tooltips if t]
    assert shown and all(t.startswith("DAWBridge: Harmonize... ") for t in shown)
    assert "Run a DAWBridge action again to cancel" in shown[0]
    assert any(t != shown[0] for t in shown)  # it moves
    assert reaper.tooltips[-1] == "" and messages.EMPTY_RESULT not in str(reaper.messages)


def test_a_source_track_deleted_while_waiting_puts_the_result_at_the_end(reaper, start_engine):
    from tests.daw_scripts.reaper.scripted_composer import ScriptedComposer

    configure(reaper, address=str(start_engine(composer=ScriptedComposer(seconds=0.3)).address))
    reaper.add_track("Intro")
    melody = reaper.add_track("Melody")
    reaper.add_midi_item(melody, 0.0, 4.0, MELODY[:4])
    reaper.start_script(script_for("vary"))
    reaper.project.tracks.remove(melody)  # the user deletes it

    reaper.run_deferred()

    assert [t.name for t in reaper.project.tracks] == ["Intro", "Variation"]
    assert reaper.messages == [] and reaper.undo_points == ["DAWBridge: Vary"]
