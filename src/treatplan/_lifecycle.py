"""The therapy lifecycle: phases, events, guards, and the operations that change a plan.

FHIR describes episode statuses but no transition rules (HL7 FHIR R4/R5 EpisodeOfCare;
docs/references.md#lifecycle-and-fhir);
this module supplies them. The whole transition table is :data:`TRANSITIONS`,
data in one place; :func:`mermaid` draws it.

Every operation takes a valid plan and returns a new valid plan, or raises and
leaves the input untouched (plans are immutable, so nothing can be half-applied).
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, NamedTuple, Unpack

import attrs

from . import _validation as v
from ._errors import ArgumentError, TransitionError, ValidationError, ValidationIssue
from ._fast import replace_field, with_transition
from ._model import (
    Assessment,
    Goal,
    Intervention,
    MeasureTarget,
    Objective,
    PresentingProblem,
    ProgressReview,
    RevisionParts,
    Session,
    TreatmentPlan,
    check_plan,
    record_time_problem,
    session_assessment_problem,
)
from ._records import record_repr
from ._state import (
    PlanState,
    keep_state,
    live_objectives,
    state_of,
    with_assessment,
    with_review,
    with_session,
)
from ._transitions import OPEN_PHASES, RECORDING_PHASES, TABLE, EpisodeOutcome, Event, Phase

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


class _Request(NamedTuple):
    """A checked event request (a tuple: built on every ``fire``, so cheap to make)."""

    event: Event
    at: datetime
    by: str
    reason: str | None


#: A guard looks at the plan and the requested event and returns why it fails, or None.
Guard = Callable[[TreatmentPlan, _Request], "str | None"]


def _has_baseline(plan: TreatmentPlan, _: _Request) -> str | None:
    # Any assessment, standalone or at a session (all_assessments, without its sort).
    if not (plan.assessments or any(s.assessments for s in plan.sessions)):
        return "a baseline assessment is required before the plan is agreed"
    return None


def _has_measurable_goal(plan: TreatmentPlan, _: _Request) -> str | None:
    # A loop, not any() over a generator: a generator left unfinished is closed by an
    # exception, which costs more than the test (checked at every agreement).
    for g in plan.goals:
        if g.objectives:
            return None
    return "at least one goal with a measurable objective is required"


def _live_objective_paths(plan: TreatmentPlan) -> Iterator[tuple[str, Objective]]:
    """Each live objective with its JSON path. Guards name paths, never ids or codes:
    a reason is shown to whoever fired the event, and ids can carry clinical text."""
    live = live_objectives(plan)
    for gi, goal in enumerate(plan.goals):
        for oi, objective in enumerate(goal.objectives):
            if objective in live:
                yield f"$.goals[{gi}].objectives[{oi}]", objective


def _objectives_served(plan: TreatmentPlan, _: _Request) -> str | None:
    served = {oid for i in plan.interventions for oid in i.serves}
    # The paths only when one is named (each a formatted string, and a search).
    if served.issuperset([o.id for o in live_objectives(plan)]):
        return None
    # Some live objective is unserved, so this names at least one.
    unserved = [path for path, o in _live_objective_paths(plan) if o.id not in served]
    return "objectives not served by any intervention: " + ", ".join(unserved)


def _measure_targets_have_baselines(plan: TreatmentPlan, _: _Request) -> str | None:
    # The instruments of all_assessments, without its sort (only the set is read).
    measured = {a.instrument for a in plan.assessments}
    measured.update(a.instrument for s in plan.sessions for a in s.assessments)
    # The paths only when one is named (as in _objectives_served).
    if measured.issuperset(
        [o.target.instrument for o in live_objectives(plan) if isinstance(o.target, MeasureTarget)]
    ):
        return None
    missing = [
        f"{path}.target.instrument"
        for path, o in _live_objective_paths(plan)
        if isinstance(o.target, MeasureTarget) and o.target.instrument not in measured
    ]  # at least one: some live objective's instrument has no score
    return "no baseline score for the instrument of objective targets: " + ", ".join(missing)


def _reason_given(_: TreatmentPlan, request: _Request) -> str | None:
    if request.reason is None:  # _request turns a blank reason into None
        return "a reason is required"
    return None


@attrs.frozen
class TransitionSpec:
    """One row of the transition table."""

    __repr__ = record_repr

    event: Event
    sources: frozenset[Phase]
    target: Phase
    description: str
    outcome: EpisodeOutcome | None = None
    guards: tuple[Guard, ...] = ()


_REASON: tuple[Guard, ...] = (_reason_given,)
#: Guards beyond "a reason is required" (which the table's rows declare).
_GUARDS: Mapping[Event, tuple[Guard, ...]] = {
    Event.AGREE_PLAN: (
        _has_baseline,
        _has_measurable_goal,
        _objectives_served,
        _measure_targets_have_baselines,
    ),
}


def _spec(event: Event) -> TransitionSpec:
    row = TABLE[event]
    guards = _GUARDS.get(event, ()) + (_REASON if row.needs_reason else ())
    return TransitionSpec(event, row.sources, row.target, row.description, row.outcome, guards)


#: The transition table: event -> which phases it leaves, where it goes, its guards
#: (the rows are plain data; the guards read the plan).
TRANSITIONS: Mapping[str, TransitionSpec] = MappingProxyType(
    {event.value: _spec(event) for event in TABLE}
)

# The table keyed by member, and the members' names: enum ``.value`` lookups are slow
# on the hot path.
_SPECS: Mapping[Event, TransitionSpec] = {spec.event: spec for spec in TRANSITIONS.values()}
_NAMES: Mapping[Event, str] = {event: event.value for event in Event}
#: What ``fire``'s fast path reads, per event: the name, the phases it leaves, its
#: target and outcome, and whether it needs a reason. Refer and the events with
#: guards beyond "a reason is required" are missing: they take the full path.
_USUAL: Mapping[Event, tuple[str, frozenset[Phase], Phase, EpisodeOutcome | None, bool] | None] = {
    spec.event: (
        (spec.event.value, spec.sources, spec.target, spec.outcome, _reason_given in spec.guards)
        if spec.event is not Event.REFER and all(g is _reason_given for g in spec.guards)
        else None
    )
    for spec in TRANSITIONS.values()
}
#: The end of the plan range (exclusive), in UTC.
_END = v.MAX_INSTANT


@attrs.frozen
class EventCheck:
    """Whether an event may fire now, and if not, every reason why not."""

    __repr__ = record_repr

    event: Event
    allowed: bool
    reasons: tuple[str, ...]
    target: Phase


def _failures(plan: TreatmentPlan, request: _Request, state: PlanState) -> list[str]:
    spec = _SPECS[request.event]
    last = plan.history[-1]
    phase = last.target
    if phase not in spec.sources:
        if phase is Phase.CLOSED:
            return ["a closed episode changes only through reopen"]
        allowed_from = ", ".join(sorted(p.value for p in spec.sources)) or "nowhere"
        return [f"{request.event.value} is allowed only from {allowed_from}"]
    reasons: list[str] = []
    # Aware date-times compare as instants. Every time in a plan, and request.at, has a
    # fixed UTC offset (no DST folds), so the direct comparison is exact.
    at = request.at
    if at < last.at:
        reasons.append("event time is before the last recorded transition")
    latest = state.latest_record
    if latest is not None and at < latest:
        reasons.append("event time is before the latest session, assessment or review")
    for guard in spec.guards:
        why = guard(plan, request)
        if why is not None:
            reasons.append(why)
    return reasons


#: The UTC offsets in use around the world: quarter hours from -12:00 to +14:00
#: (timezones compare by offset). A time at one of them has a whole-minute offset;
#: any other offset is checked by the shared check. Every whole minute would cost
#: some 10 ms at import for offsets no zone uses.
_USUAL_OFFSETS = frozenset(
    timezone(timedelta(minutes=m)) for m in range(-12 * 60, 14 * 60 + 1, 15)
)


def _request(event: Event | str, at: datetime, by: str, reason: str | None) -> _Request:
    """Check the arguments of an event request (see :func:`_checked`)."""
    ev, when, why = _checked(event, at, by, reason)
    return _Request(ev, when, by, why)


_REFER = Event.REFER  # enum members looked up once: class attribute access is slow


def _checked(
    event: Event | str, at: datetime, by: str, reason: str | None
) -> tuple[Event, datetime, str | None]:
    """The event, time and reason of a request, checked (a plain tuple: cheap to make).

    These are exactly the checks :class:`Transition`'s validators make on ``at``,
    ``by`` and ``reason`` (the other fields come from the table), so ``fire`` can
    build its record without running them again; tests/test_fast.py holds the
    two to agreement.
    """
    ev: Event | None = event if type(event) is Event else None
    if ev is None:
        with contextlib.suppress(ValueError, TypeError):
            ev = Event(event)
    if ev is None:  # raised outside the handler: no __context__ quoting the value
        raise ValidationError.at("event", "one of " + v.enum_choices(Event))
    if ev is _REFER:
        raise ValidationError.at("event", "an event other than refer (use TreatmentPlan.refer)")
    if type(at) is not datetime or type(at.tzinfo) is not timezone:  # fast path: fixed offset
        if not v.is_aware(at):
            raise ValidationError.at("at", "a timezone-aware date-time")
        at = v.fixed_offset(at)
    # The range and whole-minute offset, as Transition checks: the usual case is
    # answered here (a usual fixed offset, a year well inside the range, which
    # no offset of under a day can move across either end: comparing times at two
    # offsets is slow), the rest by the shared check.
    if at.tzinfo not in _USUAL_OFFSETS or not _SAFE_YEARS[0] < at.year < _SAFE_YEARS[1]:
        when = v.time_problem(at)
        if when is not None:  # pragma: no branch - the fast check passes every valid time
            raise ValidationError.at("at", when)
    if not (isinstance(by, str) and match_ref(by)):  # is_ref, inline
        raise ValidationError.at("by", "an opaque reference (who fired the event)")
    if reason is not None:
        if not isinstance(reason, str):
            raise ValidationError.at("reason", "a string or null")
        if v.is_blank(reason):
            reason = None  # a blank reason is no reason: guards that need one say so
        elif len(reason) > v.MAX_TEXT:
            raise ValidationError.at("reason", f"a string of at most {v.MAX_TEXT} characters")
        elif not reason.isascii() and not v.is_unicode(reason):
            raise ValidationError.at("reason", "valid Unicode text (no lone surrogates)")
        elif find_control(reason) is not None:  # storable text, checked inline
            raise ValidationError.at("reason", v.STORABLE_TEXT)
    return ev, at, reason


match_ref, find_control = v.match_ref, v.find_control
_MAX_TEXT = v.MAX_TEXT
#: An opaque reference (``v.match_ref``): 1 to 128 of these characters, the first in
#: ``_ALNUM``. tests/test_fire_fast.py holds the inline check to the pattern.
_ALNUM = string.ascii_letters + string.digits
_REF_CHARS = _ALNUM + "._:/#-"
_MAX_REF = 128
#: Years strictly between these lie inside the plan range at any UTC offset.
_SAFE_YEARS = (v.MIN_INSTANT.year, v.MAX_INSTANT.year - 1)


def check_event(
    plan: TreatmentPlan,
    event: Event | str,
    *,
    at: datetime,
    by: str = "system",
    reason: str | None = "unspecified",
) -> EventCheck:
    """Whether ``event`` may fire on ``plan`` at ``at``, with every failed guard."""
    check_plan(plan)
    request = _request(event, at, by, reason)
    reasons = _failures(plan, request, state_of(plan))
    target = TRANSITIONS[request.event.value].target
    return EventCheck(request.event, not reasons, tuple(reasons), target)


def allowed_events(
    plan: TreatmentPlan, *, at: datetime | None = None, reason: str | None = "unspecified"
) -> tuple[EventCheck, ...]:
    """Every event with whether it may fire now and, where not, why not.

    ``at`` defaults to the plan's latest time: its last transition or its latest
    session, assessment or review, whichever is later. ``reason`` is assumed given
    unless you pass ``None``.
    """
    check_plan(plan)
    when = latest_time(plan) if at is None else at
    return tuple(
        check_event(plan, ev, at=when, reason=reason) for ev in Event if ev is not Event.REFER
    )


def latest_time(plan: TreatmentPlan) -> datetime:
    """The plan's latest time: its last transition or latest record, whichever is later
    (an event may not be dated before it)."""
    check_plan(plan)
    latest = state_of(plan).latest_record
    last = plan.last_event_at
    if latest is None or latest <= v.instant(last):
        return last
    return latest


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
    # --- the fast path --------------------------------------------------------------
    # The usual request is answered here by cheap tests, each of which implies that
    # the full checks (_fire_checked) would pass, so the record and the plan need no
    # re-validation; a request they do not settle, valid or not, takes the full
    # path, which checks everything in order and explains every failure. So the
    # result and every error are the same either way (tests/test_fire_fast.py).
    if type(plan) is TreatmentPlan and type(event) is Event and type(at) is datetime:
        usual = _USUAL[event]  # None for refer and for events with plan guards
        zone = at.tzinfo
        # The instant of ``at`` in UTC: exact for a fixed offset. UTC itself needs no
        # conversion; another usual offset (whole minutes, so the time is storable)
        # in a year well inside the range converts without overflow.
        instant = (
            at
            if zone is UTC
            else at.astimezone(UTC)
            if type(zone) is timezone
            and zone in _USUAL_OFFSETS
            and _SAFE_YEARS[0] < at.year < _SAFE_YEARS[1]
            else None
        )
        if usual is not None and instant is not None and instant < _END:
            name, sources, target, outcome, needs_reason = usual
            history = plan.history
            last = history[-1]
            # state_of(plan), its remembered answer read inline (one call less); a plan
            # made by the constructor, copy or pickle has none yet.
            try:
                state: Any = plan._state
            except AttributeError:
                state = None
            if state is None:
                state = state_of(plan)
            latest = state.latest_record
            last_at = last.at
            last_zone = last_at.tzinfo
            if (
                last.target in sources
                # not before the last transition: times in one zone object compare
                # directly, and so do UTC instants; comparing times whose zones
                # differ makes Python ask both for their offsets, which is slow, and
                # so is converting one. Any offset is under a day, so a time two or
                # more calendar days after the last one's date is after it whatever
                # the offsets: only a closer time needs converting.
                and not (
                    at < last_at
                    if last_zone is zone
                    else instant < last_at
                    if last_zone is UTC
                    else instant.toordinal() < last_at.toordinal() + 2
                    and instant < last_at.astimezone(UTC)
                )
                # not before the latest record (so not before MIN_INSTANT either)
                and (latest is None or instant >= latest)
                # an opaque reference: the one on the last record is one already
                and type(by) is str
                and (
                    by == last.by
                    # the pattern of a reference, without a regular expression: at
                    # most 128 characters, each a letter, digit or one of ._:/#-
                    # (strip leaves nothing), the first a letter or digit
                    or (0 < len(by) <= _MAX_REF and not by.strip(_REF_CHARS) and by[0] in _ALNUM)
                )
                # no reason where none is needed, or text that is storable as it is:
                # printable (so no control character and no lone surrogate), not
                # blank, and not too long
                and (
                    (reason is None and not needs_reason)
                    or (
                        type(reason) is str
                        and 0 < len(reason) <= _MAX_TEXT
                        and reason.isprintable()
                        and not reason.isspace()
                    )
                )
            ):
                # Safe: see below _fire_checked; at, by, reason passed the tests above.
                return with_transition(
                    plan, history, state, name, last.target, target, at, by, reason, outcome
                )
    return _fire_checked(plan, event, at, by, reason)


def _fire_checked(
    plan: TreatmentPlan, event: Event | str, at: datetime, by: str, reason: str | None
) -> TreatmentPlan:
    """:func:`fire` with every check made in order: its full path, which explains
    every failure (and which tests/test_fire_fast.py holds the fast path to)."""
    check_plan(plan)
    ev, at, reason = _checked(event, at, by, reason)
    spec = _SPECS[ev]
    history = plan.history
    last = history[-1]
    state = state_of(plan)
    failures = _failures(plan, _Request(ev, at, by, reason), state)
    if failures:
        raise TransitionError(last.target.value, _NAMES[ev], failures)
    # Safe: see the note below.
    return with_transition(
        plan, history, state, _NAMES[ev], last.target, spec.target, at, by, reason, spec.outcome
    )


# Why fire's appending (_fast.with_transition, no re-validation) is safe, on either
# path: only a request that passed all the checks gets there. The record is valid
# without running Transition's validators: at, by and reason were checked exactly as
# they would be (or by tests that imply those checks), and event, source, target and
# outcome come from the table, which sets an outcome exactly on the events into
# closed. The plan needs no re-validation: the input was valid, and the record
# extends its history exactly as _history_problems requires (source is the current
# phase, time not before the last transition) and keeps every record in its phase
# (the time is not before the latest record, so no record moves into the new phase).
# The derived state does not depend on the history: the new version shares it.


# --------------------------------------------------------------------------- recording
def _require_phase(plan: TreatmentPlan, what: str) -> None:
    if plan.phase not in RECORDING_PHASES[what]:
        allowed = ", ".join(sorted(p.value for p in RECORDING_PHASES[what]))
        raise TransitionError(
            plan.phase.value,
            f"record_{what}",
            [f"{'an' if what[0] in 'aeiou' else 'a'} {what} may be recorded only in {allowed}"],
        )


def _assessment_problems(
    plan: TreatmentPlan, a: Assessment, path: str, taken: set[str]
) -> list[ValidationIssue]:
    """Problems of an assessment joining ``plan``; ``taken`` collects the ids of the
    record being added (the plan's own are in its derived state)."""
    if a.id in taken or state_of(plan).uses_id(a.id):
        return [ValidationIssue(f"{path}.id", "an id not already used in the plan")]
    taken.add(a.id)
    try:
        instrument = plan.instrument(a.instrument)
    except KeyError:
        return [
            ValidationIssue(f"{path}.instrument", "the code of a built-in or custom instrument")
        ]
    return [ValidationIssue(path + p.path[1:], p.expected) for p in a.problems_against(instrument)]


def _dated_in_phase(
    plan: TreatmentPlan, when: datetime, kind: str, path: str
) -> list[ValidationIssue]:
    why = record_time_problem(plan.history, when, kind)
    return [] if why is None else [ValidationIssue(path, why)]


def _taken_at_session(
    plan: TreatmentPlan, session: Session, a: Assessment, path: str
) -> list[ValidationIssue]:
    """A session's assessment is taken at or after the session's start, in a phase
    that allows assessments (see :func:`~treatplan._model.session_assessment_problem`)."""
    why = session_assessment_problem(plan.history, session, a)
    return [] if why is None else [ValidationIssue(path, why)]


def record_assessment(plan: TreatmentPlan, assessment: Assessment) -> TreatmentPlan:
    """Add a standalone assessment (outside a session): any open phase."""
    check_plan(plan)
    _require_phase(plan, "assessment")
    if not isinstance(assessment, Assessment):
        raise ValidationError.at("assessment", "an Assessment")
    problems = _assessment_problems(plan, assessment, "$", set())
    problems += _dated_in_phase(
        plan, assessment.administered_at, "assessment", "$.administered_at"
    )
    if problems:
        raise ValidationError(problems, "assessment cannot be recorded")
    new = replace_field(plan, "assessments", (*plan.assessments, assessment), None)
    object.__setattr__(new, "_state", with_assessment(state_of(plan), new, assessment))
    return new


def record_session(plan: TreatmentPlan, session: Session) -> TreatmentPlan:
    """Add a session, in time order, in assessing, active, ending or follow-up."""
    check_plan(plan)
    _require_phase(plan, "session")
    if not isinstance(session, Session):
        raise ValidationError.at("session", "a Session")
    state = state_of(plan)
    problems: list[ValidationIssue] = []
    if state.uses_id(session.id):
        problems.append(ValidationIssue("$.id", "an id not already used in the plan"))
    taken = {session.id}
    if plan.sessions and v.instant(session.at) < v.instant(plan.sessions[-1].at):
        problems.append(ValidationIssue("$.at", "a time not before the previous session"))
    problems += _dated_in_phase(plan, session.at, "session", "$.at")
    if session.interventions:
        known = {i.id for i in plan.interventions}
        problems += [
            ValidationIssue(f"$.interventions[{i}]", "the id of an intervention")
            for i, iid in enumerate(session.interventions)
            if iid not in known
        ]
    for i, a in enumerate(session.assessments):
        problems += _assessment_problems(plan, a, f"$.assessments[{i}]", taken)
        problems += _taken_at_session(plan, session, a, f"$.assessments[{i}].administered_at")
    if problems:
        raise ValidationError(problems, "session cannot be recorded")
    new = replace_field(plan, "sessions", (*plan.sessions, session), None)
    object.__setattr__(new, "_state", with_session(state, new, session))
    return new


def record_review(plan: TreatmentPlan, review: ProgressReview) -> TreatmentPlan:
    """Add a progress review, in time order, once the plan is agreed."""
    check_plan(plan)
    _require_phase(plan, "review")
    if not isinstance(review, ProgressReview):
        raise ValidationError.at("review", "a ProgressReview")
    state = state_of(plan)
    problems: list[ValidationIssue] = []
    if state.uses_id(review.id):
        problems.append(ValidationIssue("$.id", "an id not already used in the plan"))
    if plan.reviews and v.instant(review.at) < v.instant(plan.reviews[-1].at):
        problems.append(ValidationIssue("$.at", "a time not before the previous review"))
    problems += _dated_in_phase(plan, review.at, "review", "$.at")
    if review.progress:
        objectives = {o.id for o in plan.objectives}
        problems += [
            ValidationIssue(f"$.progress[{i}].objective", "the id of an objective")
            for i, p in enumerate(review.progress)
            if p.objective not in objectives
        ]
    if problems:
        raise ValidationError(problems, "review cannot be recorded")
    return replace_field(plan, "reviews", (*plan.reviews, review), with_review(state, review))


def revise(
    plan: TreatmentPlan,
    *,
    presenting_problems: Iterable[PresentingProblem] | None = None,
    goals: Iterable[Goal] | None = None,
    interventions: Iterable[Intervention] | None = None,
    **other: Unpack[RevisionParts],
) -> TreatmentPlan:
    """Revise the plan's content (problems, goals, interventions, criteria, factors;
    the other names it takes are those of :class:`~treatplan.RevisionParts`).

    Allowed in any open phase but follow-up; the whole result is validated.
    History, sessions, assessments and reviews cannot be revised: they are records.
    """
    check_plan(plan)
    _require_phase(plan, "revision")
    forbidden = sorted(
        set(other) & {"history", "sessions", "assessments", "reviews", "plan_id", "client_ref"}
    )
    if forbidden:
        raise ValidationError.at(
            "revise", "only plan content, not the records: " + ", ".join(forbidden)
        )
    changes: dict[str, Any] = dict(other)
    for name, given, kind in (
        ("presenting_problems", presenting_problems, "PresentingProblems"),
        ("goals", goals, "Goals"),
        ("interventions", interventions, "Interventions"),
    ):
        if given is None:
            continue
        # A single record or a string is a slip, not a list of one (or of characters).
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise ArgumentError(name, f"a list of {kind}")
        changes[name] = tuple(given)
    try:
        revised = attrs.evolve(plan, **changes)
    except TypeError:
        pass  # raised below, outside the handler: the TypeError names the unknown keyword
    else:
        return keep_state(plan, revised)  # the records are the same: so are their figures
    raise ValidationError.at("revise", "keyword arguments naming TreatmentPlan fields")


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
