"""The one room for fast paths (treatplan._fast), held to the validated path."""

from __future__ import annotations

import inspect
import linecache
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _fast, _lifecycle
from treatplan import strategies as tps

FIELDS = tuple(a.name for a in attrs.fields(tp.TreatmentPlan))
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _validated(plan: tp.TreatmentPlan) -> tp.TreatmentPlan:
    """The same plan built through the constructor, every check run."""
    return tp.TreatmentPlan(**{name: getattr(plan, name) for name in FIELDS})


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_replacing_a_field_equals_the_validated_copy(plan: tp.TreatmentPlan) -> None:
    for name in FIELDS:
        copy = _fast.replace_field(plan, name, getattr(plan, name), None)
        assert copy == plan
        assert copy is not plan
        assert _validated(copy) == copy


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_every_operation_result_equals_the_validated_plan(plan: tp.TreatmentPlan) -> None:
    # Generated plans are made by fire and record_*: every step took a fast path.
    assert _validated(plan) == plan
    assert tp.loads(tp.dumps(plan)) == plan


@SLOW
@given(tps.treatment_plans(max_records=8), st.data())
def test_views_cut_at_an_instant_are_valid_plans(plan: tp.TreatmentPlan, data: Any) -> None:
    from treatplan._state import as_of_view

    times = sorted({t.at.astimezone(UTC) for t in plan.history})
    view = as_of_view(plan, data.draw(st.sampled_from(times)))
    assert _validated(view) == view


@SLOW
@given(tps.transitions())
def test_an_unchecked_transition_equals_the_checked_one(record: tp.Transition) -> None:
    fields = {a.name: getattr(record, a.name) for a in attrs.fields(tp.Transition)}
    assert _fast.new_transition(**fields) == tp.Transition(**fields)


times = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=5, minutes=30))])),
    st.datetimes(),  # naive
    st.just(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
    st.just(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))),
)
refs = st.one_of(st.sampled_from(["clin-1", "a b", "", "x" * 129]), st.text(max_size=5))
reasons = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["ok", "a\x00b", "   "]))


@settings(max_examples=300, deadline=None)
@given(at=times, by=refs, reason=reasons)
def test_fire_checks_its_arguments_exactly_as_a_transition_does(
    at: datetime, by: str, reason: str | None
) -> None:
    try:
        request = _lifecycle._request(tp.Event.PAUSE, at, by, reason)
    except tp.ValidationError:
        fast_ok = False
    else:
        fast_ok = True
    try:
        tp.Transition("pause", tp.Phase.ACTIVE, tp.Phase.ON_HOLD, at, by, reason)
    except tp.ValidationError:
        slow_ok = False
    else:
        slow_ok = True
    # A blank reason is no reason for fire; a Transition refuses blank text: the one
    # intended difference.
    if reason is not None and not reason.strip():
        assert fast_ok == slow_ok or (fast_ok and request.reason is None)
    else:
        assert fast_ok == slow_ok


def test_generated_code_is_registered_with_linecache() -> None:
    make = _fast._REPLACE["history"]
    filename = make.__code__.co_filename
    assert filename.startswith("<treatplan generated ")
    assert linecache.getlines(filename)
    assert "def make(source, value):" in inspect.getsource(make)


def test_a_new_plan_builds_its_state_on_first_use() -> None:
    plan = tp.TreatmentPlan.refer("p", "c", at=datetime(2026, 1, 5, tzinfo=UTC), by="g")
    with pytest.raises(AttributeError):
        object.__getattribute__(plan, "_state")  # nothing computed yet
    copy = _fast.plan_with(plan)
    assert copy == plan
    assert object.__getattribute__(copy, "_state") is None  # rebuilt on first use
