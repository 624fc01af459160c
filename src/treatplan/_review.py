"""Progress reviews: findings from the numbers, recording a review, and review cadence.

:func:`review` reads a plan as it stood at a moment and returns
:class:`Findings`: per objective (achieved, on track, off track, overdue, with
the evidence), per measure (baseline, latest, change and its category, the
expected-response chart), attendance, alerts, ending-rule verdicts, stepped-care
advice and a suggested decision. :func:`record_findings` records a review built
from the findings and schedules the next one from a :class:`ReviewCadence`
(every N sessions and/or N weeks; python-dateutil). :func:`due_reviews` lists,
across many plans, the reviews due or overdue on a date.

Review deadlines differ by payer, state and level of care (e.g. US Medicaid
mental hospitals every 90 days, 42 CFR 456.180), so the cadence is policy, never
a constant (docs/references.md#treatment-planning). Findings hold codes, ids, numbers and
generated text only: never the plan's free text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import cast

import attrs

from . import _validation as v
from ._alerts import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertPolicy,
    collect,
    series_until,
)
from ._cadence import (
    REVIEW_PHASES,
    ReviewCadence,
    ReviewDue,
    ReviewStatus,
    next_review_date,
    review_due_date,
    status_on,
)
from ._change import ChangeCategory, score_change
from ._errors import ArgumentError, UnknownReferenceError, ValidationError
from ._evaluation import Verdict, verdict_of
from ._fast import frozen_maker
from ._gas import plan_gas_t_score
from ._lifecycle import record_review
from ._memo import IdentityCache
from ._model import (
    AchievementStatus,
    Attendance,
    MeasureTarget,
    Objective,
    ObjectiveProgress,
    ProgressReview,
    ReviewDecision,
    TreatmentPlan,
    check_plan,
)
from ._monitoring import TrackPoint, TrackSignal, chart
from ._nhstt import TalkingTherapiesOutcome, talking_therapies_outcome
from ._records import SlottedRecord, record_repr, short_ref
from ._rules import RULE_TYPES, Rule, RuleAction
from ._state import (
    EPOCH,
    AchievementSource,
    PlanState,
    Series,
    achievement_of,
    as_of_view,
    live_objectives,
    state_of,
)
from ._stepped import StepAdvice, SteppedCarePolicy, current_step, step_advice
from ._transitions import Phase

__all__ = [
    "AttendanceSummary",
    "Findings",
    "MeasureFinding",
    "ObjectiveFinding",
    "ObjectiveState",
    "ReviewPolicy",
    "Suggestion",
    "findings_record",
    "record_findings",
    "review",
]


# --------------------------------------------------------------------------- policy
def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    # Lists and tuples become tuples; anything else is left for the check after init.
    return cast("tuple[Rule, ...]", tuple(value) if isinstance(value, list | tuple) else value)


@attrs.frozen
class ReviewPolicy:
    """Everything :func:`review` needs to decide: cadence, alerts (with the
    expected-response curves), stepped care, and rules to evaluate besides the
    plan's own discharge criteria. ``talking_therapies`` adds the NHS Talking
    Therapies episode outcome to the findings; ``alert_log`` the score alerts
    raised at every earlier score (off by default: it costs a pass per score).
    Without ``charts`` the measure findings leave out the expected-response chart
    of every score (the latest signal is still there): faster, for simulations."""

    __repr__ = record_repr

    cadence: ReviewCadence = attrs.field(
        factory=ReviewCadence, validator=v.instance(ReviewCadence)
    )
    alerts: AlertPolicy = attrs.field(factory=AlertPolicy, validator=v.instance(AlertPolicy))
    stepped_care: SteppedCarePolicy = attrs.field(
        factory=SteppedCarePolicy, validator=v.instance(SteppedCarePolicy)
    )
    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rules)
    talking_therapies: bool = attrs.field(default=True, validator=v.boolean())
    alert_log: bool = attrs.field(default=False, validator=v.boolean())
    charts: bool = attrs.field(default=True, validator=v.boolean())

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.rules, tuple):
            raise ValidationError.at("$.rules", "a list of termination rules")
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
class ObjectiveFinding(SlottedRecord):
    """One objective at a review: its state, why, and the records it rests on."""

    __repr__ = record_repr

    objective: str
    state: ObjectiveState
    target_date: date
    detail: str
    evidence: tuple[str, ...] = ()
    gas_level: int | None = None
    #: Which answer the achievement comes from: a clinician's recorded status
    #: overrides the one derived from the data.
    source: AchievementSource = AchievementSource.NONE


@attrs.frozen
class MeasureFinding(SlottedRecord):
    """One instrument at a review: baseline, latest, change, category and chart.

    ``change`` is latest minus baseline (raw); ``category`` is the Jacobson-Truax
    category of that change (``None`` when the instrument has no reliable-change
    threshold or norms, or fewer than two scores). ``signal`` is the latest
    score's expected-response signal.
    """

    __repr__ = record_repr

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
class AttendanceSummary(SlottedRecord):
    """Sessions up to the review. ``offered`` leaves out those the service cancelled;
    ``rate`` is attended / offered."""

    __repr__ = record_repr

    offered: int
    attended: int
    did_not_attend: int
    cancelled_by_client: int
    cancelled_by_service: int
    consecutive_missed: int
    rate: float | None


@attrs.frozen
class Suggestion(SlottedRecord):
    """The decision the findings suggest, and the reasons in order of weight.

    ``decision`` is ``None`` for a closed episode: there is nothing to decide.
    """

    __repr__ = record_repr

    decision: ReviewDecision | None
    reasons: tuple[str, ...]


@attrs.frozen
class Findings(SlottedRecord):
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

    def __repr__(self) -> str:
        # Short, like the plan's (the whole findings ran to 13,000 characters): the
        # plan, the time, the suggestion and counts. The rest is for deliberate
        # displays (``_repr_html_``) and stays reachable as attributes.
        decision = self.suggestion.decision
        return (
            f"Findings({short_ref(self.plan_id)}, as_of={self.as_of.isoformat()}, "
            f"phase={self.phase.value}, suggestion={decision.value if decision else None}, "
            f"objectives={len(self.objectives)}, measures={len(self.measures)}, "
            f"alerts={len(self.alerts)})"
        )

    def measure(self, instrument: str) -> MeasureFinding:
        """The finding for ``instrument``; ``KeyError`` when it was not scored."""
        for m in self.measures:
            if m.instrument == instrument:
                return m
        raise UnknownReferenceError("instrument", "the code of an instrument scored here")


#: The findings' records as their constructors build them, without frozen attrs' store
#: per field (see :func:`treatplan._fast.frozen_maker`): every review makes each.
_new_objective_finding = frozen_maker(ObjectiveFinding)
_new_measure_finding = frozen_maker(MeasureFinding)
_new_attendance = frozen_maker(AttendanceSummary)
_new_suggestion = frozen_maker(Suggestion)
_new_findings = frozen_maker(Findings)


# --------------------------------------------------------------------------- review
def review(plan: TreatmentPlan, as_of: datetime, policy: ReviewPolicy | None = None) -> Findings:
    """What a review finds in ``plan`` as it stood at ``as_of``.

    Each assessment is scored once. Objectives and goals are read as they are
    now (the plan keeps no history of them); every record (sessions, scores,
    reviews, transitions) counts only up to ``as_of``.
    """
    check_plan(plan)
    v.check_time_argument(as_of, "as_of")
    v.check_argument(policy, ReviewPolicy, "policy", "a ReviewPolicy")
    chosen = policy or _DEFAULT_POLICY
    view = as_of_view(plan, as_of)
    state = state_of(view)
    upto = series_until(view, as_of)
    due = review_due_date(view, chosen.cadence)
    status = (
        status_on(view.plan_id, due, as_of.date(), chosen.cadence.grace_days, 0)
        if due is not None
        else ReviewDue(view.plan_id, ReviewStatus.NOT_APPLICABLE, None)
    )
    # Risk items endorsed at any score since the previous review are reported, not only
    # those on the latest score (every score when there is no previous review).
    since = view.reviews[-1].at if view.reviews else EPOCH
    charts: dict[str, tuple[TrackPoint, ...]] = {}
    monitored: list[str] = []
    alert_list = collect(
        view,
        as_of,
        chosen.alerts,
        due,
        chosen.cadence.grace_days,
        risk_since=since,
        upto=upto,
        charts=charts,
        monitored_out=monitored,
    )

    # Loops, not generators: a review is held at many sessions of a simulated episode.
    by_code: dict[str, MeasureFinding] = {}
    for code, series in upto.items():
        by_code[code] = _measure_finding(view, code, series, chosen, charts.get(code))
    measures = tuple(by_code.values())
    outcome_codes = [c for c in monitored if c != chosen.alerts.alliance_instrument]
    signal = _worst([by_code[c].signal for c in outcome_codes])
    deteriorated = False  # any() of them (a loop: see _measure_finding)
    for c in outcome_codes:
        if by_code[c].reliable_deterioration:
            deteriorated = True
            break
    step = step_advice(
        current_step(view, chosen.stepped_care), signal, deteriorated, chosen.stepped_care
    )

    limit = v.instant(as_of)
    found_objectives: list[ObjectiveFinding] = []
    for o in live_objectives(view):
        found_objectives.append(_objective_finding(view, o, as_of, limit, by_code, state))
    objectives = tuple(found_objectives)
    made: list[Verdict] = []
    if view.discharge_criteria is not None:
        made.append(verdict_of(view.discharge_criteria, view, state, limit))
    for rule in chosen.rules:
        made.append(verdict_of(rule, view, state, limit))
    verdicts = tuple(made)
    suggestion = _suggest(alert_list, verdicts, step, objectives)
    if view.phase is _PHASE_CLOSED:
        outcome = view.outcome.value if view.outcome is not None else "closed"
        suggestion = Suggestion(None, (f"episode closed ({outcome}): nothing to decide",))
    reviewable = view.phase in REVIEW_PHASES
    found = _new_findings(
        plan_id=view.plan_id,
        as_of=as_of,
        phase=view.phase,
        objectives=objectives,
        measures=measures,
        attendance=_attendance(view, state),
        alerts=alert_list,
        verdicts=verdicts,
        step=step,
        suggestion=suggestion,
        review_status=status.status,
        review_due=due,
        next_review=next_review_date(view, as_of, chosen.cadence) if reviewable else None,
        talking_therapies=_talking_therapies(view, state) if chosen.talking_therapies else None,
        gas_t_score=plan_gas_t_score(view),
        alert_log=_alert_log(view, as_of, state, chosen.alerts) if chosen.alert_log else (),
    )
    _REVIEWED.put((plan, chosen.cadence), found)
    return found


#: The plan version and cadence each recent Findings was computed from, so that
#: record_findings knows fresh findings (and their next review date) without
#: reviewing the plan again.
_REVIEWED: IdentityCache[tuple[TreatmentPlan, ReviewCadence]] = IdentityCache(64)


def _current(
    findings: Findings, plan: TreatmentPlan, as_of: datetime, policy: ReviewPolicy
) -> bool:
    """Whether ``findings`` still describe ``plan`` at ``as_of``: reviewed from a version
    with the very same records (a revision of goals or interventions since, the usual
    answer to a review, changes none), or else equal to a review of it now."""
    reviewed = _REVIEWED.get_one(findings)
    source = reviewed[0] if reviewed is not None else None
    if source is not None and all(
        getattr(source, name) is getattr(plan, name)
        for name in ("sessions", "assessments", "reviews")
    ):
        return True
    return review(plan, as_of, policy) == findings


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
    plan: TreatmentPlan, as_of: datetime, state: PlanState, policy: AlertPolicy
) -> tuple[Alert, ...]:
    """The score alerts raised at each scoring time up to ``as_of`` (scores reused)."""
    limit = v.instant(as_of)
    times = sorted(
        {p.at for code in state.codes() for p in state.series(code).points() if p.at <= limit}
    )
    log: list[Alert] = []
    for when in times:
        log.extend(
            a
            for a in collect(plan, when, policy, None)
            if a.kind in _SCORE_ALERTS and a.at is not None and v.instant(a.at) == when
        )
    return tuple(log)


def _talking_therapies(plan: TreatmentPlan, state: PlanState) -> TalkingTherapiesOutcome | None:
    if not state.series("PHQ-9"):
        return None
    return talking_therapies_outcome(plan)


_SIGNAL_ORDER = {TrackSignal.GREEN: 0, TrackSignal.AMBER: 1, TrackSignal.RED: 2}


def _worst(signals: Iterable[TrackSignal | None]) -> TrackSignal | None:
    known = [s for s in signals if s is not None]
    return max(known, key=_SIGNAL_ORDER.__getitem__) if known else None


def _measure_finding(
    plan: TreatmentPlan,
    code: str,
    series: Series,
    policy: ReviewPolicy,
    ends_chart: tuple[TrackPoint, ...] | None = None,
) -> MeasureFinding:
    """``ends_chart``: the alerts' chart of the first and latest scores of ``code``
    (with the same response), when they drew it: the chart reported without
    ``policy.charts``."""
    instrument = plan.instrument(code)
    base = series.first_scored()
    last = series.latest_scored()
    # The alliance is a process measure: no expected response to track it against.
    tracked = code != policy.alerts.alliance_instrument
    if policy.charts:
        points = chart(instrument, series.points(), policy.alerts.response, tracked)
    elif ends_chart is not None:
        points = ends_chart
    else:
        ends = (
            () if base is None or last is None else (base, last) if last is not base else (base,)
        )
        points = chart(instrument, ends, policy.alerts.response, tracked)
    change = None
    if base is not None and last is not None and last is not base:
        change = score_change(instrument, base.score, last.score)
    latest_chart = None  # the latest point with a signal (a loop: see _monitoring.chart)
    for t in reversed(points):
        if t.signal is not None:
            latest_chart = t
            break
    # The scores read directly (ScoredPoint's total and assessment_id are properties).
    first = base.score if base is not None else None
    latest = last.score if last is not None else None
    base_total = first.total if first is not None else None
    last_total = latest.total if latest is not None else None
    return _new_measure_finding(
        instrument=code,
        scores=len(series),
        baseline=base_total,
        baseline_id=first.assessment_id if first is not None else None,
        latest=last_total,
        latest_id=latest.assessment_id if latest is not None else None,
        change=(last_total - base_total)
        if base_total is not None and last_total is not None
        else None,
        category=change.category if change is not None else None,
        reliable_improvement=change.reliable_improvement if change is not None else None,
        reliable_deterioration=change.reliable_deterioration if change is not None else None,
        band=latest.band if latest is not None else None,
        case=latest.case if latest is not None else None,
        signal=latest_chart.signal if latest_chart is not None else None,
        trajectory=points if policy.charts else (),
    )


_MOVING = frozenset({AchievementStatus.IN_PROGRESS, AchievementStatus.IMPROVING})
# Enum members read at every review, looked up once: a class attribute access on an
# enum costs several times a module global's.
_AT_CANCELLED_BY_SERVICE = Attendance.CANCELLED_BY_SERVICE
_AT_DID_NOT_ATTEND = Attendance.DID_NOT_ATTEND
_DECIDE_BEGIN_ENDING = ReviewDecision.BEGIN_ENDING
_DECIDE_CONTINUE = ReviewDecision.CONTINUE
_DECIDE_REVISE_PLAN = ReviewDecision.REVISE_PLAN
_KIND_ALLIANCE_DROP = AlertKind.ALLIANCE_DROP
_KIND_ALLIANCE_LOW = AlertKind.ALLIANCE_LOW
_KIND_NOT_ON_TRACK = AlertKind.NOT_ON_TRACK
_KIND_RELIABLE_DETERIORATION = AlertKind.RELIABLE_DETERIORATION
_KIND_RISK_ITEM = AlertKind.RISK_ITEM
_KIND_RISK_NOT_ASSESSED = AlertKind.RISK_NOT_ASSESSED
_LEVEL_URGENT = AlertLevel.URGENT
_PHASE_CLOSED = Phase.CLOSED
_RULE_DISCHARGE = RuleAction.DISCHARGE
_RULE_REVIEW = RuleAction.REVIEW
_RULE_WARN = RuleAction.WARN
_SIGNAL_GREEN = TrackSignal.GREEN
_SOURCE_MEASURE = AchievementSource.MEASURE
_SOURCE_NONE = AchievementSource.NONE
_SOURCE_RECORDED = AchievementSource.RECORDED
_STATE_ACHIEVED = ObjectiveState.ACHIEVED
_STATE_NOT_ASSESSED = ObjectiveState.NOT_ASSESSED
_STATE_OFF_TRACK = ObjectiveState.OFF_TRACK
_STATE_ON_TRACK = ObjectiveState.ON_TRACK
_STATE_OVERDUE = ObjectiveState.OVERDUE
#: Each signal's text (formatting an enum member runs Python code; every review does).
_SIGNAL_TEXT = {s: s.value for s in TrackSignal}


def _objective_finding(
    plan: TreatmentPlan,
    o: Objective,
    as_of: datetime,
    limit: datetime,
    measures: Mapping[str, MeasureFinding],
    state: PlanState,
) -> ObjectiveFinding:
    """Where objective ``o`` stands: achieved exactly when the library's one answer
    (:func:`~treatplan._state.objective_achievement`) says so; otherwise on track,
    off track, overdue or not assessed. ``limit`` is ``as_of`` in UTC."""
    achievement = achievement_of(plan, state, o, limit)
    source = achievement.source
    record = state.progress.get(o.id)
    level = record[2] if record is not None else None
    past_due = as_of.date() > o.target_date
    detail, evidence = achievement.detail, achievement.evidence
    found: ObjectiveState
    if achievement.achieved:
        found = _STATE_ACHIEVED
    elif source is _SOURCE_NONE:
        found, evidence = (_STATE_OVERDUE if past_due else _STATE_NOT_ASSESSED), ()
    elif past_due:
        found, detail = _STATE_OVERDUE, detail + f" by {o.target_date}"
    elif source is _SOURCE_MEASURE:
        assert isinstance(o.target, MeasureTarget)
        m = measures.get(o.target.instrument)
        signal = m.signal if m is not None else None
        found = _STATE_ON_TRACK if signal is None or signal is _SIGNAL_GREEN else _STATE_OFF_TRACK
        detail += f" ({_SIGNAL_TEXT[signal] if signal is not None else 'no signal'})"
    else:
        # A recorded verdict, a GAS level below target, or review progress: on track
        # while the latest review records it moving.
        moving = source is not _SOURCE_RECORDED and (
            record is not None and record[1].achievement in _MOVING
        )
        found = _STATE_ON_TRACK if moving else _STATE_OFF_TRACK
    return _new_objective_finding(o.id, found, o.target_date, detail, evidence, level, source)


def _attendance(plan: TreatmentPlan, state: PlanState) -> AttendanceSummary:
    n = state.n_sessions
    run = 0
    for s in reversed(plan.sessions):
        if s.attendance is _AT_DID_NOT_ATTEND:
            run += 1
        elif s.attendance is not _AT_CANCELLED_BY_SERVICE:
            break
    offered = state.offered(n)
    attended = state.attended(n)
    return _new_attendance(
        offered=offered,
        attended=attended,
        did_not_attend=state.did_not_attend(n),
        cancelled_by_client=state.client_cancelled(n),
        cancelled_by_service=n - offered,
        consecutive_missed=run,
        rate=attended / offered if offered else None,
    )


#: Alerts that outweigh a discharge rule, with the reason a suggestion gives.
_OUTWEIGHING_ALERTS = (
    (_KIND_RELIABLE_DETERIORATION, "reliable deterioration alert: review before ending"),
    (_KIND_NOT_ON_TRACK, "not-on-track alert: review before ending"),
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
    if step.decision is not _DECIDE_CONTINUE:
        decision = step.decision
        reasons.append(step.reason)
    reasons.extend(f"{f.rule}: {f.reason}" for f in fired if f.action is _RULE_WARN)
    discharge = [f for f in fired if f.action is _RULE_DISCHARGE]
    review_rules = [f for f in fired if f.action is _RULE_REVIEW]
    if _KIND_RISK_ITEM in kinds:
        # PHQ-9 item 9 >= 1 is a risk flag (Kroenke, Spitzer & Williams 2001): never
        # suggest beginning to end while it stands unreviewed.
        reasons.append("risk item endorsed: review the risk assessment and safety plan")
        if decision is None:
            decision = _DECIDE_REVISE_PLAN
    if review_rules:
        reasons.extend(f"{f.rule}: {f.reason}" for f in review_rules)
        if decision is None:
            decision = _DECIDE_REVISE_PLAN
    # Reliable deterioration means review, step up or refer rather than end
    # (docs/references.md#ending-therapy), whether or not the stepped-care policy steps up on it.
    for kind, text in _OUTWEIGHING_ALERTS:
        if kind in kinds:
            reasons.append(text)
            if decision is None:
                decision = _DECIDE_REVISE_PLAN
    if discharge:
        text = "; ".join(f"{f.rule}: {f.reason}" for f in discharge)
        if decision is None:
            decision = _DECIDE_BEGIN_ENDING
            reasons.append("ending rule fired: " + text)
        else:
            reasons.append("ending rule fired, but outweighed: " + text)
    lagging = [f.objective for f in objectives if f.state in (_STATE_OFF_TRACK, _STATE_OVERDUE)]
    if lagging:
        reasons.append("objectives off track or overdue: " + ", ".join(lagging))
        if decision is None:
            decision = _DECIDE_REVISE_PLAN
    for kind in (_KIND_ALLIANCE_LOW, _KIND_ALLIANCE_DROP):
        if kind in kinds:
            reasons.append("alliance alert: discuss the relationship and the fit of therapy")
            break
    if decision is None:
        decision = _DECIDE_CONTINUE
        reasons.append("on track: continue")
        if objectives and all(f.state is _STATE_ACHIEVED for f in objectives):
            # Ending is the plan's ending rules' call; say why it is not suggested.
            reasons.append(
                "every objective achieved, but no ending rule fired: "
                "consider whether to plan the ending"
            )
    if _KIND_RISK_NOT_ASSESSED in kinds:
        reasons.append("risk item not assessed at the latest score: ask about risk")
    urgent = sum(1 for a in found if a.level is _LEVEL_URGENT)
    if urgent:
        reasons.append(f"{urgent} urgent alert{'s' if urgent != 1 else ''}")
    return _new_suggestion(decision, tuple(reasons))


# --------------------------------------------------------------------------- recording
_PROGRESS = {
    ObjectiveState.ACHIEVED: AchievementStatus.ACHIEVED,
    ObjectiveState.ON_TRACK: AchievementStatus.IMPROVING,
    ObjectiveState.OFF_TRACK: AchievementStatus.NO_PROGRESS,
    ObjectiveState.OVERDUE: AchievementStatus.NOT_ACHIEVED,
    ObjectiveState.NOT_ASSESSED: AchievementStatus.IN_PROGRESS,
}


def _in_range(due: date | None) -> date | None:
    """``due``, or ``None`` when it falls after the last date a plan can hold (a review
    recorded in the plan's last weeks has no next review)."""
    return due if due is None or due.year < v.MAX_INSTANT.year else None


def record_findings(
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

    ``findings``, when given, must be what :func:`review` found in this plan at
    ``as_of`` (revising its content since, as a review often decides, is fine):
    findings of another plan, another time, or a version of this one with other
    records (a score recorded since) raise :class:`ArgumentError`.
    """
    check_plan(plan)
    v.check_time_argument(as_of, "as_of")
    if not v.is_ref(review_id):
        raise ArgumentError(
            "review_id", "an opaque reference (1-128 letters, digits, . _ : / # -)"
        )
    v.check_argument(policy, ReviewPolicy, "policy", "a ReviewPolicy")
    v.check_argument(findings, Findings, "findings", "the Findings of treatplan.review")
    if progress is not None and (
        isinstance(progress, ObjectiveProgress | str) or not isinstance(progress, Iterable)
    ):
        raise ArgumentError("progress", "an iterable of ObjectiveProgress")
    chosen = policy or _DEFAULT_POLICY
    if findings is not None and (
        findings.plan_id != plan.plan_id
        or v.instant(findings.as_of) != v.instant(as_of)
        or not _current(findings, plan, as_of, chosen)
    ):
        # Findings of another plan, of this one at another time, or of another
        # version of it (a score recorded since) would record a decision and
        # progress the plan's own data at as_of does not support.
        raise ArgumentError(
            "findings", "the Findings of treatplan.review for this plan at as_of (and policy)"
        )
    found = findings if findings is not None else review(plan, as_of, chosen)
    record = findings_record(
        plan,
        as_of,
        found,
        chosen.cadence,
        review_id,
        by,
        decision,
        tuple(progress) if progress is not None else None,
        client_requested_ending,
        note,
    )
    return record_review(plan, record)


#: The record makers of :func:`findings_record`: the validated constructors, called
#: with every field in order.
_CHECKED_MAKERS: tuple[Callable[..., ObjectiveProgress], Callable[..., ProgressReview]] = (
    ObjectiveProgress,
    ProgressReview,
)


def findings_record(
    plan: TreatmentPlan,
    as_of: datetime,
    found: Findings,
    cadence: ReviewCadence,
    review_id: str,
    by: str | None,
    decision: ReviewDecision | None,
    progress: tuple[ObjectiveProgress, ...] | None,
    client_requested_ending: bool,
    note: str | None,
    makers: tuple[
        Callable[..., ObjectiveProgress], Callable[..., ProgressReview]
    ] = _CHECKED_MAKERS,
) -> ProgressReview:
    """The review :func:`record_findings` records, its arguments checked: the decision
    (else the suggested one), progress per objective (else from the findings) and the
    next review date from ``cadence``. ``makers`` make each progress record and the
    review from every field in order (the validated constructors; the simulator's
    engine passes :func:`treatplan._fast.drawn_progress` and
    :func:`~treatplan._fast.drawn_review`)."""
    make_progress, make_review = makers
    records = (
        progress
        if progress is not None
        else tuple(
            make_progress(f.objective, _PROGRESS[f.state], f.gas_level, None)
            for f in found.objectives
        )
    )
    return make_review(
        review_id,
        as_of,
        # A closed plan has no suggestion; record_review refuses it anyway.
        decision or found.suggestion.decision or _DECIDE_CONTINUE,
        records,
        _in_range(_next_review(found, plan, as_of, cadence)),
        by,
        client_requested_ending,
        note,
    )


def _next_review(
    found: Findings, plan: TreatmentPlan, as_of: datetime, cadence: ReviewCadence
) -> date | None:
    """:func:`next_review_date` of ``plan`` after ``as_of``: the findings' own when they
    computed it for this very time, cadence and interventions (all it reads)."""
    reviewed = _REVIEWED.get_one(found)
    if (
        reviewed is not None
        and reviewed[1] is cadence
        and reviewed[0].interventions is plan.interventions
        and found.as_of is as_of
        and found.phase in REVIEW_PHASES  # else the findings have none
    ):
        return found.next_review
    return next_review_date(plan, as_of, cadence)


_DEFAULT_POLICY = ReviewPolicy()
