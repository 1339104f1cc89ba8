"""The storage package's shape: no module over MAX_LINES lines, no import cycle, no import of
the packages above it. Migrations are left out (each revision is what it had to be)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parent.parent / "storage"
MAX_LINES = 400
# Modules still over the limit, each split on another branch; the test fails once one of them
# is under the limit, so that its entry is removed with the split.
PENDING: dict[str, str] = {}
ABOVE = ("crawler", "newsmon", "scheduler")


def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module of the package at ``root``, migrations aside."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        if "migrations" in rel.parts:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules that module ``name`` imports when it runs, anywhere in its code (imports
    under ``if TYPE_CHECKING:`` aside), as dotted names; ``from p import x`` counts as ``p.x``
    when ``p.x`` is a module of ``known``, else as ``p``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    skipped: set[int] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    mods = modules(root)
    known = set(mods)
    return {name: imported(name, path, known) & known - {name} for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated at the end),
    or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def long_modules(root: Path, limit: int) -> dict[str, int]:
    """Path (from the package's parent) -> line count of the modules over ``limit`` lines."""
    counts = {path.relative_to(root.parent).as_posix():
              len(path.read_bytes().splitlines())
              for path in modules(root).values()}
    return {p: n for p, n in counts.items() if n > limit}


# -- the checks, on storage/ ------------------------------------------------------------------


def test_no_storage_module_is_over_the_limit() -> None:
    over = long_modules(STORAGE, MAX_LINES)
    assert {p: n for p, n in over.items() if p not in PENDING} == {}
    assert sorted(set(PENDING) - set(over)) == [], "split: remove it from PENDING"


def test_the_storage_package_has_no_import_cycle() -> None:
    graph = import_graph(STORAGE)
    assert len(graph) > 20  # every module was read
    assert "storage.write_sqlite" in graph["storage.store"]  # imported inside a function
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_storage_imports_no_package_above_it() -> None:
    mods = modules(STORAGE)
    wrong = {name: sorted(m for m in imported(name, path, set(mods))
                          if m.split(".")[0] in ABOVE)
             for name, path in mods.items()}
    assert {n: m for n, m in wrong.items() if m} == {}


# -- the checks find what they look for -------------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "pkg"
    for rel, source in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(source, encoding="utf-8")
    return pkg


@pytest.mark.parametrize(("files", "cycle"), [
    ({"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "import pkg.a\n"},
     ["pkg.a", "pkg.b", "pkg.a"]),
    # An import at the bottom of a module, as models.py once imported scheduler_models.
    ({"__init__.py": "", "models.py": "X = 1\nfrom pkg import extra  # noqa\n",
      "extra.py": "from pkg.models import X\n"},
     ["pkg.extra", "pkg.models", "pkg.extra"]),
    # Through the package: __init__ imports a module that imports a name of the package.
    ({"__init__.py": "from pkg.store import Store\n", "store.py": "from pkg.c import f\n",
      "c.py": "from pkg import Store\n"},
     ["pkg", "pkg.store", "pkg.c", "pkg"]),
    ({"__init__.py": "", "a.py": "from . import b\n", "b.py": "def f():\n    from .a import g\n"},
     ["pkg.a", "pkg.b", "pkg.a"]),
])
def test_a_cycle_is_found(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    assert find_cycle(import_graph(_package(tmp_path, files))) == cycle


def test_no_cycle_without_one(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {
        "__init__.py": "from pkg.store import Store\n",
        "store.py": "from pkg import base\nfrom pkg.write import W\n",
        "write.py": "from pkg.base import B\n", "base.py": "B = 1\n",
        "hints.py": ("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from pkg import hints2\n"),
        "hints2.py": "from pkg import hints\n",
        "migrations/env.py": "from pkg import migrations\n"})
    graph = import_graph(pkg)
    assert graph["pkg.store"] == {"pkg.base", "pkg.write"}
    assert "pkg.migrations.env" not in graph
    assert find_cycle(graph) is None


def test_a_long_module_is_found(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {"__init__.py": "", "short.py": "x = 1\n" * MAX_LINES,
                              "long.py": "x = 1\n" * (MAX_LINES + 1),
                              "migrations/versions/0001_big.py": "x = 1\n" * 1000})
    assert long_modules(pkg, MAX_LINES) == {"pkg/long.py": MAX_LINES + 1}
