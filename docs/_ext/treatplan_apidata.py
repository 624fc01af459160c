"""Find the documentation of treatplan's public names (no Sphinx needed).

Classes and functions carry docstrings. Constants and type aliases cannot, so
they are documented the Sphinx way: a ``#:`` comment right above the assignment
(or a string right after it) in the module that defines them. This module finds
those, for the API reference page and for ``tests/test_docs.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from functools import cache
from pathlib import Path
from typing import Any

import treatplan

PACKAGE_DIR = Path(treatplan.__file__).resolve().parent


@cache
def attribute_docs() -> dict[tuple[str, str], str]:
    """``(module, name) -> doc`` for every documented module-level assignment in treatplan."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module = "treatplan." + ".".join(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        for index, node in enumerate(tree.body):
            names = _assigned_names(node)
            if not names:
                continue
            doc = _comment_above(lines, node.lineno - 1)
            following = tree.body[index + 1] if index + 1 < len(tree.body) else None
            if (
                not doc
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                doc = inspect.cleandoc(following.value.value)
            if doc:
                for name in names:
                    found[module, name] = doc
    return found


def _assigned_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _comment_above(lines: list[str], line_index: int) -> str:
    comments: list[str] = []
    i = line_index - 1
    while i >= 0 and lines[i].strip().startswith("#:"):
        comments.append(lines[i].strip()[2:].strip())
        i -= 1
    return "\n".join(reversed(comments)).strip()


def is_documented_object(obj: Any) -> bool:
    """Classes, functions and modules document themselves (their own docstring)."""
    return inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)


def own_docstring(obj: Any) -> str | None:
    """The object's own docstring (not one inherited from a base class)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def documentation(name: str, package: str = "treatplan") -> tuple[str, str | None]:
    """``(defining module, doc)`` of public name ``name`` of ``package``."""
    obj = getattr(importlib.import_module(package), name)
    if is_documented_object(obj):
        # Where the package imports it from: a class's __module__ may be the public
        # module (the errors say ``treatplan``) rather than the one defining it.
        defining = defining_modules(package).get(name, (obj.__module__, name))[0]
        return defining, own_docstring(obj)
    module, original = defining_modules(package).get(name, (package, name))
    return module, attribute_docs().get((module, original))


@cache
def defining_modules(package: str = "treatplan") -> dict[str, tuple[str, str]]:
    """Public name -> (the module ``package`` imports it from, its name there)."""
    init = importlib.import_module(package).__file__
    if init is None:
        return {}
    tree = ast.parse(Path(init).read_text(encoding="utf-8"))
    out: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            parent = package if init.endswith("__init__.py") else package.rpartition(".")[0]
            for alias in node.names:
                out[alias.asname or alias.name] = (f"{parent}.{node.module}", alias.name)
    return out
