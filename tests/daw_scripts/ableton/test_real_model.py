"""The script against a real engine serving the shipped model: every op the engine offers turns
the selected clip into valid, correctly placed clips in one undo step. Skipped until the
weights are in models/weights/."""

import live_sets as sets
import pytest
from live_engines import WEIGHTS

from daw_scripts.common import EngineClient

pytestmark = pytest.mark.skipif(
    not any(WEIGHTS.glob("dawbridge-small*")),
    reason="no shipped weights in models/weights/ yet")

TITLES = {"harmonize": "Harmony", "drums": "Drums", "fill": "Fill", "vary": "Variation",
          "continue": "Continuation", "restyle": "Restyle"}


def _served_ops(address):
    with EngineClient(address) as client:
        info = client.request("info", timeout=30.0)
    return [op for op in info["ops"] if op in TITLES]


def _run(host, address, op, trigger):
    assert host.run(30, until=lambda: host.script.attached)
    if trigger == "button":
        host.script.trigger(op)
    else:
        with EngineClient(address) as client:
            client.request("dispatch", timeout=5.0, daw="live", command={"op": op, "seed": 7})
    host.run(0.1)
    assert host.run(300, until=lambda: not host.script.busy)
    return host.status_bar[-1]


def _valid(clip):
    notes = sets.notes_of(clip)
    assert notes, clip.name
    for pitch, start, duration, velocity in notes:
        assert 0 <= pitch <= 127 and 0 <= start < clip.length and duration > 0
        assert 1 <= velocity <= 127


@pytest.mark.parametrize("trigger", ["button", "command"])
@pytest.mark.parametrize("op", list(TITLES))
def test_every_served_op_on_a_session_clip(engine_address, load_script, op, trigger):
    if op not in _served_ops(engine_address):
        pytest.skip(f"the shipped model does not serve {op}")
    song, track, source = sets.session_drums() if op == "fill" else sets.session_melody()
    before, original = list(song.tracks), source.snapshot()
    host = load_script(song, engine_address, "seed = 7\n")
    message = _run(host, engine_address, op, trigger)
    assert message.startswith(f"DAWBridge: {TITLES[op]}: 3 candidates on new track"), message
    new = sets.new_tracks(song, before)
    assert new and song.tracks.index(new[0]) == song.tracks.index(track) + 1
    slot = track.clip_slots.index(source.canonical_parent)
    for new_track in new:
        placed = [s.clip for s in new_track.clip_slots[slot:slot + 3]]
        assert [c.name.split(" (")[0] for c in placed] == [f"{TITLES[op]} {i}/3" for i in (1, 2, 3)]
        for clip in placed:
            _valid(clip)
            if op in ("harmonize", "vary", "restyle", "fill"):
                assert clip.length == source.length
    assert source.snapshot() == original and song.undo_steps() == 1
    song.undo()
    assert len(song.tracks) == len(before)


def test_harmonize_an_arrangement_clip(engine_address, load_script):
    song, _, source = sets.arrangement_melody(position=16.0)
    host = load_script(song, engine_address, "candidates = 1\nseed = 3\n")
    assert "1 result" in _run(host, engine_address, "harmonize", "command")
    for new_track in song.tracks[1:-1]:
        (placed,) = new_track.arrangement_clips
        assert placed.start_time == 16.0 and placed.length == source.length
        _valid(placed)
