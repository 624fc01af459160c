"""Summaries: Wilson intervals, replicate intervals, Kaplan-Meier, side by side."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan.sim import Rate, Summary, combine_replicates, compare, format_summary
from treatplan.sim._summary import Tally, _wilson
from treatplan.sim._survival import t_quantile


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
    # t(0.975, 2) = 0.95 / sqrt(2 * 0.025 * 0.975), exactly.
    t = 0.95 / math.sqrt(2 * 0.025 * 0.975)
    assert r.low == pytest.approx(0.5 - t * 0.1 / math.sqrt(3), abs=1e-12)
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
    a.wait_days, b.wait_days = {3: 2}, {3: 1, 15: 1}
    a.merge(b)
    assert a.counts["started"] == 7
    assert a.wait_days == {3: 3, 15: 1}


def test_the_median_wait_is_the_median_of_the_days_waited_in_weeks() -> None:
    # Not whole weeks: a median wait of 6 days is 0.86 weeks, not 0.
    from treatplan.sim._summary import summarise

    tally = Tally()
    tally.counts["started"] = 4
    tally.wait_days = {2: 1, 6: 1, 8: 1, 40: 1}
    assert summarise(tally, "x").figures["median_wait_weeks"] == 1.0  # (6 + 8) / 2 days
    tally.wait_days = {6: 3}
    assert summarise(tally, "x").figures["median_wait_weeks"] == 6 / 7
    assert math.isnan(summarise(Tally(), "x").figures["median_wait_weeks"])


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
    from treatplan.sim._summary import summarise

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


# Student's t quantiles: scipy.stats.t.ppf (test extra) is the reference.
@pytest.mark.parametrize(
    ("df", "expected"),
    [
        # Between the old table's rows and above 30, where it fell back or jumped to 1.96.
        (12, 2.1788128296672284),
        (40, 2.021075390306273),
        (1000, 1.9623390808264083),
    ],
)
def test_replicate_intervals_use_the_exact_t_quantile(df: int, expected: float) -> None:
    from treatplan.sim._summary import _t

    assert _t(df) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    df=st.one_of(st.integers(1, 1000), st.integers(1, 10**6)),
    p=st.floats(1e-6, 1 - 1e-6),
)
def test_t_quantile_agrees_with_scipy(df: int, p: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = float(scipy_stats.t.ppf(p, df))
    # Absolute 1e-10 near the centre, relative 1e-10 in the tails.
    assert abs(t_quantile(p, df) - expected) <= 1e-10 * max(1.0, abs(expected))


@pytest.mark.parametrize("df", [1, 2, 3, 7, 30, 31, 100, 10**4, 10**6, 0.5, 2.5])
@pytest.mark.parametrize("p", [1e-10, 1e-4, 0.025, 0.3, 0.5, 0.7, 0.975, 0.9999])
def test_t_quantile_grid_against_scipy(df: float, p: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = float(scipy_stats.t.ppf(p, df))
    assert abs(t_quantile(p, df) - expected) <= 1e-10 * max(1.0, abs(expected))


def test_t_quantile_is_odd_and_checks_its_arguments() -> None:
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.25, 9) == -t_quantile(0.75, 9)
    for p, df in ((0.0, 3), (1.0, 3), (0.5, 0), (0.5, math.inf), (math.nan, 3)):
        with pytest.raises(ValueError, match="expected"):
            t_quantile(p, df)


def test_t_quantile_far_in_the_tails() -> None:
    # df = 3: P(T > t) -> 2 / (3 pi u^3) with u = t / sqrt(3), so for p = 1e-300
    # t = sqrt(3) (2 / (3 pi 1e-300))^(1/3) (scipy overflows to -inf here).
    expected = math.sqrt(3) * (2 / (3 * math.pi * 1e-300)) ** (1 / 3)
    assert t_quantile(1e-300, 3) == pytest.approx(-expected, rel=1e-12)
    # df = 10^5, p = 1e-100: a Newton step overshoots to where the tail underflows to 0,
    # and bisection brings it back (the value is scipy's).
    assert t_quantile(1e-100, 10**5) == pytest.approx(-21.29759838971532, rel=1e-13)
    # df = 1/2: the quantile is beyond the largest float.
    assert t_quantile(1e-250, 0.5) == -math.inf


def test_a_rate_known_in_fewer_than_two_replicates_has_no_interval() -> None:
    # Recovery is undefined (no cases) in two replicates of three: the one value is
    # kept, without an interval; a rate undefined in all stays undefined.
    nan = Rate(math.nan, math.nan, math.nan, 0)
    one = _summary(0.4)
    rates = {"dropout": nan, "recovery": nan}
    undefined = Summary("s", 1, {"referred": 100}, rates, {"mean_wait_days": 0.0})
    combined = combine_replicates([one, undefined, undefined])
    recovery = combined.rates["recovery"]
    assert recovery.value == 0.4
    assert math.isnan(recovery.low)
    assert math.isnan(recovery.high)
    assert recovery.n == 100
    nothing = combine_replicates([undefined, undefined]).rates["dropout"]
    assert math.isnan(nothing.value)
    assert nothing.n == 0


def test_a_tally_shows_its_main_counts() -> None:
    from treatplan.sim import DEFAULT_SCENARIO, Tally, simulate

    assert repr(Tally()) == (
        "Tally(referred=0, started=0, completed=0, dropped_out=0, session_rows=0)"
    )
    tally = simulate(DEFAULT_SCENARIO, 5, seed=1).tally
    assert repr(tally).startswith("Tally(referred=5, started=")
