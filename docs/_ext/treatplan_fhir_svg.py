"""The resources of a FHIR export and the references between them, as a static SVG.

The picture is read from a real export: :func:`treatplan.to_fhir` of an example
plan. Every ``{"reference": ...}`` inside a resource (extensions named by the
last segment of their URL) becomes an arrow from its resource to the one it
points at, labelled with the element's path; resources are grouped by type
(and Goals by their level). Only the placement of the boxes is chosen here: a
resource kind without a place raises :class:`LayoutOutOfDate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from html import escape
from pathlib import Path
from typing import Any

import treatplan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adult-depression-cbt.json"


class LayoutOutOfDate(RuntimeError):
    """The export has a resource kind this layout has no place for."""


#: Resource kind -> centre x, centre y (boxes are BOX_W x BOX_H).
PLACES: dict[str, tuple[float, float]] = {
    "EpisodeOfCare": (130, 60),
    "CarePlan": (460, 60),
    "Observation": (870, 60),
    "Condition": (130, 200),
    "ServiceRequest": (820, 200),
    "Goal (long-term goal)": (280, 340),
    "Goal (short-term objective)": (660, 340),
}
BOX_W, BOX_H = 200.0, 44.0
WIDTH, HEIGHT = 1000, 380


def example_bundle(version: str = "R5") -> dict[str, Any]:
    """The FHIR export of the example plan ``examples/adult-depression-cbt.json``."""
    plan = treatplan.loads(EXAMPLE.read_text(encoding="utf-8"))
    bundle: dict[str, Any] = treatplan.to_fhir(plan, version)  # type: ignore[arg-type]
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


def _clip(cx: float, cy: float, dx: float, dy: float) -> tuple[float, float]:
    """Where the ray from the centre of a box in direction (dx, dy) leaves the box."""
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else math.inf, (BOX_H / 2) / abs(dy) if dy else math.inf
    )
    return cx + dx * scale, cy + dy * scale


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
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" style="max-width:100%;height:auto" role="img" '
        'class="treatplan-fhir" aria-labelledby="fhir-title">',
        '<title id="fhir-title">The resources of a treatplan FHIR R5 Bundle and the '
        "references between them</title>",
        "<style>"
        ".res{fill:#eef3fb;stroke:#3b5b92;stroke-width:1.5}"
        ".name{font:600 14px sans-serif;fill:#1b2a41}"
        ".label{font:12px sans-serif;fill:#333;paint-order:stroke;stroke:#fff;"
        "stroke-width:4px;stroke-linejoin:round}"
        ".arrow{fill:none;stroke:#555;stroke-width:1.3}"
        "</style>",
        "<defs>"
        '<marker id="fhir-head" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        "</defs>",
    ]
    texts = []
    for (source, target), paths in sorted(labels.items()):
        (sx, sy), (tx, ty) = PLACES[source], PLACES[target]
        x1, y1 = _clip(sx, sy, tx - sx, ty - sy)
        x2, y2 = _clip(tx, ty, sx - tx, sy - ty)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="arrow" '
            f'marker-end="url(#fhir-head)"><title>{escape(source)} to {escape(target)}'
            "</title></line>"
        )
        for n, path in enumerate(paths):
            y = (y1 + y2) / 2 + 4 + 15 * (n - (len(paths) - 1) / 2)
            texts.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{y:.1f}" class="label" '
                f'text-anchor="middle">{escape(path)}</text>'
            )
    parts += texts
    for kind in sorted(kinds):
        cx, cy = PLACES[kind]
        parts.append(
            f'<rect x="{cx - BOX_W / 2:g}" y="{cy - BOX_H / 2:g}" width="{BOX_W:g}" '
            f'height="{BOX_H:g}" rx="6" class="res"/>'
            f'<text x="{cx:g}" y="{cy + 5:g}" class="name" text-anchor="middle">'
            f"{escape(kind)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
