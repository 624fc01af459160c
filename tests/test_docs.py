"""The documentation's code runs, and every public name is documented.

Every fenced ``python`` block in ``docs/**/*.md`` runs, page by page, in one
namespace per page (later blocks build on earlier ones), in a scratch directory.
A page that needs an optional package says so in a comment,
``<!-- requires: dask.distributed -->``, and is skipped where that is missing.
The Sphinx build itself (warnings as errors) runs in CI (``.ci/run``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import attrs
import pytest

import treatplan
from treatplan._cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{?[\w-]*\}?)(.*)$")
_REQUIRES = re.compile(r"<!--\s*requires:\s*([\w., ]+?)\s*-->")

sys.path.insert(0, str(DOCS / "_ext"))
from treatplan_apidata import documentation  # noqa: E402
from treatplan_fhir_svg import example_bundle, fhir_svg, references  # noqa: E402
from treatplan_lifecycle_svg import LayoutOutOfDate, edges, lifecycle_svg  # noqa: E402
from treatplan_plan_svg import ARROWS, check, plan_svg  # noqa: E402


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Top-level fenced ``python`` blocks: (line number, code)."""
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group(1), match.group(2)
        start = i + 1
        i += 1
        while i < len(lines) and not (
            lines[i].startswith(fence) and lines[i].strip() == fence[0] * len(lines[i].strip())
        ):
            i += 1
        if info == "python":
            blocks.append((start + 1, "\n".join(lines[start:i])))
        i += 1
    return blocks


def test_the_block_extractor_skips_nested_and_other_languages() -> None:
    text = "````{note}\n```python\nnested\n```\n````\n```sh\nls\n```\n```python\nx = 1\n```\n"
    assert python_blocks(text) == [(10, "x = 1")]


def test_there_are_pages_with_code() -> None:
    assert len(PAGES) >= 10
    assert sum(len(python_blocks(p.read_text(encoding="utf-8"))) for p in PAGES) >= 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = page.read_text(encoding="utf-8")
    for needed in _REQUIRES.findall(text):
        for module in needed.replace(",", " ").split():
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, code in python_blocks(text):
        compiled = compile(code, f"{page.relative_to(DOCS)}:{line}", "exec")
        exec(compiled, namespace)  # the docs' own example code
    capsys.readouterr()


PUBLIC_MODULES = (
    "treatplan",
    *(f"treatplan.{name}" for name in sorted(treatplan._SUBMODULES)),
)


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_documented(module: str) -> None:
    names = importlib.import_module(module).__all__
    missing = [name for name in names if not documentation(name, module)[1]]
    assert missing == [], "give these a docstring (or a #: comment for constants)"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_each_public_module_has_its_api_page(module: str) -> None:
    name = module.removeprefix("treatplan").lstrip(".")
    page = DOCS / "api" / f"{name or 'index'}.md"
    marker = f"<!-- treatplan-api: {module} -->" if name else "<!-- treatplan-api -->"
    assert marker in page.read_text(encoding="utf-8")


def test_the_lifecycle_svg_draws_every_phase_and_event() -> None:
    svg = ET.fromstring(lifecycle_svg())
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {p.value for p in treatplan.Phase} <= texts
    labels = " ".join(t for t in texts if t)
    assert [e.value for e in treatplan.Event if e.value not in labels] == []
    arrows = list(svg.iter("{http://www.w3.org/2000/svg}polyline"))
    assert len(arrows) == len(edges()) == treatplan.lifecycle.mermaid().count("-->")


def test_the_lifecycle_svg_refuses_an_arrow_it_has_no_route_for() -> None:
    with pytest.raises(LayoutOutOfDate, match="follow_up -> waitlisted"):
        lifecycle_svg(treatplan.lifecycle.mermaid() + "    follow_up --> waitlisted: rewind\n")


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_the_fhir_diagram_finds_the_references_of_an_export(version: str) -> None:
    found = references(example_bundle(version))
    assert ("CarePlan", "supportingInfo", "EpisodeOfCare") in found
    objective = "Goal (short-term objective)"
    milestone = ("Goal (long-term goal)", "goal-relationship.target", objective)
    assert milestone in found
    to_requests = ("CarePlan", "activity.plannedActivityReference", "ServiceRequest")
    assert (to_requests in found) is (version == "R5")


