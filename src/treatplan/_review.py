"""Progress reviews: findings from the numbers, recording a review, and review cadence.

:func:`review` reads a plan as it stood at a moment and returns
:class:`Findings`: per objective (achieved, on track, off track, overdue, with
the evidence), per measure (baseline, latest, change and its category, the
expected-response chart), attendance, alerts, ending-rule verdicts, stepped-care
advice and a suggested decision. :func:`conduct_review` records a review built
from the findings and schedules the next one from a :class:`ReviewCadence`
(every N sessions and/or N weeks; python-dateutil). :func:`due_reviews` lists,
across many plans, the reviews due or overdue on a date.

Review deadlines differ by payer, state and level of care (e.g. US Medicaid
mental hospitals every 90 days, 42 CFR 456.180), so the cadence is policy, never
a constant (DOMAIN.md section 1). Findings hold codes, ids, numbers and
generated text only: never the plan's free text.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

import attrs
from dateutil.relativedelta import relativedelta

from . import _validation as v
from ._alerts import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertPolicy,
    change_of,
    collect,
    monitored_instruments,
    score_change,
)
from ._change import ChangeCategory
from ._errors import ArgumentError, UnknownReferenceError, ValidationError
from ._model import (
    AchievementStatus,
    Attendance,
    GasTarget,
    GoalStatus,
    MeasureTarget,
    Objective,
    ObjectiveProgress,
    Phase,
    ProgressReview,
    ReviewDecision,
    Schedule,
    TreatmentPlan,
)
from ._monitoring import (
    ScoredPoint,
    TrackPoint,
    TrackSignal,
    measure_series,
    scored,
    track,
    until,
)
from ._nhstt import TalkingTherapiesOutcome
from ._rules import Action, Rule, Verdict
from ._stepped import StepAdvice, SteppedCarePolicy, current_step, step_advice

__all__ = [
    "AttendanceSummary",
    "Findings",
    "MeasureFinding",
    "ObjectiveFinding",
    "ObjectiveState",
    "ReviewCadence",
    "ReviewDue",
    "ReviewPolicy",
    "ReviewStatus",
    "Suggestion",
    "conduct_review",
    "due_reviews",
    "next_review_date",
    "review",
    "review_due_date",
    "review_status",
]


# --------------------------------------------------------------------------- policy
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

    every_sessions: int | None = attrs.field(
        default=6, validator=v.integer(low=1, high=1000, optional=True)
    )
    every_weeks: int | None = attrs.field(
        default=12, validator=[v.integer(low=1, high=520, optional=True), _check_cadence]
    )
    grace_days: int = attrs.field(default=0, validator=v.integer(low=0, high=365))


@attrs.frozen
class ReviewPolicy:
    """Everything :func:`review` needs to decide: cadence, alerts (with the
    expected-response curves), stepped care, and rules to evaluate besides the
    plan's own discharge criteria. ``talking_therapies`` adds the NHS Talking
    Therapies episode outcome to the findings; ``alert_log`` the score alerts
    raised at every earlier score (off by default: it costs a pass per score).
    Without ``charts`` the measure findings leave out the expected-response chart
    of every score (the latest signal is still there): faster, for simulations."""

    cadence: ReviewCadence = attrs.field(
        factory=ReviewCadence, validator=v.instance(ReviewCadence)
    )
    alerts: AlertPolicy = attrs.field(factory=AlertPolicy, validator=v.instance(AlertPolicy))
    stepped_care: SteppedCarePolicy = attrs.field(
        factory=SteppedCarePolicy, validator=v.instance(SteppedCarePolicy)
    )
    rules: tuple[Rule, ...] = attrs.field(default=(), converter=tuple)
    talking_therapies: bool = attrs.field(default=True, validator=v.boolean())
    alert_log: bool = attrs.field(default=False, validator=v.boolean())
    charts: bool = attrs.field(default=True, validator=v.boolean())

    def __attrs_post_init__(self) -> None:
        from ._rules import RULE_TYPES

        for i, rule in enumerate(self.rules):
            if not isinstance(rule, RULE_TYPES):
                raise ValidationError.at(f"$.rules[{i}]", "a termination rule")


# --------------------------------------------------------------------------- findings
class ObjectiveState(enum.StrEnum):
    """Where an objective stands at a review."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    OFF_TRACK = "off_track"
    OVERDUE = "overdue"
    NOT_ASSESSED = "not_assessed"


