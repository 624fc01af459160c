"""The simulator's fast record constructors build exactly what the checked ones build."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

import treatplan as tp
from treatplan._fast import drawn_assessment, drawn_session
from treatplan.sim import ItemPatterns

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
