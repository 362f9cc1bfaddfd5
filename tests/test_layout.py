"""The layout's rules, checked on the source: only ``lens_core/ui/`` imports Streamlit, the public names import, and
``lens_core`` has no import cycle among the imports a module runs when it is loaded."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import lens_core

PACKAGE = Path(lens_core.__file__).resolve().parent
UI = PACKAGE / "ui"


def _modules() -> dict[str, Path]:
    """Every module of lens_core by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(node: ast.AST, modules: dict[str, Path] | None = None) -> list[str]:
    """The modules an import statement names. ``from a import b`` names the module ``a.b`` when there is one (the
    package ``a`` is then only its parent, loaded first as for any submodule), else ``a``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in (modules or {})]
        return submodules if len(submodules) == len(node.names) else [node.module, *submodules]
    return []


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _load_time_imports(tree: ast.Module, modules: dict[str, Path]) -> list[str]:
    """Imports run when the module is loaded: not those inside functions or classes, nor under TYPE_CHECKING."""
    found: list[str] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) or _is_type_checking(node):
            continue
        found += _imported(node, modules)
        pending += list(ast.iter_child_nodes(node))
    return found


def test_only_the_ui_package_imports_streamlit():
    offenders = []
    for name, path in _modules().items():
        if UI in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if any(m == "streamlit" or m.startswith("streamlit.") for m in _imported(node)):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_every_public_name_imports():
    missing = [name for name in lens_core.__all__ if getattr(lens_core, name, None) is None]
    assert missing == []
    namespace: dict[str, object] = {}
    exec("from lens_core import *", namespace)  # noqa: S102 - the star import a notebook user would write
    assert set(lens_core.__all__) <= set(namespace)


def test_no_import_cycle_at_load_time():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        named = _load_time_imports(ast.parse(path.read_text(encoding="utf-8")), modules)
        graph[name] = {m for m in named if m in modules and m != name}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_every_library_module_imports():
    """Every module outside the Streamlit boundary loads (without Streamlit running)."""
    for name in _modules():
        if not name.startswith("lens_core.ui"):
            importlib.import_module(name)
