"""The plan-wide checks (``treatplan._model._plan_problems``) held to a reference.

``_plan_problems`` runs on every plan a constructor or a document makes, so it is
written for the common case (no problem): paths are formatted only for problems
found, ids are checked for duplicates in one set build, record times converted to UTC
once. The reference below is the plain version it replaced, kept verbatim; on plans
broken in generated ways both must report the same problems, in the same order.
The direct check of item responses (``Instrument.response_problems``) is held to the
detailed one the same way.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _fast, _model
from treatplan import _validation as v
from treatplan import strategies as tps
from treatplan._errors import ValidationIssue
from treatplan._instruments import Instrument
from treatplan._model import (
    BY_NAME,
    RECORDING_PHASES,
    RULE_TYPES,
    SCHEMA_VERSION,
    Assessment,
    MeasureTarget,
    Phase,
    Transition,
    TreatmentPlan,
    _check_instrument_code,
    _rule_reference_problems,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mbc-walkthrough.json"
SLOW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- the reference
def reference_problems(plan: TreatmentPlan) -> list[ValidationIssue]:
    """Cross-references and invariants that span the plan's parts."""
    problems: list[ValidationIssue] = []
    add = problems.append
    if plan.schema_version != SCHEMA_VERSION:
        add(ValidationIssue("$.schema_version", f"schema version {SCHEMA_VERSION}"))
    if plan.discharge_criteria is not None and not isinstance(plan.discharge_criteria, RULE_TYPES):
        add(ValidationIssue("$.discharge_criteria", "a termination rule"))

    # Ids are unique across the whole plan so any reference is unambiguous.
    seen: dict[str, str] = {}

    def claim(ident: str, path: str) -> None:
        if ident in seen:
            add(ValidationIssue(f"{path}.id", f"an id not already used at {seen[ident]}"))
        else:
            seen[ident] = path

    problem_ids: set[str] = set()
    for i, p in enumerate(plan.presenting_problems):
        claim(p.id, f"$.presenting_problems[{i}]")
        problem_ids.add(p.id)
    objective_ids: set[str] = set()
    for gi, g in enumerate(plan.goals):
        claim(g.id, f"$.goals[{gi}]")
        for oi, o in enumerate(g.objectives):
            claim(o.id, f"$.goals[{gi}].objectives[{oi}]")
            objective_ids.add(o.id)
            if isinstance(o.target, MeasureTarget):
                _check_instrument_code(
                    plan,
                    o.target.instrument,
                    add,
                    f"$.goals[{gi}].objectives[{oi}].target.instrument",
                )
        for ai, pid in enumerate(g.addresses):
            if pid not in problem_ids:
                add(
                    ValidationIssue(
                        f"$.goals[{gi}].addresses[{ai}]", "the id of a presenting problem"
                    )
                )
    intervention_ids: set[str] = set()
    for ii, iv in enumerate(plan.interventions):
        claim(iv.id, f"$.interventions[{ii}]")
        intervention_ids.add(iv.id)
        for si, oid in enumerate(iv.serves):
            if oid not in objective_ids:
                add(
                    ValidationIssue(
                        f"$.interventions[{ii}].serves[{si}]", "the id of an objective"
                    )
                )
    for ci, custom in enumerate(plan.custom_instruments):
        if any(c.code == custom.code for c in plan.custom_instruments[:ci]):
            add(ValidationIssue(f"$.custom_instruments[{ci}].code", "a code not already defined"))

    def check_assessment(a: Assessment, path: str) -> None:
        claim(a.id, path)
        instrument = _check_instrument_code(plan, a.instrument, add, f"{path}.instrument")
        if instrument is not None:
            for p in a.problems_against(instrument):
                add(ValidationIssue(path + p.path[1:], p.expected))

    for ai, a in enumerate(plan.assessments):
        check_assessment(a, f"$.assessments[{ai}]")
    previous: datetime | None = None
    for si, s in enumerate(plan.sessions):
        path = f"$.sessions[{si}]"
        claim(s.id, path)
        if previous is not None and v.instant(s.at) < previous:
            add(ValidationIssue(f"{path}.at", "a time not before the previous session"))
        previous = v.instant(s.at)
        for ii, iid in enumerate(s.interventions):
            if iid not in intervention_ids:
                add(ValidationIssue(f"{path}.interventions[{ii}]", "the id of an intervention"))
        for ai, a in enumerate(s.assessments):
            check_assessment(a, f"{path}.assessments[{ai}]")
    previous = None
    for ri, r in enumerate(plan.reviews):
        path = f"$.reviews[{ri}]"
        claim(r.id, path)
        if previous is not None and v.instant(r.at) < previous:
            add(ValidationIssue(f"{path}.at", "a time not before the previous review"))
        previous = v.instant(r.at)
        for pi, prog in enumerate(r.progress):
            if prog.objective not in objective_ids:
                add(ValidationIssue(f"{path}.progress[{pi}].objective", "the id of an objective"))
    if plan.discharge_criteria is not None:
        problems.extend(_rule_reference_problems(plan.discharge_criteria, plan, objective_ids))
    history_problems = reference_history_problems(plan.history)
    problems.extend(history_problems)
    if not history_problems:
        problems.extend(reference_phase_problems(plan))
    return problems


