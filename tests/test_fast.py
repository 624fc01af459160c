"""The one room for fast paths (treatplan._fast), held to the validated path."""

from __future__ import annotations

import inspect
import linecache
import pickle
import random
import weakref
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _fast, _lifecycle
from treatplan import strategies as tps
from treatplan._records import SlottedRecord

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


@SLOW
@given(tps.treatment_plans(max_records=8), tps.transitions())
def test_a_plan_with_one_more_record_equals_the_validated_one(
    plan: tp.TreatmentPlan, record: tp.Transition
) -> None:
    # Not a valid plan in general (the record need not follow the history): what is
    # compared is the construction, field by field, against attrs' own.
    fields = [getattr(record, a.name) for a in attrs.fields(tp.Transition)]
    made = _fast.with_transition(plan, plan.history, "state", *fields)
    assert type(made) is tp.TreatmentPlan
    assert made.history == (*plan.history, record)
    assert made.history[-1] is not record  # a new record, equal to the given one
    assert type(made.history[-1]) is tp.Transition
    for a in attrs.fields(tp.TreatmentPlan):
        if a.name != "history":
            assert getattr(made, a.name) is getattr(plan, a.name)
    assert object.__getattribute__(made, "_state") == "state"


def _made_fast() -> tuple[tp.TreatmentPlan, tp.TreatmentPlan]:
    """A plan made by fire's fast path, and the same plan built by the constructor."""
    plan = tp.TreatmentPlan.refer("p", "c", at=datetime(2026, 1, 5, tzinfo=UTC), by="g")
    fired = tp.fire(plan, tp.Event.WAITLIST, at=datetime(2026, 1, 6, tzinfo=UTC), by="g")
    return fired, _validated(fired)


def test_values_made_fast_are_plain_frozen_instances() -> None:
    fired, validated = _made_fast()
    record = fired.history[-1]
    # Filled through a private subclass, then given their real class: nothing of
    # the subclass shows.
    assert type(fired) is tp.TreatmentPlan
    assert type(record) is tp.Transition
    assert fired == validated
    assert hash(fired) == hash(validated)
    assert repr(fired) == repr(validated)
    assert repr(record) == repr(validated.history[-1])
    assert attrs.asdict(fired) == attrs.asdict(validated)
    assert pickle.loads(pickle.dumps(fired)) == fired
    assert attrs.evolve(record, reason="x").reason == "x"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fired.plan_id = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.by = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del record.by
    assert tp.dumps(fired) == tp.dumps(validated)


def _record_classes() -> list[type[Any]]:
    """Every attrs class of the plan data and rules modules, the small values the
    judgement layers make many times a second, and every other class a maker fills."""
    from treatplan import _evaluation, _model, _monitoring, _rules, _scoring

    found = [
        c
        for module in (_model, _rules)
        for c in vars(module).values()
        if isinstance(c, type) and attrs.has(c) and c.__module__ == module.__name__
    ]
    values = [_scoring.Score, _scoring.ScoredPoint, _evaluation.Verdict, _monitoring.TrackPoint]
    import treatplan.sim  # noqa: F401  (its makers' classes: traits, admissions, results)

    made = [c for c in _fast._UNFROZEN if c not in found and c not in values]  # every maker's
    return [*found, *values, *sorted(made, key=lambda c: (c.__module__, c.__qualname__))]


@pytest.mark.parametrize("cls", _record_classes(), ids=lambda c: c.__name__)
def test_each_record_class_has_a_twin_of_its_layout_that_is_not_a_subclass(cls: type[Any]) -> None:
    unfrozen = _fast._unfrozen(cls)
    assert _fast._unfrozen(cls) is unfrozen  # one twin per class
    assert issubclass(cls, SlottedRecord)
    assert unfrozen.__bases__ == cls.__bases__
    assert unfrozen.__dict__["__slots__"] == cls.__dict__["__slots__"]
    assert unfrozen.__basicsize__ == cls.__basicsize__  # so __class__ may change
    assert not issubclass(unfrozen, cls)
    assert unfrozen not in cls.__subclasses__()
    empty = unfrozen()
    empty.__class__ = cls
    assert type(empty) is cls
    weakref.ref(empty)  # the slot the base holds


def test_a_class_with_its_own_weakref_slot_or_two_bases_gets_no_twin() -> None:
    @attrs.frozen
    class OwnSlot:
        x: int

    class Other:
        __slots__ = ()

    @attrs.frozen
    class TwoBases(SlottedRecord, Other):
        x: int

    for cls in (OwnSlot, TwoBases):
        with pytest.raises(tp.ArgumentError):
            _fast._unfrozen(cls)
    assert OwnSlot not in _fast._UNFROZEN
    assert TwoBases not in _fast._UNFROZEN