def test_the_fhir_diagram_draws_every_resource_kind_and_reference() -> None:
    svg = ET.fromstring(fhir_svg())
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    for kind in ("EpisodeOfCare", "CarePlan", "Condition", "ServiceRequest", "Observation"):
        assert kind in texts
    assert "resource-pertainsToGoal" in texts
    pairs = {(source, target) for source, _, target in references(example_bundle())}
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}line"))) == len(pairs)


def test_the_plan_diagram_matches_the_model() -> None:
    assert check() == []
    svg = ET.fromstring(plan_svg())
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"TreatmentPlan", "Goal", "Objective", "Intervention", "Session"} <= texts
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}line"))) == len(ARROWS)


def test_the_plan_diagram_check_notices_a_field_that_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("treatplan_plan_svg.ARROWS", [("Goal", "aims", "Objective", False)])
    assert check() == ["Goal has no field aims"]


def test_the_docs_load_nothing_from_the_network() -> None:
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert "mermaid" not in conf
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|img|link)[^>]+(src|href)=.https?:", text), page


def test_the_pictures_are_small_and_shown_with_the_command_that_makes_them() -> None:
    pictures = sorted((DOCS / "_static").rglob("*.png"))
    assert len(pictures) >= 3
    for picture in pictures:
        assert picture.read_bytes().startswith(b"\x89PNG"), picture
        assert picture.stat().st_size < 200_000, picture
    page = (DOCS / "concepts" / "simulation.md").read_text(encoding="utf-8")
    assert "treatplan simulate --clients 2000 --seed 1 --plots" in page
    for picture in pictures:
        assert f"../_static/sim/{picture.name}" in page, picture


def test_the_simulation_page_quotes_the_run_it_names() -> None:
    """The calibration table and the pictures' alt text are those of the default run, seed 1."""
    from treatplan.sim import DEFAULT_SCENARIO, simulate

    page = (DOCS / "concepts" / "simulation.md").read_text(encoding="utf-8")
    summary = simulate(DEFAULT_SCENARIO, 2000, seed=1).summary
    for name in (
        "dropout",
        "recovery",
        "reliable_improvement",
        "reliable_deterioration",
        "improved_by_session_8",
    ):
        r = summary.rates[name]
        quoted = f"{r.value * 100:.1f}% ({r.low * 100:.1f}-{r.high * 100:.1f})"
        assert quoted in page, name
    assert f"| {summary.figures['mean_sessions_attended']:.1f} |" in page
    (funnel,) = re.findall(r"!\[Bar chart: ([^]]*)\]", page)
    assert re.findall(r"\d[\d,]*(?= )", funnel) == [f"{n:,}" for n in summary.funnel.values()]


SOURCES = [
    "Jongsma",
    "CARF",
    "CTS.03.01.03",
    "42 CFR 456.180",
    "Kroenke",
    "Spitzer",
    "CORE",
    "Miller",
    "Duncan",
    "Mundt",
    "Weathers",
    "4817.0.55.001",
    "Babor",
    "Jacobson",
    "Christensen",
    "Hageman",
    "Kiresuk",
    "Turner-Stokes",
    "Lambert",
    "NICE",
    "NG222",
    "CG113",
    "Howard",
    "Hansen",
    "Swift",
    "Barkham",
    "Stiles",
    "Baldwin",
    "Prochaska",
    "LOINC",
    "HL7 FHIR",
    "NHS Digital",
]


def test_the_references_page_cites_every_source() -> None:
    text = (DOCS / "references.md").read_text(encoding="utf-8")
    assert [s for s in SOURCES if s not in text] == []


