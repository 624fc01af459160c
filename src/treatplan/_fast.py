"""The one room for fast paths: every construction that skips attrs' ``__init__``.

A plan operation on a valid plan that appends one checked record needs no
re-validation of the rest: the plan's other parts cannot have changed. This
module builds such values without running validators, and nothing else in
treatplan does. Each function states what makes it safe; tests/test_fast.py
checks each against the validated path on generated plans (equal results).

The copiers are generated from the classes' attrs field names (identifiers, so
the source is fixed by the class, never by data) and compiled under a unique
pseudo-filename registered in :mod:`linecache`, as attrs does for its own
generated methods: tracebacks, ``inspect.getsource`` and pdb show real lines.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any, TypeVar, cast

import attrs

from . import _validation as v
from ._errors import ArgumentError, UnknownReferenceError, ValidationError
from ._memo import IdentityCache
from ._model import (
    SCHEMA_VERSION,
    AchievementStatus,
    Assessment,
    Attendance,
    ClientFactors,
    CodeSystem,
    Comparator,
    DeliveryFormat,
    Diagnosis,
    EpisodeOutcome,
    Goal,
    GoalDomain,
    Intervention,
    MeasureTarget,
    Modality,
    Objective,
    ObjectiveProgress,
    ObjectiveStatus,
    ObjectiveTarget,
    Phase,
    PresentingProblem,
    ProgressReview,
    ReviewDecision,
    Schedule,
    Session,
    Transition,
    TreatmentPlan,
    _plan_problems,
)
from ._rules import RULE_TYPES

T = TypeVar("T")

__all__ = [
    "drawn_assessment",
    "drawn_progress",
    "drawn_review",
    "drawn_session",
    "frozen_maker",
    "loaded_assessment",
    "loaded_diagnosis",
    "loaded_goal",
    "loaded_intervention",
    "loaded_measure_target",
    "loaded_objective",
    "loaded_plan",
    "loaded_problem",
    "loaded_progress",
    "loaded_review",
    "loaded_rules",
    "loaded_schedule",
    "loaded_session",
    "new_transition",
    "plan_with",
    "replace_field",
    "simulated_record",
    "simulated_referral",
    "simulated_review",
    "simulated_revision",
    "with_transition",
]


def _compile(name: str, source: str, namespace: dict[str, Any]) -> Any:
    """Compile generated ``source`` defining ``make`` under a linecache-registered name."""
    filename = f"<treatplan generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # source built from field names only
    return namespace["make"]


def _fields(cls: type[Any]) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cls))


def _slot_setters(cls: type[Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Each slot's own ``__set__``, found once: calling it skips the attribute lookup
    ``object.__setattr__`` makes every time (and frozen attrs' ``__setattr__``)."""
    setters: dict[str, Any] = {}
    for name in names:
        for klass in cls.__mro__:  # pragma: no branch - each slot name is in a class of the MRO
            if name in klass.__dict__:
                setters[f"set_{name}"] = klass.__dict__[name].__set__
                break
    return setters


def _copier(cls: type[Any]) -> Any:
    """``make(**values)`` building ``cls`` from every field through its slots'
    setters (the records the JSON layer loads and the simulator draws)."""
    fields = _fields(cls)
    body = ["def make(" + ", ".join(fields) + "):", "    new = new_instance(cls)"]
    body += [f"    set_{n}(new, {n})" for n in fields]
    body.append("    return new")
    namespace = {"new_instance": object.__new__, "cls": cls}
    namespace.update(_slot_setters(cls, fields))
    return _compile(f"{cls.__qualname__}.__init_unchecked__", "\n".join(body) + "\n", namespace)


def _unfrozen(cls: type[Any]) -> type[Any]:
    """A twin of the frozen, slotted ``cls`` that takes plain attribute stores: a place
    to fill a new instance before it becomes a ``cls``.

    Why: a frozen attrs class refuses ``new.x = ...`` (its ``__setattr__`` raises),
    so filling an instance takes a call per slot (``object.__setattr__`` or the
    slot's ``__set__``), a C call through an argument tuple each. With the plain
    ``object`` attribute methods back, the interpreter writes each slot directly
    (its specialised slot store), some three times cheaper; the filled instance is
    then given its real class by ``__class__`` assignment, which Python allows
    because the layouts are the same: the twin has ``cls``'s base and ``cls``'s own
    slots, in order. The result is an ordinary ``cls`` instance: its type is
    ``cls``, so equality, hashing, pickling, repr and attrs see no difference. The
    twin is not a subclass of ``cls``, so it never shows among ``cls``'s
    ``__subclasses__()``; it never leaves this module.

    ``cls`` must keep its weak-reference slot in a base (:class:`SlottedRecord`):
    CPython finds a ``__weakref__`` slot beside the fields a different layout.
    """
    found = _UNFROZEN.get(cls)
    if found is not None:
        return found
    own = vars(cls).get("__slots__", ("__weakref__",))
    if "__weakref__" in own or len(cls.__bases__) != 1:
        raise ArgumentError("cls", "a slotted record class based on SlottedRecord")
    namespace = {
        "__slots__": own,
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,  # both: else stores go through a Python slot
        "__init__": object.__init__,  # ``Unfrozen()``: an empty instance, cheaper than
        # ``object.__new__(Unfrozen)`` (no argument tuples to build)
        "__module__": __name__,
        "__doc__": "An instance being filled by treatplan._fast (never seen outside).",
    }
    made = _UNFROZEN[cls] = type(f"_Unfrozen{cls.__name__}", cls.__bases__, namespace)
    return made