def reference_phase_problems(plan: TreatmentPlan) -> list[ValidationIssue]:
    """Every record is dated in a phase that allows it (see :func:`record_time_problem`)."""
    problems: list[ValidationIssue] = []
    for i, a in enumerate(plan.assessments):
        why = reference_time_problem(plan.history, a.administered_at, "assessment")
        if why is not None:
            problems.append(ValidationIssue(f"$.assessments[{i}].administered_at", why))
    for i, s in enumerate(plan.sessions):
        why = reference_time_problem(plan.history, s.at, "session")
        if why is not None:
            problems.append(ValidationIssue(f"$.sessions[{i}].at", why))
    for i, r in enumerate(plan.reviews):
        why = reference_time_problem(plan.history, r.at, "review")
        if why is not None:
            problems.append(ValidationIssue(f"$.reviews[{i}].at", why))
    # A session's assessments: at or after the session's start, in an assessment phase.
    for i, s in enumerate(plan.sessions):
        for j, a in enumerate(s.assessments):
            taken, started = v.instant(a.administered_at), v.instant(s.at)
            if taken < started:
                why = "a time not before the session"
            elif taken == started:
                why = None
            else:
                why = reference_time_problem(plan.history, a.administered_at, "assessment")
            if why is not None:
                path = f"$.sessions[{i}].assessments[{j}].administered_at"
                problems.append(ValidationIssue(path, why))
    return problems


def _event_instant(record: Transition) -> datetime:
    return v.instant(record.at)


def reference_time_problem(
    history: tuple[Transition, ...], when: datetime, kind: str
) -> str | None:
    """What a record of ``kind`` dated ``when`` needs and lacks in this history, or None.

    A record is dated in a phase that allows it: at its instant, the phase in force
    before the events at that instant, or one those events enter. Records and events
    at the same instant may have been made in either order, so either reading is
    accepted; a record dated after an event that closed the episode, or before the
    referral, is not. Constant time for a record at or after the last event; a
    binary search of the history otherwise.
    """
    phases = RECORDING_PHASES[kind]
    instant = v.instant(when)
    last = v.instant(history[-1].at)
    if instant > last and history[-1].target in phases:
        return None
    lo = bisect.bisect_left(history, instant, key=_event_instant)
    hi = bisect.bisect_right(history, instant, lo=lo, key=_event_instant)
    if (lo > 0 and history[lo - 1].target in phases) or any(
        history[i].target in phases for i in range(lo, hi)
    ):
        return None
    if hi == 0:
        return "a time not before the referral"
    return "a time at which the phase was one of " + ", ".join(sorted(p.value for p in phases))


def reference_history_problems(history: tuple[Transition, ...]) -> list[ValidationIssue]:
    """The history is a connected path from the referral, with times never going back."""
    problems: list[ValidationIssue] = []
    first = history[0]
    if first.source is not None or first.target is not Phase.REFERRED or first.event != "refer":
        problems.append(
            ValidationIssue("$.history[0]", "the referral: event refer, from null to referred")
        )
    for i in range(1, len(history)):
        before, record = history[i - 1], history[i]
        path = f"$.history[{i}]"
        if record.source is not before.target:
            problems.append(ValidationIssue(f"{path}.source", "the target of the previous record"))
        if v.instant(record.at) < v.instant(before.at):
            problems.append(ValidationIssue(f"{path}.at", "a time not before the previous record"))
        spec = BY_NAME.get(record.event)
        if spec is None or record.source not in spec.sources or spec.target is not record.target:
            problems.append(ValidationIssue(f"{path}.event", "an event of the transition table"))
        elif spec.outcome is not record.outcome:
            problems.append(ValidationIssue(f"{path}.outcome", "the outcome the event sets"))
    return problems


