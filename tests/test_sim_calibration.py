"""The built-in scenario reproduces the published figures (docs/references.md#simulation-figures).

One run of 3000 referrals (about 2,650 starting treatment); the ranges are the
issue's: drop-out 15-25% (Swift & Greenberg 2012: 19.7%), recovery among
counted completers 45-55% and reliable improvement 60-72% (NHS Digital: about
50% and 66-69%), reliable deterioration 4-10% (Lambert; NHS England 2025: 6%),
about half reliably improved by session 8 (Howard et al. 1986), mean sessions
near the NHS Talking Therapies 6.8-7.9.
"""

from __future__ import annotations

import attrs
import pytest

from treatplan.sim import DEFAULT_SCENARIO, Summary, simulate


@pytest.fixture(scope="module")
def summary() -> Summary:
    return simulate(DEFAULT_SCENARIO, 3000, seed=2026, chunk_size=500).summary


@pytest.mark.parametrize(
    ("rate", "low", "high"),
    [
        ("dropout", 0.15, 0.25),
        ("recovery", 0.45, 0.55),
        ("reliable_improvement", 0.60, 0.72),
        ("reliable_deterioration", 0.04, 0.10),
        ("improved_by_session_8", 0.40, 0.60),
    ],
)
def test_published_ranges(summary: Summary, rate: str, low: float, high: float) -> None:
    assert low <= summary.rates[rate].value <= high


def test_sessions_attended_near_the_nhs_average(summary: Summary) -> None:
    assert 6.0 <= summary.figures["mean_sessions_attended"] <= 9.0


def test_the_funnel_narrows(summary: Summary) -> None:
    f = summary.funnel
    assert f["referred"] >= f["started"] >= f["two_or_more_sessions"] >= f["completed"]
    assert f["completed"] >= f["recovered"] > 0
    assert f["started"] / f["referred"] > 0.8


def test_feedback_lowers_deterioration_as_lambert_reports() -> None:
    risky = attrs.evolve(
        DEFAULT_SCENARIO,
        response=attrs.evolve(DEFAULT_SCENARIO.response, deterioration_rate=0.2),
    )
    with_feedback = attrs.evolve(risky, policy=attrs.evolve(risky.policy, feedback=True))
    without = simulate(risky, 800, seed=3).summary.rates["reliable_deterioration"].value
    with_it = simulate(with_feedback, 800, seed=3).summary.rates["reliable_deterioration"].value
    assert with_it < 0.85 * without
