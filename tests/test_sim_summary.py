"""Summaries: Wilson intervals, replicate intervals, Kaplan-Meier, side by side."""

from __future__ import annotations

import math

import pytest

import treatplan as tp
from treatplan.sim import Rate, Summary, Tally, combine_replicates, compare, format_summary
from treatplan.sim._summary import _wilson


def test_wilson_interval_contains_the_rate_and_stays_in_range() -> None:
    r = _wilson(0, 20)
    assert r.value == 0
    assert r.low == 0
    assert 0 < r.high < 0.2
    r = _wilson(50, 100)
    assert r.low < 0.5 < r.high
    assert abs((r.low + r.high) / 2 - 0.5) < 1e-9
    assert math.isnan(_wilson(0, 0).value)


def _summary(value: float, name: str = "s") -> Summary:
    rates = {k: Rate(value, value, value, 100) for k in ("dropout", "recovery")}
    return Summary(name, 1, {"referred": 100}, rates, {"mean_wait_days": value})


def test_replicates_give_a_t_interval_around_the_mean() -> None:
    combined = combine_replicates([_summary(0.4), _summary(0.5), _summary(0.6)])
    r = combined.rates["recovery"]
    assert combined.replicates == 3
    assert r.value == pytest.approx(0.5)
    assert r.low == pytest.approx(0.5 - 4.303 * 0.1 / math.sqrt(3))
    assert r.n == 300


def test_one_replicate_is_kept_as_is() -> None:
    s = _summary(0.3)
    assert combine_replicates([s]) is s
    with pytest.raises(tp.ArgumentError, match="summaries: expected at least one"):
        combine_replicates([])


def test_kaplan_meier_of_dropout() -> None:
    tally = Tally()
    tally.dropout_events = {1: 2, 3: 1}
    tally.dropout_censored = {2: 2, 5: 5}
    curve = dict(tally.dropout_survival())
    assert curve[1] == pytest.approx(1 - 2 / 10)
    assert curve[2] == pytest.approx(0.8)
    assert curve[3] == pytest.approx(0.8 * (1 - 1 / 6))
    assert curve[5] == pytest.approx(curve[3])


def test_tallies_merge() -> None:
    a, b = Tally(), Tally()
    a.counts["started"], b.counts["started"] = 3, 4
    b.wait_weeks = {2: 1}
    a.merge(b)
    assert a.counts["started"] == 7
    assert a.wait_weeks == {2: 1}


def test_compare_lays_scenarios_side_by_side() -> None:
    from treatplan.sim import simulate

    one = simulate(clients=60, seed=1).summary
    text = compare([one, one])
    header = text.splitlines()[0]
    assert header.count("default") == 2
    assert "reliable improvement" in text
    assert format_summary(one).count("default") == 1


def test_reliable_recovery_is_a_rate_of_counted_cases_like_recovery() -> None:
    # Clinical review F12: only cases can recover, so reliable recovery shares
    # recovery's denominator (counted episodes that were cases at the start).
    from treatplan.sim import summarise

    tally = Tally()
    tally.counts.update(
        referred=100, started=100, counted=80, cases=60, recovered=30, reliable_recovery=24
    )
    rates = summarise(tally).rates
    assert (rates["recovery"].n, rates["reliable_recovery"].n) == (60, 60)
    assert rates["reliable_recovery"].value == pytest.approx(24 / 60)
    assert rates["reliable_improvement"].n == 80
    assert "reliable recovery (counted cases)" in format_summary(summarise(tally))


def test_simulated_reliable_recovery_never_exceeds_recovery() -> None:
    from treatplan.sim import DEFAULT_SCENARIO, simulate

    rates = simulate(DEFAULT_SCENARIO, 200, seed=11).summary.rates
    assert rates["reliable_recovery"].n == rates["recovery"].n
    assert rates["reliable_recovery"].value <= rates["recovery"].value
