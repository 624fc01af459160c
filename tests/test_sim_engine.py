"""The engine drives real plans: every simulated client is a valid TreatmentPlan."""

from __future__ import annotations

from datetime import date, timedelta

import attrs

import treatplan as tp
from treatplan.sim import DEFAULT_SCENARIO, NON_ATTENDANCE_RULES, Policy
from treatplan.sim._engine import (
    _DAYS_KEPT,
    CLIENT_COLUMNS,
    Admission,
    WaitingList,
    _Context,
    simulate_client,
)

COL = {c: i for i, c in enumerate(CLIENT_COLUMNS)}


def _clients(scenario=DEFAULT_SCENARIO, n: int = 60, seed: int = 4):
    admissions = WaitingList(scenario, seed).admissions(0, n)
    return [simulate_client(scenario, seed, a, keep_plan=True) for a in admissions]


def test_every_client_is_a_valid_plan_that_round_trips() -> None:
    for result in _clients():
        plan = result.plan
        assert isinstance(plan, tp.TreatmentPlan)
        assert tp.loads(tp.dumps(plan)) == plan  # full validation on load
        assert plan.history[0].event == "refer"
        assert len(result.events) == len(plan.history)


def test_rows_agree_with_the_plan() -> None:
    for result in _clients():
        plan, row = result.plan, result.client
        assert plan is not None
        assert row[COL["phase"]] == plan.phase.value
        assert row[COL["sessions_offered"]] == len(plan.sessions) == len(result.sessions)
        assert row[COL["sessions_attended"]] == len(plan.attended_sessions)
        assert row[COL["reviews"]] == len(plan.reviews)
        if plan.outcome is tp.EpisodeOutcome.DROPPED_OUT:
            assert set(row[COL["ended_by"]].split(";")) & NON_ATTENDANCE_RULES


def test_outcomes_come_from_the_talking_therapies_function() -> None:
    from treatplan._nhstt import talking_therapies_outcome

    for result in _clients():
        assert result.plan is not None
        outcome = talking_therapies_outcome(result.plan)
        row = result.client
        assert row[COL["counted"]] == (row[COL["started"]] and outcome.counts)
        if outcome.counts:
            assert row[COL["recovered"]] == outcome.recovered
            assert row[COL["reliably_improved"]] == outcome.reliable_improvement


def test_ending_follows_the_scenario_rules() -> None:
    short = attrs.evolve(
        DEFAULT_SCENARIO,
        policy=Policy(
            ending_rules=tp.rules.AnyOf((tp.rules.SessionLimit(3), tp.rules.ConsecutiveMissed(1)))
        ),
    )
    for result in _clients(short, 40):
        plan = result.plan
        assert plan is not None
        if plan.phase is tp.Phase.CLOSED and plan.outcome is tp.EpisodeOutcome.COMPLETED:
            assert len(plan.attended_sessions) == 3


def test_declined_clients_never_start() -> None:
    result = simulate_client(
        DEFAULT_SCENARIO, 1, Admission(0, 3, None, 10, "declined"), keep_plan=True
    )
    assert result.plan is not None
    assert result.plan.outcome is tp.EpisodeOutcome.DECLINED
    assert result.sessions == []
    assert result.client[COL["started"]] is False


def test_a_waiting_list_forms_when_referrals_outrun_capacity() -> None:
    scenario = attrs.evolve(
        DEFAULT_SCENARIO,
        capacity=attrs.evolve(DEFAULT_SCENARIO.capacity, referrals_per_week=100.0),
    )
    admissions = WaitingList(scenario, 2).admissions(0, 2000)
    waits = [a.start_day - a.referred_day for a in admissions if a.start_day is not None]
    assert max(waits[-200:]) > 28
    assert sum(a.declined_reason == "declined while waiting" for a in admissions) > 0
    assert all(a.start_day is None or a.start_day >= a.referred_day for a in admissions)


def test_stepped_care_starts_less_severe_clients_at_step_two() -> None:
    stepped = attrs.evolve(DEFAULT_SCENARIO, policy=Policy(stepped_care=True))
    steps = {r.client[COL["step"]] for r in _clients(stepped, 80)}
    assert {2, 3} <= steps


def test_alerts_every_session_flag_more_sessions_than_reviews_alone() -> None:
    from treatplan._alerts import AlertKind

    def flagged(scenario) -> int:
        count = 0
        for result in _clients(scenario, 30):
            for row in result.sessions:
                kinds = set(row[6].split(";")) - {""}
                assert kinds <= {k.value for k in AlertKind}
                count += bool(kinds - {"risk_item"})
        return count

    noisy = attrs.evolve(DEFAULT_SCENARIO, policy=Policy(alerts_every_session=True))
    assert flagged(noisy) > flagged(DEFAULT_SCENARIO) > 0


def test_episodes_still_open_at_the_horizon_are_left_open() -> None:
    short = attrs.evolve(DEFAULT_SCENARIO, horizon_weeks=4)
    results = _clients(short, 30)
    open_ = [r for r in results if r.plan is not None and r.plan.phase is tp.Phase.ACTIVE]
    assert open_
    for result in open_:
        assert result.client[COL["closed"]] == ""
        assert result.censored_at == result.client[COL["sessions_attended"]]


def test_feedback_revises_the_plan_once_and_reviews_at_once() -> None:
    risky = attrs.evolve(
        DEFAULT_SCENARIO,
        response=attrs.evolve(DEFAULT_SCENARIO.response, deterioration_rate=0.5),
        policy=Policy(feedback=True),
    )
    acted = 0
    for result in _clients(risky, 40):
        flagged = [
            row[1]
            for row in result.sessions
            if {"not_on_track", "reliable_deterioration"} & set(row[6].split(";"))
        ]
        plan = result.plan
        assert plan is not None
        if flagged:
            acted += 1
            first = flagged[0]
            reviewed_at = {r.at.isoformat() for r in plan.reviews}
            assert result.sessions[first - 1][2] in reviewed_at
    assert acted > 0


def test_each_start_date_has_one_goal_value_and_the_table_stays_bounded() -> None:
    ctx = _Context(DEFAULT_SCENARIO)
    first = ctx.goal(date(2026, 3, 2))
    assert ctx.goal(date(2026, 3, 2)) is first  # shared by clients starting that day
    assert first == ctx._goal(date(2026, 3, 2))  # the same value as one made afresh
    for n in range(1, 1100):
        goal = ctx.goal(date(2026, 3, 2) + timedelta(days=n))
        assert goal.objectives[0].target_date == date(2026, 3, 2) + timedelta(days=n)
    assert len(ctx._goals) <= 1024


def test_each_day_has_one_time_value_and_the_table_stays_bounded() -> None:
    ctx = _Context(DEFAULT_SCENARIO)
    first = ctx.at(3)
    assert ctx.at(3) is first
    assert first == ctx.epoch + timedelta(days=3)
    for day in range(_DAYS_KEPT + 1):
        assert ctx.at(day) == ctx.epoch + timedelta(days=day)
    assert len(ctx._days) <= _DAYS_KEPT


def test_each_instant_has_one_text_and_the_table_stays_bounded() -> None:
    ctx = _Context(DEFAULT_SCENARIO)
    first = ctx.text(ctx.at(3))
    assert ctx.text(ctx.at(3)) is first
    assert first == (ctx.epoch + timedelta(days=3)).isoformat()
    for day in range(_DAYS_KEPT + 1):
        at = ctx.epoch + timedelta(days=day)  # a fresh value each: found by equality
        assert ctx.text(at) == at.isoformat()
    assert len(ctx._texts) <= _DAYS_KEPT
