"""NHS Talking Therapies (formerly IAPT) episode outcomes from a plan.

Paired first and last scores on a depression measure (PHQ-9) and an anxiety
measure (GAD-7 or a disorder-specific anxiety measure) give: caseness at the
start, recovery, reliable improvement, reliable deterioration and reliable
recovery (NHS Digital, NHS Talking Therapies manual; docs/references.md#change). An
episode counts only when it finished (closed) with at least two treatment
sessions and paired scores on both measures.
"""

from __future__ import annotations

import enum

import attrs

from . import _validation as v
from ._change import in_clinical_range
from ._errors import ArgumentError
from ._fast import frozen_maker
from ._instruments import Direction, Instrument
from ._model import Phase, TreatmentPlan
from ._records import SlottedRecord, record_repr
from ._state import state_of

__all__ = [
    "TalkingTherapiesOutcome",
    "TalkingTherapiesPolicy",
    "TreatmentSessionRule",
    "talking_therapies_outcome",
]


class TreatmentSessionRule(enum.StrEnum):
    """Which sessions count as treatment sessions.

    ``with_intervention`` (default): attended sessions that delivered at least
    one of the plan's interventions, so assessment-only contacts do not count
    (NHS Talking Therapies counts treatment appointments, not assessments);
    ``attended``: every attended session.
    """

    WITH_INTERVENTION = "with_intervention"
    ATTENDED = "attended"


@attrs.frozen
class TalkingTherapiesPolicy:
    """The measures and thresholds of the NHS Talking Therapies outcome.

    Thresholds left ``None`` come from the instrument definitions in the plan
    (PHQ-9: caseness 10, reliable change 6; GAD-7: caseness 8, reliable change
    4). ``improvement_requires_no_deterioration``: NHS Digital's definition of
    reliable improvement adds "and neither measure reliably deteriorates";
    that clause is not yet confirmed at the source (docs/references.md#change), so it
    is an option (default on).
    ``min_treatment_sessions`` (2) and the paired-scores rule are from the NHS
    Talking Therapies definition of a finished course of treatment.
    """

    __repr__ = record_repr

    depression: str = attrs.field(default="PHQ-9", validator=v.ref())
    anxiety: str = attrs.field(default="GAD-7", validator=v.ref())
    depression_caseness: float | None = attrs.field(
        default=None, validator=v.number(optional=True)
    )
    anxiety_caseness: float | None = attrs.field(default=None, validator=v.number(optional=True))
    depression_reliable_change: float | None = attrs.field(
        default=None, validator=v.positive(optional=True)
    )
    anxiety_reliable_change: float | None = attrs.field(
        default=None, validator=v.positive(optional=True)
    )
    improvement_requires_no_deterioration: bool = attrs.field(default=True, validator=v.boolean())
    min_treatment_sessions: int = attrs.field(default=2, validator=v.integer(low=0, high=1000))
    treatment_sessions: TreatmentSessionRule = attrs.field(
        default=TreatmentSessionRule.WITH_INTERVENTION, validator=v.enum(TreatmentSessionRule)
    )


@attrs.frozen
class TalkingTherapiesOutcome(SlottedRecord):
    """The NHS Talking Therapies outcome of one episode.

    ``counts`` is whether the episode enters the outcome statistics; when it
    does not, ``not_counted_because`` says why. The flags are computed whenever
    paired scores exist (``None`` otherwise), so a running episode can be read
    too.
    """

    __repr__ = record_repr

    counts: bool
    not_counted_because: tuple[str, ...]
    treatment_sessions: int
    depression_first: float | None
    depression_last: float | None
    anxiety_first: float | None
    anxiety_last: float | None
    case_at_start: bool | None
    recovered: bool | None
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    reliable_recovery: bool | None


#: ``TalkingTherapiesOutcome(...)`` as its constructor builds it, without frozen attrs'
#: store per field (see :func:`treatplan._fast.frozen_maker`): every simulated client's.
_new_outcome = frozen_maker(TalkingTherapiesOutcome)

#: The default policy, built once (a frozen value: sharing it is safe).
_DEFAULT_POLICY = TalkingTherapiesPolicy()


