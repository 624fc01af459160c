"""Termination (discharge) rules: worked examples at their edges, composition, properties.

The attendance examples are docs/references.md#ending-therapy's: 2 consecutive no-shows; more
than 1 missed in a 6-session course (more than 2 in 12); 3 missed within 90 days.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import Attendance, Event, _evaluation
from treatplan._memo import IdentityCache
from treatplan.strategies import treatment_plans

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGREED = T0 + timedelta(days=2)
FIRST_SESSION = T0 + timedelta(days=7)
CLINICIAN = "clin-1"
CODES = {
    "A": Attendance.ATTENDED,
    "D": Attendance.DID_NOT_ATTEND,
    "C": Attendance.CANCELLED_BY_CLIENT,
    "S": Attendance.CANCELLED_BY_SERVICE,
}
PHQ9_ITEMS = (2, 2, 2, 2, 1, 2, 2, 1, 1)


def objective(
    oid: str,
    status: tp.ObjectiveStatus = tp.ObjectiveStatus.ACTIVE,
    achievement: tp.AchievementStatus | None = None,
) -> tp.Objective:
    return tp.Objective(
        oid,
        "PHQ-9 below 10",
        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
        date(2026, 6, 1),
        status=status,
        achievement=achievement,
    )


def active_plan(*objectives: tp.Objective) -> tp.TreatmentPlan:
    """Referred at T0, assessed the next day, agreed at AGREED."""
    objectives = objectives or (objective("o1"),)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", T0, "gp-1")
    plan = tp.revise(
        plan,
        goals=[tp.Goal("g1", "Feel better", tp.GoalDomain.EMOTIONAL_WELLBEING, objectives)],
        interventions=[
            tp.Intervention(
                "i1", tp.Modality.CBT, "activation", serves=tuple(o.id for o in objectives)
            )
        ],
    )
    plan = tp.record_assessment(plan, tp.Assessment("a0", "PHQ-9", T0, items=PHQ9_ITEMS))
    plan = tp.fire(plan, Event.BEGIN_ASSESSMENT, at=T0 + timedelta(days=1), by=CLINICIAN)
    return tp.fire(plan, Event.AGREE_PLAN, at=AGREED, by=CLINICIAN)


def with_sessions(
    codes: str,
    *,
    every: timedelta = timedelta(days=7),
    plan: tp.TreatmentPlan | None = None,
) -> tp.TreatmentPlan:
    """Sessions s0, s1, ... at FIRST_SESSION + i * every, attendance from letters A/D/C/S."""
    plan = active_plan() if plan is None else plan
    for i, code in enumerate(codes):
        session = tp.Session(f"s{i}", FIRST_SESSION + i * every, CODES[code])
        plan = tp.record_session(plan, session)
    return plan


def after(plan: tp.TreatmentPlan, days: float = 0) -> datetime:
    """``days`` after the last session (or the agreement)."""
    last = plan.sessions[-1].at if plan.sessions else AGREED
    return last + timedelta(days=days)


def verdict(
    rule: tp.rules.Rule, plan: tp.TreatmentPlan, as_of: datetime | None = None
) -> tp.Verdict:
    return tp.evaluate(rule, plan, after(plan) if as_of is None else as_of)


# --------------------------------------------------------------------------- goals met
def test_goals_met_when_every_live_objective_is_achieved() -> None:
    plan = active_plan(
        objective("o1", achievement=tp.AchievementStatus.ACHIEVED),
        objective("o2", achievement=tp.AchievementStatus.SUSTAINING),
        objective("o3", status=tp.ObjectiveStatus.COMPLETED),
        objective("o4", status=tp.ObjectiveStatus.CANCELLED),
    )
    result = verdict(tp.rules.GoalsMet(), plan)
    assert result.fired
    assert result.action is tp.rules.RuleAction.DISCHARGE
    assert result.rule == "goals_met"
    assert result.reason == "3 of 3 objectives achieved"
    assert result.evidence == ("o1", "o2", "o3")


def test_goals_met_not_while_one_is_still_improving() -> None:
    plan = active_plan(
        objective("o1", achievement=tp.AchievementStatus.ACHIEVED),
        objective("o2", achievement=tp.AchievementStatus.IMPROVING),
    )
    result = verdict(tp.rules.GoalsMet(), plan)
    assert not result.fired
    assert result.reason == "1 of 2 objectives achieved"
    assert result.evidence == ("o1",)
    assert verdict(tp.rules.GoalsMet(objectives=("o1",)), plan).fired


def test_goals_met_named_objectives() -> None:
    plan = active_plan(
        objective("o1", achievement=tp.AchievementStatus.ACHIEVED),
        objective("o2", status=tp.ObjectiveStatus.CANCELLED),
    )
    # Naming a cancelled objective includes it; it is not achieved.
    named = verdict(tp.rules.GoalsMet(objectives=("o1", "o2")), plan)
    assert not named.fired
    assert named.reason == "1 of 2 objectives achieved"
    # An objective the plan no longer has is not achieved either.
    missing = verdict(tp.rules.GoalsMet(objectives=("o1", "o-gone")), plan)
    assert not missing.fired
    assert missing.reason == "1 of 2 objectives achieved"


@pytest.mark.parametrize(
    "status",
    [
        tp.ObjectiveStatus.CANCELLED,
        tp.ObjectiveStatus.ENTERED_IN_ERROR,
        tp.ObjectiveStatus.REJECTED,
    ],
)
def test_goals_met_never_counts_a_dead_objective_as_achieved(status: tp.ObjectiveStatus) -> None:
    # Even when its recorded status says achieved: review leaves it out, so the rule
    # must not end an episode on it.
    plan = active_plan(
        objective("o1", achievement=tp.AchievementStatus.ACHIEVED),
        objective("o2", status=status, achievement=tp.AchievementStatus.ACHIEVED),
    )
    result = verdict(tp.rules.GoalsMet(objectives=("o2",)), plan)
    assert not result.fired
    assert result.reason == "0 of 1 objectives achieved"
    assert result.evidence == ()


def test_goals_met_never_fires_without_objectives() -> None:
    plan = active_plan(objective("o1", status=tp.ObjectiveStatus.CANCELLED))
    result = verdict(tp.rules.GoalsMet(), plan)
    assert not result.fired
    assert result.reason == "0 of 0 objectives achieved"


# --------------------------------------------------------------------------- session limit
def test_session_limit_counts_attended_sessions() -> None:
    rule = tp.rules.SessionLimit(6)
    assert not verdict(rule, with_sessions("AAAAA")).fired
    used_up = verdict(rule, with_sessions("AAAAAA"))
    assert used_up.fired
    assert used_up.reason == "6 of 6 sessions used"
    # Missed and service-cancelled sessions do not use the allowance.
    assert not verdict(rule, with_sessions("AADCSAAA")).fired
    assert verdict(rule, with_sessions("AADCSAAAA")).fired


def test_session_limit_counting_missed_still_skips_service_cancellations() -> None:
    rule = tp.rules.SessionLimit(4, count_missed=True)
    assert verdict(rule, with_sessions("ADCA")).fired
    assert not verdict(rule, with_sessions("ADSA")).fired
    assert verdict(rule, with_sessions("ADSA")).reason == "3 of 4 sessions used"


def test_verdicts_made_once_per_rule_and_input_equal_fresh_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rule's verdicts are remembered by what they were made from (the table per rule
    starts afresh when full): a remembered verdict equals one made afresh."""
    from treatplan import _evaluation

    monkeypatch.setattr(_evaluation, "_MADE_PER_RULE", 2)
    rule = tp.rules.SessionLimit(6)
    plans = [with_sessions("A" * n) for n in range(1, 6)]
    first = [verdict(rule, p) for p in plans]
    again = [verdict(rule, p) for p in plans]
    assert again == first
    assert [v.reason for v in again] == [f"{n} of 6 sessions used" for n in range(1, 6)]
    assert len(_evaluation._made(rule)) <= 2
    assert verdict(rule, plans[-1]) is verdict(rule, plans[-1])  # found, not made


