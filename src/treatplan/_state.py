"""Derived plan state: the figures every reader of a plan shares, computed once per version.

A plan is an immutable value, and most new versions differ from their parent by
one appended record (a session, an assessment, a review, a transition). A
:class:`PlanState` holds what reviews, alerts, ending rules, the simulator and
FHIR ask of a plan again and again: the ids in use, the latest record time, the
scored measure series by instrument, attendance counts and the sessions counted
against an authorisation, the latest progress recorded per objective. It is
built lazily for a version (:func:`state_of`) and, for a version made by
appending one record, extended from its parent's state instead of rebuilt
(``with_session`` and its siblings), so asking does not cost more as
the plan grows.

How the extension stays cheap and exact: the growing parts live in append-only
logs (lists) that a chain of versions shares, and each state remembers how many
entries of each log are its own. A state reads only its own prefix, so a parent
is never changed by its children. The first child to extend a parent appends to
the shared logs in place; a second child of the same parent (a branch: rare)
copies the parent's prefix first. The state is never serialised, never part of
equality, hashing or ``repr``: it is a cache of facts derivable from the plan.
Extension and the from-scratch build are tested against each other on
generated plans (tests/test_state.py).

Objective achievement (:func:`objective_achievement`) is defined here, once:
review findings, the ``GoalsMet`` rule, the summary and the FHIR export all
read it.
"""

from __future__ import annotations

import bisect
import enum
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import cast

import attrs

from . import _scoring
from . import _validation as v
from ._change import ClinicalChange, change_between
from ._errors import ArgumentError, UnknownReferenceError, ValidationError
from ._fast import frozen_maker, plan_with
from ._instruments import BUILTIN_INSTRUMENTS, Instrument
from ._memo import IdentityCache
from ._model import (
    AchievementStatus,
    Assessment,
    Attendance,
    BehaviourTarget,
    Comparator,
    GasTarget,
    MeasureTarget,
    Objective,
    ObjectiveProgress,
    ObjectiveStatus,
    ProgressReview,
    Session,
    TreatmentPlan,
    check_plan,
)
from ._records import SlottedRecord, record_repr
from ._scoring import ScoredPoint, new_scored_point, plan_score

__all__ = [
    "Achievement",
    "AchievementSource",
    "PlanState",
    "Series",
    "achievement_of",
    "as_of_view",
    "live_objectives",
    "objective_achievement",
    "plan_series",
    "state_of",
]

#: The built-in definitions by code, as a plain dict (a read-only proxy's ``get`` costs
#: a method call more, and every session's scores look theirs up).
_BUILTINS: dict[str, Instrument] = dict(BUILTIN_INSTRUMENTS)

#: Before any record.
EPOCH = datetime.min.replace(tzinfo=UTC)
_DEAD = frozenset(
    {ObjectiveStatus.CANCELLED, ObjectiveStatus.ENTERED_IN_ERROR, ObjectiveStatus.REJECTED}
)


def live_objectives(plan: TreatmentPlan) -> tuple[Objective, ...]:
    """The objectives not cancelled, rejected or entered in error, in plan order."""
    goals = plan.goals
    found = _LIVE.get_one(goals)
    if found is None:
        found = _LIVE.put(
            tuple(o for g in goals for o in g.objectives if o.status not in _DEAD), goals
        )
    return found


#: :func:`live_objectives` per goals tuple object, the only part of a plan it reads (goals
#: are immutable, and a plan's versions share theirs until its goals are revised): every
#: review, alert check and ``GoalsMet`` rule asks, several times.
_LIVE: IdentityCache[tuple[Objective, ...]] = IdentityCache(256)


# --------------------------------------------------------------------------- logs
class Series:
    """One instrument's scored points in a plan version, in time order.

    A read-only view of the first ``len(self)`` points of a shared log: indexing,
    iteration and :meth:`scored` never copy the whole series.
    """

    __slots__ = ("_log", "n", "n_risky", "n_scored")

    def __init__(self, log: _SeriesLog, n: int, n_scored: int, n_risky: int) -> None:
        self._log = log
        self.n = n
        self.n_scored = n_scored
        self.n_risky = n_risky

    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return self.n > 0

    def __getitem__(self, index: int) -> ScoredPoint:
        if index < 0:
            index += self.n
        if not 0 <= index < self.n:
            raise UnknownReferenceError("index", f"an index of one of the {self.n} points")
        return self._log.points[index]

    def points(self) -> tuple[ScoredPoint, ...]:
        """Every point, in time order."""
        return tuple(self._log.points[: self.n])

    def scored(self) -> tuple[ScoredPoint, ...]:
        """The points that have a total (too many missing items leave none)."""
        return tuple(self._log.scored[: self.n_scored])

    def last_scored(self, count: int) -> tuple[ScoredPoint, ...]:
        """The last ``count`` scored points (fewer when there are fewer)."""
        n = self.n_scored
        return tuple(self._log.scored[n - count if n > count else 0 : n])

    def first_scored(self) -> ScoredPoint | None:
        return self._log.scored[0] if self.n_scored else None

    def latest_scored(self) -> ScoredPoint | None:
        return self._log.scored[self.n_scored - 1] if self.n_scored else None

    def until(self, instant: datetime) -> Series:
        """The points at or before ``instant`` (a UTC instant): itself when all are."""
        log = self._log
        if self.n == 0 or log.points[self.n - 1].at <= instant:
            return self
        n = sum(1 for p in log.points[: self.n] if p.at <= instant)
        n_scored = sum(1 for p in log.scored[: self.n_scored] if p.at <= instant)
        n_risky = sum(1 for p in log.risky[: self.n_risky] if p.at <= instant)
        return Series(log, n, n_scored, n_risky)

    def changes_from_baseline(
        self, instrument: Instrument, count: int
    ) -> list[ClinicalChange | None]:
        """:func:`~treatplan._change.score_change` from the first scored point to each
        of the last ``count`` scored points (fewer when there are fewer), by
        ``instrument`` (the definition the plan reads these scores with).

        Remembered per point in the shared log, for one definition at a time: the log
        only grows and its first scored point never changes, so a point's change from
        baseline is computed once for a chain of versions, however often the ending
        rules and reviews ask.
        """
        return _baseline_changes(self._log, self.n_scored, instrument, count)

    def recent(
        self, instrument: Instrument, count: int
    ) -> tuple[ScoredPoint, tuple[ScoredPoint, ...], list[ClinicalChange | None]]:
        """The first scored point, the last ``count`` scored points (fewer when there are
        fewer) and :meth:`changes_from_baseline` to each of them, in one call (the
        ending rules ask after every session). The series must have a scored point."""
        log, n = self._log, self.n_scored
        start = n - count if n > count else 0
        memo = log.changes
        if memo is not None and memo[0] is instrument and len(memo[1]) >= n:
            changes = memo[1][start:n]  # complete already (see changes_from_baseline)
        else:
            changes = self.changes_from_baseline(instrument, count)
        scored = log.scored
        return scored[0], tuple(scored[start:n]), changes

    def risky_after(self, instant: datetime) -> tuple[ScoredPoint, ...]:
        """The points with a risk flag strictly after ``instant`` (a UTC instant)."""
        risky = self._log.risky
        start = bisect.bisect_right(risky, instant, 0, self.n_risky, key=_point_time)
        return tuple(risky[start : self.n_risky])


