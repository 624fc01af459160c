"""``fire``'s usual path (answered inline) agrees with the full check (``_failures``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _lifecycle
from treatplan import strategies as tps

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