def test_a_composite_of_remembered_verdicts_is_remembered() -> None:
    rule = tp.rules.SessionLimit(6)
    plan = with_sessions("A")
    # A composite of remembered verdicts is remembered by its children.
    composite = tp.rules.AnyOf((rule, tp.rules.ClientRequest()))
    unfired = verdict(composite, plan)
    assert verdict(composite, plan) is unfired
    assert unfired.children == (
        verdict(rule, plan),
        verdict(tp.rules.ClientRequest(), plan),
    )
    assert (unfired.fired, unfired.reason, unfired.evidence) == (False, "no rule fired", ())


def test_session_limit_as_of_an_earlier_date() -> None:
    plan = with_sessions("AAAAAA")
    before_last = plan.sessions[-1].at - timedelta(minutes=1)
    assert not verdict(tp.rules.SessionLimit(6), plan, before_last).fired
    assert verdict(tp.rules.SessionLimit(6), plan, plan.sessions[-1].at).fired


# --------------------------------------------------------------------------- consecutive missed
@pytest.mark.parametrize(
    ("codes", "fired", "evidence"),
    [
        ("AD", False, ("s1",)),  # one no-show does not fire
        ("ADD", True, ("s1", "s2")),  # two in a row do
        ("DDA", False, ()),  # an attendance ends the run
        ("ADSD", True, ("s1", "s3")),  # a service cancellation neither breaks nor counts
        ("ADCD", False, ("s3",)),  # a client cancellation is not a no-show by default
        ("DDD", True, ("s0", "s1", "s2")),
        ("", False, ()),
    ],
)
def test_two_consecutive_no_shows(codes: str, fired: bool, evidence: tuple[str, ...]) -> None:
    result = verdict(tp.rules.ConsecutiveMissed(2), with_sessions(codes))
    assert result.fired is fired
    assert result.evidence == evidence
    assert result.reason == f"{len(evidence)} consecutive missed sessions (limit 2)"