def _point_time(point: ScoredPoint) -> datetime:
    return point.at


def _baseline_changes(
    log: _SeriesLog, n: int, instrument: Instrument, count: int
) -> list[ClinicalChange | None]:
    """:meth:`Series.changes_from_baseline` of the first ``n`` scored points of ``log``."""
    memo = log.changes
    if memo is not None and memo[0] is instrument and len(memo[1]) >= n:
        # Complete already: read without the lock (the list only grows, and a
        # point's entry never changes once made).
        return memo[1][n - count if n > count else 0 : n]
    with _LOGS_LOCK:
        memo = log.changes
        if memo is None or memo[0] is not instrument:
            memo = log.changes = (instrument, [])
        known = memo[1]
        if len(known) < n:
            scored = log.scored
            base = scored[0].score.total
            assert base is not None  # a scored point has a total
            # score_change of each point, one call less each.
            for p in scored[len(known) : n]:
                total = p.score.total
                assert total is not None
                known.append(change_between(instrument, base, total))

        return known[max(0, n - count) : n]


def _baseline_flags(
    log: _SeriesLog, n: int, instrument: Instrument
) -> tuple[Instrument, int, int, int, int]:
    """``log.flags`` covering at least its first ``n`` scored points (``n`` > 0) by
    ``instrument``, extended from what it covers already (see
    :meth:`PlanState.baseline_flags_until`)."""
    flags = log.flags
    if flags is not None and flags[0] is instrument:
        _, start, case, worse, better = flags
    else:
        start = case = worse = better = 0
    scored = log.scored
    changes = _baseline_changes(log, n, instrument, n - start)
    for i in range(start, n):
        bit = 1 << i
        if scored[i].score.case:
            case |= bit
        change = changes[i - start]
        if change is not None:
            if change.reliable_deterioration:
                worse |= bit
            if change.reliable_improvement:
                better |= bit
    # One immutable tuple, replaced whole: a reader sees an old or a new one, each true
    # of the points it covers (the log only grows; its points never change).
    made = log.flags = (instrument, n, case, worse, better)
    return made


class _SeriesLog:
    """One instrument's append-only logs: every point, the scored ones, the risky ones."""

    __slots__ = ("changes", "flags", "points", "risky", "scored")

    def __init__(
        self,
        points: list[ScoredPoint] | None = None,
        scored: list[ScoredPoint] | None = None,
        risky: list[ScoredPoint] | None = None,
    ) -> None:
        self.points: list[ScoredPoint] = points if points is not None else []
        self.scored: list[ScoredPoint] = scored if scored is not None else []
        self.risky: list[ScoredPoint] = risky if risky is not None else []
        # Each scored point's change from the first, by one instrument definition
        # (Series.changes_from_baseline); a prefix copy starts afresh.
        self.changes: tuple[Instrument, list[ClinicalChange | None]] | None = None
        # Per scored point, as bits (PlanState.baseline_flags_until): by which
        # definition, how many points covered, and the case, worse and better bits.
        self.flags: tuple[Instrument, int, int, int, int] | None = None

    def append(self, point: ScoredPoint) -> None:
        self.points.append(point)
        if point.score.total is not None:
            self.scored.append(point)
        if point.score.risk_flags:
            self.risky.append(point)

    def counts(self) -> tuple[int, int, int]:
        return len(self.points), len(self.scored), len(self.risky)

    def prefix(self, counts: tuple[int, int, int]) -> _SeriesLog:
        n, n_scored, n_risky = counts
        return _SeriesLog(self.points[:n], self.scored[:n_scored], self.risky[:n_risky])


#: The log of an instrument not measured: never appended to (extensions copy it).
_EMPTY_LOG = _SeriesLog()


