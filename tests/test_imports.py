"""The layout's dependency rules, read from the source: no import circle inside `bridge/` or
`models/`; `bridge` may use `models`, never the reverse; `models` never imports zmq or
pydantic; `daw_scripts` never imports `bridge` or `models`.

Every import counts, deferred ones inside functions too; only imports under
``if TYPE_CHECKING:`` (type hints, never executed) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bridge", "models", "daw_scripts")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: Path, name: str) -> set[str]:
    """Dotted names a module imports (``from a import b`` gives ``a.b`` and ``a``)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def internal_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name that is not a module resolves to the
    module that defines it)."""
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for dotted in imported_names(path, name):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name and not name.startswith(dotted + "."):
                edges.add(dotted)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_no_import_circle_in_bridge_or_models() -> None:
    graph = internal_graph()
    assert len(graph) > 60, "the import graph should cover every module"
    assert cycles(graph) == []


def test_models_never_reaches_up_into_bridge_nor_speaks_the_wire() -> None:
    offending = sorted(
        f"{name} imports {dotted}"
        for name, path in all_modules().items() if name.startswith("models")
        for dotted in imported_names(path, name)
        if dotted.split(".")[0] in {"bridge", "zmq", "pydantic"}
    )
    assert offending == []


def test_daw_scripts_use_neither_package() -> None:
    offending = sorted(
        f"{name} imports {dotted}"
        for name, path in all_modules().items() if name.startswith("daw_scripts")
        for dotted in imported_names(path, name)
        if dotted.split(".")[0] in {"bridge", "models"}
    )
    assert offending == []


def test_the_rules_catch_a_circle_and_a_reversed_import(tmp_path: Path) -> None:
    graph = {"models.a": {"models.b"}, "models.b": {"models.c"}, "models.c": {"models.a"}, "models.d": set()}
    assert cycles(graph) == [["models.a", "models.b", "models.c"]]
    source = tmp_path / "x.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import zmq\n"
                      "def f():\n    from bridge.protocol import Clip\n")
    assert imported_names(source, "models.x") >= {"bridge.protocol", "bridge.protocol.Clip"}
    assert "zmq" not in imported_names(source, "models.x")
