"""Evaluating ending rules: each rule type's step function over the plan's derived state.

The rules themselves are plan data (:mod:`treatplan._rules`); this module gives
each rule type one evaluation function, registered by type as cattrs registers
hooks, and :func:`evaluate` dispatches on the rule's class. Every function reads
the shared derived state (:mod:`treatplan._state`): attendance prefix counts,
the scored measure series, objective achievement. So a verdict costs the same at
session 10 as at session 10,000, and review, alerts, the simulator and FHIR see
the same figures. Evaluating as of an earlier time cuts the same state at that
instant and stays exact.

Verdicts hold codes, ids, numbers and generated text only: never plan text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, TypeVar

import attrs

from . import _validation as v
from ._change import change_between, score_change
from ._errors import ValidationError
from ._fast import frozen_maker
from ._instruments import BUILTIN_INSTRUMENTS, Instrument
from ._memo import IdentityCache
from ._model import Attendance, Session, TreatmentPlan, check_plan
from ._records import SlottedRecord, record_repr
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
from ._state import (
    PlanState,
    Series,
    achievement_of,
    as_of_view,
    counted_sessions,
    live_objectives,
    state_of,
)

__all__ = ["Verdict", "crossed_fractions", "evaluate", "new_verdict", "verdict_of"]


@attrs.frozen
class Verdict(SlottedRecord):
    """The result of evaluating a rule on a plan."""

    __repr__ = record_repr

    rule: str
    fired: bool
    action: RuleAction
    reason: str
    evidence: tuple[str, ...] = ()
    children: tuple[Verdict, ...] = ()

    def fired_leaves(self) -> tuple[Verdict, ...]:
        """The simple (non-composite) rules that made this verdict fire, depth first.

        Empty when it did not fire: a child of an unfired :class:`AllOf` explains nothing.
        """
        if not self.fired:
            return ()
        if not self.children:
            return (self,)
        return tuple(leaf for c in self.children for leaf in c.fired_leaves())


#: ``Verdict(...)`` as its constructor builds it, without frozen attrs' store per field
#: (see :func:`treatplan._fast.frozen_maker`): rules are evaluated after every session.
new_verdict = frozen_maker(Verdict)

#: Verdicts already made, per rule object, by what they were made from (a session
#: count, the ids of a run of missed sessions, the codes a reason names). A verdict
#: holds only the rule's kind and action, numbers, ids and generated text, so equal
#: inputs make equal verdicts; rules are evaluated after every session and most
#: verdicts repeat, and making one (its reason text above all) costs more than finding
#: it. Verdicts are immutable, so sharing one is safe.
_MADE: IdentityCache[dict[Any, Verdict]] = IdentityCache(256)
#: Verdicts kept per rule at most (the table starts afresh when full).
_MADE_PER_RULE = 1024


def _made(rule: object) -> dict[Any, Verdict]:
    """The verdicts already made for ``rule`` (see :data:`_MADE`), with room for one
    more. An evaluation finds a verdict with ``_MADE.get_one(rule) or _made(rule)``
    (one call when the table exists) and stores a new one through this."""
    table = _MADE.get_one(rule)
    if table is None:
        return _MADE.put({}, rule)
    if len(table) >= _MADE_PER_RULE:
        table.clear()
    return table


R = TypeVar("R")
_Evaluator = Callable[[Any, TreatmentPlan, PlanState, datetime], Verdict]
_Step = Callable[[R, TreatmentPlan, PlanState, datetime], Verdict]
#: Rule class -> its evaluation function (one per rule type).
_EVALUATORS: dict[type[Any], _Evaluator] = {}


def _evaluates(kind: type[R]) -> Callable[[_Step[R]], _Step[R]]:
    """Register the decorated function as the evaluation of rule type ``kind``."""

    def register(fn: _Step[R]) -> _Step[R]:
        _EVALUATORS[kind] = fn
        return fn

    return register


def evaluate(rule: Rule, plan: TreatmentPlan, as_of: datetime) -> Verdict:
    """Evaluate ``rule`` on ``plan`` as it stood at ``as_of`` (a timezone-aware date-time)."""
    check_plan(plan)
    v.check_time_argument(as_of, "as_of")
    return verdict_of(rule, plan, state_of(plan), v.instant(as_of))


def verdict_of(rule: Rule, plan: TreatmentPlan, state: PlanState, limit: datetime) -> Verdict:
    """:func:`evaluate` of ``rule`` on ``plan`` (whose derived state is ``state``) at the
    UTC instant ``limit``: for callers that hold the state and checked plan and time."""
    evaluator = _EVALUATORS.get(type(rule))
    if evaluator is None:
        raise ValidationError.at("rule", "a termination rule")
    return evaluator(rule, plan, state, limit)


def _run(rule: Rule, plan: TreatmentPlan, state: PlanState, limit: datetime) -> Verdict:
    return _EVALUATORS[type(rule)](rule, plan, state, limit)


# --------------------------------------------------------------------------- attendance
def _is_missed(session: Session, include_client_cancellations: bool) -> bool:
    attendance = session.attendance
    return attendance is Attendance.DID_NOT_ATTEND or (
        include_client_cancellations and attendance is Attendance.CANCELLED_BY_CLIENT
    )


def _offered_backwards(sessions: tuple[Session, ...], k: int) -> Any:
    """Sessions offered to the client among the first ``k``, latest first.

    Sessions the service cancelled were never offered: they count neither as
    attended nor as missed.
    """
    for i in range(k - 1, -1, -1):
        s = sessions[i]
        if s.attendance is not Attendance.CANCELLED_BY_SERVICE:
            yield s


#: The built-in definitions by code, as a plain dict (see _sustained_recovery).
_BUILTINS: dict[str, Instrument] = dict(BUILTIN_INSTRUMENTS)
_CANCELLED_BY_SERVICE = Attendance.CANCELLED_BY_SERVICE
_DISCHARGE = RuleAction.DISCHARGE  # read by every rule, looked up once
_CANCELLED_BY_CLIENT = Attendance.CANCELLED_BY_CLIENT
_DID_NOT_ATTEND = Attendance.DID_NOT_ATTEND


@_evaluates(GoalsMet)
def _goals_met(rule: GoalsMet, plan: TreatmentPlan, _: PlanState, limit: datetime) -> Verdict:
    view = as_of_view(plan, limit)
    if rule.objectives:
        # A named objective since cancelled, rejected or entered in error is no longer
        # an aim: like one the plan does not have, it counts as not achieved (review
        # leaves it out), so the rule waits until its criteria are revised.
        chosen = [o for o in live_objectives(view) if o.id in rule.objectives]
        wanted = len(rule.objectives)
    else:
        chosen = list(live_objectives(view))
        wanted = len(chosen)
    state = state_of(view)
    met = [o.id for o in chosen if achievement_of(view, state, o, limit).achieved]
    fired = wanted > 0 and len(met) == wanted
    reason = f"{len(met)} of {wanted} objectives achieved"
    return new_verdict(rule.kind, fired, _DISCHARGE, reason, tuple(met))


@_evaluates(SessionLimit)
def _session_limit(
    rule: SessionLimit, _: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    # state.sessions_until, offered and attended, read inline (after every session).
    log, k = state.sessions, state.n_sessions
    if k and log.instants[k - 1] > limit:
        k = state.sessions_until(limit)
    used = (log.offered if rule.count_missed else log.attended)[k]
    made = _MADE.get_one(rule) or _made(rule)
    found = made.get(used)
    if found is None:
        found = _made(rule)[used] = new_verdict(
            rule.kind,
            used >= rule.max_sessions,
            _DISCHARGE,
            f"{used} of {rule.max_sessions} sessions used",
        )
    return found


@_evaluates(ConsecutiveMissed)
def _consecutive_missed(
    rule: ConsecutiveMissed, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    # _offered_backwards and _is_missed, unrolled: evaluated after every session.
    run: list[str] = []
    sessions = plan.sessions
    client_cancelled = rule.include_client_cancellations
    k = state.n_sessions  # state.sessions_until(limit), read inline when it is all
    if k and state.sessions.instants[k - 1] > limit:
        k = state.sessions_until(limit)
    for i in range(k - 1, -1, -1):
        s = sessions[i]
        attendance = s.attendance
        if attendance is _CANCELLED_BY_SERVICE:
            continue  # never offered
        if not (
            attendance is _DID_NOT_ATTEND
            or (client_cancelled and attendance is _CANCELLED_BY_CLIENT)
        ):
            break
        run.append(s.id)
    evidence = tuple(reversed(run)) if run else ()
    made = _MADE.get_one(rule) or _made(rule)
    found = made.get(evidence)
    if found is None:
        found = _made(rule)[evidence] = new_verdict(
            rule.kind,
            len(run) >= rule.count,
            _DISCHARGE,
            f"{len(run)} consecutive missed sessions (limit {rule.count})",
            evidence,
        )
    return found


@_evaluates(MissedInWindow)
def _missed_in_window(
    rule: MissedInWindow, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    seen = 0
    missed: list[str] = []
    for s in _offered_backwards(plan.sessions, state.sessions_until(limit)):
        if seen == rule.window:
            break
        seen += 1
        if _is_missed(s, rule.include_client_cancellations):
            missed.append(s.id)
    return new_verdict(
        rule.kind,
        len(missed) > rule.max_missed,
        _DISCHARGE,
        f"{len(missed)} missed of the last {seen} scheduled "
        f"(more than {rule.max_missed} of {rule.window} ends)",
        tuple(reversed(missed)),
    )


@_evaluates(MissedWithinDays)
def _missed_within_days(
    rule: MissedWithinDays, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    since = limit - timedelta(days=rule.days)
    missed: list[str] = []
    for s in _offered_backwards(plan.sessions, state.sessions_until(limit)):
        if v.instant(s.at) < since:
            break  # sessions are in time order (a plan invariant)
        if _is_missed(s, rule.include_client_cancellations):
            missed.append(s.id)
    return new_verdict(
        rule.kind,
        len(missed) >= rule.count,
        _DISCHARGE,
        f"{len(missed)} missed within {rule.days} days (limit {rule.count})",
        tuple(reversed(missed)),
    )


@_evaluates(Inactivity)
def _inactivity(
    rule: Inactivity, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    attended = state.attended_positions(state.sessions_until(limit))
    last = plan.sessions[attended[-1]] if attended else None
    since = plan.history[0].at if last is None else last.at
    idle = (limit - v.instant(since)).days
    return new_verdict(
        rule.kind,
        idle >= rule.days,
        _DISCHARGE,
        f"{max(idle, 0)} days since the last contact (limit {rule.days})",
        (last.id,) if last is not None else (),
    )


@_evaluates(TimeLimit)
def _time_limit(rule: TimeLimit, plan: TreatmentPlan, _: PlanState, limit: datetime) -> Verdict:
    start = v.instant(plan.history[0].at)
    if not rule.from_referral:
        # The latest agreement by as_of: a reopened, re-agreed episode starts again.
        agreed = next(
            (
                v.instant(t.at)
                for t in reversed(plan.history)
                if t.event == "agree_plan" and v.instant(t.at) <= limit
            ),
            None,
        )
        if agreed is None:
            return new_verdict(rule.kind, False, _DISCHARGE, "plan not yet agreed")
        start = agreed
    elapsed = (limit - start).days
    return new_verdict(
        rule.kind,
        elapsed >= rule.days,
        _DISCHARGE,
        f"{max(elapsed, 0)} of {rule.days} days elapsed",
    )


@_evaluates(ClientRequest)
def _client_request(
    rule: ClientRequest, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    asked = state.requests
    if asked and (state.latest_record is None or state.latest_record > limit):
        by_id = {r.id: r for r in plan.reviews if r.client_requested_ending}
        asked = tuple(i for i in asked if v.instant(by_id[i].at) <= limit)
    # Remembered (see _MADE) so that a composite of remembered verdicts is found too.
    made = _MADE.get_one(rule) or _made(rule)
    found = made.get(asked)
    if found is None:
        found = _made(rule)[asked] = new_verdict(
            rule.kind,
            bool(asked),
            _DISCHARGE,
            "client asked to end" if asked else "no request to end recorded",
            asked,
        )
    return found


# --------------------------------------------------------------------------- measures
def _measured(
    plan: TreatmentPlan, state: PlanState, limit: datetime, codes: tuple[str, ...]
) -> list[tuple[str, Instrument, Series]]:
    """(code, instrument, series up to the limit) for each of ``codes`` with a scored point."""
    out: list[tuple[str, Instrument, Series]] = []
    for code in codes:
        # An UnknownReferenceError for a code the plan can't read, even when unscored:
        # a typo would otherwise make the rule silently never fire.
        instrument = plan.instrument(code)
        series = state.series_until(code, limit)
        if series.n_scored:
            out.append((code, instrument, series))
    return out


@_evaluates(SustainedRecovery)
def _sustained_recovery(
    rule: SustainedRecovery, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    n = rule.consecutive
    window = (1 << n) - 1  # the last n scored points, as bits from the first of them
    measured: list[str] = []  # the listed measures with a scored point and a cut-off
    short: list[str] = []  # measures with fewer than n scores after their baseline
    case_at_start = False
    failing: list[str] = []
    # Bit j: some listed measure is reliably improved at the j-th of the last n points.
    improved = 0
    # Each measure's points read as bits (case, reliably worse and better than its
    # first scored point), remembered per point by the state: evaluated after every
    # session, and a point's facts never change.
    customs = plan.custom_instruments
    for code in rule.instruments:
        # plan.instrument(code), without its call for a plan with no definitions of its
        # own (the usual case): a built-in, else its error (an UnknownReferenceError for
        # a code the plan can't read, even when unscored).
        instrument = None if customs else _BUILTINS.get(code)
        if instrument is None:
            instrument = plan.instrument(code)
        _, n_scored, case, worse, better = state.baseline_flags_until(code, instrument, limit)
        if n_scored and instrument.caseness_cutoff is not None:
            measured.append(code)
            if n_scored - 1 < n:
                short.append(code)
                continue
            start = n_scored - n
            case_at_start = case_at_start or bool(case & 1)
            if ((case | worse) >> start) & window:
                # In the clinical range or reliably worse at one of the last n points.
                failing.append(code)
            improved |= (better >> start) & window
    if not measured:
        return _unfired_recovery(rule, ("none",))
    if short:
        return _unfired_recovery(rule, ("short", *short))
    fired = case_at_start and not failing and improved == window
    if fired:
        # The recent points of every listed measure, measure by measure.
        evidence = tuple(
            p.score.assessment_id
            for code in measured
            for p in state.series_until(code, limit).last_scored(n)
        )
        return new_verdict(
            rule.kind,
            True,
            _DISCHARGE,
            f"reliable recovery over the last {n} measurements",
            evidence,
        )
    if not case_at_start:
        return _unfired_recovery(rule, ("case",))
    if failing:
        return _unfired_recovery(rule, ("failing", *failing))
    return _unfired_recovery(rule, ("improving",))


def _unfired_recovery(rule: SustainedRecovery, why: tuple[str, ...]) -> Verdict:
    """The unfired verdict of ``rule`` for the reason ``why`` names (its kind, then the
    codes it lists), remembered (see :data:`_MADE`): its text is made only once."""
    made = _MADE.get_one(rule) or _made(rule)
    found = made.get(why)
    if found is None:
        n, kind, codes = rule.consecutive, why[0], ", ".join(why[1:])
        if kind == "none":
            reason = "no scores on the listed measures"
        elif kind == "short":
            reason = f"fewer than {n} scores after baseline: {codes}"
        elif kind == "case":
            reason = "no listed measure was in the clinical range at baseline"
        elif kind == "failing":
            reason = f"not recovered over the last {n} measurements: {codes}"
        else:
            reason = f"no reliable improvement at each of the last {n} measurements"
        found = _made(rule)[why] = new_verdict(rule.kind, False, _DISCHARGE, reason)
    return found


@_evaluates(Plateau)
def _plateau(rule: Plateau, plan: TreatmentPlan, state: PlanState, limit: datetime) -> Verdict:
    n = rule.window
    judged = [
        m
        for m in _measured(plan, state, limit, rule.instruments)
        if m[1].reliable_change is not None or m[1].norms is not None
    ]
    if not judged:
        return new_verdict(rule.kind, False, rule.action, "no scores on the listed measures")
    evidence: list[str] = []
    moving: list[str] = []
    for code, instrument, series in judged:
        if series.n_scored < n:
            return new_verdict(rule.kind, False, rule.action, f"fewer than {n} scores on {code}")
        recent = series.last_scored(n)
        totals = [p.score.total for p in recent if p.score.total is not None]
        change = change_between(instrument, min(totals), max(totals))
        if change is not None and change.reliable:
            moving.append(code)
        evidence.extend(p.assessment_id for p in recent)
    if moving:
        return new_verdict(
            rule.kind,
            False,
            rule.action,
            f"reliable change within the last {n} scores: " + ", ".join(moving),
        )
    return new_verdict(
        rule.kind,
        True,
        rule.action,
        f"no reliable change over the last {n} scores",
        tuple(evidence),
    )


@_evaluates(ReliableDeterioration)
def _reliable_deterioration(
    rule: ReliableDeterioration, plan: TreatmentPlan, state: PlanState, limit: datetime
) -> Verdict:
    worse: list[str] = []
    evidence: list[str] = []
    for code, instrument, series in _measured(plan, state, limit, rule.instruments):
        if series.n_scored < 2:
            continue
        base, latest = series.first_scored(), series.latest_scored()
        assert base is not None
        assert latest is not None
        change = score_change(instrument, base.score, latest.score)
        if change is not None and change.reliable_deterioration:
            worse.append(f"{code} {base.score.total:g} -> {latest.score.total:g}")
            evidence.extend((base.assessment_id, latest.assessment_id))
    reason = (
        "reliably worse than baseline: " + ", ".join(worse)
        if worse
        else "no reliable deterioration"
    )
    return new_verdict(rule.kind, bool(worse), RuleAction.REVIEW, reason, tuple(evidence))


#: Each tuple of warning fractions as exact fractions (numerator, positive denominator),
#: per tuple object (rules and policies are immutable, and every evaluation reads the
#: same few).
_EXACT: IdentityCache[tuple[tuple[int, int], ...]] = IdentityCache(256)


def crossed_fractions(used: int, total: int, fractions: Sequence[float]) -> list[float]:
    """The ``fractions`` of ``total`` that ``used`` has reached, compared exactly.

    Each fraction is read from its shortest decimal form (0.28 as 28/100), so a
    session count exactly at a threshold reaches it: in floats 0.28 * 25 is
    7.000000000000001 and 7 sessions would miss the 28% warning.
    """
    exact = _EXACT.get_one(fractions)
    if exact is None:
        exact = _EXACT.put(
            tuple(Fraction(str(f)).as_integer_ratio() for f in fractions), fractions
        )
    # used >= (n / d) * total, in integers (d > 0): the same exact comparison, without
    # building a Fraction per fraction per call.
    return [f for f, (n, d) in zip(fractions, exact, strict=True) if used * d >= n * total]


@_evaluates(AuthorisationUsed)
def _authorisation_used(
    rule: AuthorisationUsed, plan: TreatmentPlan, _: PlanState, limit: datetime
) -> Verdict:
    counted = counted_sessions(plan, limit, rule.count_missed)
    used, total = len(counted), rule.authorised_sessions
    text = f"{used} of {total} authorised sessions used ({used / total:.0%})"
    if used >= total:
        return new_verdict(rule.kind, True, _DISCHARGE, text + ": authorisation used up", counted)
    crossed = crossed_fractions(used, total, rule.warn_at)
    if crossed:
        return new_verdict(
            rule.kind, True, RuleAction.WARN, text + f": reached {crossed[-1]:.0%}", counted
        )
    return new_verdict(rule.kind, False, RuleAction.WARN, text)


# --------------------------------------------------------------------------- composites
#: Each action's weight: a composite takes the strongest action among its children.
_WEIGHT = {RuleAction.WARN: 0, RuleAction.REVIEW: 1, RuleAction.DISCHARGE: 2}


def _strongest(actions: Sequence[RuleAction]) -> RuleAction:
    return max(actions, key=_WEIGHT.__getitem__) if actions else _DISCHARGE


#: The rules whose unfired verdicts are remembered (see :data:`_MADE`).
_REMEMBERED_WHEN_UNFIRED = frozenset(
    {SessionLimit, ConsecutiveMissed, SustainedRecovery, ClientRequest}
)
#: Per AnyOf rule: whether every child's unfired verdict is remembered.
_CHILDREN_REMEMBERED: IdentityCache[bool] = IdentityCache(256)


def _children_remembered(rule: AnyOf) -> bool:
    """Whether every unfired verdict of ``rule``'s children is a remembered one (nested
    ``AnyOf`` rules included), so that an unfired verdict of ``rule`` is worth
    remembering by its children's identities."""
    found = _CHILDREN_REMEMBERED.get_one(rule)
    if found is None:
        found = _CHILDREN_REMEMBERED.put(
            all(
                type(r) in _REMEMBERED_WHEN_UNFIRED
                or (type(r) is AnyOf and _children_remembered(r))
                for r in rule.rules
            ),
            rule,
        )
    return found