def test_consecutive_missed_with_client_cancellations() -> None:
    rule = tp.rules.ConsecutiveMissed(2, include_client_cancellations=True)
    result = verdict(rule, with_sessions("ADC"))
    assert result.fired
    assert result.evidence == ("s1", "s2")
    assert not verdict(rule, with_sessions("ACA")).fired


# --------------------------------------------------------------------------- missed in window
@pytest.mark.parametrize(
    ("codes", "fired", "evidence"),
    [
        ("AAAAAD", False, ("s5",)),  # 1 of 6: not more than 1
        ("AADAAD", True, ("s2", "s5")),  # 2 of 6: more than 1
        ("DAAAAAAD", False, ("s7",)),  # the first miss has left the window
        ("DAAAAD", True, ("s0", "s5")),
        ("DAASSAAD", True, ("s0", "s7")),  # service cancellations are not in the count
        ("DD", True, ("s0", "s1")),  # a short course can already exceed it
        ("ACACAC", False, ()),
    ],
)
def test_more_than_one_missed_in_the_last_six(
    codes: str, fired: bool, evidence: tuple[str, ...]
) -> None:
    result = verdict(tp.rules.MissedInWindow(1, 6), with_sessions(codes))
    assert result.fired is fired
    assert result.evidence == evidence
    scheduled = min(len(codes.replace("S", "")), 6)
    assert result.reason == (
        f"{len(evidence)} missed of the last {scheduled} scheduled (more than 1 of 6 ends)"
    )


def test_more_than_two_missed_in_twelve() -> None:
    rule = tp.rules.MissedInWindow(2, 12)
    assert not verdict(rule, with_sessions("AAAAADAAAADA")).fired  # 2 of 12
    assert verdict(rule, with_sessions("DAAAADAAAADA")).fired  # 3 of 12
    assert not verdict(rule, with_sessions("DAAAADAAAADAA")).fired  # the first slid out


def test_missed_in_window_needs_fewer_misses_than_the_window() -> None:
    with pytest.raises(tp.ValidationError, match="max_missed"):
        tp.rules.MissedInWindow(6, 6)
    with pytest.raises(tp.ValidationError, match="window"):
        tp.rules.MissedInWindow(1, 0)


# --------------------------------------------------------------------------- missed within days
def test_three_missed_within_ninety_days() -> None:
    rule = tp.rules.MissedWithinDays(3, 90)
    every_month = timedelta(days=30)
    plan = with_sessions("DDD", every=every_month)  # s0 .. s2 sixty days apart at most
    result = verdict(rule, plan)
    assert result.fired
    assert result.evidence == ("s0", "s1", "s2")
    assert result.reason == "3 missed within 90 days (limit 3)"
    # Exactly 90 days after the first miss it still counts; a minute later it does not.
    ninety_after_first = plan.sessions[0].at + timedelta(days=90)
    assert verdict(rule, plan, ninety_after_first).fired
    late = verdict(rule, plan, ninety_after_first + timedelta(minutes=1))
    assert not late.fired
    assert late.evidence == ("s1", "s2")
    # Only two misses: not yet.
    assert not verdict(rule, with_sessions("DAD", every=every_month)).fired