_UNFROZEN: dict[type[Any], type[Any]] = {}


#: The slot a class made with ``cache_hash=True`` keeps its hash in (attrs' own name):
#: its ``__init__`` clears it, and ``hash()`` fails on an instance made without it.
_HASH_CACHE_SLOT = "_attrs_cached_hash"


def frozen_maker(cls: type[T]) -> Callable[..., T]:
    """``make(...)``: a ``cls`` built exactly as its attrs ``__init__`` builds it (the
    same parameters, in order, with the same defaults), for a frozen, slotted attrs
    class whose ``__init__`` only stores its arguments.

    Safe because nothing is skipped: ``cls`` is refused (:class:`ArgumentError`) unless it
    is a slotted attrs class whose ``__init__`` attrs generated for it (not a
    hand-written one over ``__attrs_init__``, not one inherited), with no cached hash
    (a slot that ``__init__`` fills and ``hash()`` reads), no field has a validator, a
    converter, a factory default, an alias or ``init=False``, no field is
    keyword-only, and the class has no ``__attrs_pre_init__`` or
    ``__attrs_post_init__``. What changes is only how each value is stored: frozen
    attrs stores each through ``object.__setattr__`` (a C call per field), the maker
    fills an instance of :func:`_unfrozen` and gives it its class. For the small
    values made many times a second (scores, scored points, verdicts), this is about
    twice as fast. tests/test_fast.py holds each maker to the class's constructor.
    """
    own = vars(cls) if isinstance(cls, type) else {}
    if not (
        attrs.has(cls)
        and "__slots__" in own
        and "__init__" in own
        and not hasattr(cls, "__attrs_init__")
        and not hasattr(cls, _HASH_CACHE_SLOT)
    ):
        raise ArgumentError("cls", "an attrs class whose __init__ only stores its arguments")
    fields = attrs.fields(cast("Any", cls))
    if (
        any(
            a.validator is not None
            or a.converter is not None
            or isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
            or not a.init
            or a.kw_only
            or a.alias != a.name
            for a in fields
        )
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
    ):
        raise ArgumentError("cls", "an attrs class whose __init__ only stores its arguments")
    make = _maker(cls, "__init_stores__", keep_defaults=True)
    # Named as the constructor it stands in for: a call with a missing or unknown
    # argument then fails with the constructor's own message.
    make.__name__, make.__qualname__ = "__init__", f"{cls.__qualname__}.__init__"
    return cast("Callable[..., T]", make)


_UnfrozenPlan = _unfrozen(TreatmentPlan)
_UnfrozenTransition = _unfrozen(Transition)


def _fill(cls: type[Any], values: dict[str, str], target: str = "new") -> list[str]:
    """Lines that store ``values`` (field name -> expression) on ``target``, an
    instance of ``_unfrozen(cls)``, every field of ``cls`` in order."""
    return [f"    {target}.{name} = {values[name]}" for name in _fields(cls)]


def _plan_copier(replaced: str) -> Any:
    """``make(source, value, state)``: a copy of plan ``source`` with field
    ``replaced`` set to ``value`` and derived state ``state``.

    Unrolled, as attrs generates ``__init__``: a loop over the fields costs about
    twice as much, and these run on every lifecycle operation.
    """
    values = {name: f"source.{name}" for name in _PLAN_FIELDS}
    values[replaced] = "value"
    body = ["def make(source, value, state):", "    new = Unfrozen()"]
    body += _fill(TreatmentPlan, values)
    body += ["    new._state = state", "    new.__class__ = cls", "    return new"]
    namespace = {"Unfrozen": _UnfrozenPlan, "cls": TreatmentPlan}
    return _compile(f"TreatmentPlan.{replaced}", "\n".join(body) + "\n", namespace)


def _record_maker(cls: type[Any], unfrozen: type[Any]) -> Any:
    """``make(<every field of cls, in order>)``: a ``cls`` holding exactly those values,
    filled by plain slot stores on ``unfrozen`` (an :func:`_unfrozen` of ``cls``), half
    the cost of a call per slot (:func:`_copier`): made for every transition and
    every session and score the simulator draws."""
    names = _fields(cls)
    body = ["def make(" + ", ".join(names) + "):", "    new = Unfrozen()"]
    body += _fill(cls, {name: name for name in names})
    body += ["    new.__class__ = cls", "    return new"]
    namespace = {"Unfrozen": unfrozen, "cls": cls}
    return _compile(f"{cls.__qualname__}.__init_unchecked__", "\n".join(body) + "\n", namespace)


def _transition_maker() -> Any:
    """``make(event, source, target, at, by, reason, outcome)``: a :class:`Transition`."""
    return _record_maker(Transition, _UnfrozenTransition)


