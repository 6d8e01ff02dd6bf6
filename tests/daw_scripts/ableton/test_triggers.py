"""Controller buttons: only the configured notes and CCs are forwarded to the script; a note
fires on note-on, a CC when it crosses 64 upwards; other MIDI is left to the framework."""

import live_sets as sets


def _presses(host):
    return sum(m.startswith("DAWBridge: Harmony: the engine is not running") for m in host.status_bar)


def test_only_configured_buttons_are_forwarded(load_script):
    host = load_script(extra="vary = note 60 channel 3\nfill = off\n")
    host.run(0.1)
    assert ("note", 2, 60) in host.forwarded and ("note", 0, 39) not in host.forwarded
    assert ("cc", 0, 104) not in host.forwarded and ("cc", 0, 102) in host.forwarded
    assert not host.press("note", 39)


def test_a_note_fires_once_per_press_a_cc_once_per_rise(load_script):
    song, _, _ = sets.session_melody()
    host = load_script(song, extra="harmonize:pad = note 36\n")
    host.run(0.1)
    host.press("note", 36)
    assert _presses(host) == 1
    host.script.receive_midi((0x90, 36, 0))  # note-on with velocity 0 is a release
    host.script.receive_midi((0x80, 36, 64))
    assert _presses(host) == 1
    for value in (127, 127, 90, 0, 100):
        host.script.receive_midi((0xB0, 102, value))
    assert _presses(host) == 3


def test_a_button_can_carry_controls(load_script, monkeypatch):
    song, _, _ = sets.session_melody()
    host = load_script(song, extra="harmonize:bass = note 50 style=bass candidates=1\n")
    sent = []

    def start(cls, song, client, config, op, overrides=None):
        sent.append((op, overrides))
        return None, "recorded"

    monkeypatch.setattr("DAWBridge.action.Action.start", classmethod(start))
    host.run(0.1)
    host.press("note", 50)
    assert sent == [("harmonize", {"style": "bass", "candidates": 1})]


def test_the_default_buttons_leave_every_note_to_the_tracks(load_script):
    """A forwarded note reaches the script only; the drum pads (36..51, on channel 1 or 10)
    and the keys must all reach the instruments."""
    host = load_script()
    host.run(0.1)
    assert all(host.reaches_tracks("note", channel, note)
               for channel in range(16) for note in range(128))
    assert not host.reaches_tracks("cc", 0, 102)


def test_the_settings_problems_are_shown_on_load(load_script):
    host = load_script(extra="harmonize = note 300\n")
    assert "1 settings problems, see the log" in host.status_bar[0]