@attrs.frozen
class ObjectiveFinding:
    """One objective at a review: its state, why, and the records it rests on."""

    objective: str
    state: ObjectiveState
    target_date: date
    detail: str
    evidence: tuple[str, ...] = ()
    gas_level: int | None = None


@attrs.frozen
class MeasureFinding:
    """One instrument at a review: baseline, latest, change, category and chart.

    ``change`` is latest minus baseline (raw); ``category`` is the Jacobson-Truax
    category of that change (``None`` when the instrument has no reliable-change
    threshold or norms, or fewer than two scores). ``signal`` is the latest
    score's expected-response signal.
    """

    instrument: str
    scores: int
    baseline: float | None
    baseline_id: str | None
    latest: float | None
    latest_id: str | None
    change: float | None
    category: ChangeCategory | None
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    band: str | None
    case: bool | None
    signal: TrackSignal | None
    trajectory: tuple[TrackPoint, ...]


@attrs.frozen
class AttendanceSummary:
    """Sessions up to the review. ``offered`` leaves out those the service cancelled;
    ``rate`` is attended / offered."""

    offered: int
    attended: int
    did_not_attend: int
    cancelled_by_client: int
    cancelled_by_service: int
    consecutive_missed: int
    rate: float | None


@attrs.frozen
class Suggestion:
    """The decision the findings suggest, and the reasons in order of weight.

    ``decision`` is ``None`` for a closed episode: there is nothing to decide.
    """

    decision: ReviewDecision | None
    reasons: tuple[str, ...]


class ReviewStatus(enum.StrEnum):
    """Whether a plan's review is due on a date."""

    NOT_DUE = "not_due"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "not_applicable"


@attrs.frozen
class Findings:
    """What a review finds in a plan as it stood at ``as_of``.

    ``verdicts`` holds the plan's discharge-criteria verdict (first, when it has
    criteria) and the verdicts of the policy's extra rules. ``review_due`` is when
    a review was due by the cadence; ``next_review`` when the next one would be
    if a review were recorded now. ``alert_log`` (when the policy asks for it)
    lists the alerts each score raised when it was taken, oldest first.
    """

    plan_id: str
    as_of: datetime
    phase: Phase
    objectives: tuple[ObjectiveFinding, ...]
    measures: tuple[MeasureFinding, ...]
    attendance: AttendanceSummary
    alerts: tuple[Alert, ...]
    verdicts: tuple[Verdict, ...]
    step: StepAdvice
    suggestion: Suggestion
    review_status: ReviewStatus
    review_due: date | None
    next_review: date | None
    talking_therapies: TalkingTherapiesOutcome | None = None
    gas_t_score: float | None = None
    alert_log: tuple[Alert, ...] = ()

    def measure(self, instrument: str) -> MeasureFinding:
        """The finding for ``instrument``; ``KeyError`` when it was not scored."""
        for m in self.measures:
            if m.instrument == instrument:
                return m
        raise UnknownReferenceError("instrument", "the code of an instrument scored here")


# --------------------------------------------------------------------------- the view
_REVIEW_PHASES = frozenset({Phase.ACTIVE, Phase.ON_HOLD, Phase.ENDING, Phase.FOLLOW_UP})
#: Before any record: a first review reads risk items on every score.
_EPOCH = datetime.min.replace(tzinfo=UTC)
_DEAD = frozenset({GoalStatus.CANCELLED, GoalStatus.ENTERED_IN_ERROR, GoalStatus.REJECTED})