def _appender() -> Any:
    """``make(source, history, state, event, source_phase, target, at, by, reason,
    outcome)``: plan ``source`` (whose history is ``history``) with one more history
    record made of the last seven arguments, and derived state ``state``. The two
    constructions of :func:`_plan_copier` and :func:`_transition_maker` in one call:
    ``fire`` makes both every time."""
    names = _fields(Transition)
    record = {name: name for name in names}
    record["source"] = "source_phase"  # ``source`` is the plan here
    values = {name: f"source.{name}" for name in _PLAN_FIELDS}
    values["history"] = "history + (record,)"
    params = ["source", "history", "state", *(record[name] for name in names)]
    body = ["def make(" + ", ".join(params) + "):", "    record = UnfrozenRecord()"]
    body += _fill(Transition, record, "record")
    body += ["    record.__class__ = Record", "    new = Unfrozen()"]
    body += _fill(TreatmentPlan, values)
    body += ["    new._state = state", "    new.__class__ = cls", "    return new"]
    namespace = {
        "Unfrozen": _UnfrozenPlan,
        "cls": TreatmentPlan,
        "UnfrozenRecord": _UnfrozenTransition,
        "Record": Transition,
    }
    return _compile("TreatmentPlan.fired", "\n".join(body) + "\n", namespace)


def _maker(cls: type[Any], name: str, *, keep_defaults: bool) -> Any:
    """``make(<cls's init fields, in order>)``: a ``cls`` holding exactly those values
    (and each field without an init argument its constant default, such as a target's
    ``kind`` tag), filled by plain slot stores on an :func:`_unfrozen` instance.
    ``keep_defaults``: the fields' defaults are the parameters' defaults, as in the
    class's ``__init__``; otherwise every argument is required.

    Half the cost of a call per slot (:func:`_copier`): the records the JSON layer's
    fast path reads (:func:`_loaded_maker`) and the small values of
    :func:`frozen_maker` are made for every record of every document and many times
    a second.
    """
    namespace: dict[str, Any] = {"Unfrozen": _unfrozen(cls), "cls": cls}
    values: dict[str, str] = {}
    params: list[str] = []
    for a in attrs.fields(cls):
        if not a.init:
            # Only constants here: a factory default would need its own call.
            assert not hasattr(a.default, "factory")
            namespace[f"default_{a.name}"] = a.default
            values[a.name] = f"default_{a.name}"
            continue
        values[a.name] = a.name
        if keep_defaults and a.default is not attrs.NOTHING:
            namespace[f"default_{a.name}"] = a.default
            params.append(f"{a.name}=default_{a.name}")
        else:
            params.append(a.name)
    body = ["def make(" + ", ".join(params) + "):", "    new = Unfrozen()"]
    body += _fill(cls, values)
    body += ["    new.__class__ = cls", "    return new"]
    return _compile(f"{cls.__qualname__}.{name}", "\n".join(body) + "\n", namespace)


def _loaded_maker(cls: type[Any]) -> Any:
    """``make(<cls's init fields, in order>)`` for the JSON layer's fast path (every
    argument required): see :func:`_maker`."""
    return _maker(cls, "__init_loaded__", keep_defaults=False)


_PLAN_FIELDS = _fields(TreatmentPlan)


K = TypeVar("K")


class _CompiledOnFirstUse(dict[K, Callable[..., Any]]):
    """Generated functions, each compiled by ``build(key)`` the first time ``key`` is
    looked up, since most programs use only a few of them (``import`` stays cheap). A
    key outside ``known`` is an :class:`UnknownReferenceError` (still a ``KeyError``)
    naming ``argument`` and what was ``expected``."""

    def __init__(
        self, build: Callable[[K], Callable[..., Any]], known: Any, argument: str, expected: str
    ) -> None:
        super().__init__()
        self._build, self._known = build, known
        self._argument, self._expected = argument, expected

    def __missing__(self, key: K) -> Callable[..., Any]:
        if key not in self._known:
            raise UnknownReferenceError(self._argument, self._expected)
        made = self._build(key)
        self[key] = made
        return made


#: For each plan field, ``copy(plan, value, state)`` with that field replaced (no
#: validation) and the given derived state.
_REPLACE: Mapping[str, Callable[[TreatmentPlan, Any, Any], TreatmentPlan]] = _CompiledOnFirstUse(
    _plan_copier, _PLAN_FIELDS, "name", "the name of a plan field"
)
_new_transition: Callable[..., Transition] = _transition_maker()


def replace_field(plan: TreatmentPlan, name: str, value: Any, state: Any) -> TreatmentPlan:
    """``plan`` with field ``name`` replaced by ``value`` and derived state ``state``.

    Safe when the caller has checked that the result is a valid plan: the
    lifecycle's ``fire`` (a history record from the transition table at a
    checked time) and ``record_*`` (one record checked against the plan's ids,
    instruments, times and phases exactly as ``TreatmentPlan``'s own checks do),
    and when ``state`` is the derived state of the result (or ``None``, which
    rebuilds it on first use).
    """
    return _REPLACE[name](plan, value, state)


