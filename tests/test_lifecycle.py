"""The lifecycle state machine: transitions, guards, recording phases, history invariants.

Plans are built here by hand (not with treatplan.strategies) so these tests stand alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import treatplan as tp
from treatplan import Event, Phase
from treatplan._lifecycle import latest_time

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
CLINICIAN = "clin-1"
OFFSETS = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
)
#: Events that must carry a reason (docs/references.md#lifecycle-and-fhir: ending and
#: closing carry a reason; pausing and reopening are explained too).
REASON_EVENTS = frozenset(
    {
        Event.PAUSE,
        Event.BEGIN_ENDING,
        Event.RESUME_TREATMENT,
        Event.COMPLETE,
        Event.DROP_OUT,
        Event.TRANSFER,
        Event.DECLINE,
        Event.CANCEL,
        Event.REOPEN,
    }
)
FIRABLE = tuple(e for e in Event if e is not Event.REFER)
DEAD = {
    tp.ObjectiveStatus.CANCELLED,
    tp.ObjectiveStatus.ENTERED_IN_ERROR,
    tp.ObjectiveStatus.REJECTED,
}

PHQ9_ITEMS = (2, 2, 2, 2, 1, 2, 2, 1, 1)
GAD7_ITEMS = (2, 1, 2, 1, 1, 1, 1)


# --------------------------------------------------------------------------- building plans
def objective(
    oid: str,
    instrument: str = "PHQ-9",
    status: tp.ObjectiveStatus = tp.ObjectiveStatus.ACTIVE,
) -> tp.Objective:
    return tp.Objective(
        oid,
        "Score below the caseness threshold",
        tp.MeasureTarget(instrument, tp.Comparator.BELOW, 10),
        date(2026, 6, 1),
        status=status,
    )


def behaviour_objective(oid: str) -> tp.Objective:
    return tp.Objective(
        oid,
        "Walk three times a week",
        tp.BehaviourTarget("walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK),
        date(2026, 6, 1),
    )


def goal(gid: str, *objectives: tp.Objective) -> tp.Goal:
    return tp.Goal(gid, "Feel like myself again", tp.GoalDomain.EMOTIONAL_WELLBEING, objectives)


def intervention(iid: str, *serves: str) -> tp.Intervention:
    return tp.Intervention(iid, tp.Modality.CBT, "behavioural activation", serves=serves)


def phq9(aid: str, at: datetime, items: Sequence[int] = PHQ9_ITEMS) -> tp.Assessment:
    return tp.Assessment(aid, "PHQ-9", at, items=tuple(items))


def referred(at: datetime = T0) -> tp.TreatmentPlan:
    return tp.TreatmentPlan.refer("plan-1", "client-1", at, "gp-1", reason="GP referral")


def ready(at: datetime = T0) -> tp.TreatmentPlan:
    """A referred plan with everything agree_plan needs: goal, served objective, baseline."""
    plan = tp.revise(
        referred(at),
        goals=[goal("g1", objective("o1"))],
        interventions=[intervention("i1", "o1")],
    )
    return tp.record_assessment(plan, phq9("a-base", at))


#: Events from a ready plan in ``referred`` to each phase.
ROUTES: dict[Phase, tuple[Event, ...]] = {
    Phase.REFERRED: (),
    Phase.WAITLISTED: (Event.WAITLIST,),
    Phase.ASSESSING: (Event.BEGIN_ASSESSMENT,),
    Phase.ACTIVE: (Event.BEGIN_ASSESSMENT, Event.AGREE_PLAN),
    Phase.ON_HOLD: (Event.BEGIN_ASSESSMENT, Event.AGREE_PLAN, Event.PAUSE),
    Phase.ENDING: (Event.BEGIN_ASSESSMENT, Event.AGREE_PLAN, Event.BEGIN_ENDING),
    Phase.FOLLOW_UP: (
        Event.BEGIN_ASSESSMENT,
        Event.AGREE_PLAN,
        Event.BEGIN_ENDING,
        Event.START_FOLLOW_UP,
    ),
    Phase.CLOSED: (Event.CANCEL,),
}


def plan_in(phase: Phase, plan: tp.TreatmentPlan | None = None) -> tp.TreatmentPlan:
    plan = ready() if plan is None else plan
    for day, event in enumerate(ROUTES[phase], start=1):
        plan = tp.fire(plan, event, at=T0 + timedelta(days=day), by=CLINICIAN, reason="planned")
    assert plan.phase is phase
    return plan


def later(plan: tp.TreatmentPlan, days: float = 1) -> datetime:
    return plan.last_event_at + timedelta(days=days)


# --------------------------------------------------------------------------- the table
def test_table_matches_domain_phases() -> None:
    """docs/references.md#lifecycle-and-fhir: the phases, and closing events set their outcome."""
    assert {p.value for p in Phase} == {
        "referred",
        "waitlisted",
        "assessing",
        "active",
        "on_hold",
        "ending",
        "follow_up",
        "closed",
    }
    closing = {e for e, spec in tp.lifecycle.TRANSITIONS.items() if spec.target is Phase.CLOSED}
    assert closing == {"complete", "drop_out", "transfer", "decline", "cancel"}
    for name in closing:
        assert tp.lifecycle.TRANSITIONS[name].outcome is not None
    assert all(
        (spec.outcome is None) == (spec.target is not Phase.CLOSED)
        for spec in tp.lifecycle.TRANSITIONS.values()
    )
    assert set(tp.lifecycle.TRANSITIONS) == {e.value for e in Event}


def test_every_open_phase_can_be_left_and_closed_only_reopens() -> None:
    for phase in Phase:
        leaving = {e for e, spec in tp.lifecycle.TRANSITIONS.items() if phase in spec.sources}
        if phase is Phase.CLOSED:
            assert leaving == {"reopen"}
        else:
            assert "transfer" in leaving
            assert len(leaving) >= 2


