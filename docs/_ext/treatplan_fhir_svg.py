"""The resources of a FHIR export and the references between them, as a static SVG.

The picture is read from a real export: :func:`treatplan.fhir.to_fhir` of an example
plan. Every ``{"reference": ...}`` inside a resource (extensions named by the
last segment of their URL) becomes an arrow from its resource to the one it
points at, labelled with the element's path; resources are grouped by type
(and Goals by their level). Only the placement of the boxes is chosen here: a
resource kind without a place raises :class:`LayoutOutOfDate`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from treatplan_svg import box_graph

import treatplan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adult-depression-cbt.json"


class LayoutOutOfDate(RuntimeError):
    """The export has a resource kind this layout has no place for."""


#: Resource kind -> centre x, centre y of its box.
PLACES: dict[str, tuple[float, float]] = {
    "EpisodeOfCare": (130, 60),
    "CarePlan": (460, 60),
    "Observation": (870, 60),
    "Condition": (130, 200),
    "ServiceRequest": (820, 200),
    "Goal (long-term goal)": (280, 340),
    "Goal (short-term objective)": (660, 340),
}
WIDTH, HEIGHT = 1000, 380


def example_bundle(version: str = "R5") -> dict[str, Any]:
    """The FHIR export of the example plan ``examples/adult-depression-cbt.json``."""
    plan = treatplan.loads(EXAMPLE.read_text(encoding="utf-8"))
    bundle: dict[str, Any] = treatplan.fhir.to_fhir(plan, version)  # type: ignore[arg-type]
    return bundle


def _kind(resource: Mapping[str, Any]) -> str:
    kind = str(resource["resourceType"])
    if kind == "Goal":
        level = resource["category"][0]["coding"][0]["code"]
        return f"Goal ({level.replace('-term-', '-term ')})"
    return kind


def _references(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """``(element path, reference)`` of every reference under ``value``."""
    if isinstance(value, Mapping):
        if isinstance(value.get("reference"), str):
            yield ".".join(path), value["reference"]
            return
        is_extension = isinstance(value.get("url"), str)
        if is_extension and ("extension" in value or "valueReference" in value):
            name = str(value.get("url", "")).rsplit("/", 1)[-1]
            for key, item in value.items():
                if key != "url":
                    step = () if key in ("extension", "valueReference") else (key,)
                    yield from _references(item, (*path, name, *step))
            return
        for key, item in value.items():
            step = () if key == "extension" else (key,)
            yield from _references(item, (*path, *step))
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, path)


def references(bundle: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """``(source kind, element path, target kind)`` of every reference in ``bundle``."""
    kinds = {e["fullUrl"]: _kind(e["resource"]) for e in bundle["entry"]}
    found: set[tuple[str, str, str]] = set()
    for entry in bundle["entry"]:
        for path, ref in _references(entry["resource"]):
            if ref in kinds:
                found.add((_kind(entry["resource"]), path, kinds[ref]))
    return found


def fhir_svg(bundle: Mapping[str, Any] | None = None) -> str:
    """The resource diagram of ``bundle`` (default: the example plan's R5 export)."""
    bundle = example_bundle() if bundle is None else bundle
    kinds = {_kind(e["resource"]) for e in bundle["entry"]}
    unplaced = sorted(kinds - PLACES.keys())
    if unplaced:
        raise LayoutOutOfDate(
            f"give these resource kinds a place in docs/_ext/treatplan_fhir_svg.py: {unplaced}"
        )
    labels: dict[tuple[str, str], list[str]] = {}
    for source, path, target in sorted(references(bundle)):
        labels.setdefault((source, target), []).append(path)
    arrows = [(source, paths, target, False) for (source, target), paths in labels.items()]
    return box_graph(
        "fhir",
        "The resources of a treatplan FHIR R5 Bundle and the references between them",
        {kind: PLACES[kind] for kind in sorted(kinds)},
        arrows,
        (WIDTH, HEIGHT),
    )
