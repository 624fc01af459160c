"""The main return types, as a type checker sees them (``assert_type``); never run."""

from datetime import UTC, datetime
from typing import assert_type

import polars

import treatplan as tp
from treatplan.document import JsonValue

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

# JSON: documents are JSON values; the unions Rule and ObjectiveTarget read as either.
found = tp.review(plan, T)
assert_type(tp.to_dict(plan), dict[str, JsonValue])
assert_type(tp.to_dict(rule), dict[str, JsonValue])
assert_type(tp.to_dict(found.alerts), list[JsonValue])
assert_type(tp.to_dict([phq9]), list[JsonValue])
assert_type(tp.dumps(found.alerts, indent=None), str)
assert_type(tp.from_dict(tp.to_dict(rule), tp.rules.Rule), tp.rules.Rule | tp.ObjectiveTarget)
assert_type(tp.loads("{}", tp.ObjectiveTarget), tp.rules.Rule | tp.ObjectiveTarget)
assert_type(tp.loads("[]", tuple[tp.Alert, ...]), tuple[tp.Alert, ...])
assert_type(tp.from_dict({}, tp.Session), tp.Session)
assert_type(tp.document.migrate({"schema_version": 1}), dict[str, JsonValue])

# Keyword arguments naming the plan's content, and converters taking lists or tuples.
goal = tp.Goal("g1", "feel better", tp.GoalDomain.EMOTIONAL_WELLBEING)
referred = tp.TreatmentPlan.refer(
    "plan-2", "client-2", at=T, by="gp-1", goals=[goal], assessments=(phq9,), reason=None
)
assert_type(referred, tp.TreatmentPlan)
assert_type(tp.revise(referred, discharge_criteria=rule, goals=[goal]), tp.TreatmentPlan)
assert_type(tp.revise(referred, custom_instruments=[tp.instruments.PHQ9]), tp.TreatmentPlan)
parts: tp.RevisionParts = {"discharge_criteria": None}
assert_type(tp.revise(referred, **parts), tp.TreatmentPlan)
custom = tp.Instrument(
    "X-1",
    "x",
    3,
    0,
    3,
    bands=[tp.instruments.Band("low", 0, 9)],
    reverse_items=(2,),
    item_choices=[tp.instruments.ItemChoices(1, values=[0, 3])],
    risk_items=(tp.instruments.RiskItem(3, 1, "risk"),),
)
score = tp.monitoring.ExpectedScore(0, 15.0, 10.0, 20.0, 22.0)
curve = tp.monitoring.TabulatedCurve("PHQ-9", 0, 27, points=[score])
policy = tp.monitoring.AlertPolicy(
    monitored=["PHQ-9"],
    authorisation_warnings=[0.75, 0.9],
    response=tp.monitoring.ExpectedResponse(curves=(curve,)),
)
assert_type(policy.monitored, tuple[str, ...] | None)

# DataFrames: the library asked for (pandas is typed where pandas-stubs is installed).
assert_type(tp.instruments.measures_frame(plan, "polars"), polars.DataFrame)
assert_type(tp.sim.to_dataframe("out", "clients", library="polars"), polars.DataFrame)