def plan_with(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    """``plan`` with several record fields replaced, its derived state rebuilt on use.

    Safe for views of a valid plan cut at an instant (``as_of_view``): a prefix of
    each time-ordered record list of a valid plan, with the history cut at the same
    instant and each kept session's assessments cut there too, is itself a valid
    plan (ids stay unique, references resolve, times stay ordered, and each record
    keeps the phase it was dated in).
    """
    new = object.__new__(TreatmentPlan)
    for name in _PLAN_FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(plan, name))
    object.__setattr__(new, "_state", None)
    return new


#: ``with_transition(plan, history, state, event, source, target, at, by, reason,
#: outcome)``: ``plan``, whose history is ``history``, with one more history record
#: (:data:`new_transition` of the last seven arguments) and derived state ``state``;
#: the hot path of ``fire``, both constructions in one call. Safe when the record is
#: (see :data:`new_transition`) and when it extends the history as the plan's own
#: check requires: its source is the current phase, its time is not before the last
#: transition nor before the latest record (so no record moves into the new phase).
#: ``state`` is the plan's derived state, which does not depend on the history.
with_transition: Callable[
    [
        TreatmentPlan,
        tuple[Transition, ...],
        Any,
        str,
        Phase,
        Phase,
        datetime,
        str,
        str | None,
        EpisodeOutcome | None,
    ],
    TreatmentPlan,
] = _appender()
#: ``new_transition(event, source, target, at, by, reason, outcome)``: a history record
#: ``fire`` has checked. Safe because ``fire`` checks ``at`` (an aware date-time,
#: converted to a fixed offset, inside the supported range), ``by`` (an opaque
#: reference) and ``reason`` (text or ``None``) exactly as :class:`Transition`'s
#: validators do, and takes event, source, target and outcome from the transition
#: table, which sets an outcome exactly on the events into ``closed``.
new_transition: Callable[
    [str, Phase, Phase, datetime, str, str | None, EpisodeOutcome | None], Transition
] = _new_transition


def _drawn_maker(
    cls: type[Any], params: tuple[str, ...], fixed: dict[str, str]
) -> Callable[..., Any]:
    """``make(<params>)``: a ``cls`` holding the parameters' values (a parameter may
    have a default, ``"name=()"``) and, in every other field, the constant expression
    ``fixed`` gives it, filled by plain slot stores (see :func:`_record_maker`)."""
    values = {**fixed, **{p.split("=")[0]: p.split("=")[0] for p in params}}
    body = ["def make(" + ", ".join(params) + "):", "    new = Unfrozen()"]
    body += _fill(cls, values)
    body += ["    new.__class__ = cls", "    return new"]
    namespace = {"Unfrozen": _unfrozen(cls), "cls": cls}
    return cast(
        "Callable[..., Any]",
        _compile(f"{cls.__qualname__}.__init_drawn__", "\n".join(body) + "\n", namespace),
    )


#: ``drawn_assessment(id, instrument, administered_at, items)``: an assessment whose
#: parts the simulator made itself (``treatplan.sim``), made directly (the simulator
#: draws two a session).
#:
#: Safe when the caller guarantees what :class:`Assessment`'s converters and
#: validators would check: ``id`` and ``instrument`` are opaque references
#: (generated from fixed patterns), ``administered_at`` is an aware date-time whose
#: zone is a fixed-offset :class:`datetime.timezone` (what the converter would return
#: unchanged), and ``items`` is a tuple of ``int`` drawn from the instrument's own
#: allowed responses (so a total is never needed: ``total`` is ``None``). The
#: instrument check itself is not skipped: :func:`~treatplan.record_session` and
#: :func:`~treatplan.record_assessment` still check the responses against the plan's
#: definition. tests/test_sim_fast.py holds this to the validated path.
drawn_assessment: Callable[[str, str, datetime, tuple[int, ...]], Assessment] = _drawn_maker(
    Assessment, ("id", "instrument", "administered_at", "items"), {"total": "None"}
)

#: ``drawn_session(id, at, attendance, interventions=(), assessments=())``: a session
#: whose parts the simulator made itself (``treatplan.sim``), made directly.
#:
#: Safe under the same guarantees as :data:`drawn_assessment` for ``id`` and ``at``,
#: with ``interventions`` a tuple of distinct ids and ``assessments`` a tuple of
#: :class:`Assessment`, both empty unless ``attendance`` is ``attended`` (what
#: ``Session``'s post-init check requires); ``duration_minutes`` and ``note`` are
#: ``None``. Whether the ids and interventions fit the plan is still checked by
#: :func:`~treatplan.record_session`.
drawn_session: Callable[..., Session] = _drawn_maker(
    Session,
    ("id", "at", "attendance", "interventions=()", "assessments=()"),
    {"duration_minutes": "None", "note": "None"},
)


