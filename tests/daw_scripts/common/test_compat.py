"""daw_scripts runs inside DAWs: Python 3.7 syntax, the standard library only, pyzmq optional."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DAW_SCRIPTS = ROOT / "daw_scripts"
OPTIONAL = {"zmq"}  # used when it imports, never required


def vermin() -> str | None:
    return shutil.which("vermin") or shutil.which("vermin", path=str(Path(sys.executable).parent))


def test_daw_scripts_run_on_python_37(tmp_path):
    """The scripts, and the action scripts the REAPER installer writes from the catalog."""
    tool = vermin()
    if tool is None:
        pytest.skip("vermin is not installed (pip install vermin)")
    from daw_scripts.reaper.catalog import ACTIONS, action_script

    for script, name, op in ACTIONS:
        (tmp_path / script).write_text(action_script(name, op), encoding="utf-8")
    run = subprocess.run([tool, "-t=3.7-", "--no-tips", "--violations", str(DAW_SCRIPTS), str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((DAW_SCRIPTS / "common").glob("*.py")), ids=lambda p: p.name)
def test_common_imports_only_the_standard_library(path):
    foreign = imported_modules(path) - set(sys.stdlib_module_names) - OPTIONAL
    assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_works_without_pyzmq_and_under_another_name(tmp_path):
    """Installed as a bare ``dawbridge_common`` package into a Python where zmq is missing."""
    shutil.copytree(DAW_SCRIPTS / "common", tmp_path / "dawbridge_common")
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); sys.modules['zmq'] = None\n"
        "import dawbridge_common as c\n"
        "client = c.EngineClient('tcp://127.0.0.1:1')\n"
        "assert client.transport == 'zmtp', client.transport\n"
        "assert 'bridge' not in sys.modules and 'models' not in sys.modules\n"
        "try:\n    client.request('ping')\nexcept c.EngineUnreachable as e:\n    print(e)\n"
    )
    run = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "dawbridge serve" in run.stdout
