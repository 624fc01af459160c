"""The service model under odd parameters: defects an audit found, each held by a test."""

from __future__ import annotations

import math

import attrs
import pytest

from treatplan.sim import (
    CAPACITY_SCENARIO,
    WAIT_COLUMNS,
    Capacity,
    Episode,
    Patience,
    Population,
    Scenario,
    Service,
    Team,
    simulate_service,
)

_W = {name: i for i, name in enumerate(WAIT_COLUMNS)}


class _Fixed:
    """Synthetic episodes of a fixed length at step 3, with an optional horizon."""

    def __init__(self, days: float, horizon_days: float = math.inf) -> None:
        self.days = days
        self.horizon_days = horizon_days
        self.left: list[tuple[int, float, str]] = []

    def route(self, index: int, referred: float) -> tuple[int, float]:
        return 3, 0.0

    def start(self, index: int, referred: float, at: float) -> Episode:
        return Episode(self.days)

    def leave(self, index: int, referred: float, at: float, reason: str) -> None:
        self.left.append((index, at, reason))


def _scenario(referrals_per_week: float, **service: object) -> Scenario:
    return Scenario(
        population=Population(decline_at_referral=0.0),
        capacity=Capacity(referrals_per_week=referrals_per_week),
        service=Service(step3=Team(2, caseload=1, contacts_per_week=7), **service),  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------- the assessment-slot clock


@pytest.mark.parametrize("referrals_per_week", [0.1, 0.001])
def test_idle_assessment_slots_are_skipped_whatever_the_slot_rate(
    referrals_per_week: float,
) -> None:
    # The audit's case: 1e6 slots a week and referrals weeks apart once ticked every
    # slot (3e7 events for 3 clients). The loop now does work per client, not per slot.
    slots = 1_000_000.0
    scenario = _scenario(
        referrals_per_week, assessment_slots_per_week=slots, patience=Patience("never")
    )
    episodes = _Fixed(1.0)
    result = simulate_service(scenario, 3, 1, episodes=episodes)
    gap = 7.0 / slots
    for row in result.waits:
        referred, assessed = float(row[_W["referred_day"]]), float(row[_W["assessed_day"]])
        # Assessed at the first slot at or after the referral (within rounding).
        assert -1e-6 <= assessed - referred <= gap + 1e-6
        assert row[_W["fate"]] == "started"


def test_the_engine_run_with_huge_slot_rates_finishes() -> None:
    # The audit's reproducer, with the engine's episodes.
    scenario = attrs.evolve(
        CAPACITY_SCENARIO,
        capacity=attrs.evolve(CAPACITY_SCENARIO.capacity, referrals_per_week=0.1),
        service=attrs.evolve(
            CAPACITY_SCENARIO.service, assessment_slots_per_week=1e6, warmup_weeks=0
        ),
    )
    result = simulate_service(scenario, 3, 1)
    assert result.service.counts["referred"] == 3
