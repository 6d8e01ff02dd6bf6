"""The Remote Script runs inside Live: the syntax of the oldest Python a supported Live embeds
(3.7, Live 11), Live's own modules, the shared client, and from the standard library only the
modules Live's reduced Python is known to load; never the engine or the model.

The Live closure is what the installer copies: ``DAWBridge/`` and ``daw_scripts/common`` (as
``DAWBridge/common``). An import inside ``try: ... except ImportError`` (or ``Exception``), or
inside a function that runs only when the module is there, is optional: the code works
without it (``select``: the ZMTP client then waits in short sleeps; ``zmq``: the pure-Python
client is used). CPython's own ``socket`` module imports ``select`` (through ``selectors``), so
a Python that loads ``socket`` has it; the fallback covers a host that ships its own."""

import ast
from pathlib import Path

import fake_live
import pytest

DAW_SCRIPTS = Path(__file__).resolve().parents[3] / "daw_scripts"
LIVE_CLOSURE = sorted((DAW_SCRIPTS / "ableton" / "DAWBridge").glob("*.py")) + sorted(
    (DAW_SCRIPTS / "common").glob("*.py"))

# The standard library Live's own Remote Scripts import, so its reduced Python loads them.
LIVE_STDLIB = {"contextlib", "errno", "json", "logging", "os", "re", "socket", "struct", "time"}
LIVE_MODULES = {"Live", "_Framework", "ableton"}
OPTIONAL = {"select", "zmq"}  # imported inside try/except ImportError, with a fallback
SOURCE_TREE = {"daw_scripts"}  # the shared client, when not vendored (tests, development)
OLDEST_PYTHON = min(api.python for api in fake_live.APIS.values())


def _catches_import_error(handler):
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError", "Exception")
               for n in names)


def imports(tree):
    """``(module, optional)`` for every absolute import in ``tree``."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for statement in node.body + [s for h in node.handlers for s in h.body]:
                guarded.update(id(n) for n in ast.walk(statement))
        elif isinstance(node, ast.FunctionDef):
            guarded.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], id(node) in guarded
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0], id(node) in guarded


@pytest.mark.parametrize("path", LIVE_CLOSURE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_oldest_live_python_syntax_and_only_modules_live_loads(path):
    tree = ast.parse(path.read_text(), str(path), feature_version=OLDEST_PYTHON)
    assert ast.get_docstring(tree), f"{path.name} has no docstring"
    required = {name for name, optional in imports(tree) if not optional}
    optional = {name for name, optional in imports(tree) if optional}
    assert required <= LIVE_STDLIB | LIVE_MODULES | SOURCE_TREE, \
        f"{path.name} imports {sorted(required - LIVE_STDLIB - LIVE_MODULES - SOURCE_TREE)}"
    assert optional <= OPTIONAL | LIVE_MODULES | SOURCE_TREE, f"{path.name} imports {sorted(optional)}"


def test_the_allow_list_catches_an_unproven_module():
    tree = ast.parse("import select\nfrom urllib.parse import quote\ntry:\n    import zmq\n"
                     "except ImportError:\n    zmq = None\ndef f():\n    import binascii\n")
    assert sorted(imports(tree)) == [("binascii", True), ("select", False), ("urllib", False),
                                     ("zmq", True)]
