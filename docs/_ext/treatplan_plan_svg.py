"""The parts of a treatment plan and how they refer to each other, as a static SVG.

Each arrow names the field it stands for; :func:`check` (run by the build and by
``tests/test_docs.py``) confirms that every such field still exists on its class
and holds, or refers to, what the arrow says, so the picture cannot silently
drift from :mod:`treatplan`'s model.
"""

from __future__ import annotations

import typing

import attrs
from treatplan_svg import Arrow, box_graph

import treatplan
import treatplan as tp

#: Class name -> centre of its box.
PLACES: dict[str, tuple[float, float]] = {
    "PresentingProblem": (150, 90),
    "Goal": (530, 90),
    "Rule": (910, 90),
    "ProgressReview": (150, 225),
    "Objective": (530, 225),
    "Intervention": (910, 225),
    "Transition": (150, 360),
    "Assessment": (530, 360),
    "Session": (910, 360),
}

#: Where each part lives in a plan.
SUBTITLES: dict[str, str] = {
    "PresentingProblem": "plan.presenting_problems",
    "Goal": "plan.goals",
    "Rule": "plan.discharge_criteria",
    "ProgressReview": "plan.reviews",
    "Objective": "goal.objectives",
    "Intervention": "plan.interventions",
    "Transition": "plan.history",
    "Assessment": "plan.assessments, session.assessments",
    "Session": "plan.sessions",
}

#: (source, field path, target, by reference): solid arrows hold the target,
#: dashed ones name it (by id, or an objective's target by instrument code).
ARROWS: list[tuple[str, str, str, bool]] = [
    ("Goal", "addresses", "PresentingProblem", True),
    ("Goal", "objectives", "Objective", False),
    ("Intervention", "serves", "Objective", True),
    ("ProgressReview", "progress[].objective", "Objective", True),
    ("Session", "interventions", "Intervention", True),
    ("Session", "assessments", "Assessment", False),
    ("Objective", "target.instrument", "Assessment", True),
]


def check() -> list[str]:
    """What in :data:`ARROWS` and :data:`SUBTITLES` no longer matches the model."""
    problems: list[str] = []
    for source, path, target, by_reference in ARROWS:
        cls = getattr(treatplan, source)
        field = path.split(".")[0].removesuffix("[]")
        names = {f.name: f for f in attrs.fields(cls)}
        if field not in names:
            problems.append(f"{source} has no field {field}")
            continue
        hint = str(typing.get_type_hints(cls)[field])
        if not by_reference and target not in hint:
            problems.append(f"{source}.{field} does not hold {target}")
        if by_reference and path == field and "str" not in hint:
            problems.append(f"{source}.{field} does not name {target} by id")
    owners = {"plan": tp.TreatmentPlan, "session": tp.Session, "goal": tp.Goal}
    for part, where in SUBTITLES.items():
        for location in where.split(", "):
            owner, field = location.split(".")
            if field not in {f.name for f in attrs.fields(owners[owner])}:
                problems.append(f"{owner} has no field {field} (for {part})")
    return problems


def plan_svg() -> str:
    """The plan-anatomy diagram."""
    problems = check()
    if problems:
        raise RuntimeError("update docs/_ext/treatplan_plan_svg.py: " + "; ".join(problems))
    arrows: list[Arrow] = [(s, [path], t, ref) for s, path, t, ref in ARROWS]
    return box_graph(
        "plan",
        "The parts of a treatment plan: solid arrows hold a part, dashed ones name it",
        PLACES,
        arrows,
        (1060, 410),
        box=(230, 48),
        subtitles=SUBTITLES,
        frame="TreatmentPlan",
    )