@attrs.frozen
class _Sessions(SlottedRecord):
    """Per-session prefix figures of a plan's sessions (shared log, see the module)."""

    __repr__ = record_repr

    # For session i: its instant, and counts over sessions 0..i-1 (prefix sums, so
    # entry 0 is all zeros): attended, offered (not cancelled by the service),
    # did not attend, cancelled by the client.
    instants: list[datetime]
    attended: list[int]
    offered: list[int]
    dna: list[int]
    client_cancelled: list[int]
    treatment: list[int]  # attended with at least one intervention (prefix sums)
    attended_index: list[int]  # positions of attended sessions
    attended_ids: list[str]  # their ids, in order
    offered_ids: list[str]  # ids of offered sessions, in order


#: ``_Sessions(...)`` as its constructor builds it, without frozen attrs' store per field
#: (see :func:`treatplan._fast.frozen_maker`): one per new referral.
_new_sessions = frozen_maker(_Sessions)


def _empty_sessions() -> _Sessions:
    return _new_sessions([], [0], [0], [0], [0], [0], [], [], [])


class AchievementSource(enum.StrEnum):
    """Where an objective's achievement comes from (see :func:`objective_achievement`)."""

    #: The objective's own ``status`` (completed) or a terminal ``achievement``
    #: recorded by a clinician: it overrides the data.
    RECORDED = "recorded"
    #: The latest score of the target's instrument against the target.
    MEASURE = "measure"
    #: The GAS level of the latest rating at a review against the target level.
    GAS = "gas"
    #: The latest progress recorded at a review (behaviour targets, and GAS targets
    #: whose latest rating has no level).
    REVIEW = "review"
    #: Nothing to judge yet.
    NONE = "none"


@attrs.frozen
class Achievement(SlottedRecord):
    """Whether an objective is achieved, and on what that rests.

    ``source`` says which answer applies: a clinician's explicit status
    (:attr:`AchievementSource.RECORDED`) overrides the one derived from the data.
    ``value`` is the latest total or GAS level judged (``None`` otherwise);
    ``evidence`` the ids of the records it rests on.
    """

    __repr__ = record_repr

    objective: str
    achieved: bool
    source: AchievementSource
    detail: str
    value: float | None = None
    evidence: tuple[str, ...] = ()


#: ``Achievement(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): every review judges each objective.
_new_achievement = frozen_maker(Achievement)

#: Achievement values a clinician records as a verdict, not as a progress note:
#: they override the achievement derived from the plan's data.
TERMINAL_ACHIEVEMENT = frozenset(
    {
        AchievementStatus.ACHIEVED,
        AchievementStatus.SUSTAINING,
        AchievementStatus.NOT_ACHIEVED,
        AchievementStatus.NOT_ATTAINABLE,
    }
)
ACHIEVED = frozenset({AchievementStatus.ACHIEVED, AchievementStatus.SUSTAINING})

# Enum members read on every record and review, looked up once: a class attribute
# access on an enum costs several times a module global's.
_ATTENDED, _DID_NOT_ATTEND = Attendance.ATTENDED, Attendance.DID_NOT_ATTEND
_CANCELLED_BY_SERVICE = Attendance.CANCELLED_BY_SERVICE
_CANCELLED_BY_CLIENT = Attendance.CANCELLED_BY_CLIENT
_COMPLETED = ObjectiveStatus.COMPLETED
_RECORDED, _NO_SOURCE = AchievementSource.RECORDED, AchievementSource.NONE
_MEASURE, _GAS, _REVIEW = (
    AchievementSource.MEASURE,
    AchievementSource.GAS,
    AchievementSource.REVIEW,
)


