"""The caseload: referrals, a waiting list, and each client's episode as a real plan.

Two stages keep results independent of how clients are split across workers:

1. :class:`WaitingList` (serial, cheap, no clinical logic): referral times and
   first-come-first-served starts from the service's intake capacity, drawn
   from each client's ``"intake"`` stream. A client who would wait longer than
   their patience declines.
2. :func:`simulate_client` (parallel): the episode itself, drawn from the
   client's ``"clinical"`` stream. The client is a real
   :class:`~treatplan.TreatmentPlan` taken through :meth:`TreatmentPlan.refer`,
   :func:`~treatplan.fire`, :func:`~treatplan.record_assessment`,
   :func:`~treatplan.record_session`, :func:`~treatplan.review` with
   :func:`~treatplan.record_findings` (which records through
   :func:`~treatplan.record_review`) and :func:`~treatplan.stepped.initial_step`; after
   every session the scenario's ending rules (real treatplan rules) are
   evaluated on the plan, and their verdict decides how the episode ends. Its
   outcome categories are :func:`~treatplan.outcomes.talking_therapies_outcome` of the
   final plan.

Capacity is modelled as intake slots (therapists x caseload / course weeks),
not as slots freed when each episode ends: that keeps stage 1 independent of
the clinical outcomes, so stage 2 can run on any number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs

from .._alerts import Alert, AlertKind, alerts
from .._cadence import ReviewCadence
from .._change import change_between
from .._errors import ArgumentError, TreatplanError
from .._evaluation import verdict_of
from .._fast import (
    drawn_assessment,
    drawn_progress,
    drawn_review,
    drawn_session,
    frozen_maker,
    simulated_record,
    simulated_referral,
    simulated_review,
    simulated_revision,
)
from .._instruments import GAD7, PHQ9, Instrument
from .._lifecycle import Event, fire, record_assessment, record_session, revise
from .._memo import IdentityCache
from .._model import (
    Assessment,
    Attendance,
    BarrierKind,
    ClientFactors,
    Comparator,
    Goal,
    GoalDomain,
    Intervention,
    MeasureTarget,
    Modality,
    Objective,
    Phase,
    PresentingProblem,
    Readiness,
    ReviewDecision,
    Session,
    SupportLevel,
    TreatmentPlan,
)
from .._nhstt import TalkingTherapiesOutcome, talking_therapies_outcome
from .._records import SlottedRecord, record_repr
from .._review import Findings, ReviewPolicy, findings_record, record_findings, review
from .._state import keep_state, state_of, with_assessment, with_review, with_session
from .._stepped import SteppedCarePolicy
from .._transitions import EpisodeOutcome
from .._validation import MAX_INSTANT
from . import _checks as checks
from ._dynamics import ClientTraits, ItemPatterns, drawn_traits, observe, scores_after, sem
from ._policy import DEFAULT_POLICY, NON_ATTENDANCE_RULES, ClientState, Ending, ServicePolicy
from ._random import client_stream
from ._scenario import Scenario

__all__ = [
    "CLIENT_COLUMNS",
    "EVENT_COLUMNS",
    "NON_ATTENDANCE_RULES",
    "SESSION_COLUMNS",
    "VERIFY_EVERY",
    "Admission",
    "ClientResult",
    "WaitingList",
    "max_clients",
    "simulate_client",
]


#: Columns of the clients table: one row per referral. Factors, intake scores, the
#: wait, how the episode ended (phase, outcome, the rules that fired), sessions and
#: reviews, first and last scores, and the NHS Talking Therapies categories (empty
#: unless the episode counts).
CLIENT_COLUMNS = (
    "client",
    "referred",
    "readiness",
    "support",
    "barriers",
    "intake_phq9",
    "intake_gad7",
    "waited_days",
    "started",
    "phase",
    "outcome",
    "ended_by",
    "closed",
    "sessions_offered",
    "sessions_attended",
    "reviews",
    "step",
    "baseline_phq9",
    "baseline_gad7",
    "last_phq9",
    "last_gad7",
    "counted",
    "case_at_start",
    "recovered",
    "reliably_improved",
    "reliably_deteriorated",
    "reliable_recovery",
    "improved_by_session_8",
    "first_reliable_improvement",
)
#: Columns of the sessions table: one row per booked session (``alerts`` are alert
#: kinds, ``;``-separated).
SESSION_COLUMNS = ("client", "session", "at", "attendance", "phq9", "gad7", "alerts")
#: Columns of the events table: one row per lifecycle transition of each plan.
EVENT_COLUMNS = ("client", "seq", "event", "source", "target", "at", "outcome", "reason")

_BY = "sim-service"
_CLINICIAN = "sim-therapist"
_ATTEND_TIME = time(9, 0, tzinfo=UTC)
_ATTENDED, _DID_NOT_ATTEND = Attendance.ATTENDED, Attendance.DID_NOT_ATTEND
# The highest totals an observed score is clipped to (the instruments' ranges, from 0).
_PHQ9_MAX, _GAD7_MAX = 27, 21
# PHQ-9 item 9 (thoughts of self-harm) is the least endorsed item (Kroenke et al. 2001).
_PHQ9_ITEM_WEIGHTS = (1.0, 1.0, 1.0, 1.2, 1.0, 1.0, 1.0, 0.8, 0.15)


@attrs.frozen
class Admission(SlottedRecord):
    """Stage-1 result for one client: when referred and when (or whether) treatment starts."""

    __repr__ = record_repr

    index: int
    referred_day: int
    start_day: int | None
    declined_day: int | None
    declined_reason: str | None


#: ``Admission(...)`` as its constructor builds it, without frozen attrs' store per field
#: (see :func:`treatplan._fast.frozen_maker`): one per client.
_new_admission = frozen_maker(Admission)


class WaitingList:
    """First-come-first-served intake at the scenario's capacity (serial and cheap).

    Call :meth:`admit` for clients ``0, 1, 2, ...`` in order; the state is only
    the time the next intake slot frees up.
    """

    def __init__(self, scenario: Scenario, seed: int) -> None:
        checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
        self.scenario = scenario
        self.seed = checks.seed(seed)
        self._next_slot = 0.0
        self._days_per_referral = 7.0 / scenario.capacity.referrals_per_week
        self._days_per_start = 7.0 / scenario.capacity.starts_per_week

    def admit(self, index: int) -> Admission:
        """The admission of client ``index`` (call in index order)."""
        rng = client_stream(self.seed, index, "intake")
        pop = self.scenario.population
        arrival = (index + rng.random()) * self._days_per_referral
        referred_day = int(arrival)
        patience = rng.expovariate(1.0 / (pop.mean_patience_weeks * 7.0))
        if rng.random() < pop.decline_at_referral:
            return _new_admission(index, referred_day, None, referred_day, "declined at referral")
        start = max(arrival, self._next_slot)
        if start - arrival > patience:
            declined = referred_day + max(1, int(patience))
            return _new_admission(index, referred_day, None, declined, "declined while waiting")
        self._next_slot = start + self._days_per_start
        start_day = max(referred_day, math.ceil(start))
        return _new_admission(index, referred_day, start_day, None, None)

    def admissions(self, start: int, stop: int) -> list[Admission]:
        """Admissions of clients ``start`` to ``stop - 1`` (must continue from the last call)."""
        return [self.admit(i) for i in range(start, stop)]


#: The margin a client's wait may take beyond referral, in mean patiences: a client
#: waits no longer than their patience, an exponential draw that exceeds 40 means
#: with probability e**-40 (about 4e-18).
_PATIENCE_MARGIN = 40


def max_clients(scenario: Scenario) -> int:
    """How many clients ``scenario`` can simulate with every date in the supported range.

    Referrals arrive at ``capacity.referrals_per_week`` from ``scenario.start``; each
    client is followed for ``horizon_weeks`` and may wait up to their patience
    first. Every plan date must fall before 2200 (see
    :data:`treatplan.document.MAX_INSTANT`), so a run of more clients is refused
    before it starts rather than failing part-way. 0 when not even one fits.
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    last = (MAX_INSTANT - timedelta(days=1)).date()
    # Followed for the horizon, with a goal dated 16 weeks after the start (see
    # _simulate), after a wait of at most the patience margin.
    reserve = scenario.horizon_weeks * 7 + 16 * 7
    reserve += math.ceil(_PATIENCE_MARGIN * scenario.population.mean_patience_weeks * 7)
    days = (last - scenario.start).days - reserve
    if days <= 0:
        return 0
    # Client i is referred before day (i + 1) * 7 / referrals_per_week.
    return min(int(days * scenario.capacity.referrals_per_week / 7), checks.MAX_CLIENTS)


