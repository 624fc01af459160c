"""Review cadence: when a plan's next review falls, and whether it is due.

A :class:`ReviewCadence` reviews every N attended sessions and/or every N weeks,
whichever comes first, counted from the last review (or the agreement of the
plan); upcoming sessions are projected from the interventions' RFC 5545
schedules (python-dateutil). Review deadlines differ by payer, state and level
of care (e.g. US Medicaid mental hospitals every 90 days, 42 CFR 456.180), so
the cadence is policy, never a constant.

Part of the plan's derived state: it reads the plan and its
:mod:`treatplan._state`, and reviews and alerts share it.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import attrs
from dateutil.relativedelta import relativedelta

from . import _validation as v
from ._errors import ArgumentError, ValidationError
from ._fast import frozen_maker
from ._memo import IdentityCache
from ._model import Schedule, TreatmentPlan, check_plan
from ._records import SlottedRecord, record_repr
from ._state import as_of_view, state_of
from ._transitions import Phase

__all__ = [
    "ReviewCadence",
    "ReviewDue",
    "ReviewStatus",
    "due_reviews",
    "next_review_date",
    "review_due_date",
    "review_status",
]

#: Phases in which reviews are expected (and can be overdue).
REVIEW_PHASES = frozenset({Phase.ACTIVE, Phase.ON_HOLD, Phase.ENDING, Phase.FOLLOW_UP})
#: The events that lead into a review phase from outside one.
_INTO_REVIEW = ("agree_plan", "resume_treatment")


def _check_cadence(instance: ReviewCadence, *_: object) -> None:
    if instance.every_sessions is None and instance.every_weeks is None:
        raise ValidationError.at("$", "every_sessions, every_weeks or both")


@attrs.frozen
class ReviewCadence:
    """How often a plan is reviewed: every ``every_sessions`` attended sessions and/or
    every ``every_weeks`` weeks, whichever comes first, counted from the last review
    (or the agreement of the plan). A review is overdue ``grace_days`` after its date.

    The default (6 sessions or 12 weeks) is an illustration, not a standard:
    payers and regulators set their own (e.g. 90 days, 42 CFR 456.180).
    """

    __repr__ = record_repr

    every_sessions: int | None = attrs.field(
        default=6, validator=v.integer(low=1, high=1000, optional=True)
    )
    every_weeks: int | None = attrs.field(
        default=12, validator=[v.integer(low=1, high=520, optional=True), _check_cadence]
    )
    grace_days: int = attrs.field(default=0, validator=v.integer(low=0, high=365))


class ReviewStatus(enum.StrEnum):
    """Whether a plan's review is due on a date."""

    NOT_DUE = "not_due"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "not_applicable"


# --------------------------------------------------------------------------- cadence
def _agreed_at(plan: TreatmentPlan) -> datetime:
    # Only agree_plan and resume_treatment lead into a review phase, so a plan in one
    # always has such a record. (A loop: next() over a generator closes it with an
    # exception, which costs more than the search.)
    for t in reversed(plan.history):  # pragma: no branch - see above
        if t.event in _INTO_REVIEW:
            break
    return t.at


#: How many occurrences of a schedule are projected (ten years of weekly sessions).
_MAX_OCCURRENCES = 520
_OCCURRENCES: IdentityCache[tuple[tuple[datetime, ...], tuple[date, ...]]] = IdentityCache(1024)


def _occurrences(schedule: Schedule) -> tuple[tuple[datetime, ...], tuple[date, ...]]:
    """A schedule's first occurrences as UTC instants and local dates, remembered per
    schedule object (expanding an RFC 5545 rule is the slow part of projecting)."""
    hit = _OCCURRENCES.get(schedule)
    if hit is not None:
        return hit
    times = schedule.occurrences(limit=_MAX_OCCURRENCES)
    instants = tuple(v.instant(t) for t in times)
    dates = tuple(t.date() for t in times)
    return _OCCURRENCES.put((instants, dates), schedule)


def _scheduled_dates(plan: TreatmentPlan, after: datetime, count: int) -> list[date]:
    """The next ``count`` distinct dates with a scheduled session after ``after``."""
    limit = v.instant(after)
    dates: set[date] = set()
    for intervention in plan.interventions:
        if intervention.schedule is None:
            continue
        instants, local = _occurrences(intervention.schedule)
        start = bisect.bisect_right(instants, limit)
        dates.update(local[start : start + count])
    return sorted(dates)[:count]


def next_review_date(
    plan: TreatmentPlan, after: datetime, cadence: ReviewCadence | None = None
) -> date | None:
    """When the next review falls if one is held at ``after``.

    ``every_weeks`` weeks later (python-dateutil ``relativedelta``), or the date of
    the ``every_sessions``-th scheduled session after it (from the interventions'
    RFC 5545 schedules), whichever is earlier; ``None`` when neither applies.
    """
    check_plan(plan)
    v.check_time_argument(after, "after")
    v.check_argument(cadence, ReviewCadence, "cadence", "a ReviewCadence")
    chosen = cadence or DEFAULT_CADENCE
    candidates: list[date] = []
    if chosen.every_weeks is not None:
        candidates.append((after + relativedelta(weeks=+chosen.every_weeks)).date())
    if chosen.every_sessions is not None:
        upcoming = _scheduled_dates(plan, after, chosen.every_sessions)
        if len(upcoming) >= chosen.every_sessions:
            candidates.append(upcoming[-1])
    return max(min(candidates), after.date()) if candidates else None