# --------------------------------------------------------------------------- the site's build
def test_intersphinx_reads_the_shipped_inventories() -> None:
    # No inventory is downloaded: the build must work offline, with -W.
    namespace: dict[str, Any] = {"__file__": str(DOCS / "conf.py")}
    exec((DOCS / "conf.py").read_text(encoding="utf-8"), namespace)  # the project's own conf
    assert namespace["html_theme"] == "furo"
    mapping = namespace["intersphinx_mapping"]
    assert set(mapping) == {"python", "attrs"}
    for url, inventory in mapping.values():
        assert url.startswith("https://")
        data = Path(inventory).read_bytes()
        assert data.startswith(b"# Sphinx inventory version 2"), inventory


def _docs_extension() -> Any:
    pytest.importorskip("sphinx")  # the docs extra
    import treatplan_docs

    return treatplan_docs


def test_attrs_fields_are_documented_with_their_types() -> None:
    # Every field of an attrs class gets an entry; a `#:` comment above a field is its text.
    entry = _docs_extension()._entry("Goal")
    assert entry[0] == ".. autoclass:: Goal"
    assert "   :undoc-members:" in entry


def _subcommands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def test_the_cli_page_shows_every_subcommand() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in _subcommands():
        assert f"## {command}\n" in text, command
        assert f"```{{command-help}} {command}\n```" in text, command
        assert f"`treatplan {command}" in text, command


def test_command_help_is_the_programs_help() -> None:
    command_help = _docs_extension().command_help
    text = command_help("review")
    assert text.startswith("usage: treatplan review [-h]")
    assert "PLAN" in text
    assert max(len(line) for line in text.splitlines()) <= 88
    assert command_help("").startswith("usage: treatplan [-h] [--version]")


def test_no_file_cites_the_internal_domain_notes() -> None:
    # Sources are cited by their published names and docs/references.md, never by the
    # team's internal notes file.
    needle = "DOMAIN" + ".md"
    skip = {".git", ".venv", ".ci-venv", "_build", "__pycache__", "node_modules"}
    hits = []
    for path in ROOT.rglob("*"):
        if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts):
            try:
                if needle in path.read_text(encoding="utf-8"):
                    hits.append(str(path.relative_to(ROOT)))
            except (UnicodeDecodeError, OSError):
                continue
    assert hits == []


# --------------------------------------------------------------------------- the API reference
def _project_conf() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(DOCS / "conf.py")}
    exec((DOCS / "conf.py").read_text(encoding="utf-8"), namespace)  # the project's own conf
    return namespace


PROBE_PAGE = """\
Probe
=====

.. autoclass:: treatplan.TreatmentPlan
   :no-index:

.. autoclass:: treatplan.ReviewPolicy
   :members:
   :undoc-members:
   :no-index:

.. autoclass:: treatplan.sim.Population
   :no-index:

.. autofunction:: treatplan.evaluate
   :no-index:

.. py:module:: treatplan

.. autofunction:: fire

.. py:module:: treatplan.rules

.. autoclass:: AllOf

.. py:data:: Rule

.. toctree::

   refs
"""

#: References from a submodule's page, as a docstring or page writes them.
PROBE_REFERENCES = """References
==========

.. py:currentmodule:: treatplan.lifecycle

:func:`fire`, :func:`treatplan.lifecycle.fire`, :class:`AllOf`, :class:`datetime`,
:func:`treatplan.import_measures`, :class:`treatplan.NoSuchThing`.
"""


@pytest.fixture(scope="module")
def probe_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A small build with the project's extension and settings: (page text, warnings)."""
    pytest.importorskip("sphinx")
    import io

    from sphinx.application import Sphinx

    conf = _project_conf()
    root = tmp_path_factory.mktemp("probe")
    (root / "index.rst").write_text(PROBE_PAGE, encoding="utf-8")
    (root / "refs.rst").write_text(PROBE_REFERENCES, encoding="utf-8")
    warnings = io.StringIO()
    keys = ("extensions", "intersphinx_mapping", "nitpicky", "nitpick_ignore")
    app = Sphinx(
        str(root),
        None,
        str(root / "_build"),
        str(root / "_doctrees"),
        "text",
        confoverrides={
            **{key: conf[key] for key in keys},
            "autodoc_type_aliases": conf["autodoc_type_aliases"],
            "add_module_names": False,
        },
        status=None,
        warning=warnings,
    )
    app.build()
    built = root / "_build"
    text = (built / "index.txt").read_text(encoding="utf-8")
    references = (built / "refs.txt").read_text(encoding="utf-8")
    return text + references, warnings.getvalue()


