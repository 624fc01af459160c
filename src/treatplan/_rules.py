"""Termination (discharge) rules as data, composable with :class:`AnyOf` / :class:`AllOf`.

Each rule is a frozen value with a ``kind`` tag (its JSON discriminator) and an
``evaluate(plan, as_of)`` method giving a :class:`Verdict`: whether it fired,
what action it recommends, why, and on which evidence (record ids). Rule types
follow the ending rules services use (DOMAIN.md section 5): goals met, session
limit, non-attendance (consecutive; more than M in the last K; N within D days),
inactivity, time limit, client request; and rules that read the measures:
sustained reliable recovery, plateau, reliable deterioration (review, never
discharge) and authorisation used (warnings on the way).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _validation as v
from ._errors import ValidationError

if TYPE_CHECKING:
    from ._model import TreatmentPlan

__all__ = [
    "RULE_TYPES",
    "Action",
    "AllOf",
    "AnyOf",
    "AuthorisationUsed",
    "ClientRequest",
    "ConsecutiveMissed",
    "GoalsMet",
    "Inactivity",
    "MissedInWindow",
    "MissedWithinDays",
    "Plateau",
    "ReliableDeterioration",
    "Rule",
    "SessionLimit",
    "SustainedRecovery",
    "TimeLimit",
    "Verdict",
    "evaluate",
]


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


class Action(enum.StrEnum):
    """What a fired rule recommends."""

    DISCHARGE = "discharge"  # begin ending / close the episode
    REVIEW = "review"  # take it to a review: step up, refer, revise; not an ending
    WARN = "warn"  # tell the clinician; nothing to decide yet


@attrs.frozen
class Verdict:
    """The result of evaluating a rule on a plan."""

    rule: str
    fired: bool
    action: Action
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


def _missed(
    plan: TreatmentPlan, as_of: datetime, include_client_cancellations: bool
) -> list[bool]:
    """For each session in :func:`_scheduled`, whether it was missed."""
    from ._model import Attendance

    missed = {Attendance.DID_NOT_ATTEND}
    if include_client_cancellations:
        missed.add(Attendance.CANCELLED_BY_CLIENT)
    return [s.attendance in missed for s in _scheduled(plan, as_of)]


def _scheduled(plan: TreatmentPlan, as_of: datetime) -> list[Any]:
    """Sessions offered to the client up to ``as_of``, in time order.

    Sessions the service cancelled were never offered: they count neither as
    attended nor as missed. A verdict as of a date sees only what had happened by then.
    """
    from ._model import Attendance

    until = v.instant(as_of)
    sessions = plan.sessions
    if sessions and v.instant(sessions[-1].at) <= until:
        # Sessions are in time order (a plan invariant): all of them are up to as_of.
        return [s for s in sessions if s.attendance is not Attendance.CANCELLED_BY_SERVICE]
    return [
        s
        for s in sessions
        if s.attendance is not Attendance.CANCELLED_BY_SERVICE and v.instant(s.at) <= until
    ]


@attrs.frozen
class GoalsMet:
    """Fires when the named objectives (default: every live objective) are achieved.

    Achieved means achievement ``achieved`` or ``sustaining``, or status ``completed``.
    A named objective the plan no longer has counts as not achieved. Objective
    status is the plan's current state: ``as_of`` does not apply to it.
    """

    objectives: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.items_of(str, "objective ids", unique=True)
    )
    kind: Literal["goals_met"] = attrs.field(default="goals_met", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        from ._model import AchievementStatus, GoalStatus

        dead = {GoalStatus.CANCELLED, GoalStatus.ENTERED_IN_ERROR, GoalStatus.REJECTED}
        if self.objectives:
            chosen = [o for o in plan.objectives if o.id in self.objectives]
            wanted = len(self.objectives)
        else:
            chosen = [o for o in plan.objectives if o.status not in dead]
            wanted = len(chosen)
        met = [
            o.id
            for o in chosen
            if o.status is GoalStatus.COMPLETED
            or o.achievement in (AchievementStatus.ACHIEVED, AchievementStatus.SUSTAINING)
        ]
        fired = wanted > 0 and len(met) == wanted
        reason = f"{len(met)} of {wanted} objectives achieved"
        return Verdict(self.kind, fired, Action.DISCHARGE, reason, tuple(met))


@attrs.frozen
class SessionLimit:
    """Fires when ``max_sessions`` sessions have been attended (or offered, with
    ``count_missed``)."""

    max_sessions: int = attrs.field(validator=v.integer(low=1, high=10_000))
    count_missed: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["session_limit"] = attrs.field(default="session_limit", init=False)

    def used(self, plan: TreatmentPlan, as_of: datetime) -> int:
        """Sessions counted against the limit up to ``as_of``."""
        scheduled = _scheduled(plan, as_of)
        return len(scheduled if self.count_missed else [s for s in scheduled if s.attended])

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        used = self.used(plan, as_of)
        return Verdict(
            self.kind,
            used >= self.max_sessions,
            Action.DISCHARGE,
            f"{used} of {self.max_sessions} sessions used",
        )


@attrs.frozen
class ConsecutiveMissed:
    """Fires after ``count`` consecutive missed sessions (did not attend; optionally late
    client cancellations). DOMAIN.md section 5: e.g. 2 consecutive no-shows."""

    count: int = attrs.field(validator=v.integer(low=1, high=1000))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["consecutive_missed"] = attrs.field(default="consecutive_missed", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        run = 0
        for missed in reversed(_missed(plan, as_of, self.include_client_cancellations)):
            if not missed:
                break
            run += 1
        scheduled = _scheduled(plan, as_of)
        evidence = tuple(s.id for s in scheduled[len(scheduled) - run :]) if run else ()
        return Verdict(
            self.kind,
            run >= self.count,
            Action.DISCHARGE,
            f"{run} consecutive missed sessions (limit {self.count})",
            evidence,
        )


@attrs.frozen
class MissedInWindow:
    """Fires when more than ``max_missed`` of the last ``window`` scheduled sessions were
    missed. DOMAIN.md section 5: more than 1 in a 6-session course, more than 2 in 12."""

    max_missed: int = attrs.field(validator=v.integer(low=0, high=1000))
    window: int = attrs.field(validator=v.integer(low=1, high=1000))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["missed_in_window"] = attrs.field(default="missed_in_window", init=False)

    def __attrs_post_init__(self) -> None:
        if self.max_missed >= self.window:
            raise ValidationError.at("$.max_missed", "fewer than window")

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        scheduled = _scheduled(plan, as_of)[-self.window :]
        flags = _missed(plan, as_of, self.include_client_cancellations)[-self.window :]
        evidence = tuple(s.id for s, missed in zip(scheduled, flags, strict=True) if missed)
        return Verdict(
            self.kind,
            len(evidence) > self.max_missed,
            Action.DISCHARGE,
            f"{len(evidence)} missed of the last {len(flags)} scheduled "
            f"(more than {self.max_missed} of {self.window} ends)",
            evidence,
        )


@attrs.frozen
class MissedWithinDays:
    """Fires when ``count`` or more sessions were missed within the ``days`` before
    ``as_of``. DOMAIN.md section 5: e.g. 3 missed within 90 days."""

    count: int = attrs.field(validator=v.integer(low=1, high=1000))
    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["missed_within_days"] = attrs.field(default="missed_within_days", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        since = v.instant(as_of) - timedelta(days=self.days)
        scheduled = _scheduled(plan, as_of)
        flags = _missed(plan, as_of, self.include_client_cancellations)
        evidence = tuple(
            s.id
            for s, missed in zip(scheduled, flags, strict=True)
            if missed and since <= v.instant(s.at)
        )
        return Verdict(
            self.kind,
            len(evidence) >= self.count,
            Action.DISCHARGE,
            f"{len(evidence)} missed within {self.days} days (limit {self.count})",
            evidence,
        )


@attrs.frozen
class Inactivity:
    """Fires when there has been no attended contact for ``days`` whole days.

    Counted from the last attended session up to ``as_of``, or from the referral if none.
    """

    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    kind: Literal["inactivity"] = attrs.field(default="inactivity", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        attended = [s for s in _scheduled(plan, as_of) if s.attended]
        last = attended[-1].at if attended else plan.history[0].at
        idle = (v.instant(as_of) - v.instant(last)).days
        return Verdict(
            self.kind,
            idle >= self.days,
            Action.DISCHARGE,
            f"{max(idle, 0)} days since the last contact (limit {self.days})",
            (attended[-1].id,) if attended else (),
        )


@attrs.frozen
class TimeLimit:
    """Fires ``days`` days after the plan was agreed (or referred, with ``from_referral``)."""

    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    from_referral: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["time_limit"] = attrs.field(default="time_limit", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        until = v.instant(as_of)
        start = v.instant(plan.history[0].at)
        if not self.from_referral:
            # The latest agreement by as_of: a reopened, re-agreed episode starts again.
            agreed = [
                v.instant(t.at)
                for t in plan.history
                if t.event == "agree_plan" and v.instant(t.at) <= until
            ]
            if not agreed:
                return Verdict(self.kind, False, Action.DISCHARGE, "plan not yet agreed")
            start = agreed[-1]
        elapsed = (until - start).days
        return Verdict(
            self.kind,
            elapsed >= self.days,
            Action.DISCHARGE,
            f"{max(elapsed, 0)} of {self.days} days elapsed",
        )


@attrs.frozen
class ClientRequest:
    """Fires when a progress review records that the client asked to end."""

    kind: Literal["client_request"] = attrs.field(default="client_request", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        until = v.instant(as_of)
        asked = tuple(
            r.id for r in plan.reviews if r.client_requested_ending and v.instant(r.at) <= until
        )
        return Verdict(
            self.kind,
            bool(asked),
            Action.DISCHARGE,
            "client asked to end" if asked else "no request to end recorded",
            asked,
        )


# --------------------------------------------------------------------------- measures
# Rules that read the plan's scores (DOMAIN.md section 5). Each instrument's first
# score is its baseline; only scores at or before ``as_of`` count.
_PAIRED = ("PHQ-9", "GAD-7")


def _instrument_codes(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.items_of(str, "instrument codes", min_length=1, max_length=100, each=v.is_ref, unique=True)(
        _, attribute, value
    )


def _measured(plan: TreatmentPlan, as_of: datetime, codes: tuple[str, ...]) -> list[Any]:
    """(code, instrument, scored points up to as_of) for each of ``codes`` the plan measures."""
    from ._monitoring import measure_series, scored, until

    series = measure_series(plan)
    out: list[Any] = []
    for code in codes:
        points = scored(until(series.get(code, ()), as_of))
        if points:
            out.append((code, plan.instrument(code), points))
    return out


@attrs.frozen
class SustainedRecovery:
    """Fires when reliable recovery has held for ``consecutive`` measurements in a row.

    Reliable recovery as NHS Talking Therapies defines it for paired measures
    (recovery plus reliable improvement on PHQ-9 or GAD-7; DOMAIN.md section 4),
    applied at each of the last ``consecutive`` scores after baseline: at least one
    listed measure was in the clinical range at baseline; at each of those points
    every listed measure is out of it and not reliably worse than at baseline, and
    at least one of them (either, not the same one throughout) is reliably improved.
    Listed measures the plan does not score, or that have no caseness cut-off, are
    left out. The points are the measures' last ``consecutive`` scores, matched by
    position (paired measures are taken together).
    """

    consecutive: int = attrs.field(default=2, validator=v.integer(low=1, high=1000))
    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_tuple, validator=_instrument_codes
    )
    kind: Literal["sustained_recovery"] = attrs.field(default="sustained_recovery", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        from ._alerts import score_change

        n = self.consecutive
        measured = [
            m for m in _measured(plan, as_of, self.instruments) if m[1].caseness_cutoff is not None
        ]
        if not measured:
            return Verdict(self.kind, False, Action.DISCHARGE, "no scores on the listed measures")
        short = [code for code, _, points in measured if len(points) - 1 < n]
        if short:
            return Verdict(
                self.kind,
                False,
                Action.DISCHARGE,
                f"fewer than {n} scores after baseline: " + ", ".join(short),
            )
        case_at_start = any(points[0].score.case for _, _, points in measured)
        failing: list[str] = []
        # improved_at[j]: some listed measure is reliably improved at the j-th recent point.
        improved_at = [False] * n
        evidence: list[str] = []
        for code, instrument, points in measured:
            recent = points[-n:]
            evidence.extend(p.assessment_id for p in recent)
            changes = [score_change(instrument, points[0].score, p.score) for p in recent]
            if any(p.score.case for p in recent) or any(
                c is not None and c.reliable_deterioration for c in changes
            ):
                failing.append(code)
            for j, c in enumerate(changes):
                if c is not None and c.reliable_improvement:
                    improved_at[j] = True
        improved = all(improved_at)
        fired = case_at_start and not failing and improved
        if fired:
            reason = f"reliable recovery over the last {n} measurements"
        elif not case_at_start:
            reason = "no listed measure was in the clinical range at baseline"
        elif failing:
            reason = f"not recovered over the last {n} measurements: " + ", ".join(failing)
        else:
            reason = f"no reliable improvement at each of the last {n} measurements"
        evidence_if_fired = tuple(evidence) if fired else ()
        return Verdict(self.kind, fired, Action.DISCHARGE, reason, evidence_if_fired)


@attrs.frozen
class Plateau:
    """Fires when no two of the last ``window`` scores differ reliably, on every
    listed measure the plan scores (no reliable change over the last N measurements).

    Reliable means at least the instrument's reliable-change threshold (or the
    Jacobson-Truax index from its norms). ``action`` defaults to review: a plateau
    asks whether to change the plan or to end at a good-enough level.
    """

    window: int = attrs.field(default=4, validator=v.integer(low=2, high=1000))
    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_tuple, validator=_instrument_codes
    )
    action: Action = attrs.field(default=Action.REVIEW, validator=v.enum(Action))
    kind: Literal["plateau"] = attrs.field(default="plateau", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        from ._alerts import change_of

        n = self.window
        measured = _measured(plan, as_of, self.instruments)
        judged = [
            m for m in measured if m[1].reliable_change is not None or m[1].norms is not None
        ]
        if not judged:
            return Verdict(self.kind, False, self.action, "no scores on the listed measures")
        evidence: list[str] = []
        moving: list[str] = []
        for code, instrument, points in judged:
            if len(points) < n:
                return Verdict(self.kind, False, self.action, f"fewer than {n} scores on {code}")
            recent = points[-n:]
            totals = [p.score.total for p in recent]
            change = change_of(instrument, min(totals), max(totals))
            if change is not None and change.reliable:
                moving.append(code)
            evidence.extend(p.assessment_id for p in recent)
        if moving:
            return Verdict(
                self.kind,
                False,
                self.action,
                f"reliable change within the last {n} scores: " + ", ".join(moving),
            )
        return Verdict(
            self.kind,
            True,
            self.action,
            f"no reliable change over the last {n} scores",
            tuple(evidence),
        )


@attrs.frozen
class ReliableDeterioration:
    """Fires when the latest score of a listed measure is reliably worse than its baseline.

    Its action is always review (step up, refer on or revise the plan), never
    discharge: deterioration is not a reason to end (DOMAIN.md section 5).
    """

    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_tuple, validator=_instrument_codes
    )
    kind: Literal["reliable_deterioration"] = attrs.field(
        default="reliable_deterioration", init=False
    )

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        from ._alerts import score_change

        worse: list[str] = []
        evidence: list[str] = []
        for code, instrument, points in _measured(plan, as_of, self.instruments):
            if len(points) < 2:
                continue
            base, latest = points[0], points[-1]
            change = score_change(instrument, base.score, latest.score)
            if change is not None and change.reliable_deterioration:
                worse.append(f"{code} {base.score.total:g} -> {latest.score.total:g}")
                evidence.extend((base.assessment_id, latest.assessment_id))
        reason = (
            "reliably worse than baseline: " + ", ".join(worse)
            if worse
            else "no reliable deterioration"
        )
        return Verdict(self.kind, bool(worse), Action.REVIEW, reason, tuple(evidence))


@attrs.frozen
class AuthorisationUsed:
    """Warns as an authorised block of sessions is used up, and fires to discharge at the end.

    At ``warn_at`` fractions of ``authorised_sessions`` used (80% and 90% by
    default) it fires with action warn; when all are used, with discharge.
    Sessions counted: attended ones, or every offered one with ``count_missed``.
    """

    authorised_sessions: int = attrs.field(validator=v.integer(low=1, high=10_000))
    warn_at: tuple[float, ...] = attrs.field(
        default=(0.8, 0.9), converter=v.floats, validator=v.increasing_fractions
    )
    count_missed: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["authorisation_used"] = attrs.field(default="authorisation_used", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        from ._alerts import counted_sessions, crossed_fractions

        counted = counted_sessions(plan, as_of, self.count_missed)
        used, total = len(counted), self.authorised_sessions
        text = f"{used} of {total} authorised sessions used ({used / total:.0%})"
        if used >= total:
            reason = text + ": authorisation used up"
            return Verdict(self.kind, True, Action.DISCHARGE, reason, counted)
        crossed = crossed_fractions(used, total, self.warn_at)
        if crossed:
            reason = text + f": reached {crossed[-1]:.0%}"
            return Verdict(self.kind, True, Action.WARN, reason, counted)
        return Verdict(self.kind, False, Action.WARN, text)


def _rules_validator(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.items_of(RULE_TYPES, "termination rules", min_length=1, max_length=100)(_, attribute, value)


@attrs.frozen
class AnyOf:
    """Fires when any of its rules fires. The verdict's action is the most decisive
    among the fired rules (discharge over review over warn)."""

    rules: tuple[Rule, ...] = attrs.field(converter=_tuple, validator=_rules_validator)
    kind: Literal["any_of"] = attrs.field(default="any_of", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        children = tuple(r.evaluate(plan, as_of) for r in self.rules)
        fired = [c for c in children if c.fired]
        action = _strongest([c.action for c in (fired or children)])
        reason = "; ".join(f"{c.rule}: {c.reason}" for c in fired) or "no rule fired"
        # Each record once, in first-seen order: several rules often cite the same sessions.
        evidence = tuple(dict.fromkeys(e for c in fired for e in c.evidence))
        return Verdict(self.kind, bool(fired), action, reason, evidence, children)


@attrs.frozen
class AllOf:
    """Fires when every one of its rules fires."""

    rules: tuple[Rule, ...] = attrs.field(converter=_tuple, validator=_rules_validator)
    kind: Literal["all_of"] = attrs.field(default="all_of", init=False)

    def evaluate(self, plan: TreatmentPlan, as_of: datetime) -> Verdict:
        children = tuple(r.evaluate(plan, as_of) for r in self.rules)
        fired = all(c.fired for c in children)
        action = _strongest([c.action for c in children])
        pending = [c for c in children if not c.fired]
        reason = (
            "; ".join(f"{c.rule}: {c.reason}" for c in children)
            if fired
            else "not yet: " + "; ".join(f"{c.rule}: {c.reason}" for c in pending)
        )
        evidence = tuple(dict.fromkeys(e for c in children for e in c.evidence)) if fired else ()
        return Verdict(self.kind, fired, action, reason, evidence, children)


_ORDER = (Action.WARN, Action.REVIEW, Action.DISCHARGE)


def _strongest(actions: Sequence[Action]) -> Action:
    return max(actions, key=_ORDER.index) if actions else Action.DISCHARGE


#: Any termination rule: the union of the rule classes, tagged by ``kind`` in JSON.
Rule = (
    GoalsMet
    | SessionLimit
    | ConsecutiveMissed
    | MissedInWindow
    | MissedWithinDays
    | Inactivity
    | TimeLimit
    | ClientRequest
    | SustainedRecovery
    | Plateau
    | ReliableDeterioration
    | AuthorisationUsed
    | AnyOf
    | AllOf
)
#: Every rule class, for isinstance checks and the JSON tag registry.
RULE_TYPES: tuple[type[Any], ...] = (
    GoalsMet,
    SessionLimit,
    ConsecutiveMissed,
    MissedInWindow,
    MissedWithinDays,
    Inactivity,
    TimeLimit,
    ClientRequest,
    SustainedRecovery,
    Plateau,
    ReliableDeterioration,
    AuthorisationUsed,
    AnyOf,
    AllOf,
)


def evaluate(rule: Rule, plan: TreatmentPlan, as_of: datetime) -> Verdict:
    """Evaluate ``rule`` on ``plan`` at ``as_of`` (a timezone-aware date-time)."""
    v.check_time_argument(as_of, "as_of")
    return rule.evaluate(plan, as_of)