def as_of_view(plan: TreatmentPlan, as_of: datetime) -> TreatmentPlan:
    """The plan as it stood at ``as_of``: the records (history, sessions,
    assessments, reviews) up to then. Goals and interventions are the current ones."""
    from ._lifecycle import _trusted

    limit = v.instant(as_of)

    def late(records: tuple[object, ...], when: str) -> bool:
        return bool(records) and v.instant(getattr(records[-1], when)) > limit

    late_assessments = any(v.instant(a.administered_at) > limit for a in plan.assessments)
    if not (
        late(plan.history, "at")
        or late(plan.sessions, "at")
        or late(plan.reviews, "at")
        or late_assessments
    ):
        return plan
    if v.instant(plan.history[0].at) > limit:
        raise ValidationError.at("as_of", "a time on or after the referral")
    return _trusted(
        plan,
        history=tuple(t for t in plan.history if v.instant(t.at) <= limit),
        sessions=tuple(s for s in plan.sessions if v.instant(s.at) <= limit),
        assessments=tuple(a for a in plan.assessments if v.instant(a.administered_at) <= limit),
        reviews=tuple(r for r in plan.reviews if v.instant(r.at) <= limit),
    )


# --------------------------------------------------------------------------- cadence
def _agreed_at(plan: TreatmentPlan) -> datetime | None:
    for t in reversed(plan.history):
        if t.event in ("agree_plan", "resume_treatment"):
            return t.at
    return None


#: How many occurrences of a schedule are projected (ten years of weekly sessions).
_MAX_OCCURRENCES = 520
_occurrence_cache: dict[int, tuple[Schedule, tuple[datetime, ...], tuple[date, ...]]] = {}


def _occurrences(schedule: Schedule) -> tuple[tuple[datetime, ...], tuple[date, ...]]:
    """A schedule's first occurrences as UTC instants and local dates, remembered per
    schedule object (expanding an RFC 5545 rule is the slow part of projecting)."""
    hit = _occurrence_cache.get(id(schedule))
    if hit is not None and hit[0] is schedule:
        return hit[1], hit[2]
    times = schedule.occurrences(limit=_MAX_OCCURRENCES)
    instants = tuple(v.instant(t) for t in times)
    dates = tuple(t.date() for t in times)
    if len(_occurrence_cache) >= 1024:
        _occurrence_cache.clear()
    _occurrence_cache[id(schedule)] = (schedule, instants, dates)
    return instants, dates


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
    chosen = cadence or _DEFAULT_CADENCE
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
    chosen = cadence or _DEFAULT_CADENCE
    if plan.phase not in _REVIEW_PHASES:
        return None
    last = plan.reviews[-1] if plan.reviews else None
    anchor = last.at if last is not None else _agreed_at(plan)
    if anchor is None:
        return None
    candidates: list[date] = []
    if last is not None and last.next_review is not None:
        candidates.append(last.next_review)
    if chosen.every_weeks is not None:
        candidates.append((anchor + relativedelta(weeks=+chosen.every_weeks)).date())
    if chosen.every_sessions is not None:
        n = chosen.every_sessions
        start = v.instant(anchor)
        since = [s for s in plan.sessions if s.attended and v.instant(s.at) > start]
        if len(since) >= n:
            candidates.append(since[n - 1].at.date())
        else:
            after = since[-1].at if since else anchor
            if plan.sessions and v.instant(plan.sessions[-1].at) > v.instant(after):
                after = plan.sessions[-1].at
            upcoming = _scheduled_dates(plan, after, n - len(since))
            if len(upcoming) >= n - len(since):
                candidates.append(upcoming[-1])
    return min(candidates) if candidates else None


