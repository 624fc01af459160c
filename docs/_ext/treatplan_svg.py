"""Boxes and straight labelled arrows as a static SVG (no JavaScript, no network).

Shared by the documentation's generated pictures: the caller places the boxes;
each arrow runs between the borders of its two boxes, with its labels stacked at
the middle (above a horizontal arrow) on a white halo so that they stay legible
where lines cross.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

#: An arrow: source box, labels, target box, dashed (a reference by id) or solid.
Arrow = tuple[str, Sequence[str], str, bool]

_STYLE = (
    "<style>"
    ".box{fill:#eef3fb;stroke:#3b5b92;stroke-width:1.5}"
    ".frame{fill:#fafbfc;stroke:#adb5bd;stroke-width:1;stroke-dasharray:6 4}"
    ".name{font:600 14px sans-serif;fill:#1b2a41}"
    ".sub{font:italic 11px sans-serif;fill:#495057}"
    ".frame-name{font:600 13px sans-serif;fill:#6c757d}"
    ".label{font:12px sans-serif;fill:#333;paint-order:stroke;stroke:#fff;"
    "stroke-width:4px;stroke-linejoin:round}"
    ".arrow{fill:none;stroke:#555;stroke-width:1.3}"
    ".ref{stroke-dasharray:5 3}"
    "</style>"
)


def _clip(cx: float, cy: float, dx: float, dy: float, w: float, h: float) -> tuple[float, float]:
    """Where the ray from the centre of a w x h box in direction (dx, dy) leaves it."""
    scale = min((w / 2) / abs(dx) if dx else math.inf, (h / 2) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def box_graph(
    name: str,
    title: str,
    places: Mapping[str, tuple[float, float]],
    arrows: Sequence[Arrow],
    size: tuple[int, int],
    box: tuple[float, float] = (200, 44),
    subtitles: Mapping[str, str] | None = None,
    frame: str | None = None,
) -> str:
    """An SVG of boxes at ``places`` joined by ``arrows``; ``name`` makes its ids unique."""
    width, height = size
    w, h = box
    subtitles = subtitles or {}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" role="img" '
        f'class="treatplan-{name}" aria-labelledby="{name}-title">',
        f'<title id="{name}-title">{escape(title)}</title>',
        _STYLE,
        f'<defs><marker id="{name}-head" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    if frame is not None:
        parts.append(
            f'<rect x="4" y="4" width="{width - 8}" height="{height - 8}" rx="12" '
            f'class="frame"/><text x="18" y="24" class="frame-name">{escape(frame)}</text>'
        )
    texts: list[str] = []
    for source, labels, target, dashed in arrows:
        (sx, sy), (tx, ty) = places[source], places[target]
        x1, y1 = _clip(sx, sy, tx - sx, ty - sy, w, h)
        x2, y2 = _clip(tx, ty, sx - tx, sy - ty, w, h)
        cls = "arrow ref" if dashed else "arrow"
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}" '
            f'marker-end="url(#{name}-head)"><title>{escape(source)} to {escape(target)}'
            "</title></line>"
        )
        for n, label in enumerate(labels):
            if abs(y2 - y1) < 1:  # a horizontal arrow: labels above the line
                y = y1 - 7 - 15 * (len(labels) - 1 - n)
            else:
                y = (y1 + y2) / 2 + 4 + 15 * (n - (len(labels) - 1) / 2)
            texts.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{y:.1f}" class="label" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts += texts
    for box_name, (cx, cy) in places.items():
        sub = subtitles.get(box_name)
        parts.append(
            f'<rect x="{cx - w / 2:g}" y="{cy - h / 2:g}" width="{w:g}" height="{h:g}" '
            f'rx="6" class="box"/>'
            f'<text x="{cx:g}" y="{cy + (-2 if sub else 5):g}" class="name" '
            f'text-anchor="middle">{escape(box_name)}</text>'
        )
        if sub:
            parts.append(
                f'<text x="{cx:g}" y="{cy + 14:g}" class="sub" text-anchor="middle">'
                f"{escape(sub)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
