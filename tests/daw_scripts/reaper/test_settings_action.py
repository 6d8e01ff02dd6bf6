"""The "DAWBridge: Settings" action: REAPER's input dialog <-> ExtState, and the actions
using what was saved."""

from __future__ import annotations

from daw_scripts.common import settings as common_settings
from daw_scripts.reaper import messages
from tests.daw_scripts.reaper.conftest import configure, run_action

KEY = ("DAWBridge", "settings")


def saved(fake) -> dict:
    return common_settings.parse(fake.ext_state[KEY])


def test_the_dialog_shows_the_defaults_and_saves_persistently(reaper):
    reaper.input_answers = ["tcp://127.0.0.1:6001|4|0.8|chords|funk|rock|reel|30"]

    run_action(reaper, "settings")

    (title, captions, defaults), = reaper.input_prompts
    assert title == "DAWBridge settings"
    assert captions.split(",")[:2] == ["Engine address", "Candidates (1-8)"]
    assert captions.endswith(",separator=|,extrawidth=160")
    assert defaults == "tcp://127.0.0.1:5555|3|1|chorale|rock|funk|jig|60"
    values = saved(reaper)
    assert (values["address"], values["candidates"], values["temperature"]) == ("tcp://127.0.0.1:6001", 4, 0.8)
    assert (values["style.harmonize"], values["style.drums"], values["timeout"]) == ("chords", "funk", 30.0)
    assert KEY in reaper.persisted
    assert [m[0] for m in reaper.messages] == [messages.SETTINGS_SAVED]


def test_bad_values_are_named_and_the_good_ones_kept(reaper):
    configure(reaper, candidates=2)
    reaper.input_answers = ["not-an-address|12|0.5|chorale|rock|funk|jig|60"]

    run_action(reaper, "settings")

    values = saved(reaper)
    assert values["address"] == "tcp://127.0.0.1:5555" and values["candidates"] == 2
    assert values["temperature"] == 0.5
    problems = reaper.messages[0][0]
    assert "Engine address: " in problems and "Candidates (1-8): candidates must be in range 1..8" in problems


def test_cancelling_the_dialog_saves_nothing(reaper):
    reaper.input_answers = [None]

    run_action(reaper, "settings")

    assert KEY not in reaper.ext_state and reaper.messages == []


def test_actions_use_the_saved_settings(reaper, engine, composer):
    reaper.input_answers = [engine + "|1|0.5|bass|jazz|funk|air|20"]
    run_action(reaper, "settings")
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, [(72, 0.0, 4.0, 100)])

    run_action(reaper, "harmonize")

    task = composer.tasks[0]
    assert (task.style, task.sampling.candidates, task.sampling.temperature) == ("bass", 1, 0.5)
    assert all(len(item.takes) == 1 for t in reaper.project.tracks[1:] for item in t.items)
