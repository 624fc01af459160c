"""Sphinx extension: pages generated from the installed treatplan package.

- ``lifecycle-diagram``: the state diagram of :data:`treatplan.lifecycle.TRANSITIONS` (from
  :func:`treatplan.lifecycle.mermaid`), drawn at build time as an inline SVG so it cannot
  drift and needs no JavaScript or network to show (``treatplan_lifecycle_svg``).
- ``fhir-diagram``: the resources of a FHIR R5 export of ``examples/`` and the
  references between them, read from :func:`treatplan.fhir.to_fhir` (``treatplan_fhir_svg``).
- ``plan-diagram``: the parts of a plan and the fields that hold or name each other,
  checked against the model at build time (``treatplan_plan_svg``).
- ``transition-table``: the same table as a reference table (events, phases, guards).
- the API reference: each page of ``api/`` holds a marker that is replaced, when
  the page is read, by the reference of one public module (every name in its
  ``__all__``); the top level is grouped by implementation module.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import re
import types
import typing
from enum import Enum
from functools import cache
from typing import Any

import attrs
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from treatplan_apidata import defining_modules, documentation
from treatplan_fhir_svg import fhir_svg
from treatplan_lifecycle_svg import lifecycle_svg
from treatplan_plan_svg import plan_svg

import treatplan

#: Replaced by the reference of the named module (default ``treatplan``) when read.
API_MARKER = re.compile(r"<!-- treatplan-api(?:: ([\w.]+))? -->")

#: Top-level names outside ``__all__`` that the reference documents: the tables of
#: names and methods renamed before 1.0.
RENAMES = ("MOVED", "MOVED_METHODS")
#: The same for the public submodules: the table of 0.1 names made internal.
SUBMODULE_RENAMES = {"treatplan.sim": ("INTERNAL",)}

#: Section titles of the API reference, by implementation module, in reading order.
SECTIONS: dict[str, str] = {
    "treatplan._model": "Plan model",
    "treatplan._lifecycle": "Lifecycle",
    "treatplan._rules": "Ending rules",
    "treatplan._instruments": "Instruments",
    "treatplan._scoring": "Scoring",
    "treatplan._change": "Change",
    "treatplan._nhstt": "NHS Talking Therapies outcomes",
    "treatplan._gas": "Goal Attainment Scaling",
    "treatplan._monitoring": "Monitoring",
    "treatplan._alerts": "Alerts",
    "treatplan._review": "Reviews",
    "treatplan._stepped": "Stepped care",
    "treatplan._json": "JSON",
    "treatplan._schema": "JSON Schema",
    "treatplan._migrations": "Schema evolution",
    "treatplan._fhir": "FHIR",
    "treatplan._fhir_import": "FHIR",
    "treatplan._fhir_plan": "FHIR",
    "treatplan._summary": "Plain-text summary",
    "treatplan._errors": "Errors",
    "treatplan": "Package",
}


class LifecycleDiagram(Directive):
    """The lifecycle state diagram, generated from the transition table.

    HTML gets the inline SVG; other builders get the Mermaid source as a code block.
    """

    has_content = False

    def run(self) -> list[nodes.Node]:
        figure = nodes.container(classes=["treatplan-lifecycle"])
        figure += nodes.raw("", lifecycle_svg(), format="html")
        source = treatplan.lifecycle.mermaid()
        only = addnodes.only(expr="not html")
        only += nodes.literal_block(source, source, language="text")
        figure += only
        return [figure]


class FhirDiagram(Directive):
    """The resources of the example plan's FHIR R5 export and their references (inline SVG)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        figure = nodes.container(classes=["treatplan-fhir"])
        figure += nodes.raw("", fhir_svg(), format="html")
        return [figure]


class PlanDiagram(Directive):
    """The parts of a treatment plan and how they refer to each other (inline SVG)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        figure = nodes.container(classes=["treatplan-plan"])
        figure += nodes.raw("", plan_svg(), format="html")
        return [figure]


def command_help(command: str) -> str:
    """``treatplan COMMAND --help`` as the installed package prints it, 88 columns wide."""
    from treatplan._cli import main

    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([command, "--help"] if command else ["--help"])
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue().rstrip() + "\n"


class CommandHelp(Directive):
    """The ``--help`` text of one sub-command (no argument: of ``treatplan`` itself)."""

    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        text = command_help(self.arguments[0] if self.arguments else "")
        return [nodes.literal_block(text, text, language="text")]


class TransitionTable(Directive):
    """Every row of :data:`treatplan.lifecycle.TRANSITIONS` as a table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        order = list(treatplan.Phase)
        rows: list[list[list[str]]] = []
        for spec in treatplan.lifecycle.TRANSITIONS.values():
            sources = [p.value for p in sorted(spec.sources, key=order.index)]
            guards = [g.__name__.strip("_").replace("_", " ") for g in spec.guards]
            rows.append(
                [
                    [spec.event.value],
                    sources or ["(opens a plan)"],
                    [spec.target.value],
                    [spec.outcome.value] if spec.outcome else [],
                    ["; ".join(guards)] if guards else [],
                ]
            )
        headers = ["event", "from", "to", "outcome", "guards"]
        return [_table(headers, rows, widths=[18, 30, 12, 14, 26], code_columns={0, 1, 2, 3})]


