"""Hypothesis strategies that generate valid treatplan values, for property-based tests.

Host applications use these to property-test their own integrations::

    from hypothesis import given
    from treatplan import strategies as tps

    @given(tps.treatment_plans())
    def test_my_export(plan):
        assert my_import(my_export(plan)) == plan

Every strategy generates values that pass treatplan's own validation: unique ids,
references that resolve, assessments that fit their instrument (PHQ-9, GAD-7 or a
generated custom instrument), timezone-aware date-times with UTC and non-UTC
fixed offsets, and times that never go backwards. Whole plans are driven through
:func:`treatplan.fire`, :func:`treatplan.record_session`,
:func:`treatplan.record_assessment` and :func:`treatplan.record_review`, so their
history is a legal, connected path through the lifecycle.

Strategies that produce free text take a ``texts`` argument (default
:func:`clinical_texts`): pass ``st.just("SECRET")`` or similar to check that your
code never leaks clinical free text into logs or errors.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_, which is a
test extra, not a run-time dependency (``pip install 'treatplan[test]'``). It is
not imported by ``import treatplan``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar

import attrs

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without the test extra
    raise ImportError(
        "treatplan.strategies needs hypothesis; install it with: pip install 'treatplan[test]'"
    ) from exc

from ._errors import ArgumentError
from ._instruments import (
    BUILTIN_INSTRUMENTS,
    Band,
    Direction,
    Instrument,
    ItemChoices,
    Norms,
    RiskItem,
    scored_response,
)
from ._json import to_dict
from ._lifecycle import (
    RECORDING_PHASES,
    TRANSITIONS,
    Event,
    TransitionSpec,
    fire,
    record_assessment,
    record_review,
    record_session,
)
from ._model import (
    AchievementStatus,
    Assessment,
    Attendance,
    Barrier,
    BarrierKind,
    BehaviourTarget,
    ClientFactors,
    CodeSystem,
    Comparator,
    CountPeriod,
    DeliveryFormat,
    Diagnosis,
    GasTarget,
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
    Readiness,
    ReviewDecision,
    Schedule,
    Session,
    SupportLevel,
    Transition,
    TreatmentPlan,
)
from ._rules import (
    AllOf,
    AnyOf,
    AuthorisationUsed,
    ClientRequest,
    ConsecutiveMissed,
    GoalsMet,
    Inactivity,
    MissedInWindow,
    MissedWithinDays,
    Plateau,
    ReliableDeterioration,
    Rule,
    RuleAction,
    SessionLimit,
    SustainedRecovery,
    TimeLimit,
)
from ._validation import BLANK

__all__ = [
    "TextStrategy",
    "all_of_rules",
    "any_of_rules",
    "assessments",
    "authorisation_used_rules",
    "aware_datetimes",
    "barriers",
    "behaviour_targets",
    "client_factors",
    "client_requests",
    "clinical_texts",
    "consecutive_missed_rules",
    "dates",
    "diagnoses",
    "gas_targets",
    "goals",
    "goals_met_rules",
    "inactivity_rules",
    "instruments",
    "interventions",
    "measure_targets",
    "missed_in_window_rules",
    "missed_within_days_rules",
    "objective_progress",
    "objectives",
    "plan_documents",
    "plateau_rules",
    "presenting_problems",
    "progress_reviews",
    "refs",
    "reliable_deterioration_rules",
    "rrules",
    "schedules",
    "session_limits",
    "sessions",
    "simple_rules",
    "sustained_recovery_rules",
    "targets",
    "termination_rules",
    "time_limits",
    "timezones",
    "transitions",
    "treatment_plans",
]

T = TypeVar("T")
E = TypeVar("E", bound=Enum)
#: A strategy for free text: what the ``texts`` argument of a strategy takes.
TextStrategy = st.SearchStrategy[str]

#: Earliest and latest instants generated: a window that keeps date arithmetic far from
#: the limits of :class:`datetime` while still spanning decades.
MIN_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2090, 12, 31, tzinfo=UTC)

# Real-world offsets (whole and half/quarter hours) plus arbitrary whole minutes.
_COMMON_OFFSETS_MINUTES = (0, 60, 120, -300, -240, -480, 330, 345, 570, -150, 780, 840, -720)


# --------------------------------------------------------------------------- building blocks
# Strategies are built once, here, and reused: building hypothesis strategies inside every
# draw costs far more than drawing from them, and whole plans make hundreds of draws.


def refs(*, max_length: int = 24) -> st.SearchStrategy[str]:
    """Opaque references (ids, client and clinician references) as treatplan accepts them.

    1 to ``max_length`` characters (at most 128) of letters, digits and ``. _ : / # -``,
    starting with a letter or digit; never spaces, so never a name.
    """
    tail = min(max(max_length, 1), 128) - 1
    return st.from_regex(rf"[A-Za-z0-9][A-Za-z0-9._:/#-]{{0,{tail}}}", fullmatch=True)


def clinical_texts(*, max_length: int = 60) -> st.SearchStrategy[str]:
    """Free text as found in goal statements, descriptions and notes.

    Non-blank unicode (letters, punctuation, emoji, tabs and line breaks; no lone
    surrogates and no other C0 control characters, which treatplan refuses) of 1 to
    ``max_length`` characters, starting with a visible character: never a space of
    any kind, nor U+FEFF, which JSON Schema's regex dialect (ECMA-262) counts as
    white space, so each text is non-blank to any JSON Schema validator too.
    """
    length = max(max_length, 1)
    return st.builds(
        lambda first, rest: (first + rest)[:length],
        st.characters(
            codec="utf-8", exclude_categories=("Zs", "Zl", "Zp", "Cc"), exclude_characters=BLANK
        ),
        st.text(st.characters(codec="utf-8", exclude_characters=_C0), max_size=length - 1),
    )


#: C0 control characters treatplan refuses in free text (all but tab, LF and CR).
_C0 = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")


def timezones() -> st.SearchStrategy[timezone]:
    """Fixed UTC offsets: UTC itself, common real offsets (+05:30, -05:00, ...), any minute
    from -12:00 to +14:00."""
    minutes = st.one_of(st.sampled_from(_COMMON_OFFSETS_MINUTES), st.integers(-12 * 60, 14 * 60))
    return st.one_of(st.just(UTC), minutes.map(lambda m: timezone(timedelta(minutes=m))))


def aware_datetimes(
    *, min_value: datetime = MIN_INSTANT, max_value: datetime = MAX_INSTANT
) -> st.SearchStrategy[datetime]:
    """Timezone-aware date-times between two aware instants, each at a drawn fixed offset
    (UTC or not); microseconds are sometimes non-zero."""
    span = max(int((max_value - min_value).total_seconds()), 0)
    return st.builds(
        _at_offset,
        st.just(min_value),
        st.integers(0, span),
        st.one_of(st.just(0), st.integers(0, 999_999)),
        _TZ,
    )


def _at_offset(base: datetime, seconds: int, micro: int, tz: timezone) -> datetime:
    return (base + timedelta(seconds=seconds, microseconds=micro)).astimezone(tz)


def dates(
    *, min_value: date = date(2000, 1, 1), max_value: date = date(2095, 12, 31)
) -> st.SearchStrategy[date]:
    """Calendar dates (objective target dates, next review dates)."""
    return st.dates(min_value=min_value, max_value=max_value)


_TZ = timezones()
_REFS = refs()
_SHORT_REFS = refs(max_length=8)
_TEXTS = clinical_texts()
_BOOL = st.booleans()
_DATES = dates()
_DATETIMES = aware_datetimes()
_WHOLE_SECOND_DATETIMES = _DATETIMES.map(lambda d: d.replace(microsecond=0))


def _pick(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of ``choices`` (shrinks towards the first)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


def _subset(draw: st.DrawFn, choices: Sequence[T], max_size: int | None = None) -> tuple[T, ...]:
    """Distinct members of ``choices`` in their order (shrinks towards none)."""
    out: list[T] = []
    for choice in dict.fromkeys(choices):
        if (max_size is None or len(out) < max_size) and draw(_BOOL):
            out.append(choice)
    return tuple(out)


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[T]) -> T | None:
    return draw(strategy) if draw(_BOOL) else None


def _enum(draw: st.DrawFn, kind: type[E]) -> E:
    return _pick(draw, list(kind))


# --------------------------------------------------------------------------- problems
_CODES = ("F32.1", "F41.1", "F43.10", "6A70", "6B00", "296.22", "300.02", "35489007")


def diagnoses() -> st.SearchStrategy[Diagnosis]:
    """A :class:`~treatplan.Diagnosis`: a realistic or arbitrary code and a code system."""
    return st.builds(
        Diagnosis,
        code=st.one_of(st.sampled_from(_CODES), refs(max_length=12)),
        system=st.sampled_from(CodeSystem),
    )


_DIAGNOSES = diagnoses()


def _draw_problem(draw: st.DrawFn, ident: str, texts: TextStrategy) -> PresentingProblem:
    return PresentingProblem(
        id=ident,
        description=draw(texts),
        behavioural_definitions=tuple(draw(texts) for _ in range(draw(st.integers(0, 3)))),
        diagnosis=_maybe(draw, _DIAGNOSES),
    )


@st.composite
def presenting_problems(
    draw: st.DrawFn, *, texts: TextStrategy | None = None
) -> PresentingProblem:
    """A :class:`~treatplan.PresentingProblem` with 0-3 behavioural definitions and
    sometimes a diagnosis."""
    return _draw_problem(draw, draw(_REFS), texts if texts is not None else _TEXTS)


# --------------------------------------------------------------------------- targets
def _builtin_pool(pool: Sequence[Instrument] | None) -> Sequence[Instrument]:
    return pool if pool else _BUILTINS


_BUILTINS: tuple[Instrument, ...] = tuple(BUILTIN_INSTRUMENTS.values())


def _draw_total(draw: st.DrawFn, instrument: Instrument) -> float:
    low, high = instrument.total_min, instrument.total_max
    if draw(_BOOL):
        return draw(st.floats(low, high, allow_nan=False, allow_infinity=False))
    return draw(st.integers(low, high))


def _draw_measure_target(draw: st.DrawFn, pool: Sequence[Instrument]) -> MeasureTarget:
    instrument = _pick(draw, pool)
    return MeasureTarget(instrument.code, _enum(draw, Comparator), _draw_total(draw, instrument))


@st.composite
def measure_targets(
    draw: st.DrawFn, *, instruments: Sequence[Instrument] | None = None
) -> MeasureTarget:
    """A :class:`~treatplan.MeasureTarget` on one of ``instruments`` (default PHQ-9, GAD-7),
    with a threshold inside the instrument's range of totals."""
    return _draw_measure_target(draw, _builtin_pool(instruments))