@_evaluates(AnyOf)
def _any_of(rule: AnyOf, plan: TreatmentPlan, state: PlanState, limit: datetime) -> Verdict:
    evaluators = _EVALUATORS  # _run, inlined: composites are evaluated after every session
    made_children: list[Verdict] = []
    for r in rule.rules:  # a loop, not a comprehension: no function made per evaluation
        made_children.append(evaluators[type(r)](r, plan, state, limit))
    children = tuple(made_children)
    for c in children:
        if c.fired:
            break
    else:
        # Remembered by its children, themselves remembered verdicts (see _MADE): the
        # entry holds them (in its children), so their ids name them while it lives. A
        # table exists only for a rule whose children's verdicts are all remembered.
        made = _MADE.get_one(rule)
        if made is None:
            if not _children_remembered(rule):
                # A child verdict made afresh at every evaluation would make a new key,
                # never found again: nothing to remember.
                action = _strongest([c.action for c in children])
                return new_verdict(rule.kind, False, action, "no rule fired", (), children)
            made = _made(rule)
        key = tuple(map(id, children))
        found = made.get(key)
        if found is None:
            action = _strongest([c.action for c in children])
            found = new_verdict(rule.kind, False, action, "no rule fired", (), children)
            _made(rule)[key] = found
        return found
    fired = [c for c in children if c.fired]
    action = _strongest([c.action for c in fired])
    reason = "; ".join(f"{c.rule}: {c.reason}" for c in fired)
    # Each record once, in first-seen order: several rules often cite the same sessions.
    evidence = tuple(dict.fromkeys(e for c in fired for e in c.evidence))
    return new_verdict(rule.kind, True, action, reason, evidence, children)


@_evaluates(AllOf)
def _all_of(rule: AllOf, plan: TreatmentPlan, state: PlanState, limit: datetime) -> Verdict:
    children = tuple([_run(r, plan, state, limit) for r in rule.rules])
    fired = all(c.fired for c in children)
    action = _strongest([c.action for c in children])
    pending = [c for c in children if not c.fired]
    reason = (
        "; ".join(f"{c.rule}: {c.reason}" for c in children)
        if fired
        else "not yet: " + "; ".join(f"{c.rule}: {c.reason}" for c in pending)
    )
    evidence = tuple(dict.fromkeys(e for c in children for e in c.evidence)) if fired else ()
    return new_verdict(rule.kind, fired, action, reason, evidence, children)
