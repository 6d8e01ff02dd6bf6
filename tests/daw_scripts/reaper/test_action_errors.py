"""What the actions say when they cannot do their job, and that they then change nothing:
nothing selected, not MIDI, no time selection, the engine not running, the engine refusing,
timeouts; and cancelling a running request, from another action or by terminating the script."""

from __future__ import annotations

import socket
import time

import pytest

from daw_scripts.reaper import messages
from tests.daw_scripts.reaper.conftest import configure, run_action, script_for
from tests.daw_scripts.reaper.scripted_composer import ScriptedComposer

PHRASE = [(60, 0.0, 1.0, 100), (64, 1.0, 1.0, 100), (67, 2.0, 2.0, 100)]


def assert_unchanged(fake, before):
    assert fake.project.tracks == before.tracks
    assert fake.undo_points == [] and fake.unguarded_changes == []
    assert fake.deferred == [] and fake.at_exit == []
    assert ("DAWBridge", "running") not in fake.ext_state


@pytest.mark.parametrize("op", ["harmonize", "vary", "continue", "restyle", "fill"])
def test_nothing_selected_says_what_to_select(reaper, engine, op):
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE, selected=False)
    before = reaper.snapshot()

    run_action(reaper, op)

    assert [m[0] for m in reaper.messages] == [messages.NOTHING_SELECTED]
    assert_unchanged(reaper, before)


def test_audio_items_are_not_midi(reaper, engine):
    reaper.add_audio_item(reaper.add_track("Vocals"), 0.0, 4.0)
    before = reaper.snapshot()

    run_action(reaper, "harmonize")

    assert [m[0] for m in reaper.messages] == [messages.NOT_MIDI]
    assert_unchanged(reaper, before)