def simulated_record(
    plan: TreatmentPlan,
    field: str,
    record: Session | Assessment,
    parent_state: Any,
    extend: Callable[[Any, TreatmentPlan, Any], Any],
) -> TreatmentPlan:
    """``plan`` with ``record`` appended to its ``sessions`` or ``assessments``, none of
    :func:`~treatplan.record_session`'s or :func:`~treatplan.record_assessment`'s
    checks made, and derived state ``extend(parent_state, new_plan, record)`` (the
    parent's state extended: ``_state.with_session`` or ``_state.with_assessment``).

    Only the simulator's engine (``treatplan.sim._engine``) calls this, and only for
    records it made itself, which pass every one of those checks by construction:
    the plan is in a phase that allows the record (screening and baseline scores at
    referral and at the start of assessment, sessions only between agreeing the plan
    and the ending); every id follows a fixed pattern no other id of the plan
    matches (``s<n>`` from the engine's own session count, ``phq9-<tag>`` and
    ``gad7-<tag>`` with a distinct tag per record); each session is dated a whole
    number of days (at least one) after the previous one, so after every earlier
    record and transition, and its scores are taken at its start; its interventions
    are ids of interventions in the plan (kept by the engine, never read back from
    what a policy can reach); and every item response is drawn from the
    instrument's own allowed responses (:func:`drawn_assessment`). The engine's
    verification sample (one client in ``VERIFY_EVERY``, by index) rebuilds the
    client through the public, checked functions and requires an equal plan, and
    tests/test_fast.py holds this to the checked path on generated plans.
    """
    new = _REPLACE[field](plan, (*getattr(plan, field), record), None)
    object.__setattr__(new, "_state", extend(parent_state, new, record))
    return new


#: The review records the simulator makes, each maker compiled the first time the engine
#: records a review (``import treatplan`` never pays for them).
_DRAWN_REVIEW_RECORDS: Mapping[type[Any], Callable[..., Any]] = _CompiledOnFirstUse(
    lambda cls: _maker(cls, "__init_drawn__", keep_defaults=False),
    (ObjectiveProgress, ProgressReview),
    "cls",
    "a review record class",
)


def drawn_progress(
    objective: str, achievement: AchievementStatus, gas_level: int | None, note: None
) -> ObjectiveProgress:
    """An :class:`ObjectiveProgress` the simulator's engine records at a review (through
    :func:`treatplan._review.findings_record`), without its field validators.

    Safe because what they check holds by construction: ``objective`` is the id of
    an objective of the plan (an opaque reference its own validator checked), taken
    from :func:`~treatplan.review`'s findings of that plan; ``achievement`` is an
    :class:`AchievementStatus` (the library's mapping of an objective's state);
    ``gas_level`` is the level a validated review recorded, or ``None``; ``note`` is
    ``None``. tests/test_sim_fast.py holds this to the validated constructor.
    """
    made: ObjectiveProgress = _DRAWN_REVIEW_RECORDS[ObjectiveProgress](
        objective, achievement, gas_level, note
    )
    return made


def drawn_review(
    ident: str,
    at: datetime,
    decision: ReviewDecision,
    progress: tuple[ObjectiveProgress, ...],
    next_review: date | None,
    by: str,
    client_requested_ending: bool,
    note: None,
) -> ProgressReview:
    """A :class:`ProgressReview` the simulator's engine records (through
    :func:`treatplan._review.findings_record`), without its converter, validators and
    post-init check.

    Safe because what they check holds by construction: ``ident`` (``review-<n>``)
    and ``by`` are the engine's opaque references; ``at`` is one of the engine's
    times, a UTC date-time (what the converter returns unchanged); ``decision`` is a
    :class:`ReviewDecision` (the engine checks what a policy decided, and takes the
    checked path otherwise); ``progress`` is a tuple of :func:`drawn_progress` records
    for distinct objectives (the findings' live objectives, each once); ``next_review``
    is the cadence's next date, never before the review's own date
    (:func:`~treatplan.next_review_date`), or ``None``; ``client_requested_ending`` is a
    bool; ``note`` is ``None``. tests/test_sim_fast.py holds this to the validated
    constructor.
    """
    made: ProgressReview = _DRAWN_REVIEW_RECORDS[ProgressReview](
        ident, at, decision, progress, next_review, by, client_requested_ending, note
    )
    return made


def simulated_review(
    plan: TreatmentPlan,
    review: ProgressReview,
    parent_state: Any,
    extend: Callable[[Any, ProgressReview], Any],
) -> TreatmentPlan:
    """``plan`` with ``review`` appended to its reviews, none of
    :func:`~treatplan.record_review`'s checks made, and derived state
    ``extend(parent_state, review)`` (``_state.with_review``).

    Only the simulator's engine (``treatplan.sim._engine``) calls this, for a review
    it held on this very plan at the time of the session just recorded, which passes
    every one of those checks by construction: the plan is active (the engine reviews
    only between agreeing the plan and the ending), so reviews are allowed and the
    review's time is not before the latest transition; its id ``review-<n>`` (the
    engine's own review count) matches no other id of the plan; it is dated at the
    latest session, so not before the previous review; and its progress names the
    plan's own objectives (:func:`drawn_progress`). The engine's verification sample
    rebuilds clients through :func:`~treatplan.record_findings`, and
    tests/test_sim_fast.py holds this to :func:`~treatplan.record_review`.
    """
    new = _REPLACE["reviews"](plan, (*plan.reviews, review), None)
    object.__setattr__(new, "_state", extend(parent_state, review))
    return new