def test_missed_within_days_ignores_sessions_after_as_of() -> None:
    plan = with_sessions("DDD")
    as_of = plan.sessions[1].at
    result = verdict(tp.rules.MissedWithinDays(2, 90), plan, as_of)
    assert result.evidence == ("s0", "s1")
    assert not verdict(tp.rules.MissedWithinDays(3, 90), plan, as_of).fired


def test_missed_within_days_service_cancellations_and_client_cancellations() -> None:
    plan = with_sessions("DSCD")
    assert not verdict(tp.rules.MissedWithinDays(3, 90), plan).fired
    counted = verdict(tp.rules.MissedWithinDays(3, 90, include_client_cancellations=True), plan)
    assert counted.fired
    assert counted.evidence == ("s0", "s2", "s3")


# --------------------------------------------------------------------------- inactivity
def test_inactivity_counts_whole_days_since_last_attended_session() -> None:
    rule = tp.rules.Inactivity(30)
    plan = with_sessions("AAD")
    last_attended = plan.sessions[1]
    at_limit = last_attended.at + timedelta(days=30)
    result = verdict(rule, plan, at_limit)
    assert result.fired
    assert result.evidence == ("s1",)
    assert result.reason == "30 days since the last contact (limit 30)"
    early = verdict(rule, plan, at_limit - timedelta(minutes=1))
    assert not early.fired
    assert early.reason == "29 days since the last contact (limit 30)"


def test_inactivity_without_contact_counts_from_the_referral() -> None:
    plan = with_sessions("DD")
    result = verdict(tp.rules.Inactivity(30), plan, T0 + timedelta(days=30))
    assert result.fired
    assert result.evidence == ()
    assert not verdict(tp.rules.Inactivity(31), plan, T0 + timedelta(days=30)).fired


def test_inactivity_ignores_sessions_after_as_of() -> None:
    plan = with_sessions("AA", every=timedelta(days=40))
    as_of = plan.sessions[0].at + timedelta(days=35)
    result = verdict(tp.rules.Inactivity(30), plan, as_of)
    assert result.fired
    assert result.evidence == ("s0",)


def test_inactivity_across_a_dst_change_counts_real_time() -> None:
    """London springs forward on 29 March 2026: 90 wall-clock days are 90 days less an hour."""
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    plan = active_plan()
    session_at = datetime(2026, 3, 1, 10, 0, tzinfo=london)
    plan = tp.record_session(plan, tp.Session("s0", session_at, Attendance.ATTENDED))
    same_wall_clock = datetime(2026, 5, 30, 10, 0, tzinfo=london)
    assert not verdict(tp.rules.Inactivity(90), plan, same_wall_clock).fired
    assert verdict(tp.rules.Inactivity(90), plan, same_wall_clock + timedelta(hours=1)).fired


# --------------------------------------------------------------------------- time limit
def test_time_limit_from_agreement() -> None:
    plan = active_plan()
    rule = tp.rules.TimeLimit(180)
    assert verdict(rule, plan, AGREED + timedelta(days=180)).fired
    early = verdict(rule, plan, AGREED + timedelta(days=180) - timedelta(seconds=1))
    assert not early.fired
    assert early.reason == "179 of 180 days elapsed"


def test_time_limit_before_agreement_and_from_referral() -> None:
    referred = tp.TreatmentPlan.refer("plan-1", "client-1", T0, "gp-1")
    result = verdict(tp.rules.TimeLimit(10), referred, T0 + timedelta(days=400))
    assert not result.fired
    assert result.reason == "plan not yet agreed"
    assert verdict(
        tp.rules.TimeLimit(10, from_referral=True), referred, T0 + timedelta(days=10)
    ).fired
    # An agreement after as_of does not count yet.
    plan = active_plan()
    assert verdict(tp.rules.TimeLimit(1), plan, AGREED - timedelta(hours=1)).reason == (
        "plan not yet agreed"
    )


def test_time_limit_restarts_when_a_reopened_episode_is_agreed_again() -> None:
    plan = active_plan()
    steps = [
        (Event.BEGIN_ENDING, 10),
        (Event.COMPLETE, 20),
        (Event.REOPEN, 300),
        (Event.AGREE_PLAN, 310),
    ]
    for event, day in steps:
        plan = tp.fire(plan, event, at=T0 + timedelta(days=day), by=CLINICIAN, reason="r")
    rule = tp.rules.TimeLimit(100)
    assert not verdict(rule, plan, T0 + timedelta(days=400)).fired
    assert verdict(rule, plan, T0 + timedelta(days=410)).fired


