"""Deliberate misuses: ``mypy --strict --warn-unused-ignores`` must reject every line.

Each line carries the one error code it must raise; an ignore that is not needed
(the call type-checks) fails the check, so this file fails on a library whose
signatures accept anything. Checked by tests/test_typing.py; never run.
"""

from datetime import UTC, date, datetime

import treatplan as tp

T = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=T, by="gp-1")
phq9 = tp.Assessment("a1", "PHQ-9", T, items=(1,) * 9)

tp.Session("s1", "yesterday", tp.Attendance.ATTENDED)  # type: ignore[arg-type]
tp.Session("s1", T, tp.Attendance.ATTENDED, interventions=7)  # type: ignore[arg-type]
tp.Session("s1", T, "attended")  # type: ignore[arg-type]
tp.Goal("g1", "s", tp.GoalDomain.OTHER, objectives="not-a-tuple")  # type: ignore[arg-type]
tp.Goal("g1", "s", tp.GoalDomain.OTHER, addresses=42)  # type: ignore[arg-type]
tp.Assessment("a1", "PHQ-9", T, items="123")  # type: ignore[arg-type]
tp.Assessment("a1", "PHQ-9", "2026-01-05")  # type: ignore[arg-type]
tp.TreatmentPlan("p", "c", history=[plan])  # type: ignore[list-item]
tp.score("PHQ-9", phq9)  # type: ignore[arg-type]
tp.fire(plan, tp.Event.PAUSE, at="now", by="clin-1")  # type: ignore[arg-type]
tp.review(plan, date(2026, 1, 5))  # type: ignore[arg-type]
tp.evaluate(tp.rules.SessionLimit(3), plan, "today")  # type: ignore[arg-type]
tp.reviews.due_reviews(plan, date(2026, 1, 5))  # type: ignore[arg-type]
tp.record_session(plan, phq9)  # type: ignore[arg-type]
tp.rules.AnyOf(rules=[tp.rules.SessionLimit(3), "goals_met"])  # type: ignore[list-item]
tp.rules.GoalsMet(objectives=3)  # type: ignore[arg-type]
