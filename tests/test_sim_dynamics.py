"""Synthetic clients: traits, log-linear dose-response, consistent item responses."""

from __future__ import annotations

import itertools
import random

import attrs
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan.sim import DEFAULT_SCENARIO
from treatplan.sim._dynamics import ItemPatterns, draw_traits, observe, sem, true_scores


def test_item_patterns_sum_to_the_total_and_fit_the_instrument() -> None:
    patterns = ItemPatterns(tp.instruments.PHQ9)
    rng = random.Random(0)
    for total in range(28):
        items = patterns.draw(rng, total)
        assert sum(items) == total
        assert not tp.instruments.PHQ9.response_problems(items, None)


@given(st.integers(-10, 40))
def test_item_patterns_clip_out_of_range_totals(total: int) -> None:
    items = ItemPatterns(tp.instruments.GAD7).draw(random.Random(1), total)
    assert sum(items) == min(21, max(0, total))


def test_traits_are_valid_client_factors() -> None:
    rng = random.Random(3)
    for _ in range(200):
        traits = draw_traits(DEFAULT_SCENARIO, rng)
        assert isinstance(traits.factors, tp.ClientFactors)
        assert 0 <= traits.phq9_baseline <= 27
        assert 0 <= traits.gad7_baseline <= 21


def test_log_linear_response_is_fast_early_and_slower_later() -> None:
    scenario = attrs.evolve(
        DEFAULT_SCENARIO,
        response=attrs.evolve(DEFAULT_SCENARIO.response, worse_before_better_rate=0.0),
    )
    traits = attrs.evolve(
        draw_traits(scenario, random.Random(5)),
        response=0.5,
        phq9_baseline=20.0,
        sudden_gain_session=0,
        worse_before_better=False,
    )
    scores = [true_scores(scenario, traits, s)[0] for s in range(13)]
    gains = [a - b for a, b in itertools.pairwise(scores)]
    assert all(g > 0 for g in gains)
    assert gains[0] > gains[5] > gains[-1]
    assert abs(scores[12] - 10.0) < 1e-9  # half the intake at the reference dose


def test_deteriorators_get_worse() -> None:
    traits = attrs.evolve(
        draw_traits(DEFAULT_SCENARIO, random.Random(2)),
        response=-0.3,
        phq9_baseline=12.0,
        sudden_gain_session=0,
        worse_before_better=False,
    )
    assert true_scores(DEFAULT_SCENARIO, traits, 8)[0] > 12.0


def test_measurement_error_matches_the_reliability() -> None:
    error = sem(5.5, 0.89)
    assert abs(error - 5.5 * (0.11**0.5)) < 1e-12
    rng = random.Random(9)
    draws = [observe(rng, 13.0, error, 0, 27) - 13.0 for _ in range(4000)]
    mean = sum(draws) / len(draws)
    sd = (sum((d - mean) ** 2 for d in draws) / len(draws)) ** 0.5
    assert abs(mean) < 0.15
    assert abs(sd - error) < 0.2


def test_a_draw_at_the_very_top_picks_the_last_weighted_option() -> None:
    # Rounding can leave a draw at the total weight after every subtraction: the pick
    # is then the last option with weight, never one without.
    from treatplan.sim._dynamics import _pick

    class Top(random.Random):
        def random(self) -> float:
            return 1.0

    assert _pick(Top(), ["a", "b", "c"], {"a": 1.0, "b": 2.0, "c": 0.0}) == "b"
    assert _pick(random.Random(3), ["a", "b"], {"a": 0.0, "b": 1.0}) == "b"