# --------------------------------------------------------------------------- client request
def test_client_request_fires_from_a_review() -> None:
    plan = with_sessions("AA")
    review_at = after(plan, 1)
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "r1", review_at, tp.ReviewDecision.BEGIN_ENDING, client_requested_ending=True
        ),
    )
    result = verdict(tp.rules.ClientRequest(), plan, review_at)
    assert result.fired
    assert result.evidence == ("r1",)
    assert result.reason == "client asked to end"
    before = verdict(tp.rules.ClientRequest(), plan, review_at - timedelta(seconds=1))
    assert not before.fired
    assert before.reason == "no request to end recorded"


def test_client_request_not_from_an_ordinary_review() -> None:
    plan = tp.record_review(
        active_plan(), tp.ProgressReview("r1", AGREED, tp.ReviewDecision.CONTINUE)
    )
    assert not verdict(tp.rules.ClientRequest(), plan, AGREED + timedelta(days=1)).fired


# --------------------------------------------------------------------------- composition
def test_any_of_reports_the_rules_that_fired() -> None:
    plan = with_sessions("AADD")
    rule = tp.rules.AnyOf(
        (tp.rules.ConsecutiveMissed(2), tp.rules.SessionLimit(10), tp.rules.MissedInWindow(1, 6))
    )
    result = verdict(rule, plan)
    assert result.fired
    assert result.rule == "any_of"
    assert result.reason == (
        "consecutive_missed: 2 consecutive missed sessions (limit 2); "
        "missed_in_window: 2 missed of the last 4 scheduled (more than 1 of 6 ends)"
    )
    assert result.evidence == ("s2", "s3")  # each record once
    assert [c.rule for c in result.children] == [
        "consecutive_missed",
        "session_limit",
        "missed_in_window",
    ]
    assert [leaf.rule for leaf in result.fired_leaves()] == [
        "consecutive_missed",
        "missed_in_window",
    ]


def test_any_of_nothing_fired() -> None:
    result = verdict(
        tp.rules.AnyOf([tp.rules.SessionLimit(10), tp.rules.ClientRequest()]), with_sessions("A")
    )
    assert not result.fired
    assert result.reason == "no rule fired"
    assert result.evidence == ()
    assert result.fired_leaves() == ()


def test_all_of_waits_for_every_rule() -> None:
    rule = tp.rules.AllOf([tp.rules.SessionLimit(3), tp.rules.ConsecutiveMissed(1)])
    pending = verdict(rule, with_sessions("AAAA"))
    assert not pending.fired
    assert pending.reason == "not yet: consecutive_missed: 0 consecutive missed sessions (limit 1)"
    assert pending.evidence == ()
    assert pending.fired_leaves() == ()  # session_limit fired but explains nothing
    done = verdict(rule, with_sessions("AAAD"))
    assert done.fired
    assert done.reason == (
        "session_limit: 3 of 3 sessions used; "
        "consecutive_missed: 1 consecutive missed sessions (limit 1)"
    )
    assert done.evidence == ("s3",)
    assert [leaf.rule for leaf in done.fired_leaves()] == ["session_limit", "consecutive_missed"]


def test_nested_composition() -> None:
    # Discharge after 12 sessions once goals are met, or on two no-shows in a row.
    rule = tp.rules.AnyOf(
        [
            tp.rules.AllOf([tp.rules.GoalsMet(), tp.rules.SessionLimit(2)]),
            tp.rules.ConsecutiveMissed(2),
        ]
    )
    met = active_plan(objective("o1", achievement=tp.AchievementStatus.ACHIEVED))
    assert not verdict(rule, with_sessions("A", plan=met)).fired
    fired = verdict(rule, with_sessions("AA", plan=met))
    assert fired.fired
    assert [leaf.rule for leaf in fired.fired_leaves()] == ["goals_met", "session_limit"]
    assert verdict(rule, with_sessions("ADD")).fired
    # Rules and plans carrying them round-trip through JSON.
    assert tp.loads(tp.dumps(rule), tp.rules.AnyOf) == rule
    plan = attrs.evolve(met, discharge_criteria=rule)
    assert tp.loads(tp.dumps(plan)) == plan