def test_mermaid_draws_every_transition() -> None:
    text = tp.lifecycle.mermaid()
    assert text.startswith("stateDiagram-v2\n")
    assert "[*] --> referred: refer" in text
    arrows = {
        line.split(":")[0].strip(): line.split(":", 1)[1].strip()
        for line in text.splitlines()[2:-1]
    }
    pairs = set()
    for spec in tp.lifecycle.TRANSITIONS.values():
        for source in spec.sources:
            label = spec.event.value
            if spec.outcome is not None:
                label += f" ({spec.outcome.value})"
            pair = f"{source.value} --> {spec.target.value}"
            assert label in arrows[pair].split(", ")
            pairs.add(pair)
    # One arrow per pair of phases, plus the start and end markers.
    assert text.count("-->") == len(pairs) + 2
    assert "closed --> [*]" in text


# --------------------------------------------------------------------------- firing
def test_fire_appends_one_record_and_leaves_input_alone() -> None:
    plan = ready()
    snapshot = tp.to_dict(plan)
    at = later(plan).astimezone(OFFSETS[1])
    new = tp.fire(plan, "waitlist", at=at, by=CLINICIAN, reason="no slot yet")
    assert tp.to_dict(plan) == snapshot
    assert plan.phase is Phase.REFERRED
    assert new.phase is Phase.WAITLISTED
    assert new.history[:-1] == plan.history
    assert new.history[-1] == tp.Transition(
        "waitlist", Phase.REFERRED, Phase.WAITLISTED, at, CLINICIAN, "no slot yet"
    )
    assert new.outcome is None
    # Everything but the history is shared, untouched.
    assert attrs.evolve(new, history=plan.history) == plan


def test_closing_records_the_outcome_and_reopen_clears_it() -> None:
    plan = plan_in(Phase.ENDING)
    closed = tp.fire(plan, Event.COMPLETE, at=later(plan), by=CLINICIAN, reason="goals met")
    assert closed.phase is Phase.CLOSED
    assert closed.outcome is tp.EpisodeOutcome.COMPLETED
    assert closed.history[-1].reason == "goals met"
    reopened = tp.fire(closed, Event.REOPEN, at=later(closed), by=CLINICIAN, reason="relapse")
    assert reopened.phase is Phase.ASSESSING
    assert reopened.outcome is None


@pytest.mark.parametrize(
    ("phase", "event", "outcome"),
    [
        (Phase.ENDING, Event.COMPLETE, tp.EpisodeOutcome.COMPLETED),
        (Phase.FOLLOW_UP, Event.COMPLETE, tp.EpisodeOutcome.COMPLETED),
        (Phase.ACTIVE, Event.DROP_OUT, tp.EpisodeOutcome.DROPPED_OUT),
        (Phase.FOLLOW_UP, Event.TRANSFER, tp.EpisodeOutcome.TRANSFERRED),
        (Phase.ASSESSING, Event.DECLINE, tp.EpisodeOutcome.DECLINED),
        (Phase.WAITLISTED, Event.CANCEL, tp.EpisodeOutcome.CANCELLED),
    ],
)
def test_each_closing_event_sets_its_outcome(
    phase: Phase, event: Event, outcome: tp.EpisodeOutcome
) -> None:
    plan = plan_in(phase)
    closed = tp.fire(plan, event, at=later(plan), by=CLINICIAN, reason="why")
    assert closed.outcome is outcome
    assert tp.loads(tp.dumps(closed)) == closed


def test_event_from_wrong_phase_names_phase_event_and_allowed_sources() -> None:
    plan = ready()
    with pytest.raises(tp.TransitionError) as info:
        tp.fire(plan, Event.AGREE_PLAN, at=later(plan), by=CLINICIAN)
    err = info.value
    assert err.phase == "referred"
    assert err.event == "agree_plan"
    assert err.reasons == ("agree_plan is allowed only from assessing",)
    assert "agree_plan" in str(err)
    assert "referred" in str(err)


def test_closed_episode_changes_only_through_reopen() -> None:
    closed = plan_in(Phase.CLOSED)
    for event in FIRABLE:
        if event is Event.REOPEN:
            continue
        with pytest.raises(tp.TransitionError) as info:
            tp.fire(closed, event, at=later(closed), by=CLINICIAN, reason="why")
        assert info.value.reasons == ("a closed episode changes only through reopen",)
        assert info.value.phase == "closed"
    for record in (
        lambda p: tp.record_session(p, tp.Session("s-x", later(p), tp.Attendance.ATTENDED)),
        lambda p: tp.record_assessment(p, phq9("a-x", later(p))),
        lambda p: tp.record_review(
            p, tp.ProgressReview("r-x", later(p), tp.ReviewDecision.CONTINUE)
        ),
        lambda p: tp.revise(p, goals=()),
    ):
        with pytest.raises(tp.TransitionError):
            record(closed)
    assert tp.fire(closed, "reopen", at=later(closed), by=CLINICIAN, reason="x").phase is (
        Phase.ASSESSING
    )


def test_event_time_may_not_go_backwards() -> None:
    plan = plan_in(Phase.WAITLISTED)
    with pytest.raises(tp.TransitionError) as info:
        tp.fire(plan, "begin_assessment", at=later(plan, -1 / 24), by=CLINICIAN)
    assert info.value.reasons == ("event time is before the last recorded transition",)
    # The same instant is allowed, in any offset.
    same = plan.last_event_at.astimezone(OFFSETS[2])
    assert tp.fire(plan, "begin_assessment", at=same, by=CLINICIAN).phase is Phase.ASSESSING


