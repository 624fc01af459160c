"""The main return types, as a type checker sees them (``assert_type``); never run."""

from datetime import UTC, datetime
from typing import assert_type

import treatplan as tp

T = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=T, by="gp-1")
phq9 = tp.Assessment("a1", "PHQ-9", T, items=(1,) * 9)
rule = tp.rules.AnyOf([tp.rules.SessionLimit(12), tp.rules.GoalsMet()])

assert_type(tp.fire(plan, tp.Event.WAITLIST, at=T, by="gp-1"), tp.TreatmentPlan)
assert_type(tp.record_assessment(plan, phq9), tp.TreatmentPlan)
assert_type(tp.loads(tp.dumps(plan)), tp.TreatmentPlan)
assert_type(tp.dumps(plan), str)
assert_type(tp.review(plan, T), tp.Findings)
assert_type(tp.alerts(plan, T), tuple[tp.Alert, ...])
assert_type(tp.evaluate(rule, plan, T), tp.Verdict)
assert_type(tp.score(tp.instruments.PHQ9, phq9), tp.Score)
assert_type(tp.allowed_events(plan), tuple[tp.EventCheck, ...])
assert_type(tp.objective_achievement(plan, plan.objectives[0], T), tp.Achievement)
assert_type(tp.instruments.plan_series(plan)["PHQ-9"], tuple[tp.instruments.ScoredPoint, ...])
assert_type(plan.phase, tp.Phase)
