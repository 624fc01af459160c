"""``fire``'s usual path (answered inline) agrees with the full check (``_failures``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import dateutil.tz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _lifecycle
from treatplan import strategies as tps

ROOT = Path(__file__).resolve().parent.parent
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENTS = [e for e in tp.Event if e is not tp.Event.REFER]
OFFSETS = [
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=5, minutes=31)),  # whole minutes, but no zone uses it
    timezone(timedelta(hours=-14)),
]


@SLOW
@given(
    tps.treatment_plans(max_records=6),
    st.sampled_from(EVENTS),
    st.integers(-3, 3),
    st.sampled_from(OFFSETS),
    st.sampled_from([None, "", "   ", "a reason"]),
)
def test_fire_succeeds_exactly_when_every_check_passes(
    plan: tp.TreatmentPlan, event: tp.Event, days: int, zone: Any, reason: str | None
) -> None:
    at = (tp.latest_time(plan) + timedelta(days=days)).astimezone(zone)
    check = tp.check_event(plan, event, at=at, by="clin-1", reason=reason)
    if not check.allowed:
        with pytest.raises(tp.TransitionError) as refused:
            tp.fire(plan, event, at=at, by="clin-1", reason=reason)
        assert refused.value.reasons == check.reasons
        return
    fired = tp.fire(plan, event, at=at, by="clin-1", reason=reason)
    record = fired.history[-1]
    fields = {a.name: getattr(record, a.name) for a in attrs.fields(tp.Transition)}
    assert tp.Transition(**fields) == record  # the validated record is the same
    assert fired.history[:-1] == plan.history
    assert tp.loads(tp.dumps(fired)) == fired


@pytest.mark.parametrize(
    "at",
    [
        datetime(1900, 1, 1, 0, 30, tzinfo=timezone(timedelta(minutes=-30))),
        datetime(2199, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=5, minutes=31))),
    ],
)
def test_times_near_the_ends_and_at_unusual_offsets_take_the_full_check(at: datetime) -> None:
    event, when, reason = _lifecycle._checked(tp.Event.PAUSE, at, "clin-1", "x")
    assert (event, when, reason) == (tp.Event.PAUSE, at, "x")
    tp.Transition("pause", tp.Phase.ACTIVE, tp.Phase.ON_HOLD, when, "clin-1", reason)


def test_a_time_past_the_end_at_an_unusual_offset_is_refused() -> None:
    at = datetime(2199, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-31)))
    with pytest.raises(tp.ValidationError, match=r"\bat\b"):
        _lifecycle._checked(tp.Event.PAUSE, at, "clin-1", None)


def test_a_reason_with_a_lone_surrogate_is_refused() -> None:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(tp.ValidationError, match="reason"):
        _lifecycle._checked(tp.Event.PAUSE, at, "clin-1", "ok \ud800")


# --------------------------------------------------------------------------- fast vs full
def _result(call: Any) -> tuple[str, Any]:
    """What a call gives: the plan, or the error's type and everything it says."""
    try:
        plan = call()
    except tp.TreatplanError as error:
        said = (type(error).__name__, str(error), getattr(error, "reasons", None))
        return "error", (*said, getattr(error, "problems", None))
    return "plan", plan


#: Zones of every kind a caller may pass: UTC, fixed offsets usual and unusual, and
#: named zones (zoneinfo, dateutil) whose offsets change over the year.
ZONES = [
    *OFFSETS,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=14)),
    ZoneInfo("Europe/London"),
    ZoneInfo("America/New_York"),
    dateutil.tz.gettz("Australia/Sydney"),
    dateutil.tz.tzoffset("x", 3600),
    dateutil.tz.tzutc(),
]
REASONS = [None, "", "   ", "a reason", " padded ", "tab\tand\nline", "é ok", "ok \ud800", "\x01"]


@SLOW
@given(
    tps.treatment_plans(max_records=6),
    st.sampled_from(list(tp.Event)),
    st.integers(-3, 3),
    st.sampled_from(ZONES),
    st.sampled_from(REASONS),
    st.sampled_from(["clin-1", "system", "bad by", "", "x" * 129]),
    st.booleans(),
)
def test_the_fast_path_gives_what_the_full_path_gives(
    plan: tp.TreatmentPlan,
    event: tp.Event,
    days: int,
    zone: Any,
    reason: str | None,
    by: str,
    as_text: bool,
) -> None:
    at = (tp.latest_time(plan) + timedelta(days=days)).astimezone(zone)
    if by == "system":
        by = plan.history[-1].by  # the last record's own reference
    ev: Any = event.value if as_text else event
    before = tp.dumps(plan)
    fast = _result(lambda: tp.fire(plan, ev, at=at, by=by, reason=reason))
    full = _result(lambda: _lifecycle._fire_checked(plan, ev, at, by, reason))
    assert fast == full
    assert tp.dumps(plan) == before  # the input is untouched
    if fast[0] == "plan":
        fired = fast[1]
        assert fired.history[:-1] == plan.history  # append-only
        record = fired.history[-1]
        fields = {a.name: getattr(record, a.name) for a in attrs.fields(tp.Transition)}
        assert tp.Transition(**fields) == record
        assert tp.loads(tp.dumps(fired)) == fired