def test_event_time_compares_instants_across_a_dst_fold() -> None:
    """In one zone, 01:45 before the clocks go back is earlier than 01:15 after it."""
    london = ZoneInfo("Europe/London")
    after_change = datetime(2026, 10, 25, 1, 15, fold=1, tzinfo=london)  # 01:15 UTC
    before_change = datetime(2026, 10, 25, 1, 45, fold=0, tzinfo=london)  # 00:45 UTC
    plan = referred(after_change)
    with pytest.raises(tp.TransitionError, match="before the last recorded transition"):
        tp.fire(plan, "waitlist", at=before_change, by=CLINICIAN)
    a_bit_later = datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=london)
    assert tp.fire(plan, "waitlist", at=a_bit_later, by=CLINICIAN).phase is Phase.WAITLISTED


def test_malformed_arguments_raise_validation_error() -> None:
    plan = ready()
    at = later(plan)
    bad_calls = [
        {"event": "no_such_event", "at": at, "by": CLINICIAN},
        {"event": "refer", "at": at, "by": CLINICIAN},
        {"event": "waitlist", "at": at.replace(tzinfo=None), "by": CLINICIAN},
        {"event": "waitlist", "at": at, "by": "Dr Jane Smith"},
        {"event": "waitlist", "at": at, "by": CLINICIAN, "reason": 42},
        {"event": "waitlist", "at": at, "by": CLINICIAN, "reason": "x" * 10_001},
    ]
    for call in bad_calls:
        event = call.pop("event")
        with pytest.raises(tp.ValidationError):
            tp.fire(plan, event, **call)  # type: ignore[arg-type]
        with pytest.raises(tp.ValidationError):
            tp.check_event(plan, event, **call)  # type: ignore[arg-type]
    with pytest.raises(tp.ValidationError) as info:
        tp.fire(plan, "waitlist", at=at, by="Dr Jane Smith")
    assert "Jane" not in str(info.value)


@pytest.mark.parametrize("event", sorted(REASON_EVENTS))
@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_reason_required(event: Event, reason: str | None) -> None:
    source = next(iter(sorted(tp.lifecycle.TRANSITIONS[event].sources)))
    plan = plan_in(source)
    with pytest.raises(tp.TransitionError) as info:
        tp.fire(plan, event, at=later(plan), by=CLINICIAN, reason=reason)
    assert "a reason is required" in info.value.reasons
    assert tp.fire(plan, event, at=later(plan), by=CLINICIAN, reason="client moved").phase is (
        tp.lifecycle.TRANSITIONS[event].target
    )


def test_events_without_reason_guard_record_blank_reason_as_none() -> None:
    plan = ready()
    new = tp.fire(plan, "waitlist", at=later(plan), by=CLINICIAN, reason="  ")
    assert new.history[-1].reason is None
    assert tp.fire(plan, "waitlist", at=later(plan), by=CLINICIAN).history[-1].reason is None


# --------------------------------------------------------------------------- the fast path
# fire builds its record and the new plan without re-running validators (it is on
# every lifecycle operation); these tests hold that shortcut to the validating path.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
valid_refs = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}", fullmatch=True)
refs = st.one_of(valid_refs, valid_refs, valid_refs, st.text(max_size=140))
reason_values = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from([" \t\n", "x" * 10_000, "x" * 10_001, " " * 10_001]),
)
event_times = st.datetimes(
    min_value=datetime(2000, 1, 2), timezones=st.sampled_from([*OFFSETS, None])
)


@settings(max_examples=200)
@given(by=refs, reason=reason_values, at=event_times)
def test_fire_accepts_exactly_the_records_transition_accepts(
    by: str, reason: str | None, at: datetime
) -> None:
    plan = referred(EPOCH)
    # fire records a blank reason as none; otherwise the record must be what the
    # validating constructor would build, and fire must refuse what it refuses.
    normal = None if reason is not None and not reason.strip() else reason
    expected: tp.Transition | None
    try:
        expected = tp.Transition("waitlist", Phase.REFERRED, Phase.WAITLISTED, at, by, normal)
    except tp.ValidationError:
        expected = None
    if expected is None:
        with pytest.raises(tp.ValidationError):
            tp.fire(plan, "waitlist", at=at, by=by, reason=reason)
        with pytest.raises(tp.ValidationError):
            tp.check_event(plan, "waitlist", at=at, by=by, reason=reason)
        return
    new = tp.fire(plan, "waitlist", at=at, by=by, reason=reason)
    assert new.history[-1] == expected
    attrs.validate(new.history[-1])
    assert tp.check_event(plan, "waitlist", at=at, by=by, reason=reason).allowed