@attrs.frozen
class ReviewDue:
    """A plan's review status on a date."""

    plan_id: str
    status: ReviewStatus
    due: date | None
    days_overdue: int = 0


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
    chosen = cadence or _DEFAULT_CADENCE
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError.at("on", "a calendar date")
    if not v.is_int(within_days) or within_days < 0:
        raise ValidationError.at("within_days", "an integer of at least 0")
    tz = plan.history[-1].at.tzinfo
    end_of_day = datetime.combine(on, time.max, tzinfo=tz)
    if v.instant(end_of_day) < v.instant(plan.history[0].at):
        return ReviewDue(plan.plan_id, ReviewStatus.NOT_APPLICABLE, None)
    due = review_due_date(as_of_view(plan, end_of_day), chosen)
    return _status(plan.plan_id, due, on, chosen.grace_days, within_days)


def _status(plan_id: str, due: date | None, on: date, grace: int, within: int) -> ReviewDue:
    if due is None:
        return ReviewDue(plan_id, ReviewStatus.NOT_APPLICABLE, None)
    if on > due + timedelta(days=grace):
        return ReviewDue(plan_id, ReviewStatus.OVERDUE, due, (on - due).days)
    if on >= due - timedelta(days=within):
        return ReviewDue(plan_id, ReviewStatus.DUE, due)
    return ReviewDue(plan_id, ReviewStatus.NOT_DUE, due)


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
    found = [review_status(p, on, cadence, within_days=within_days) for p in plans]
    wanted = [r for r in found if r.status in (ReviewStatus.DUE, ReviewStatus.OVERDUE)]
    wanted.sort(key=lambda r: (r.due or on, r.plan_id))
    return tuple(wanted)


# --------------------------------------------------------------------------- review
def review(plan: TreatmentPlan, as_of: datetime, policy: ReviewPolicy | None = None) -> Findings:
    """What a review finds in ``plan`` as it stood at ``as_of``.

    Each assessment is scored once. Objectives and goals are read as they are
    now (the plan keeps no history of them); every record (sessions, scores,
    reviews, transitions) counts only up to ``as_of``.
    """
    v.check_time_argument(as_of, "as_of")
    chosen = policy or _DEFAULT_POLICY
    view = as_of_view(plan, as_of)
    series = measure_series(view)
    due = review_due_date(view, chosen.cadence)
    status = (
        _status(view.plan_id, due, as_of.date(), chosen.cadence.grace_days, 0)
        if due is not None
        else ReviewDue(view.plan_id, ReviewStatus.NOT_APPLICABLE, None)
    )
    # Risk items endorsed at any score since the previous review are reported, not only
    # those on the latest score (every score when there is no previous review).
    since = view.reviews[-1].at if view.reviews else _EPOCH
    alert_list = collect(
        view, as_of, chosen.alerts, due, series, chosen.cadence.grace_days, risk_since=since
    )

    measures = tuple(
        _measure_finding(view, code, points, chosen) for code, points in series.items()
    )
    by_code = {m.instrument: m for m in measures}
    outcome_codes = [
        c
        for c in monitored_instruments(view, series, chosen.alerts)
        if c != chosen.alerts.alliance_instrument
    ]
    signal = _worst([by_code[c].signal for c in outcome_codes])
    deteriorated = any(by_code[c].reliable_deterioration for c in outcome_codes)
    step = step_advice(
        current_step(view, chosen.stepped_care), signal, deteriorated, chosen.stepped_care
    )

    progress = _latest_progress(view)
    objectives = tuple(
        _objective_finding(o, as_of, series, by_code, progress)
        for o in view.objectives
        if o.status not in _DEAD
    )
    verdicts = tuple(
        rule.evaluate(view, as_of)
        for rule in (
            *((view.discharge_criteria,) if view.discharge_criteria is not None else ()),
            *chosen.rules,
        )
    )
    suggestion = _suggest(alert_list, verdicts, step, objectives)
    if view.phase is Phase.CLOSED:
        outcome = view.outcome.value if view.outcome is not None else "closed"
        suggestion = Suggestion(None, (f"episode closed ({outcome}): nothing to decide",))
    reviewable = view.phase in _REVIEW_PHASES
    return Findings(
        plan_id=view.plan_id,
        as_of=as_of,
        phase=view.phase,
        objectives=objectives,
        measures=measures,
        attendance=_attendance(view),
        alerts=alert_list,
        verdicts=verdicts,
        step=step,
        suggestion=suggestion,
        review_status=status.status,
        review_due=due,
        next_review=next_review_date(view, as_of, chosen.cadence) if reviewable else None,
        talking_therapies=_talking_therapies(view) if chosen.talking_therapies else None,
        gas_t_score=_gas(view),
        alert_log=_alert_log(view, as_of, series, chosen.alerts) if chosen.alert_log else (),
    )


