"""`dawbridge install reaper` / `--uninstall` / `dawbridge doctor reaper` on a temporary REAPER
resource folder: what is copied and registered, idempotence, exact removal, the report."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from daw_scripts.reaper.catalog import ACTIONS, action_script
from installers import reaper as installer

REPO = Path(__file__).resolve().parents[2]
USER_KB = 'SCR 4 0 RSuser "Custom: mine.lua" "Mine/mine.lua"\nKEY 1 65 _RSuser 0\n'


@pytest.fixture
def resource(tmp_path: Path) -> Path:
    """A REAPER resource folder as a fresh install leaves it: Python off, one user action."""
    folder = tmp_path / "REAPER"
    (folder / "Scripts" / "Mine").mkdir(parents=True)
    (folder / "Scripts" / "Mine" / "mine.lua").write_text("-- a user's script\n")
    (folder / "reaper.ini").write_text("[reaper]\nreascript=0\nlastproject=song.rpp\n")
    (folder / "reaper-kb.ini").write_text(USER_KB)
    return folder


def run(*argv: str, action: str = "install") -> tuple[int, str]:
    """What `dawbridge install reaper ARGV` (or `dawbridge doctor reaper ARGV`) does."""
    parser = argparse.ArgumentParser()
    installer.add_arguments(parser)
    options = parser.parse_args(list(argv))
    options.action = action
    out = io.StringIO()
    if action == "doctor":
        return installer.doctor(options, out), out.getvalue()
    return installer.run(options, out), out.getvalue()


def kb(resource: Path) -> str:
    return (resource / "reaper-kb.ini").read_text()


def test_install_copies_registers_and_enables_python(resource):
    status, output = run("--resource-path", str(resource))

    assert status == 0 and "Restart REAPER" in output and "dawbridge serve" in output
    target = resource / "Scripts" / "DAWBridge"
    for script, name, op in ACTIONS:  # one script per action, written from the catalog
        assert (target / "daw_scripts" / "reaper" / script).read_text(encoding="utf-8") == action_script(name, op)
    assert (target / "daw_scripts" / "common" / "engine_client.py").is_file()
    lines = kb(resource).splitlines()
    assert lines[:2] == USER_KB.splitlines()  # the user's lines stay as they were
    ours = [line for line in lines if "DAWBridge" in line]
    assert ours == [installer.action_line(script, name) for script, name, _ in ACTIONS]
    assert ours[0].startswith('SCR 4 0 RS') and ours[0].endswith(
        '"Custom: DAWBridge: Harmonize selected items" "DAWBridge/daw_scripts/reaper/DAWBridge_Harmonize_selected_items.py"')
    assert len(ours[0].split()[3]) == 42  # RS + 40 hex digits, as REAPER makes them
    assert installer.python_enabled(resource)
    assert "lastproject=song.rpp" in (resource / "reaper.ini").read_text()


def test_installing_twice_changes_nothing(resource):
    run("--resource-path", str(resource))
    first_kb, first_manifest = kb(resource), (resource / "Scripts/DAWBridge/dawbridge-install.json").read_text()

    status, output = run("--resource-path", str(resource))

    assert status == 0 and "Registered 0 new actions" in output and "8 already there" in output
    assert kb(resource) == first_kb
    assert (resource / "Scripts/DAWBridge/dawbridge-install.json").read_text() == first_manifest


def test_uninstall_removes_exactly_what_was_added(resource):
    run("--resource-path", str(resource))
    (resource / "Scripts" / "DAWBridge" / "my-notes.txt").write_text("the user's own file")

    status, output = run("--resource-path", str(resource), "--uninstall")

    assert status == 0 and "actions" in output
    assert kb(resource) == USER_KB
    assert sorted(p.relative_to(resource).as_posix() for p in (resource / "Scripts").rglob("*")) == [
        "Scripts/DAWBridge", "Scripts/DAWBridge/my-notes.txt", "Scripts/Mine", "Scripts/Mine/mine.lua"]


def test_python_already_enabled_is_left_alone(resource):
    library = resource / "libpython3.so"
    library.write_text("")
    ini = f"[reaper]\nreascript=1\npythonlibpath64={resource}\npythonlibdll64=libpython3.so\n"
    (resource / "reaper.ini").write_text(ini)

    run("--resource-path", str(resource))

    assert (resource / "reaper.ini").read_text() == ini


def test_doctor_reports_what_is_missing_then_all_ok(resource):
    status, before = run("--resource-path", str(resource), action="doctor")
    assert status == 1
    assert "MISSING  Python for ReaScript is off" in before
    assert "script files missing or out of date" in before and "actions not registered" in before

    run("--resource-path", str(resource))
    status, after = run("--resource-path", str(resource), action="doctor")

    assert status == 0 and "MISSING" not in after
    assert after.count("ok ") == 4


def test_an_unknown_resource_folder_is_an_error(tmp_path):
    status, output = run("--resource-path", str(tmp_path / "nowhere"))

    assert status == 1 and "--resource-path" in output


def test_installed_scripts_import_their_own_copy(resource):
    """An installed action finds daw_scripts beside it, not in a source checkout."""
    run("--resource-path", str(resource))
    script = resource / "Scripts/DAWBridge/daw_scripts/reaper/DAWBridge_Settings.py"
    code = (
        "import sys\n"
        f"sys.path.append({str(REPO)!r})\n"
        "from tests.daw_scripts.reaper.fake_reaper import FakeReaper\n"
        "fake = FakeReaper()\n"
        "fake.input_answers = [None]\n"
        f"fake.run_script({str(script)!r})\n"
        "print(sys.modules['daw_scripts.reaper.preferences'].__file__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(resource / "Scripts" / "DAWBridge" / "daw_scripts"))


def test_manifest_lists_every_copied_file(resource):
    run("--resource-path", str(resource))

    manifest = json.loads((resource / "Scripts/DAWBridge/dawbridge-install.json").read_text())
    on_disk = {p.relative_to(resource / "Scripts/DAWBridge").as_posix()
               for p in (resource / "Scripts/DAWBridge").rglob("*.py")}
    assert set(manifest["files"]) == on_disk
    assert manifest["python_enabled_by_installer"] is True


def test_the_cli_runs_install_doctor_and_uninstall(resource, capsys):
    from bridge.cli.main import main

    assert main(["doctor", "reaper", "--resource-path", str(resource)]) == 1
    assert main(["install", "reaper", "--resource-path", str(resource)]) == 0
    assert main(["doctor", "reaper", "--resource-path", str(resource)]) == 0
    assert main(["install", "reaper", "--resource-path", str(resource), "--uninstall"]) == 0
    assert kb(resource) == USER_KB
    assert "Registered 8 new actions" in capsys.readouterr().out
