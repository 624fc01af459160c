"""Showing plans and findings to people: short reprs, notebook HTML, DataFrames.

The model cannot import review logic (plan data never imports judgement), so the
plan's notebook view is attached from here, a layer above: :func:`plan_html` is
registered as :class:`~treatplan.TreatmentPlan`'s ``_repr_html_`` when treatplan is
imported. Every piece of plan text is HTML-escaped.

:func:`measures_frame` gives one plan's scored measures as a pandas or polars
DataFrame with real dtypes (the ``pandas`` or ``polars`` extra).
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, overload

from ._errors import ValidationError
from ._lifecycle import latest_time
from ._model import TreatmentPlan, check_plan
from ._review import Findings, review
from ._state import live_objectives, objective_achievement, state_of

if TYPE_CHECKING:  # the optional extras, for the types of the frames only
    import pandas  # type: ignore[import-untyped,unused-ignore]  # typed by pandas-stubs
    import polars

__all__ = ["findings_html", "measures_frame", "plan_html"]

#: Columns of :func:`measures_frame`, in order.
MEASURE_COLUMNS = (
    "instrument",
    "assessment",
    "at",
    "session",
    "total",
    "band",
    "case",
    "prorated",
    "risk_flags",
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e('' if c is None else c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def plan_html(plan: TreatmentPlan, as_of: datetime | None = None) -> str:
    """A plan as HTML: phase; each goal with its objectives, their status and
    achievement; latest scores with band and change category; and alerts, as of
    ``as_of`` (default: the plan's latest time).

    An objective that is cancelled, rejected or entered in error shows its status
    and no achievement: it no longer counts towards the goal."""
    check_plan(plan)
    when = latest_time(plan) if as_of is None else as_of
    found = review(plan, when)
    outcome = f" ({plan.outcome.value})" if plan.outcome else ""
    parts = [
        '<div class="treatplan-plan">',
        f"<strong>Plan {_e(plan.plan_id)}</strong> for client {_e(plan.client_ref)}: "
        f"<em>{_e(plan.phase.value)}{_e(outcome)}</em>",
        f"<p>{_count(len(plan.goals), 'goal')}, {_count(len(plan.sessions), 'session')}, "
        f"{_count(len(plan.reviews), 'review')}; as of {_e(when.isoformat())}</p>",
    ]
    live = set(map(id, live_objectives(plan)))
    for goal in plan.goals:
        parts.append(
            f"<p>Goal <strong>{_e(goal.id)}</strong> ({_e(goal.domain.value)}): "
            f"{_e(goal.statement)}</p>"
        )
        rows = []
        for o in goal.objectives:
            achieved: tuple[str | None, ...]
            if id(o) in live:
                a = objective_achievement(plan, o, when)
                achieved = ("yes" if a.achieved else "no", a.source.value, a.detail)
            else:
                achieved = (None, None, None)
            rows.append((o.id, o.description, o.status.value, *achieved))
        if rows:
            headers = ("objective", "description", "status", "achieved", "source", "detail")
            parts.append(_table(headers, rows))
    parts.append(_findings_parts(found))
    parts.append("</div>")
    return "".join(parts)


def findings_html(findings: Findings) -> str:
    """Review findings as HTML: the suggestion, objectives, measures and alerts."""
    head = (
        f"<strong>Review of {_e(findings.plan_id)}</strong> as of "
        f"{_e(findings.as_of.isoformat())}: <em>{_e(findings.phase.value)}</em>"
    )
    decision = findings.suggestion.decision
    suggestion = (
        f"<p>Suggested: <strong>{_e(decision.value if decision else 'nothing to decide')}"
        "</strong></p><ul>"
        + "".join(f"<li>{_e(r)}</li>" for r in findings.suggestion.reasons)
        + "</ul>"
    )
    objectives = _table(
        ("objective", "state", "source", "detail"),
        [(o.objective, o.state.value, o.source.value, o.detail) for o in findings.objectives],
    )
    return (
        f'<div class="treatplan-findings">{head}{suggestion}{objectives}'
        f"{_findings_parts(findings)}</div>"
    )


def _findings_parts(findings: Findings) -> str:
    measures = _table(
        ("instrument", "baseline", "latest", "band", "change", "category", "signal"),
        [
            (
                m.instrument,
                None if m.baseline is None else f"{m.baseline:g}",
                None if m.latest is None else f"{m.latest:g}",
                m.band,
                None if m.change is None else f"{m.change:+g}",
                m.category.value if m.category else None,
                m.signal.value if m.signal else None,
            )
            for m in findings.measures
        ],
    )
    alerts = _table(
        ("level", "alert", "message"),
        [(a.level.value, a.kind.value, a.message) for a in findings.alerts],
    )
    return measures + (alerts if findings.alerts else "<p>No alerts.</p>")


@overload
def measures_frame(
    plan: TreatmentPlan, library: Literal["pandas"] = "pandas"
) -> pandas.DataFrame: ...
@overload
def measures_frame(plan: TreatmentPlan, library: Literal["polars"]) -> polars.DataFrame: ...
def measures_frame(
    plan: TreatmentPlan, library: Literal["pandas", "polars"] = "pandas"
) -> pandas.DataFrame | polars.DataFrame:
    """One plan's scored measures as a DataFrame, one row per assessment.

    Columns, in this order: instrument (categorical), assessment id,
    ``at`` (UTC datetime), session (attended sessions by then, integer), total
    (float, missing when too many items are missing), band (categorical), case
    (nullable boolean), prorated (boolean), risk flags (``;``-separated). Needs the
    ``pandas`` (default) or ``polars`` extra.
    """
    check_plan(plan)
    if library not in ("pandas", "polars"):
        raise ValidationError.at("library", "'pandas' or 'polars'")
    state = state_of(plan)
    rows = [
        (
            code,
            p.assessment_id,
            p.at,
            p.session,
            p.score.total,
            p.score.band,
            p.score.case,
            p.score.prorated,
            ";".join(p.score.risk_flags),
        )
        for code in state.codes()
        for p in state.series(code).points()
    ]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(MEASURE_COLUMNS)}
    try:
        lib = importlib.import_module(library)  # an optional extra: loaded on use
    except ImportError:
        msg = f"the {library} extra (pip install 'treatplan[{library}]')"
        raise ValidationError.at("library", msg) from None
    if library == "pandas":
        return lib.DataFrame(
            {
                "instrument": lib.Categorical(columns["instrument"]),
                "assessment": lib.array(columns["assessment"], dtype="string"),
                "at": lib.to_datetime(columns["at"], utc=True),
                "session": lib.array(columns["session"], dtype="Int64"),
                "total": lib.array(columns["total"], dtype="Float64"),
                "band": lib.Categorical(columns["band"]),
                "case": lib.array(columns["case"], dtype="boolean"),
                "prorated": lib.array(columns["prorated"], dtype="boolean"),
                "risk_flags": lib.array(columns["risk_flags"], dtype="string"),
            }
        )
    return lib.DataFrame(
        columns,
        schema={
            "instrument": lib.Categorical,
            "assessment": lib.String,
            "at": lib.Datetime(time_zone="UTC"),
            "session": lib.Int64,
            "total": lib.Float64,
            "band": lib.Categorical,
            "case": lib.Boolean,
            "prorated": lib.Boolean,
            "risk_flags": lib.String,
        },
    )


def _plan_repr_html(self: TreatmentPlan) -> str:
    return plan_html(self)


def _findings_repr_html(self: Findings) -> str:
    return findings_html(self)


# Attached from outside the model (see the module docstring).
TreatmentPlan._repr_html_ = _plan_repr_html  # type: ignore[attr-defined]
Findings._repr_html_ = _findings_repr_html  # type: ignore[attr-defined]
