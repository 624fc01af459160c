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

# Keyword arguments that name the plan's content (refer, revise): a typo or a wrong
# type is an error, and so are the records that only the lifecycle operations add.
tp.TreatmentPlan.refer("p1", "c1", at=T, by="x", goalz=[])  # type: ignore[call-arg]
tp.TreatmentPlan.refer("p1", "c1", at=T, by="x", goals=42)  # type: ignore[arg-type]
tp.TreatmentPlan.refer("p1", "c1", at=T, by="x", sessions=[])  # type: ignore[call-arg]
tp.revise(plan, discharge_critera=tp.rules.GoalsMet())  # type: ignore[call-arg]
tp.revise(plan, discharge_criteria=42)  # type: ignore[arg-type]
tp.revise(plan, sessions=())  # type: ignore[call-arg]
tp.revise(plan, custom_instruments=tp.instruments.PHQ9)  # type: ignore[arg-type]

# Constructors whose converters take a list or tuple.
tp.Instrument("X-1", "x", 3, 0, 3, bands=42)  # type: ignore[arg-type]
tp.Instrument("X-1", "x", 3, 0, 3, reverse_items="ab")  # type: ignore[arg-type]
tp.Instrument("X-1", "x", 3, 0, 3, item_choices=3.5)  # type: ignore[arg-type]
tp.Instrument("X-1", "x", 3, 0, 3, risk_items={"a": 1})  # type: ignore[arg-type]
tp.instruments.ItemChoices(1, values="024")  # type: ignore[arg-type]
tp.monitoring.AlertPolicy(monitored=42)  # type: ignore[arg-type]
tp.monitoring.AlertPolicy(monitored="PHQ-9")  # type: ignore[arg-type]
tp.monitoring.AlertPolicy(authorisation_warnings=0.8)  # type: ignore[arg-type]
tp.monitoring.ExpectedResponse(curves=42)  # type: ignore[arg-type]
tp.monitoring.TabulatedCurve("PHQ-9", 0, 27, points=42)  # type: ignore[arg-type]

# JSON: only plans and their parts are written; migrate reads a document.
tp.dumps(object())  # type: ignore[call-overload]
tp.dumps(float("nan"))  # type: ignore[call-overload]
tp.dumps({1, 2})  # type: ignore[call-overload]
tp.to_dict(object())  # type: ignore[call-overload]
tp.to_dict("plan")  # type: ignore[call-overload]
tp.to_dict(10**5000)  # type: ignore[call-overload]
tp.document.migrate(42)  # type: ignore[call-overload]

# DataFrames come from the pandas or polars extra, nothing else.
tp.instruments.measures_frame(plan, "numpy")  # type: ignore[call-overload]
tp.sim.to_dataframe("out", "clients", library="numpy")  # type: ignore[call-overload]
