"""Every action end to end with the shipped model behind a real engine: the music is the
model's, so these check what must hold whatever it plays: new tracks under the source, items
aligned in beats and seconds across a tempo change and in 3/4, candidates as takes, notes
inside their items, one undo point, the source untouched.

An op the shipped model cannot do (or no shipped weights at all) skips with the engine's words.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from daw_scripts.common.clips import make_clip
from daw_scripts.common.engine_client import EngineClient
from daw_scripts.common.errors import EngineError
from tests.daw_scripts.reaper.conftest import CANDIDATES, run_action
from tests.daw_scripts.reaper.fake_reaper import PPQ

TUNE = [(67, 0.0, 1.0, 96), (69, 1.0, 1.0, 90), (71, 2.0, 1.0, 96), (72, 3.0, 1.0, 100),
        (74, 4.0, 2.0, 96), (72, 6.0, 1.0, 90), (71, 7.0, 1.0, 90), (69, 8.0, 1.0, 96),
        (67, 9.0, 3.0, 100)]
GROOVE = [(36 if b % 2 == 0 else 38, b * 1.0, 0.5, 100, 9) for b in range(12)] + \
         [(42, b * 0.5, 0.25, 70, 9) for b in range(24)]
NOUNS = {"harmonize": "Harmony", "drums": "Drums", "fill": "Fill", "vary": "Variation",
         "continue": "Continuation", "restyle": "Restyle"}


def require(address: str, op: str, fields: dict) -> None:
    """Skip when the shipped model answers ``op`` with model_unavailable."""
    with EngineClient(address) as client:
        try:
            client.request(op, timeout=120, candidates=1, seed=1, **fields)
        except EngineError as exc:
            if exc.code == "model_unavailable":
                pytest.skip(f"the shipped model does not do {op}: {exc.message}")
            raise


def seconds_at(qn: float) -> float:
    """120 BPM 4/4 up to beat 8, then 90 BPM 3/4."""
    return qn * 0.5 if qn <= 8 else 4.0 + (qn - 8) * 60.0 / 90.0


def project(fake, notes, name):
    """A tempo change at beat 8 (to 90 BPM, 3/4) and a 12-beat item from beat 8 (4 bars of 3/4)."""
    fake.add_tempo_marker(8.0, 90.0, (3, 4))
    track = fake.add_track(name)
    return fake.add_midi_item(track, 8.0, 12.0, notes)


def check_inserted(fake, op, source_name, before, start_qn, min_beats):
    names = [t.name for t in fake.project.tracks]
    index = names.index(source_name)
    new = [t for t in fake.project.tracks[index + 1:] if t.name.startswith(NOUNS[op])]
    assert new and names[index + 1:index + 1 + len(new)] == [t.name for t in new]
    for track in new:
        (item,) = track.items
        assert item.position == pytest.approx(seconds_at(start_qn))
        end_qn = fake.project.tempo.time_to_qn(item.position + item.length)
        assert end_qn - start_qn >= min_beats - 1e-6
        assert 1 <= len(item.takes) <= CANDIDATES and item.active == 0
        for take_index, take in enumerate(item.takes):
            assert take.name.startswith(NOUNS[op])
            pointer = fake.ptr(take)
            for note in take.source.notes:
                assert 0 <= note.start_ppq < (end_qn - start_qn) * PPQ and note.end_ppq > note.start_ppq
                beat = note.start_ppq / PPQ
                assert fake.RPR_MIDI_GetProjTimeFromPPQPos(pointer, note.start_ppq) == pytest.approx(
                    seconds_at(start_qn + beat))
            assert take_index > 0 or take.source.notes, "the first candidate has notes"
    assert fake.selected_items() == [t.items[0] for t in new]
    assert fake.undo_points == ["DAWBridge: " + {"harmonize": "Harmonize", "drums": "Drums", "fill": "Fill",
                                                  "vary": "Vary", "continue": "Continue",
                                                  "restyle": "Restyle"}[op]]
    assert fake.unguarded_changes == []
    source = next(t for t in before.tracks if t.name == source_name)
    now = fake.track_named(source_name)
    assert [replace(i, selected=0) for i in now.items] == [replace(i, selected=0) for i in source.items]
    return new


def tune_clip():
    return make_clip(TUNE, 12.0, (3, 4), 90.0)


@pytest.mark.parametrize("op", ["harmonize", "vary", "restyle"])
def test_aligned_ops_with_the_shipped_model(reaper, shipped, op):
    require(shipped, op, {"clip": tune_clip(), **({"style": "jig"} if op == "restyle" else {})})
    project(reaper, TUNE, "Tune")
    before = reaper.snapshot()

    run_action(reaper, op)

    assert reaper.messages == []
    check_inserted(reaper, op, "Tune", before, 8.0, 12.0)


def test_continue_with_the_shipped_model(reaper, shipped):
    require(shipped, "continue", {"clip": tune_clip(), "bars": 4})
    project(reaper, TUNE, "Tune")
    before = reaper.snapshot()

    run_action(reaper, "continue")

    assert reaper.messages == []
    check_inserted(reaper, "continue", "Tune", before, 20.0, 12.0)


def test_drums_with_the_shipped_model(reaper, shipped):
    require(shipped, "drums", {"bars": 4, "time_signature": [3, 4], "tempo": 90.0})
    project(reaper, TUNE, "Tune")
    reaper.set_time_selection(8.0, 20.0)
    before = reaper.snapshot()

    run_action(reaper, "drums")

    assert reaper.messages == []
    (track,) = check_inserted(reaper, "drums", "Tune", before, 8.0, 12.0)
    assert {n.chan for n in track.items[0].takes[0].source.notes} == {9}


def test_fill_with_the_shipped_model(reaper, shipped):
    groove = make_clip(GROOVE, 12.0, (3, 4), 90.0, kind="drums")
    require(shipped, "fill", {"clip": groove, "span": [9.0, 12.0]})
    project(reaper, GROOVE, "Kit")
    reaper.set_time_selection(17.0, 20.0)
    before = reaper.snapshot()

    run_action(reaper, "fill")

    assert reaper.messages == []
    check_inserted(reaper, "fill", "Kit", before, 8.0, 12.0)
