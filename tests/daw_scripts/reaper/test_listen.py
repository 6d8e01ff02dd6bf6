""""DAWBridge: Listen": REAPER attached to a real engine as a session, so that `dawbridge reaper
<op>` and a client's `dispatch` run the action on the selection there; it says when the engine
is away, skips a command while a request runs, and leaves the engine when stopped."""

from __future__ import annotations

from bridge.cli.main import main as dawbridge
from daw_scripts.common import EngineClient
from daw_scripts.reaper import messages
from models.tasks import DrumsTask, VaryTask
from tests.daw_scripts.reaper.conftest import configure, script_for
from tests.daw_scripts.reaper.scripted_composer import ScriptedComposer

PHRASE = [(60, 0.0, 1.0, 100), (64, 1.0, 1.0, 100), (67, 2.0, 2.0, 100)]


def tick_until(fake, condition, ticks=2000):
    for _ in range(ticks):
        if condition():
            return True
        fake.run_deferred(ticks=1, finish=False)
    return condition()


def listen(fake, server):
    configure(fake, address=str(server.address), candidates=2, timeout=20.0)
    fake.start_script(script_for("listen"))
    assert tick_until(fake, lambda: len(server.sessions) == 1)


def test_the_cli_runs_an_op_on_the_selection_in_reaper(reaper, start_engine, capsys):
    composer = ScriptedComposer()
    server = start_engine(composer=composer)
    reaper.project_name = "Song.rpp"
    reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)
    listen(reaper, server)

    assert dawbridge(["reaper", "vary", "--address", str(server.address), "--temperature", "0.5"]) == 0
    assert tick_until(reaper, lambda: len(reaper.project.tracks) == 2 and not reaper.deferred[1:])

    assert "sent vary to 1 REAPER session" in capsys.readouterr().out
    task = composer.tasks[-1]
    assert isinstance(task, VaryTask) and task.sampling.temperature == 0.5
    assert [t.name for t in reaper.project.tracks] == ["Lead", "Variation"]
    assert reaper.undo_points == ["DAWBridge: Vary"] and reaper.messages == []
    assert messages.LISTEN_ATTACHED.format(address=server.address) in reaper.console
    assert [(s.daw, s.name) for s in server.sessions.values()] == [("reaper", "REAPER: Song.rpp")]

    reaper.terminate_scripts()
    assert reaper.console.endswith(messages.LISTEN_STOPPED)


def test_a_dispatched_command_carries_its_controls(reaper, start_engine):
    composer = ScriptedComposer()
    server = start_engine(composer=composer)
    reaper.add_track("Keys")
    reaper.set_time_selection(0.0, 8.0)
    listen(reaper, server)

    with EngineClient(str(server.address)) as client:
        reply = client.request("dispatch", timeout=5.0, daw="reaper", command={"op": "drums", "style": "funk"})
    assert reply["delivered"] == 1
    assert tick_until(reaper, lambda: any(t.name == "Drums" for t in reaper.project.tracks))

    task = composer.tasks[-1]
    assert isinstance(task, DrumsTask) and task.style == "funk" and task.bars == 2
    reaper.terminate_scripts()


def test_a_command_while_a_request_runs_is_skipped(reaper, start_engine):
    composer = ScriptedComposer(seconds=1.0)
    server = start_engine(composer=composer)
    reaper.add_midi_item(reaper.add_track("Lead"), 0.0, 4.0, PHRASE)
    listen(reaper, server)

    with EngineClient(str(server.address)) as client:
        for op in ("vary", "harmonize"):
            client.request("dispatch", timeout=5.0, daw="reaper", command={"op": op})
            assert tick_until(reaper, lambda: len(composer.tasks) == 1 or "skipped" in reaper.console)
    assert tick_until(reaper, lambda: len(reaper.project.tracks) == 2)

    assert messages.LISTEN_BUSY.format(op="harmonize", title="Vary") in reaper.console
    assert [type(t) for t in composer.tasks] == [VaryTask]
    reaper.terminate_scripts()


def test_the_engine_away_is_said_once(reaper, free_address):
    configure(reaper, address=free_address)
    reaper.start_script(script_for("listen"))
    reaper.run_deferred(ticks=30, finish=False)

    assert reaper.console.count(messages.LISTEN_AWAY.format(address=free_address)) == 1
    assert reaper.messages == []
    reaper.terminate_scripts()


def test_without_a_listening_reaper_the_cli_says_what_to_run(start_engine, capsys):
    server = start_engine(composer=ScriptedComposer())
    assert dawbridge(["reaper", "fill", "--address", str(server.address)]) == 1
    assert "run the action 'DAWBridge: Listen' in REAPER" in capsys.readouterr().err
