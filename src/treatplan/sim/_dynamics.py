"""Synthetic clients and their symptom dynamics.

A client's *true* PHQ-9 and GAD-7 follow a log-linear dose-response curve
(fast early, slower later: Howard et al. 1986) with individual
variation, optional early sudden gains, worse-before-better starts and
deterioration. Observed totals add measurement error whose SD is the
instrument's standard error of measurement, SD * sqrt(1 - reliability)
(Jacobson & Truax 1991). Item responses are drawn from patterns that sum to the
observed total, so every recorded assessment is internally consistent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import attrs

from .. import _validation as v
from .._errors import ArgumentError
from .._fast import frozen_maker
from .._instruments import Instrument
from .._model import Barrier, BarrierKind, ClientFactors, Readiness, SupportLevel
from .._records import SlottedRecord, record_repr
from . import _checks as checks
from ._scenario import Scenario

__all__ = ["ClientTraits", "ItemPatterns", "draw_traits", "true_scores"]

_READINESS = tuple(Readiness)
_SUPPORT = tuple(SupportLevel)
_BARRIERS = tuple(BarrierKind)
#: Middle levels: effects are counted in steps away from these.
_READINESS_MIDDLE = _READINESS.index(Readiness.PREPARATION)
# Each level's value and its member, looked up once (an enum's ``.value`` and a call
# by value are slow, and every client draws them).
_READINESS_VALUES = [r.value for r in _READINESS]
_SUPPORT_VALUES = [s.value for s in _SUPPORT]
_READINESS_OF = {r.value: r for r in _READINESS}
_SUPPORT_OF = {s.value: s for s in _SUPPORT}
_BARRIER_VALUES = tuple((kind, kind.value) for kind in _BARRIERS)
_SUPPORT_MIDDLE = 1.5  # between limited and adequate


@attrs.frozen
class ClientTraits(SlottedRecord):
    """The latent make-up of one synthetic client (never written to a plan)."""

    __repr__ = record_repr

    factors: ClientFactors
    readiness_step: int  # steps above (positive) or below the middle readiness level
    support_step: float
    barrier_count: int
    phq9_baseline: float  # true score at intake
    gad7_baseline: float
    response: float  # proportional fall at the reference dose (negative: deteriorates)
    sudden_gain_session: int  # 0 for none
    worse_before_better: bool


#: ``ClientTraits(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): one per simulated client.
_new_traits = frozen_maker(ClientTraits)


def _pick(rng: random.Random, options: Sequence[str], weights: dict[str, float]) -> str:
    total = sum(weights.get(o, 0.0) for o in options)
    x = rng.random() * total
    for o in options:
        x -= weights.get(o, 0.0)
        if x < 0:
            return o
    return next(o for o in reversed(options) if weights.get(o, 0.0) > 0)


def draw_traits(scenario: Scenario, rng: random.Random) -> ClientTraits:
    """Draw one client's factors, intake severity and response from the scenario."""
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.instance("rng", rng, random.Random, "a random.Random")
    return drawn_traits(scenario, rng)


def drawn_traits(scenario: Scenario, rng: random.Random) -> ClientTraits:
    """:func:`draw_traits` without its argument checks (the engine's path)."""
    pop, resp = scenario.population, scenario.response
    readiness = _READINESS_OF[_pick(rng, _READINESS_VALUES, pop.readiness)]
    support = _SUPPORT_OF[_pick(rng, _SUPPORT_VALUES, pop.support)]
    chance = pop.barriers.get
    barriers = tuple(
        Barrier(kind) for kind, value in _BARRIER_VALUES if rng.random() < chance(value, 0.0)
    )
    z1, z2 = rng.gauss(), rng.gauss()
    rho = pop.phq9_gad7_correlation
    zg = rho * z1 + math.sqrt(1 - rho * rho) * z2
    phq = min(27.0, max(0.0, pop.phq9.mean + pop.phq9.sd * z1))
    gad = min(21.0, max(0.0, pop.gad7.mean + pop.gad7.sd * zg))
    readiness_step = _READINESS.index(readiness) - _READINESS_MIDDLE
    support_step = _SUPPORT.index(support) - _SUPPORT_MIDDLE
    if rng.random() < resp.deterioration_rate:
        response = -resp.deterioration * (0.5 + rng.random())
    else:
        response = rng.gauss(resp.response, resp.response_sd)
        response += resp.readiness_effect * readiness_step + resp.support_effect * support_step
        response = min(response, 0.95)
    sudden = rng.randint(2, 6) if rng.random() < resp.sudden_gain_rate else 0
    worse_first = rng.random() < resp.worse_before_better_rate
    return _new_traits(
        factors=ClientFactors(readiness=readiness, support=support, barriers=barriers),
        readiness_step=readiness_step,
        support_step=support_step,
        barrier_count=len(barriers),
        phq9_baseline=phq,
        gad7_baseline=gad,
        response=response,
        sudden_gain_session=sudden,
        worse_before_better=worse_first,
    )