def gas_targets() -> st.SearchStrategy[GasTarget]:
    """A Goal Attainment Scaling :class:`~treatplan.GasTarget`: level -2..+2, a weight."""
    return st.builds(
        GasTarget,
        level=st.integers(-2, 2),
        weight=st.one_of(
            st.just(1.0),
            st.integers(1, 100),
            st.floats(0.001, 1000, allow_nan=False, allow_infinity=False),
        ),
    )


_GAS_TARGETS = gas_targets()
_COUNTS = st.one_of(st.integers(0, 50), st.floats(0, 1000, allow_nan=False, allow_infinity=False))


def _draw_behaviour_target(draw: st.DrawFn, texts: TextStrategy) -> BehaviourTarget:
    return BehaviourTarget(
        behaviour=draw(texts),
        comparator=_enum(draw, Comparator),
        count=draw(_COUNTS),
        unit=draw(texts),
        period=_enum(draw, CountPeriod),
    )


@st.composite
def behaviour_targets(draw: st.DrawFn, *, texts: TextStrategy | None = None) -> BehaviourTarget:
    """A :class:`~treatplan.BehaviourTarget`: a behaviour count per day, week or month."""
    return _draw_behaviour_target(draw, texts if texts is not None else _TEXTS)


def _draw_target(
    draw: st.DrawFn, pool: Sequence[Instrument], texts: TextStrategy
) -> ObjectiveTarget:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return _draw_measure_target(draw, pool)
    if kind == 1:
        return draw(_GAS_TARGETS)
    return _draw_behaviour_target(draw, texts)