#: The JSON layer's record makers below are declared here and compiled the first time
#: that layer asks for one (:func:`__getattr__`): ``fire``, the ``record_*`` operations
#: and the simulator never pay for them, nor does ``import treatplan``.
_LOADED: dict[str, type[Any]] = {
    "loaded_assessment": Assessment,
    "loaded_session": Session,
    "loaded_progress": ObjectiveProgress,
    "loaded_review": ProgressReview,
    "loaded_intervention": Intervention,
    "loaded_measure_target": MeasureTarget,
    "loaded_objective": Objective,
    "loaded_goal": Goal,
    "loaded_diagnosis": Diagnosis,
    "loaded_problem": PresentingProblem,
}


def __getattr__(name: str) -> Any:
    cls = _LOADED.get(name)
    if cls is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    maker = _loaded_maker(cls)
    globals()[name] = maker
    return maker


#: ``loaded_assessment(id, instrument, administered_at, items, total)``: an assessment
#: read from a plan document by the JSON layer's fast path. Safe because that path
#: (``treatplan._json._fast_assessment``) checks what :class:`Assessment`'s converters,
#: validators and post-init check would: ``id`` and ``instrument`` are opaque
#: references, ``administered_at`` an RFC 3339 time in the plan range with a
#: fixed-offset zone (the converter's output), ``items`` a tuple of at most 1000 ints
#: from -1000 to 1000 or nulls, ``total`` a finite number within the numeric bound,
#: and not both ``None``. The plan's constructor then checks the responses against the
#: instrument, as for any assessment. tests/test_json_fast.py holds this to the
#: validated path.
loaded_assessment: Callable[
    [str, str, datetime, tuple[int | None, ...] | None, float | None], Assessment
]
#: ``loaded_session(id, at, attendance, interventions, assessments, duration_minutes,
#: note)``: a session read from a plan document by the JSON layer's fast path. Safe
#: because that path (``treatplan._json._fast_sessions``) checks what :class:`Session`'s
#: converters, validators and post-init check would: an opaque reference ``id``, ``at``
#: as for :data:`loaded_assessment`, an :class:`Attendance` member, at most 100
#: distinct intervention id strings, at most 100 assessments each built by
#: :data:`loaded_assessment`, neither unless attended, a duration from 1 to 1440
#: minutes or ``None``, and a ``note`` that passed the field's own validator. Whether
#: ids and interventions fit the plan is checked by the plan's constructor.
#: tests/test_json_fast.py holds this to the validated path.
loaded_session: Callable[
    [
        str,
        datetime,
        Attendance,
        tuple[str, ...],
        tuple[Assessment, ...],
        int | None,
        str | None,
    ],
    Session,
]
# The plan's other parts, read by the JSON layer's fast path (``treatplan._json``'s
# ``_fast_*`` readers). Each is safe because its reader checks every field as the
# class's converters, validators and post-init check would (the ``ref``, ``text``,
# ``enum``, ``integer``, ``number``, ``a_date`` and ``items_of`` validators named on
# the fields), and gives each list field as a tuple; which ids a record names is
# checked by the plan's own checks (``_plan_problems``). tests/test_json_fast.py holds
# each reader to the validated path, on generated plans and on documents broken at
# every field.

#: ``loaded_progress(objective, achievement, gas_level, note)``: an
#: :class:`ObjectiveProgress` (an opaque reference, an :class:`AchievementStatus`, an
#: int from -2 to 2 or ``None``, storable text or ``None``).
loaded_progress: Callable[[str, AchievementStatus, int | None, str | None], ObjectiveProgress]
#: ``loaded_review(id, at, decision, progress, next_review, by,
#: client_requested_ending, note)``: a :class:`ProgressReview` (an opaque reference, a
#: time as for :data:`loaded_assessment`, a :class:`ReviewDecision`, at most 1000
#: :data:`loaded_progress` records naming distinct objectives, a date in the plan range
#: not before the review's own date or ``None``, an opaque reference or ``None``, a
#: bool, storable text or ``None``).
loaded_review: Callable[
    [
        str,
        datetime,
        ReviewDecision,
        tuple[ObjectiveProgress, ...],
        date | None,
        str | None,
        bool,
        str | None,
    ],
    ProgressReview,
]
#: ``loaded_intervention(id, modality, technique, format, serves, schedule,
#: delivered_by)``: an :class:`Intervention` (an opaque reference, a :class:`Modality`,
#: storable text of at most 500 characters, a :class:`DeliveryFormat`, at most 100
#: distinct strings, a :class:`Schedule` built by its validated constructor or
#: ``None``, an opaque reference or ``None``).
loaded_intervention: Callable[
    [str, Modality, str, DeliveryFormat, tuple[str, ...], Schedule | None, str | None],
    Intervention,
]
#: ``loaded_measure_target(instrument, comparator, threshold)``: a
#: :class:`MeasureTarget` (an opaque reference, a :class:`Comparator`, a finite number
#: within the numeric bound); its ``kind`` is the class's constant.
loaded_measure_target: Callable[[str, Comparator, float], MeasureTarget]
#: ``loaded_objective(id, description, target, target_date, status, achievement)``: an
#: :class:`Objective` (an opaque reference, storable text, a target built by
#: :data:`loaded_measure_target` or a validated constructor, a date in the plan range,
#: a :class:`ObjectiveStatus`, an :class:`AchievementStatus` or ``None``).
loaded_objective: Callable[
    [str, str, ObjectiveTarget, date, ObjectiveStatus, AchievementStatus | None], Objective
]
#: ``loaded_goal(id, statement, domain, objectives, addresses)``: a :class:`Goal` (an
#: opaque reference, storable text, a :class:`GoalDomain`, at most 100
#: :data:`loaded_objective` records, at most 100 distinct strings).
loaded_goal: Callable[[str, str, GoalDomain, tuple[Objective, ...], tuple[str, ...]], Goal]
#: ``loaded_diagnosis(code, system)``: a :class:`Diagnosis` (an opaque reference and a
#: :class:`CodeSystem`).
loaded_diagnosis: Callable[[str, CodeSystem], Diagnosis]
#: ``loaded_problem(id, description, behavioural_definitions, diagnosis)``: a
#: :class:`PresentingProblem` (an opaque reference, storable text, at most 100 non-empty
#: strings that are valid Unicode, a :data:`loaded_diagnosis` or ``None``).
loaded_problem: Callable[[str, str, tuple[str, ...], Diagnosis | None], PresentingProblem]