def true_scores(
    scenario: Scenario,
    traits: ClientTraits,
    dose: float,
    boost: float = 0.0,
    boost_from: float = 0.0,
) -> tuple[float, float]:
    """The client's true PHQ-9 and GAD-7 after ``dose`` attended sessions (may be fractional:
    low-intensity sessions count for less).

    ``boost`` adds to the client's response from dose ``boost_from`` on (a plan
    revised after feedback), continuing the log-linear curve without a jump.
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.instance("traits", traits, ClientTraits, "a treatplan.sim.ClientTraits")
    for name, value in (("dose", dose), ("boost", boost), ("boost_from", boost_from)):
        if not v.is_number(value) or (name != "boost" and value < 0):
            raise ArgumentError(
                name, "a finite number" + ("" if name == "boost" else ", not negative")
            )
    return scores_after(scenario, traits, dose, boost, boost_from)


def scores_after(
    scenario: Scenario,
    traits: ClientTraits,
    dose: float,
    boost: float = 0.0,
    boost_from: float = 0.0,
) -> tuple[float, float]:
    """:func:`true_scores` without its argument checks (the engine's path, every session)."""
    resp = scenario.response
    log_reference = math.log1p(resp.reference_sessions)
    fraction = traits.response * math.log1p(dose) / log_reference
    if boost and dose > boost_from:
        fraction += boost * (math.log1p(dose) - math.log1p(boost_from)) / log_reference
    phq = traits.phq9_baseline * (1 - fraction)
    gad = traits.gad7_baseline * (1 - fraction)
    if traits.worse_before_better and dose < 4:
        bump = resp.worse_before_better_points * (4 - dose) / 3 if dose > 0 else 0.0
        phq += bump
        gad += bump * 0.75
    if traits.sudden_gain_session and dose >= traits.sudden_gain_session:
        phq -= resp.sudden_gain_points
        gad -= resp.sudden_gain_points * 0.75
    # min(27.0, max(0.0, phq)) and the same for GAD-7, spelled out: the builtins parse
    # their arguments as keywords, and this runs for every score drawn.
    phq = phq if phq > 0.0 else 0.0
    gad = gad if gad > 0.0 else 0.0
    return (phq if phq < 27.0 else 27.0), (gad if gad < 21.0 else 21.0)


class ItemPatterns:
    """Item-response patterns for each possible total of an instrument.

    Built once from a fixed seed: for every total, ``per_total`` patterns whose
    items lie in the instrument's range and sum to the total. ``item_weights``
    makes some items rarer (PHQ-9 item 9, thoughts of self-harm, is the least
    endorsed item: Kroenke, Spitzer & Williams 2001).
    """

    def __init__(
        self,
        instrument: Instrument,
        item_weights: Sequence[float] | None = None,
        per_total: int = 32,
    ) -> None:
        checks.instance("instrument", instrument, Instrument, "a treatplan.instruments.Instrument")
        n, low, high = instrument.item_count, instrument.item_min, instrument.item_max
        if n < 1 or high < low:
            raise ArgumentError("instrument", "an instrument with items and an item range")
        weights = [1.0] * n if item_weights is None else _weights(item_weights, n)
        checks.integer("per_total", per_total, 1, 1_000)
        rng = random.Random(f"treatplan-items:{instrument.code}")
        self.instrument = instrument
        self.sem_sd = 0.0
        self.low, self.high = n * low, n * high
        self.patterns: list[list[tuple[int, ...]]] = []
        for total in range(self.low, self.high + 1):
            found: list[tuple[int, ...]] = []
            for _ in range(per_total):
                items = [low] * n
                for _unit in range(total - self.low):
                    open_items = [i for i in range(n) if items[i] < high]
                    w = [weights[i] for i in open_items]
                    items[rng.choices(open_items, w)[0]] += 1
                found.append(tuple(items))
            self.patterns.append(found)

    def draw(self, rng: random.Random, total: int) -> tuple[int, ...]:
        """Item responses summing to ``total`` (clipped to the instrument's range)."""
        # min(self.high, max(self.low, total)), spelled out (see scores_after).
        low, high = self.low, self.high
        total = total if total > low else low
        total = total if total < high else high
        options = self.patterns[total - self.low]
        return options[int(rng.random() * len(options))]


def _weights(item_weights: Any, n: int) -> list[float]:
    expected = f"one positive, finite weight per item ({n})"
    if not isinstance(item_weights, list | tuple) or len(item_weights) != n:
        raise ArgumentError("item_weights", expected)
    if not all(v.is_number(w) and w > 0 for w in item_weights):
        raise ArgumentError("item_weights", expected)
    return [float(w) for w in item_weights]


def observe(rng: random.Random, true: float, sem: float, low: int, high: int) -> int:
    """An observed total: the true score plus normal measurement error, rounded and clipped."""
    total = round(true + rng.gauss(0.0, sem))
    # min(high, max(low, total)), spelled out (see scores_after).
    total = total if total > low else low
    return total if total < high else high


def sem(sd: float, reliability: float) -> float:
    """Standard error of measurement, SD * sqrt(1 - r_xx) (Jacobson & Truax 1991)."""
    return sd * math.sqrt(1.0 - reliability)