def test_signatures_show_what_a_factory_makes_and_aliases_by_name(
    probe_build: tuple[str, str],
) -> None:
    text, _ = probe_build
    flat = " ".join(text.split())
    assert "NOTHING" not in flat
    assert "client_factors: ClientFactors = ClientFactors()" in flat
    assert "discharge_criteria: Rule | None = None" in flat
    assert "cadence: ReviewCadence = ReviewCadence()" in flat
    assert "rules: Iterable[Rule] = ()" in flat
    assert "rules: tuple[Rule, ...]" in flat
    assert "evaluate(rule: Rule, plan: TreatmentPlan" in flat
    assert "GoalsMet |" not in flat
    assert "TypeAliasForwardRef" not in flat
    # A converter that takes anything: the field's own type; a long default: "...".
    assert "readiness: dict[str, float] = ..." in flat


def test_the_build_resolves_public_names_and_catches_names_that_do_not_exist(
    probe_build: tuple[str, str],
) -> None:
    _, warnings = probe_build
    missing = re.findall(r"refs.rst:\d+: WARNING: .* reference target not found: (\S+)", warnings)
    # fire and AllOf (bare, and by a submodule path) resolve to where they are
    # described; datetime to Python's docs. Names that do not exist fail nitpicky.
    assert sorted(missing) == ["treatplan.NoSuchThing", "treatplan.import_measures"]


def test_factory_defaults() -> None:
    factory_default = _docs_extension().factory_default
    assert factory_default(attrs.Factory(list)) == "[]"
    assert factory_default(attrs.Factory(tuple)) == "()"
    assert factory_default(attrs.Factory(treatplan.ClientFactors)) == "ClientFactors()"
    assert factory_default(attrs.Factory(lambda: 3)) == "3"
    assert factory_default(attrs.Factory(lambda: "x" * 50)) == "..."
    assert factory_default(attrs.Factory(lambda self: 3, takes_self=True)) == "..."


def test_type_aliases_are_the_public_unions_and_generics() -> None:
    aliases = _docs_extension().type_aliases()
    assert aliases["Rule"] == "~treatplan.rules.Rule"
    assert aliases["ObjectiveTarget"] == "~treatplan.ObjectiveTarget"
    assert aliases["TextStrategy"] == "~treatplan.strategies.TextStrategy"
    assert "TreatmentPlan" not in aliases


def test_documented_targets() -> None:
    documented_target = _docs_extension().documented_target
    assert documented_target("fire") == "treatplan.fire"
    assert documented_target("treatplan.lifecycle.fire") == "treatplan.fire"
    assert documented_target("AllOf") == "treatplan.rules.AllOf"
    assert documented_target("treatplan.rules.AllOf") is None  # resolves on its own
    assert documented_target("treatplan.import_measures") is None
    assert documented_target("nothing_like_it") is None


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_has_an_entry_in_the_reference(module: str) -> None:
    # A name is described once: on the top-level page when the top level exports it,
    # otherwise on its submodule's page. (Moved 0.1 names once hid submodule entries.)
    extension = _docs_extension()
    source = extension.api_reference(module)
    entries = set(re.findall(r"^\.\. (?:auto\w+|py:data):: (\w+)$", source, re.MULTILINE))
    names = importlib.import_module(module).__all__
    expected = {n for n in names if module == "treatplan" or n not in treatplan.__all__}
    if module == "treatplan":
        expected |= {"MOVED", "MOVED_METHODS"}
    expected |= set(extension.SUBMODULE_RENAMES.get(module, ()))  # sim's INTERNAL
    assert entries == expected