def _table(
    headers: list[str], rows: list[list[list[str]]], widths: list[int], code_columns: set[int]
) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row([[h] for h in headers], code=set())
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells, code=code_columns)
    return table


def _row(cells: list[list[str]], code: set[int]) -> nodes.row:
    row = nodes.row()
    for index, parts in enumerate(cells):
        paragraph = nodes.paragraph()
        for n, part in enumerate(parts):
            if n:
                paragraph += nodes.Text(", ")
            paragraph += nodes.literal(text=part) if index in code else nodes.Text(part)
        entry = nodes.entry()
        entry += paragraph
        row += entry
    return row


def api_reference(package: str = "treatplan") -> str:
    """MyST source documenting every name in ``package.__all__``.

    The top level is grouped by implementation module (:data:`SECTIONS`); a public
    submodule is one group, introduced by the first paragraph of its docstring.
    """
    module = importlib.import_module(package)
    names = list(getattr(module, "__all__", ()))
    out: list[str] = []
    if package != "treatplan":
        summary = (module.__doc__ or "").strip().split("\n\n")[0]
        out += ["```{eval-rst}", f".. py:module:: {package}", "", summary, ""]
        # A name the top level also exports is described there (one target per name).
        # (Only a name in the top level's ``__all__``: a moved 0.1 name still resolves at
        # the top level, with a warning, but is documented in its new module.)
        shared = [
            n
            for n in names
            if n in treatplan.__all__ and getattr(treatplan, n) is getattr(module, n)
        ]
        if shared:
            links = ", ".join(f":py:obj:`~treatplan.{n}`" for n in shared)
            out += [f"Also here, described with the top level: {links}.", ""]
        for name in [*names, *SUBMODULE_RENAMES.get(package, ())]:
            if name not in shared:
                out += _entry(name, package)
        out += ["```", ""]
        return "\n".join(out)
    groups: dict[str, list[str]] = {}
    # The renames are documented beside __version__, though star-imports leave them out.
    for name in [*names, *RENAMES]:
        defining, _ = documentation(name, package)
        groups.setdefault(defining, []).append(name)
    order = list(SECTIONS)
    # The first group declares the module (the target of :mod:`treatplan`).
    directive = "py:module"
    for defining in sorted(groups, key=lambda m: (order.index(m) if m in order else 99, m)):
        title = SECTIONS.get(defining) or defining.removeprefix("treatplan.").strip("_").title()
        out += [f"## {title}", "", "```{eval-rst}", f".. {directive}:: {package}", ""]
        directive = "currentmodule"
        for name in groups[defining]:
            out += _entry(name, package)
        out += ["```", ""]
    return "\n".join(out)


def _entry(name: str, package: str = "treatplan") -> list[str]:
    obj = getattr(importlib.import_module(package), name)
    flags: list[str] = []
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return [f".. autoexception:: {name}", "   :members:", *flags, ""]
    if inspect.isclass(obj) and (issubclass(obj, Enum) or attrs.has(obj)):
        # Every member of an enumeration, and every field of an attrs class, with its
        # type; a field documented by a ``#:`` comment above it shows that text too.
        return [f".. autoclass:: {name}", "   :members:", "   :undoc-members:", *flags, ""]
    if inspect.isclass(obj):
        return [f".. autoclass:: {name}", "   :members:", *flags, ""]
    if inspect.isroutine(obj):
        return [f".. autofunction:: {name}", *flags, ""]
    _, doc = documentation(name, package)
    body = ["   " + line if line else "" for line in (doc or "").splitlines()]
    return [f".. py:data:: {name}", "", *body, ""]


def type_aliases() -> dict[str, str]:
    """Every public type alias (``Rule``, ``ObjectiveTarget``, ...) -> where it is documented.

    Given to autodoc (``autodoc_type_aliases``), so that a signature names the alias
    instead of spelling out its union. The ``~`` shows the short name, linked.
    """
    found: dict[str, str] = {}
    for package in ["treatplan", *sorted(f"treatplan.{m}" for m in treatplan._SUBMODULES)]:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            alias = isinstance(value, types.UnionType) or typing.get_origin(value) is not None
            if alias and name not in found:
                found[name] = f"~{package}.{name}"
    return found


# Autodoc leaves an alias nested inside another type (``Iterable[Rule]``) as the repr
# of its placeholder; the alias's own name is what a reader should see.
_NESTED_ALIAS = re.compile(r"TypeAliasForwardRef\('([\w.~]+)'\)")


def factory_default(default: Any) -> str:
    """How a signature shows a default made by an ``attrs.Factory``: the value it makes
    when that is short (``()``, ``ClientFactors()``), else ``...`` (the docstring says)."""
    make = default.factory
    if default.takes_self:
        return "..."
    if inspect.isclass(make) and attrs.has(make):
        return f"{make.__name__}()"
    text = repr(make())
    return text if len(text) <= 40 else "..."


