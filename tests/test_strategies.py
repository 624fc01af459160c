"""treatplan.strategies: every strategy generates valid values, and whole plans are legal."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps
from treatplan._lifecycle import latest_time
from treatplan._rules import RULE_TYPES

# find() without shrinking: any example will do, and shrinking whole plans is slow.
NO_SHRINK = settings(max_examples=1000, database=None, phases=[Phase.generate])


def revalidated(value: Any) -> Any:
    """Rebuild ``value`` through its constructor: every validator runs again."""
    return attrs.evolve(value)


PARTS: list[tuple[str, st.SearchStrategy[Any], type[Any] | tuple[type[Any], ...]]] = [
    ("diagnoses", tps.diagnoses(), tp.Diagnosis),
    ("presenting_problems", tps.presenting_problems(), tp.PresentingProblem),
    ("measure_targets", tps.measure_targets(), tp.MeasureTarget),
    ("gas_targets", tps.gas_targets(), tp.GasTarget),
    ("behaviour_targets", tps.behaviour_targets(), tp.BehaviourTarget),
    ("targets", tps.targets(), (tp.MeasureTarget, tp.GasTarget, tp.BehaviourTarget)),
    ("objectives", tps.objectives(), tp.Objective),
    ("goals", tps.goals(), tp.Goal),
    ("schedules", tps.schedules(), tp.Schedule),
    ("interventions", tps.interventions(), tp.Intervention),
    ("instruments", tps.instruments(), tp.Instrument),
    ("assessments", tps.assessments(), tp.Assessment),
    ("sessions", tps.sessions(), tp.Session),
    ("objective_progress", tps.objective_progress(), tp.ObjectiveProgress),
    ("progress_reviews", tps.progress_reviews(), tp.ProgressReview),
    ("barriers", tps.barriers(), tp.Barrier),
    ("client_factors", tps.client_factors(), tp.ClientFactors),
    ("goals_met_rules", tps.goals_met_rules(), tp.rules.GoalsMet),
    ("session_limits", tps.session_limits(), tp.rules.SessionLimit),
    ("consecutive_missed_rules", tps.consecutive_missed_rules(), tp.rules.ConsecutiveMissed),
    ("missed_in_window_rules", tps.missed_in_window_rules(), tp.rules.MissedInWindow),
    ("missed_within_days_rules", tps.missed_within_days_rules(), tp.rules.MissedWithinDays),
    ("inactivity_rules", tps.inactivity_rules(), tp.rules.Inactivity),
    ("time_limits", tps.time_limits(), tp.rules.TimeLimit),
    ("client_requests", tps.client_requests(), tp.rules.ClientRequest),
    ("sustained_recovery_rules", tps.sustained_recovery_rules(), tp.rules.SustainedRecovery),
    ("plateau_rules", tps.plateau_rules(), tp.rules.Plateau),
    (
        "reliable_deterioration_rules",
        tps.reliable_deterioration_rules(),
        tp.rules.ReliableDeterioration,
    ),
    ("authorisation_used_rules", tps.authorisation_used_rules(), tp.rules.AuthorisationUsed),
    ("any_of_rules", tps.any_of_rules(), tp.rules.AnyOf),
    ("all_of_rules", tps.all_of_rules(), tp.rules.AllOf),
    ("simple_rules", tps.simple_rules(), RULE_TYPES),
    ("termination_rules", tps.termination_rules(), RULE_TYPES),
    ("transitions", tps.transitions(), tp.Transition),
]


@pytest.mark.parametrize(("name", "strategy", "kind"), PARTS, ids=[p[0] for p in PARTS])
@settings(max_examples=30)
@given(data=st.data())
def test_each_strategy_generates_valid_values_of_its_class(
    name: str, strategy: st.SearchStrategy[Any], kind: Any, data: Any
) -> None:
    value = data.draw(strategy, label=name)
    assert isinstance(value, kind)
    assert revalidated(value) == value


def test_every_public_strategy_is_documented_and_exported() -> None:
    assert tps.__all__ == sorted(tps.__all__)
    # The type of the ``texts`` arguments, documented by its ``#:`` comment.
    assert tps.TextStrategy == st.SearchStrategy[str]
    for name in tps.__all__:
        if name == "TextStrategy":
            continue
        thing = getattr(tps, name)
        assert callable(thing), name
        assert thing.__doc__, name
        assert len(thing.__doc__.strip()) > 20, name
    assert tps.__doc__
    assert "hypothesis" in tps.__doc__


# --------------------------------------------------------------------------- building blocks
@given(tps.refs())
def test_refs_are_opaque_references(ref: str) -> None:
    assert revalidated(tp.Diagnosis(ref, tp.CodeSystem.ICD_10)).code == ref
    assert " " not in ref


@given(tps.clinical_texts(max_length=12))
def test_clinical_texts_are_non_blank_and_bounded(text: str) -> None:
    assert text.strip()
    assert 1 <= len(text) <= 12


@given(tps.aware_datetimes())
def test_datetimes_are_aware_and_in_range(when: Any) -> None:
    assert when.utcoffset() is not None
    assert tps.MIN_INSTANT <= when <= tps.MAX_INSTANT + timedelta(seconds=1)


def test_datetimes_include_utc_and_other_offsets() -> None:
    assert find(
        tps.aware_datetimes(), lambda d: d.tzinfo is UTC, settings=NO_SHRINK
    ).utcoffset() == timedelta(0)
    half_hour = find(
        tps.aware_datetimes(), lambda d: d.utcoffset() == timedelta(hours=5.5), settings=NO_SHRINK
    )
    assert half_hour.isoformat().endswith("+05:30")
    west = find(tps.aware_datetimes(), lambda d: d.utcoffset() < timedelta(0), settings=NO_SHRINK)
    assert west.isoformat()[-6] == "-"


@given(st.data())
def test_rrules_are_schedule_rules(data: Any) -> None:
    start = data.draw(tps.aware_datetimes())
    rule = data.draw(tps.rrules(start=start))
    schedule = tp.Schedule(start, rule)  # a valid schedule: the rule is in the safe profile
    assert schedule.rrule == rule
    assert "FREQ=" in rule
    assert "UNTIL=" not in data.draw(tps.rrules())  # no start: never an UNTIL


@given(tps.schedules())
def test_schedules_expand(schedule: tp.Schedule) -> None:
    first = schedule.occurrences(limit=5)
    assert len(first) <= 5
    if "UNTIL=" not in schedule.rrule:  # an UNTIL may end a rule before its first occurrence
        count = (
            int(schedule.rrule.split("COUNT=")[1].split(";")[0])
            if "COUNT" in schedule.rrule
            else 5
        )
        assert len(first) == min(count, 5)
    assert all(when >= schedule.start for when in first)
    assert first == sorted(first)
    if schedule.timezone is None:
        assert all(when.utcoffset() == schedule.start.utcoffset() for when in first)
    else:  # each occurrence carries the offset its zone has at that instant
        zone = ZoneInfo(schedule.timezone)
        assert all(when.utcoffset() == when.astimezone(zone).utcoffset() for when in first)


@given(tps.instruments(), st.data())
def test_assessments_fit_their_custom_instrument(instrument: tp.Instrument, data: Any) -> None:
    taken = data.draw(tps.assessments(instruments=[instrument]))
    assert taken.instrument == instrument.code
    assert taken.problems_against(instrument) == []
    if taken.items is not None:
        missing = sum(1 for i in taken.items if i is None)
        assert missing <= instrument.max_missing


@given(tps.assessments())
def test_assessments_fit_the_builtin_instruments(taken: tp.Assessment) -> None:
    assert taken.problems_against(tp.instruments.BUILTIN_INSTRUMENTS[taken.instrument]) == []


@given(tps.sessions(intervention_ids=("i1", "i2")))
def test_sessions_deliver_known_interventions_only_when_attended(session: tp.Session) -> None:
    assert set(session.interventions) <= {"i1", "i2"}
    if not session.attended:
        assert session.interventions == ()
        assert session.assessments == ()
    ids = [session.id, *(a.id for a in session.assessments)]
    assert len(set(ids)) == len(ids)
    assert all(a.administered_at == session.at for a in session.assessments)


@given(tps.progress_reviews(objective_ids=("o1", "o2", "o3")))
def test_reviews_name_given_objectives_once(review: tp.ProgressReview) -> None:
    named = [p.objective for p in review.progress]
    assert set(named) <= {"o1", "o2", "o3"}
    assert len(set(named)) == len(named)
    assert review.next_review is None or review.next_review >= review.at.date()


def _depth(rule: Any) -> int:
    if isinstance(rule, tp.rules.AnyOf | tp.rules.AllOf):
        return 1 + max(_depth(r) for r in rule.rules)
    return 0


def test_termination_rules_nest_any_of_and_all_of() -> None:
    nested = find(
        tps.termination_rules(),
        lambda r: (
            isinstance(r, tp.rules.AllOf) and any(isinstance(c, tp.rules.AnyOf) for c in r.rules)
        ),
        settings=NO_SHRINK,
    )
    assert _depth(nested) >= 2


@given(tps.termination_rules(max_depth=1), tps.simple_rules())
def test_rule_depth_is_bounded(rule: Any, simple: Any) -> None:
    assert _depth(rule) <= 1
    assert _depth(simple) == 0


@given(tps.goals_met_rules(objective_ids=("o1", "o2")))
def test_goals_met_names_given_objectives(rule: tp.rules.GoalsMet) -> None:
    assert set(rule.objectives) <= {"o1", "o2"}


@given(tps.transitions())
def test_transitions_are_rows_of_the_table(record: tp.Transition) -> None:
    spec = tp.lifecycle.TRANSITIONS[record.event]
    assert record.target is spec.target
    assert record.outcome is spec.outcome
    if record.event == "refer":
        assert record.source is None
    else:
        assert record.source in spec.sources


# --------------------------------------------------------------------------- whole plans
def _all_ids(plan: tp.TreatmentPlan) -> list[str]:
    ids = [p.id for p in plan.presenting_problems]
    for goal in plan.goals:
        ids += [goal.id, *(o.id for o in goal.objectives)]
    ids += [i.id for i in plan.interventions]
    ids += [a.id for a in plan.assessments]
    for session in plan.sessions:
        ids += [session.id, *(a.id for a in session.assessments)]
    ids += [r.id for r in plan.reviews]
    return ids


@given(tps.treatment_plans())
def test_plans_are_valid_with_a_legal_connected_history(plan: tp.TreatmentPlan) -> None:
    assert revalidated(plan) == plan  # every constructor check, including cross references
    history = plan.history
    assert history[0].event == "refer"
    assert history[0].source is None
    for before, after in itertools.pairwise(history):
        assert after.source is before.target
        assert after.at >= before.at
        spec = tp.lifecycle.TRANSITIONS[after.event]
        assert before.target in spec.sources
        assert after.target is spec.target
    assert plan.phase is history[-1].target
    ids = _all_ids(plan)
    assert len(ids) == len(set(ids))
    served = {oid for i in plan.interventions for oid in i.serves}
    assert {o.id for o in plan.objectives} <= served
    for taken in plan.all_assessments():
        assert taken.problems_against(plan.instrument(taken.instrument)) == []
        assert taken.administered_at >= history[0].at
    times = [s.at for s in plan.sessions]
    assert times == sorted(times)
    assert [r.at for r in plan.reviews] == sorted(r.at for r in plan.reviews)


@given(tps.treatment_plans())
def test_plans_accept_their_next_lifecycle_events(plan: tp.TreatmentPlan) -> None:
    # A generated plan is a normal plan: the lifecycle carries on from it.
    checks = tp.allowed_events(plan)
    assert any(c.allowed for c in checks)
    first = next(c for c in checks if c.allowed)
    later = latest_time(plan) + timedelta(hours=1)
    moved = tp.fire(plan, first.event, at=later, by="clin-1", reason="next step")
    assert moved.phase is first.target
    assert moved.history[:-1] == plan.history


@pytest.mark.parametrize("phase", list(tp.Phase), ids=lambda p: p.value)
@settings(max_examples=10)
@given(data=st.data())
def test_plans_reach_every_requested_phase(phase: tp.Phase, data: Any) -> None:
    plan = data.draw(tps.treatment_plans(phases=[phase]))
    assert plan.phase is phase
    if phase is tp.Phase.ACTIVE:
        assert any(t.event == "agree_plan" for t in plan.history)


def test_plans_can_be_long_and_closed_then_reopened() -> None:
    reopened = find(
        tps.treatment_plans(phases=[tp.Phase.ACTIVE]),
        lambda p: any(t.event == "reopen" for t in p.history) and len(p.sessions) >= 1,
        settings=NO_SHRINK,
    )
    assert reopened.phase is tp.Phase.ACTIVE


def test_plans_use_custom_instruments_and_non_utc_offsets() -> None:
    plan = find(
        tps.treatment_plans(),
        lambda p: (
            any(
                a.instrument not in tp.instruments.BUILTIN_INSTRUMENTS for a in p.all_assessments()
            )
            and any(t.at.utcoffset() != timedelta(0) for t in p.history)
        ),
        settings=NO_SHRINK,
    )
    assert plan.custom_instruments


def test_empty_phase_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one phase"):
        find(tps.treatment_plans(phases=[]), lambda p: True, settings=NO_SHRINK)


SECRET = "SECRETxq9"


@given(tps.plan_documents(texts=st.just(f"note {SECRET}")))
def test_texts_argument_supplies_every_clinical_free_text(doc: Any) -> None:
    plan = tp.from_dict(doc)
    texts = [g.statement for g in plan.goals]
    texts += [o.description for o in plan.objectives]
    texts += [i.technique for i in plan.interventions]
    texts += [p.description for p in plan.presenting_problems]
    texts += [s.note for s in plan.sessions if s.note is not None]
    texts += [t.reason for t in plan.history if t.reason is not None]
    texts += [r.note for r in plan.reviews if r.note is not None]
    assert texts
    assert all(text == f"note {SECRET}" for text in texts)


def test_module_is_not_imported_by_treatplan() -> None:
    code = (
        "import sys, treatplan\n"
        "assert 'treatplan.strategies' not in sys.modules\n"
        "assert 'hypothesis' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_module_explains_a_missing_hypothesis() -> None:
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"
        "try:\n"
        "    import treatplan.strategies\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pip install 'treatplan[test]'" in done.stdout


def test_every_rule_type_has_a_strategy() -> None:
    drawn = {
        type(find(tps.simple_rules(), lambda r, k=kind: isinstance(r, k), settings=NO_SHRINK))
        for kind in RULE_TYPES
        if kind not in (tp.rules.AnyOf, tp.rules.AllOf)
    }
    assert drawn | {tp.rules.AnyOf, tp.rules.AllOf} == set(RULE_TYPES)


def test_instruments_sometimes_carry_norms() -> None:
    with_norms = find(tps.instruments(), lambda i: i.norms is not None, settings=NO_SHRINK)
    assert with_norms.norms is not None
    assert 0 <= with_norms.norms.reliability < 1