# --------------------------------------------------------------------------- broken plans
def _ids(plan: TreatmentPlan) -> list[str]:
    found = [p.id for p in plan.presenting_problems]
    for g in plan.goals:
        found += [g.id, *(o.id for o in g.objectives)]
    found += [i.id for i in plan.interventions]
    found += [r.id for r in (*plan.all_assessments(), *plan.sessions, *plan.reviews)]
    return found


def _break(data: st.DataObject, plan: TreatmentPlan) -> TreatmentPlan:
    """``plan`` with one to three of its records changed so that it may be invalid."""
    fields: dict[str, Any] = {
        "assessments": list(plan.assessments),
        "sessions": list(plan.sessions),
        "reviews": list(plan.reviews),
        "history": list(plan.history),
    }
    ids = _ids(plan)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(fields)))
        records = fields[name]
        if not records:
            continue
        index = data.draw(st.integers(0, len(records) - 1))
        record = records[index]
        session_assessment = name == "sessions" and record.assessments and data.draw(st.booleans())
        if session_assessment:
            inner = data.draw(st.integers(0, len(record.assessments) - 1))
            target = record.assessments[inner]
        else:
            target = record
        choices = ["time", "swap"]
        if name != "history":
            choices.append("id")
        if isinstance(target, Assessment):
            choices += ["instrument", "items"]
        if name == "sessions" and not session_assessment and record.attended:
            choices.append("intervention")
        how = data.draw(st.sampled_from(choices))
        try:
            changed = _changed(data, target, how, ids, records, index)
        except tp.ValidationError:  # a record's own check refuses the change
            continue
        if changed is None:
            continue
        if session_assessment:
            parts = list(record.assessments)
            parts[inner] = changed
            changed = attrs.evolve(record, assessments=tuple(parts))
        records[index] = changed
    return _fast.plan_with(plan, **{k: tuple(v) for k, v in fields.items()})


def _changed(
    data: st.DataObject, target: Any, how: str, ids: list[str], records: list[Any], index: int
) -> Any:
    shift = st.integers(-400, 400).map(lambda days: timedelta(days=days))
    if how == "swap":
        other = data.draw(st.integers(0, len(records) - 1))
        records[index], records[other] = records[other], records[index]
        return None
    if how == "id":
        return attrs.evolve(target, id=data.draw(st.sampled_from(ids)))
    if how == "time":
        field = "administered_at" if isinstance(target, Assessment) else "at"
        when = getattr(target, field) + data.draw(shift)
        return attrs.evolve(target, **{field: when})
    if how == "instrument":
        return attrs.evolve(target, instrument=data.draw(st.sampled_from(["PHQ-9", "NOPE"])))
    if how == "items":
        items = data.draw(
            st.lists(st.one_of(st.none(), st.integers(-2, 6)), min_size=0, max_size=12)
        )
        return attrs.evolve(target, items=tuple(items), total=None)
    return attrs.evolve(target, interventions=("no-such-intervention",))


@SLOW
@given(tps.treatment_plans(max_records=8), st.data())
def test_broken_plans_get_the_reference_problems_in_order(
    plan: TreatmentPlan, data: st.DataObject
) -> None:
    assert _model._plan_problems(plan) == reference_problems(plan) == []
    broken = _break(data, plan)
    assert _model._plan_problems(broken) == reference_problems(broken)


@SLOW
@given(tps.treatment_plans(max_records=4), st.data())
def test_record_time_problem_matches_the_reference(
    plan: TreatmentPlan, data: st.DataObject
) -> None:
    start = plan.history[0].at
    for _ in range(5):
        when = start + timedelta(hours=data.draw(st.integers(-48, 24 * 400)))
        kind = data.draw(st.sampled_from(sorted(RECORDING_PHASES)))
        assert _model.record_time_problem(plan.history, when, kind) == reference_time_problem(
            plan.history, when, kind
        )