# --------------------------------------------------------------------------- the state
class PlanState:
    """The derived figures of one plan version (see the module docstring).

    Build with :func:`state_of`; never construct directly.
    """

    __slots__ = (
        "_measure_cache",
        "_views",
        "ids",
        "latest_in_sessions",
        "latest_record",
        "latest_standalone",
        "n_ids",
        "n_sessions",
        "progress",
        "requests",
        "series_counts",
        "series_logs",
        "sessions",
    )

    ids: dict[str, int]  # id -> position in the order ids were claimed (shared log)
    n_ids: int
    n_sessions: int
    sessions: _Sessions
    # code -> its logs, and this version's (points, scored, risky) counts per code
    series_logs: dict[str, _SeriesLog]
    series_counts: Mapping[str, tuple[int, int, int]]
    latest_in_sessions: datetime | None  # latest instant of a session's assessment
    latest_standalone: datetime | None  # latest instant of a standalone assessment
    latest_record: datetime | None  # latest instant of any session, assessment or review
    progress: Mapping[str, tuple[str, ObjectiveProgress, int | None]]
    requests: tuple[str, ...]  # reviews at which the client asked to end
    _measure_cache: Mapping[str, tuple[ScoredPoint, ...]] | None
    _views: dict[str, Series] | None  # series(code), made on first ask

    # -- questions ---------------------------------------------------------------
    def uses_id(self, ident: str) -> bool:
        """Whether ``ident`` is already used in this version."""
        position = self.ids.get(ident)
        return position is not None and position < self.n_ids

    def series(self, code: str) -> Series:
        """The scored points of instrument ``code`` (empty when it is not measured):
        one view per code and version (rules, alerts, reviews and the simulator ask
        for the same series of one version several times)."""
        views = self._views
        if views is None:
            views = self._views = {}
        else:
            view = views.get(code)
            if view is not None:
                return view
        counts = self.series_counts.get(code)
        if counts is None:
            view = Series(_EMPTY_LOG, 0, 0, 0)
        else:
            view = Series(self.series_logs[code], *counts)
        views[code] = view
        return view

    def series_until(self, code: str, instant: datetime) -> Series:
        """``series(code).until(instant)`` (a UTC instant), in one call when no point is
        after ``instant`` (the usual case: the ending rules ask after every session)."""
        views = self._views
        view = views.get(code) if views is not None else None
        if view is None:
            view = self.series(code)
        n = view.n
        if n == 0 or view._log.points[n - 1].at <= instant:
            return view
        return view.until(instant)

    def latest_point(self, code: str) -> ScoredPoint | None:
        """``series(code)[-1]`` (``None`` when ``code`` is not measured), without a view."""
        counts = self.series_counts.get(code)
        return self.series_logs[code].points[counts[0] - 1] if counts is not None else None

    def baseline_flags_until(
        self, code: str, instrument: Instrument, instant: datetime
    ) -> tuple[Instrument | None, int, int, int, int]:
        """How many scored points ``series_until(code, instant)`` has, and three sets of
        them as bits (bit ``i`` for the ``i``-th scored point): those in the clinical
        range (their score's ``case``), and those reliably worse and reliably better
        than the first scored point by ``instrument``
        (:meth:`Series.changes_from_baseline`), after the definition they were judged
        by: ``(instrument, n, case, worse, better)``. Bits past ``n`` may be set: read
        only the first ``n``. ``(None, 0, 0, 0, 0)`` without a scored point.

        Remembered per point in the shared log and extended as scores are appended (the
        ending rules ask after every session): a chain of versions reads each point
        once, and the usual answer is the remembered tuple itself.
        """
        counts = self.series_counts.get(code)
        if counts is None:
            return _NO_FLAGS
        log = self.series_logs[code]
        n = counts[1]
        if log.points[counts[0] - 1].at > instant:
            n = self.series_until(code, instant).n_scored
        if not n:
            return _NO_FLAGS
        flags = log.flags
        if flags is None or flags[0] is not instrument or flags[1] < n:
            flags = _baseline_flags(log, n, instrument)
        if flags[1] == n:
            return flags
        return instrument, n, flags[2], flags[3], flags[4]

    def codes(self) -> tuple[str, ...]:
        """The instruments measured, in the order they were first measured."""
        return tuple(self.series_counts)

    def plan_series(self) -> Mapping[str, tuple[ScoredPoint, ...]]:
        """Every series as tuples (built once per version)."""
        if self._measure_cache is None:
            self._measure_cache = MappingProxyType(
                {code: self.series(code).points() for code in self.series_counts}
            )
        return self._measure_cache

    def sessions_until(self, instant: datetime | None) -> int:
        """How many sessions are at or before ``instant`` (all with ``None``)."""
        n = self.n_sessions
        if instant is None or n == 0 or self.sessions.instants[n - 1] <= instant:
            return n
        return bisect.bisect_right(self.sessions.instants, instant, 0, n)

    def attended(self, k: int) -> int:
        """Attended sessions among the first ``k``."""
        return self.sessions.attended[k]

    def offered(self, k: int) -> int:
        """Offered sessions (not cancelled by the service) among the first ``k``."""
        return self.sessions.offered[k]

    def did_not_attend(self, k: int) -> int:
        return self.sessions.dna[k]

    def client_cancelled(self, k: int) -> int:
        return self.sessions.client_cancelled[k]

    def treatment_sessions(self, k: int) -> int:
        """Attended sessions that delivered an intervention, among the first ``k``."""
        return self.sessions.treatment[k]

    def counted_ids(self, k: int, count_missed: bool) -> tuple[str, ...]:
        """Ids of the sessions among the first ``k`` counted against an authorisation:
        attended ones, or every offered one with ``count_missed``."""
        if count_missed:
            return tuple(self.sessions.offered_ids[: self.sessions.offered[k]])
        return tuple(self.sessions.attended_ids[: self.sessions.attended[k]])

    def attended_positions(self, k: int) -> list[int]:
        """Positions of the attended sessions among the first ``k`` (a fresh list)."""
        return self.sessions.attended_index[: self.sessions.attended[k]]


def state_of(plan: TreatmentPlan) -> PlanState:
    """The derived state of ``plan``: remembered on the plan, built on first use."""
    try:
        # (An annotation, not typing.cast: a cast is a function call, made here for
        # every question asked of a plan.)
        state: PlanState | None = plan._state  # type: ignore[assignment]
    except AttributeError:  # never asked yet (or a copy made by copy/pickle)
        state = None
    if state is None:
        state = _build(plan)
        object.__setattr__(plan, "_state", state)  # a cache, not a field: see _model
    return state


# --------------------------------------------------------------------------- building
def _build(plan: TreatmentPlan) -> PlanState:
    if not (
        plan.sessions
        or plan.assessments
        or plan.reviews
        or plan.presenting_problems
        or plan.goals
        or plan.interventions
    ):
        return _empty_state()  # a new referral: nothing to collect
    state = object.__new__(PlanState)
    ids = _claimed_ids(plan)
    state.ids = ids
    state.n_ids = len(ids)

    sessions = _empty_sessions()
    for s in plan.sessions:
        _append_session(sessions, s, v.instant(s.at))
    state.sessions = sessions
    state.n_sessions = len(plan.sessions)

    _score_all(state, plan)
    progress: dict[str, tuple[str, ObjectiveProgress, int | None]] = {}
    requests: list[str] = []
    for r in plan.reviews:
        _add_progress(progress, r)
        if r.client_requested_ending:
            requests.append(r.id)
    state.progress = MappingProxyType(progress)
    state.requests = tuple(requests)
    latest = [
        t
        for t in (
            state.latest_in_sessions,
            state.latest_standalone,
            v.instant(plan.sessions[-1].at) if plan.sessions else None,
            v.instant(plan.reviews[-1].at) if plan.reviews else None,
        )
        if t is not None
    ]
    state.latest_record = max(latest) if latest else None
    state._measure_cache = None
    state._views = None
    return state


