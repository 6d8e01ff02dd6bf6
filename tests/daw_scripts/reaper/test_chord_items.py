"""A chord item sent to Harmonize, end to end with the shipped model: the keys part is sent as
chords and answered with a bass line or a new voicing that follows its chords bar by bar, on a
new track under it, in one undo point, the plan it follows in the console; a drum item gets the
engine's refusal, and nothing is inserted."""

from __future__ import annotations

import pytest

from tests.daw_scripts.common.progression import (
    CHECKS,
    DRUMS,
    HELD,
    LENGTH,
    keys_part,
    record_requests,
)
from tests.daw_scripts.reaper.conftest import (
    CANDIDATES,
    configure,
    notes_in_beats,
    run_action,
    tracks_after,
    unselected,
)


@HELD
@pytest.mark.parametrize("style", ["bass", "chords"])
def test_a_chord_item_gets_a_part_that_follows_its_chords(reaper, shipped, monkeypatch, style, held):
    configure(reaper, style__harmonize=style)
    keys = reaper.add_track("Keys")
    reaper.add_midi_item(keys, 4.0, LENGTH, keys_part(held), name="Pad")
    before = reaper.snapshot()
    sent = record_requests(monkeypatch)

    run_action(reaper, "harmonize")

    assert reaper.messages == []
    (request,) = sent
    assert request.op == "harmonize" and request.fields["style"] == style
    assert request.fields["clip"]["kind"] == "chords" and request.fields["clip"]["name"] == "Pad"
    (track,) = tracks_after(reaper, "Keys", 1)
    (item,) = track.items
    assert (item.position, item.length) == pytest.approx((2.0, LENGTH / 2))  # beat 4 at 120 BPM
    assert len(item.takes) == CANDIDATES and item.active == 0
    for take in range(CANDIDATES):
        CHECKS[style](notes_in_beats(item, take))
    assert reaper.console == "DAWBridge: Harmonize of 'Pad': chords Am F C G\n"
    assert reaper.undo_points == ["DAWBridge: Harmonize"] and reaper.unguarded_changes == []
    assert unselected(reaper.track_named("Keys").items) == unselected(before.tracks[0].items)
    reaper.RPR_Undo_DoUndo2(0)
    assert reaper.project.tracks == before.tracks


def test_a_drum_item_is_refused_by_its_kind_and_nothing_is_inserted(reaper, shipped, monkeypatch):
    configure(reaper, style__harmonize="bass")
    kit = reaper.add_track("Kit")
    reaper.add_midi_item(kit, 0.0, 8.0, DRUMS)
    before = reaper.snapshot()
    sent = record_requests(monkeypatch)

    run_action(reaper, "harmonize")

    (request,) = sent
    assert request.fields["clip"]["kind"] == "drums"
    assert request.error.code == "invalid_request" and "clip.kind is drums" in request.error.message
    ((text, _, _),) = reaper.messages
    assert text == "The DAWBridge engine could not do 'Harmonize':\n\n" + request.error.message
    assert reaper.project.tracks == before.tracks
    assert reaper.undo_points == [] and reaper.console == ""