@st.composite
def targets(
    draw: st.DrawFn,
    *,
    instruments: Sequence[Instrument] | None = None,
    texts: TextStrategy | None = None,
) -> ObjectiveTarget:
    """Any objective target: measure (on ``instruments``), GAS level or behaviour count."""
    return _draw_target(draw, _builtin_pool(instruments), texts if texts is not None else _TEXTS)


# --------------------------------------------------------------------------- goals
def _draw_objective(
    draw: st.DrawFn, ident: str, pool: Sequence[Instrument], texts: TextStrategy
) -> Objective:
    return Objective(
        id=ident,
        description=draw(texts),
        target=_draw_target(draw, pool, texts),
        target_date=draw(_DATES),
        status=_enum(draw, ObjectiveStatus),
        achievement=_enum(draw, AchievementStatus) if draw(_BOOL) else None,
    )


@st.composite
def objectives(
    draw: st.DrawFn,
    *,
    instruments: Sequence[Instrument] | None = None,
    texts: TextStrategy | None = None,
) -> Objective:
    """A SMART :class:`~treatplan.Objective` with any target, date, status and achievement."""
    return _draw_objective(
        draw, draw(_REFS), _builtin_pool(instruments), texts if texts is not None else _TEXTS
    )


def _draw_goal(
    draw: st.DrawFn,
    ident: str,
    objective_ids: Sequence[str],
    pool: Sequence[Instrument],
    problem_ids: Sequence[str],
    texts: TextStrategy,
) -> Goal:
    return Goal(
        id=ident,
        statement=draw(texts),
        domain=_enum(draw, GoalDomain),
        objectives=tuple(_draw_objective(draw, oid, pool, texts) for oid in objective_ids),
        addresses=_subset(draw, problem_ids),
    )


@st.composite
def goals(
    draw: st.DrawFn,
    *,
    instruments: Sequence[Instrument] | None = None,
    problem_ids: Sequence[str] = (),
    texts: TextStrategy | None = None,
) -> Goal:
    """A :class:`~treatplan.Goal` with 0-3 objectives (ids distinct from each other and
    from the goal's) that addresses a subset of ``problem_ids``."""
    ident = draw(_REFS)
    count = draw(st.integers(0, 3))
    return _draw_goal(
        draw,
        ident,
        [f"{ident}.o{n}" for n in range(count)],
        _builtin_pool(instruments),
        problem_ids,
        texts if texts is not None else _TEXTS,
    )


# --------------------------------------------------------------------------- schedules
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _draw_rrule(draw: st.DrawFn, start: datetime | None) -> str:
    freq = _pick(draw, ("WEEKLY", "DAILY", "MONTHLY"))
    extras: list[str] = []
    if draw(_BOOL):
        extras.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq == "WEEKLY" and draw(_BOOL):
        extras.append("BYDAY=" + ",".join(_subset(draw, _WEEKDAYS) or ("MO",)))
    if freq == "MONTHLY" and draw(_BOOL):
        extras.append(f"BYMONTHDAY={draw(st.integers(1, 28))}")
    ending = _pick(draw, ("count", "none", "until") if start is not None else ("count", "none"))
    if ending == "count":
        extras.append(f"COUNT={draw(st.integers(1, 52))}")
    elif ending == "until" and start is not None:
        # dateutil requires UNTIL in UTC when the start is timezone-aware (RFC 5545 3.3.10).
        until = start.astimezone(UTC) + timedelta(days=draw(st.integers(0, 400)))
        extras.append("UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ"))
    # RFC 5545 allows the parts in any order; documents must keep the author's order.
    return ";".join([f"FREQ={freq}", *draw(st.permutations(extras))])


@st.composite
def rrules(draw: st.DrawFn, *, start: datetime | None = None) -> str:
    """An RFC 5545 RRULE value (``FREQ=WEEKLY;COUNT=12`` and the like).

    Daily, weekly or monthly, sometimes with an interval, weekdays or a month day, ended
    by a COUNT, by an UNTIL in UTC on or after ``start`` (only when a start is given), or
    not at all (an open-ended rule).
    """
    return _draw_rrule(draw, start)


#: IANA zones schedules are drawn in (None: keep the start's offset), both hemispheres.
_SCHEDULE_ZONES = (None, "Europe/London", "America/New_York", "Australia/Sydney", "UTC")