def _empty_state() -> PlanState:
    """The state of a plan without ids or records (what :func:`_build` would make)."""
    state = object.__new__(PlanState)
    state.ids = {}
    state.n_ids = 0
    state.sessions = _empty_sessions()
    state.n_sessions = 0
    state.series_logs = {}
    state.series_counts = _NO_SERIES
    state.latest_in_sessions = state.latest_standalone = state.latest_record = None
    state.progress = _NO_PROGRESS
    state.requests = ()
    state._measure_cache = None
    state._views = None
    return state


# Read-only and never extended in place (extensions copy them), so shared. Counts are
# plain dicts, never changed once a state holds them: copying one (every record) is a
# fast dict copy, where a read-only proxy's goes key by key.
_NO_SERIES: Mapping[str, tuple[int, int, int]] = {}
_NO_PROGRESS: Mapping[str, tuple[str, ObjectiveProgress, int | None]] = MappingProxyType({})


def _claimed_ids(plan: TreatmentPlan) -> dict[str, int]:
    """Every id of ``plan`` -> its position, in plan order (content, then records)."""
    ids: dict[str, int] = {}

    def claim(ident: str) -> None:
        ids.setdefault(ident, len(ids))

    for p in plan.presenting_problems:
        claim(p.id)
    for g in plan.goals:
        claim(g.id)
        for o in g.objectives:
            claim(o.id)
    for i in plan.interventions:
        claim(i.id)
    for a in plan.assessments:
        claim(a.id)
    for s in plan.sessions:
        claim(s.id)
        for a in s.assessments:
            claim(a.id)
    for r in plan.reviews:
        claim(r.id)
    return ids


def _append_session(log: _Sessions, s: Session, at: datetime) -> None:
    """Append session ``s``, at the UTC instant ``at``."""
    attendance = s.attendance
    n = len(log.instants)
    log.instants.append(at)
    attended = attendance is _ATTENDED
    log.attended.append(log.attended[n] + attended)
    log.offered.append(log.offered[n] + (attendance is not _CANCELLED_BY_SERVICE))
    log.dna.append(log.dna[n] + (attendance is _DID_NOT_ATTEND))
    log.client_cancelled.append(log.client_cancelled[n] + (attendance is _CANCELLED_BY_CLIENT))
    log.treatment.append(log.treatment[n] + (attended and bool(s.interventions)))
    if attended:
        log.attended_index.append(n)
        log.attended_ids.append(s.id)
    if attendance is not _CANCELLED_BY_SERVICE:
        log.offered_ids.append(s.id)


def _add_progress(
    progress: dict[str, tuple[str, ObjectiveProgress, int | None]], review: ProgressReview
) -> None:
    # The latest rating of each objective replaces the earlier one, GAS level and all:
    # a review that rates an objective without a level (worsening, say) leaves no
    # earlier level standing. An objective a review does not rate keeps its rating.
    for p in review.progress:
        progress[p.objective] = (review.id, p, p.gas_level)


def _review_time(review: ProgressReview) -> datetime:
    return v.instant(review.at)


def _score_all(state: PlanState, plan: TreatmentPlan) -> None:
    """Every assessment of ``plan`` scored, sorted by time (stable: session assessments
    in session order, then standalone ones), and grouped by instrument."""
    attended_at: list[datetime] = []
    taken: list[tuple[datetime, int, Assessment]] = []
    for s in plan.sessions:
        if s.attended:
            attended_at.append(v.instant(s.at))
            number = len(attended_at)
            taken.extend((v.instant(a.administered_at), number, a) for a in s.assessments)
    state.latest_in_sessions = max((t[0] for t in taken), default=None)
    latest_standalone = None
    for a in plan.assessments:
        when = v.instant(a.administered_at)
        taken.append((when, bisect.bisect_right(attended_at, when), a))
        latest_standalone = when if latest_standalone is None else max(latest_standalone, when)
    state.latest_standalone = latest_standalone
    taken.sort(key=_time)
    logs: dict[str, _SeriesLog] = {}
    for when, number, a in taken:
        entry = logs.get(a.instrument)
        if entry is None:
            entry = logs[a.instrument] = _SeriesLog()
        entry.append(new_scored_point(plan_score(plan, a), number, when))
    state.series_logs = logs
    state.series_counts = {c: e.counts() for c, e in logs.items()}


def _time(entry: tuple[datetime, int, Assessment]) -> datetime:
    return entry[0]


# --------------------------------------------------------------------------- extending
def _child(parent: PlanState) -> PlanState:
    child = object.__new__(PlanState)
    child.ids = parent.ids
    child.n_ids = parent.n_ids
    child.n_sessions = parent.n_sessions
    child.sessions = parent.sessions
    child.series_logs = parent.series_logs
    child.series_counts = parent.series_counts
    child.latest_in_sessions = parent.latest_in_sessions
    child.latest_standalone = parent.latest_standalone
    child.latest_record = parent.latest_record
    child.progress = parent.progress
    child.requests = parent.requests
    child._measure_cache = None
    child._views = None
    return child


#: Guards every extension of the shared logs (ids, sessions and measure series): a
#: version is extended in place only by its first child, decided under this lock. Each
#: extension takes it once, for all its logs.
_LOGS_LOCK = threading.Lock()


def _claim_ids(child: PlanState, new_ids: list[str]) -> None:
    """Add ``new_ids`` (all unused in the parent) to the child's ids (lock held)."""
    ids = child.ids
    if len(ids) != child.n_ids:
        # Another version already extended this log (a branch): copy our prefix.
        ids = {k: p for k, p in ids.items() if p < child.n_ids}
    for ident in new_ids:
        ids[ident] = len(ids)
    child.ids = ids
    child.n_ids = len(ids)