def test_a_repeated_id_names_where_it_was_first_used() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    first, second = plan.sessions[0], plan.sessions[1]
    doubled = attrs.evolve(second.assessments[0], id=first.assessments[0].id)
    sessions = (first, attrs.evolve(second, assessments=(doubled, *second.assessments[1:])))
    broken = _fast.plan_with(plan, sessions=sessions + plan.sessions[2:])
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    assert problems == [
        ValidationIssue(
            "$.sessions[1].assessments[0].id",
            "an id not already used at $.sessions[0].assessments[0]",
        )
    ]


# --------------------------------------------------------------------------- item responses
RESPONSES = st.one_of(
    st.none(),
    st.integers(-3, 6),
    st.booleans(),
    st.sampled_from([1.0, 1.5, float("nan"), -0.0]),
)


@settings(max_examples=300, deadline=None)
@given(
    tps.instruments(),
    st.data(),
)
def test_response_problems_agree_with_the_detailed_check(
    instrument: Instrument, data: st.DataObject
) -> None:
    count = data.draw(st.sampled_from([instrument.item_count, instrument.item_count, 1, 0]))
    items = tuple(data.draw(st.lists(RESPONSES, min_size=count, max_size=count)))
    assert instrument.response_problems(items, None) == instrument._response_problems(items, None)


@settings(max_examples=100, deadline=None)
@given(st.lists(RESPONSES, min_size=9, max_size=9), st.sampled_from([9, 8, 10]))
def test_builtin_response_problems_agree_with_the_detailed_check(
    responses: list[Any], count: int
) -> None:
    items = tuple(responses[:count] + [0] * (count - len(responses)))
    for instrument in (tp.instruments.PHQ9, tp.instruments.GAD7):
        assert instrument.response_problems(items, None) == instrument._response_problems(
            items, None
        )


def test_unhashable_responses_take_the_detailed_check() -> None:
    items: Any = ([1],) + (0,) * 8
    problems = tp.instruments.PHQ9.response_problems(items, None)
    assert [p.path for p in problems] == ["$.items[0]"]


def test_a_repeated_presenting_problem_id_is_reported_as_the_reference_does() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    problem = plan.presenting_problems[0]
    broken = _fast.plan_with(plan, presenting_problems=(problem, problem))
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    assert problems[0] == ValidationIssue(
        "$.presenting_problems[1].id", "an id not already used at $.presenting_problems[0]"
    )


def test_a_repeated_goal_id_is_reported_as_the_reference_does() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    broken = _fast.plan_with(plan, goals=(plan.goals[0], plan.goals[0]))
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    assert ValidationIssue("$.goals[1].id", "an id not already used at $.goals[0]") in problems


def test_an_unknown_intervention_among_known_ones_is_reported_as_the_reference_does() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    session = plan.sessions[-1]
    known = session.interventions[0]
    changed = attrs.evolve(session, interventions=(known, "no-such-intervention"))
    broken = _fast.plan_with(plan, sessions=(*plan.sessions[:-1], changed))
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    last = len(plan.sessions) - 1
    assert problems == [
        ValidationIssue(f"$.sessions[{last}].interventions[1]", "the id of an intervention")
    ]


# --------------------------------------------------------------------------- the lean check
@SLOW
@given(tps.treatment_plans(max_records=8), st.data())
def test_the_lean_check_finds_a_plan_clean_exactly_when_the_walk_finds_nothing(
    plan: TreatmentPlan, data: st.DataObject
) -> None:
    assert _model._plan_is_clean(plan)
    broken = _break(data, plan)
    assert _model._plan_is_clean(broken) == (reference_problems(broken) == [])


def _plan() -> TreatmentPlan:
    return tp.loads(EXAMPLE.read_text(encoding="utf-8"))


