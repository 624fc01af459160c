"""The therapy lifecycle: phases, events, guards, and the operations that change a plan.

FHIR describes episode statuses but no transition rules (DOMAIN.md section 2);
this module supplies them. The whole transition table is :data:`TRANSITIONS`,
data in one place; :func:`mermaid` draws it.

Every operation takes a valid plan and returns a new valid plan, or raises and
leaves the input untouched (plans are immutable, so nothing can be half-applied).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from . import _validation as v
from ._errors import Problem, TransitionError, ValidationError
from ._memo import IdentityCache
from ._model import (
    Assessment,
    Goal,
    GoalStatus,
    Intervention,
    MeasureTarget,
    Outcome,
    Phase,
    PresentingProblem,
    ProgressReview,
    Session,
    Transition,
    TreatmentPlan,
)

__all__ = [
    "OPEN_PHASES",
    "RECORDING_PHASES",
    "TRANSITIONS",
    "Event",
    "EventCheck",
    "Guard",
    "TransitionSpec",
    "allowed_events",
    "check_event",
    "fire",
    "mermaid",
    "record_assessment",
    "record_review",
    "record_session",
    "revise",
]


class Event(enum.StrEnum):
    """Lifecycle events. ``refer`` only ever opens a plan (:meth:`TreatmentPlan.refer`)."""

    REFER = "refer"
    WAITLIST = "waitlist"
    BEGIN_ASSESSMENT = "begin_assessment"
    AGREE_PLAN = "agree_plan"
    PAUSE = "pause"
    RESUME = "resume"
    BEGIN_ENDING = "begin_ending"
    RESUME_TREATMENT = "resume_treatment"
    START_FOLLOW_UP = "start_follow_up"
    COMPLETE = "complete"
    DROP_OUT = "drop_out"
    TRANSFER = "transfer"
    DECLINE = "decline"
    CANCEL = "cancel"
    REOPEN = "reopen"


class _Request(NamedTuple):
    """A checked event request (a tuple: built on every ``fire``, so cheap to make)."""

    event: Event
    at: datetime
    by: str
    reason: str | None


#: A guard looks at the plan and the requested event and returns why it fails, or None.
Guard = Callable[[TreatmentPlan, _Request], "str | None"]


def _has_baseline(plan: TreatmentPlan, _: _Request) -> str | None:
    if not plan.all_assessments():
        return "a baseline assessment is required before the plan is agreed"
    return None


def _has_measurable_goal(plan: TreatmentPlan, _: _Request) -> str | None:
    if not any(g.objectives for g in plan.goals):
        return "at least one goal with a measurable objective is required"
    return None


def _objectives_served(plan: TreatmentPlan, _: _Request) -> str | None:
    served = {oid for i in plan.interventions for oid in i.serves}
    unserved = [o.id for o in _live_objectives(plan) if o.id not in served]
    if unserved:
        return "objectives not served by any intervention: " + ", ".join(unserved)
    return None


def _measure_targets_have_baselines(plan: TreatmentPlan, _: _Request) -> str | None:
    measured = {a.instrument for a in plan.all_assessments()}
    missing = sorted(
        {
            o.target.instrument
            for o in _live_objectives(plan)
            if isinstance(o.target, MeasureTarget) and o.target.instrument not in measured
        }
    )
    if missing:
        return "no baseline score for the instruments in objective targets: " + ", ".join(missing)
    return None


def _reason_given(_: TreatmentPlan, request: _Request) -> str | None:
    if request.reason is None:  # _request turns a blank reason into None
        return "a reason is required"
    return None


def _live_objectives(plan: TreatmentPlan) -> list[Any]:
    dead = {GoalStatus.CANCELLED, GoalStatus.ENTERED_IN_ERROR, GoalStatus.REJECTED}
    return [o for o in plan.objectives if o.status not in dead]


@attrs.frozen
class TransitionSpec:
    """One row of the transition table."""

    event: Event
    sources: frozenset[Phase]
    target: Phase
    description: str
    outcome: Outcome | None = None
    guards: tuple[Guard, ...] = ()


_OPEN = frozenset(Phase) - {Phase.CLOSED}
#: Phases in which an episode is still open.
OPEN_PHASES: frozenset[Phase] = _OPEN
_REASON: tuple[Guard, ...] = (_reason_given,)


def _row(
    event: Event,
    sources: Iterable[Phase],
    target: Phase,
    description: str,
    outcome: Outcome | None = None,
    guards: tuple[Guard, ...] = (),
) -> tuple[str, TransitionSpec]:
    return event.value, TransitionSpec(
        event, frozenset(sources), target, description, outcome, guards
    )


P = Phase
#: The transition table: event -> which phases it leaves, where it goes, its guards.
TRANSITIONS: Mapping[str, TransitionSpec] = MappingProxyType(
    dict(
        [
            _row(Event.REFER, (), P.REFERRED, "referral received; opens the plan"),
            _row(Event.WAITLIST, (P.REFERRED,), P.WAITLISTED, "accepted, waiting for a slot"),
            _row(
                Event.BEGIN_ASSESSMENT,
                (P.REFERRED, P.WAITLISTED),
                P.ASSESSING,
                "initial assessment and goal setting begins",
            ),
            _row(
                Event.AGREE_PLAN,
                (P.ASSESSING,),
                P.ACTIVE,
                "plan agreed with the client",
                guards=(
                    _has_baseline,
                    _has_measurable_goal,
                    _objectives_served,
                    _measure_targets_have_baselines,
                ),
            ),
            _row(Event.PAUSE, (P.ACTIVE,), P.ON_HOLD, "therapy paused", guards=_REASON),
            _row(Event.RESUME, (P.ON_HOLD,), P.ACTIVE, "therapy resumes"),
            _row(
                Event.BEGIN_ENDING,
                (P.ACTIVE, P.ON_HOLD),
                P.ENDING,
                "termination agreed: tapering, relapse prevention",
                guards=_REASON,
            ),
            _row(
                Event.RESUME_TREATMENT,
                (P.ENDING, P.FOLLOW_UP),
                P.ACTIVE,
                "ending reconsidered; regular sessions again",
                guards=_REASON,
            ),
            _row(
                Event.START_FOLLOW_UP,
                (P.ENDING,),
                P.FOLLOW_UP,
                "regular sessions over; post-therapy support",
            ),
            _row(
                Event.COMPLETE,
                (P.ENDING, P.FOLLOW_UP),
                P.CLOSED,
                "episode completed as planned",
                Outcome.COMPLETED,
                _REASON,
            ),
            _row(
                Event.DROP_OUT,
                (P.ASSESSING, P.ACTIVE, P.ON_HOLD, P.ENDING),
                P.CLOSED,
                "client stopped attending before a planned ending",
                Outcome.DROPPED_OUT,
                _REASON,
            ),
            _row(
                Event.TRANSFER,
                _OPEN,
                P.CLOSED,
                "care transferred to another service",
                Outcome.TRANSFERRED,
                _REASON,
            ),
            _row(
                Event.DECLINE,
                (P.REFERRED, P.WAITLISTED, P.ASSESSING),
                P.CLOSED,
                "client declined treatment",
                Outcome.DECLINED,
                _REASON,
            ),
            _row(
                Event.CANCEL,
                (P.REFERRED, P.WAITLISTED),
                P.CLOSED,
                "referral cancelled before treatment",
                Outcome.CANCELLED,
                _REASON,
            ),
            _row(
                Event.REOPEN,
                (P.CLOSED,),
                P.ASSESSING,
                "closed episode reopened for reassessment",
                guards=_REASON,
            ),
        ]
    )
)

# The table keyed by member, and the members' names: enum ``.value`` lookups are slow
# on the hot path.
_SPECS: Mapping[Event, TransitionSpec] = {spec.event: spec for spec in TRANSITIONS.values()}
_NAMES: Mapping[Event, str] = {event: event.value for event in Event}

#: Where each kind of record may be added to a plan.
RECORDING_PHASES: Mapping[str, frozenset[Phase]] = MappingProxyType(
    {
        # Waiting-list and assessment measures are routine (NHS Talking Therapies).
        "assessment": _OPEN,
        "session": frozenset({P.ASSESSING, P.ACTIVE, P.ENDING, P.FOLLOW_UP}),
        "review": frozenset({P.ACTIVE, P.ON_HOLD, P.ENDING, P.FOLLOW_UP}),
        "revision": frozenset(
            {P.REFERRED, P.WAITLISTED, P.ASSESSING, P.ACTIVE, P.ON_HOLD, P.ENDING}
        ),
    }
)


@attrs.frozen
class EventCheck:
    """Whether an event may fire now, and if not, every reason why not."""

    event: Event
    allowed: bool
    reasons: tuple[str, ...]
    target: Phase


def _failures(plan: TreatmentPlan, request: _Request) -> list[str]:
    spec = _SPECS[request.event]
    last = plan.history[-1]
    phase = last.target
    if phase not in spec.sources:
        if phase is Phase.CLOSED:
            return ["a closed episode changes only through reopen"]
        allowed_from = ", ".join(sorted(p.value for p in spec.sources)) or "nowhere"
        return [f"{request.event.value} is allowed only from {allowed_from}"]
    reasons: list[str] = []
    if _earlier(request.at, last.at):
        reasons.append("event time is before the last recorded transition")
    for guard in spec.guards:
        why = guard(plan, request)
        if why is not None:
            reasons.append(why)
    return reasons


# A service has few clinicians: remembering the ``by`` references already checked
# saves a regular-expression match on most events. Bounded, so it cannot grow without end.
_KNOWN_REFS: set[str] = set()
_KNOWN_REFS_MAX = 1024
# Builds a _Request without NamedTuple's Python-level __new__ (half the cost).
_new_request = tuple.__new__


def _remember_ref(ref: str) -> None:
    if len(_KNOWN_REFS) >= _KNOWN_REFS_MAX:
        _KNOWN_REFS.clear()
    _KNOWN_REFS.add(ref)


def _earlier(when: datetime, than: datetime) -> bool:
    """Whether instant ``when`` is before instant ``than`` (both timezone-aware)."""
    if type(when.tzinfo) is timezone and type(than.tzinfo) is timezone:
        return when < than  # fixed offsets have no DST folds: the direct comparison is exact
    return v.instant(when) < v.instant(than)


def _request(event: Event | str, at: datetime, by: str, reason: str | None) -> _Request:
    """Check the arguments of an event request.

    These are exactly the checks :class:`Transition`'s validators make on ``at``,
    ``by`` and ``reason`` (the other fields come from the table), so ``fire`` can
    build its record without running them again; tests/test_lifecycle.py holds
    the two to agreement.
    """
    ev: Event | None = event if isinstance(event, Event) else None
    if ev is None:
        with contextlib.suppress(ValueError, TypeError):
            ev = Event(event)
    if ev is None:  # raised outside the handler: no __context__ quoting the value
        raise ValidationError.at("event", "one of " + v.enum_choices(Event))
    if ev is Event.REFER:
        raise ValidationError.at("event", "an event other than refer (use TreatmentPlan.refer)")
    if type(at) is not datetime or type(at.tzinfo) is not timezone:  # fast path: fixed offset
        if not v.is_aware(at):
            raise ValidationError.at("at", "a timezone-aware date-time")
        at = v.fixed_offset(at)
    when = v.time_problem(at)  # the range and whole-minute offset, as Transition checks
    if when is not None:
        raise ValidationError.at("at", when)
    if type(by) is not str or by not in _KNOWN_REFS:
        if not v.is_ref(by):
            raise ValidationError.at("by", "an opaque reference (who fired the event)")
        _remember_ref(by)
    if reason is not None:
        if not isinstance(reason, str):
            raise ValidationError.at("reason", "a string or null")
        if not reason.strip():
            reason = None  # a blank reason is no reason: guards that need one say so
        elif len(reason) > v.MAX_TEXT:
            raise ValidationError.at("reason", f"a string of at most {v.MAX_TEXT} characters")
        elif not reason.isascii() and not v.is_unicode(reason):
            raise ValidationError.at("reason", "valid Unicode text (no lone surrogates)")
        elif not v.is_storable_text(reason):
            raise ValidationError.at("reason", v.STORABLE_TEXT)
    return _new_request(_Request, (ev, at, by, reason))


def check_event(
    plan: TreatmentPlan,
    event: Event | str,
    *,
    at: datetime,
    by: str = "system",
    reason: str | None = "unspecified",
) -> EventCheck:
    """Whether ``event`` may fire on ``plan`` at ``at``, with every failed guard."""
    request = _request(event, at, by, reason)
    reasons = _failures(plan, request)
    target = TRANSITIONS[request.event.value].target
    return EventCheck(request.event, not reasons, tuple(reasons), target)


def allowed_events(
    plan: TreatmentPlan, *, at: datetime | None = None, reason: str | None = "unspecified"
) -> tuple[EventCheck, ...]:
    """Every event with whether it may fire now and, where not, why not.

    ``at`` defaults to the time of the last transition; ``reason`` is assumed
    given unless you pass ``None``.
    """
    when = plan.last_event_at if at is None else at
    return tuple(
        check_event(plan, ev, at=when, reason=reason) for ev in Event if ev is not Event.REFER
    )


def fire(
    plan: TreatmentPlan,
    event: Event | str,
    *,
    at: datetime,
    by: str,
    reason: str | None = None,
) -> TreatmentPlan:
    """Fire a lifecycle event: a new plan with one more history record.

    Raises :class:`TransitionError` naming the phase, the event and every failed
    guard, or :class:`ValidationError` for a malformed argument (unknown event,
    naive ``at``, ``by`` not an opaque reference); the input plan is unchanged.
    A blank ``reason`` counts as none.
    """
    request = _request(event, at, by, reason)
    failures = _failures(plan, request)
    if failures:
        raise TransitionError(plan.phase.value, request.event.value, failures)
    spec = _SPECS[request.event]
    # The record is valid without running Transition's validators: _request checked
    # at, by and reason exactly as they would; event, source, target and outcome come
    # from the table, which sets an outcome exactly on the events into closed.
    history = plan.history
    record = _new_transition(
        event=_NAMES[request.event],
        source=history[-1].target,
        target=spec.target,
        at=request.at,
        by=by,
        reason=request.reason,
        outcome=spec.outcome,
    )
    # Sound to skip re-validating the plan: the input was valid, and the record
    # extends its history exactly as _history_problems requires (source is the
    # current phase, event/target/outcome from the table, time not before the
    # last record). Nothing else changed.
    return _with_history(plan, (*history, record))


# --------------------------------------------------------------------------- recording
def _require_phase(plan: TreatmentPlan, what: str) -> None:
    if plan.phase not in RECORDING_PHASES[what]:
        allowed = ", ".join(sorted(p.value for p in RECORDING_PHASES[what]))
        raise TransitionError(
            plan.phase.value, f"record_{what}", [f"a {what} may be recorded only in {allowed}"]
        )


#: The ids used in recent plans, keyed by the parts that carry ids: recording adds
#: to the set of the plan it extends instead of collecting every id again.
_IDS: IdentityCache[frozenset[str]] = IdentityCache(256)


def _id_parts(plan: TreatmentPlan) -> tuple[tuple[Any, ...], ...]:
    return (
        plan.presenting_problems,
        plan.goals,
        plan.interventions,
        plan.assessments,
        plan.sessions,
        plan.reviews,
    )


def _ids(plan: TreatmentPlan) -> set[str]:
    """Every id used in ``plan`` (a fresh set the caller may add to)."""
    parts = _id_parts(plan)
    hit = _IDS.get(*parts)
    if hit is not None:
        return set(hit)
    ids = {p.id for p in plan.presenting_problems}
    for g in plan.goals:
        ids.add(g.id)
        ids.update(o.id for o in g.objectives)
    ids.update(i.id for i in plan.interventions)
    ids.update(a.id for a in plan.assessments)
    for s in plan.sessions:
        ids.add(s.id)
        ids.update(a.id for a in s.assessments)
    ids.update(r.id for r in plan.reviews)
    _IDS.put(frozenset(ids), *parts)
    return ids


def _recorded(plan: TreatmentPlan, ids: set[str]) -> TreatmentPlan:
    """``plan`` (just built by a record_* function), remembering ``ids`` as its ids."""
    _IDS.put(frozenset(ids), *_id_parts(plan))
    return plan


def _assessment_problems(
    plan: TreatmentPlan, a: Assessment, path: str, taken: set[str]
) -> list[Problem]:
    if a.id in taken:
        return [Problem(f"{path}.id", "an id not already used in the plan")]
    taken.add(a.id)
    try:
        instrument = plan.instrument(a.instrument)
    except KeyError:
        return [Problem(f"{path}.instrument", "the code of a built-in or custom instrument")]
    return [Problem(path + p.path[1:], p.expected) for p in a.problems_against(instrument)]


def _not_before_episode(plan: TreatmentPlan, when: datetime, path: str) -> list[Problem]:
    if v.instant(when) < v.instant(plan.history[0].at):
        return [Problem(path, "a time not before the referral")]
    return []


def record_assessment(plan: TreatmentPlan, assessment: Assessment) -> TreatmentPlan:
    """Add a standalone assessment (outside a session): any open phase."""
    _require_phase(plan, "assessment")
    if not isinstance(assessment, Assessment):
        raise ValidationError.at("assessment", "an Assessment")
    taken = _ids(plan)
    problems = _assessment_problems(plan, assessment, "$", taken)
    problems += _not_before_episode(plan, assessment.administered_at, "$.administered_at")
    if problems:
        raise ValidationError(problems, "assessment cannot be recorded")
    return _recorded(_trusted(plan, assessments=(*plan.assessments, assessment)), taken)


def record_session(plan: TreatmentPlan, session: Session) -> TreatmentPlan:
    """Add a session, in time order, in assessing, active, ending or follow-up."""
    _require_phase(plan, "session")
    if not isinstance(session, Session):
        raise ValidationError.at("session", "a Session")
    taken = _ids(plan)
    problems: list[Problem] = []
    if session.id in taken:
        problems.append(Problem("$.id", "an id not already used in the plan"))
    taken.add(session.id)
    if plan.sessions and v.instant(session.at) < v.instant(plan.sessions[-1].at):
        problems.append(Problem("$.at", "a time not before the previous session"))
    problems += _not_before_episode(plan, session.at, "$.at")
    known = {i.id for i in plan.interventions}
    problems += [
        Problem(f"$.interventions[{i}]", "the id of an intervention")
        for i, iid in enumerate(session.interventions)
        if iid not in known
    ]
    for i, a in enumerate(session.assessments):
        problems += _assessment_problems(plan, a, f"$.assessments[{i}]", taken)
    if problems:
        raise ValidationError(problems, "session cannot be recorded")
    return _recorded(_trusted(plan, sessions=(*plan.sessions, session)), taken)


def record_review(plan: TreatmentPlan, review: ProgressReview) -> TreatmentPlan:
    """Add a progress review, in time order, once the plan is agreed."""
    _require_phase(plan, "review")
    if not isinstance(review, ProgressReview):
        raise ValidationError.at("review", "a ProgressReview")
    problems: list[Problem] = []
    taken = _ids(plan)
    if review.id in taken:
        problems.append(Problem("$.id", "an id not already used in the plan"))
    taken.add(review.id)
    if plan.reviews and v.instant(review.at) < v.instant(plan.reviews[-1].at):
        problems.append(Problem("$.at", "a time not before the previous review"))
    problems += _not_before_episode(plan, review.at, "$.at")
    objectives = {o.id for o in plan.objectives}
    problems += [
        Problem(f"$.progress[{i}].objective", "the id of an objective")
        for i, p in enumerate(review.progress)
        if p.objective not in objectives
    ]
    if problems:
        raise ValidationError(problems, "review cannot be recorded")
    return _recorded(_trusted(plan, reviews=(*plan.reviews, review)), taken)


def revise(
    plan: TreatmentPlan,
    *,
    presenting_problems: Iterable[PresentingProblem] | None = None,
    goals: Iterable[Goal] | None = None,
    interventions: Iterable[Intervention] | None = None,
    **other: Any,
) -> TreatmentPlan:
    """Revise the plan's content (problems, goals, interventions, criteria, factors).

    Allowed in any open phase but follow-up; the whole result is validated.
    History, sessions, assessments and reviews cannot be revised: they are records.
    """
    _require_phase(plan, "revision")
    forbidden = sorted(
        set(other) & {"history", "sessions", "assessments", "reviews", "plan_id", "client_ref"}
    )
    if forbidden:
        raise ValidationError.at(
            "revise", "only plan content, not the records: " + ", ".join(forbidden)
        )
    changes: dict[str, Any] = dict(other)
    if presenting_problems is not None:
        changes["presenting_problems"] = tuple(presenting_problems)
    if goals is not None:
        changes["goals"] = tuple(goals)
    if interventions is not None:
        changes["interventions"] = tuple(interventions)
    try:
        return attrs.evolve(plan, **changes)
    except TypeError:
        pass  # raised below, outside the handler: the TypeError names the unknown keyword
    raise ValidationError.at("revise", "keyword arguments naming TreatmentPlan fields")


_PLAN_FIELDS = tuple(a.name for a in attrs.fields(TreatmentPlan))


def _trusted(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    """A copy of a valid plan with changes the caller has already validated.

    The hot path of every operation: skips re-checking parts that cannot have changed.
    """
    if len(changes) == 1:
        ((name, value),) = changes.items()
        return _REPLACE[name](plan, value)
    new = object.__new__(TreatmentPlan)
    for name in _PLAN_FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(plan, name))
    return new


def _compile_copier(cls: type[Any], fields: tuple[str, ...], replaced: str | None) -> Any:
    """A function ``(source, value)`` returning a copy of a frozen attrs instance of
    ``cls`` with field ``replaced`` set to ``value``, or ``(**values)`` building one
    from every field by keyword (``replaced=None``), without running validators.

    Unrolled, as attrs itself generates ``__init__``: a loop over the fields costs
    about twice as much, and these run on every lifecycle operation. The names are
    attrs field names (identifiers), so the generated source is fixed by the class.
    """
    slotted = "__slots__" in cls.__dict__
    if replaced is None:
        head = "def make(*, " + ", ".join(fields) + "):"
        values = list(fields)
    else:
        head = "def make(source, value):"
        values = ["value" if name == replaced else f"source.{name}" for name in fields]
    body = [head, "    new = new_instance(cls)"]
    if slotted:
        body += [
            f"    set_field(new, {name!r}, {value})"
            for name, value in zip(fields, values, strict=True)
        ]
    elif replaced is None:  # a dict-backed class: give it its __dict__ in one step
        state = "{" + ", ".join(f"{n!r}: {n}" for n in fields) + "}"
        body.append(f"    set_field(new, '__dict__', {state})")
    else:
        body += [
            "    state = new.__dict__",
            "    state.update(source.__dict__)",
            f"    state[{replaced!r}] = value",
        ]
    body.append("    return new")
    namespace: dict[str, Any] = {
        "new_instance": object.__new__,
        "set_field": object.__setattr__,
        "cls": cls,
    }
    exec("\n".join(body), namespace)  # the source is built from attrs field names only
    return namespace["make"]


#: For each plan field, ``copy(plan, value)`` with that field replaced (no validation).
_REPLACE: Mapping[str, Callable[[TreatmentPlan, Any], TreatmentPlan]] = {
    name: _compile_copier(TreatmentPlan, _PLAN_FIELDS, name) for name in _PLAN_FIELDS
}
_with_history = _REPLACE["history"]
#: ``Transition(**fields)`` without its validators, for records ``fire`` has checked.
_new_transition: Callable[..., Transition] = _compile_copier(
    Transition, tuple(a.name for a in attrs.fields(Transition)), None
)


# --------------------------------------------------------------------------- pictures
def mermaid() -> str:
    """The transition table as a Mermaid ``stateDiagram-v2``.

    One arrow per pair of phases, labelled with every event that moves between
    them (and the outcome it sets), so the diagram stays readable.
    """
    order = list(Phase)
    labels: dict[tuple[Phase, Phase], list[str]] = {}
    for spec in TRANSITIONS.values():
        label = spec.event.value
        if spec.outcome is not None:
            label += f" ({spec.outcome.value})"
        for source in spec.sources:
            labels.setdefault((source, spec.target), []).append(label)
    lines = ["stateDiagram-v2", "    [*] --> referred: refer"]
    for source, target in sorted(labels, key=lambda e: (order.index(e[0]), order.index(e[1]))):
        lines.append(f"    {source.value} --> {target.value}: {', '.join(labels[source, target])}")
    lines.append("    closed --> [*]")
    return "\n".join(lines) + "\n"