def _share_series(child: PlanState, parent: PlanState) -> None:
    """Give ``child``, whose series are its parent's (the same logs and counts), the
    parent's series views and tuples: both made once per series, not once per version
    (a review, the usual answer to one and a revision append no score)."""
    views = parent._views
    if views is None:
        views = parent._views = {}
    child._views = views
    child._measure_cache = parent._measure_cache


def _note_record(child: PlanState, instant: datetime) -> None:
    if child.latest_record is None or instant > child.latest_record:
        child.latest_record = instant


def _extend_series(
    child: PlanState,
    points: list[tuple[str, ScoredPoint, Instrument]],
    parent_counts: Mapping[str, tuple[int, int, int]],
) -> None:
    """Append scored points (already in time order after every earlier point; lock held),
    each with the definition it was scored by.

    A log whose bits (:meth:`PlanState.baseline_flags_until`) are remembered for that
    definition, up to this point, gets the new point's bits too: the ending rules ask
    for them after every session. (Its changes from baseline,
    :meth:`Series.changes_from_baseline`, are extended when asked.)
    """
    counts = dict(parent_counts)
    logs = child.series_logs
    copied = False
    for code, point, instrument in points:
        own = counts.get(code, _NO_COUNTS)
        n, n_scored, n_risky = own
        entry = logs.get(code)
        # Every append to a log's scored and risky lists goes with one to its points, so
        # a log whose points end where this version's do ends there in all three.
        if entry is None or len(entry.points) != n:
            # A new instrument, or a branch: this version gets its own log.
            if not copied:
                logs = dict(logs)
                copied = True
            entry = logs[code] = (entry or _EMPTY_LOG).prefix(own)
            if not n:
                # A measure's first point: its bits are remembered from the start (the
                # ending rules ask for them after every session), not worked out
                # afresh at the first question.
                entry.flags = (instrument, 0, 0, 0, 0)
        # _SeriesLog.append, inlined (two points a session), counting as it goes.
        entry.points.append(point)
        score = point.score
        total = score.total
        if total is not None:
            scored = entry.scored
            scored.append(point)
            flags = entry.flags
            if flags is not None and flags[0] is instrument and flags[1] == n_scored:
                # The point's bits (_baseline_flags, for one point).
                _, _, case, worse, better = flags
                bit = 1 << n_scored
                if score.case:
                    case |= bit
                # score_change from the first scored point (itself, for the first),
                # whose total is a number: a scored point has one.
                base: float = scored[0].score.total  # type: ignore[assignment]
                change = change_between(instrument, base, total)
                if change is not None:
                    if change.reliable_deterioration:
                        worse |= bit
                    if change.reliable_improvement:
                        better |= bit
                entry.flags = (instrument, n_scored + 1, case, worse, better)
            n_scored += 1
        if score.risk_flags:
            entry.risky.append(point)
            n_risky += 1
        counts[code] = (n + 1, n_scored, n_risky)
    child.series_logs = logs
    child.series_counts = counts


_NO_COUNTS = (0, 0, 0)
_NO_FLAGS: tuple[Instrument | None, int, int, int, int] = (None, 0, 0, 0, 0)


def with_session(parent: PlanState, plan: TreatmentPlan, session: Session) -> PlanState:
    """The state of ``plan``: the parent's plan with ``session`` appended (validated).

    Extends the parent when the session's scores come after every earlier score in
    time order and no standalone score is dated after it (the usual case); else
    builds afresh, which is always exact.
    """
    at = session.at
    if at.tzinfo is not UTC:  # v.instant, skipped for a time in UTC already (here and below)
        at = v.instant(at)
    assessments = session.assessments
    attended = session.attendance is _ATTENDED  # session.attended, inlined
    standalone = parent.latest_standalone
    # Appending keeps the time order (a session's scores sort after earlier sessions'
    # scores at the same instant, but before standalone ones) and the session numbers
    # of standalone scores (sessions attended at or before each) only when no
    # standalone score is at or after an attended session, nor a score of its after an
    # earlier session's score or at or before a standalone one:
    if attended and standalone is not None and at <= standalone:
        return _build(plan)
    taken: list[tuple[datetime, Assessment]] | None = None
    if assessments:
        taken = []
        session_at, ordered = session.at, True
        for a in assessments:
            when = a.administered_at
            if when is session_at:  # a score taken at the session's very time (usual)
                taken.append((at, a))
            else:
                taken.append((when if when.tzinfo is UTC else v.instant(when), a))
                ordered = False
        if not ordered:
            # In time order, ties in session order (a stable sort by time alone).
            for i in range(1, len(taken)):
                if taken[i - 1][0] > taken[i][0]:
                    taken.sort(key=_first)
                    break
        first = taken[0][0]
        in_sessions = parent.latest_in_sessions
        if attended and (
            (in_sessions is not None and first < in_sessions)
            or (standalone is not None and first <= standalone)
        ):
            return _build(plan)
    n = parent.n_sessions
    log = parent.sessions
    points: list[tuple[str, ScoredPoint, Instrument]] | None = None
    if taken is not None:
        # Scored outside the lock: the points depend only on this version's records.
        # Each score by _scoring.scored, not plan_score: the state keeps it with its
        # point, and an assessment this new was never scored, so plan_score's memo
        # would always miss and only push an older score out.
        number = log.attended[n] + attended
        customs = plan.custom_instruments
        points = []
        for w, a in taken:
            code = a.instrument
            # plan.instrument(code), without its call for a plan with no definitions
            # of its own (the usual case): a built-in, else its error.
            instrument = None if customs else _BUILTINS.get(code)
            if instrument is None:
                instrument = plan.instrument(code)
            points.append(
                (code, new_scored_point(_scoring.scored(instrument, a), number, w), instrument)
            )
    child = _child(parent)
    with _LOGS_LOCK:
        # _claim_ids, inlined (see there).
        ids = child.ids
        if len(ids) != child.n_ids:
            ids = {k: p for k, p in ids.items() if p < child.n_ids}
        ids[session.id] = len(ids)
        for a in assessments:
            ids[a.id] = len(ids)
        child.ids = ids
        child.n_ids = len(ids)
        if len(log.instants) != n:
            log = _Sessions(
                log.instants[:n],
                log.attended[: n + 1],
                log.offered[: n + 1],
                log.dna[: n + 1],
                log.client_cancelled[: n + 1],
                log.treatment[: n + 1],
                log.attended_index[: log.attended[n]],
                log.attended_ids[: log.attended[n]],
                log.offered_ids[: log.offered[n]],
            )
        _append_session(log, session, at)
        if points is not None:
            _extend_series(child, points, parent.series_counts)
    child.sessions = log
    child.n_sessions = n + 1
    latest = at
    if taken is not None:
        last = child.latest_in_sessions = taken[-1][0]
        if last > at:
            latest = last
    if child.latest_record is None or latest > child.latest_record:
        child.latest_record = latest  # _note_record, inlined
    return child