def test_composites_need_rules() -> None:
    with pytest.raises(tp.ValidationError):
        tp.rules.AnyOf(())
    with pytest.raises(tp.ValidationError):
        tp.rules.AllOf([tp.rules.SessionLimit(1), "not a rule"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "make",
    [
        lambda: tp.rules.SessionLimit(0),
        lambda: tp.rules.SessionLimit(True),  # type: ignore[arg-type]
        lambda: tp.rules.ConsecutiveMissed(0),
        lambda: tp.rules.MissedWithinDays(3, 0),
        lambda: tp.rules.Inactivity(-1),
        lambda: tp.rules.TimeLimit(10, from_referral="yes"),  # type: ignore[arg-type]
        lambda: tp.rules.GoalsMet(objectives=("o1", "o1")),
    ],
)
def test_rule_parameters_are_validated(make: object) -> None:
    with pytest.raises(tp.ValidationError):
        make()  # type: ignore[operator]


def test_evaluate_needs_an_aware_as_of() -> None:
    with pytest.raises(tp.ValidationError, match="as_of"):
        tp.evaluate(tp.rules.SessionLimit(1), active_plan(), datetime(2026, 2, 1))


def test_evaluate_needs_a_rule() -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.evaluate("session_limit", active_plan(), datetime(2026, 2, 1, tzinfo=UTC))  # type: ignore[arg-type]
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("rule", "a termination rule")
    ]


# --------------------------------------------------------------------------- properties
attendance_codes = st.text(alphabet="ADCS", max_size=16)
leaf_rules = st.one_of(
    st.builds(tp.rules.SessionLimit, st.integers(1, 12), st.booleans()),
    st.builds(tp.rules.ConsecutiveMissed, st.integers(1, 4), st.booleans()),
    st.integers(1, 8).flatmap(
        lambda window: st.builds(
            tp.rules.MissedInWindow, st.integers(0, window - 1), st.just(window), st.booleans()
        )
    ),
    st.builds(tp.rules.MissedWithinDays, st.integers(1, 5), st.integers(1, 120), st.booleans()),
    st.builds(tp.rules.Inactivity, st.integers(1, 60)),
    st.builds(tp.rules.TimeLimit, st.integers(1, 200), st.booleans()),
    st.just(tp.rules.GoalsMet()),
    st.just(tp.rules.ClientRequest()),
)
rules = st.recursive(
    leaf_rules,
    lambda children: st.one_of(
        st.builds(tp.rules.AnyOf, st.lists(children, min_size=1, max_size=4)),
        st.builds(tp.rules.AllOf, st.lists(children, min_size=1, max_size=4)),
    ),
    max_leaves=8,
)
as_of_days = st.integers(0, 200)


def _plan(codes: str) -> tp.TreatmentPlan:
    return with_sessions(codes, every=timedelta(days=5))


@given(codes=attendance_codes, children=st.lists(rules, min_size=1, max_size=4), day=as_of_days)
def test_any_of_fires_iff_some_child_fires(
    codes: str, children: list[tp.rules.Rule], day: int
) -> None:
    plan = _plan(codes)
    as_of = T0 + timedelta(days=day)
    singles = [tp.evaluate(r, plan, as_of) for r in children]
    result = tp.evaluate(tp.rules.AnyOf(children), plan, as_of)
    assert result.fired == any(s.fired for s in singles)
    assert result.children == tuple(singles)
    cited = [e for s in singles if s.fired for e in s.evidence]
    assert result.evidence == tuple(dict.fromkeys(cited))


@given(codes=attendance_codes, children=st.lists(rules, min_size=1, max_size=4), day=as_of_days)
def test_all_of_fires_iff_every_child_fires(
    codes: str, children: list[tp.rules.Rule], day: int
) -> None:
    plan = _plan(codes)
    as_of = T0 + timedelta(days=day)
    singles = [tp.evaluate(r, plan, as_of) for r in children]
    result = tp.evaluate(tp.rules.AllOf(children), plan, as_of)
    assert result.fired == all(s.fired for s in singles)
    assert result.children == tuple(singles)
    if result.fired:
        assert result.reason == "; ".join(f"{s.rule}: {s.reason}" for s in singles)
    else:
        assert result.reason.startswith("not yet: ")
        assert result.evidence == ()