def test_who_fires_is_an_opaque_reference() -> None:
    plan = ready()
    for bad in ("clin 1", "", ["clin-1"], None):
        with pytest.raises(tp.ValidationError, match="by"):
            tp.fire(plan, "waitlist", at=later(plan), by=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- agree_plan guards
def assessing(**content: object) -> tp.TreatmentPlan:
    plan = tp.revise(referred(), **content)  # type: ignore[arg-type]
    return tp.fire(plan, "begin_assessment", at=later(plan), by=CLINICIAN)


def agree_failures(plan: tp.TreatmentPlan) -> tuple[str, ...]:
    with pytest.raises(tp.TransitionError) as info:
        tp.fire(plan, "agree_plan", at=later(plan), by=CLINICIAN)
    assert info.value.phase == "assessing"
    assert info.value.event == "agree_plan"
    for reason in info.value.reasons:
        assert reason in str(info.value)
    return info.value.reasons


def test_agree_plan_needs_a_baseline_assessment() -> None:
    plan = assessing(
        goals=[goal("g1", behaviour_objective("o1"))], interventions=[intervention("i1", "o1")]
    )
    assert agree_failures(plan) == ("a baseline assessment is required before the plan is agreed",)
    # A baseline taken at an attended session counts too.
    session = tp.Session(
        "s1", later(plan), tp.Attendance.ATTENDED, assessments=(phq9("a1", later(plan)),)
    )
    with_session = tp.record_session(plan, session)
    agreed = tp.fire(with_session, "agree_plan", at=later(with_session), by=CLINICIAN)
    assert agreed.phase is Phase.ACTIVE


def test_agree_plan_needs_a_goal_with_objectives() -> None:
    plan = tp.record_assessment(assessing(), phq9("a1", T0))
    assert agree_failures(plan) == ("at least one goal with a measurable objective is required",)
    plan = tp.revise(plan, goals=[goal("g1")])
    assert agree_failures(plan) == ("at least one goal with a measurable objective is required",)


def test_agree_plan_needs_every_live_objective_served() -> None:
    plan = assessing(
        goals=[goal("g1", objective("o1"), behaviour_objective("o2"))],
        interventions=[intervention("i1", "o1")],
    )
    plan = tp.record_assessment(plan, phq9("a1", T0))
    # Named by path, never by id (ids can carry clinical text).
    assert agree_failures(plan) == (
        "objectives not served by any intervention: $.goals[0].objectives[1]",
    )
    # A cancelled objective need not be served.
    cancelled = attrs.evolve(behaviour_objective("o2"), status=tp.ObjectiveStatus.CANCELLED)
    plan = tp.revise(plan, goals=[goal("g1", objective("o1"), cancelled)])
    assert tp.fire(plan, "agree_plan", at=later(plan), by=CLINICIAN).phase is Phase.ACTIVE


def test_agree_plan_needs_baselines_for_measure_targets() -> None:
    plan = assessing(
        goals=[goal("g1", objective("o1"), objective("o2", "GAD-7"))],
        interventions=[intervention("i1", "o1", "o2")],
    )
    plan = tp.record_assessment(plan, phq9("a1", T0))
    assert agree_failures(plan) == (
        "no baseline score for the instrument of objective targets: "
        "$.goals[0].objectives[1].target.instrument",
    )
    plan = tp.record_assessment(plan, tp.Assessment("a2", "GAD-7", T0, items=GAD7_ITEMS))
    assert tp.fire(plan, "agree_plan", at=later(plan), by=CLINICIAN).phase is Phase.ACTIVE


def test_agree_plan_error_names_every_failed_guard_and_the_time() -> None:
    plan = assessing(goals=[goal("g1", objective("o1"))])
    with pytest.raises(tp.TransitionError) as info:
        tp.fire(plan, "agree_plan", at=later(plan, -2), by=CLINICIAN)
    expected = (
        "event time is before the last recorded transition",
        "a baseline assessment is required before the plan is agreed",
        "objectives not served by any intervention: $.goals[0].objectives[0]",
        "no baseline score for the instrument of objective targets: "
        "$.goals[0].objectives[0].target.instrument",
    )
    assert info.value.reasons == expected
    message = str(info.value)
    assert message.startswith("agree_plan is not allowed in phase assessing: ")
    for reason in expected:
        assert reason in message
    check = tp.check_event(plan, "agree_plan", at=later(plan, -2))
    assert not check.allowed
    assert check.reasons == expected
    assert check.target is Phase.ACTIVE


# --------------------------------------------------------------------------- allowed_events
def test_allowed_events_lists_every_event_with_reasons() -> None:
    plan = plan_in(Phase.ACTIVE)
    checks = {c.event: c for c in tp.allowed_events(plan)}
    assert set(checks) == set(FIRABLE)
    allowed = {e for e, c in checks.items() if c.allowed}
    assert allowed == {Event.PAUSE, Event.BEGIN_ENDING, Event.DROP_OUT, Event.TRANSFER}
    for c in checks.values():
        assert c.allowed == (not c.reasons)
        assert c.target is tp.lifecycle.TRANSITIONS[c.event].target
    without_reason = {c.event for c in tp.allowed_events(plan, reason=None) if c.allowed}
    assert without_reason == set()
    earlier = {c.event for c in tp.allowed_events(plan, at=later(plan, -1)) if c.allowed}
    assert earlier == set()


# --------------------------------------------------------------------------- recording phases
EXPECTED_RECORDING = {
    "assessment": set(Phase) - {Phase.CLOSED},
    "session": {Phase.ASSESSING, Phase.ACTIVE, Phase.ENDING, Phase.FOLLOW_UP},
    "review": {Phase.ACTIVE, Phase.ON_HOLD, Phase.ENDING, Phase.FOLLOW_UP},
    "revision": set(Phase) - {Phase.CLOSED, Phase.FOLLOW_UP},
}


def test_recording_phases_table() -> None:
    assert {k: set(v) for k, v in tp.lifecycle.RECORDING_PHASES.items()} == EXPECTED_RECORDING


def _record(kind: str, plan: tp.TreatmentPlan) -> tp.TreatmentPlan:
    at = later(plan)
    if kind == "assessment":
        return tp.record_assessment(plan, phq9("a-new", at))
    if kind == "session":
        return tp.record_session(
            plan, tp.Session("s-new", at, tp.Attendance.ATTENDED, interventions=("i1",))
        )
    if kind == "review":
        progress = (tp.ObjectiveProgress("o1", tp.AchievementStatus.IMPROVING),)
        return tp.record_review(
            plan, tp.ProgressReview("r-new", at, tp.ReviewDecision.CONTINUE, progress)
        )
    return tp.revise(plan, interventions=[intervention("i1", "o1"), intervention("i2", "o1")])


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("kind", sorted(EXPECTED_RECORDING))
def test_recording_only_in_allowed_phases(phase: Phase, kind: str) -> None:
    plan = plan_in(phase)
    snapshot = tp.to_dict(plan)
    if phase in EXPECTED_RECORDING[kind]:
        new = _record(kind, plan)
        assert new != plan
        assert new.history == plan.history
        assert tp.loads(tp.dumps(new)) == new
    else:
        with pytest.raises(tp.TransitionError) as info:
            _record(kind, plan)
        assert info.value.phase == phase.value
        assert kind in info.value.event
    assert tp.to_dict(plan) == snapshot


def test_recorded_records_are_checked() -> None:
    plan = plan_in(Phase.ACTIVE)
    cases = [
        # Duplicate id, unknown intervention, an assessment item out of range.
        lambda: tp.record_session(plan, tp.Session("o1", later(plan), tp.Attendance.ATTENDED)),
        lambda: tp.record_session(
            plan, tp.Session("s1", later(plan), tp.Attendance.ATTENDED, interventions=("i9",))
        ),
        lambda: tp.record_session(
            plan,
            tp.Session(
                "s1",
                later(plan),
                tp.Attendance.ATTENDED,
                assessments=(phq9("a1", later(plan), (4, 0, 0, 0, 0, 0, 0, 0, 0)),),
            ),
        ),
        lambda: tp.record_session(
            plan, tp.Session("s1", T0 - timedelta(days=1), tp.Attendance.ATTENDED)
        ),
        lambda: tp.record_assessment(plan, phq9("a-base", later(plan))),
        lambda: tp.record_assessment(plan, tp.Assessment("a1", "XYZ-1", later(plan), total=3)),
        lambda: tp.record_assessment(plan, phq9("a1", T0 - timedelta(days=1))),
        lambda: tp.record_review(
            plan,
            tp.ProgressReview(
                "r1",
                later(plan),
                tp.ReviewDecision.CONTINUE,
                (tp.ObjectiveProgress("o9", tp.AchievementStatus.IMPROVING),),
            ),
        ),
        lambda: tp.record_session(plan, "not a session"),  # type: ignore[arg-type]
        lambda: tp.revise(plan, history=()),
        lambda: tp.revise(plan, no_such_field=1),
        lambda: tp.revise(plan, goals=[]),  # intervention i1 would serve a missing objective
    ]
    for case in cases:
        with pytest.raises(tp.ValidationError):
            case()
    first = tp.record_session(plan, tp.Session("s1", later(plan, 2), tp.Attendance.ATTENDED))
    with pytest.raises(tp.ValidationError, match="previous session"):
        tp.record_session(first, tp.Session("s2", later(plan, 1), tp.Attendance.ATTENDED))


def test_result_of_every_operation_is_a_fully_valid_plan() -> None:
    """The hot paths skip revalidation; rebuilding through the constructor must agree."""
    plan = plan_in(Phase.ACTIVE)
    plan = tp.record_session(
        plan,
        tp.Session(
            "s1",
            later(plan),
            tp.Attendance.ATTENDED,
            interventions=("i1",),
            assessments=(phq9("a1", later(plan)),),
        ),
    )
    plan = tp.record_review(
        plan, tp.ProgressReview("r1", later(plan, 2), tp.ReviewDecision.CONTINUE)
    )
    plan = tp.fire(plan, "pause", at=later(plan, 3), by=CLINICIAN, reason="admission")
    rebuilt = tp.TreatmentPlan(**{f.name: getattr(plan, f.name) for f in attrs.fields(type(plan))})
    assert rebuilt == plan


# --------------------------------------------------------------------------- the state machine
def expected_failures(
    plan: tp.TreatmentPlan, event: Event, at: datetime, reason: str | None
) -> bool:
    """An oracle written apart from the library's guards: would ``event`` be refused?"""
    spec = tp.lifecycle.TRANSITIONS[event.value]
    if plan.phase not in spec.sources:
        return True
    if at.astimezone(UTC) < plan.last_event_at.astimezone(UTC):
        return True
    if any(at.astimezone(UTC) < t for t in record_instants(plan)):
        return True  # no event before the latest record
    if event in REASON_EVENTS and (reason is None or not reason.strip()):
        return True
    if event is Event.AGREE_PLAN:
        assessed = {a.instrument for a in plan.assessments} | {
            a.instrument for s in plan.sessions for a in s.assessments
        }
        live = [o for o in plan.objectives if o.status not in DEAD]
        served = {o for i in plan.interventions for o in i.serves}
        measured = {o.target.instrument for o in live if isinstance(o.target, tp.MeasureTarget)}
        if (
            not assessed
            or not any(g.objectives for g in plan.goals)
            or any(o.id not in served for o in live)
            or not measured <= assessed
        ):
            return True
    return False


def record_instants(plan: tp.TreatmentPlan) -> list[datetime]:
    """The UTC instants of every session, assessment and review of ``plan``."""
    times = [s.at for s in plan.sessions] + [r.at for r in plan.reviews]
    times += [a.administered_at for a in plan.all_assessments()]
    return [t.astimezone(UTC) for t in times]


def dated_in_allowed_phase(plan: tp.TreatmentPlan, when: datetime, kind: str) -> bool:
    """An oracle apart from the library's: at ``when``, was the plan in a phase that
    allows a record of ``kind``? At an instant with events, the phase before them and
    every phase they enter count (records and events at one instant come in any order)."""
    instant = when.astimezone(UTC)
    before = [t for t in plan.history if t.at.astimezone(UTC) < instant]
    at = [t for t in plan.history if t.at.astimezone(UTC) == instant]
    phases = {t.target for t in at} | ({before[-1].target} if before else set())
    return bool(phases & tp.lifecycle.RECORDING_PHASES[kind])


#: Plan content the machine can revise to: complete, and each way of being incomplete.
CONTENTS = {
    "complete": ([goal("g1", objective("o1"))], [intervention("i1", "o1")]),
    "no_goal": ([], []),
    "empty_goal": ([goal("g1")], []),
    "unserved": (
        [goal("g1", objective("o1"), behaviour_objective("o2"))],
        [intervention("i1", "o1")],
    ),
    "cancelled_unserved": (
        [
            goal(
                "g1",
                objective("o1"),
                objective("o2", status=tp.ObjectiveStatus.CANCELLED),
            )
        ],
        [intervention("i1", "o1")],
    ),
    "gad7_target": ([goal("g1", objective("o1", "GAD-7"))], [intervention("i1", "o1")]),
}

deltas = st.one_of(
    st.integers(min_value=-3 * 24 * 60, max_value=-1),  # backwards
    st.integers(min_value=0, max_value=14 * 24 * 60),
).map(lambda minutes: timedelta(minutes=minutes))
offsets = st.sampled_from(OFFSETS)
reasons = st.sampled_from([None, "", "  ", "client asked", "clinical decision", "planned"])
rarely = st.sampled_from([False, False, False, True])


class LifecycleMachine(RuleBasedStateMachine):
    """Random events and records, allowed or not, at random (sometimes earlier) times."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = referred()
        self.ids = itertools.count()

    @initialize(start=st.integers(0, 10**6), offset=offsets, prepared=st.booleans())
    def start(self, start: int, offset: timezone, prepared: bool) -> None:
        at = (T0 + timedelta(minutes=start)).astimezone(offset)
        # A prepared plan already has what agree_plan needs, so runs reach the later phases.
        self.plan = ready(at) if prepared else referred(at)

    # -- helpers -----------------------------------------------------------
    def fresh_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def used_ids(self) -> list[str]:
        plan = self.plan
        ids = [g.id for g in plan.goals] + [o.id for o in plan.objectives]
        ids += [a.id for a in plan.all_assessments()] + [s.id for s in plan.sessions]
        return ids + [r.id for r in plan.reviews] + [i.id for i in plan.interventions]

    def attempt(
        self,
        operation: Callable[[], tp.TreatmentPlan],
        should_fail: bool,
        kinds: tuple[type[Exception], ...],
    ) -> None:
        before = self.plan
        snapshot = tp.to_dict(before)
        try:
            new = operation()
        except kinds:
            assert should_fail, "a valid operation was refused"
            assert self.plan is before
            assert tp.to_dict(before) == snapshot
            return
        assert not should_fail, "an invalid operation was accepted"
        assert tp.to_dict(before) == snapshot
        assert isinstance(new, tp.TreatmentPlan)
        if before.phase is Phase.CLOSED:
            assert new.history[-1].event == "reopen"
            assert new.history[:-1] == before.history
        self.plan = new

    # -- events ------------------------------------------------------------
    @rule(event=st.sampled_from(FIRABLE), delta=deltas, offset=offsets, reason=reasons)
    def fire(self, event: Event, delta: timedelta, offset: timezone, reason: str | None) -> None:
        plan = self.plan
        at = (plan.last_event_at + delta).astimezone(offset)
        refused = expected_failures(plan, event, at, reason)
        check = tp.check_event(plan, event, at=at, by=CLINICIAN, reason=reason)
        assert check.allowed == (not refused)

        def go() -> tp.TreatmentPlan:
            return tp.fire(plan, event, at=at, by=CLINICIAN, reason=reason)

        self.attempt(go, refused, (tp.TransitionError,))
        hypothesis.event("refused" if refused else f"reached {self.plan.phase.value}")
        if not refused:
            record = self.plan.history[-1]
            assert record.event == event.value
            assert record.source is plan.phase
            assert record.at == at
            assert len(self.plan.history) == len(plan.history) + 1

    @rule(data=st.data(), minutes=st.integers(0, 30 * 24 * 60), offset=offsets)
    def fire_an_allowed_event(self, data: st.DataObject, minutes: int, offset: timezone) -> None:
        """Steer towards the later phases: pick among the events the oracle allows."""
        plan = self.plan
        at = (plan.last_event_at + timedelta(minutes=minutes)).astimezone(offset)
        candidates = [e for e in FIRABLE if not expected_failures(plan, e, at, "planned")]
        if not candidates:
            hypothesis.event("stuck: nothing allowed")
            return
        staying_open = [
            e for e in candidates if tp.lifecycle.TRANSITIONS[e].target is not Phase.CLOSED
        ]
        if staying_open and data.draw(st.integers(0, 4), label="close?"):
            candidates = staying_open
        event = data.draw(st.sampled_from(candidates), label="event")
        self.plan = tp.fire(plan, event, at=at, by=CLINICIAN, reason="planned")
        hypothesis.event(f"reached {self.plan.phase.value}")

    # -- records -----------------------------------------------------------
    def record_time(self, anchor: datetime | None, delta: timedelta, offset: timezone) -> datetime:
        """A time near the plan's latest: sometimes before its last event (or even its
        referral), so records dated in a phase that does not allow them are tried."""
        history = self.plan.history
        base = history[-1].at if anchor is None else max(anchor, history[-1].at)
        return (base + delta).astimezone(offset)

    @rule(
        attendance=st.sampled_from(tp.Attendance),
        delta=deltas,
        offset=offsets,
        with_assessment=st.booleans(),
        taken=st.one_of(st.just(timedelta(0)), deltas),
        reuse_id=rarely,
        unknown_intervention=rarely,
    )
    def record_session(
        self,
        attendance: tp.Attendance,
        delta: timedelta,
        offset: timezone,
        with_assessment: bool,
        taken: timedelta,
        reuse_id: bool,
        unknown_intervention: bool,
    ) -> None:
        plan = self.plan
        last = plan.sessions[-1].at if plan.sessions else None
        at = self.record_time(last, delta, offset)
        used = self.used_ids()
        sid = used[0] if reuse_id and used else self.fresh_id("s")
        attended = attendance is tp.Attendance.ATTENDED
        known = [i.id for i in plan.interventions]
        interventions: tuple[str, ...] = ()
        if attended and unknown_intervention:
            interventions = ("i-unknown",)
        elif attended and known:
            interventions = (known[0],)
        # Its questionnaire at the session's start, or some time from it (before it is
        # refused; after it, the time must be in a phase that allows assessments).
        taken_at = at + taken
        with_one = attended and with_assessment
        assessments = (phq9(self.fresh_id("a"), taken_at),) if with_one else ()
        session = tp.Session(sid, at, attendance, interventions, assessments)
        phase_ok = plan.phase in tp.lifecycle.RECORDING_PHASES["session"]
        invalid = (
            sid in used
            or (last is not None and at.astimezone(UTC) < last.astimezone(UTC))
            or not dated_in_allowed_phase(plan, at, "session")
            or "i-unknown" in interventions
            or (with_one and taken < timedelta(0))
            or (with_one and not dated_in_allowed_phase(plan, taken_at, "assessment"))
        )
        self.attempt(
            lambda: tp.record_session(plan, session),
            not phase_ok or invalid,
            (tp.TransitionError,) if not phase_ok else (tp.ValidationError,),
        )

    @rule(
        delta=deltas,
        offset=offsets,
        gad7=st.booleans(),
        bad_item=rarely,
        reuse_id=rarely,
    )
    def record_assessment(
        self, delta: timedelta, offset: timezone, gad7: bool, bad_item: bool, reuse_id: bool
    ) -> None:
        plan = self.plan
        at = self.record_time(None, delta, offset)
        used = self.used_ids()
        aid = used[-1] if reuse_id and used else self.fresh_id("a")
        items = list(GAD7_ITEMS if gad7 else PHQ9_ITEMS)
        if bad_item:
            items[0] = 7
        assessment = tp.Assessment(aid, "GAD-7" if gad7 else "PHQ-9", at, items=tuple(items))
        phase_ok = plan.phase in tp.lifecycle.RECORDING_PHASES["assessment"]
        invalid = aid in used or bad_item or not dated_in_allowed_phase(plan, at, "assessment")
        self.attempt(
            lambda: tp.record_assessment(plan, assessment),
            not phase_ok or invalid,
            (tp.TransitionError,) if not phase_ok else (tp.ValidationError,),
        )

    @rule(
        delta=deltas,
        offset=offsets,
        decision=st.sampled_from(tp.ReviewDecision),
        unknown_objective=rarely,
        asked_to_end=st.booleans(),
    )
    def record_review(
        self,
        delta: timedelta,
        offset: timezone,
        decision: tp.ReviewDecision,
        unknown_objective: bool,
        asked_to_end: bool,
    ) -> None:
        plan = self.plan
        last = plan.reviews[-1].at if plan.reviews else None
        at = self.record_time(last, delta, offset)
        objective_ids = [o.id for o in plan.objectives]
        if unknown_objective:
            objective_ids = ["o-unknown"]
        progress = tuple(
            tp.ObjectiveProgress(oid, tp.AchievementStatus.IMPROVING) for oid in objective_ids
        )
        review = tp.ProgressReview(
            self.fresh_id("r"), at, decision, progress, client_requested_ending=asked_to_end
        )
        phase_ok = plan.phase in tp.lifecycle.RECORDING_PHASES["review"]
        invalid = (
            unknown_objective
            or (last is not None and at.astimezone(UTC) < last.astimezone(UTC))
            or not dated_in_allowed_phase(plan, at, "review")
        )
        self.attempt(
            lambda: tp.record_review(plan, review),
            not phase_ok or invalid,
            (tp.TransitionError,) if not phase_ok else (tp.ValidationError,),
        )

    @rule(content=st.sampled_from(sorted(CONTENTS)))
    def revise(self, content: str) -> None:
        plan = self.plan
        goals, interventions = CONTENTS[content]
        objective_ids = {o.id for g in goals for o in g.objectives}
        intervention_ids = {i.id for i in interventions}
        dangling = any(
            p.objective not in objective_ids for r in plan.reviews for p in r.progress
        ) or any(i not in intervention_ids for s in plan.sessions for i in s.interventions)
        phase_ok = plan.phase in tp.lifecycle.RECORDING_PHASES["revision"]
        self.attempt(
            lambda: tp.revise(plan, goals=goals, interventions=interventions),
            not phase_ok or dangling,
            (tp.TransitionError,) if not phase_ok else (tp.ValidationError,),
        )

    # -- invariants --------------------------------------------------------
    @invariant()
    def history_is_a_connected_path_in_time_order(self) -> None:
        history = self.plan.history
        first = history[0]
        assert (first.event, first.source, first.target) == ("refer", None, Phase.REFERRED)
        for before, record in itertools.pairwise(history):
            assert record.source is before.target
            assert record.at.astimezone(UTC) >= before.at.astimezone(UTC)
            spec = tp.lifecycle.TRANSITIONS[record.event]
            assert record.source in spec.sources
            assert record.target is spec.target
            assert record.outcome is spec.outcome

    @invariant()
    def phase_and_outcome_come_from_the_last_record(self) -> None:
        plan = self.plan
        assert plan.phase is plan.history[-1].target
        assert (plan.outcome is not None) == (plan.phase is Phase.CLOSED)
        assert plan.outcome is plan.history[-1].outcome

    @invariant()
    def every_record_is_dated_in_a_phase_that_allows_it(self) -> None:
        plan = self.plan
        for s in plan.sessions:
            assert dated_in_allowed_phase(plan, s.at, "session")
            for a in s.assessments:  # taken at or after the session's start
                assert a.administered_at.astimezone(UTC) >= s.at.astimezone(UTC)
                assert dated_in_allowed_phase(plan, a.administered_at, "assessment")
        for a in plan.assessments:
            assert dated_in_allowed_phase(plan, a.administered_at, "assessment")
        for r in plan.reviews:
            assert dated_in_allowed_phase(plan, r.at, "review")

    @invariant()
    def round_trips_through_json(self) -> None:
        assert tp.loads(tp.dumps(self.plan)) == self.plan

    @invariant()
    def allowed_events_agree_with_fire(self) -> None:
        plan = self.plan
        checks = tp.allowed_events(plan)
        assert [c.event for c in checks] == list(FIRABLE)
        for check in checks:
            refusal: tp.TransitionError | None = None
            try:
                new = tp.fire(
                    plan, check.event, at=latest_time(plan), by="system", reason="unspecified"
                )
            except tp.TransitionError as err:
                refusal = err
            if refusal is None:
                assert check.allowed
                assert new.phase is check.target
            else:
                assert not check.allowed
                assert refusal.reasons == check.reasons

    @invariant()
    @precondition(lambda self: self.plan.phase is Phase.CLOSED)
    def closed_plan_accepts_only_reopen(self) -> None:
        allowed = {c.event for c in tp.allowed_events(self.plan) if c.allowed}
        assert allowed <= {Event.REOPEN}


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = settings(stateful_step_count=40)


# --------------------------------------------------------------------------- properties
@given(
    events=st.lists(st.sampled_from(FIRABLE), max_size=25),
    gaps=st.lists(st.integers(0, 10_000), min_size=25, max_size=25),
)
def test_random_walks_keep_history_valid(events: list[Event], gaps: list[int]) -> None:
    plan = ready()
    for event, gap in zip(events, gaps, strict=False):
        at = plan.last_event_at + timedelta(minutes=gap)
        try:
            plan = tp.fire(plan, event, at=at, by=CLINICIAN, reason="because")
        except tp.TransitionError:
            continue
    # A full rebuild through the validating constructor accepts what fire built.
    rebuilt = tp.TreatmentPlan(**{f.name: getattr(plan, f.name) for f in attrs.fields(type(plan))})
    assert rebuilt == plan
    assert len(plan.history) >= 1


# --------------------------------------------------------------------------- argument edges
def test_a_reason_with_a_lone_surrogate_is_refused() -> None:
    plan = plan_in(Phase.ACTIVE)
    with pytest.raises(tp.ValidationError, match="no lone surrogates") as caught:
        tp.fire(plan, Event.PAUSE, at=later(plan), by=CLINICIAN, reason="away \ud800")
    assert [p.path for p in caught.value.problems] == ["reason"]
    assert "\ud800" not in str(caught.value)


def test_records_of_the_wrong_kind_are_refused_by_name() -> None:
    plan = plan_in(Phase.ACTIVE)
    review = tp.ProgressReview("r-1", later(plan), tp.ReviewDecision.CONTINUE)
    with pytest.raises(tp.ValidationError) as caught:
        tp.record_assessment(plan, review)  # type: ignore[arg-type]
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("assessment", "an Assessment")
    ]
    with pytest.raises(tp.ValidationError) as caught:
        tp.record_review(plan, phq9("a-9", later(plan)))  # type: ignore[arg-type]
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("review", "a ProgressReview")
    ]


def test_a_review_needs_a_new_id_and_a_time_not_before_the_last() -> None:
    plan = plan_in(Phase.ACTIVE)
    first = tp.record_review(
        plan, tp.ProgressReview("r-1", later(plan, 7), tp.ReviewDecision.CONTINUE)
    )
    clash = tp.ProgressReview("a-base", later(plan, 8), tp.ReviewDecision.CONTINUE)
    early = tp.ProgressReview("r-2", later(plan, 6), tp.ReviewDecision.CONTINUE)
    with pytest.raises(tp.ValidationError) as caught:
        tp.record_review(first, clash)
    assert [p.path for p in caught.value.problems] == ["$.id"]
    with pytest.raises(tp.ValidationError) as caught:
        tp.record_review(first, early)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("$.at", "a time not before the previous review")
    ]
    assert first.reviews == (tp.ProgressReview("r-1", later(plan, 7), tp.ReviewDecision.CONTINUE),)


def test_a_session_s_assessments_are_taken_at_or_after_its_start() -> None:
    plan = tp.fire(ready(T0), Event.BEGIN_ASSESSMENT, at=T0, by=CLINICIAN)
    plan = tp.fire(plan, Event.AGREE_PLAN, at=T0, by=CLINICIAN)
    at = T0 + timedelta(days=7)
    before = tp.Session(
        "s1", at, tp.Attendance.ATTENDED, assessments=(phq9("a1", at - timedelta(hours=1)),)
    )
    with pytest.raises(tp.ValidationError) as caught:
        tp.record_session(plan, before)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("$.assessments[0].administered_at", "a time not before the session")
    ]
    # At the start, or later in the session: recorded.
    after = tp.Session(
        "s1",
        at,
        tp.Attendance.ATTENDED,
        assessments=(phq9("a1", at), phq9("a2", at + timedelta(minutes=50))),
    )
    recorded = tp.record_session(plan, after)
    # Not after the episode closed, whichever way the plan is made.
    closed = tp.fire(
        recorded, Event.DROP_OUT, at=at + timedelta(minutes=55), by=CLINICIAN, reason="moved"
    )
    late = tp.Session(
        "s1", at, tp.Attendance.ATTENDED, assessments=(phq9("a1", at + timedelta(days=30)),)
    )
    document = tp.to_dict(closed)
    document["sessions"] = [tp.to_dict(late)]
    with pytest.raises(tp.ValidationError) as loaded:
        tp.from_dict(document)
    assert [p.path for p in loaded.value.problems] == [
        "$.sessions[0].assessments[0].administered_at"
    ]
    assert "a time at which the phase was one of" in loaded.value.problems[0].expected