#: Alerts that belong to a score (the rest are about the plan at the moment).
_SCORE_ALERTS = frozenset(
    {
        AlertKind.RISK_ITEM,
        AlertKind.RISK_NOT_ASSESSED,
        AlertKind.NOT_ON_TRACK,
        AlertKind.LESS_CHANGE_THAN_EXPECTED,
        AlertKind.RELIABLE_DETERIORATION,
        AlertKind.ALLIANCE_LOW,
        AlertKind.ALLIANCE_DROP,
    }
)


def _alert_log(
    plan: TreatmentPlan,
    as_of: datetime,
    series: Mapping[str, tuple[ScoredPoint, ...]],
    policy: AlertPolicy,
) -> tuple[Alert, ...]:
    """The score alerts raised at each scoring time up to ``as_of`` (scores reused)."""
    limit = v.instant(as_of)
    times = sorted({p.at for points in series.values() for p in points if p.at <= limit})
    log: list[Alert] = []
    for when in times:
        log.extend(
            a
            for a in collect(plan, when, policy, None, series)
            if a.kind in _SCORE_ALERTS and a.at is not None and v.instant(a.at) == when
        )
    return tuple(log)


def _talking_therapies(plan: TreatmentPlan) -> TalkingTherapiesOutcome | None:
    from ._nhstt import talking_therapies_outcome

    if "PHQ-9" not in measure_series(plan):
        return None
    return talking_therapies_outcome(plan)


def _gas(plan: TreatmentPlan) -> float | None:
    from ._gas import plan_gas_t_score

    return plan_gas_t_score(plan)


_SIGNAL_ORDER = {TrackSignal.GREEN: 0, TrackSignal.AMBER: 1, TrackSignal.RED: 2}


def _worst(signals: Iterable[TrackSignal | None]) -> TrackSignal | None:
    known = [s for s in signals if s is not None]
    return max(known, key=_SIGNAL_ORDER.__getitem__) if known else None


def latest_status(
    plan: TreatmentPlan, as_of: datetime, instruments: tuple[str, ...]
) -> tuple[TrackSignal | None, bool]:
    """The worst latest signal among ``instruments`` and whether any reliably deteriorated."""
    view = as_of_view(plan, as_of)
    series = measure_series(view)
    signals: list[TrackSignal | None] = []
    deteriorated = False
    for code in instruments:
        points = scored(until(series.get(code, ()), as_of))
        if not points:
            continue
        instrument = view.instrument(code)
        chart = track(instrument, (points[0], points[-1]) if len(points) > 1 else points)
        signals.append(chart[-1].signal)
        if len(points) > 1:
            base, last = points[0].total, points[-1].total
            assert base is not None
            assert last is not None
            change = change_of(instrument, base, last)
            deteriorated |= change is not None and change.reliable_deterioration
    return _worst(signals), deteriorated