def _draw_schedule(draw: st.DrawFn) -> Schedule:
    start = draw(_WHOLE_SECOND_DATETIMES)
    zone = _pick(draw, _SCHEDULE_ZONES)
    return Schedule(start=start, rrule=_draw_rrule(draw, start), timezone=zone)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """A :class:`~treatplan.Schedule`: an aware start (whole seconds, any fixed offset), an
    RRULE from :func:`rrules`, and sometimes an IANA time zone for the recurrence."""
    return _draw_schedule(draw)


def _draw_intervention(
    draw: st.DrawFn, ident: str, serves: Sequence[str], texts: TextStrategy
) -> Intervention:
    return Intervention(
        id=ident,
        modality=_enum(draw, Modality),
        technique=draw(texts),
        format=_enum(draw, DeliveryFormat),
        serves=tuple(serves),
        schedule=_draw_schedule(draw) if draw(_BOOL) else None,
        delivered_by=_maybe(draw, _REFS),
    )


@st.composite
def interventions(
    draw: st.DrawFn, *, objective_ids: Sequence[str] = (), texts: TextStrategy | None = None
) -> Intervention:
    """An :class:`~treatplan.Intervention` serving a subset of ``objective_ids``,
    sometimes scheduled (:func:`schedules`) and attributed to a clinician reference."""
    return _draw_intervention(
        draw, draw(_REFS), _subset(draw, objective_ids), texts if texts is not None else _TEXTS
    )


# --------------------------------------------------------------------------- instruments
_LOINC = ("44261-6", "70274-6", "101698-9")
_MEANS = st.floats(-50, 100, allow_nan=False, allow_infinity=False)
_SDS = st.floats(0.1, 30, allow_nan=False, allow_infinity=False)
_NORMS = st.builds(
    Norms,
    clinical_mean=_MEANS,
    clinical_sd=_SDS,
    functional_mean=_MEANS,
    functional_sd=_SDS,
    reliability=st.floats(0.01, 0.99, allow_nan=False, allow_infinity=False),
    source=st.none() | clinical_texts(max_length=40),
)


def _draw_instrument(draw: st.DrawFn, code: str) -> Instrument:
    item_count = draw(st.integers(1, 12))
    item_min = draw(st.integers(-3, 3))
    item_max = item_min + draw(st.integers(0, 6))
    numbers = range(1, item_count + 1)
    span = range(item_min, item_max + 1)
    item_choices = tuple(
        ItemChoices(item=n, values=_subset(draw, span) or (item_min,))
        for n in _subset(draw, numbers, max_size=2)
    )
    draft = Instrument(
        code=code,
        name="custom",
        item_count=item_count,
        item_min=item_min,
        item_max=item_max,
        item_choices=item_choices,
    )
    low, high = draft.total_min, draft.total_max
    cuts = sorted(draw(st.integers(low, high)) for _ in range(draw(st.integers(0, 3))))
    bands = tuple(
        Band(label=f"band {n}", low=a, high=b)
        for n, (a, b) in enumerate(itertools.pairwise([low, *cuts, high]))
    )
    return attrs.evolve(
        draft,
        name=draw(clinical_texts(max_length=40)),
        direction=_enum(draw, Direction),
        bands=bands if draw(_BOOL) else (),
        caseness_cutoff=draw(st.integers(low, high)) if draw(_BOOL) else None,
        reliable_change=draw(st.floats(0.5, 100, allow_nan=False, allow_infinity=False))
        if draw(_BOOL)
        else None,
        reverse_items=_subset(draw, numbers, max_size=3),
        risk_items=tuple(
            RiskItem(item=n, threshold=draw(st.integers(item_min, item_max)), flag=draw(_REFS))
            for n in _subset(draw, numbers, max_size=2)
        ),
        max_missing=draw(st.integers(0, item_count - 1)),
        loinc=_pick(draw, _LOINC) if draw(_BOOL) else None,
        source=_maybe(draw, _TEXTS),
        norms=draw(_NORMS) if draw(_BOOL) else None,
    )


@st.composite
def instruments(draw: st.DrawFn, *, code: str | None = None) -> Instrument:
    """A custom :class:`~treatplan.Instrument`, as a service would define its own measure.

    1-12 items on a small integer range, sometimes with items with their own choices,
    reverse-scored items, risk items, contiguous severity bands, a caseness cut-off, a
    reliable change, population norms and up to ``item_count - 1`` missing items allowed.
    ``code`` defaults to a drawn reference.
    """
    return _draw_instrument(draw, code if code is not None else draw(refs(max_length=16)))


# --------------------------------------------------------------------------- measures
def _draw_assessment(
    draw: st.DrawFn, ident: str, pool: Sequence[Instrument], at: datetime
) -> Assessment:
    instrument = _pick(draw, pool)
    shape = _pick(draw, ("items", "total", "both"))
    items: tuple[int | None, ...] | None = None
    total: float | None = None
    if shape == "total":
        total = _draw_total(draw, instrument)
    else:
        answers: list[int | None] = [
            _pick(draw, instrument.allowed(n)) for n in range(1, instrument.item_count + 1)
        ]
        if shape == "items" and instrument.max_missing:
            missing = _subset(draw, range(instrument.item_count), instrument.max_missing)
            for index in missing:
                answers[index] = None
        else:  # complete: the total scoring gives them (reverse-scored items reflected)
            total = sum(
                scored_response(instrument, n, a)
                for n, a in enumerate(answers, 1)
                if a is not None
            )
        items = tuple(answers)
    return Assessment(
        id=ident, instrument=instrument.code, administered_at=at, items=items, total=total
    )