def test_generated_code_is_registered_with_linecache() -> None:
    make = _fast._REPLACE["history"]
    filename = make.__code__.co_filename
    assert filename.startswith("<treatplan generated ")
    assert linecache.getlines(filename)
    assert "def make(source, value, state):" in inspect.getsource(make)


def test_plan_copiers_are_compiled_once_on_first_use_and_only_for_fields() -> None:
    first = _fast._REPLACE["goals"]
    assert _fast._REPLACE["goals"] is first
    with pytest.raises(tp.UnknownReferenceError) as caught:  # a KeyError too
        _fast._REPLACE["not_a_field"]
    assert isinstance(caught.value, KeyError)
    assert "not_a_field" not in _fast._REPLACE


def test_the_json_makers_are_compiled_when_first_asked_for() -> None:
    first = _fast.loaded_goal
    assert _fast.loaded_goal is first
    assert _fast.__dict__["loaded_goal"] is first
    with pytest.raises(AttributeError, match="no attribute 'loaded_nothing'"):
        _fast.loaded_nothing  # noqa: B018
    rule_maker = _fast.loaded_rules[tp.rules.SessionLimit]
    assert _fast.loaded_rules[tp.rules.SessionLimit] is rule_maker
    with pytest.raises(KeyError):
        _fast.loaded_rules[tp.Goal]
    assert tp.Goal not in _fast.loaded_rules


def test_a_new_plan_builds_its_state_on_first_use() -> None:
    plan = tp.TreatmentPlan.refer("p", "c", at=datetime(2026, 1, 5, tzinfo=UTC), by="g")
    with pytest.raises(AttributeError):
        object.__getattribute__(plan, "_state")  # nothing computed yet
    copy = _fast.plan_with(plan)
    assert copy == plan
    assert object.__getattribute__(copy, "_state") is None  # rebuilt on first use


def test_slot_setters_find_slots_declared_on_a_base_class() -> None:
    setters = _fast._slot_setters(tp.TreatmentPlan, ("plan_id", "_state"))
    assert set(setters) == {"set_plan_id", "set__state"}  # _state: _DerivedStateSlot's


_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def _state_figures(plan: tp.TreatmentPlan, state: Any) -> dict[str, Any]:
    n = state.n_sessions
    return {
        "ids": {i for i in state.ids if state.uses_id(i)},
        "latest": (state.latest_record, state.latest_in_sessions, state.latest_standalone),
        "series": dict(state.plan_series()),
        "sessions": [(state.attended(k), state.offered(k)) for k in range(n + 1)],
        "counted": state.counted_ids(n, True),
    }


@SLOW
@given(tps.treatment_plans(max_records=8), st.data())
def test_a_simulated_record_equals_the_checked_one(plan: tp.TreatmentPlan, data: Any) -> None:
    """simulated_record skips record_*'s checks: for any record they accept (made as
    the simulator makes its own, after every earlier record), it builds the same plan
    and extends the derived state to what a fresh build of that plan finds."""
    from treatplan._state import _build, state_of, with_assessment, with_session

    parent = state_of(plan)
    after = max(plan.history[-1].at.astimezone(UTC), parent.latest_record or _EPOCH)
    at = after + timedelta(days=data.draw(st.integers(0, 30), label="days"))
    instrument = tp.builtin_instrument(data.draw(st.sampled_from(["PHQ-9", "GAD-7"])))
    items = tuple(
        data.draw(st.sampled_from(instrument.allowed(n)))
        for n in range(1, instrument.item_count + 1)
    )
    score = _fast.drawn_assessment("sim-a", instrument.code, at, items)
    if data.draw(st.booleans(), label="session"):
        attended = data.draw(st.booleans(), label="attended")
        record: Any = _fast.drawn_session(
            "sim-s",
            at,
            tp.Attendance.ATTENDED if attended else tp.Attendance.DID_NOT_ATTEND,
            tuple(i.id for i in plan.interventions[:1]) if attended else (),
            (score,) if attended else (),
        )
        field, extend, checked_record = "sessions", with_session, tp.record_session
    else:
        record, field, extend = score, "assessments", with_assessment
        checked_record = tp.record_assessment
    try:
        checked = checked_record(plan, record)
    except tp.TreatplanError:
        return  # the simulator never makes a record the checks refuse
    fast = _fast.simulated_record(plan, field, record, parent, extend)
    assert fast == checked
    assert _validated(fast) == fast
    assert _state_figures(fast, state_of(fast)) == _state_figures(checked, _build(checked))
    assert _state_figures(plan, state_of(plan)) == _state_figures(plan, _build(plan))