def _measure_finding(
    plan: TreatmentPlan, code: str, points: tuple[ScoredPoint, ...], policy: ReviewPolicy
) -> MeasureFinding:
    instrument = plan.instrument(code)
    totals = scored(points)
    base = totals[0] if totals else None
    last = totals[-1] if totals else None
    # The alliance is a process measure: no expected response to track it against.
    tracked = code != policy.alerts.alliance_instrument
    if policy.charts:
        chart = track(instrument, points, policy.alerts.response, expected=tracked)
    else:
        ends = (
            () if base is None or last is None else (base, last) if last is not base else (base,)
        )
        chart = track(instrument, ends, policy.alerts.response, expected=tracked)
    change = None
    if base is not None and last is not None and last is not base:
        assert base.total is not None
        assert last.total is not None
        change = score_change(instrument, base.score, last.score)
    latest_chart = next((t for t in reversed(chart) if t.signal is not None), None)
    return MeasureFinding(
        instrument=code,
        scores=len(points),
        baseline=base.total if base else None,
        baseline_id=base.assessment_id if base else None,
        latest=last.total if last else None,
        latest_id=last.assessment_id if last else None,
        change=(last.total - base.total)
        if base is not None
        and last is not None
        and base.total is not None
        and last.total is not None
        else None,
        category=change.category if change is not None else None,
        reliable_improvement=change.reliable_improvement if change is not None else None,
        reliable_deterioration=change.reliable_deterioration if change is not None else None,
        band=last.score.band if last else None,
        case=last.score.case if last else None,
        signal=latest_chart.signal if latest_chart is not None else None,
        trajectory=chart if policy.charts else (),
    )


def _latest_progress(plan: TreatmentPlan) -> dict[str, tuple[str, ObjectiveProgress, int | None]]:
    """Objective id -> (review id, its latest progress record, its latest GAS level)."""
    out: dict[str, tuple[str, ObjectiveProgress, int | None]] = {}
    for r in plan.reviews:
        for p in r.progress:
            level = (
                p.gas_level if p.gas_level is not None else out.get(p.objective, ("", p, None))[2]
            )
            out[p.objective] = (r.id, p, level)
    return out


_ACHIEVED = frozenset({AchievementStatus.ACHIEVED, AchievementStatus.SUSTAINING})
_MOVING = frozenset({AchievementStatus.IN_PROGRESS, AchievementStatus.IMPROVING})


def _objective_finding(
    o: Objective,
    as_of: datetime,
    series: Mapping[str, tuple[ScoredPoint, ...]],
    measures: Mapping[str, MeasureFinding],
    progress: Mapping[str, tuple[str, ObjectiveProgress, int | None]],
) -> ObjectiveFinding:
    record = progress.get(o.id)
    level = record[2] if record is not None else None
    past_due = as_of.date() > o.target_date

    def finding(
        state: ObjectiveState, detail: str, evidence: tuple[str, ...] = ()
    ) -> ObjectiveFinding:
        return ObjectiveFinding(o.id, state, o.target_date, detail, evidence, level)

    if o.status is GoalStatus.COMPLETED or o.achievement in _ACHIEVED:
        return finding(ObjectiveState.ACHIEVED, "recorded as achieved")
    target = o.target
    if isinstance(target, MeasureTarget):
        code = target.instrument
        points = scored(until(series.get(code, ()), as_of))
        if not points:
            state = ObjectiveState.OVERDUE if past_due else ObjectiveState.NOT_ASSESSED
            return finding(state, f"no {code} score yet")
        latest = points[-1]
        assert latest.total is not None
        text = f"{code} {latest.total:g}, target {target.comparator.value} {target.threshold:g}"
        if target.met_by(latest.total):
            return finding(ObjectiveState.ACHIEVED, text + ": met", (latest.assessment_id,))
        if past_due:
            return finding(
                ObjectiveState.OVERDUE,
                text + f": not met by {o.target_date}",
                (latest.assessment_id,),
            )
        m = measures.get(code)
        signal = m.signal if m is not None else None
        state = (
            ObjectiveState.ON_TRACK
            if signal in (None, TrackSignal.GREEN)
            else ObjectiveState.OFF_TRACK
        )
        return finding(state, text + f": {signal or 'no signal'}", (latest.assessment_id,))
    if isinstance(target, GasTarget) and level is not None and record is not None:
        text = f"GAS level {level:+d}, target {target.level:+d}"
        if level >= target.level:
            return finding(ObjectiveState.ACHIEVED, text + ": met", (record[0],))
        if past_due:
            return finding(
                ObjectiveState.OVERDUE, text + f": not met by {o.target_date}", (record[0],)
            )
    if record is None:
        state = ObjectiveState.OVERDUE if past_due else ObjectiveState.NOT_ASSESSED
        return finding(state, "no progress recorded yet")
    review_id, p, _ = record
    text = f"progress {p.achievement.value} at {review_id}"
    if p.achievement in _ACHIEVED:
        return finding(ObjectiveState.ACHIEVED, text, (review_id,))
    if past_due:
        return finding(
            ObjectiveState.OVERDUE, text + f": not met by {o.target_date}", (review_id,)
        )
    if p.achievement in _MOVING:
        return finding(ObjectiveState.ON_TRACK, text, (review_id,))
    return finding(ObjectiveState.OFF_TRACK, text, (review_id,))


