"""The expression package stays light: the CLI imports it before it needs any data."""

from __future__ import annotations

import ast
from pathlib import Path

import mfq.query.expr

HEAVY = {"pandas", "pyarrow", "numpy", "dask", "click", "rich"}


def test_expression_modules_import_no_data_or_ui_libraries() -> None:
    package = Path(mfq.query.expr.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & HEAVY, f"{module.name} imports {sorted(imported & HEAVY)}"