def test_frozen_makers_build_what_the_constructors_build() -> None:
    from treatplan._evaluation import Verdict, new_verdict
    from treatplan._scoring import Score, ScoredPoint, new_score, new_scored_point

    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    a = tp.Assessment("a1", "PHQ-9", at, items=(1, 2, 0, 3, 1, 0, 0, 1, 1))
    real = tp.score(tp.builtin_instrument("PHQ-9"), a)
    fields = {f.name: getattr(real, f.name) for f in attrs.fields(Score)}
    cases: list[tuple[Any, Any]] = [
        (new_score(**fields), Score(**fields)),
        (new_score("PHQ-9", "a2", at, None), Score("PHQ-9", "a2", at, None)),
        (new_scored_point(real, 3, at), ScoredPoint(real, 3, at)),
        (
            new_verdict("x", True, tp.rules.RuleAction.WARN, "r", ("e",)),
            Verdict("x", True, tp.rules.RuleAction.WARN, "r", ("e",)),
        ),
        (
            new_verdict("x", False, tp.rules.RuleAction.REVIEW, "r"),
            Verdict("x", False, tp.rules.RuleAction.REVIEW, "r"),
        ),
    ]
    for made, built in cases:
        assert type(made) is type(built)
        assert made == built
        assert hash(made) == hash(built)
        assert repr(made) == repr(built)
        assert pickle.loads(pickle.dumps(made)) == built
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            made.__setattr__("reason" if isinstance(made, Verdict) else "score", None)
    for maker, cls in (
        (new_score, Score),
        (new_scored_point, ScoredPoint),
        (new_verdict, Verdict),
    ):
        made_params = inspect.signature(maker).parameters.values()
        params = inspect.signature(cls).parameters.values()
        assert [(p.name, p.default, p.kind) for p in made_params] == [
            (p.name, p.default, p.kind) for p in params
        ]


def _makers_of_records() -> list[tuple[Any, type[Any]]]:
    from treatplan._alerts import Alert, _new_alert
    from treatplan._cadence import ReviewDue, _new_review_due
    from treatplan._change import ClinicalChange, _new_change
    from treatplan._nhstt import TalkingTherapiesOutcome, _new_outcome
    from treatplan._review import (
        AttendanceSummary,
        Findings,
        MeasureFinding,
        ObjectiveFinding,
        Suggestion,
        _new_attendance,
        _new_findings,
        _new_measure_finding,
        _new_objective_finding,
        _new_suggestion,
    )
    from treatplan._state import Achievement, _new_achievement, _new_sessions, _Sessions
    from treatplan._stepped import StepAdvice, _new_step_advice
    from treatplan.sim._dynamics import ClientTraits, _new_traits
    from treatplan.sim._engine import Admission, ClientResult, _new_admission, _new_result

    return [
        (_new_alert, Alert),
        (_new_review_due, ReviewDue),
        (_new_attendance, AttendanceSummary),
        (_new_findings, Findings),
        (_new_measure_finding, MeasureFinding),
        (_new_objective_finding, ObjectiveFinding),
        (_new_suggestion, Suggestion),
        (_new_achievement, Achievement),
        (_new_step_advice, StepAdvice),
        (_new_change, ClinicalChange),
        (_new_outcome, TalkingTherapiesOutcome),
        (_new_traits, ClientTraits),
        (_new_admission, Admission),
        (_new_result, ClientResult),
        (_new_sessions, _Sessions),
    ]


def test_the_makers_of_reviews_changes_and_clients_build_what_the_constructors_build() -> None:
    """Each record a review (and its alerts, achievements, step advice and changes) makes, made
    by its frozen maker from a real review's values, equals the constructor's."""
    from treatplan._state import state_of as _state_of
    from treatplan.sim import DEFAULT_SCENARIO
    from treatplan.sim._dynamics import drawn_traits
    from treatplan.sim._engine import WaitingList, simulate_client

    for admission in WaitingList(DEFAULT_SCENARIO, 3).admissions(0, 40):
        client = simulate_client(DEFAULT_SCENARIO, 3, admission, keep_plan=True)
        plan = client.plan
        assert plan is not None
        if len(plan.sessions) < 4:
            continue
        at = plan.sessions[3].at
        found = tp.review(plan, at)
        if found.alerts:
            break
    records: list[Any] = [
        found,
        found.attendance,
        found.suggestion,
        found.step,
        *found.alerts,
        *found.measures,
        *found.objectives,
        tp.objective_achievement(plan, plan.objectives[0]),
        tp.reviews.review_status(plan, at.date()),
        tp.change.classify_change(tp.builtin_instrument("PHQ-9"), 17, 8),
        tp.outcomes.talking_therapies_outcome(plan),
        drawn_traits(DEFAULT_SCENARIO, random.Random(3)),
        admission,
        client,
        _state_of(plan).sessions,
    ]
    from treatplan._state import _Sessions
    from treatplan.sim._engine import ClientResult

    makers = {cls: maker for maker, cls in _makers_of_records()}
    assert {type(r) for r in records} == set(makers)
    for record in records:
        cls = type(record)
        fields = {f.name: getattr(record, f.name) for f in attrs.fields(cls)}
        made = makers[cls](**fields)
        positional = makers[cls](*fields.values())
        for built in (made, positional):
            assert type(built) is cls
            assert built == record == cls(**fields)
            if cls not in (ClientResult, _Sessions):  # hold lists: unhashable either way
                assert hash(built) == hash(cls(**fields))
            assert repr(built) == repr(cls(**fields))
            assert pickle.loads(pickle.dumps(built)) == record
    for maker, cls in _makers_of_records():
        made_params = inspect.signature(maker).parameters.values()
        params = inspect.signature(cls).parameters.values()
        assert [(p.name, p.default, p.kind) for p in made_params] == [
            (p.name, p.default, p.kind) for p in params
        ]