def _first(entry: tuple[datetime, Assessment]) -> datetime:
    return entry[0]


def with_assessment(parent: PlanState, plan: TreatmentPlan, assessment: Assessment) -> PlanState:
    """The state of ``plan``: the parent's plan with a standalone ``assessment`` appended."""
    code = assessment.instrument
    when = assessment.administered_at
    if when.tzinfo is not UTC:  # v.instant, skipped for a time in UTC already
        when = v.instant(when)
    # The series read through the logs (a view each would cost more than the test).
    logs, counts = parent.series_logs, parent.series_counts
    own = counts.get(code)
    if own is not None:
        if logs[code].points[own[0] - 1].at > when:
            return _build(plan)  # back-dated among its instrument's scores: rebuild exactly
    else:
        for other in counts:
            if logs[other].points[0].at > when:
                # The first score of a measure, dated before another measure's first:
                # the measures are in the order first measured, so rebuild exactly.
                return _build(plan)
    n = parent.n_sessions
    instants = parent.sessions.instants
    # Sessions attended at or before the assessment (a standalone score after a session
    # at the same instant counts that session).
    k = n if n == 0 or instants[n - 1] <= when else bisect.bisect_right(instants, when, 0, n)
    number = parent.sessions.attended[k]
    # Scored by _scoring.scored (see with_session).
    instrument = plan.instrument(code)
    point = new_scored_point(_scoring.scored(instrument, assessment), number, when)
    child = _child(parent)
    with _LOGS_LOCK:
        _claim_ids(child, [assessment.id])
        _extend_series(child, [(code, point, instrument)], counts)
    if child.latest_standalone is None or when > child.latest_standalone:
        child.latest_standalone = when
    _note_record(child, when)
    return child


def with_review(parent: PlanState, review: ProgressReview) -> PlanState:
    """The state of a plan: the parent's plan with ``review`` appended."""
    child = _child(parent)
    _share_series(child, parent)
    with _LOGS_LOCK:
        _claim_ids(child, [review.id])
    if review.progress:
        progress = dict(parent.progress)
        _add_progress(progress, review)
        child.progress = MappingProxyType(progress)
    if review.client_requested_ending:
        child.requests = (*parent.requests, review.id)
    _note_record(child, v.instant(review.at))
    return child


def with_revision(parent: PlanState, plan: TreatmentPlan) -> PlanState:
    """The state of ``plan``: a revision of the parent's plan that keeps its records
    (sessions, assessments, reviews) and its custom instruments, the very same
    objects, and changes only content (problems, goals, interventions, criteria).

    Every figure but the ids reads only those records, scored by those instruments,
    so the child shares them; the ids are claimed afresh (a revision may drop some).
    """
    child = _child(parent)
    _share_series(child, parent)
    ids = _claimed_ids(plan)
    child.ids = ids
    child.n_ids = len(ids)
    return child


#: The plan fields a derived state reads besides ids (see :func:`with_revision`).
_READ_FIELDS = ("sessions", "assessments", "reviews", "custom_instruments")


def keep_state(plan: TreatmentPlan, revised: TreatmentPlan) -> TreatmentPlan:
    """``revised``, a validated revision of ``plan``'s content, given ``plan``'s derived
    state extended (:func:`with_revision`) when ``plan`` has one and the revision kept
    its records and custom instruments (the very same objects); else its state is built
    on first use, as always."""
    try:
        parent = cast("PlanState | None", plan._state)
    except AttributeError:  # never asked yet
        parent = None
    if parent is not None and all(getattr(revised, n) is getattr(plan, n) for n in _READ_FIELDS):
        object.__setattr__(revised, "_state", with_revision(parent, revised))  # see state_of
    return revised


def counted_sessions(plan: TreatmentPlan, as_of: datetime, count_missed: bool) -> tuple[str, ...]:
    """Ids of the sessions counted against an authorisation up to ``as_of``: attended
    ones, or every offered one (not those the service cancelled) with ``count_missed``."""
    state = state_of(plan)
    return state.counted_ids(state.sessions_until(v.instant(as_of)), count_missed)


# --------------------------------------------------------------------------- views
def plan_series(plan: TreatmentPlan) -> Mapping[str, tuple[ScoredPoint, ...]]:
    """Every assessment of ``plan`` scored once, by instrument code, in time order.

    ``session`` of each point counts the sessions attended up to and including the
    one it was taken at (standalone scores: attended at or before it).
    """
    check_plan(plan)
    return state_of(plan).plan_series()


