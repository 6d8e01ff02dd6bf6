"""The Remote Script runs inside Live: Python 3.7 syntax (Live 11), the standard library plus
Live's own modules, the shared client, and never the engine or the model."""

import ast
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "daw_scripts" / "ableton" / "DAWBridge"
LIVE_MODULES = {"Live", "_Framework", "ableton"}
SOURCE_TREE = {"daw_scripts"}  # the shared client, when not vendored (tests, development)


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", sorted(SCRIPT.glob("*.py")), ids=lambda p: p.name)
def test_python_37_syntax_and_allowed_imports(path):
    tree = ast.parse(path.read_text(), str(path), feature_version=(3, 7))
    assert ast.get_docstring(tree), f"{path.name} has no docstring"
    foreign = set(_imports(tree)) - set(sys.stdlib_module_names) - LIVE_MODULES - SOURCE_TREE
    assert not foreign, f"{path.name} imports {sorted(foreign)}"
