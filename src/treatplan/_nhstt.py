"""NHS Talking Therapies (formerly IAPT) episode outcomes from a plan.

Paired first and last scores on a depression measure (PHQ-9) and an anxiety
measure (GAD-7 or a disorder-specific anxiety measure) give: caseness at the
start, recovery, reliable improvement, reliable deterioration and reliable
recovery (NHS Digital, NHS Talking Therapies manual; DOMAIN.md section 4). An
episode counts only when it finished (closed) with at least two treatment
sessions and paired scores on both measures.
"""

from __future__ import annotations

import enum

import attrs

from ._model import TreatmentPlan

__all__ = [
    "TalkingTherapiesOutcome",
    "TalkingTherapiesPolicy",
    "TreatmentSessionRule",
    "talking_therapies_outcome",
]


class TreatmentSessionRule(enum.StrEnum):
    """Which sessions count as treatment sessions."""

    WITH_INTERVENTION = "with_intervention"
    ATTENDED = "attended"


@attrs.frozen
class TalkingTherapiesPolicy:
    """The measures and thresholds of the NHS Talking Therapies outcome.

    Thresholds left ``None`` come from the instrument definitions in the plan
    (PHQ-9: caseness 10, reliable change 6; GAD-7: caseness 8, reliable change
    4). ``improvement_requires_no_deterioration``: NHS Digital's definition of
    reliable improvement adds "and neither measure reliably deteriorates";
    DOMAIN.md marks it unconfirmed, so it is an option (default on).
    """

    depression: str = "PHQ-9"
    anxiety: str = "GAD-7"
    depression_caseness: float | None = None
    anxiety_caseness: float | None = None
    depression_reliable_change: float | None = None
    anxiety_reliable_change: float | None = None
    improvement_requires_no_deterioration: bool = True
    min_treatment_sessions: int = 2
    treatment_sessions: TreatmentSessionRule = TreatmentSessionRule.WITH_INTERVENTION


@attrs.frozen
class TalkingTherapiesOutcome:
    """The NHS Talking Therapies outcome of one episode.

    ``counts`` is whether the episode enters the outcome statistics; when it
    does not, ``not_counted_because`` says why. The flags are computed whenever
    paired scores exist (``None`` otherwise), so a running episode can be read
    too.
    """

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


def talking_therapies_outcome(
    plan: TreatmentPlan, policy: TalkingTherapiesPolicy | None = None
) -> TalkingTherapiesOutcome:
    """The NHS Talking Therapies outcome of ``plan`` from its first and last scores."""
    raise NotImplementedError