@attrs.frozen
class ClientResult(SlottedRecord):
    """One client's rows: the client row, its session rows and its event rows."""

    __repr__ = record_repr

    client: tuple[Any, ...]
    sessions: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    dropout_at: int | None  # attended sessions when the episode closed as dropped out
    censored_at: int | None  # attended sessions when followed without drop-out (or None)
    plan: TreatmentPlan | None = None  # the client's final plan, when asked for


#: How many days' times (and their texts) a process keeps: a client's records span at
#: most its wait and its horizon, and clients come in referral order, so the days in
#: use are a window of a few hundred that only moves forward. Bounded well below a
#: long run's span, so that a process's memory does not grow with its clients.
_DAYS_KEPT = 4096


#: ``ClientResult(...)`` as its constructor builds it (see :data:`_new_admission`).
_new_result = frozen_maker(ClientResult)


class _Context:
    """Per-scenario constants, built once per process."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.epoch = datetime.combine(scenario.start, _ATTEND_TIME)
        self.phq_items = ItemPatterns(PHQ9, _PHQ9_ITEM_WEIGHTS)
        self.gad_items = ItemPatterns(GAD7)
        self.phq_sem = sem(scenario.response.phq9_sd, scenario.response.phq9_reliability)
        self.gad_sem = sem(scenario.response.gad7_sd, scenario.response.gad7_reliability)
        self.rules = scenario.policy.ending_rules
        self.review_policy = ReviewPolicy(
            cadence=ReviewCadence(every_sessions=scenario.policy.review_every, every_weeks=None),
            stepped_care=SteppedCarePolicy(more_severe_from=scenario.policy.step_up_threshold),
            rules=(),
            # The engine reads the latest signal, the suggestion and the alerts, never
            # the per-score chart or the episode outcome: leave both out (faster).
            talking_therapies=False,
            charts=False,
        )
        self.improved_phq = _improvement(PHQ9)
        self.improved_gad = _improvement(GAD7)
        self.problem = PresentingProblem(
            id="problem-1",
            description="Low mood and worry (simulated client)",
        )
        self.cbt = Intervention(
            id="cbt",
            modality=Modality.CBT,
            technique="High-intensity CBT for depression and anxiety",
            serves=("obj-phq9", "obj-gad7"),
        )
        self.self_help = Intervention(
            id="self-help",
            modality=Modality.GUIDED_SELF_HELP,
            technique="Guided self-help (low intensity)",
            serves=("obj-phq9", "obj-gad7"),
        )
        # Caseness cut-offs from the instrument definitions (NHS Talking Therapies).
        self._goals: dict[date, Goal] = {}
        self._days: dict[int, datetime] = {}
        self._texts: dict[datetime, str] = {}
        self.phq_target = MeasureTarget("PHQ-9", Comparator.BELOW, PHQ9.caseness_cutoff or 10)
        self.gad_target = MeasureTarget("GAD-7", Comparator.BELOW, GAD7.caseness_cutoff or 8)
        # Whether each total the engine can observe meets its target (the target's own
        # met_by, asked once per total: the engine asks after every attended session).
        self.phq_met = tuple(self.phq_target.met_by(t) for t in range(_PHQ9_MAX + 1))
        self.gad_met = tuple(self.gad_target.met_by(t) for t in range(_GAD7_MAX + 1))

    def at(self, day: int) -> datetime:
        """The engine's time on ``day`` (days from the scenario's start): one value per
        day, shared by every record and event of that day."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= _DAYS_KEPT:
                self._days.clear()  # bounded: each client's days move forward
            found = self._days[day] = self.epoch + timedelta(days=day)
        return found

    def text(self, at: datetime) -> str:
        """``at.isoformat()``, made once per instant: the tables write each session's
        and each transition's time, and a client's records share a few days. Every time
        the engine records is one of :meth:`at` (UTC), so equal instants, found here by
        equality, have the same text."""
        found = self._texts.get(at)
        if found is None:
            if len(self._texts) >= _DAYS_KEPT:
                self._texts.clear()  # bounded: each client's days move forward
            found = self._texts[at] = at.isoformat()
        return found

    def goal(self, target_date: date) -> Goal:
        """The client's goal, due on ``target_date``: one (immutable) value per date,
        shared by the clients who start the same day."""
        goal = self._goals.get(target_date)
        if goal is None:
            if len(self._goals) >= 1024:
                self._goals.clear()  # bounded: start days only move forward
            goal = self._goals[target_date] = self._goal(target_date)
        return goal

    def _goal(self, target_date: date) -> Goal:
        return Goal(
            id="goal-1",
            statement="Feel like myself again",
            domain=GoalDomain.EMOTIONAL_WELLBEING,
            addresses=("problem-1",),
            objectives=(
                Objective(
                    "obj-phq9",
                    "PHQ-9 below caseness",
                    self.phq_target,
                    target_date,
                ),
                Objective(
                    "obj-gad7",
                    "GAD-7 below caseness",
                    self.gad_target,
                    target_date,
                ),
            ),
        )