def _attendance(plan: TreatmentPlan) -> AttendanceSummary:
    counts = dict.fromkeys(Attendance, 0)
    run = 0
    for s in plan.sessions:
        counts[s.attendance] += 1
        if s.attendance is Attendance.DID_NOT_ATTEND:
            run += 1
        elif s.attendance is not Attendance.CANCELLED_BY_SERVICE:
            run = 0
    offered = len(plan.sessions) - counts[Attendance.CANCELLED_BY_SERVICE]
    attended = counts[Attendance.ATTENDED]
    return AttendanceSummary(
        offered=offered,
        attended=attended,
        did_not_attend=counts[Attendance.DID_NOT_ATTEND],
        cancelled_by_client=counts[Attendance.CANCELLED_BY_CLIENT],
        cancelled_by_service=counts[Attendance.CANCELLED_BY_SERVICE],
        consecutive_missed=run,
        rate=attended / offered if offered else None,
    )


#: Alerts that outweigh a discharge rule, with the reason a suggestion gives.
_OUTWEIGHING_ALERTS = (
    (AlertKind.RELIABLE_DETERIORATION, "reliable deterioration alert: review before ending"),
    (AlertKind.NOT_ON_TRACK, "not-on-track alert: review before ending"),
)


def _suggest(
    found: tuple[Alert, ...],
    verdicts: tuple[Verdict, ...],
    step: StepAdvice,
    objectives: tuple[ObjectiveFinding, ...],
) -> Suggestion:
    """Safety first: a risk item endorsed, a fired review rule (reliable deterioration,
    plateau), a reliable-deterioration or not-on-track alert, or stepped care's advice
    outweighs a discharge rule, whatever the stepped-care policy; the discharge rule
    is then reported as outweighed."""
    kinds = {a.kind for a in found}
    fired = [leaf for verdict in verdicts for leaf in verdict.fired_leaves()]
    reasons: list[str] = []
    decision: ReviewDecision | None = None
    if step.decision is not ReviewDecision.CONTINUE:
        decision = step.decision
        reasons.append(step.reason)
    reasons.extend(f"{f.rule}: {f.reason}" for f in fired if f.action is Action.WARN)
    discharge = [f for f in fired if f.action is Action.DISCHARGE]
    review_rules = [f for f in fired if f.action is Action.REVIEW]
    if AlertKind.RISK_ITEM in kinds:
        # PHQ-9 item 9 >= 1 is a risk flag (Kroenke, Spitzer & Williams 2001): never
        # suggest beginning to end while it stands unreviewed.
        reasons.append("risk item endorsed: review the risk assessment and safety plan")
        if decision is None:
            decision = ReviewDecision.REVISE_PLAN
    if review_rules:
        reasons.extend(f"{f.rule}: {f.reason}" for f in review_rules)
        if decision is None:
            decision = ReviewDecision.REVISE_PLAN
    # Reliable deterioration means review, step up or refer rather than end (DOMAIN.md
    # section 5), whether or not the stepped-care policy steps up on it.
    for kind, text in _OUTWEIGHING_ALERTS:
        if kind in kinds:
            reasons.append(text)
            if decision is None:
                decision = ReviewDecision.REVISE_PLAN
    if discharge:
        text = "; ".join(f"{f.rule}: {f.reason}" for f in discharge)
        if decision is None:
            decision = ReviewDecision.BEGIN_ENDING
            reasons.append("ending rule fired: " + text)
        else:
            reasons.append("ending rule fired, but outweighed: " + text)
    lagging = [
        f.objective
        for f in objectives
        if f.state in (ObjectiveState.OFF_TRACK, ObjectiveState.OVERDUE)
    ]
    if lagging:
        reasons.append("objectives off track or overdue: " + ", ".join(lagging))
        if decision is None:
            decision = ReviewDecision.REVISE_PLAN
    for kind in (AlertKind.ALLIANCE_LOW, AlertKind.ALLIANCE_DROP):
        if kind in kinds:
            reasons.append("alliance alert: discuss the relationship and the fit of therapy")
            break
    if decision is None:
        decision = ReviewDecision.CONTINUE
        reasons.append("on track: continue")
    if AlertKind.RISK_NOT_ASSESSED in kinds:
        reasons.append("risk item not assessed at the latest score: ask about risk")
    urgent = sum(1 for a in found if a.level is AlertLevel.URGENT)
    if urgent:
        reasons.append(f"{urgent} urgent alert{'s' if urgent != 1 else ''}")
    return Suggestion(decision, tuple(reasons))