@given(codes=attendance_codes, rule=rules, day=as_of_days)
def test_evaluation_is_pure(codes: str, rule: tp.rules.Rule, day: int) -> None:
    plan = _plan(codes)
    snapshot = tp.to_dict(plan)
    rule_snapshot = tp.to_dict(rule)
    as_of = T0 + timedelta(days=day)
    first = tp.evaluate(rule, plan, as_of)
    assert tp.evaluate(rule, plan, as_of) == first
    # The same instant seen from another offset gives the same verdict.
    elsewhere = as_of.astimezone(timezone(timedelta(hours=-7)))
    assert tp.evaluate(rule, plan, elsewhere) == first
    assert tp.evaluate(rule, tp.loads(tp.dumps(plan)), as_of) == first
    assert tp.to_dict(plan) == snapshot
    assert tp.to_dict(rule) == rule_snapshot
    for leaf in first.fired_leaves():
        assert leaf.fired
        assert not leaf.children


def _offered(codes: str) -> str:
    return codes.replace("S", "")


def _missed_flags(codes: str, client: bool) -> list[bool]:
    return [c == "D" or (client and c == "C") for c in _offered(codes)]


@given(codes=attendance_codes, count=st.integers(1, 5), client=st.booleans())
def test_consecutive_missed_matches_trailing_run(codes: str, count: int, client: bool) -> None:
    flags = _missed_flags(codes, client)
    run = len(flags) - next((i + 1 for i in reversed(range(len(flags))) if not flags[i]), 0)
    result = verdict(tp.rules.ConsecutiveMissed(count, client), _plan(codes))
    assert result.fired == (run >= count)
    assert len(result.evidence) == run


@given(codes=attendance_codes, window=st.integers(1, 8), data=st.data())
def test_missed_in_window_matches_count(codes: str, window: int, data: st.DataObject) -> None:
    max_missed = data.draw(st.integers(0, window - 1))
    client = data.draw(st.booleans())
    missed = sum(_missed_flags(codes, client)[-window:])
    result = verdict(tp.rules.MissedInWindow(max_missed, window, client), _plan(codes))
    assert result.fired == (missed > max_missed)
    assert len(result.evidence) == missed


@given(codes=attendance_codes, limit=st.integers(1, 12), count_missed=st.booleans())
def test_session_limit_matches_count(codes: str, limit: int, count_missed: bool) -> None:
    used = len(_offered(codes)) if count_missed else codes.count("A")
    result = verdict(tp.rules.SessionLimit(limit, count_missed), _plan(codes))
    assert result.fired == (used >= limit)


@given(codes=attendance_codes, rule=rules)
def test_service_cancellations_never_change_a_verdict(codes: str, rule: tp.rules.Rule) -> None:
    """A session the service cancelled was never offered: dropping it changes nothing."""
    with_cancellations = _plan(codes)
    as_of = after(with_cancellations, 1)
    kept = [
        s
        for s in with_cancellations.sessions
        if s.attendance is not Attendance.CANCELLED_BY_SERVICE
    ]
    without = attrs.evolve(with_cancellations, sessions=tuple(kept))
    assert tp.evaluate(rule, with_cancellations, as_of) == tp.evaluate(rule, without, as_of)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 200),
    st.integers(1, 200),
    st.lists(st.floats(0.01, 1.0, allow_nan=False).map(lambda f: round(f, 3)), max_size=4),
)
def test_crossed_fractions_compare_exactly(used: int, total: int, fractions: list[float]) -> None:
    from fractions import Fraction

    from treatplan._evaluation import crossed_fractions

    warn_at = tuple(fractions)
    expected = [f for f in warn_at if used >= Fraction(str(f)) * total]
    assert crossed_fractions(used, total, warn_at) == expected
    assert crossed_fractions(7, 25, (0.28,)) == [0.28]  # 0.28 * 25 is 7.000000000000001


# --------------------------------------------------------------------------- remembered verdicts
_R = tp.rules
_LEAVES = (
    _R.SessionLimit(3),
    _R.SessionLimit(2, count_missed=True),
    _R.ConsecutiveMissed(1),
    _R.ConsecutiveMissed(2, include_client_cancellations=True),
    _R.ClientRequest(),
    _R.SustainedRecovery(1, ("PHQ-9",)),
    _R.SustainedRecovery(2, ("PHQ-9", "GAD-7")),
    _R.Inactivity(14),
)
#: Rule objects shared by every example below, so each is evaluated on many plans at
#: many times and its remembered verdicts (treatplan._evaluation._MADE) are reused.
_SHARED_RULES = (
    *_LEAVES,
    _R.AnyOf(_LEAVES[:4]),
    _R.AnyOf((_R.AnyOf((_LEAVES[1], _LEAVES[4])), _R.AllOf((_LEAVES[2], _LEAVES[5])), _LEAVES[6])),
    _R.AllOf((_LEAVES[0], _LEAVES[4])),
)