@st.composite
def assessments(
    draw: st.DrawFn,
    *,
    instruments: Sequence[Instrument] | None = None,
    at: st.SearchStrategy[datetime] | None = None,
) -> Assessment:
    """An :class:`~treatplan.Assessment` valid against one of ``instruments`` (default
    PHQ-9 and GAD-7): item responses in range with at most ``max_missing`` nulls, or a
    total within the instrument's range, or both (the total then the total of the
    items, reverse-scored items reflected).
    ``at`` defaults to :func:`aware_datetimes`."""
    when = draw(at if at is not None else _DATETIMES)
    return _draw_assessment(draw, draw(_REFS), _builtin_pool(instruments), when)


# --------------------------------------------------------------------------- sessions
def _draw_session(
    draw: st.DrawFn,
    ident: str,
    at: datetime,
    intervention_ids: Sequence[str] | None,
    pool: Sequence[Instrument],
    texts: TextStrategy,
) -> Session:
    attendance = _enum(draw, Attendance)
    delivered: tuple[str, ...] = ()
    taken: tuple[Assessment, ...] = ()
    if attendance is Attendance.ATTENDED:
        if intervention_ids is None:
            delivered = tuple(dict.fromkeys(draw(_REFS) for _ in range(draw(st.integers(0, 2)))))
        else:
            delivered = _subset(draw, intervention_ids)
        taken = tuple(
            _draw_assessment(draw, f"{ident}.a{n}", pool, at)
            for n in range(draw(st.integers(0, 2)))
        )
    return Session(
        id=ident,
        at=at,
        attendance=attendance,
        interventions=delivered,
        assessments=taken,
        duration_minutes=draw(st.integers(1, 24 * 60)) if draw(_BOOL) else None,
        note=_maybe(draw, texts),
    )


@st.composite
def sessions(
    draw: st.DrawFn,
    *,
    at: st.SearchStrategy[datetime] | None = None,
    intervention_ids: Sequence[str] | None = None,
    instruments: Sequence[Instrument] | None = None,
    texts: TextStrategy | None = None,
) -> Session:
    """A :class:`~treatplan.Session` with any attendance.

    Attended sessions deliver a subset of ``intervention_ids`` (default: drawn refs) and
    take 0-2 assessments (on ``instruments``, default PHQ-9 and GAD-7) at the session's
    time; other sessions carry neither. The session's and its assessments' ids differ.
    """
    when = draw(at if at is not None else _DATETIMES)
    return _draw_session(
        draw,
        draw(_REFS),
        when,
        intervention_ids,
        _builtin_pool(instruments),
        texts if texts is not None else _TEXTS,
    )


# --------------------------------------------------------------------------- reviews
def _draw_progress(draw: st.DrawFn, objective: str, texts: TextStrategy) -> ObjectiveProgress:
    return ObjectiveProgress(
        objective=objective,
        achievement=_enum(draw, AchievementStatus),
        gas_level=draw(st.integers(-2, 2)) if draw(_BOOL) else None,
        note=_maybe(draw, texts),
    )


@st.composite
def objective_progress(
    draw: st.DrawFn, *, objective_ids: Sequence[str] = (), texts: TextStrategy | None = None
) -> ObjectiveProgress:
    """An :class:`~treatplan.ObjectiveProgress` on one of ``objective_ids`` (default a drawn
    ref): an achievement status, maybe a GAS level (-2..+2) and a note."""
    objective = _pick(draw, objective_ids) if objective_ids else draw(_REFS)
    return _draw_progress(draw, objective, texts if texts is not None else _TEXTS)


def _draw_review(
    draw: st.DrawFn,
    ident: str,
    at: datetime,
    objective_ids: Sequence[str] | None,
    texts: TextStrategy,
) -> ProgressReview:
    if objective_ids is None:
        chosen: Sequence[str] = tuple(
            dict.fromkeys(draw(_REFS) for _ in range(draw(st.integers(0, 3))))
        )
    else:
        chosen = _subset(draw, objective_ids)
    return ProgressReview(
        id=ident,
        at=at,
        decision=_enum(draw, ReviewDecision),
        progress=tuple(_draw_progress(draw, oid, texts) for oid in chosen),
        next_review=at.date() + timedelta(days=draw(st.integers(0, 180))) if draw(_BOOL) else None,
        by=_maybe(draw, _REFS),
        client_requested_ending=draw(_BOOL),
        note=_maybe(draw, texts),
    )


@st.composite
def progress_reviews(
    draw: st.DrawFn,
    *,
    at: st.SearchStrategy[datetime] | None = None,
    objective_ids: Sequence[str] | None = None,
    texts: TextStrategy | None = None,
) -> ProgressReview:
    """A :class:`~treatplan.ProgressReview`: at most one progress record per objective
    (a subset of ``objective_ids``, default drawn refs), a decision, and maybe a next
    review date on or after the review's own local date."""
    when = draw(at if at is not None else _DATETIMES)
    return _draw_review(
        draw, draw(_REFS), when, objective_ids, texts if texts is not None else _TEXTS
    )


# --------------------------------------------------------------------------- client factors
def _draw_client_factors(draw: st.DrawFn, texts: TextStrategy) -> ClientFactors:
    return ClientFactors(
        readiness=_enum(draw, Readiness) if draw(_BOOL) else None,
        support=_enum(draw, SupportLevel) if draw(_BOOL) else None,
        barriers=tuple(
            Barrier(kind=_enum(draw, BarrierKind), mitigation=_maybe(draw, texts))
            for _ in range(draw(st.integers(0, 3)))
        ),
    )


@st.composite
def barriers(draw: st.DrawFn, *, texts: TextStrategy | None = None) -> Barrier:
    """A practical :class:`~treatplan.Barrier` and, sometimes, what the plan does about it."""
    return Barrier(
        kind=_enum(draw, BarrierKind),
        mitigation=_maybe(draw, texts if texts is not None else _TEXTS),
    )


