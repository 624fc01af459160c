"""Showing plans and findings: a short repr, notebook HTML, measures as DataFrames."""

from __future__ import annotations

import subprocess
import sys
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


def test_a_plan_without_objectives_has_no_objective_table() -> None:
    at = _example("mbc-walkthrough.json").history[0].at
    page = tp.TreatmentPlan.refer("plan-x", "client-x", at=at, by="gp")._repr_html_()  # type: ignore[attr-defined]
    assert "plan-x" in page
    assert "<th>objective</th>" not in page
    with_objectives = _example("mbc-walkthrough.json")._repr_html_()  # type: ignore[attr-defined]
    assert "<th>objective</th>" in with_objectives


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_measures_frame_without_the_extra_names_it(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # as if not installed
    with pytest.raises(tp.ValidationError) as caught:
        tp.instruments.measures_frame(_example("mbc-walkthrough.json"), library)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("library", f"the {library} extra (pip install 'treatplan[{library}]')")
    ]


def test_the_notebook_view_loads_its_module_on_first_use() -> None:
    # In a fresh interpreter: the display module is imported only when a notebook first
    # asks for a plan's HTML.
    code = (
        "import sys, datetime as d, treatplan as tp\n"
        "assert 'treatplan._display' not in sys.modules\n"
        "at = d.datetime(2026, 1, 5, tzinfo=d.timezone.utc)\n"
        "page = tp.TreatmentPlan.refer('plan-q', 'client-q', at=at, by='gp')._repr_html_()\n"
        "assert 'treatplan._display' in sys.modules\n"
        "print(page)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "plan-q" in done.stdout
    assert "referred" in done.stdout


def test_plan_html_shows_each_goal_with_its_objectives_and_their_status() -> None:
    plan = _example("adolescent-anxiety-family.json")
    page = plan._repr_html_()  # type: ignore[attr-defined]
    for goal in plan.goals:
        assert f"Goal <strong>{goal.id}</strong> ({goal.domain.value})" in page
    # Objectives follow their goal, each with its status.
    order = [page.index(f"<td>{o.id}</td>") for o in plan.objectives]
    assert order == sorted(order)
    last = plan.goals[-1]
    assert page.index(last.id) < page.index(f"<td>{last.objectives[0].id}</td>")
    assert "<th>status</th>" in page
    assert f"<td>{plan.objectives[0].status.value}</td>" in page
    assert f"{len(plan.goals)} goals" in page


def test_an_objective_that_no_longer_counts_shows_its_status_and_no_achievement() -> None:
    plan = _example("adolescent-anxiety-family.json")
    goal = plan.goals[0]
    dropped = attrs.evolve(goal.objectives[0], status=tp.ObjectiveStatus.CANCELLED)
    changed = tp.revise(
        plan,
        goals=[attrs.evolve(goal, objectives=(dropped, *goal.objectives[1:])), *plan.goals[1:]],
    )
    page = changed._repr_html_()  # type: ignore[attr-defined]
    assert f"<tr><td>{dropped.id}</td>" in page
    row = page.split(f"<tr><td>{dropped.id}</td>")[1].split("</tr>")[0]
    assert row.endswith("<td>cancelled</td><td></td><td></td><td></td>")


def test_plan_html_counts_in_words() -> None:
    at = _example("mbc-walkthrough.json").history[0].at
    page = tp.TreatmentPlan.refer("plan-x", "client-x", at=at, by="gp")._repr_html_()  # type: ignore[attr-defined]
    assert "<p>0 goals, 0 sessions, 0 reviews;" in page
    one_goal = _example("mbc-walkthrough.json")._repr_html_()  # type: ignore[attr-defined]
    assert "<p>1 goal, 11 sessions, 2 reviews;" in one_goal
    one_review = _example("adolescent-anxiety-family.json")._repr_html_()  # type: ignore[attr-defined]
    assert "<p>2 goals, 9 sessions, 1 review;" in one_review


def test_a_goal_without_objectives_shows_alone() -> None:
    at = _example("mbc-walkthrough.json").history[0].at
    goal = tp.Goal("goal-1", "Feel calmer", tp.GoalDomain.EMOTIONAL_WELLBEING)
    plan = tp.TreatmentPlan.refer("plan-x", "client-x", at=at, by="gp", goals=[goal])
    page = plan._repr_html_()  # type: ignore[attr-defined]
    assert "Goal <strong>goal-1</strong> (emotional_wellbeing): Feel calmer</p>" in page
    assert "<th>objective</th>" not in page