def review_due_date(plan: TreatmentPlan, cadence: ReviewCadence | None = None) -> date | None:
    """When the plan's next review is due: the earliest of the date the last review
    set, the cadence's weeks and the cadence's sessions (attended since the last
    review, then scheduled). ``None`` outside the phases that have reviews or
    before the plan is agreed."""
    check_plan(plan)
    v.check_argument(cadence, ReviewCadence, "cadence", "a ReviewCadence")
    chosen = cadence or DEFAULT_CADENCE
    if plan.phase not in REVIEW_PHASES:
        return None
    last = plan.reviews[-1] if plan.reviews else None
    anchor = last.at if last is not None else _agreed_at(plan)
    candidates: list[date] = []
    if last is not None and last.next_review is not None:
        candidates.append(last.next_review)
    if chosen.every_weeks is not None:
        candidates.append((anchor + relativedelta(weeks=+chosen.every_weeks)).date())
    if chosen.every_sessions is not None:
        n = chosen.every_sessions
        state = state_of(plan)
        before = state.attended(state.sessions_until(v.instant(anchor)))
        attended = state.attended_positions(state.n_sessions)
        since = len(attended) - before  # attended after the anchor
        if since >= n:
            candidates.append(plan.sessions[attended[before + n - 1]].at.date())
        else:
            after = plan.sessions[attended[-1]].at if since else anchor
            if plan.sessions and v.instant(plan.sessions[-1].at) > v.instant(after):
                after = plan.sessions[-1].at
            upcoming = _scheduled_dates(plan, after, n - since)
            if len(upcoming) >= n - since:
                candidates.append(upcoming[-1])
    return min(candidates) if candidates else None


@attrs.frozen
class ReviewDue(SlottedRecord):
    """A plan's review status on a date."""

    __repr__ = record_repr

    plan_id: str
    status: ReviewStatus
    due: date | None
    days_overdue: int = 0


#: ``ReviewDue(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): every review asks.
_new_review_due = frozen_maker(ReviewDue)


def review_status(
    plan: TreatmentPlan,
    on: date,
    cadence: ReviewCadence | None = None,
    *,
    within_days: int = 0,
) -> ReviewDue:
    """Whether ``plan``'s review is due on ``on`` (the plan as it stood at the end of that day).

    Due from ``within_days`` before the due date until ``grace_days`` after it;
    overdue after that.
    """
    check_plan(plan)
    v.check_argument(cadence, ReviewCadence, "cadence", "a ReviewCadence")
    chosen = cadence or DEFAULT_CADENCE
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError.at("on", "a calendar date")
    if not v.is_int(within_days) or within_days < 0:
        raise ValidationError.at("within_days", "an integer of at least 0")
    tz = plan.history[-1].at.tzinfo
    end_of_day = datetime.combine(on, time.max, tzinfo=tz)
    if v.instant(end_of_day) < v.instant(plan.history[0].at):
        return ReviewDue(plan.plan_id, ReviewStatus.NOT_APPLICABLE, None)
    due = review_due_date(as_of_view(plan, end_of_day), chosen)
    return status_on(plan.plan_id, due, on, chosen.grace_days, within_days)


def status_on(plan_id: str, due: date | None, on: date, grace: int, within: int) -> ReviewDue:
    if due is None:
        return _new_review_due(plan_id, ReviewStatus.NOT_APPLICABLE, None)
    if on > due + timedelta(days=grace):
        return _new_review_due(plan_id, ReviewStatus.OVERDUE, due, (on - due).days)
    if on >= due - timedelta(days=within):
        return _new_review_due(plan_id, ReviewStatus.DUE, due)
    return _new_review_due(plan_id, ReviewStatus.NOT_DUE, due)


def due_reviews(
    plans: Iterable[TreatmentPlan],
    on: date,
    cadence: ReviewCadence | None = None,
    *,
    within_days: int = 0,
) -> tuple[ReviewDue, ...]:
    """The plans whose review is due or overdue on ``on``, earliest due date first.

    ``within_days`` also lists reviews falling due in the next that many days.
    """
    if isinstance(plans, TreatmentPlan) or not isinstance(plans, Iterable):
        raise ArgumentError("plans", "an iterable of TreatmentPlans (for one, use review_status)")
    chosen = list(plans)
    for i, plan in enumerate(chosen):
        check_plan(plan, f"plans[{i}]")
    found = [review_status(p, on, cadence, within_days=within_days) for p in chosen]
    wanted = [r for r in found if r.status in (ReviewStatus.DUE, ReviewStatus.OVERDUE)]
    wanted.sort(key=lambda r: (r.due or on, r.plan_id))
    return tuple(wanted)


DEFAULT_CADENCE = ReviewCadence()