#: ``loaded_rules[cls](<cls's init fields, in order>)``: a termination rule of class
#: ``cls`` (one of ``RULE_TYPES``) read from a plan document by the JSON layer's fast
#: path, its ``kind`` the class's constant. Safe because that path
#: (``treatplan._json._fast_rule``) checks each field given as the field's hook,
#: converter and validator would (an int in the validator's range, a bool, an enum
#: member, 1 to 100 distinct opaque references as instrument codes, distinct strings as
#: objective ids, at most 20 increasing fractions as floats, 1 to 100 rules each built
#: here, nested at most ``MAX_RULE_DEPTH`` composites deep), gives each list field as a
#: tuple, takes the field's own default for a key left out, and then runs the class's
#: ``__attrs_post_init__``. The plan's own check (``_plan_problems``) checks the objectives
#: and instruments a rule names. tests/test_json_fast.py holds this to the validated path.
#: Each maker is compiled the first time a document holds that rule type.
loaded_rules: Mapping[type[Any], Callable[..., Any]] = _CompiledOnFirstUse(
    _loaded_maker, RULE_TYPES, "cls", "a termination rule class"
)


_UnfrozenSchedule = _unfrozen(Schedule)


def loaded_schedule(start: datetime, rrule: str, timezone: str | None) -> Schedule:
    """A :class:`Schedule` read by the JSON layer's fast path: its parsed rule is made by
    the class's own default (``Schedule._parse``, which checks the start, the rule text
    and parts, and the zone name, then parses the rule), its field validators do not run.

    Safe because that path checks what they would besides: ``start`` a time as for
    :data:`loaded_assessment`, ``rrule`` storable text of at most 500 characters and
    ``timezone`` storable text of at most 64 characters or ``None``.
    """
    new = _UnfrozenSchedule()
    new.start, new.rrule, new.timezone = start, rrule, timezone
    new._parsed = Schedule._parse(new)  # raises ValidationError for a bad rule or zone
    new.__class__ = Schedule
    schedule: Schedule = new
    return schedule


_new_plan: Callable[..., TreatmentPlan] = _copier(TreatmentPlan)
#: The same for the simulator's referrals and revisions, by plain slot stores.
_drawn_plan: Callable[..., TreatmentPlan] = _record_maker(TreatmentPlan, _UnfrozenPlan)


def _default(field: attrs.Attribute[Any]) -> Any:
    factory = getattr(field.default, "factory", None)
    return field.default if factory is None else factory()


#: Each plan field's default, for a document that leaves the field out (the one
#: ``ClientFactors()`` is shared: it is immutable, and equal to a fresh one).
_PLAN_DEFAULTS: dict[str, Any] = {
    a.name: _default(a) for a in attrs.fields(TreatmentPlan) if a.default is not attrs.NOTHING
}
#: The plan's lists with at most 100 members (the others are bounded by the JSON
#: layer's MAX_RECORDS, far below their validators' 100,000).
_SHORT_LISTS = ("presenting_problems", "goals", "interventions", "custom_instruments")


def loaded_plan(fields: dict[str, Any]) -> TreatmentPlan:
    """A plan read from a document by the JSON layer's fast path: its post-init check
    (``_plan_problems``, every check that spans the plan) runs, its field validators
    do not; raises :class:`ValidationError` as the validated constructor would.

    Safe because what those validators check is either checked here (``plan_id`` and
    ``client_ref`` opaque references, ``schema_version`` exactly the int
    ``SCHEMA_VERSION``, at least one history record, at most 100 presenting problems,
    goals, interventions and custom instruments) or guaranteed by that path
    (``treatplan._json._fast_plan``): every list field is a tuple whose members its
    readers built with the validated constructors or the ``loaded_*`` functions of this
    module, or the quick converter built (same constructors), ``client_factors`` is a
    :class:`ClientFactors`, and there are at most ``MAX_RECORDS`` records in all.
    ``discharge_criteria`` has no field validator: ``_plan_problems`` checks it.
    tests/test_json_fast.py holds this to the validated path.
    """
    values = {**_PLAN_DEFAULTS, **fields}
    if (
        not (v.is_ref(values["plan_id"]) and v.is_ref(values["client_ref"]))
        or type(values["schema_version"]) is not int
        or values["schema_version"] != SCHEMA_VERSION
        or not values["history"]
        or any(len(values[name]) > 100 for name in _SHORT_LISTS)
        or type(values["client_factors"]) is not ClientFactors
    ):
        raise ValidationError.at("$", "a plan the validated constructor builds")
    plan = _new_plan(**values)
    problems = _plan_problems(plan)
    if problems:
        raise ValidationError(problems, "invalid treatment plan")
    return plan