def as_of_view(plan: TreatmentPlan, as_of: datetime) -> TreatmentPlan:
    """The plan as it stood at ``as_of``: the records (history, sessions, assessments,
    reviews) up to then. Goals and interventions are the current ones.

    The plan itself when nothing is dated after ``as_of`` (checked in constant time).
    """
    check_plan(plan)
    limit = v.instant(as_of)
    state = state_of(plan)
    last_event = v.instant(plan.history[-1].at)
    if last_event <= limit and (state.latest_record is None or state.latest_record <= limit):
        return plan
    if v.instant(plan.history[0].at) > limit:
        raise ValidationError.at("as_of", "a time on or after the referral")
    return plan_with(
        plan,
        history=tuple(t for t in plan.history if v.instant(t.at) <= limit),
        sessions=tuple(
            _session_as_of(s, limit) for s in plan.sessions if v.instant(s.at) <= limit
        ),
        assessments=tuple(a for a in plan.assessments if v.instant(a.administered_at) <= limit),
        reviews=tuple(r for r in plan.reviews if v.instant(r.at) <= limit),
    )


def _session_as_of(session: Session, limit: datetime) -> Session:
    """``session`` without the assessments dated after ``limit`` (questionnaires
    completed at the end of a session had no answers yet at its start)."""
    kept = tuple(a for a in session.assessments if v.instant(a.administered_at) <= limit)
    if len(kept) == len(session.assessments):
        return session
    return attrs.evolve(session, assessments=kept)


# --------------------------------------------------------------------------- achievement
def objective_achievement(
    plan: TreatmentPlan, objective: Objective, as_of: datetime | None = None
) -> Achievement:
    """Whether ``objective`` is achieved: the one answer every reader shares.

    In order: a clinician's explicit verdict on the objective (achievement
    ``achieved``, ``sustaining``, ``not-achieved`` or ``not-attainable``; else status
    ``completed``, read as achieved) overrides the data; else a measure target is judged on the
    latest score of its instrument (up to ``as_of``), a GAS target on the GAS level
    of its latest rating at a review (or, when that rating has no level, on its
    achievement), and a behaviour target on the latest achievement recorded at a
    review. Progress notes (``in-progress``, ``improving``, ...) on the
    objective itself do not override. Scores and reviews dated after ``as_of`` are
    left out.
    """
    check_plan(plan)
    # Identity first (the usual case, cheap), then equality (a copy of one of them).
    if not isinstance(objective, Objective) or (
        all(o is not objective for o in plan.objectives) and objective not in plan.objectives
    ):
        raise ArgumentError("objective", "an Objective of the plan")
    if as_of is None:
        return achievement_of(plan, state_of(plan), objective, None)
    v.check_time_argument(as_of, "as_of")
    return achievement_of(plan, state_of(plan), objective, v.instant(as_of))


#: Each comparator's text (an enum's ``.value`` is a slow property; every review reads it).
_COMPARATOR_TEXT = {c: c.value for c in Comparator}


def achievement_of(
    plan: TreatmentPlan, state: PlanState, objective: Objective, limit: datetime | None
) -> Achievement:
    """:func:`objective_achievement` of an objective of ``plan`` (whose derived state is
    ``state``) up to the UTC instant ``limit`` (``None``: every record), arguments
    already checked: for callers that hold the state and have checked their own."""
    oid = objective.id
    # An explicit achievement first: a completed objective (no longer pursued) may
    # have been completed without being achieved.
    if objective.achievement in TERMINAL_ACHIEVEMENT:
        achieved = objective.achievement in ACHIEVED
        return _new_achievement(oid, achieved, _RECORDED, f"recorded as {objective.achievement}")
    if objective.status is _COMPLETED:
        return _new_achievement(oid, True, _RECORDED, "recorded as completed")
    target = objective.target
    if isinstance(target, MeasureTarget):
        code = target.instrument
        series = state.series(code)
        latest = series.latest_scored()
        if latest is not None and limit is not None and latest.at > limit:
            earlier = [p for p in series.scored() if p.at <= limit]
            latest = earlier[-1] if earlier else None
        if latest is None:
            return _new_achievement(oid, False, _NO_SOURCE, f"no {code} score yet")
        total = latest.score.total
        assert total is not None
        met = target.met_by(total)
        comparator = _COMPARATOR_TEXT[target.comparator]
        text = f"{code} {total:g}, target {comparator} {target.threshold:g}"
        return _new_achievement(
            oid,
            met,
            _MEASURE,
            text + (": met" if met else ": not met"),
            total,
            (latest.assessment_id,),
        )
    record = state.progress.get(oid)
    if limit is not None and plan.reviews and v.instant(plan.reviews[-1].at) > limit:
        # Reviews after as_of did not exist yet: the progress recorded up to then.
        then = bisect.bisect_right(plan.reviews, limit, key=_review_time)
        progress: dict[str, tuple[str, ObjectiveProgress, int | None]] = {}
        for review in plan.reviews[:then]:
            _add_progress(progress, review)
        record = progress.get(oid)
    if isinstance(target, GasTarget) and record is not None and record[2] is not None:
        level = record[2]
        met = level >= target.level
        text = f"GAS level {level:+d}, target {target.level:+d}"
        return _new_achievement(
            oid,
            met,
            _GAS,
            text + (": met" if met else ": not met"),
            float(level),
            (record[0],),
        )
    if record is None:
        return _new_achievement(oid, False, _NO_SOURCE, "no progress recorded yet")
    review_id, p, _ = record
    assert isinstance(target, BehaviourTarget | GasTarget)
    return _new_achievement(
        oid,
        p.achievement in ACHIEVED,
        _REVIEW,
        f"progress {p.achievement.value} at {review_id}",
        None,
        (review_id,),
    )