def talking_therapies_outcome(
    plan: TreatmentPlan, policy: TalkingTherapiesPolicy | None = None
) -> TalkingTherapiesOutcome:
    """The NHS Talking Therapies outcome of ``plan`` from its first and last scores.

    Per measure, the first and last assessments that could be scored are
    paired (at least two are needed). With paired scores on both measures:
    caseness at the start (depression >= 10 or anxiety >= 8 by default);
    recovery (a case at the start and below caseness on both at the end;
    false when not a case at the start, so the recovery rate's denominator is
    the counted episodes that were cases); reliable improvement (either measure
    improves by at least its reliable-change threshold, and, by default, neither
    reliably deteriorates); reliable deterioration (either worsens by at least
    its threshold); reliable recovery (recovery and reliable improvement).

    Raises :class:`~treatplan.UnknownReferenceError` (a ``KeyError``) for a
    measure the plan does not define and :class:`~treatplan.ArgumentError` (a
    ``ValueError``) when a threshold is neither in the policy nor in the
    instrument's definition, or for arguments of the wrong kind.
    """
    if not isinstance(plan, TreatmentPlan):
        raise ArgumentError("plan", "a TreatmentPlan")
    if policy is not None and not isinstance(policy, TalkingTherapiesPolicy):
        raise ArgumentError("policy", "a TalkingTherapiesPolicy or None")
    policy = policy or _DEFAULT_POLICY
    depression = plan.instrument(policy.depression)
    anxiety = plan.instrument(policy.anxiety)
    dep_case = _threshold(policy.depression_caseness, depression.caseness_cutoff, "caseness")
    anx_case = _threshold(policy.anxiety_caseness, anxiety.caseness_cutoff, "caseness")
    dep_rc = _threshold(
        policy.depression_reliable_change, depression.reliable_change, "reliable change"
    )
    anx_rc = _threshold(policy.anxiety_reliable_change, anxiety.reliable_change, "reliable change")

    state = state_of(plan)
    if policy.treatment_sessions is TreatmentSessionRule.ATTENDED:
        sessions = state.attended(state.n_sessions)
    else:
        sessions = state.treatment_sessions(state.n_sessions)
    dep_pair = _pair(plan, depression.code)
    anx_pair = _pair(plan, anxiety.code)

    reasons: list[str] = []
    if plan.phase is not Phase.CLOSED:
        reasons.append("the episode has not finished (not closed)")
    if sessions < policy.min_treatment_sessions:
        reasons.append(
            f"{sessions} treatment sessions; at least {policy.min_treatment_sessions} are needed"
        )
    for code, pair in ((depression.code, dep_pair), (anxiety.code, anx_pair)):
        if pair is None:
            reasons.append(f"no paired first and last {code} scores")

    case_at_start = recovered = improvement = deterioration = reliable_recovery = None
    if dep_pair is not None and anx_pair is not None:
        (d1, d2), (a1, a2) = dep_pair, anx_pair
        case_at_start = _case(d1, dep_case, depression) or _case(a1, anx_case, anxiety)
        recovered = (
            case_at_start
            and not _case(d2, dep_case, depression)
            and not _case(a2, anx_case, anxiety)
        )
        dep_gain, anx_gain = _gain(d1, d2, depression), _gain(a1, a2, anxiety)
        deterioration = dep_gain <= -dep_rc or anx_gain <= -anx_rc
        improvement = dep_gain >= dep_rc or anx_gain >= anx_rc
        if policy.improvement_requires_no_deterioration and deterioration:
            improvement = False
        reliable_recovery = recovered and improvement

    return _new_outcome(
        counts=not reasons,
        not_counted_because=tuple(reasons),
        treatment_sessions=sessions,
        depression_first=dep_pair[0] if dep_pair else None,
        depression_last=dep_pair[1] if dep_pair else None,
        anxiety_first=anx_pair[0] if anx_pair else None,
        anxiety_last=anx_pair[1] if anx_pair else None,
        case_at_start=case_at_start,
        recovered=recovered,
        reliable_improvement=improvement,
        reliable_deterioration=deterioration,
        reliable_recovery=reliable_recovery,
    )


def _threshold(override: float | None, defined: float | None, what: str) -> float:
    value = override if override is not None else defined
    if value is None:
        raise ArgumentError("policy", f"a {what} threshold, as the instrument definition has none")
    return value


def _pair(plan: TreatmentPlan, code: str) -> tuple[float, float] | None:
    series = state_of(plan).series(code)
    first, last = series.first_scored(), series.latest_scored()
    if series.n_scored < 2 or first is None or last is None:
        return None
    assert first.total is not None
    assert last.total is not None
    return first.total, last.total


def _case(total: float, cutoff: float, instrument: Instrument) -> bool:
    return in_clinical_range(total, cutoff, instrument.direction)


def _gain(first: float, last: float, instrument: Instrument) -> float:
    """The improvement from first to last, positive when better."""
    if instrument.direction is Direction.HIGHER_IS_BETTER:
        return last - first
    return first - last