def simulated_revision(
    plan: TreatmentPlan, *, seen: IdentityCache[bool] | None = None, **changes: Any
) -> TreatmentPlan:
    """:func:`~treatplan.revise` of ``plan`` for the simulator's engine: the plan's own
    check (``_plan_problems``, every check that spans the plan: ids, references,
    times, phases, rules) runs and raises :class:`ValidationError` as the constructor
    would; the field validators do not, and the derived state is built on first use.

    Only ``treatplan.sim._engine`` calls this, and only where ``revise``'s own checks
    hold by construction: the plan is assessing (the plan is written before it is
    agreed) or active (a step up at a review), both phases that allow revision; the
    changes are ``presenting_problems``, ``goals`` and ``interventions`` (tuples of at
    most three records its context built with the validated constructors, so each
    field validator's check, a tuple of that record type of at most 100, holds) and
    ``discharge_criteria`` (the scenario's rule, validated with the scenario and
    checked again by ``_plan_problems``); every other field is the valid plan's own.
    The verification sample rebuilds clients through ``revise``, and tests/test_fast.py
    holds this to it.

    ``seen`` (the engine's record of the content it has revised plans with, held per
    process) makes the plan's check run only the first time a revision holds this
    very content: the same rule, custom instruments, problems, goals and
    interventions (the objects, which the engine's context shares between clients).
    The check of another engine plan revised with content found clean then finds
    nothing either, because what it could find there depends only on that content:
    the engine's plans at a revision differ only in their records' values (times,
    responses, the plan's and client's ids), which the content does not read; every
    record id follows an engine pattern (``phq9-<tag>``, ``gad7-<tag>``, ``s<n>``,
    ``review-<n>``) that no content id matches; sessions deliver only interventions
    the revision keeps and reviews rate only the goals' objectives, which a step up
    keeps; and the records' own times, phases and responses were checked when they
    were recorded and a revision changes none of them. Only a check that found
    nothing is remembered, so content the check refuses is refused for every client.
    tests/test_sim_fast.py holds a skipped check to ``revise``.
    """
    values = {name: getattr(plan, name) for name in _PLAN_FIELDS}
    values.update(changes)
    new = _drawn_plan(**values)
    if seen is not None:
        content = (
            new.discharge_criteria,
            new.custom_instruments,
            *new.presenting_problems,
            *new.goals,
            *new.interventions,
        )
        if seen.get(*content) is not None:
            return new  # checked clean before with this content (see above)
    problems = _plan_problems(new)
    if problems:
        raise ValidationError(problems, "invalid treatment plan")
    if seen is not None:
        seen.put(True, *content)
    return new


def simulated_referral(
    plan_id: str, client_ref: str, at: datetime, by: str, client_factors: ClientFactors
) -> TreatmentPlan:
    """:meth:`TreatmentPlan.refer` for the simulator's engine: a new plan in phase
    ``referred`` with default content, built without the field validators of the plan
    and of its first history record.

    Only ``treatplan.sim._engine`` calls this. Safe because what those validators
    check is checked here, cheaply (``plan_id``, ``client_ref`` and ``by`` opaque
    references, ``at`` a storable time whose zone is a fixed offset, the converter's
    output, and ``client_factors`` a :class:`ClientFactors`, which its own validated
    constructor made), and every other field takes the constructor's default
    (``_PLAN_DEFAULTS``). The plan's own check (``_plan_problems``) has nothing to
    find in a plan that holds only a referral and no content. The engine's ids are
    ``plan-<n>`` and ``client-<n>``, its times the scenario's start plus whole days:
    the refusal below is for misuse. The verification sample rebuilds clients
    through ``refer``, and tests/test_fast.py holds this to it.
    """
    if (
        not (v.is_ref(plan_id) and v.is_ref(client_ref) and v.is_ref(by))
        or type(at) is not datetime
        or type(at.tzinfo) is not timezone
        or v.time_problem(at) is not None
        or type(client_factors) is not ClientFactors
    ):
        raise ValidationError.at("$", "a referral the validated constructor makes")
    first = _new_transition("refer", None, Phase.REFERRED, at, by, None, None)
    values = {
        **_PLAN_DEFAULTS,
        "plan_id": plan_id,
        "client_ref": client_ref,
        "history": (first,),
        "client_factors": client_factors,
    }
    plan = _drawn_plan(**values)
    # No derived state yet (built on first use): said, so that first use need not find
    # the slot empty (an AttributeError, caught, costs more than this store).
    object.__setattr__(plan, "_state", None)
    return plan