def _record_times(plan: tp.TreatmentPlan) -> list[datetime]:
    """Each record's and event's time, a second either side, and far before and after."""
    times = [s.at for s in plan.sessions] + [r.at for r in plan.reviews]
    times += [a.administered_at for a in plan.all_assessments()]
    times += [t.at for t in plan.history]
    around = {t + timedelta(seconds=d) for t in times for d in (-1, 0, 1)}
    return [datetime(2000, 1, 1, tzinfo=UTC), *sorted(around), max(times) + timedelta(days=400)]


def _outcome(rule: tp.rules.Rule, plan: tp.TreatmentPlan, as_of: datetime) -> object:
    try:
        return tp.evaluate(rule, plan, as_of)
    except tp.TreatplanError as e:
        return type(e), str(e)


@settings(max_examples=30, deadline=None)
@given(plan=treatment_plans(max_records=10), squeezed=st.booleans())
def test_remembered_verdicts_equal_fresh_ones_on_any_plan_at_any_time(
    plan: tp.TreatmentPlan, squeezed: bool
) -> None:
    """The same rule objects, evaluated on every generated plan as of times around each
    record (cancellations, client requests, scores after ``as_of``, nested in composites):
    each verdict equals that of a fresh copy of the rule, which has nothing remembered.
    ``squeezed``: with room for one verdict per rule and three rules, so that tables
    start afresh and rules' tables are dropped all the time."""
    with pytest.MonkeyPatch.context() as patch:
        if squeezed:
            patch.setattr(_evaluation, "_MADE_PER_RULE", 1)
            patch.setattr(_evaluation, "_MADE", IdentityCache(3))
        for as_of in _record_times(plan):
            for rule in _SHARED_RULES:
                fresh = _outcome(copy.deepcopy(rule), plan, as_of)
                assert _outcome(rule, plan, as_of) == fresh


def test_remembered_verdicts_shared_by_threads_equal_fresh_ones() -> None:
    """Two threads evaluating the same rule objects on the same plans at once (each
    in its own order) find the verdicts one thread alone makes afresh."""
    plans = [
        with_sessions(codes, plan=active_plan()) for codes in ("ADDA", "DCDC", "AAADD", "SDSD")
    ]
    jobs = [(p, after(p, d)) for p in plans for d in (-8.0, -1.0, 0.0, 30.0)]
    expected = [[_outcome(copy.deepcopy(r), p, t) for r in _SHARED_RULES] for p, t in jobs]

    def run(order: list[tuple[tp.TreatmentPlan, datetime]]) -> list[list[object]]:
        return [[_outcome(r, p, t) for r in _SHARED_RULES] for p, t in order]

    with ThreadPoolExecutor(2) as pool:
        forward = pool.submit(run, jobs)
        backward = pool.submit(run, jobs[::-1])
        assert forward.result() == expected
        assert backward.result() == expected[::-1]


def test_an_unfired_any_of_is_remembered_only_when_its_children_are() -> None:
    """An unfired AnyOf is remembered by its children's verdicts: one with a child
    whose verdict is made afresh every time (Inactivity) would add an entry at every
    evaluation that is never found again, so it is not remembered at all."""
    plan = with_sessions("AA", plan=active_plan())
    as_of = after(plan, 1.0)
    remembered = _R.AnyOf((_R.SessionLimit(9), _R.AnyOf((_R.ConsecutiveMissed(3),))))
    fresh_child = _R.AnyOf((_R.Inactivity(300), _R.SessionLimit(9)))
    nested = _R.AnyOf((_R.SessionLimit(9), fresh_child))
    for _ in range(5):
        assert not tp.evaluate(remembered, plan, as_of).fired
        assert not tp.evaluate(nested, plan, as_of).fired
    assert len(_evaluation._MADE.get(remembered) or {}) == 1
    assert tp.evaluate(remembered, plan, as_of) is tp.evaluate(remembered, plan, as_of)
    assert not _evaluation._MADE.get(fresh_child)
    assert not _evaluation._MADE.get(nested)
    assert tp.evaluate(nested, plan, as_of) == tp.evaluate(copy.deepcopy(nested), plan, as_of)