def _improvement(instrument: Instrument) -> Callable[[int, int], bool]:
    """Whether ``instrument`` moved reliably from one total to another, by the library's
    change arithmetic, remembered per pair of totals (at most one entry per pair of the
    instrument's totals: the answer depends on nothing else)."""
    known: dict[tuple[int, int], bool] = {}

    def improved(before: int, after: int) -> bool:
        key = (before, after)
        found = known.get(key)
        if found is None:
            change = change_between(instrument, before, after)
            found = known[key] = change is not None and change.reliable_improvement
        return found

    return improved


_CONTEXTS: list[_Context] = []


def context(scenario: Scenario) -> _Context:
    """The cached per-process context of ``scenario`` (the last one used)."""
    if _CONTEXTS:
        cached = _CONTEXTS[0]
        if cached.scenario is scenario:
            return cached
        if cached.scenario == scenario:
            # An equal copy (each chunk arrives unpickled): compare once per chunk.
            cached.scenario = scenario
            return cached
    _CONTEXTS[:] = [_Context(scenario)]
    return _CONTEXTS[0]


def _reliably_improved(ctx: _Context, baseline: tuple[int, int], now: tuple[int, int]) -> bool:
    """Reliable improvement on either measure (the library's change arithmetic, memoised
    on the two totals: the answer depends on nothing else)."""
    return ctx.improved_phq(baseline[0], now[0]) or ctx.improved_gad(baseline[1], now[1])