@attrs.frozen
class _Checked:
    value: int = attrs.field(validator=attrs.validators.instance_of(int))


@attrs.frozen
class _Converted:
    value: int = attrs.field(converter=int)


@attrs.frozen
class _Made:
    value: tuple[int, ...] = attrs.field(factory=tuple)


@attrs.frozen
class _Hidden:
    value: int = attrs.field(init=False, default=0)


@attrs.frozen
class _KeywordOnly:
    value: int = attrs.field(kw_only=True)


@attrs.frozen
class _Private:
    _value: int


@attrs.frozen
class _PostInit:
    value: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen
class _PreInit:
    value: int

    def __attrs_pre_init__(self) -> None:
        pass


@pytest.mark.parametrize(
    "cls", [_Checked, _Converted, _Made, _Hidden, _KeywordOnly, _Private, _PostInit, _PreInit]
)
def test_frozen_makers_refuse_an_init_that_does_more_than_store(cls: type[Any]) -> None:
    with pytest.raises(tp.ArgumentError, match="only stores its arguments"):
        _fast.frozen_maker(cls)


_CONTENT = ("presenting_problems", "goals", "interventions", "discharge_criteria")


@SLOW
@given(tps.treatment_plans(max_records=8), st.data())
def test_a_simulated_revision_equals_revise(plan: tp.TreatmentPlan, data: Any) -> None:
    """The simulator's revision runs the plan's own check, not the field validators:
    for content the validated constructors made, the same plan or the same error."""
    donor = data.draw(tps.treatment_plans(max_records=2), label="donor")
    changes = {
        name: getattr(donor if data.draw(st.booleans(), label=name) else plan, name)
        for name in _CONTENT
    }
    checked: tp.TreatmentPlan | tp.TreatplanError
    try:
        checked = tp.revise(plan, **changes)
    except tp.TransitionError:
        return  # a phase that allows no revision: the simulator revises in none
    except tp.ValidationError as error:
        checked = error
    fast: tp.TreatmentPlan | tp.TreatplanError
    try:
        fast = _fast.simulated_revision(plan, **changes)
    except tp.ValidationError as error:
        fast = error
    if isinstance(checked, tp.TreatmentPlan):
        assert fast == checked
        assert isinstance(fast, tp.TreatmentPlan)
        assert _validated(fast) == fast
    else:
        assert isinstance(fast, tp.ValidationError)
        assert str(fast) == str(checked)


@SLOW
@given(tps.refs(), tps.refs(), tps.aware_datetimes(), tps.refs(), tps.client_factors())
def test_a_simulated_referral_equals_refer(
    plan_id: str, client_ref: str, at: datetime, by: str, factors: tp.ClientFactors
) -> None:
    at = at.astimezone(timezone(at.utcoffset() or timedelta(0)))  # a fixed offset
    fast = _fast.simulated_referral(plan_id, client_ref, at, by, factors)
    checked = tp.TreatmentPlan.refer(plan_id, client_ref, at=at, by=by, client_factors=factors)
    assert fast == checked
    assert _validated(fast) == fast
    assert tp.loads(tp.dumps(fast)) == fast


def test_a_simulated_referral_refuses_what_refer_refuses() -> None:
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    factors = tp.ClientFactors()
    bad = [
        ("plan 1", "c", at, "svc", factors),  # not an opaque reference
        ("p", "c", at, "", factors),
        ("p", "c", at.replace(tzinfo=None), "svc", factors),  # naive
        ("p", "c", datetime(1800, 1, 1, tzinfo=UTC), "svc", factors),  # out of range
        ("p", "c", "2026-01-05T09:00:00Z", "svc", factors),
        ("p", "c", at, "svc", None),
    ]
    for args in bad:
        with pytest.raises(tp.ValidationError):
            _fast.simulated_referral(*args)  # type: ignore[arg-type]
        with pytest.raises(tp.TreatplanError):
            tp.TreatmentPlan.refer(  # type: ignore[arg-type]
                args[0], args[1], at=args[2], by=args[3], client_factors=args[4]
            )