@st.composite
def client_factors(draw: st.DrawFn, *, texts: TextStrategy | None = None) -> ClientFactors:
    """:class:`~treatplan.ClientFactors`: maybe readiness and support, 0-3 barriers."""
    return _draw_client_factors(draw, texts if texts is not None else _TEXTS)


# --------------------------------------------------------------------------- rules
@st.composite
def goals_met_rules(draw: st.DrawFn, *, objective_ids: Sequence[str] | None = None) -> GoalsMet:
    """:class:`~treatplan.rules.GoalsMet`: every live objective, or a subset of ``objective_ids``
    (default: up to three drawn refs)."""
    if objective_ids is None:
        chosen = tuple(dict.fromkeys(draw(_REFS) for _ in range(draw(st.integers(0, 3)))))
    else:
        chosen = _subset(draw, objective_ids)
    return GoalsMet(objectives=chosen)


def session_limits() -> st.SearchStrategy[SessionLimit]:
    """:class:`~treatplan.rules.SessionLimit`: 1-40 sessions, attended or offered."""
    return st.builds(SessionLimit, max_sessions=st.integers(1, 40), count_missed=_BOOL)


def consecutive_missed_rules() -> st.SearchStrategy[ConsecutiveMissed]:
    """:class:`~treatplan.rules.ConsecutiveMissed`: 1-5 consecutive missed sessions."""
    return st.builds(
        ConsecutiveMissed, count=st.integers(1, 5), include_client_cancellations=_BOOL
    )


@st.composite
def missed_in_window_rules(draw: st.DrawFn) -> MissedInWindow:
    """:class:`~treatplan.rules.MissedInWindow`: more than M missed of the last K (M < K <= 20)."""
    window = draw(st.integers(1, 20))
    return MissedInWindow(
        max_missed=draw(st.integers(0, window - 1)),
        window=window,
        include_client_cancellations=draw(_BOOL),
    )


def missed_within_days_rules() -> st.SearchStrategy[MissedWithinDays]:
    """:class:`~treatplan.rules.MissedWithinDays`: 1-10 missed within 1-365 days."""
    return st.builds(
        MissedWithinDays,
        count=st.integers(1, 10),
        days=st.integers(1, 365),
        include_client_cancellations=_BOOL,
    )


def inactivity_rules() -> st.SearchStrategy[Inactivity]:
    """:class:`~treatplan.rules.Inactivity`: no attended contact for 1-365 days."""
    return st.builds(Inactivity, days=st.integers(1, 365))


def time_limits() -> st.SearchStrategy[TimeLimit]:
    """:class:`~treatplan.rules.TimeLimit`: 1-3650 days from agreement or from referral."""
    return st.builds(TimeLimit, days=st.integers(1, 3650), from_referral=_BOOL)


def client_requests() -> st.SearchStrategy[ClientRequest]:
    """:class:`~treatplan.rules.ClientRequest` (it has no parameters)."""
    return st.just(ClientRequest())


@st.composite
def _instrument_codes(draw: st.DrawFn) -> tuple[str, ...]:
    return _subset(draw, tuple(BUILTIN_INSTRUMENTS), max_size=3) or ("PHQ-9",)


_CODES_LISTS = _instrument_codes()


def sustained_recovery_rules() -> st.SearchStrategy[SustainedRecovery]:
    """:class:`~treatplan.rules.SustainedRecovery`: 1-4 consecutive recovered measurements on
    1-3 built-in measures."""
    return st.builds(SustainedRecovery, consecutive=st.integers(1, 4), instruments=_CODES_LISTS)


def plateau_rules() -> st.SearchStrategy[Plateau]:
    """:class:`~treatplan.rules.Plateau`: no reliable change over the last 2-8 scores on 1-3
    built-in measures, with any action."""
    return st.builds(
        Plateau,
        window=st.integers(2, 8),
        instruments=_CODES_LISTS,
        action=st.sampled_from(RuleAction),
    )


def reliable_deterioration_rules() -> st.SearchStrategy[ReliableDeterioration]:
    """:class:`~treatplan.rules.ReliableDeterioration` on 1-3 built-in measures."""
    return st.builds(ReliableDeterioration, instruments=_CODES_LISTS)


def authorisation_used_rules() -> st.SearchStrategy[AuthorisationUsed]:
    """:class:`~treatplan.rules.AuthorisationUsed`: 1-40 authorised sessions with 0-3 increasing
    warning fractions strictly between 0 and 1."""
    fractions = st.lists(
        st.floats(0, 1, exclude_min=True, exclude_max=True), max_size=3, unique=True
    ).map(lambda xs: tuple(sorted(xs)))
    return st.builds(
        AuthorisationUsed,
        authorised_sessions=st.integers(1, 40),
        warn_at=fractions,
        count_missed=_BOOL,
    )


_SIMPLE_RULES_BUT_GOALS: tuple[st.SearchStrategy[Rule], ...] = (
    session_limits(),
    consecutive_missed_rules(),
    missed_in_window_rules(),
    missed_within_days_rules(),
    inactivity_rules(),
    time_limits(),
    client_requests(),
    sustained_recovery_rules(),
    plateau_rules(),
    reliable_deterioration_rules(),
    authorisation_used_rules(),
)