class _Builder:
    """How the engine makes and records records: the public, checked functions or the
    simulator's fast path.

    The fast path (:mod:`treatplan._fast`) builds the very same values from parts
    the engine drew itself and refers, appends or revises without re-checking what
    the engine guarantees by construction (see :func:`treatplan._fast.simulated_referral`,
    :func:`~treatplan._fast.simulated_record` and
    :func:`~treatplan._fast.simulated_revision`); the verification sample rebuilds
    clients with the checked constructors, :meth:`~treatplan.TreatmentPlan.refer`,
    :func:`~treatplan.record_session`, :func:`~treatplan.record_assessment` and
    :func:`~treatplan.revise`, and requires equal plans and rows.
    """

    __slots__ = (
        "assessment",
        "record_assessment",
        "record_findings",
        "record_session",
        "refer",
        "revise",
        "session",
    )

    def __init__(self, checked: bool) -> None:
        self.assessment: Callable[[str, str, datetime, tuple[int, ...]], Assessment]
        self.session: Callable[..., Session]
        self.record_assessment: Callable[[TreatmentPlan, Assessment], TreatmentPlan]
        self.record_session: Callable[[TreatmentPlan, Session], TreatmentPlan]
        self.revise: Callable[..., TreatmentPlan]
        self.refer: Callable[[str, str, datetime, str, ClientFactors], TreatmentPlan]
        self.record_findings: Callable[..., TreatmentPlan]
        if checked:
            self.assessment = _checked_assessment
            self.session = _checked_session
            self.record_assessment = record_assessment
            self.record_session = record_session
            self.revise = revise
            self.refer = _checked_referral
            self.record_findings = record_findings
        else:
            self.assessment = drawn_assessment
            self.session = drawn_session
            self.record_assessment = _drawn_assessment_recorded
            self.record_session = _drawn_session_recorded
            self.revise = _drawn_revision
            self.refer = simulated_referral  # safe: the engine's own ids, times, factors
            self.record_findings = _drawn_findings_recorded


def _drawn_assessment_recorded(plan: TreatmentPlan, assessment: Assessment) -> TreatmentPlan:
    # Safe: a screening or baseline score the engine drew (see simulated_record).
    return simulated_record(plan, "assessments", assessment, state_of(plan), with_assessment)


