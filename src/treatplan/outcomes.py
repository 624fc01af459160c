"""Episode outcomes: the NHS Talking Therapies categories and Goal Attainment Scaling."""

from ._gas import DEFAULT_GAS_RHO, gas_t_score, plan_gas_t_score
from ._nhstt import (
    TalkingTherapiesOutcome,
    TalkingTherapiesPolicy,
    TreatmentSessionRule,
    talking_therapies_outcome,
)

__all__ = [
    "DEFAULT_GAS_RHO",
    "TalkingTherapiesOutcome",
    "TalkingTherapiesPolicy",
    "TreatmentSessionRule",
    "gas_t_score",
    "plan_gas_t_score",
    "talking_therapies_outcome",
]