def _active_plan() -> tp.TreatmentPlan:
    plan = tp.loads((ROOT / "examples" / "adolescent-anxiety-family.json").read_text("utf-8"))
    assert plan.phase is tp.Phase.ACTIVE
    return plan


@pytest.mark.parametrize(
    ("shift", "zone"),
    [
        (timedelta(days=1), UTC),
        (timedelta(days=1), timezone(timedelta(hours=1))),
        (timedelta(days=1), timezone(timedelta(hours=-9, minutes=-30))),
        (timedelta(days=1), ZoneInfo("Europe/Berlin")),
        (-timedelta(minutes=1), UTC),
        (-timedelta(minutes=1), timezone(timedelta(hours=3))),
    ],
)
def test_times_at_other_offsets_compare_as_instants(shift: timedelta, zone: Any) -> None:
    plan = _active_plan()
    at = (tp.latest_time(plan) + shift).astimezone(zone)
    fast = _result(lambda: tp.fire(plan, "pause", at=at, by="clin-1", reason="leave"))
    assert fast == _result(lambda: _lifecycle._fire_checked(plan, "pause", at, "clin-1", "leave"))
    assert (fast[0] == "plan") == (shift > timedelta(0))
    if fast[0] == "plan":
        # The next event compares against a record at another offset than its own.
        paused = fast[1]
        later = (at + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-4)))
        resumed = tp.fire(paused, tp.Event.RESUME, at=later, by="clin-2")
        assert resumed.phase is tp.Phase.ACTIVE
        assert resumed.history[-1].at == later
        with pytest.raises(tp.TransitionError, match="before the last recorded transition"):
            tp.fire(paused, tp.Event.RESUME, at=at - timedelta(seconds=1), by="clin-2")


def test_a_time_after_the_range_in_utc_is_refused_as_the_full_path_does() -> None:
    plan = _active_plan()
    at = datetime(2200, 1, 1, tzinfo=UTC)
    with pytest.raises(tp.ValidationError, match=r"\bat\b"):
        tp.fire(plan, tp.Event.PAUSE, at=at, by="clin-1", reason="leave")


def test_a_plan_subclass_or_a_guarded_event_takes_the_full_path() -> None:
    plan = _active_plan()
    at = tp.latest_time(plan) + timedelta(days=1)
    with pytest.raises(tp.TransitionError, match="agree_plan is allowed only from"):
        tp.fire(plan, tp.Event.AGREE_PLAN, at=at, by="clin-1")
    with pytest.raises(tp.ArgumentError, match="plan"):
        tp.fire("not a plan", tp.Event.PAUSE, at=at, by="clin-1")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- inline checks
#: Every character class of a reference and some just outside it.
REF_ALPHABET = "aZ09._:/#-" + " \t\né\x00+@"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(REF_ALPHABET, max_size=6),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{120,130}", fullmatch=True),
    )
)
def test_the_inline_reference_check_is_the_pattern(by: str) -> None:
    # fire's fast path checks a new reference by strip and membership, the full path
    # by the pattern: the same answer for every string.
    plan = _active_plan()
    at = tp.latest_time(plan) + timedelta(days=1)
    fast = _result(lambda: tp.fire(plan, tp.Event.PAUSE, at=at, by=by, reason="leave"))
    assert fast == _result(lambda: _lifecycle._fire_checked(plan, "pause", at, by, "leave"))
    assert (fast[0] == "plan") == (_lifecycle.match_ref(by) is not None)
    if fast[0] == "plan":
        assert fast[1].history[-1].by == by


#: Offsets as far apart as zones go, and the usual ones between.
FAR_OFFSETS = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=5, minutes=45)),
    timezone(timedelta(hours=-9, minutes=-30)),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(FAR_OFFSETS),
    st.sampled_from(FAR_OFFSETS),
    st.integers(-3 * 24 * 60, 3 * 24 * 60),
    st.integers(0, 24 * 60 - 1),
)
def test_a_time_near_the_last_transition_at_another_offset_is_compared_exactly(
    last_zone: Any, zone: Any, minutes: int, minute_of_day: int
) -> None:
    # The fast path settles a time two or more calendar days after the last
    # transition's date without converting either: around that boundary, at the
    # offsets furthest apart, it must agree with the instants.
    plan = _active_plan()
    start = tp.latest_time(plan) + timedelta(days=1, minutes=minute_of_day)
    paused = tp.fire(plan, tp.Event.PAUSE, at=start.astimezone(last_zone), by="c", reason="r")
    at = (start + timedelta(minutes=minutes)).astimezone(zone)
    fast = _result(lambda: tp.fire(paused, tp.Event.RESUME, at=at, by="c"))
    assert fast == _result(lambda: _lifecycle._fire_checked(paused, "resume", at, "c", None))
    assert (fast[0] == "plan") == (minutes >= 0)
