"""The lifecycle state diagram as a static SVG, drawn from :func:`treatplan.lifecycle.mermaid`.

No JavaScript, no network and no tool outside Python: the page shows the same
picture offline, in a sandboxed viewer or with scripts disabled. The arrows and
their labels are read from ``treatplan.lifecycle.mermaid()`` (itself generated from
:data:`treatplan.lifecycle.TRANSITIONS`); only the placement of the phases and the route of
each arrow are laid out here by hand. A transition table with an arrow this
layout has no route for (or a route for an arrow that no longer exists) raises
:class:`LayoutOutOfDate`, so the documentation build fails rather than draw a
stale picture.
"""

from __future__ import annotations

import re
from html import escape

import treatplan

START, END = "[*]", "[*]end"
_EDGE = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)(?::\s*(.*))?$")


class LayoutOutOfDate(RuntimeError):
    """The transition table has arrows this layout cannot place (or lost some)."""


#: Phase boxes: centre x, centre y, width, height.
BOXES: dict[str, tuple[float, float, float, float]] = {
    "referred": (330, 80, 150, 44),
    "waitlisted": (330, 170, 150, 44),
    "assessing": (330, 260, 150, 44),
    "active": (330, 360, 150, 44),
    "ending": (330, 460, 150, 44),
    "follow_up": (330, 560, 150, 44),
    "on_hold": (100, 360, 130, 44),
    "closed": (870, 339, 140, 562),
}
_START_AT, _END_AT = (330.0, 24.0), (870.0, 668.0)
WIDTH, HEIGHT = 960, 690
_SINK_LEFT = 800.0  # the closed bar's left side, where arrows into it end
_LABEL_MID = (405 + _SINK_LEFT) / 2

Point = tuple[float, float]
#: (source, target) -> (route, label x, label y, label anchor).
Route = tuple[list[Point], float, float, str]


def _routes() -> dict[tuple[str, str], Route]:
    def into_closed(y: float, label_y: float | None = None) -> Route:
        return [(405, y), (_SINK_LEFT, y)], _LABEL_MID, label_y or y - 6, "middle"

    return {
        (START, "referred"): ([(330, 32), (330, 58)], 340, 50, "start"),
        ("referred", "waitlisted"): ([(330, 102), (330, 148)], 340, 130, "start"),
        ("referred", "assessing"): (
            [(255, 80), (215, 80), (215, 260), (255, 260)],
            208,
            174,
            "end",
        ),
        ("referred", "closed"): into_closed(80),
        ("waitlisted", "assessing"): ([(330, 192), (330, 238)], 340, 220, "start"),
        ("waitlisted", "closed"): into_closed(170),
        ("assessing", "active"): ([(330, 282), (330, 338)], 340, 315, "start"),
        ("assessing", "closed"): into_closed(272, 288),
        ("active", "on_hold"): ([(255, 351), (165, 351)], 210, 345, "middle"),
        ("active", "ending"): ([(312, 382), (312, 438)], 304, 428, "end"),
        ("active", "closed"): into_closed(360),
        ("on_hold", "active"): ([(165, 370), (255, 370)], 210, 386, "middle"),
        ("on_hold", "ending"): ([(115, 382), (115, 460), (255, 460)], 152, 454, "middle"),
        ("on_hold", "closed"): (
            [(85, 382), (85, 605), (_SINK_LEFT, 605)],
            _LABEL_MID,
            599,
            "middle",
        ),
        ("ending", "active"): ([(348, 438), (348, 382)], 356, 414, "start"),
        ("ending", "follow_up"): ([(330, 482), (330, 538)], 340, 515, "start"),
        ("ending", "closed"): into_closed(460),
        ("follow_up", "active"): (
            [(255, 560), (205, 560), (205, 400), (275, 400), (275, 382)],
            199,
            512,
            "end",
        ),
        ("follow_up", "closed"): into_closed(560),
        ("closed", "assessing"): ([(_SINK_LEFT, 250), (405, 250)], _LABEL_MID, 244, "middle"),
        ("closed", END): ([(870, 620), (870, 657)], 880, 642, "start"),
    }


def edges(mermaid: str | None = None) -> dict[tuple[str, str], str]:
    """``(source, target) -> label`` of every arrow in the Mermaid state diagram."""
    text = treatplan.lifecycle.mermaid() if mermaid is None else mermaid
    found: dict[tuple[str, str], str] = {}
    for line in text.splitlines()[1:]:
        match = _EDGE.match(line)
        if not match:
            continue
        source, target, label = match.groups()
        if target == START:
            target = END
        found[source, target] = label or ""
    return found


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:g}" y="{y:g}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def _box(name: str) -> str:
    cx, cy, w, h = BOXES[name]
    cls = "sink" if name == "closed" else "phase"
    return (
        f'<rect x="{cx - w / 2:g}" y="{cy - h / 2:g}" width="{w:g}" height="{h:g}" '
        f'rx="10" class="{cls}"/>' + _text(cx, cy + 5, name, "name")
    )


def lifecycle_svg(mermaid: str | None = None) -> str:
    """The diagram as a standalone SVG document (also valid inline in HTML)."""
    arrows = edges(mermaid)
    routes = _routes()
    phases = {p for pair in arrows for p in pair} - {START, END}
    unplaced = sorted(phases - BOXES.keys())
    unrouted = sorted(f"{a} -> {b}" for a, b in arrows.keys() - routes.keys())
    stale = sorted(f"{a} -> {b}" for a, b in routes.keys() - arrows.keys())
    if unplaced or unrouted or stale:
        raise LayoutOutOfDate(
            "update docs/_ext/treatplan_lifecycle_svg.py: "
            f"phases without a box {unplaced}, arrows without a route {unrouted}, "
            f"routes of arrows that no longer exist {stale}"
        )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" style="max-width:100%;height:auto" role="img" '
        'class="treatplan-lifecycle" '
        'aria-labelledby="lifecycle-title">',
        '<title id="lifecycle-title">The treatment plan lifecycle: phases and the events '
        "that move a plan between them</title>",
        "<style>"
        ".phase{fill:#eef3fb;stroke:#3b5b92;stroke-width:1.5}"
        ".sink{fill:#e9ecef;stroke:#495057;stroke-width:1.5}"
        ".name{font:600 14px sans-serif;fill:#1b2a41}"
        ".label{font:12px sans-serif;fill:#333;paint-order:stroke;stroke:#fff;"
        "stroke-width:4px;stroke-linejoin:round}"
        ".arrow{fill:none;stroke:#555;stroke-width:1.3}"
        "</style>",
        "<defs>"
        '<marker id="lifecycle-head" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        "</defs>",
    ]
    for (source, target), (points, *_) in sorted(routes.items()):
        path = " ".join(f"{x:g},{y:g}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" class="arrow" marker-end="url(#lifecycle-head)">'
            f"<title>{escape(source)} to {escape(target)}</title></polyline>"
        )
    for (source, target), (_, lx, ly, anchor) in sorted(routes.items()):
        if arrows[source, target]:
            parts.append(_text(lx, ly, arrows[source, target], "label", anchor))
    parts += [_box(name) for name in BOXES]
    sx, sy = _START_AT
    ex, ey = _END_AT
    parts += [
        f'<circle cx="{sx:g}" cy="{sy:g}" r="8" fill="#1b2a41"/>',
        f'<circle cx="{ex:g}" cy="{ey:g}" r="10" fill="none" stroke="#1b2a41" stroke-width="2"/>',
        f'<circle cx="{ex:g}" cy="{ey:g}" r="6" fill="#1b2a41"/>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