def _first_goal(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    return _fast.plan_with(plan, goals=(attrs.evolve(plan.goals[0], **changes),))


def _first_objective_target(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    goal = plan.goals[0]
    first = goal.objectives[0]
    objective = attrs.evolve(first, target=attrs.evolve(first.target, **changes))
    return _first_goal(plan, objectives=(objective, *goal.objectives[1:]))


def _last_review(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    review = attrs.evolve(plan.reviews[-1], **changes)
    return _fast.plan_with(plan, reviews=(*plan.reviews[:-1], review))


BROKEN_WHOLE_PLANS = {
    "schema version": lambda p: _fast.plan_with(p, schema_version=SCHEMA_VERSION + 1),
    "criteria not a rule": lambda p: _fast.plan_with(p, discharge_criteria="any_of"),
    "a repeated objective id": lambda p: _first_goal(
        p, objectives=(p.goals[0].objectives[0],) * 2
    ),
    "a goal addressing no problem": lambda p: _first_goal(p, addresses=("no-such-problem",)),
    "an intervention serving no objective": lambda p: _fast.plan_with(
        p,
        interventions=(
            attrs.evolve(p.interventions[0], serves=("no-such-objective",)),
            *p.interventions[1:],
        ),
    ),
    "an instrument defined twice": lambda p: _fast.plan_with(
        p, custom_instruments=(tp.instruments.PHQ9, tp.instruments.PHQ9)
    ),
    "a target on no instrument": lambda p: _first_objective_target(p, instrument="NOPE"),
    "a total beside complete items that is not theirs": lambda p: _fast.plan_with(
        p, assessments=(attrs.evolve(p.assessments[0], total=99), *p.assessments[1:])
    ),
    "reviews out of order": lambda p: _fast.plan_with(p, reviews=p.reviews[::-1]),
    "progress on no objective": lambda p: _last_review(
        p,
        progress=(attrs.evolve(p.reviews[-1].progress[0], objective="no-such-objective"),),
    ),
    "criteria naming no objective": lambda p: _fast.plan_with(
        p, discharge_criteria=tp.rules.GoalsMet(objectives=("no-such-objective",))
    ),
    "a history out of order": lambda p: _fast.plan_with(
        p, history=(p.history[0], p.history[2], p.history[1], *p.history[3:])
    ),
}


@pytest.mark.parametrize("change", BROKEN_WHOLE_PLANS.values(), ids=list(BROKEN_WHOLE_PLANS))
def test_the_lean_check_sends_every_kind_of_problem_to_the_walk(change: Any) -> None:
    broken = change(_plan())
    assert not _model._plan_is_clean(broken)
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    assert problems


def test_a_custom_instrument_check_that_passes_leaves_the_plan_clean() -> None:
    # Responses that take the instrument's own check (a total beside items) and pass it.
    plan = _plan()
    first = plan.assessments[0]
    total = sum(first.items)  # a PHQ-9 with every item answered: no item reversed
    fine = _fast.plan_with(
        plan, assessments=(attrs.evolve(first, total=total), *plan.assessments[1:])
    )
    assert _model._plan_is_clean(fine)
    assert _model._plan_problems(fine) == reference_problems(fine) == []


def test_codes_are_looked_up_among_custom_instruments_when_the_plan_has_some() -> None:
    plan = _plan()
    custom = attrs.evolve(tp.instruments.PHQ9, code="MY-PHQ")
    first = plan.assessments[0]
    with_custom = _fast.plan_with(plan, custom_instruments=(custom,))
    assert _model._plan_is_clean(with_custom)
    for code, clean in (("MY-PHQ", True), ("NOPE", False), ("PHQ-9", True)):
        changed = _fast.plan_with(
            with_custom,
            assessments=(attrs.evolve(first, instrument=code), *plan.assessments[1:]),
        )
        assert _model._plan_is_clean(changed) is clean, code
        assert (_model._plan_problems(changed) == []) is clean
        assert _model._plan_problems(changed) == reference_problems(changed)
    # Without custom instruments only built-in codes are known, and the shared table of
    # their definitions is read, never written.
    before = dict(_model._BUILTIN_DEFINITIONS)
    unknown = _fast.plan_with(
        plan, assessments=(attrs.evolve(first, instrument="MY-PHQ"), *plan.assessments[1:])
    )
    assert not _model._plan_is_clean(unknown)
    assert before == _model._BUILTIN_DEFINITIONS


def test_a_repeated_review_id_is_reported_as_the_reference_does() -> None:
    plan = _plan()
    first, second = plan.reviews[0], plan.reviews[1]
    broken = _last_review(plan, id=first.id)
    assert not _model._plan_is_clean(broken)
    problems = _model._plan_problems(broken)
    assert problems == reference_problems(broken)
    assert problems == [
        ValidationIssue(
            f"$.reviews[{plan.reviews.index(second)}].id", "an id not already used at $.reviews[0]"
        )
    ]
