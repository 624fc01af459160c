"""The plan model: constructor validation, plan-level cross references, schedules.

Every class validates itself at construction and raises :class:`treatplan.ValidationError`
naming the field and the expectation, never the value; a plan also checks the references
between its parts. Nothing half-built ever escapes.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps

SECRET = "SECRET words about the client"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))
#: A day after the reference plan is agreed: a time at which records are allowed.
DAY1 = T0 + timedelta(days=1)
NAIVE = datetime(2026, 1, 5, 9, 0)


def rejects(build: Any, *paths: str) -> tp.ValidationError:
    """``build()`` raises ValidationError with a problem at each of ``paths``; no secret leaks."""
    with pytest.raises(tp.ValidationError) as caught:
        build()
    found = [p.path for p in caught.value.problems]
    for path in paths:
        assert path in found, (path, found)
    assert SECRET not in str(caught.value)
    return caught.value


# --------------------------------------------------------------------------- constructors
TARGET = tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10)
OBJECTIVE = tp.Objective("o1", "PHQ-9 below 10", TARGET, date(2026, 4, 1))
VALID: dict[type[Any], dict[str, Any]] = {
    tp.Diagnosis: {"code": "F32.1", "system": tp.CodeSystem.ICD_10_CM},
    tp.PresentingProblem: {
        "id": "p1",
        "description": "low mood",
        "behavioural_definitions": ("withdrawn",),
        "diagnosis": None,
    },
    tp.MeasureTarget: {"instrument": "PHQ-9", "comparator": tp.Comparator.BELOW, "threshold": 10},
    tp.GasTarget: {"level": 0, "weight": 1.0},
    tp.BehaviourTarget: {
        "behaviour": "walk",
        "comparator": tp.Comparator.AT_LEAST,
        "count": 3,
        "unit": "walks",
        "period": tp.CountPeriod.WEEK,
    },
    tp.Objective: {
        "id": "o1",
        "description": "PHQ-9 below 10",
        "target": TARGET,
        "target_date": date(2026, 4, 1),
        "status": tp.ObjectiveStatus.ACTIVE,
        "achievement": None,
    },
    tp.Goal: {
        "id": "g1",
        "statement": "feel like myself",
        "domain": tp.GoalDomain.EMOTIONAL_WELLBEING,
        "objectives": (OBJECTIVE,),
        "addresses": ("p1",),
    },
    tp.Schedule: {"start": T0, "rrule": "FREQ=WEEKLY;COUNT=12"},
    tp.Intervention: {
        "id": "i1",
        "modality": tp.Modality.CBT,
        "technique": "activation",
        "format": tp.DeliveryFormat.INDIVIDUAL,
        "serves": ("o1",),
        "schedule": None,
        "delivered_by": "clin-1",
    },
    tp.Assessment: {
        "id": "a1",
        "instrument": "PHQ-9",
        "administered_at": T0,
        "items": (1,) * 9,
        "total": None,
    },
    tp.Session: {
        "id": "s1",
        "at": T0,
        "attendance": tp.Attendance.ATTENDED,
        "interventions": ("i1",),
        "assessments": (),
        "duration_minutes": 50,
        "note": "ok",
    },
    tp.ObjectiveProgress: {
        "objective": "o1",
        "achievement": tp.AchievementStatus.IMPROVING,
        "gas_level": 0,
        "note": None,
    },
    tp.ProgressReview: {
        "id": "r1",
        "at": T0,
        "decision": tp.ReviewDecision.CONTINUE,
        "progress": (),
        "next_review": date(2026, 2, 1),
        "by": "clin-1",
        "client_requested_ending": False,
        "note": None,
    },
    tp.Barrier: {"kind": tp.BarrierKind.COST, "mitigation": "sliding scale"},
    tp.ClientFactors: {
        "readiness": tp.Readiness.ACTION,
        "support": tp.SupportLevel.STRONG,
        "barriers": (),
    },
    tp.Transition: {
        "event": "refer",
        "source": None,
        "target": tp.Phase.REFERRED,
        "at": T0,
        "by": "gp-1",
        "reason": None,
        "outcome": None,
    },
    tp.rules.GoalsMet: {"objectives": ("o1",)},
    tp.rules.SessionLimit: {"max_sessions": 12, "count_missed": False},
    tp.rules.ConsecutiveMissed: {"count": 2, "include_client_cancellations": False},
    tp.rules.MissedInWindow: {"max_missed": 1, "window": 6, "include_client_cancellations": False},
    tp.rules.MissedWithinDays: {"count": 3, "days": 90, "include_client_cancellations": True},
    tp.rules.Inactivity: {"days": 30},
    tp.rules.TimeLimit: {"days": 180, "from_referral": False},
    tp.rules.AnyOf: {"rules": (tp.rules.SessionLimit(12),)},
    tp.rules.AllOf: {"rules": (tp.rules.SessionLimit(12), tp.rules.Inactivity(30))},
}

BAD_REF = [None, 5, "", "has space", SECRET, "x" * 129, "-leading-dash", "new\nline"]
BAD_TEXT = [None, 5, "", "   ", "\n\t", ["list"]]
BAD_TIME = [None, NAIVE, date(2026, 1, 5), "2026-01-05T09:00:00+00:00", 5]
BAD_DATE = [None, T0, "2026-04-01", 5]
BAD_NUMBER = [None, math.nan, math.inf, -math.inf, 1e10, 10**400, True, "10", SECRET]
BAD_BOOL = [None, 0, 1, "true", SECRET]


def _enum_bad(kind: type[Any]) -> list[Any]:
    member = next(iter(kind))
    return [None, member.value, SECRET, 5]  # the value string is not the enum member


BAD: list[tuple[type[Any], str, list[Any]]] = [
    (tp.Diagnosis, "code", BAD_REF),
    (tp.Diagnosis, "system", _enum_bad(tp.CodeSystem)),
    (tp.PresentingProblem, "id", BAD_REF),
    (tp.PresentingProblem, "description", [*BAD_TEXT, "x" * 10_001]),
    (
        tp.PresentingProblem,
        "behavioural_definitions",
        [SECRET, ("",), (5,), ("a",) * 101, ("\ud800",)],
    ),
    (tp.PresentingProblem, "diagnosis", ["F32.1", SECRET, TARGET]),
    (tp.MeasureTarget, "instrument", BAD_REF),
    (tp.MeasureTarget, "comparator", _enum_bad(tp.Comparator)),
    (tp.MeasureTarget, "threshold", BAD_NUMBER),
    (tp.GasTarget, "level", [3, -3, 0.5, True, None, "0"]),
    (tp.GasTarget, "weight", [-0.1, 1000.1, math.nan, None]),
    (tp.BehaviourTarget, "behaviour", [*BAD_TEXT, "x" * 501]),
    (tp.BehaviourTarget, "comparator", _enum_bad(tp.Comparator)),
    (tp.BehaviourTarget, "count", [*BAD_NUMBER, -1]),
    (tp.BehaviourTarget, "unit", [*BAD_TEXT, "x" * 101]),
    (tp.BehaviourTarget, "period", _enum_bad(tp.CountPeriod)),
    (tp.Objective, "id", BAD_REF),
    (tp.Objective, "description", BAD_TEXT),
    (tp.Objective, "target", [None, SECRET, tp.rules.SessionLimit(3), {"kind": "gas"}]),
    (tp.Objective, "target_date", BAD_DATE),
    (tp.Objective, "status", _enum_bad(tp.ObjectiveStatus)),
    (tp.Objective, "achievement", [tp.ObjectiveStatus.ACTIVE, "achieved", SECRET]),
    (tp.Goal, "id", BAD_REF),
    (tp.Goal, "statement", BAD_TEXT),
    (tp.Goal, "domain", _enum_bad(tp.GoalDomain)),
    (tp.Goal, "objectives", [SECRET, (TARGET,), (OBJECTIVE,) * 101, None]),
    (tp.Goal, "addresses", [("p1", "p1"), (5,), SECRET]),
    (tp.Schedule, "start", BAD_TIME),
    (
        tp.Schedule,
        "rrule",
        [
            None,
            "",
            SECRET,
            "FREQ=SOMETIMES",
            "FREQ=WEEKLY;COUNT=x",
            "FREQ=DAILY;UNTIL=20260201T000000",  # a naive UNTIL with an aware start
            "DTSTART:20260105T090000Z",
            "FREQ=DAILY\nEXDATE:20260106T090000Z",
            "FREQ=WEEKLY;COUNT=2;UNTIL=20260201T000000Z",
            "x" * 501,
        ],
    ),
    (tp.Intervention, "id", BAD_REF),
    (tp.Intervention, "modality", _enum_bad(tp.Modality)),
    (tp.Intervention, "technique", [*BAD_TEXT, "x" * 501]),
    (tp.Intervention, "format", _enum_bad(tp.DeliveryFormat)),
    (tp.Intervention, "serves", [("o1", "o1"), (None,), SECRET]),
    (tp.Intervention, "schedule", ["FREQ=WEEKLY", SECRET, T0]),
    (tp.Intervention, "delivered_by", ["Dr Jane Smith", SECRET, 5]),
    (tp.Assessment, "id", BAD_REF),
    (tp.Assessment, "instrument", BAD_REF),
    (tp.Assessment, "administered_at", BAD_TIME),
    (tp.Assessment, "items", [SECRET, (1.5,), (True,), (1001,), ("1",), (0,) * 1001]),
    (tp.Assessment, "total", BAD_NUMBER[1:]),
    (tp.Session, "id", BAD_REF),
    (tp.Session, "at", BAD_TIME),
    (tp.Session, "attendance", _enum_bad(tp.Attendance)),
    (tp.Session, "interventions", [("i1", "i1"), (5,), SECRET]),
    (tp.Session, "assessments", [("a1",), SECRET, (TARGET,)]),
    (tp.Session, "duration_minutes", [0, -5, 24 * 60 + 1, 50.0, True, "50"]),
    (tp.Session, "note", BAD_TEXT[1:]),
    (tp.ObjectiveProgress, "objective", BAD_REF),
    (tp.ObjectiveProgress, "achievement", _enum_bad(tp.AchievementStatus)),
    (tp.ObjectiveProgress, "gas_level", [3, -3, 1.0, "1"]),
    (tp.ObjectiveProgress, "note", BAD_TEXT[1:]),
    (tp.ProgressReview, "id", BAD_REF),
    (tp.ProgressReview, "at", BAD_TIME),
    (tp.ProgressReview, "decision", _enum_bad(tp.ReviewDecision)),
    (tp.ProgressReview, "progress", [SECRET, (OBJECTIVE,)]),
    (tp.ProgressReview, "next_review", [T0, "2026-02-01", date(2026, 1, 4)]),
    (tp.ProgressReview, "by", ["Dr Smith", 5]),
    (tp.ProgressReview, "client_requested_ending", BAD_BOOL),
    (tp.ProgressReview, "note", BAD_TEXT[1:]),
    (tp.Barrier, "kind", _enum_bad(tp.BarrierKind)),
    (tp.Barrier, "mitigation", BAD_TEXT[1:]),
    (tp.ClientFactors, "readiness", ["action", SECRET, tp.SupportLevel.NONE]),
    (tp.ClientFactors, "support", ["strong", SECRET]),
    (tp.ClientFactors, "barriers", [("cost",), (tp.Barrier(tp.BarrierKind.COST),) * 21, None]),
    (tp.Transition, "event", BAD_REF),
    (tp.Transition, "source", ["referred", SECRET]),
    (tp.Transition, "target", _enum_bad(tp.Phase)),
    (tp.Transition, "at", BAD_TIME),
    (tp.Transition, "by", BAD_REF),
    (tp.Transition, "reason", BAD_TEXT[1:]),
    (tp.rules.GoalsMet, "objectives", [("o1", "o1"), (5,), SECRET]),
    (tp.rules.SessionLimit, "max_sessions", [0, 10_001, 1.5, None, True]),
    (tp.rules.SessionLimit, "count_missed", BAD_BOOL),
    (tp.rules.ConsecutiveMissed, "count", [0, 1001, None]),
    (tp.rules.MissedInWindow, "window", [0, 1001, None]),
    (tp.rules.MissedInWindow, "max_missed", [-1, 6, 7, None]),
    (tp.rules.MissedWithinDays, "days", [0, 36_501]),
    (tp.rules.MissedWithinDays, "count", [0]),
    (tp.rules.Inactivity, "days", [0, -1, 36_501, 1.5]),
    (tp.rules.TimeLimit, "days", [0, None]),
    (tp.rules.TimeLimit, "from_referral", BAD_BOOL),
    (tp.rules.AnyOf, "rules", [(), SECRET, (SECRET,), (TARGET,), None]),
    (tp.rules.AllOf, "rules", [(), (tp.rules.SessionLimit(3),) * 101]),
]
BAD_CASES = [(cls, field, value) for cls, field, values in BAD for value in values]


def test_the_valid_arguments_are_valid() -> None:
    for cls, kwargs in VALID.items():
        built = cls(**kwargs)
        assert attrs.evolve(built) == built


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    BAD_CASES,
    ids=[f"{c.__name__}.{f}-{i}" for i, (c, f, _) in enumerate(BAD_CASES)],
)
def test_constructors_reject_bad_fields_naming_the_field(
    cls: type[Any], field: str, value: Any
) -> None:
    kwargs = {**VALID[cls], field: value}
    error = rejects(lambda: cls(**kwargs))
    paths = [p.path for p in error.problems]
    assert all(p == f"$.{field}" or p.startswith((f"$.{field}[", f"$.{field}.")) for p in paths), (
        paths
    )
    assert all(p.expected for p in error.problems)


def test_every_class_has_rejection_cases() -> None:
    assert {cls for cls, _, _ in BAD} == set(VALID)


def test_whole_instance_invariants() -> None:
    rejects(lambda: tp.Assessment("a1", "PHQ-9", T0), "$")
    rejects(
        lambda: tp.Session("s1", T0, tp.Attendance.DID_NOT_ATTEND, ("i1",)),
        "$",
    )
    taken = tp.Assessment("a1", "PHQ-9", T0, total=5)
    rejects(lambda: tp.Session("s1", T0, tp.Attendance.CANCELLED_BY_CLIENT, (), (taken,)), "$")
    twice = (
        tp.ObjectiveProgress("o1", tp.AchievementStatus.IMPROVING),
        tp.ObjectiveProgress("o1", tp.AchievementStatus.ACHIEVED),
    )
    rejects(lambda: tp.ProgressReview("r1", T0, tp.ReviewDecision.CONTINUE, twice), "$.progress")
    rejects(
        lambda: tp.Transition("complete", tp.Phase.ENDING, tp.Phase.CLOSED, T0, "c1"),
        "$.outcome",
    )
    rejects(
        lambda: tp.Transition(
            "resume",
            tp.Phase.ON_HOLD,
            tp.Phase.ACTIVE,
            T0,
            "c1",
            outcome=tp.EpisodeOutcome.COMPLETED,
        ),
        "$.outcome",
    )


def test_next_review_compares_with_the_local_date_of_the_review() -> None:
    late_evening = datetime(2026, 1, 5, 23, 30, tzinfo=IST)  # 18:00 UTC, still 5 January
    review = tp.ProgressReview(
        "r1", late_evening, tp.ReviewDecision.CONTINUE, next_review=date(2026, 1, 5)
    )
    assert review.next_review == late_evening.date()
    rejects(
        lambda: tp.ProgressReview(
            "r1", late_evening, tp.ReviewDecision.CONTINUE, next_review=date(2026, 1, 4)
        ),
        "$.next_review",
    )


def test_lists_become_tuples_and_instances_are_frozen() -> None:
    goal = tp.Goal("g1", "s", tp.GoalDomain.OTHER, objectives=[OBJECTIVE], addresses=["p1"])
    assert goal.objectives == (OBJECTIVE,)
    assert goal.addresses == ("p1",)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        goal.statement = "changed"  # type: ignore[misc]
    assert hash(goal) == hash(tp.Goal("g1", "s", tp.GoalDomain.OTHER, (OBJECTIVE,), ("p1",)))


def test_kind_tags_are_fixed() -> None:
    assert TARGET.kind == "measure"
    assert tp.GasTarget().kind == "gas"
    with pytest.raises(TypeError):
        tp.GasTarget(kind="measure")  # type: ignore[call-arg]


def test_comparators_hold_as_named() -> None:
    assert tp.Comparator.BELOW.holds(9, 10)
    assert not tp.Comparator.BELOW.holds(10, 10)
    assert tp.Comparator.AT_MOST.holds(10, 10)
    assert tp.Comparator.AT_LEAST.holds(10, 10)
    assert not tp.Comparator.ABOVE.holds(10, 10)
    assert TARGET.met_by(9.5)
    assert not TARGET.met_by(10)


# --------------------------------------------------------------------------- schedules
def test_weekly_schedule_expands_to_dated_occurrences_at_its_offset() -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=IST)
    schedule = tp.Schedule(start, "FREQ=WEEKLY;COUNT=3")
    assert schedule.occurrences() == [start + timedelta(weeks=n) for n in range(3)]
    assert all(when.utcoffset() == timedelta(hours=5.5) for when in schedule.occurrences())
    assert list(schedule) == schedule.occurrences()


def test_schedules_sharing_a_parsed_rule_keep_their_own_start_zone() -> None:
    # The parsed rule is remembered by value: equal starts at other offsets or under
    # other zone names must not share it, or occurrences would carry the wrong zone.
    named = timezone(timedelta(hours=1), "Clinic time")
    plain = timezone(timedelta(hours=1))
    first = tp.Schedule(datetime(2026, 1, 5, 10, tzinfo=named), "FREQ=WEEKLY;COUNT=2")
    second = tp.Schedule(datetime(2026, 1, 5, 10, tzinfo=plain), "FREQ=WEEKLY;COUNT=2")
    utc = tp.Schedule(datetime(2026, 1, 5, 9, tzinfo=UTC), "FREQ=WEEKLY;COUNT=2")
    assert [w.tzname() for w in first.occurrences()] == ["Clinic time"] * 2
    assert [w.tzname() for w in second.occurrences()] == ["UTC+01:00"] * 2
    assert utc.occurrences()[0].isoformat() == "2026-01-05T09:00:00+00:00"
    # The same rule from the same start: one parse, shared.
    again = tp.Schedule(datetime(2026, 1, 5, 10, tzinfo=plain), "FREQ=WEEKLY;COUNT=2")
    assert again._parsed is second._parsed


def test_schedule_until_and_limits() -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    # UNTIL is in UTC: 08:00Z on 19 January is exactly the third occurrence (inclusive).
    schedule = tp.Schedule(start, "FREQ=WEEKLY;UNTIL=20260119T080000Z")
    assert len(schedule.occurrences()) == 3
    open_ended = tp.Schedule(start, "RRULE:FREQ=DAILY;INTERVAL=2")
    assert len(open_ended.occurrences(limit=10)) == 10
    assert open_ended.occurrences(limit=0) == []
    bound = start + timedelta(days=4)
    assert open_ended.occurrences(until=bound) == [
        start,
        start + timedelta(days=2),
        start + timedelta(days=4),
    ]
    assert open_ended.occurrences(until=start - timedelta(seconds=1)) == []


def test_schedule_weekdays_and_month_days() -> None:
    monday = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    twice_weekly = tp.Schedule(monday, "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4")
    assert [d.strftime("%a %d") for d in twice_weekly.occurrences()] == [
        "Mon 05",
        "Thu 08",
        "Mon 12",
        "Thu 15",
    ]
    monthly = tp.Schedule(monday, "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=2")
    assert [d.date() for d in monthly.occurrences()] == [date(2026, 1, 15), date(2026, 2, 15)]


def test_schedule_rrule_text_is_kept_verbatim() -> None:
    schedule = tp.Schedule(T0, "INTERVAL=2;FREQ=WEEKLY;COUNT=3")
    assert schedule.rrule == "INTERVAL=2;FREQ=WEEKLY;COUNT=3"
    assert tp.to_dict(schedule) == {
        "start": "2026-01-05T09:00:00+00:00",
        "rrule": "INTERVAL=2;FREQ=WEEKLY;COUNT=3",
        "timezone": None,
    }
    assert schedule == tp.Schedule(T0, "INTERVAL=2;FREQ=WEEKLY;COUNT=3")
    assert schedule != tp.Schedule(T0, "FREQ=WEEKLY;INTERVAL=2;COUNT=3")
    assert hash(schedule) == hash(tp.Schedule(T0, "INTERVAL=2;FREQ=WEEKLY;COUNT=3"))


def test_schedule_refuses_a_naive_bound() -> None:
    schedule = tp.Schedule(T0, "FREQ=DAILY")
    rejects(lambda: schedule.occurrences(until=NAIVE), "until")


@given(tps.schedules(), st.integers(0, 20))
def test_occurrences_respect_limit_and_order(schedule: tp.Schedule, limit: int) -> None:
    out = schedule.occurrences(limit=limit)
    assert len(out) <= limit
    assert out == sorted(out)
    assert all(d >= schedule.start for d in out)
    if "COUNT=" in schedule.rrule:
        count = int(schedule.rrule.split("COUNT=")[1].split(";")[0])
        assert len(schedule.occurrences(limit=100)) == min(count, 100)


# --------------------------------------------------------------------------- the plan
def _parts() -> dict[str, Any]:
    objective = OBJECTIVE
    return {
        "presenting_problems": (tp.PresentingProblem("p1", "low mood"),),
        "goals": (
            tp.Goal("g1", "feel better", tp.GoalDomain.OTHER, (objective,), addresses=("p1",)),
        ),
        "interventions": (tp.Intervention("i1", tp.Modality.CBT, "activation", serves=("o1",)),),
        "assessments": (tp.Assessment("a1", "PHQ-9", T0, items=(2,) * 9),),
        "sessions": (
            tp.Session("s1", T0 + timedelta(days=7), tp.Attendance.ATTENDED, ("i1",)),
            tp.Session("s2", T0 + timedelta(days=14), tp.Attendance.DID_NOT_ATTEND),
        ),
        "reviews": (
            tp.ProgressReview(
                "r1",
                T0 + timedelta(days=15),
                tp.ReviewDecision.CONTINUE,
                (tp.ObjectiveProgress("o1", tp.AchievementStatus.IMPROVING),),
            ),
        ),
    }


def _history(*steps: tuple[str, tp.Phase | None, tp.Phase]) -> tuple[tp.Transition, ...]:
    out = [tp.Transition("refer", None, tp.Phase.REFERRED, T0, "gp-1")]
    for n, (event, source, target) in enumerate(steps, start=1):
        spec = tp.lifecycle.TRANSITIONS.get(event)
        outcome = spec.outcome if spec is not None else None
        out.append(
            tp.Transition(event, source, target, T0 + timedelta(hours=n), "c1", "r", outcome)
        )
    return tuple(out)


def plan(**changes: Any) -> tp.TreatmentPlan:
    kwargs: dict[str, Any] = {
        "plan_id": "plan-1",
        "client_ref": "client-1",
        "history": _history(
            ("begin_assessment", tp.Phase.REFERRED, tp.Phase.ASSESSING),
            ("agree_plan", tp.Phase.ASSESSING, tp.Phase.ACTIVE),
        ),
        **_parts(),
    }
    kwargs.update(changes)
    return tp.TreatmentPlan(**kwargs)


def test_the_reference_plan_is_valid() -> None:
    built = plan()
    assert built.phase is tp.Phase.ACTIVE
    assert built.outcome is None
    assert built.objectives == (OBJECTIVE,)
    assert built.objective("o1") is OBJECTIVE
    assert built.instrument("PHQ-9") is tp.instruments.PHQ9
    assert [a.id for a in built.all_assessments()] == ["a1"]
    assert [s.id for s in built.attended_sessions] == ["s1"]


def _goal(*objectives: tp.Objective, addresses: tuple[str, ...] = ()) -> tp.Goal:
    return tp.Goal("g1", "s", tp.GoalDomain.OTHER, objectives, addresses)


CROSS_REFERENCE_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "duplicate id across kinds",
        {"interventions": (tp.Intervention("o1", tp.Modality.CBT, "t", serves=("o1",)),)},
        # Renaming i1 also orphans the session that delivered it.
        ["$.interventions[0].id", "$.sessions[0].interventions[0]"],
    ),
    (
        "duplicate session id",
        {
            "sessions": (
                tp.Session("s1", DAY1, tp.Attendance.DID_NOT_ATTEND),
                tp.Session("s1", DAY1, tp.Attendance.DID_NOT_ATTEND),
            )
        },
        ["$.sessions[1].id"],
    ),
    (
        "assessment id reused inside a session",
        {
            "sessions": (
                tp.Session(
                    "s1",
                    DAY1,
                    tp.Attendance.ATTENDED,
                    assessments=(tp.Assessment("a1", "GAD-7", DAY1, total=3),),
                ),
            )
        },
        ["$.sessions[0].assessments[0].id"],
    ),
    (
        "goal addresses an unknown problem",
        {"goals": (_goal(OBJECTIVE, addresses=("p9",)),)},
        ["$.goals[0].addresses[0]"],
    ),
    (
        "intervention serves an unknown objective",
        {"interventions": (tp.Intervention("i1", tp.Modality.CBT, "t", serves=("o1", "o9")),)},
        ["$.interventions[0].serves[1]"],
    ),
    (
        "session delivers an unknown intervention",
        {"sessions": (tp.Session("s1", DAY1, tp.Attendance.ATTENDED, ("i9",)),)},
        ["$.sessions[0].interventions[0]"],
    ),
    (
        "review names an unknown objective",
        {
            "reviews": (
                tp.ProgressReview(
                    "r1",
                    DAY1,
                    tp.ReviewDecision.CONTINUE,
                    (tp.ObjectiveProgress("o9", tp.AchievementStatus.IMPROVING),),
                ),
            )
        },
        ["$.reviews[0].progress[0].objective"],
    ),
    (
        "target on an unknown instrument",
        {
            "goals": (
                _goal(
                    attrs.evolve(
                        OBJECTIVE, target=tp.MeasureTarget("NOPE", tp.Comparator.BELOW, 3)
                    ),
                    addresses=("p1",),
                ),
            )
        },
        ["$.goals[0].objectives[0].target.instrument"],
    ),
    (
        "assessment of an unknown instrument",
        {"assessments": (tp.Assessment("a1", "NOPE", T0, total=3),)},
        ["$.assessments[0].instrument"],
    ),
    (
        "PHQ-9 with eight items",
        {"assessments": (tp.Assessment("a1", "PHQ-9", T0, items=(1,) * 8),)},
        ["$.assessments[0].items"],
    ),
    (
        "PHQ-9 item out of range",
        {"assessments": (tp.Assessment("a1", "PHQ-9", T0, items=(1, 1, 4, 1, 1, 1, 1, 1, -1)),)},
        ["$.assessments[0].items[2]", "$.assessments[0].items[8]"],
    ),
    (
        "GAD-7 total out of range",
        {"assessments": (tp.Assessment("a1", "GAD-7", DAY1, total=22),)},
        ["$.assessments[0].total"],
    ),
    (
        "sessions out of order",
        {
            "sessions": (
                tp.Session("s1", T0 + timedelta(days=1), tp.Attendance.DID_NOT_ATTEND),
                tp.Session("s2", T0, tp.Attendance.DID_NOT_ATTEND),
            )
        },
        ["$.sessions[1].at"],
    ),
    (
        "reviews out of order",
        {
            "reviews": (
                tp.ProgressReview("r1", T0 + timedelta(days=1), tp.ReviewDecision.CONTINUE),
                tp.ProgressReview("r2", T0, tp.ReviewDecision.CONTINUE),
            )
        },
        ["$.reviews[1].at"],
    ),
    ("newer schema version", {"schema_version": tp.SCHEMA_VERSION + 1}, ["$.schema_version"]),
    ("not a rule", {"discharge_criteria": TARGET}, ["$.discharge_criteria"]),
]


@pytest.mark.parametrize(
    ("changes", "paths"),
    [(c, p) for _, c, p in CROSS_REFERENCE_CASES],
    ids=[name for name, _, _ in CROSS_REFERENCE_CASES],
)
def test_plan_checks_references_between_its_parts(
    changes: dict[str, Any], paths: list[str]
) -> None:
    error = rejects(lambda: plan(**changes), *paths)
    assert {p.path for p in error.problems} == set(paths)


def test_every_cross_reference_problem_is_reported_at_once() -> None:
    error = rejects(
        lambda: plan(
            goals=(_goal(OBJECTIVE, addresses=("p9",)),),
            sessions=(tp.Session("s1", DAY1, tp.Attendance.ATTENDED, ("i9",)),),
            assessments=(tp.Assessment("a1", "NOPE", T0, total=1),),
        ),
        "$.goals[0].addresses[0]",
        "$.sessions[0].interventions[0]",
        "$.assessments[0].instrument",
    )
    assert len(error.problems) == 3


def test_custom_instruments_are_used_and_must_be_unique() -> None:
    custom = tp.Instrument("MOOD-3", "Mood", item_count=3, item_min=0, item_max=4)
    ok = plan(
        custom_instruments=(custom,),
        assessments=(tp.Assessment("a1", "MOOD-3", T0, items=(4, 0, 2)),),
    )
    assert ok.instrument("MOOD-3") is custom
    rejects(
        lambda: plan(
            custom_instruments=(custom,),
            assessments=(tp.Assessment("a1", "MOOD-3", T0, items=(5, 0, 2)),),
        ),
        "$.assessments[0].items[0]",
    )
    rejects(lambda: plan(custom_instruments=(custom, custom)), "$.custom_instruments[1].code")
    with pytest.raises(KeyError):
        ok.instrument("NOPE")


HISTORY_CASES: list[tuple[str, tuple[tp.Transition, ...], str]] = [
    (
        "does not start with the referral",
        (tp.Transition("waitlist", tp.Phase.REFERRED, tp.Phase.WAITLISTED, T0, "c1"),),
        "$.history[0]",
    ),
    (
        "not connected",
        _history(("resume", tp.Phase.ON_HOLD, tp.Phase.ACTIVE)),
        "$.history[1].source",
    ),
    (
        "not a row of the table",
        _history(("agree_plan", tp.Phase.REFERRED, tp.Phase.ACTIVE)),
        "$.history[1].event",
    ),
    (
        "unknown event",
        _history(("teleport", tp.Phase.REFERRED, tp.Phase.ACTIVE)),
        "$.history[1].event",
    ),
]


@pytest.mark.parametrize(
    ("history", "path"),
    [(h, p) for _, h, p in HISTORY_CASES],
    ids=[n for n, _, _ in HISTORY_CASES],
)
def test_history_must_be_a_connected_path_of_the_table(
    history: tuple[tp.Transition, ...], path: str
) -> None:
    rejects(lambda: plan(history=history), path)


def test_history_times_never_go_back_and_outcomes_match() -> None:
    refer, begin = _history(("begin_assessment", tp.Phase.REFERRED, tp.Phase.ASSESSING))
    rejects(
        lambda: plan(history=(refer, attrs.evolve(begin, at=T0 - timedelta(seconds=1)))),
        "$.history[1].at",
    )
    # The same instant at another offset is not going back.
    same = attrs.evolve(begin, at=T0.astimezone(IST))
    assert plan(history=(refer, same), reviews=()).phase is tp.Phase.ASSESSING
    cancel = tp.Transition(
        "cancel", tp.Phase.REFERRED, tp.Phase.CLOSED, T0, "c1", "r", tp.EpisodeOutcome.DECLINED
    )
    rejects(lambda: plan(history=(refer, cancel)), "$.history[1].outcome")
    rejects(lambda: plan(history=()), "$.history")


def test_plan_text_fields_are_opaque_references() -> None:
    rejects(lambda: plan(client_ref="Jane Doe"), "$.client_ref")
    rejects(lambda: plan(plan_id=SECRET), "$.plan_id")
    rejects(lambda: plan(client_factors=None), "$.client_factors")


# --------------------------------------------------------------------------- nothing half-built
@given(tps.plan_documents())
def test_failed_loads_leave_the_input_document_untouched(doc: Any) -> None:
    doc["goals"][0]["domain"] = "zz"
    before = copy.deepcopy(doc)
    with pytest.raises(tp.ValidationError):
        tp.from_dict(doc)
    assert doc == before


@given(tps.treatment_plans(phases=[tp.Phase.ACTIVE]))
def test_failed_operations_leave_the_plan_untouched(built: tp.TreatmentPlan) -> None:
    before = tp.dumps(built)
    later = built.last_event_at + timedelta(days=1)
    with pytest.raises(tp.ValidationError):
        tp.record_session(built, tp.Session("fresh-s", later, tp.Attendance.ATTENDED, ("i-9",)))
    with pytest.raises(tp.ValidationError):
        tp.revise(built, goals=(_goal(OBJECTIVE, addresses=("nope",)),))
    with pytest.raises(tp.TransitionError):
        tp.fire(built, "complete", at=later, by="c1", reason="done")
    assert tp.dumps(built) == before


def test_evolve_revalidates_the_whole_plan() -> None:
    built = plan()
    rejects(lambda: attrs.evolve(built, interventions=()), "$.sessions[0].interventions[0]")
    assert built.interventions  # the original is untouched


# --------------------------------------------------------------------------- zones and offsets
LONDON = ZoneInfo("Europe/London")


def test_zoned_times_are_stored_with_their_fixed_offset() -> None:
    # 01:30 on 25 Oct 2026 happens twice in London; fold=1 is the second (GMT) one.
    first = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON)
    second = datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=LONDON)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=first, by="gp-1")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=second, by="clin-1")
    plan = tp.record_assessment(plan, tp.Assessment("a-1", "PHQ-9", second, total=5))
    assert plan.history[0].at.utcoffset() == timedelta(hours=1)
    assert plan.history[1].at.utcoffset() == timedelta(0)
    assert isinstance(plan.history[1].at.tzinfo, timezone)
    # The same instant (fold=1 times never compare equal across zones: PEP 495).
    assert plan.history[1].at == second.astimezone(UTC)
    assert tp.loads(tp.dumps(plan)) == plan


def test_a_zoned_schedule_keeps_wall_clock_time_across_daylight_saving() -> None:
    start = datetime(2026, 10, 19, 10, 0, tzinfo=timezone(timedelta(hours=1)))  # BST
    zoned = tp.Schedule(start, "FREQ=WEEKLY;COUNT=3", timezone="Europe/London")
    fixed = tp.Schedule(start, "FREQ=WEEKLY;COUNT=3")
    assert [t.hour for t in zoned.occurrences()] == [10, 10, 10]
    assert [t.utcoffset() for t in zoned.occurrences()] == [
        timedelta(hours=1),
        timedelta(0),
        timedelta(0),
    ]
    assert [t.utcoffset() for t in fixed.occurrences()] == [timedelta(hours=1)] * 3
    assert tp.loads(tp.dumps(zoned), tp.Schedule) == zoned
    rejects(lambda: tp.Schedule(start, "FREQ=WEEKLY", timezone="Mars/Olympus"), "$.timezone")


@pytest.mark.parametrize("zone", ["America", "Europe/" + "X" * 300, "Europe/London/"])
def test_a_zone_name_the_database_cannot_open_is_refused_not_raised(zone: str) -> None:
    # A folder of the zone database, or a name too long for a file, makes zoneinfo
    # raise OSError (quoting the name) rather than ZoneInfoNotFoundError.
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with pytest.raises(tp.ValidationError) as info:
        tp.Schedule(start, "FREQ=WEEKLY;COUNT=3", timezone=zone)
    assert [p.path for p in info.value.problems] == ["$.timezone"]
    assert "X" * 20 not in str(info.value)
    assert "America" not in str(info.value)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # never happens: dateutil would scan to 9999
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1",  # never happens either
        "FREQ=YEARLY;BYYEARDAY=366",
        "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR",
        "FREQ=SECONDLY",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "FREQ=WEEKLY;COUNT",
        "FREQ=WEEKLY;UNTIL=20261231T000000",
        "FREQ=WEEKLY;UNTIL=20261231",
        " FREQ = WEEKLY ; COUNT = 2",  # passes the profile (parts are trimmed), not dateutil
    ],
)
def test_schedules_refuse_rules_outside_the_safe_profile(rule: str) -> None:
    rejects(lambda: tp.Schedule(T0, rule), "$.rrule")


def test_goals_met_must_name_objectives_the_plan_has() -> None:
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=T0, by="gp-1")
    goal = tp.Goal("g1", "Feel better", tp.GoalDomain.EMOTIONAL_WELLBEING, (OBJECTIVE,))
    ok = tp.revise(plan, goals=[goal], discharge_criteria=tp.rules.GoalsMet(("o1",)))
    assert ok.discharge_criteria == tp.rules.GoalsMet(("o1",))
    nested = tp.rules.AnyOf(
        (tp.rules.SessionLimit(12), tp.rules.AllOf((tp.rules.GoalsMet(("o1", "o-typo")),)))
    )
    rejects(
        lambda: tp.revise(plan, goals=[goal], discharge_criteria=nested),
        "$.discharge_criteria.rules[1].rules[0].objectives[1]",
    )


class _Stamp(datetime):
    """A date-time subclass, as pandas' Timestamp is."""


def test_a_datetime_subclass_is_stored_as_a_plain_datetime() -> None:
    # A subclass may carry more than a document keeps (pandas: nanoseconds): a plan
    # stores the plain date-time to the microsecond, so it reads back equal.
    pd = pytest.importorskip("pandas")
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer(
        "plan-1", "client-1", at=_Stamp(2026, 1, 5, 9, tzinfo=UTC), by="gp"
    )
    assert type(plan.history[0].at) is datetime
    later = pd.Timestamp(t0) + pd.Timedelta(days=1, nanoseconds=1)
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=later, by="c-1")
    assert type(plan.history[1].at) is datetime
    assert plan.history[1].at == t0 + timedelta(days=1)
    assert tp.loads(tp.dumps(plan)) == plan
