"""Regression tests for the reproducers of issue 13 ("Accepted means usable") and the
error family of issue 9: hostile times, rules, weights, text and keys."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import treatplan as tp
from treatplan import sim

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "adult-depression-cbt.json").read_text("utf-8"))
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLUS5 = timezone(timedelta(hours=5))
MINUS5 = timezone(timedelta(hours=-5))


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def load_error(doc: Any) -> tp.ValidationError:
    with pytest.raises(tp.ValidationError) as info:
        tp.loads(json.dumps(doc))
    return info.value


def referred() -> tp.TreatmentPlan:
    return tp.TreatmentPlan.refer("plan-1", "client-1", START, "clin-1")


# --------------------------------------------------------------------------- times
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0001-01-01T00:00:00+05:00", "from 1900-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-05:00", "up to (not including) 2200-01-01T00:00:00Z"),
        ("1899-12-31T23:59:59+00:00", "from 1900-01-01"),
        ("2200-01-01T00:00:00+00:00", "2200-01-01T00:00:00Z"),
        ("2026-W02-1T09:00:00+00:00", "RFC 3339"),
        ("20260105T090000+0000", "RFC 3339"),
        ("2026-01-05 09:00:00+00:00", "RFC 3339"),
        ("2026-01-05T09:00:00+00:00:30", "RFC 3339"),
        ("2026-01-05T09:00+00:00", "RFC 3339"),
        ("2026-01-05T09:00:00", "RFC 3339"),
    ],
)
def test_times_outside_the_range_or_not_rfc3339_do_not_load(text: str, expected: str) -> None:
    doc = example()
    doc["history"][0]["at"] = text
    error = load_error(doc)
    assert [p.path for p in error.problems] == ["$.history[0].at"]
    assert expected in error.problems[0].expected


@pytest.mark.parametrize("text", ["2026-01-05T09:00:00Z", "2026-01-05T09:00:00.5+05:30"])
def test_rfc3339_times_load(text: str) -> None:
    doc = example()
    doc["history"][0]["at"] = text
    plan = tp.loads(json.dumps(doc))
    assert plan.history[0].at == datetime.fromisoformat(text)


def test_the_ends_of_the_range_load_and_work() -> None:
    low = tp.TreatmentPlan.refer("p", "c", tp.document.MIN_INSTANT, "clin-1")
    assert tp.loads(tp.dumps(low)) == low
    tp.review(low, tp.document.MIN_INSTANT)
    high = tp.TreatmentPlan.refer(
        "p", "c", tp.document.MAX_INSTANT - timedelta(microseconds=1), "x"
    )
    assert tp.loads(tp.dumps(high)) == high
    tp.review(high, high.last_event_at)
    tp.describe(high)


@pytest.mark.parametrize("text", ["2026-W02-1", "0001-01-01", "9999-12-31", "20260105"])
def test_dates_outside_the_range_or_not_full_dates_do_not_load(text: str) -> None:
    doc = example()
    doc["goals"][0]["objectives"][0]["target_date"] = text
    error = load_error(doc)
    assert [p.path for p in error.problems] == ["$.goals[0].objectives[0].target_date"]


@pytest.mark.parametrize(
    "at",
    [
        datetime(1, 1, 1, tzinfo=PLUS5),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS5),
        datetime(2026, 1, 5, tzinfo=timezone(timedelta(seconds=30))),
    ],
)
def test_every_path_that_makes_a_plan_refuses_a_bad_time(at: datetime) -> None:
    plan = tp.fire(referred(), "begin_assessment", at=START, by="clin-1")
    with pytest.raises(tp.ValidationError, match=r"\$\.at"):
        tp.TreatmentPlan.refer("p", "c", at, "clin-1")
    with pytest.raises(tp.ValidationError, match="at: a date-time"):
        tp.fire(plan, "cancel", at=at, by="clin-1")  # the fast path
    with pytest.raises(tp.ValidationError, match=r"\$\.at"):
        tp.Session("s1", at, tp.Attendance.ATTENDED)
    with pytest.raises(tp.ValidationError, match=r"\$\.administered_at"):
        tp.Assessment("a1", "PHQ-9", at, total=10)
    with pytest.raises(tp.ValidationError, match=r"\$\.start"):
        tp.Schedule(at, "FREQ=WEEKLY;COUNT=3")
    with pytest.raises(tp.ValidationError):
        tp.record_findings(plan, at, review_id="r1")


def test_fire_and_the_validators_agree_on_the_time_range() -> None:
    plan = referred()
    last = tp.document.MAX_INSTANT - timedelta(microseconds=1)
    fired = tp.fire(plan, "begin_assessment", at=last.astimezone(MINUS5), by="clin-1")
    assert tp.loads(tp.dumps(fired)) == fired


def test_assessments_sessions_and_reviews_before_the_referral_do_not_load() -> None:
    doc = example()
    doc["sessions"][0]["at"] = "2000-01-01T00:00:00+00:00"
    error = load_error(doc)
    assert "$.sessions[0].at" in {p.path for p in error.problems}
    assert any(p.expected == "a time not before the referral" for p in error.problems)


# --------------------------------------------------------------------------- schedules
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL is an integer from 1 to 1000"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL is an integer from 1 to 1000"),
        ("FREQ=MONTHLY;BYDAY=+53MO", "ordinal from 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=0MO", "ordinal from 1 to 5"),
        ("FREQ=WEEKLY;BYDAY=1MO", "without ordinals"),
        ("FREQ=YEARLY;BYDAY=54MO", "ordinal from 1 to 53"),
        ("FREQ=WEEKLY;BYDAY=XX", "weekdays"),
        ("FREQ=WEEKLY;COUNT=-1", "COUNT is an integer from 1 to 1000"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=WEEKLY;COUNT=1001", "COUNT"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR is integers from 0 to 23"),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE"),
        ("FREQ=DAILY;BYHOUR=", "BYHOUR"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
        ("FREQ=DAILY;UNTIL=99991231T235959Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20260230T000000Z", "UNTIL"),
        ("FREQ=DAILY;INTERVAL=١", "INTERVAL"),
    ],
)
def test_rules_are_checked_completely_when_a_schedule_is_made(rule: str, expected: str) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.Schedule(START, rule)
    assert info.value.problems[0].path == "$.rrule"
    assert expected in info.value.problems[0].expected


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3",
        "FREQ=MONTHLY;BYDAY=5MO;COUNT=3",
        "FREQ=YEARLY;BYDAY=53MO;COUNT=2",
        "FREQ=MONTHLY;BYMONTHDAY=-31,31;COUNT=4",
        "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30;COUNT=8",
        "FREQ=WEEKLY;WKST=SU;BYDAY=MO,TH;UNTIL=20260301T000000Z",
    ],
)
def test_valid_rules_expand(rule: str) -> None:
    occurrences = tp.Schedule(START, rule).occurrences()
    assert occurrences
    assert all(START <= when < tp.document.MAX_INSTANT for when in occurrences)


def test_expansion_stops_at_the_end_of_the_time_range() -> None:
    late = datetime(2199, 12, 30, 9, tzinfo=MINUS5)
    schedule = tp.Schedule(late, "FREQ=YEARLY;INTERVAL=1000")
    assert schedule.occurrences() == [late]
    daily = tp.Schedule(late, "FREQ=DAILY")
    assert len(daily.occurrences()) == 2  # 30 and 31 December 2199 (UTC 14:00)
    assert list(daily) == daily.occurrences()


def test_a_schedule_error_has_no_context() -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.Schedule(START, "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1")
    assert info.value.__context__ is None


# --------------------------------------------------------------------------- arithmetic
def test_a_gas_target_weight_of_zero_is_refused() -> None:
    with pytest.raises(tp.ValidationError, match="above 0"):
        tp.GasTarget(level=0, weight=0)
    doc = example()
    for goal in doc["goals"]:
        for objective in goal["objectives"]:
            objective["target"] = {"kind": "gas", "level": 0, "weight": 0}
    error = load_error(doc)
    assert all(p.path.endswith(".target.weight") for p in error.problems)


def test_gas_arithmetic_refuses_a_zero_weight_with_a_library_error() -> None:
    with pytest.raises(tp.ArgumentError, match="weights: expected finite numbers above 0"):
        tp.outcomes.gas_t_score([1, 0], [1.0, 0.0])


def test_policy_and_definition_thresholds_are_checked_when_made() -> None:
    with pytest.raises(tp.ValidationError, match="depression_reliable_change"):
        tp.outcomes.TalkingTherapiesPolicy(depression_reliable_change=0)
    with pytest.raises(tp.ValidationError, match="reliable_change"):
        attrs.evolve(tp.builtin_instrument("PHQ-9"), reliable_change=0)


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x0b", "\x0c", "\x1f"])
def test_control_characters_are_refused_in_free_text(bad: str) -> None:
    with pytest.raises(tp.ValidationError, match="control characters"):
        tp.Session("s1", START, tp.Attendance.ATTENDED, note=f"before{bad}after")
    with pytest.raises(tp.ValidationError, match="control characters"):
        tp.fire(referred(), "begin_assessment", at=START, by="clin-1", reason=f"x{bad}y")
    doc = example()
    doc["goals"][0]["statement"] = f"secret{bad}statement"
    error = load_error(doc)
    assert [p.path for p in error.problems] == ["$.goals[0].statement"]
    assert "secret" not in str(error)


def test_tabs_and_line_breaks_are_kept_in_free_text() -> None:
    note = "line one\r\n\tline two\n"
    session = tp.Session("s1", START, tp.Attendance.ATTENDED, note=note)
    assert session.note == note


# --------------------------------------------------------------------------- privacy
SECRET = "Hidden clinical words"


def test_a_validation_error_keeps_no_exception_context() -> None:
    doc = example()
    doc["goals"][0][SECRET] = 1
    error = load_error(doc)
    assert error.__context__ is None
    assert error.__cause__ is None
    assert SECRET not in str(error)


def test_malformed_json_errors_keep_no_context() -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.loads('{"' + SECRET + '": NaN}')
    assert info.value.__context__ is None
    assert SECRET not in str(info.value)


def test_scenario_errors_do_not_echo_keys() -> None:
    data = {"population": {"readiness": {SECRET: "not a number"}}}
    with pytest.raises(tp.ValidationError) as info:
        sim.Scenario.from_dict(data)
    assert SECRET not in str(info.value)
    assert info.value.__context__ is None
    assert [p.path for p in info.value.problems] == ["$.population.readiness"]
    assert info.value.problems[0].expected.startswith("values that are each ")


def test_scenario_json_errors_keep_no_context() -> None:
    with pytest.raises(tp.ValidationError) as info:
        sim.Scenario.from_json("{" + SECRET)
    assert info.value.__context__ is None


# --------------------------------------------------------------------------- error family
def test_misused_public_functions_name_the_parameter() -> None:
    plan = tp.loads(json.dumps(example()))
    assessment = plan.all_assessments()[0]
    cases = [
        (lambda: tp.score("PHQ-9", assessment), "instrument: expected an Instrument"),
        (
            lambda: tp.score(tp.builtin_instrument("PHQ-9"), "a1"),
            "assessment: expected an Assessment",
        ),
        (lambda: tp.instruments.plan_score("plan", assessment), "plan: expected a TreatmentPlan"),
        (lambda: tp.instruments.plan_score(plan, "a1"), "assessment: expected an Assessment"),
        (lambda: tp.reviews.due_reviews(plan, date(2026, 3, 1)), "plans: expected an iterable"),
        (lambda: tp.reviews.due_reviews(7, date(2026, 3, 1)), "plans: expected an iterable"),
        (
            lambda: tp.instruments.plan_scores(plan, "NOPE-1"),
            "code: expected the code of a built-in",
        ),
        (lambda: tp.instruments.plan_scores(plan, 9), "instrument: expected an instrument code"),
        (lambda: tp.instruments.plan_scores("plan", "PHQ-9"), "plan: expected a TreatmentPlan"),
        (lambda: tp.outcomes.plan_gas_t_score("plan"), "plan: expected a TreatmentPlan"),
        (lambda: tp.outcomes.talking_therapies_outcome("plan"), "plan: expected a TreatmentPlan"),
        (lambda: tp.outcomes.talking_therapies_outcome(plan, "x"), "policy: expected a Talking"),
        (
            lambda: tp.builtin_instrument("NOPE-1"),
            "code: expected the code of a built-in instrument",
        ),
        (lambda: plan.objective("nope"), "objective_id: expected the id of an objective"),
        (
            lambda: tp.change.hageman_arrindell_rc(1, 2, "stats"),
            "stats: expected a HagemanArrindell",
        ),
    ]
    for call, message in cases:
        with pytest.raises(tp.ArgumentError, match=message) as info:
            call()
        assert isinstance(info.value, tp.TreatplanError)
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, ValueError)


def test_unknown_references_are_still_lookup_errors() -> None:
    plan = tp.loads(json.dumps(example()))
    with pytest.raises(KeyError) as info:
        tp.instruments.plan_scores(plan, "NOPE-1")
    assert isinstance(info.value, tp.UnknownReferenceError)
    assert str(info.value) == "code: expected the code of a built-in or custom instrument"
    with pytest.raises(IndexError):
        tp.fhir.episode_status(plan, 999)
    findings = tp.review(plan, plan.last_event_at)
    with pytest.raises(KeyError, match="instrument: expected"):
        findings.measure("NOPE-1")


def test_no_bare_builtin_raise_is_left_in_the_source() -> None:
    source = ROOT / "src" / "treatplan"
    offenders = [
        f"{path.relative_to(source)}:{n}"
        for path in source.rglob("*.py")
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if any(f"raise {name}(" in line for name in ("ValueError", "TypeError", "KeyError"))
        or "raise IndexError(" in line
    ]
    assert offenders == []


def test_lifecycle_argument_errors_keep_no_context() -> None:
    plan = referred()
    with pytest.raises(tp.ValidationError) as info:
        tp.fire(plan, SECRET, at=START, by="clin-1")
    assert info.value.__context__ is None
    assert SECRET not in str(info.value)
    with pytest.raises(tp.ValidationError) as info:
        tp.revise(plan, **{SECRET.replace(" ", "_"): 1})
    assert info.value.__context__ is None
    assert SECRET.replace(" ", "_") not in str(info.value)


def test_fhir_import_errors_keep_no_context() -> None:
    from treatplan import _fhir

    with pytest.raises(tp.ValidationError) as info:
        _fhir._enum(tp.GoalDomain, SECRET, "$.entry[3].resource.category")
    assert info.value.__context__ is None
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "whole years"),
        ("FREQ=MONTHLY;INTERVAL=336;BYDAY=5MO", "whole years"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", "not whole weeks"),
        ("FREQ=DAILY;INTERVAL=14;BYDAY=MO,TU", "not whole weeks"),
        ("FREQ=DAILY;BYMONTHDAY=31", "only with FREQ=MONTHLY or YEARLY"),
        ("FREQ=YEARLY;INTERVAL=28;BYDAY=53MO", "53 only at INTERVAL 1"),
    ],
)
def test_rules_that_could_skip_every_period_are_refused(rule: str, expected: str) -> None:
    # Each would make dateutil scan to the year 9999 looking for an occurrence.
    start = datetime(2026, 2, 3, tzinfo=UTC)  # a Tuesday in February
    with pytest.raises(tp.ValidationError) as info:
        tp.Schedule(start, rule)
    assert expected in info.value.problems[0].expected


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=31",
        "FREQ=MONTHLY;INTERVAL=11;BYDAY=5MO",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=28",
        "FREQ=DAILY;INTERVAL=6;BYDAY=MO",
        "FREQ=YEARLY;BYDAY=-53FR",
    ],
)
def test_rules_whose_interval_reaches_an_occurrence_are_kept(rule: str) -> None:
    assert tp.Schedule(datetime(2026, 2, 3, tzinfo=UTC), rule).occurrences(limit=3)
