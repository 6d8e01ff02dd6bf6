"""Editing reaper.ini in place: only the lines of the keys set change, nothing is left beside
the file, and the install's edit is undone by the uninstall (reapy is no dependency)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from installers import reaper_ini
from tests.installers.test_reaper_installer import run

REPO = Path(__file__).resolve().parents[2]
INI = ("[REAPER]\r\n; a comment\r\nReaScript=0\r\nlastproject=song.rpp\r\nlastproject=dup.rpp\r\n"
       "\r\n[audioconfig]\r\nreascript=7\r\n")


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    path = tmp_path / "reaper.ini"
    path.write_bytes(INI.encode())
    return path


def test_only_the_lines_of_the_keys_set_change(ini):
    before = reaper_ini.write(ini, {"reascript": "1", "pythonlibdll64": "libpython3.11.so"})

    assert before == {"reascript": "0", "pythonlibdll64": None}
    assert ini.read_bytes().decode() == INI.replace("ReaScript=0", "ReaScript=1").replace(
        "lastproject=dup.rpp\r\n", "lastproject=dup.rpp\r\npythonlibdll64=libpython3.11.so\r\n")
    assert reaper_ini.read(ini) == {"reascript": "1", "lastproject": "song.rpp",
                                    "pythonlibdll64": "libpython3.11.so"}
    assert reaper_ini.read(ini, "audioconfig") == {"reascript": "7"}
    assert sorted(p.name for p in ini.parent.iterdir()) == ["reaper.ini"]


def test_writing_back_the_values_before_restores_the_file(ini):
    before = reaper_ini.write(ini, {"reascript": "1", "pythonlibpath64": "/opt/py/lib"})
    reaper_ini.write(ini, {"reascript": "1", "pythonlibpath64": "/opt/py/lib"})  # idempotent
    reaper_ini.write(ini, before)
    assert ini.read_bytes() == INI.encode()


def test_a_missing_section_or_file_is_added(tmp_path):
    path = tmp_path / "reaper.ini"
    path.write_text("[other]\nx=1")
    reaper_ini.write(path, {"reascript": "1"})
    assert path.read_text() == "[other]\nx=1\n[REAPER]\nreascript=1\n"
    fresh = tmp_path / "fresh.ini"
    reaper_ini.write(fresh, {"reascript": "1"})
    assert fresh.read_text() == "[REAPER]\nreascript=1\n"


@pytest.fixture
def library(tmp_path, monkeypatch) -> Path:
    """This Python's shared library, as the installer finds it."""
    path = tmp_path / "pylib" / "libpython3.11.so.1.0"
    path.parent.mkdir()
    path.write_text("")
    monkeypatch.setattr("installers.python_library.find", lambda: (path.parent, path.name))
    return path


@pytest.fixture
def resource(tmp_path: Path) -> Path:
    folder = tmp_path / "REAPER"
    folder.mkdir()
    (folder / "reaper.ini").write_bytes(INI.encode())
    return folder


def test_install_enables_python_in_place_and_uninstall_puts_it_back(resource, library):
    run("--resource-path", str(resource))

    assert reaper_ini.read(resource / "reaper.ini") == {
        "reascript": "1", "lastproject": "song.rpp", "pythonlibpath64": str(library.parent),
        "pythonlibdll64": library.name}
    assert sorted(p.name for p in resource.iterdir()) == ["Scripts", "reaper-kb.ini", "reaper.ini"]

    status, output = run("--resource-path", str(resource), "--uninstall")

    assert status == 0 and "restored" in output
    assert (resource / "reaper.ini").read_bytes() == INI.encode()
    assert sorted(p.name for p in resource.iterdir()) == ["reaper.ini"]  # as before the install


def test_a_setting_changed_since_the_install_is_left_alone(resource, library):
    run("--resource-path", str(resource))
    reaper_ini.write(resource / "reaper.ini", {"pythonlibdll64": "libpython3.12.so"})

    status, output = run("--resource-path", str(resource), "--uninstall")

    assert "left as it is" in output
    assert reaper_ini.read(resource / "reaper.ini")["pythonlibdll64"] == "libpython3.12.so"


def test_uninstall_removes_the_backups_an_earlier_reapy_install_left(resource, library):
    run("--resource-path", str(resource))
    manifest = resource / "Scripts" / "DAWBridge" / "dawbridge-install.json"
    manifest.write_text('{"files": [], "actions": [], "python_enabled_by_installer": true}')
    for name in ("reaper.ini.bak", "reaper.ini.before-reapy.bak"):
        (resource / name).write_text(INI)

    run("--resource-path", str(resource), "--uninstall")

    assert not (resource / "reaper.ini.bak").exists()
    assert not (resource / "reaper.ini.before-reapy.bak").exists()


def test_a_default_install_brings_no_reapy_or_psutil():
    block = re.search(r"^dependencies = \[(.*?)^\]", (REPO / "pyproject.toml").read_text(), re.S | re.M)
    names = [re.split(r"[<>=\[; ]", dep)[0].lower() for dep in re.findall(r'"([^"]+)"', block.group(1))]
    assert "pyzmq" in names
    assert not {"python-reapy", "reapy", "psutil"} & set(names)
    for path in (REPO / "installers").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not {"reapy", "psutil"} & imported, path.name
