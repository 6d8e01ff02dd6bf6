"""`dawbridge install ableton` / `--uninstall` / `dawbridge doctor ableton` on a temporary User
Library: what is copied, idempotence, exact removal, finding the library, and that the
installed copy loads in (fake) Live with its vendored client."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli.main import main as dawbridge
from installers import ableton as installer

REPO = Path(__file__).resolve().parents[2]
FAKE_LIVE = REPO / "tests" / "daw_scripts" / "ableton"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A User Library with another Remote Script in it."""
    folder = tmp_path / "User Library"
    (folder / "Remote Scripts" / "Other").mkdir(parents=True)
    (folder / "Remote Scripts" / "Other" / "__init__.py").write_text("# someone else's script\n")
    return folder


def run(*argv: str, action: str = "install") -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    installer.add_arguments(parser)
    options = parser.parse_args(list(argv))
    options.action = action
    out = io.StringIO()
    return installer.run(options, out), out.getvalue()


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_install_copies_the_script_and_vendors_common(library: Path) -> None:
    code, text = run("--user-library", str(library))
    assert code == 0 and "installed the DAWBridge Remote Script" in text
    target = library / "Remote Scripts" / "DAWBridge"
    for name in ("__init__.py", "manager.py", "common/session.py", "common/__init__.py",
                 "common/engine_client.py", "common/zmtp.py", "common/clips.py"):
        assert (target / name).is_file(), name
    assert (target / "common" / "zmtp.py").read_bytes() == \
        (REPO / "daw_scripts" / "common" / "zmtp.py").read_bytes()
    manifest = json.loads((target / installer.MANIFEST).read_text())
    assert set(manifest["files"]) == set(files_under(target)) - {installer.MANIFEST}
    assert "Control Surface" in text


def test_installing_twice_changes_nothing_and_repairs_edits(library: Path) -> None:
    run("--user-library", str(library))
    target = library / "Remote Scripts" / "DAWBridge"
    before = files_under(target)
    code, text = run("--user-library", str(library))
    assert code == 0 and "already up to date" in text and files_under(target) == before
    (target / "manager.py").write_text("broken")
    (target / "common" / "zmtp.py").unlink()
    assert "2 files written" in run("--user-library", str(library))[1]
    assert files_under(target) == before


def test_a_file_a_newer_version_dropped_is_removed(library: Path) -> None:
    run("--user-library", str(library))
    target = library / "Remote Scripts" / "DAWBridge"
    manifest = json.loads((target / installer.MANIFEST).read_text())
    manifest["files"]["retired.py"] = "0" * 64
    (target / installer.MANIFEST).write_text(json.dumps(manifest))
    (target / "retired.py").write_text("# from an old version\n")
    assert "1 removed" in run("--user-library", str(library))[1]
    assert not (target / "retired.py").exists()


def test_uninstall_removes_exactly_what_install_added(library: Path) -> None:
    before = files_under(library)
    run("--user-library", str(library))
    target = library / "Remote Scripts" / "DAWBridge"
    (target / "__pycache__").mkdir()
    (target / "__pycache__" / "manager.cpython-311.pyc").write_bytes(b"compiled by Live")
    code, text = run("--user-library", str(library), "--uninstall")
    assert code == 0 and "removed the DAWBridge Remote Script" in text
    assert files_under(library) == before and not target.exists()
    assert "nothing to remove" in run("--user-library", str(library), "--uninstall")[1]


def test_uninstall_keeps_what_the_user_added(library: Path) -> None:
    run("--user-library", str(library))
    target = library / "Remote Scripts" / "DAWBridge"
    (target / "notes.txt").write_text("mine")
    text = run("--user-library", str(library), "--uninstall")[1]
    assert "kept files DAWBridge did not add: notes.txt" in text
    assert files_under(target) == {"notes.txt": b"mine"}


def test_a_missing_user_library_is_explained(tmp_path: Path) -> None:
    code, text = run("--user-library", str(tmp_path / "nowhere"))
    assert code == 1 and "--user-library" in text and "Start Live once" in text


@pytest.mark.parametrize("platform, default", [
    ("darwin", "Music/Ableton/User Library"),
    ("win32", "Documents/Ableton/User Library"),
])
def test_the_default_user_library(tmp_path: Path, platform: str, default: str) -> None:
    (tmp_path / default).mkdir(parents=True)
    assert installer.find_user_library(home=tmp_path, platform=platform) == tmp_path / default
    assert installer.find_user_library(home=tmp_path, platform="linux") is None


def test_the_user_library_named_in_live_preferences_wins(tmp_path: Path) -> None:
    moved = tmp_path / "Samples" / "User Library"
    moved.mkdir(parents=True)
    (tmp_path / "Music" / "Ableton" / "User Library").mkdir(parents=True)
    for version, path in (("Live 9.7.7", tmp_path / "old"), ("Live 12.1", moved.parent)):
        prefs = tmp_path / "Library" / "Preferences" / "Ableton" / version
        prefs.mkdir(parents=True)
        (prefs / "Library.cfg").write_text(
            '<?xml version="1.0"?>\n<Ableton><ContentLibrary><UserLibrary><LibraryProject>'
            f'<ProjectPath Value="{path}" /></LibraryProject></UserLibrary></ContentLibrary></Ableton>')
    assert installer.find_user_library(home=tmp_path, platform="darwin") == moved


def test_doctor_reports_missing_outdated_and_ok(library: Path) -> None:
    code, text = run("--user-library", str(library), action="doctor")
    assert code == 1 and "MISSING" in text
    run("--user-library", str(library))
    code, text = run("--user-library", str(library), action="doctor")
    assert code == 0 and text.startswith("OK")
    (library / "Remote Scripts" / "DAWBridge" / "clip.py").write_text("old")
    code, text = run("--user-library", str(library), action="doctor")
    assert code == 1 and "OUTDATED 1 files" in text


def test_the_cli_calls_the_installer(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dawbridge(["install", "ableton", "--user-library", str(library)]) == 0
    assert (library / "Remote Scripts" / "DAWBridge" / "common" / "engine_client.py").exists()
    assert dawbridge(["install", "ableton", "--user-library", str(library), "--uninstall"]) == 0
    assert not (library / "Remote Scripts" / "DAWBridge").exists()


LOAD_IN_LIVE = """
import sys
sys.path[:0] = [{remote!r}, {fake!r}]
for unproven in ("urllib", "binascii", "zmq"):  # not known to load in Live's Python
    sys.modules[unproven] = None
import fake_live
fake_live.install()
import DAWBridge
from DAWBridge import shared
song = fake_live.Song()
clip = fake_live.add_session_clip(song.add_track("Lead"), 0, 4.0, [(60, 0.0, 1.0, 100)])
song.view.detail_clip = clip
host = fake_live.LiveHost(DAWBridge, song)
host.run(0.2)
host.press("cc", 102)
print(shared.engine_client.__name__)
print(host.status_bar[-1])
print(any(m.startswith("daw_scripts") for m in sys.modules))
host.disconnect()
"""


def test_the_installed_copy_runs_in_live_on_its_own(library: Path, tmp_path: Path) -> None:
    run("--user-library", str(library))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "ableton.cfg").write_text("address = tcp://127.0.0.1:9\n")
    code = LOAD_IN_LIVE.format(remote=str(library / "Remote Scripts"), fake=str(FAKE_LIVE))
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"DAWBRIDGE_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    module, status, repo_imported = done.stdout.splitlines()
    assert module == "DAWBridge.common.engine_client"
    assert status == "DAWBridge: Harmony: the engine is not running: start it with `dawbridge serve`"
    assert repo_imported == "False"
