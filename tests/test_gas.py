"""Goal Attainment Scaling: the Kiresuk-Sherman T-score."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import Phase as P
from treatplan import Transition

# One goal of weight 1: the denominator is sqrt(0.7 * 1 + 0.3 * 1) = 1, so
# T = 50 + 10x: 30, 40, 50, 60, 70 for -2..+2 (the T scale of Kiresuk & Sherman
# 1968: mean 50, SD 10).


@pytest.mark.parametrize(("level", "t"), [(-2, 30), (-1, 40), (0, 50), (1, 60), (2, 70)])
def test_single_goal_is_the_plain_t_scale(level: int, t: float) -> None:
    assert tp.outcomes.gas_t_score([level]) == pytest.approx(t)


def test_four_equal_goals_at_plus_one_by_hand() -> None:
    # sum(w x) = 4; sum(w^2) = 4; (sum w)^2 = 16
    # T = 50 + 10 * 4 / sqrt(0.7 * 4 + 0.3 * 16) = 50 + 40 / sqrt(7.6) = 50 + 14.5095 = 64.5095
    assert tp.outcomes.gas_t_score([1, 1, 1, 1]) == pytest.approx(64.5095, abs=1e-4)


def test_weighted_goals_by_hand() -> None:
    # levels (2, -1, 0), weights (3, 1, 2): sum(w x) = 6 - 1 + 0 = 5
    # sum(w^2) = 9 + 1 + 4 = 14; (sum w)^2 = 36
    # T = 50 + 50 / sqrt(0.7 * 14 + 0.3 * 36) = 50 + 50 / sqrt(20.6) = 50 + 11.0163 = 61.0163
    assert tp.outcomes.gas_t_score([2, -1, 0], [3, 1, 2]) == pytest.approx(61.0163, abs=1e-4)


def test_rho_is_configurable() -> None:
    # rho = 0: T = 50 + 10 * sum(x) / sqrt(n) = 50 + 10 * 2 / sqrt(2) = 64.1421
    assert tp.outcomes.gas_t_score([1, 1], rho=0) == pytest.approx(50 + 20 / math.sqrt(2))
    assert tp.outcomes.DEFAULT_GAS_RHO == 0.3


@pytest.mark.parametrize(
    ("levels", "weights", "rho", "message"),
    [
        ([], None, 0.3, "levels: expected a non-empty"),
        ([3], None, 0.3, "from -2 to 2"),
        ([1, 1], [1.0], 0.3, "one weight per"),
        ([1], [-1.0], 0.3, "above 0"),
        ([1, 1], [0.0, 0.0], 0.3, "above 0"),
        ([1, 1], [1.0, 0.0], 0.3, "above 0"),
        ([1], None, 1.5, "rho"),
        ("12", None, 0.3, "levels"),
        ([1], "1", 0.3, "weights"),
    ],
)
def test_bad_input_is_refused(
    levels: list[int], weights: list[float] | None, rho: float, message: str
) -> None:
    with pytest.raises(tp.ArgumentError, match=message):
        tp.outcomes.gas_t_score(levels, weights, rho=rho)


def test_weights_of_any_size_in_range_give_the_score_of_their_proportions() -> None:
    # The score depends on the weights' proportions only. A weight of 1e-300 once
    # underflowed both sums to 0 (ZeroDivisionError) and 1e-160 lost digits.
    assert tp.outcomes.gas_t_score([1], [1e-300]) == 60.0
    assert tp.outcomes.gas_t_score([1], [5e-324]) == 60.0
    assert tp.outcomes.gas_t_score([1, 1], [1e-160, 1e-160]) == tp.outcomes.gas_t_score([1, 1])
    assert tp.outcomes.gas_t_score([2, -1, 0], [3e-200, 1e-200, 2e-200]) == pytest.approx(
        tp.outcomes.gas_t_score([2, -1, 0], [3, 1, 2]), rel=1e-15
    )
    assert tp.outcomes.gas_t_score([2, 2], [1e9, 1e9]) == tp.outcomes.gas_t_score([2, 2])
    # A goal weighted 1e-300 beside one weighted 1e9 counts for nothing.
    assert tp.outcomes.gas_t_score([-2, 2], [1e-300, 1e9]) == 70.0


goals = st.integers(min_value=1, max_value=8)


@given(goals.flatmap(lambda n: st.lists(st.floats(0.1, 10), min_size=n, max_size=n)))
def test_t_is_50_when_every_goal_is_at_its_expected_level(weights: list[float]) -> None:
    assert tp.outcomes.gas_t_score([0] * len(weights), weights) == pytest.approx(50)


@given(
    goals.flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(-2, 2), min_size=n, max_size=n),
            st.lists(st.floats(0.1, 10), min_size=n, max_size=n),
            st.integers(0, n - 1),
        )
    ),
    st.floats(0, 1),
)
def test_t_strictly_rises_when_any_positively_weighted_level_rises(
    case: tuple[list[int], list[float], int], rho: float
) -> None:
    levels, weights, i = case
    if levels[i] == 2:
        levels[i] = 1
    higher = list(levels)
    higher[i] += 1
    assert tp.outcomes.gas_t_score(higher, weights, rho=rho) > tp.outcomes.gas_t_score(
        levels, weights, rho=rho
    )


# --------------------------------------------------------------------------- plans
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _plan(*reviews: tp.ProgressReview) -> tp.TreatmentPlan:
    objectives = (
        tp.Objective("o-1", "Walks", tp.GasTarget(weight=3), date(2026, 6, 1)),
        tp.Objective("o-2", "Calls", tp.GasTarget(weight=1), date(2026, 6, 1)),
        tp.Objective(
            "o-3", "Mood", tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10), date(2026, 6, 1)
        ),
    )
    return tp.TreatmentPlan(
        plan_id="plan-1",
        client_ref="client-1",
        history=(
            Transition("refer", None, P.REFERRED, T0, "clin-1"),
            Transition("begin_assessment", P.REFERRED, P.ASSESSING, T0, "clin-1"),
            Transition("agree_plan", P.ASSESSING, P.ACTIVE, T0, "clin-1"),
        ),
        goals=(tp.Goal("g-1", "Feel better", tp.GoalDomain.EMOTIONAL_WELLBEING, objectives),),
        reviews=reviews,
    )


def _review(rid: str, days: int, *levels: tuple[str, int | None]) -> tp.ProgressReview:
    return tp.ProgressReview(
        rid,
        T0 + timedelta(days=days),
        tp.ReviewDecision.CONTINUE,
        progress=tuple(
            tp.ObjectiveProgress(o, tp.AchievementStatus.IN_PROGRESS, gas_level=x)
            for o, x in levels
        ),
    )


def test_plan_without_gas_levels_has_no_t_score() -> None:
    assert tp.outcomes.plan_gas_t_score(_plan()) is None
    assert tp.outcomes.plan_gas_t_score(_plan(_review("r-1", 28, ("o-1", None)))) is None


def test_plan_t_score_uses_the_latest_levels_and_goal_weights() -> None:
    plan = _plan(
        _review("r-1", 28, ("o-1", -1), ("o-2", -1)),
        _review("r-2", 56, ("o-1", 1), ("o-2", 2), ("o-3", 0)),
        _review("r-3", 84, ("o-1", None)),
    )
    # r-3 rates o-1 without a level: no level of o-1 stands (r-2's is out of date), so
    # o-1 is left out. r-2: levels (2, 0), weights (1, 1 for the measure-target one)
    # sum(w x) = 2; sum(w^2) = 2; (sum w)^2 = 4
    # T = 50 + 20 / sqrt(0.7 * 2 + 0.3 * 4) = 50 + 20 / sqrt(2.6) = 62.4035
    assert tp.outcomes.plan_gas_t_score(plan) == pytest.approx(62.4035, abs=1e-4)
    assert tp.outcomes.plan_gas_t_score(plan, rho=0) == pytest.approx(50 + 20 / math.sqrt(2))
    # Without r-3: levels (1, 2, 0), weights (3, 1, 1); sum(w x) = 5; sum(w^2) = 11;
    # (sum w)^2 = 25; T = 50 + 50 / sqrt(0.7 * 11 + 0.3 * 25) = 62.8248
    earlier = attrs.evolve(plan, reviews=plan.reviews[:2])
    assert tp.outcomes.plan_gas_t_score(earlier) == pytest.approx(62.8248, abs=1e-4)


def test_a_later_rating_without_a_level_outranks_an_earlier_level() -> None:
    # Achieved at +1, then rated worsening with no level: not achieved, and no ending.
    plan = _plan(
        _review("r-1", 28, ("o-1", 1)),
        tp.ProgressReview(
            "r-2",
            T0 + timedelta(days=56),
            tp.ReviewDecision.CONTINUE,
            progress=(tp.ObjectiveProgress("o-1", tp.AchievementStatus.WORSENING),),
        ),
    )
    found = tp.objective_achievement(plan, plan.objectives[0])
    assert not found.achieved
    assert found.source is tp.AchievementSource.REVIEW
    assert found.detail == "progress worsening at r-2"


def test_plan_t_score_keeps_earlier_levels_of_objectives_a_review_did_not_rate() -> None:
    # r-2 rates o-1 only: o-2 stays at -2, the level its review finding reports.
    plan = _plan(_review("r-1", 28, ("o-1", 1), ("o-2", -2)), _review("r-2", 56, ("o-1", 1)))
    assert tp.outcomes.plan_gas_t_score(plan) == pytest.approx(
        tp.outcomes.gas_t_score([1, -2], [3, 1])
    )
    found = tp.review(plan, T0 + timedelta(days=57))
    assert [f.gas_level for f in found.objectives[:2]] == [1, -2]
    assert found.gas_t_score == tp.outcomes.plan_gas_t_score(plan)


def test_plan_t_score_leaves_out_cancelled_objectives() -> None:
    plan = _plan(_review("r-1", 28, ("o-1", 1), ("o-2", -2)))
    goal = plan.goals[0]
    cancelled = attrs.evolve(goal.objectives[1], status=tp.ObjectiveStatus.CANCELLED)
    objectives = (goal.objectives[0], cancelled, goal.objectives[2])
    plan = attrs.evolve(plan, goals=(attrs.evolve(goal, objectives=objectives),))
    assert tp.outcomes.plan_gas_t_score(plan) == pytest.approx(tp.outcomes.gas_t_score([1], [3]))