def test_drums_need_a_time_selection(reaper, engine):
    reaper.add_midi_item(reaper.add_track("Bass"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()

    run_action(reaper, "drums")

    assert [m[0] for m in reaper.messages] == [messages.NO_TIME_SELECTION]
    assert_unchanged(reaper, before)


def test_fill_needs_the_time_selection_over_the_item(reaper, engine):
    reaper.add_midi_item(reaper.add_track("Kit"), 0.0, 4.0, [(36, 0.0, 0.5, 100, 9)])
    reaper.set_time_selection(8.0, 12.0)
    before = reaper.snapshot()

    run_action(reaper, "fill")

    assert [m[0] for m in reaper.messages] == [messages.FILL_OUTSIDE]
    assert_unchanged(reaper, before)


def test_a_selection_too_long_for_the_protocol_is_explained(reaper, engine):
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 1100.0, PHRASE)
    before = reaper.snapshot()

    run_action(reaper, "vary")

    (text, _, _), = reaper.messages
    assert text.startswith("The selection cannot be sent to the engine: length must be")
    assert_unchanged(reaper, before)


@pytest.mark.parametrize("transport", ["pyzmq", "zmtp"])
def test_engine_not_running_says_how_to_start_it(reaper, free_address, transport):
    configure(reaper, address=free_address, transport=transport)
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()

    started = time.monotonic()
    run_action(reaper, "harmonize")

    assert time.monotonic() - started < 5
    (text, title, kind), = reaper.messages
    assert "not answering at " + free_address in text and "`dawbridge serve`" in text
    assert title == "DAWBridge" and kind == 0
    assert_unchanged(reaper, before)


def test_engine_refusal_is_shown_in_the_engines_words(reaper, start_engine, tmp_path):
    server = start_engine(weights=tmp_path / "no-such-model")  # the engine runs, without a model
    configure(reaper, address=str(server.address))
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()

    run_action(reaper, "harmonize")

    (text, _, _), = reaper.messages
    assert text.startswith("The DAWBridge engine could not do 'Harmonize':\n\n")
    assert "no-such-model" in text or "weights" in text.lower()
    assert_unchanged(reaper, before)


def test_timeout_says_what_to_do(reaper, start_engine):
    slow = ScriptedComposer(seconds=30)
    configure(reaper, address=str(start_engine(composer=slow).address), timeout=1.0)
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()

    run_action(reaper, "vary")

    (text, _, _), = reaper.messages
    assert "timeout" in text.lower() or "within 1 s" in text
    assert_unchanged(reaper, before)


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_running_an_action_again_offers_to_cancel_the_running_one(reaper, start_engine):
    slow = ScriptedComposer(seconds=30)
    configure(reaper, address=str(start_engine(composer=slow).address))
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()
    reaper.start_script(script_for("harmonize"))
    reaper.run_deferred(ticks=20, finish=False)
    assert wait_for(lambda: slow.tasks)

    reaper.message_answers = [6]  # Yes, cancel it
    reaper.start_script(script_for("vary"))
    reaper.run_deferred()

    (question, _, kind), = reaper.messages
    assert question.startswith("DAWBridge is still working on 'Harmonize'") and kind == 4
    assert wait_for(lambda: slow.stopped)  # the engine stopped working on it
    assert len(slow.tasks) == 1  # and Vary did not start
    assert reaper.tooltips[-1] == ""
    assert_unchanged(reaper, before)


def test_answering_no_lets_the_running_action_finish(reaper, engine, composer):
    composer.seconds = 0.5
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    reaper.start_script(script_for("vary"))
    reaper.run_deferred(ticks=5, finish=False)

    reaper.message_answers = [7]  # No
    reaper.start_script(script_for("vary"))
    reaper.run_deferred()

    assert len(reaper.messages) == 1 and len(composer.tasks) == 1
    assert [t.name for t in reaper.project.tracks] == ["Melody", "Variation"]
    assert reaper.undo_points == ["DAWBridge: Vary"]


def test_terminating_the_script_cancels_at_the_engine(reaper, start_engine):
    slow = ScriptedComposer(seconds=30)
    configure(reaper, address=str(start_engine(composer=slow).address))
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)
    before = reaper.snapshot()
    reaper.start_script(script_for("continue"))
    reaper.run_deferred(ticks=20, finish=False)
    assert wait_for(lambda: slow.tasks)

    reaper.terminate_scripts()

    assert wait_for(lambda: slow.stopped)
    assert reaper.messages == [] and reaper.tooltips[-1] == ""
    assert_unchanged(reaper, before)


def test_a_stale_running_flag_does_not_block(reaper, engine):
    reaper.RPR_SetExtState("DAWBridge", "running", "1.0|Harmonize|1.0|1.0", False)  # REAPER crashed
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)

    run_action(reaper, "harmonize")

    assert reaper.messages == [] and reaper.undo_points == ["DAWBridge: Harmonize"]


@pytest.fixture
def silent_address():
    """An address whose connection attempts stay under way (a listener whose backlog is full
    drops new connections' SYNs), as Windows keeps a refused loopback connect for seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting = []
    for _ in range(3):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        waiting.append(sock)
    time.sleep(0.1)
    yield f"tcp://127.0.0.1:{port}"
    for sock in [*waiting, listener]:
        sock.close()


@pytest.mark.parametrize("transport", ["pyzmq", "zmtp"])
def test_an_engine_slow_to_refuse_never_freezes_reaper(reaper, silent_address, transport):
    configure(reaper, address=silent_address, transport=transport, connect_timeout=1.0)
    reaper.add_midi_item(reaper.add_track("Melody"), 0.0, 4.0, PHRASE)

    started = time.monotonic()
    reaper.start_script(script_for("harmonize"))
    assert time.monotonic() - started < 0.3  # the action's first run hands back to REAPER
    reaper.run_deferred()

    assert time.monotonic() - started >= 1.0  # the attempt was read on REAPER's timer meanwhile
    (text, _, _), = reaper.messages
    assert "not answering at " + silent_address in text