# --------------------------------------------------------------------------- recording
_PROGRESS = {
    ObjectiveState.ACHIEVED: AchievementStatus.ACHIEVED,
    ObjectiveState.ON_TRACK: AchievementStatus.IMPROVING,
    ObjectiveState.OFF_TRACK: AchievementStatus.NO_PROGRESS,
    ObjectiveState.OVERDUE: AchievementStatus.NOT_ACHIEVED,
    ObjectiveState.NOT_ASSESSED: AchievementStatus.IN_PROGRESS,
}


def conduct_review(
    plan: TreatmentPlan,
    as_of: datetime,
    *,
    review_id: str,
    by: str | None = None,
    decision: ReviewDecision | None = None,
    progress: Iterable[ObjectiveProgress] | None = None,
    policy: ReviewPolicy | None = None,
    findings: Findings | None = None,
    client_requested_ending: bool = False,
    note: str | None = None,
) -> TreatmentPlan:
    """Record a review at ``as_of`` built from the findings; a new plan.

    The decision defaults to the suggested one and progress per objective to
    the findings (achieved, improving, no progress, not achieved, in progress);
    the next review date comes from the policy's cadence. The review goes in
    through :func:`~treatplan.record_review`, so its rules apply.
    """
    from ._lifecycle import record_review

    chosen = policy or _DEFAULT_POLICY
    found = findings if findings is not None else review(plan, as_of, chosen)
    records = (
        tuple(progress)
        if progress is not None
        else tuple(
            ObjectiveProgress(f.objective, _PROGRESS[f.state], gas_level=f.gas_level)
            for f in found.objectives
        )
    )
    record = ProgressReview(
        id=review_id,
        at=as_of,
        # A closed plan has no suggestion; record_review refuses it anyway.
        decision=decision or found.suggestion.decision or ReviewDecision.CONTINUE,
        progress=records,
        next_review=next_review_date(plan, as_of, chosen.cadence),
        by=by,
        client_requested_ending=client_requested_ending,
        note=note,
    )
    return record_review(plan, record)


_DEFAULT_CADENCE = ReviewCadence()
_DEFAULT_POLICY = ReviewPolicy()