def _signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str,
) -> tuple[str | None, str]:
    """Signatures as a reader wants them: aliases by name; for an attrs class, a
    factory default shown as what it makes (attrs' ``__init__`` says ``NOTHING``), and
    a field whose converter takes anything shown with the field's own type."""
    return_annotation = _NESTED_ALIAS.sub(r"\1", return_annotation or "")
    if signature is None:
        return None, return_annotation
    signature = _NESTED_ALIAS.sub(r"\1", signature)
    if inspect.isclass(obj) and attrs.has(obj):
        fields = {f.alias: f for f in attrs.fields(obj) if f.init}
        for parameter in inspect.signature(obj).parameters.values():
            field = fields[parameter.name]
            if parameter.annotation in ("Any", Any) and field.type not in (None, "Any", Any):
                shown = field.type if isinstance(field.type, str) else repr(field.type)
                signature = re.sub(
                    rf"\b{parameter.name}: (?:~?typing\.)?Any(?=[,)]| =)",
                    f"{parameter.name}: {shown}",
                    signature,
                    count=1,
                )
            if parameter.default is attrs.NOTHING:
                shown = factory_default(field.default)
                start = signature.index(f"{parameter.name}: ")
                at = signature.index("= NOTHING", start)
                signature = signature[:at] + "= " + shown + signature[at + len("= NOTHING") :]
    return signature, return_annotation


#: Names that annotations and docstrings write in a short or private form -> the
#: documented name (in the shipped Python inventory).
ELSEWHERE = {
    "date": "datetime.date",
    "datetime": "datetime.datetime",
    "concurrent.futures._base.Executor": "concurrent.futures.Executor",
}


@cache
def documented_names() -> tuple[dict[str, str], dict[str, str]]:
    """Where each public name is documented: ``(top level, submodules)``, each
    name -> its full documented path. A name the top level exports is documented
    there only (see :func:`api_reference`); a submodule name exported by more than one
    submodule has no single place and is left out of the second map."""
    top = {name: f"treatplan.{name}" for name in treatplan.__all__}
    elsewhere: dict[str, str] = {}
    repeated: set[str] = set()
    for sub in sorted(treatplan._SUBMODULES):
        module = importlib.import_module(f"treatplan.{sub}")
        for name in module.__all__:
            if name in top:
                continue
            if name in elsewhere:
                repeated.add(name)
            elsewhere[name] = f"treatplan.{sub}.{name}"
    return top, {n: path for n, path in elsewhere.items() if n not in repeated}


def documented_target(target: str) -> str | None:
    """The documented path of a Python reference that names a public treatplan object
    by a path where it is not described: a bare name (``fire``, ``AllOf``), or a
    submodule path of a name the top level describes (``treatplan.lifecycle.fire``)."""
    top, elsewhere = documented_names()
    module, _, name = target.rpartition(".")
    if not module:
        return top.get(name) or elsewhere.get(name)
    if name in top and module.removeprefix("treatplan.") in treatplan._SUBMODULES:
        exported = importlib.import_module(module)
        if name in exported.__all__:
            return top[name]
    return None


def _follow_imported(app: Sphinx, modname: str, fullname: str) -> str | None:
    # [source] links: a public class whose __module__ is its public module (the errors)
    # has its source in the module the package imports it from.
    if not modname.startswith("treatplan"):
        return None
    name = fullname.split(".")[0]
    found = defining_modules(modname).get(name)
    return found[0] if found else None


def _missing_reference(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    # Runs before intersphinx (priority 400 < 500): a stdlib or hypothesis name is
    # rewritten for intersphinx to find; a treatplan name is resolved to its entry.
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target in ELSEWHERE:
        node["reftarget"] = ELSEWHERE[target]
        return None
    documented = documented_target(target)
    if documented is None:
        return None
    domain = env.get_domain("py")
    found: nodes.Element | None = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], documented, node, contnode
    )
    return found


# "|RC|" in a docstring means an absolute value, not an RST substitution reference.
_ABSOLUTE = re.compile(r"(?<![\\`\w|])\|(\w[^|`\n]*?\w|\w)\|(?![\w|])")


def _escape_bars(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    lines[:] = [_ABSOLUTE.sub(r"\\|\1\\|", line) for line in lines]


def _inject_api(app: Sphinx, docname: str, source: list[str]) -> None:
    source[0] = API_MARKER.sub(lambda m: api_reference(m.group(1) or "treatplan"), source[0])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("lifecycle-diagram", LifecycleDiagram)
    app.add_directive("transition-table", TransitionTable)
    app.add_directive("command-help", CommandHelp)
    app.add_directive("fhir-diagram", FhirDiagram)
    app.add_directive("plan-diagram", PlanDiagram)
    app.connect("source-read", _inject_api)
    app.connect("autodoc-process-docstring", _escape_bars)
    app.connect("autodoc-process-signature", _signature)
    app.connect("missing-reference", _missing_reference, priority=400)
    app.connect("viewcode-follow-imported", _follow_imported)
    return {"version": treatplan.__version__, "parallel_read_safe": True}
