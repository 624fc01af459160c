"""Goal Attainment Scaling (Kiresuk & Sherman 1968).

Each goal is scored -2..+2 (0 = the expected outcome) with a weight; the
summary T-score is
``T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2)``
with rho, the assumed inter-goal correlation, 0.3 by default (Kiresuk &
Sherman 1968; the formula as corrected in Turner-Stokes 2009's erratum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from . import _validation as v
from ._errors import ArgumentError
from ._model import GasTarget, TreatmentPlan
from ._state import live_objectives, state_of

__all__ = ["DEFAULT_GAS_RHO", "gas_t_score", "plan_gas_t_score"]

#: Kiresuk & Sherman (1968): the assumed correlation between goal scores.
DEFAULT_GAS_RHO = 0.3


def gas_t_score(
    levels: Sequence[int], weights: Sequence[float] | None = None, *, rho: float = DEFAULT_GAS_RHO
) -> float:
    """The Kiresuk-Sherman T-score of goal levels (-2..+2), weights 1 by default.

    ``T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2)``
    (Kiresuk & Sherman 1968). 50 when every goal is at its expected level (0);
    one goal of weight 1 gives 30, 40, 50, 60, 70 for -2..+2. Raises
    :class:`~treatplan.ArgumentError` (also a ``ValueError``) for no goals, a
    level outside -2..+2, a weight that is not a finite number above 0, or rho
    outside 0..1.
    """
    if not isinstance(levels, Sequence) or isinstance(levels, str) or not levels:
        raise ArgumentError("levels", "a non-empty sequence of goal levels")
    if any(not v.is_int(x) or not -2 <= x <= 2 for x in levels):
        raise ArgumentError("levels", "integers from -2 to 2")
    if weights is not None and (not isinstance(weights, Sequence) or isinstance(weights, str)):
        raise ArgumentError("weights", "a sequence of numbers, or None")
    if weights is not None and len(weights) != len(levels):
        raise ArgumentError("weights", "one weight per goal level")
    if weights is not None and any(not v.is_number(x) or x <= 0 for x in weights):
        raise ArgumentError("weights", f"finite numbers above 0 and at most {v.MAX_NUMBER:g}")
    w = [1.0] * len(levels) if weights is None else [float(x) for x in weights]
    if not (v.is_number(rho) and 0 <= rho <= 1):
        raise ArgumentError("rho", "a number from 0 to 1")
    # The score is the same for weights all scaled alike: scale them by a power of two
    # (exact) so that the largest is in [0.5, 1), and neither sum can underflow to 0 or
    # overflow, whatever the weights' size (1e-300 once divided by zero).
    _, exponent = math.frexp(max(w))
    w = [math.ldexp(x, -exponent) for x in w]
    spread = (1 - rho) * sum(x * x for x in w) + rho * sum(w) ** 2
    return 50 + 10 * sum(wi * xi for wi, xi in zip(w, levels, strict=True)) / math.sqrt(spread)


def plan_gas_t_score(plan: TreatmentPlan, *, rho: float = DEFAULT_GAS_RHO) -> float | None:
    """The GAS T-score of the plan's objectives at their latest GAS levels, or ``None``.

    Each live objective (not cancelled, rejected or entered in error) counts with
    the GAS level of its latest rating at a review, the level its review finding
    reports (:func:`~treatplan.objective_achievement`): a review that rates only
    some objectives leaves the others at their earlier ratings, and an objective
    whose latest rating has no level is left out. Each weight is the
    objective's ``GasTarget.weight`` (1.0 when the objective has another kind of
    target). ``None`` when no objective has a level yet.
    """
    if not isinstance(plan, TreatmentPlan):
        raise ArgumentError("plan", "a TreatmentPlan")
    progress = state_of(plan).progress
    levels: list[int] = []
    weights: list[float] = []
    for objective in live_objectives(plan):
        record = progress.get(objective.id)
        if record is not None and record[2] is not None:
            target = objective.target
            levels.append(record[2])
            weights.append(target.weight if isinstance(target, GasTarget) else 1.0)
    return gas_t_score(levels, weights, rho=rho) if levels else None
