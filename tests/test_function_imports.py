"""Imports sit at the top of their module, where the layer contract sees them.

An import inside a function hides a dependency from ``lint-imports`` and is how an
import loop gets dodged instead of fixed. Three kinds are allowed: optional extras
(loaded only by the feature that needs them), the command line's subcommands (each
loads only what it runs), and the package's lazy top level (``treatplan.__getattr__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import treatplan

SRC = Path(treatplan.__file__).resolve().parent

#: Packages of the optional extras (pyproject.toml), imported where they are used.
OPTIONAL = {"dask", "distributed", "hypothesis", "matplotlib", "numpy", "pandas", "polars"}
OPTIONAL |= {"pyarrow", "fhir", "jsonschema"}


def _allowed(path: Path, node: ast.Import | ast.ImportFrom) -> bool:
    relative = path.relative_to(SRC)
    # The command line (and its entry point, which loads it under a Ctrl-C guard).
    if relative.name.startswith("_cli") or relative in (Path("__init__.py"), Path("__main__.py")):
        return True
    if isinstance(node, ast.ImportFrom):
        modules = [node.module or ""] if node.level == 0 else []
    else:
        modules = [alias.name for alias in node.names]
    return bool(modules) and all(m.split(".")[0] in OPTIONAL for m in modules)


def _function_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _allowed(path, node):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_no_function_level_imports_outside_extras_and_the_cli() -> None:
    assert _function_imports() == []


def test_the_check_sees_a_function_level_import() -> None:
    # The walk finds imports nested in functions (the check above could not fail otherwise).
    tree = ast.parse("def f():\n    from ._model import Goal\n")
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert nodes
    assert not _allowed(SRC / "_review.py", nodes[0])
    assert _allowed(SRC / "_cli_core.py", nodes[0])
    optional = ast.parse("def f():\n    import matplotlib.pyplot\n").body[0]
    assert isinstance(optional, ast.FunctionDef)
    node = optional.body[0]
    assert isinstance(node, ast.Import)
    assert _allowed(SRC / "sim" / "_sweep.py", node)
