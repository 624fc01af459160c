"""The simulator's fast record constructors build exactly what the checked ones build."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

import treatplan as tp
from treatplan._fast import drawn_assessment, drawn_session
from treatplan.sim._dynamics import ItemPatterns

INSTRUMENTS = [tp.instruments.PHQ9, tp.instruments.GAD7]


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.code)
def test_drawn_assessments_equal_checked_ones(instrument: tp.Instrument) -> None:
    patterns = ItemPatterns(instrument, per_total=4)
    rng = random.Random(7)
    zones = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
    for n in range(200):
        at = datetime(2026, 1, 5, 9, tzinfo=zones[n % 3]) + timedelta(days=n)
        total = rng.randint(patterns.low - 2, patterns.high + 2)
        items = patterns.draw(rng, total)
        ident = f"{instrument.code.lower()}-s{n}"
        fast = drawn_assessment(ident, instrument.code, at, items)
        checked = tp.Assessment(ident, instrument.code, at, items=items)
        assert fast == checked
        assert hash(fast) == hash(checked)
        assert repr(fast) == repr(checked)
        assert not fast.problems_against(instrument)
        assert tp.score(instrument, fast) == tp.score(instrument, checked)


def test_drawn_sessions_equal_checked_ones() -> None:
    at = datetime(2026, 2, 2, 9, tzinfo=UTC)
    a = drawn_assessment("phq9-s1", "PHQ-9", at, (1,) * 9)
    cases = [
        ("s1", tp.Attendance.ATTENDED, ("cbt",), (a,)),
        ("s2", tp.Attendance.ATTENDED, (), ()),
        ("s3", tp.Attendance.DID_NOT_ATTEND, (), ()),
    ]
    for ident, attendance, interventions, assessments in cases:
        fast = drawn_session(ident, at, attendance, interventions, assessments)
        checked = tp.Session(ident, at, attendance, interventions, assessments)
        assert fast == checked
        assert repr(fast) == repr(checked)
    assert drawn_session("s4", at, tp.Attendance.DID_NOT_ATTEND) == tp.Session(
        "s4", at, tp.Attendance.DID_NOT_ATTEND
    )


def test_drawn_records_go_through_the_lifecycle_checks() -> None:
    """The fast path skips construction checks only: recording still checks the
    responses against the instrument and the ids against the plan."""
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=at, by="svc")
    bad = drawn_assessment("phq9-x", "PHQ-9", at, (9,) * 9)  # responses out of range
    with pytest.raises(tp.ValidationError):
        tp.record_assessment(plan, bad)
    good = drawn_assessment("phq9-x", "PHQ-9", at, (1,) * 9)
    plan = tp.record_assessment(plan, good)
    with pytest.raises(tp.ValidationError):
        tp.record_assessment(plan, good)  # the id is taken


def _reviewed_plan() -> tuple[tp.TreatmentPlan, datetime]:
    """An agreed plan with a baseline and two attended sessions with scores."""
    from treatplan.sim._engine import _CHECKED

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=start, by="svc")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=start, by="svc")
    plan = tp.record_assessment(plan, tp.Assessment("phq9-b", "PHQ-9", start, total=18))
    objective = tp.Objective(
        "obj-1",
        "PHQ-9 below caseness",
        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
        start.date() + timedelta(weeks=16),
    )
    goal = tp.Goal("goal-1", "Feel better", tp.GoalDomain.EMOTIONAL_WELLBEING, (objective,))
    cbt = tp.Intervention("cbt", tp.Modality.CBT, "CBT", serves=("obj-1",))
    plan = tp.revise(plan, goals=(goal,), interventions=(cbt,))
    plan = tp.fire(plan, tp.Event.AGREE_PLAN, at=start, by="svc")
    at = start
    for n, items in enumerate([(2,) * 9, (1, 1, 1, 1, 1, 1, 1, 1, 0)], start=1):
        at = start + timedelta(days=7 * n)
        a = _CHECKED.assessment(f"phq9-s{n}", "PHQ-9", at, items)
        plan = tp.record_session(plan, _CHECKED.session(f"s{n}", at, ATTENDED, ("cbt",), (a,)))
    return plan, at


ATTENDED = tp.Attendance.ATTENDED


def test_drawn_review_records_equal_checked_ones() -> None:
    from treatplan._fast import drawn_progress, drawn_review

    at = datetime(2026, 2, 2, 9, tzinfo=UTC)
    progress = drawn_progress("obj-1", tp.AchievementStatus.IMPROVING, 1, None)
    checked = tp.ObjectiveProgress("obj-1", tp.AchievementStatus.IMPROVING, 1, None)
    assert progress == checked
    assert hash(progress) == hash(checked)
    assert repr(progress) == repr(checked)
    for next_review in (None, at.date() + timedelta(weeks=6)):
        fast = drawn_review(
            "review-1", at, tp.ReviewDecision.CONTINUE, (progress,), next_review, "t", True, None
        )
        slow = tp.ProgressReview(
            "review-1", at, tp.ReviewDecision.CONTINUE, (checked,), next_review, "t", True, None
        )
        assert fast == slow
        assert repr(fast) == repr(slow)


@pytest.mark.parametrize("asks", [False, True])
def test_the_engines_review_record_equals_record_findings(asks: bool) -> None:
    """The engine records a review it just held as record_findings does: the same plan,
    and derived state equal to a fresh build of it."""
    from treatplan._state import _build, state_of
    from treatplan.sim._engine import _drawn_findings_recorded

    plan, at = _reviewed_plan()
    policy = tp.ReviewPolicy(cadence=tp.reviews.ReviewCadence(every_sessions=6, every_weeks=None))
    found = tp.review(plan, at, policy)
    arguments: dict[str, Any] = {
        "review_id": "review-1",
        "by": "therapist",
        "decision": tp.ReviewDecision.REVISE_PLAN,
        "policy": policy,
        "findings": found,
        "client_requested_ending": asks,
    }
    fast = _drawn_findings_recorded(plan, at, **arguments)
    checked = tp.record_findings(plan, at, **arguments)
    assert fast == checked
    assert repr(fast.reviews[-1]) == repr(checked.reviews[-1])
    fast_state, built = state_of(fast), _build(checked)
    assert fast_state.progress == built.progress
    assert fast_state.requests == built.requests
    assert fast_state.latest_record == built.latest_record
    assert {i for i in fast_state.ids if fast_state.uses_id(i)} == set(built.ids)


def test_a_policy_decision_of_another_kind_takes_the_checked_path() -> None:
    from treatplan.sim._engine import _drawn_findings_recorded

    plan, at = _reviewed_plan()
    policy = tp.ReviewPolicy()
    found = tp.review(plan, at, policy)
    for decision, asks in (("not-a-decision", False), (tp.ReviewDecision.CONTINUE, 1)):
        arguments: dict[str, Any] = {
            "review_id": "review-1",
            "by": "therapist",
            "decision": decision,
            "policy": policy,
            "findings": found,
            "client_requested_ending": asks,
        }
        with pytest.raises(tp.ValidationError) as fast:
            _drawn_findings_recorded(plan, at, **arguments)
        with pytest.raises(tp.ValidationError) as checked:
            tp.record_findings(plan, at, **arguments)
        assert str(fast.value) == str(checked.value)


def _assessing_plan(index: int) -> tp.TreatmentPlan:
    """A plan as the engine has it when it writes the plan: screened, then assessed."""
    at = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=index)
    plan = tp.TreatmentPlan.refer(f"plan-{index}", f"client-{index}", at=at, by="svc")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=at, by="svc")
    for tag in ("screen", "baseline"):
        plan = tp.record_assessment(plan, drawn_assessment(f"phq9-{tag}", "PHQ-9", at, (1,) * 9))
        plan = tp.record_assessment(plan, drawn_assessment(f"gad7-{tag}", "GAD-7", at, (2,) * 7))
    return plan


def test_a_revision_with_content_checked_before_skips_the_check_and_equals_revise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from treatplan import _fast
    from treatplan._memo import IdentityCache
    from treatplan.sim import DEFAULT_SCENARIO
    from treatplan.sim._engine import _Context

    ctx = _Context(DEFAULT_SCENARIO)
    content: dict[str, Any] = {
        "presenting_problems": (ctx.problem,),
        "goals": (ctx.goal(date(2026, 5, 1)),),
        "interventions": (ctx.cbt,),
        "discharge_criteria": ctx.rules,
    }
    checks: list[tp.TreatmentPlan] = []
    check = _fast._plan_problems
    monkeypatch.setattr(_fast, "_plan_problems", lambda p: checks.append(p) or check(p))
    seen: IdentityCache[bool] = IdentityCache(8)
    for index in range(3):
        plan = _assessing_plan(index)
        fast = _fast.simulated_revision(plan, seen=seen, **content)
        assert fast == tp.revise(plan, **content)
    assert len(checks) == 1  # the first revision with this content only
    # Equal content in other objects is checked again.
    other = {**content, "interventions": (attrs.evolve(ctx.cbt),)}
    _fast.simulated_revision(_assessing_plan(9), seen=seen, **other)
    assert len(checks) == 2


def test_content_the_check_refuses_is_refused_for_every_plan() -> None:
    from treatplan import _fast
    from treatplan._memo import IdentityCache
    from treatplan.sim import DEFAULT_SCENARIO
    from treatplan.sim._engine import _Context

    ctx = _Context(DEFAULT_SCENARIO)
    # An intervention serving an objective the plan does not have.
    stray = attrs.evolve(ctx.cbt, serves=("obj-none",))
    seen: IdentityCache[bool] = IdentityCache(8)
    for index in range(2):
        plan = _assessing_plan(index)
        with pytest.raises(tp.ValidationError):
            tp.revise(plan, goals=(ctx.goal(date(2026, 5, 1)),), interventions=(stray,))
        with pytest.raises(tp.ValidationError):
            _fast.simulated_revision(
                plan, seen=seen, goals=(ctx.goal(date(2026, 5, 1)),), interventions=(stray,)
            )
    assert len(seen) == 0
