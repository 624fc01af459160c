"""Goal Attainment Scaling (Kiresuk & Sherman 1968).

Each goal is scored -2..+2 (0 = the expected outcome) with a weight; the
summary T-score is
``T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2)``
with rho, the assumed inter-goal correlation, 0.3 by default (Kiresuk &
Sherman 1968; the formula as corrected in Turner-Stokes 2009's erratum).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._model import TreatmentPlan

__all__ = ["DEFAULT_GAS_RHO", "gas_t_score", "plan_gas_t_score"]

#: Kiresuk & Sherman (1968): the assumed correlation between goal scores.
DEFAULT_GAS_RHO = 0.3


def gas_t_score(
    levels: Sequence[int], weights: Sequence[float] | None = None, *, rho: float = DEFAULT_GAS_RHO
) -> float:
    """The Kiresuk-Sherman T-score of goal levels (-2..+2), weights 1 by default."""
    raise NotImplementedError


def plan_gas_t_score(plan: TreatmentPlan, *, rho: float = DEFAULT_GAS_RHO) -> float | None:
    """The GAS T-score at the plan's latest review that records GAS levels, or ``None``.

    Levels come from that review's ``ObjectiveProgress.gas_level``; each weight is
    the objective's ``GasTarget.weight`` (1.0 when the objective has another kind
    of target).
    """
    raise NotImplementedError