def _drawn_revision(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    # Safe: the engine's own revisions, in phases that allow them, with the context's
    # content (see simulated_revision); content only, so the derived state carries over.
    return keep_state(plan, simulated_revision(plan, seen=_REVISED_WITH, **changes))


#: The content the engine's revisions have been checked with (see simulated_revision).
_REVISED_WITH: IdentityCache[bool] = IdentityCache(1024)


def _drawn_session_recorded(plan: TreatmentPlan, session: Session) -> TreatmentPlan:
    # Safe: a session the engine made, after every earlier record (see simulated_record).
    return simulated_record(plan, "sessions", session, state_of(plan), with_session)


def _drawn_findings_recorded(
    plan: TreatmentPlan,
    as_of: datetime,
    *,
    review_id: str,
    by: str,
    decision: ReviewDecision,
    policy: ReviewPolicy,
    findings: Findings,
    client_requested_ending: bool,
) -> TreatmentPlan:
    """:func:`~treatplan.record_findings` of the findings of a review the engine just
    held on ``plan`` at ``as_of``: the same record (:func:`treatplan._review.findings_record`),
    made and appended without re-checking what holds by construction (see
    :func:`treatplan._fast.drawn_review` and :func:`~treatplan._fast.simulated_review`)."""
    if type(decision) is not ReviewDecision or type(client_requested_ending) is not bool:
        # A policy's decision of another kind: the checked path says what is wrong.
        return record_findings(
            plan,
            as_of,
            review_id=review_id,
            by=by,
            decision=decision,
            policy=policy,
            findings=findings,
            client_requested_ending=client_requested_ending,
        )
    record = findings_record(
        plan,
        as_of,
        findings,
        policy.cadence,
        review_id,
        by,
        decision,
        None,
        client_requested_ending,
        None,
        (drawn_progress, drawn_review),
    )
    return simulated_review(plan, record, state_of(plan), with_review)


def _checked_referral(
    plan_id: str, client_ref: str, at: datetime, by: str, client_factors: ClientFactors
) -> TreatmentPlan:
    return TreatmentPlan.refer(plan_id, client_ref, at=at, by=by, client_factors=client_factors)


def _checked_assessment(
    ident: str, instrument: str, at: datetime, items: tuple[int, ...]
) -> Assessment:
    return Assessment(ident, instrument, at, items=items)


def _checked_session(
    ident: str,
    at: datetime,
    attendance: Attendance,
    interventions: tuple[str, ...] = (),
    assessments: tuple[Assessment, ...] = (),
) -> Session:
    return Session(ident, at, attendance, interventions, assessments)


_FAST = _Builder(checked=False)
_CHECKED = _Builder(checked=True)


def _assessments(
    ctx: _Context,
    build: _Builder,
    rng: Any,
    state: ClientState,
    at: datetime,
    tag: str,
) -> tuple[Assessment, Assessment, int, int]:
    true_phq, true_gad = scores_after(
        ctx.scenario, state.traits, state.dose, state.boost, state.boost_from
    )
    phq = observe(rng, true_phq, ctx.phq_sem, 0, _PHQ9_MAX)
    gad = observe(rng, true_gad, ctx.gad_sem, 0, _GAD7_MAX)
    # Items drawn from patterns of the instruments' own allowed responses.
    a = build.assessment("phq9-" + tag, "PHQ-9", at, ctx.phq_items.draw(rng, phq))
    b = build.assessment("gad7-" + tag, "GAD-7", at, ctx.gad_items.draw(rng, gad))
    return a, b, phq, gad


#: One client in this many (by index, so the sample does not depend on chunks or
#: workers) is also rebuilt with the checked constructors, and must agree exactly.
VERIFY_EVERY = 100


def simulate_client(
    scenario: Scenario,
    seed: int,
    admission: Admission,
    *,
    keep_plan: bool = False,
    policy: ServicePolicy | None = None,
    verify: bool | None = None,
) -> ClientResult:
    """Simulate one client's episode as a real treatment plan and return its rows.

    ``keep_plan`` also returns the final :class:`~treatplan.TreatmentPlan`.
    ``policy`` takes the service's decisions (default: :class:`DefaultPolicy`).
    ``verify`` rebuilds the client with the checked constructors of the public
    API and raises :class:`treatplan.TreatplanError` unless plan and rows agree
    exactly; by default one client in :data:`VERIFY_EVERY` is verified.
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.seed(seed)
    checks.instance("admission", admission, Admission, "a treatplan.sim.Admission")
    chosen = policy if policy is not None else DEFAULT_POLICY
    result = _simulate(scenario, seed, admission, chosen, _FAST)
    if verify if verify is not None else admission.index % VERIFY_EVERY == 0:
        again = _simulate(scenario, seed, admission, chosen, _CHECKED)
        if again != result:
            raise TreatplanError(
                f"verification failed: client {admission.index} rebuilt through the "
                "checked constructors differs from the fast path"
            )
    if keep_plan:
        return result
    # attrs.evolve(result, plan=None), spelled out: evolve reads every field by name.
    return _new_result(
        result.client, result.sessions, result.events, result.dropout_at, result.censored_at
    )


def _simulate(
    scenario: Scenario,
    seed: int,
    admission: Admission,
    policy: ServicePolicy,
    build: _Builder,
) -> ClientResult:
    ctx = context(scenario)
    settings, engagement = scenario.policy, scenario.engagement
    index = admission.index
    rng = client_stream(seed, index, "clinical")
    traits = drawn_traits(scenario, rng)
    name = f"client-{index}"
    referred_at = ctx.at(admission.referred_day)
    plan = build.refer(f"plan-{index}", name, referred_at, _BY, traits.factors)
    state = ClientState(scenario, seed, index, traits, plan, ctx.review_policy, referred_at)
    # Screening measures at referral (routine in NHS Talking Therapies).
    a, b, intake_phq, intake_gad = _assessments(ctx, build, rng, state, referred_at, "screen")
    plan = build.record_assessment(build.record_assessment(plan, a), b)
    state.plan = plan
    sessions: list[tuple[Any, ...]] = []
    horizon_day = admission.referred_day + scenario.horizon_weeks * 7
    ended_by = ""
    dropout_at: int | None = None
    offered = 0  # sessions booked (the engine's own count: it names each session)
    step: int | None = None  # the stepped-care step, once treatment starts

    if admission.start_day is None:
        day = admission.declined_day if admission.declined_day is not None else 0
        day = min(day, horizon_day)
        if day > admission.referred_day:
            plan = fire(plan, _WAITLIST, at=referred_at, by=_BY)
        plan = fire(plan, _DECLINE, at=ctx.at(day), by=_BY, reason=admission.declined_reason)
        state.plan = plan
        ended_by = "declined"
    else:
        start_day = admission.start_day
        if start_day > admission.referred_day:
            plan = fire(plan, _WAITLIST, at=referred_at, by=_BY)
        start_at = ctx.at(start_day)
        plan = fire(plan, _BEGIN_ASSESSMENT, at=start_at, by=_CLINICIAN)
        a, b, phq, gad = _assessments(ctx, build, rng, state, start_at, "baseline")
        state.scores.append((phq, gad))
        plan = build.record_assessment(build.record_assessment(plan, a), b)
        state.plan, state.at = plan, start_at
        # The engine's own copy of the step: a policy reads state.step, and what it may
        # write there never reaches the records or the tables.
        step = state.step = policy.start_step(state)
        if step is not None and (type(step) is not int or step not in (2, 3)):
            raise ArgumentError("policy", "a policy whose start_step returns 2, 3 or None")
        low_intensity = step == 2
        target_date = (start_at + timedelta(weeks=16)).date()
        plan = build.revise(
            plan,
            presenting_problems=(ctx.problem,),
            goals=(ctx.goal(target_date),),
            interventions=(ctx.self_help if low_intensity else ctx.cbt,),
            discharge_criteria=ctx.rules,
        )
        plan = fire(plan, _AGREE_PLAN, at=start_at, by=_CLINICIAN)
        state.plan = plan
        # The engine's own copies of what goes into each session (ids, interventions):
        # a policy only reads the state, and records never depend on what it can reach.
        delivered = state.delivered = (plan.interventions[0].id,)
        hazard = engagement.dropout_hazard
        hazard *= engagement.readiness_hazard ** max(0, -traits.readiness_step)
        hazard *= engagement.barrier_hazard**traits.barrier_count
        if traits.support_step < 0:
            hazard *= engagement.support_hazard
        state.dropout_hazard = hazard
        state.attendance_chance = (
            engagement.attendance - engagement.barrier_attendance * traits.barrier_count
        )
        state.dropped = rng.random() < hazard  # some never come back after the assessment
        state.dose_per_session = settings.low_intensity_response if low_intensity else 1.0
        day = start_day
        interval = settings.session_interval_days
        good_enough, improved_rate = engagement.good_enough_rate, engagement.improved_ending_rate
        phq_met, gad_met = ctx.phq_met, ctx.gad_met
        rules = ctx.rules
        while True:
            day += interval
            if day > horizon_day:
                break
            at = ctx.at(day)
            offered += 1
            state.offered = offered
            sid = f"s{offered}"
            state.at = at
            if not state.dropped and rng.random() < state.attendance_chance:
                state.attended += 1
                state.dose += state.dose_per_session
                a, b, phq, gad = _assessments(ctx, build, rng, state, at, sid)
                state.scores.append((phq, gad))
                session = build.session(sid, at, _ATTENDED, delivered, (a, b))
                plan = build.record_session(plan, session)
                state.plan, state.attended_now = plan, True
                # Good-enough level (Barkham 2006): clients who feel better often end.
                feels_well = phq_met[phq] and gad_met[gad]
                wish = rng.random() < (good_enough if feels_well else improved_rate)
                if wish and not state.reliably_improved:
                    # Only a client who has reliably improved (either measure) asks to end.
                    state.reliably_improved = _reliably_improved(ctx, state.scores[0], (phq, gad))
                state.asks_to_end = wish and state.reliably_improved
                raised: tuple[Alert, ...] = ()
                if policy.wants_alerts(state):
                    raised = alerts(plan, at, ctx.review_policy.alerts)
                state.alerts = raised
                # Feedback (Lambert 2017): the clinician sees an alert at once and
                # reviews and revises the plan; the client then responds better.
                state.acting_on_feedback = policy.on_feedback(state, raised)
                if state.acting_on_feedback:
                    state.feedback_given = True
                    state.boost, state.boost_from = scenario.response.feedback_gain, state.dose
                if policy.review_due(state):
                    state.reviews += 1
                    found = review(plan, at, ctx.review_policy)
                    raised = raised or found.alerts
                    decision = policy.decide(state, found)
                    plan = build.record_findings(
                        plan,
                        at,
                        review_id=f"review-{state.reviews}",
                        by=_CLINICIAN,
                        decision=decision,
                        policy=ctx.review_policy,
                        findings=found,
                        client_requested_ending=state.asks_to_end,
                    )
                    if decision is _STEP_UP and step == 2:
                        # Earlier sessions keep their low-intensity record; new ones are CBT.
                        plan = build.revise(plan, interventions=(*plan.interventions, ctx.cbt))
                        step = state.step = 3
                        state.dose_per_session = 1.0
                        delivered = state.delivered = (ctx.cbt.id,)
                    state.plan = plan
                if not state.dropped and rng.random() < state.dropout_hazard:
                    state.dropped = True
                # The latest PHQ-9 score, as the plan's derived state scored it.
                derived = state_of(plan)
                latest = derived.latest_point("PHQ-9")
                assert latest is not None  # screened at referral
                if raised:
                    kinds = {_ALERT_TEXT[x.kind] for x in raised}
                    if latest.score.risk_flags:
                        kinds.add("risk_item")
                    kinds_text = ";".join(sorted(kinds))
                else:  # the same text, without a set to sort (the usual case)
                    kinds_text = "risk_item" if latest.score.risk_flags else ""
                row: tuple[Any, ...] = (
                    name,
                    offered,
                    ctx.text(at),
                    "attended",
                    phq,
                    gad,
                    kinds_text,
                )
            else:
                plan = build.record_session(plan, build.session(sid, at, _DID_NOT_ATTEND))
                state.plan, state.attended_now = plan, False
                state.asks_to_end, state.alerts, state.acting_on_feedback = False, (), False
                row = (name, offered, ctx.text(at), "did_not_attend", "", "", "")
                derived = state_of(plan)
            sessions.append(row)
            # ``at`` is already a UTC instant, inside the supported range; ``derived`` is
            # the state of the plan as it now stands.
            ending = policy.end(state, verdict_of(rules, plan, derived, at))
            if ending is not None:
                if not isinstance(ending, Ending):
                    raise ArgumentError("policy", "a policy whose end returns an Ending or None")
                ended_by = ending.ended_by
                reason = ending.reason
                if ending.outcome is _DROPPED_OUT:
                    plan = fire(plan, _DROP_OUT, at=at, by=_CLINICIAN, reason=reason)
                    dropout_at = state.attended
                else:
                    plan = fire(plan, _BEGIN_ENDING, at=at, by=_CLINICIAN, reason=reason)
                    plan = fire(plan, _COMPLETE, at=at, by=_CLINICIAN, reason=reason)
                state.plan = plan
                break

    return _result(
        ctx,
        plan,
        admission,
        traits,
        (intake_phq, intake_gad),
        sessions,
        state.scores,
        ended_by,
        step,
        (offered, state.attended, state.reviews),
        dropout_at,
    )


#: Each phase and outcome as its table text (``None`` as empty): an enum's ``.value``
#: is a slow property, read here for every transition of every client.
_TEXT: dict[Phase | EpisodeOutcome | None, str] = {
    None: "",
    **{p: p.value for p in Phase},
    **{o: o.value for o in EpisodeOutcome},
}
#: Each alert kind as its table text (the same reason).
_ALERT_TEXT = {k: k.value for k in AlertKind}
#: Each client factor as its table text (the same reason).
_FACTOR_TEXT: dict[Any, str] = {
    **{r: r.value for r in Readiness},
    **{x: x.value for x in SupportLevel},
    **{b: b.value for b in BarrierKind},
}
# Enum members read for every client, looked up once: a class attribute access on an
# enum costs several times a module global's.
_CLOSED = Phase.CLOSED
_AGREE_PLAN = Event.AGREE_PLAN
_BEGIN_ASSESSMENT = Event.BEGIN_ASSESSMENT
_BEGIN_ENDING = Event.BEGIN_ENDING
_COMPLETE = Event.COMPLETE
_DECLINE = Event.DECLINE
_DROPPED_OUT = EpisodeOutcome.DROPPED_OUT
_DROP_OUT = Event.DROP_OUT
_STEP_UP = ReviewDecision.STEP_UP
_WAITLIST = Event.WAITLIST


def _flag(shown: bool, value: bool | None) -> bool | str:
    """A table's boolean: ``value`` when ``shown`` and known, else empty."""
    return value if shown and value is not None else ""


def _result(
    ctx: _Context,
    plan: TreatmentPlan,
    admission: Admission,
    traits: ClientTraits,
    intake: tuple[int, int],
    sessions: list[tuple[Any, ...]],
    scores: list[tuple[int, int]],
    ended_by: str,
    step: int | None,
    counts: tuple[int, int, int],
    dropout_at: int | None,
) -> ClientResult:
    offered, attended, reviews = counts
    name = plan.client_ref
    phase = plan.phase
    closed = phase is _CLOSED
    started = admission.start_day is not None
    outcome: TalkingTherapiesOutcome | None = None
    by8: bool | None = None
    if started:
        # The real NHS Talking Therapies outcome of the plan, and of the plan as it
        # stood after the 8th attended session (Howard et al. 1986's dose point).
        outcome = talking_therapies_outcome(plan)
        # Howard et al. 1986's dose point, on the depression measure: reliable
        # improvement in PHQ-9 from the first score to the 8th attended session
        # (or the last, if fewer), by the library's change arithmetic.
        by8 = len(scores) > 1 and ctx.improved_phq(intake[0], scores[min(8, len(scores) - 1)][0])
    counted = outcome is not None and outcome.counts
    first_ri: int | None = None
    if scores:
        # _reliably_improved of each later score, inlined (a client's scores, each once).
        (base_phq, base_gad), improved_phq, improved_gad = (
            scores[0],
            ctx.improved_phq,
            ctx.improved_gad,
        )
        for n in range(1, len(scores)):
            phq, gad = scores[n]
            if improved_phq(base_phq, phq) or improved_gad(base_gad, gad):
                first_ri = n
                break
    baseline = scores[0] if scores else None
    last = scores[-1] if len(scores) > 1 else None

    factors = traits.factors
    client = (
        name,
        ctx.at(admission.referred_day).date().isoformat(),
        _FACTOR_TEXT[factors.readiness] if factors.readiness else "",
        _FACTOR_TEXT[factors.support] if factors.support else "",
        ";".join([_FACTOR_TEXT[b.kind] for b in factors.barriers]),
        intake[0],
        intake[1],
        (admission.start_day - admission.referred_day) if admission.start_day is not None else "",
        started,
        _TEXT[phase],
        _TEXT[plan.outcome],
        ended_by,
        plan.last_event_at.date().isoformat() if closed else "",
        offered,
        attended,
        reviews,
        step if step is not None else "",
        baseline[0] if baseline else "",
        baseline[1] if baseline else "",
        last[0] if last else "",
        last[1] if last else "",
        counted,
        _flag(counted, outcome.case_at_start if outcome else None),
        _flag(counted, outcome.recovered if outcome else None),
        _flag(counted, outcome.reliable_improvement if outcome else None),
        _flag(counted, outcome.reliable_deterioration if outcome else None),
        _flag(counted, outcome.reliable_recovery if outcome else None),
        _flag(started, by8),
        first_ri if first_ri is not None else "",
    )
    text = _TEXT
    at_text = ctx.text
    events = [
        (
            name,
            seq,
            t.event,
            text[t.source],
            text[t.target],
            at_text(t.at),
            text[t.outcome],
            t.reason or "",
        )
        for seq, t in enumerate(plan.history)
    ]
    censored_at = attended if started and dropout_at is None else None
    return _new_result(client, sessions, events, dropout_at, censored_at, plan)
