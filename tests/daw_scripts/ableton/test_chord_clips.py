"""A chord clip sent to Harmonize from Live, end to end with the shipped model: the keys part
is sent as chords and answered with a bass line or a new voicing that follows its chords bar
by bar, on a new track right of it, in one undo step, the plan it follows on the status bar; a
drum clip gets the engine's refusal, and nothing is added to the set."""

import fake_live
import live_sets as sets
import pytest

from bridge.cli.main import main as dawbridge
from tests.daw_scripts.common.progression import (
    CHECKS,
    HELD,
    LENGTH,
    keys_part,
    record_requests,
    wait_for_model,
)

NAMES = {"bass": "Bass (bass)", "chords": "Chords (chords)"}


@pytest.fixture
def shipped(start_engine):
    """An engine serving the shipped weights, its model loaded; skips without them."""
    server = start_engine()
    wait_for_model(str(server.address))
    return server


def _run(host, server, *command):
    assert host.run(10, until=lambda: len(server.sessions) == 1)
    assert dawbridge([*command, "--address", str(server.address)]) == 0
    host.run(0.05)
    assert host.run(120, until=lambda: not host.script.busy)
    return host.status_bar[-1]


def _session_keys(notes, name):
    song = fake_live.Song()
    song.add_track("Lead")
    keys = song.add_track("Keys")
    song.add_track("Drums")
    clip = fake_live.add_session_clip(keys, 1, LENGTH, notes, name=name)
    song.view.detail_clip, song.view.selected_track = clip, keys
    return song, keys, clip


@HELD
@pytest.mark.parametrize("style", ["bass", "chords"])
def test_a_chord_clip_gets_a_part_that_follows_its_chords(shipped, load_script, monkeypatch, style, held):
    song, keys, source = _session_keys(keys_part(held), "Pad")
    before, original = list(song.tracks), source.snapshot()
    host = load_script(song, shipped.address, "candidates = 2\n")
    sent = record_requests(monkeypatch)

    message = _run(host, shipped, "live", "harmonize", "--style", style)

    assert message == (f"DAWBridge: Harmony: 2 candidates on new track '{NAMES[style]}'; "
                       "chords Am F C G")
    (request,) = sent
    assert request.op == "harmonize" and request.fields["style"] == style
    assert request.fields["clip"]["kind"] == "chords" and request.fields["clip"]["name"] == "Pad"
    (new,) = sets.new_tracks(song, before)
    assert song.tracks.index(new) == song.tracks.index(keys) + 1 and new.name == NAMES[style]
    placed = [new.clip_slots[slot].clip for slot in (1, 2)]
    assert [c.name for c in placed] == [f"Harmony {i}/2 ({style})" for i in (1, 2)]
    for clip in placed:
        assert clip.length == LENGTH
        CHECKS[style]([(p, s, d) for p, s, d, _ in sets.notes_of(clip)])
    assert source.snapshot() == original and song.undo_steps() == 1
    song.undo()
    assert song.tracks == before


@pytest.mark.parametrize("trigger", ["button", "command"])
def test_a_drum_clip_is_refused_by_its_kind_and_nothing_is_added(shipped, load_script, monkeypatch, trigger):
    song, _, source = sets.session_drums()
    before, original = list(song.tracks), source.snapshot()
    host = load_script(song, shipped.address, "style.harmonize = bass\n")
    sent = record_requests(monkeypatch)

    if trigger == "button":
        assert host.run(10, until=lambda: len(shipped.sessions) == 1)
        assert host.press("cc", 102)
        assert host.run(60, until=lambda: not host.script.busy)
        message = host.status_bar[-1]
    else:
        message = _run(host, shipped, "live", "harmonize")

    (request,) = sent
    assert request.fields["clip"]["kind"] == "drums"
    assert request.error.code == "invalid_request" and "clip.kind is drums" in request.error.message
    assert message == "DAWBridge: Harmony: the engine refused (invalid_request): " + request.error.message
    assert song.tracks == before and song.undo_steps() == 0 and source.snapshot() == original
