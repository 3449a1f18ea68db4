"""The layers of ``src/mfq`` point one way (docs/architecture.md).

Every import in every module is read with ``ast``: at module level, inside functions and
under ``TYPE_CHECKING`` alike, since a deferred import is still a dependency (it may save
start-up time, but only downward). An import is allowed when the imported module's layer
is one the importing layer may use; the test fails on anything else, and on a cycle
between packages (a side package such as ``render`` could otherwise close one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "mfq"

#: The main chain, lowest first: each layer may import the ones before it.
CHAIN = ("model", "ingest", "store", "query", "analysis", "report", "api", "cli")
#: The foundation every layer may import: errors, settings, the injected environment.
FOUNDATION = "foundation"
#: Where each top-level module or package of ``mfq`` sits (packages are named by their
#: folder; the rest are modules of ``src/mfq`` itself).
LAYER_OF = {
    **{name: name for name in CHAIN},
    "errors": FOUNDATION,
    "settings": FOUNDATION,
    "env": FOUNDATION,
    "stopping": FOUNDATION,
    # Output formats, beside report: only report, api and cli use them.
    "render": "render",
    # The synthetic export generator behind ``mfq demo``: only the CLI runs it.
    "demo": "demo",
    # ``mfq.toml``: read by the CLI only (it parses values with the query layer).
    "project": "cli",
    # The package root re-exports the public API; ``python -m mfq`` is the CLI.
    "__init__": "api",
    "__main__": "cli",
}


def _below(layer: str) -> set[str]:
    return set(CHAIN[: CHAIN.index(layer)]) | {FOUNDATION}


#: The layers each layer may import (its own always, within the package's own rules).
MAY_IMPORT: dict[str, set[str]] = {
    FOUNDATION: set(),
    "model": _below("model"),
    "ingest": _below("ingest"),
    "store": _below("store"),
    "query": _below("query"),
    "analysis": _below("analysis"),
    "report": _below("report") | {"render"},
    "api": _below("api") | {"render"},
    "cli": _below("cli") | {"render", "demo"},
    "render": {FOUNDATION, "model"},
    "demo": {FOUNDATION, "model"},
}


@dataclass(frozen=True)
class Import:
    """One ``import`` of an ``mfq`` module, where it is written."""

    source: Path
    line: int
    importer: str  # the importing module's dotted name
    imported: str  # the imported module's dotted name (or the package a name is taken from)

    def describe(self) -> str:
        where = f"{self.source.relative_to(SOURCE.parent)}:{self.line}"
        return (
            f"{where}: {layer(self.importer)} ({self.importer}) imports "
            f"{layer(self.imported)} ({self.imported})"
        )


def module_name(path: Path, root: Path) -> str:
    """``src/mfq/query/build.py`` -> ``mfq.query.build`` (a package is its folder)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level(name: str) -> str:
    """The top-level module or package of ``mfq`` a dotted name is in."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(name: str) -> str:
    return LAYER_OF[top_level(name)]


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import of an ``mfq`` module in one file, wherever it is written."""
    importer = module_name(path, root)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "mfq" or alias.name.startswith("mfq."):
                    yield Import(path, node.lineno, importer, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base != "mfq" and not base.startswith("mfq."):
                continue
            if base == "mfq":  # ``from mfq import errors``: the module named
                for alias in node.names:
                    target = f"mfq.{alias.name}"
                    known = top_level(target) in LAYER_OF
                    yield Import(path, node.lineno, importer, target if known else "mfq")
            else:
                yield Import(path, node.lineno, importer, base)


def all_imports(root: Path = SOURCE) -> list[Import]:
    return [found for path in sorted(root.rglob("*.py")) for found in imports_of(path, root)]


def upward_imports(root: Path = SOURCE) -> list[Import]:
    """Imports of a layer the importing layer may not use."""
    wrong = []
    for found in all_imports(root):
        mine, theirs = layer(found.importer), layer(found.imported)
        if theirs != mine and theirs not in MAY_IMPORT[mine]:
            wrong.append(found)
    return wrong


def package_cycles(root: Path = SOURCE) -> list[list[str]]:
    """Cycles in the graph of top-level packages (each found once, from its least name)."""
    edges: dict[str, set[str]] = {}
    for found in all_imports(root):
        mine, theirs = top_level(found.importer), top_level(found.imported)
        if mine != theirs:
            edges.setdefault(mine, set()).add(theirs)
    cycles: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                cycles.append([*path, start])
            elif nxt > start and nxt not in path:
                walk(start, nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, start, [start])
    return cycles


def test_every_top_level_module_has_a_layer() -> None:
    names = {
        path.stem if path.is_file() else path.name
        for path in SOURCE.iterdir()
        if (path.suffix == ".py") or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert names - set(LAYER_OF) == set()


def test_the_walk_sees_deferred_and_type_checking_imports() -> None:
    # The layer rule would mean nothing if these were missed.
    found = {(f.importer, f.imported) for f in all_imports()}
    assert ("mfq", "mfq.api") in found  # inside __getattr__ and under TYPE_CHECKING
    assert ("mfq.query.engines", "mfq.query.engines.local") in found  # inside a method


def test_no_layer_imports_upward() -> None:
    assert [found.describe() for found in upward_imports()] == []


def test_no_cycle_between_packages() -> None:
    assert package_cycles() == []


#: Data libraries the command line never touches itself: it parses options, calls one
#: library function and hands the result to one renderer (the guide's "no pandas in the
#: CLI"; pyarrow and numpy for the same reason).
DATA_LIBRARIES = ("pandas", "pyarrow", "numpy")


def data_library_imports(paths: list[Path], root: Path) -> list[str]:
    """``file:line library`` for every import of a data library in ``paths``."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] in DATA_LIBRARIES:
                    found.append(f"{path.relative_to(root).as_posix()}:{node.lineno} {name}")
    return found


def test_the_cli_imports_no_data_library() -> None:
    paths = [*sorted((SOURCE / "cli").rglob("*.py")), SOURCE / "__main__.py"]
    assert len(paths) > 10
    assert data_library_imports(paths, SOURCE) == []


def test_the_data_library_walk_sees_deferred_imports(tmp_path: Path) -> None:
    package = tmp_path / "cli"
    package.mkdir()
    (package / "one.py").write_text("def f():\n    import pyarrow.compute as pc\n")
    (package / "two.py").write_text("from pandas import DataFrame\nfrom . import numpy\n")
    paths = sorted(package.glob("*.py"))
    assert data_library_imports(paths, tmp_path) == [
        "cli/one.py:2 pyarrow.compute",
        "cli/two.py:1 pandas",
    ]
