"""Showing plans and findings: a short repr, notebook HTML, measures as DataFrames."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SECRET = "<script>alert('x')</script> SECRET"


def _example(name: str) -> tp.TreatmentPlan:
    return tp.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tps.treatment_plans(texts=st.just("CLINICAL-TEXT-SENTINEL")))
def test_repr_is_short_and_holds_no_clinical_text(plan: tp.TreatmentPlan) -> None:
    text = repr(plan)
    assert len(text) <= 200
    assert text.startswith("TreatmentPlan(")
    assert plan.phase.value in text
    assert str(plan) == text
    assert "CLINICAL-TEXT-SENTINEL" not in text


def test_repr_of_long_references_is_cut() -> None:
    at = _example("mbc-walkthrough.json").history[0].at
    plan = tp.TreatmentPlan.refer("p" * 128, "c" * 128, at=at, by="gp")
    assert len(repr(plan)) <= 200
    assert "…" in repr(plan)


def test_plan_and_findings_html_show_phase_objectives_measures_and_suggestion() -> None:
    plan = _example("mbc-walkthrough.json")
    page = plan._repr_html_()  # type: ignore[attr-defined]
    assert page.startswith('<div class="treatplan-plan">')
    assert plan.phase.value in page
    assert "PHQ-9" in page
    assert plan.objectives[0].id in page
    found = tp.review(plan, tp.latest_time(plan))
    view = found._repr_html_()  # type: ignore[attr-defined]
    assert "Suggested" in view
    assert "PHQ-9" in view


def test_html_escapes_clinical_text() -> None:
    plan = _example("adolescent-anxiety-family.json")
    goal = plan.goals[0]
    first = attrs.evolve(goal.objectives[0], description=SECRET)
    changed = tp.revise(
        plan,
        goals=[attrs.evolve(goal, objectives=(first, *goal.objectives[1:])), *plan.goals[1:]],
    )
    page = changed._repr_html_()  # type: ignore[attr-defined]
    assert "&lt;script&gt;" in page
    assert "<script>" not in page


def test_measures_frame_has_real_dtypes() -> None:
    pd = pytest.importorskip("pandas")
    plan = _example("mbc-walkthrough.json")
    frame = tp.instruments.measures_frame(plan)
    assert list(frame.columns) == list(
        tp.instruments.measures_frame.__globals__["MEASURE_COLUMNS"]
    )
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["session"].dtype) == "Int64"
    assert str(frame["case"].dtype) == "boolean"
    assert isinstance(frame["instrument"].dtype, pd.CategoricalDtype)
    series = tp.instruments.plan_series(plan)
    assert len(frame) == sum(len(points) for points in series.values())


def test_measures_frame_in_polars_and_bad_library() -> None:
    pl = pytest.importorskip("polars")
    plan = _example("mbc-walkthrough.json")
    frame = tp.instruments.measures_frame(plan, "polars")
    assert frame.schema["at"] == pl.Datetime(time_unit="us", time_zone="UTC")
    assert frame.schema["case"] == pl.Boolean
    with pytest.raises(tp.ValidationError, match="library"):
        tp.instruments.measures_frame(plan, "excel")