def _draw_rule(draw: st.DrawFn, objective_ids: Sequence[str] | None, depth: int) -> Rule:
    kinds = len(_SIMPLE_RULES_BUT_GOALS) + 1
    kind = draw(st.integers(0, kinds + (1 if depth > 0 else -1)))
    if kind < len(_SIMPLE_RULES_BUT_GOALS):
        return draw(_SIMPLE_RULES_BUT_GOALS[kind])
    if kind == kinds - 1:
        return draw(goals_met_rules(objective_ids=objective_ids))
    children = tuple(
        _draw_rule(draw, objective_ids, depth - 1) for _ in range(draw(st.integers(1, 3)))
    )
    return AnyOf(children) if kind == kinds else AllOf(children)


@st.composite
def simple_rules(draw: st.DrawFn, *, objective_ids: Sequence[str] | None = None) -> Rule:
    """Any non-composite termination rule (``GoalsMet`` on ``objective_ids``, see
    :func:`goals_met_rules`)."""
    return _draw_rule(draw, objective_ids, 0)


@st.composite
def any_of_rules(draw: st.DrawFn, *, objective_ids: Sequence[str] | None = None) -> AnyOf:
    """:class:`~treatplan.rules.AnyOf` over 1-3 termination rules, themselves possibly nested."""
    return AnyOf(tuple(_draw_rule(draw, objective_ids, 1) for _ in range(draw(st.integers(1, 3)))))


@st.composite
def all_of_rules(draw: st.DrawFn, *, objective_ids: Sequence[str] | None = None) -> AllOf:
    """:class:`~treatplan.rules.AllOf` over 1-3 termination rules, themselves possibly nested."""
    return AllOf(tuple(_draw_rule(draw, objective_ids, 1) for _ in range(draw(st.integers(1, 3)))))


@st.composite
def termination_rules(
    draw: st.DrawFn, *, objective_ids: Sequence[str] | None = None, max_depth: int = 2
) -> Rule:
    """Any termination rule, including ``AnyOf``/``AllOf`` nested up to ``max_depth``
    levels; ``GoalsMet`` rules name a subset of ``objective_ids`` (default drawn refs)."""
    return _draw_rule(draw, objective_ids, max_depth)


# --------------------------------------------------------------------------- history
_SPECS: tuple[TransitionSpec, ...] = tuple(TRANSITIONS.values())
_EVENTS: tuple[TransitionSpec, ...] = tuple(s for s in _SPECS if s.event is not Event.REFER)
_PHASE_ORDER = list(Phase)


@st.composite
def transitions(draw: st.DrawFn, *, texts: TextStrategy | None = None) -> Transition:
    """One history record that is a row of the transition table (any event, including the
    opening ``refer`` from no phase), with the outcome that event sets."""
    spec = _pick(draw, _SPECS)
    sources = sorted(spec.sources, key=_PHASE_ORDER.index)
    return Transition(
        event=spec.event.value,
        source=_pick(draw, sources) if sources else None,
        target=spec.target,
        at=draw(_DATETIMES),
        by=draw(_REFS),
        reason=_maybe(draw, texts if texts is not None else _TEXTS),
        outcome=spec.outcome,
    )


# --------------------------------------------------------------------------- whole plans
def _distances_to(goal: Phase) -> dict[Phase, int]:
    """Fewest events from each phase to ``goal`` (phases that cannot reach it are absent)."""
    into: dict[Phase, list[Phase]] = {p: [] for p in Phase}
    for spec in _EVENTS:
        for source in spec.sources:
            into[spec.target].append(source)
    distance = {goal: 0}
    frontier = [goal]
    while frontier:
        following: list[Phase] = []
        for phase in frontier:
            for source in into[phase]:
                if source not in distance:
                    distance[source] = distance[phase] + 1
                    following.append(source)
        frontier = following
    return distance


_DISTANCES: dict[Phase, dict[Phase, int]] = {p: _distances_to(p) for p in Phase}
_STEPS = st.one_of(
    st.just(timedelta(0)),
    st.integers(1, 3 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 60).map(lambda d: timedelta(days=d)),
)
_LATEST_START = datetime(2080, 1, 1, tzinfo=UTC)
_STARTS = aware_datetimes(max_value=_LATEST_START).map(lambda d: d.replace(microsecond=0))


class _PlanBuilder:
    """The state of one plan being generated: ids, a monotone clock, the instruments."""

    def __init__(self, draw: st.DrawFn, texts: TextStrategy) -> None:
        self.draw = draw
        self.texts = texts
        self.prefix = draw(_SHORT_REFS)
        self.counter = itertools.count()
        self.now = draw(_STARTS)
        self.pool: tuple[Instrument, ...] = _BUILTINS
        self.objective_ids: tuple[str, ...] = ()
        self.intervention_ids: tuple[str, ...] = ()

    def new_id(self, kind: str) -> str:
        return f"{self.prefix}-{kind}{next(self.counter)}"

    def tick(self) -> datetime:
        """The next time: never before the previous one, at a drawn fixed offset."""
        self.now += self.draw(_STEPS)
        return self.now.astimezone(self.draw(_TZ))

    def content(self) -> dict[str, Any]:
        draw, texts = self.draw, self.texts
        custom = tuple(
            _draw_instrument(draw, self.new_id("instrument"))
            for _ in range(draw(st.integers(0, 2)))
        )
        self.pool = (*_BUILTINS, *custom)
        problems = tuple(
            _draw_problem(draw, self.new_id("problem"), texts)
            for _ in range(draw(st.integers(0, 2)))
        )
        problem_ids = [p.id for p in problems]
        plan_goals = []
        for _ in range(draw(st.integers(1, 3))):
            ident = self.new_id("goal")
            objective_ids = [self.new_id("objective") for _ in range(draw(st.integers(1, 3)))]
            plan_goals.append(
                _draw_goal(draw, ident, objective_ids, self.pool, problem_ids, texts)
            )
        self.objective_ids = tuple(o.id for g in plan_goals for o in g.objectives)
        # Between them the interventions serve every objective: agree_plan requires it.
        self.intervention_ids = tuple(
            self.new_id("intervention") for _ in range(draw(st.integers(1, 3)))
        )
        owner = {oid: _pick(draw, self.intervention_ids) for oid in self.objective_ids}
        plan_interventions = tuple(
            _draw_intervention(
                draw,
                iid,
                [oid for oid in self.objective_ids if owner[oid] == iid or draw(_BOOL)],
                texts,
            )
            for iid in self.intervention_ids
        )
        return {
            "presenting_problems": problems,
            "goals": tuple(plan_goals),
            "interventions": plan_interventions,
            "discharge_criteria": _draw_rule(draw, self.objective_ids, 2) if draw(_BOOL) else None,
            "client_factors": _draw_client_factors(draw, texts),
            "custom_instruments": custom,
        }

    def record_something(self, plan: TreatmentPlan) -> TreatmentPlan:
        kinds = [k for k in ("assessment", "session", "review") if plan.phase in _RECORDING[k]]
        if not kinds:
            return plan
        kind = _pick(self.draw, kinds)
        if kind == "assessment":
            return self.assessment(plan, self.pool)
        if kind == "session":
            session = _draw_session(
                self.draw,
                self.new_id("session"),
                self.tick(),
                self.intervention_ids,
                self.pool,
                self.texts,
            )
            return record_session(plan, session)
        review = _draw_review(
            self.draw, self.new_id("review"), self.tick(), self.objective_ids, self.texts
        )
        return record_review(plan, review)

    def assessment(self, plan: TreatmentPlan, pool: Sequence[Instrument]) -> TreatmentPlan:
        taken = _draw_assessment(self.draw, self.new_id("assessment"), pool, self.tick())
        return record_assessment(plan, taken)

    def baselines(self, plan: TreatmentPlan) -> TreatmentPlan:
        """Record what agree_plan needs: a baseline on every instrument objectives target."""
        needed = {
            o.target.instrument for o in plan.objectives if isinstance(o.target, MeasureTarget)
        }
        needed -= {a.instrument for a in plan.all_assessments()}
        for code in sorted(needed):
            plan = self.assessment(plan, [plan.instrument(code)])
        if not plan.all_assessments():
            plan = self.assessment(plan, self.pool)
        return plan


_RECORDING = RECORDING_PHASES


@st.composite
def treatment_plans(
    draw: st.DrawFn,
    *,
    phases: Iterable[Phase] | None = None,
    max_events: int = 6,
    max_records: int = 10,
    texts: TextStrategy | None = None,
) -> TreatmentPlan:
    """A valid :class:`~treatplan.TreatmentPlan` in one of ``phases`` (default: any phase).

    The plan is referred, then driven through :func:`treatplan.fire` with assessments,
    sessions and reviews recorded (:func:`treatplan.record_assessment` and friends)
    where the lifecycle allows them, so its history is a legal connected path and its
    times never go backwards (they do sometimes stand still, and their offsets vary).
    Up to ``max_events`` freely chosen lifecycle events are taken, plus those needed to
    reach the drawn phase, and up to ``max_records`` records (plus the baseline
    assessments ``agree_plan`` needs).

    Content: 0-2 presenting problems, 1-3 goals of 1-3 objectives, 1-3 interventions
    that together serve every objective, 0-2 custom instruments, maybe discharge
    criteria (nested rules), client factors. Ids are unique across the plan and every
    reference resolves. Free text comes from ``texts`` (default :func:`clinical_texts`).
    """
    wanted = sorted(set(phases) if phases is not None else Phase, key=_PHASE_ORDER.index)
    if not wanted:
        raise ArgumentError("phases", "at least one phase")
    distance = _DISTANCES[_pick(draw, wanted)]
    builder = _PlanBuilder(draw, texts if texts is not None else _TEXTS)
    plan = TreatmentPlan.refer(
        plan_id=draw(_REFS),
        client_ref=draw(_REFS),
        at=builder.tick(),
        by=draw(_REFS),
        reason=_maybe(draw, builder.texts),
        **builder.content(),
    )
    free_events = draw(st.integers(0, max(max_events, 0)))
    records_left = max(max_records, 0)
    while True:
        # Phases with sessions get more records: that is where treatment happens.
        burst = 4 if plan.phase in _RECORDING["session"] else 1
        for _ in range(min(draw(st.integers(0, burst)), records_left)):
            plan = builder.record_something(plan)
            records_left -= 1
        here = distance[plan.phase]
        # Free events may wander anywhere the goal stays reachable from; then steer home.
        choices = [
            spec
            for spec in _EVENTS
            if plan.phase in spec.sources
            and spec.target in distance
            and (free_events > 0 or distance[spec.target] < here)
        ]
        if not choices:
            break
        free_events -= 1
        spec = _pick(draw, choices)
        if spec.event is Event.AGREE_PLAN:
            plan = builder.baselines(plan)
        plan = fire(
            plan,
            spec.event,
            at=builder.tick(),
            by=draw(_REFS),
            reason=draw(builder.texts) if spec.guards else _maybe(draw, builder.texts),
        )
    return plan


@st.composite
def plan_documents(
    draw: st.DrawFn, *, phases: Iterable[Phase] | None = None, texts: TextStrategy | None = None
) -> Any:
    """Valid plan documents: :func:`treatment_plans` as JSON-ready data (``to_dict``),
    ready to mutate when testing how a host handles bad input."""
    return to_dict(draw(treatment_plans(phases=phases, texts=texts)))
