"""Survival statistics: Kaplan-Meier and Aalen-Johansen against lifelines (test extra),
and the durations read from a run's tables."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treatplan.sim import (
    DEFAULT_SCENARIO,
    ENDING_CAUSES,
    competing_risks,
    cumulative_incidence,
    ending_cause,
    episode_endings,
    kaplan_meier,
    read_table,
    recovery_times,
    simulate,
)

CAUSES = ("dropout", "recovery_discharge", "planned_ending")
CODES = {None: 0, "dropout": 1, "recovery_discharge": 2, "planned_ending": 3}
#: How close to lifelines: estimates, variances and intervals are the same
#: arithmetic, so they agree to rounding.
TOLERANCE = 1e-9


def _lifelines() -> Any:
    lifelines = pytest.importorskip("lifelines")
    warnings.simplefilter("ignore")  # lifelines warns about ties and pandas internals
    return lifelines


@st.composite
def follow_up(draw: Any, ties: bool) -> tuple[list[float], list[str | None]]:
    """Random durations with causes (None = censored); event times distinct unless ``ties``."""
    n = draw(st.integers(2, 60))
    causes = draw(st.lists(st.sampled_from([None, *CAUSES]), min_size=n, max_size=n))
    if ties:
        # From 1: lifelines sets its first row's incidence to 0 even when events are
        # at that time (it always starts its timeline there), so time-0 events are
        # compared in test_time_zero_events instead.
        durations = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
        return [float(d) for d in durations], causes
    distinct = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n, unique=True))
    durations = [float(d) for d in distinct]
    # Censorings may share an event's time (censored after the events there).
    for i, cause in enumerate(causes):
        if cause is None and draw(st.booleans()):
            durations[i] = durations[draw(st.integers(0, n - 1))]
    return durations, causes


@settings(max_examples=60, deadline=None)
@given(follow_up(ties=True))
def test_kaplan_meier_matches_lifelines(data: tuple[list[float], list[str | None]]) -> None:
    lifelines = _lifelines()
    durations, causes = data
    observed = [c is not None for c in causes]
    mine = kaplan_meier(durations, observed)
    theirs = lifelines.KaplanMeierFitter().fit(durations, observed)
    survival = theirs.survival_function_.iloc[:, 0]
    interval = theirs.confidence_interval_
    for t, s, low, high in zip(mine.times, mine.estimates, mine.lower, mine.upper, strict=True):
        assert abs(survival.loc[t] - s) <= TOLERANCE
        if 0 < s < 1:
            their_low, their_high = interval.loc[t]
            assert abs(their_low - low) <= TOLERANCE
            assert abs(their_high - high) <= TOLERANCE
        else:  # lifelines reports NaN-filled 1s here; the interval collapses onto S
            assert low == high == s
    at_risk = theirs.event_table["at_risk"]
    assert [mine.number_at_risk(t) for t in mine.times] == [at_risk.loc[t] for t in mine.times]


@settings(max_examples=60, deadline=None)
@given(follow_up(ties=False))
def test_aalen_johansen_matches_lifelines(data: tuple[list[float], list[str | None]]) -> None:
    lifelines = _lifelines()
    durations, causes = data
    for cause in sorted({c for c in causes if c is not None}):
        mine = cumulative_incidence(durations, causes, cause)
        theirs = lifelines.AalenJohansenFitter(calculate_variance=True).fit(
            durations, [CODES[c] for c in causes], event_of_interest=CODES[cause]
        )
        density = theirs.cumulative_density_.iloc[:, 0]
        for t, f, low, high, var in zip(
            mine.times, mine.estimates, mine.lower, mine.upper, mine.variance, strict=True
        ):
            assert abs(density.loc[t] - f) <= TOLERANCE
            their_var = theirs.variance_.loc[t]
            if not math.isfinite(their_var):
                # lifelines divides 0 by 0 once everyone has ended; ours stays finite.
                assert math.isfinite(var)
                continue
            assert abs(their_var - var) <= TOLERANCE
            if 0 < f < 1:
                # lifelines labels its log(-log F) bounds the other way round.
                their_low, their_high = sorted(theirs.confidence_interval_.loc[t])
                assert abs(their_low - low) <= TOLERANCE
                assert abs(their_high - high) <= TOLERANCE


@settings(max_examples=40, deadline=None)
@given(follow_up(ties=True))
def test_aalen_johansen_handles_ties_as_lifelines_jitter_does(
    data: tuple[list[float], list[str | None]],
) -> None:
    """lifelines breaks tied event times by jitter (+-1e-4); censorings here sit at .5,
    so after each whole time both estimates must agree."""
    lifelines = _lifelines()
    durations, causes = data
    durations = [d + 0.5 if c is None else d for d, c in zip(durations, causes, strict=True)]
    for cause in sorted({c for c in causes if c is not None}):
        mine = cumulative_incidence(durations, causes, cause)
        theirs = lifelines.AalenJohansenFitter(calculate_variance=False, seed=1).fit(
            durations, [CODES[c] for c in causes], event_of_interest=CODES[cause]
        )
        density = theirs.cumulative_density_.iloc[:, 0]
        for t in range(14):
            probe = t + 0.25
            assert abs(density.loc[:probe].iloc[-1] - mine.at(probe)) <= TOLERANCE


@settings(max_examples=100, deadline=None)
@given(follow_up(ties=True))
def test_cumulative_incidences_add_up_to_one_minus_kaplan_meier(
    data: tuple[list[float], list[str | None]],
) -> None:
    durations, causes = data
    curves = competing_risks(durations, causes)
    overall = kaplan_meier(durations, [c is not None for c in causes])
    for t in overall.times:
        assert abs(sum(c.at(t) for c in curves.values()) - (1 - overall.at(t))) <= 1e-12
    for curve in curves.values():
        assert all(
            lo <= f <= hi
            for f, lo, hi in zip(curve.estimates, curve.lower, curve.upper, strict=True)
        )
        assert all(lo >= 0 and hi <= 1 for lo, hi in zip(curve.lower, curve.upper, strict=True))


def test_time_zero_events() -> None:
    """Drop-out before the first session (0 attended) is an event at time 0: it counts
    at once (lifelines would show 0 there, then include it from the next time)."""
    curve = cumulative_incidence([0.0, 0.0, 1.0, 2.0], ["a", None, "b", "a"], "a")
    assert curve.at(0) == 0.25
    assert curve.at(2) == pytest.approx(0.25 + 0.75 * 0.5)


def test_a_small_example_by_hand() -> None:
    # 5 followed: ends by a at 1, censored at 2, ends by b at 3 (two of them), a at 4.
    durations = [1.0, 2.0, 3.0, 3.0, 4.0]
    causes: list[str | None] = ["a", None, "b", "b", "a"]
    a = cumulative_incidence(durations, causes, "a")
    assert a.times == (1.0, 2.0, 3.0, 4.0)
    assert a.at_risk == (5, 4, 3, 1)
    assert a.events == (1, 0, 0, 1)
    assert a.all_events == (1, 0, 2, 1)
    assert a.censored == (0, 1, 0, 0)
    assert a.censoring_times == (2.0,)
    # S before 4 is 4/5 * 1/3; the last one ends by a.
    assert a.at(0.5) == 0.0
    assert a.at(4) == pytest.approx(1 / 5 + 4 / 15)
    assert a.number_at_risk(2.5) == 3
    assert a.number_at_risk(9) == 0
    km = kaplan_meier(durations, [c is not None for c in causes])
    assert km.at(0) == 1.0
    assert km.at(3) == pytest.approx(4 / 5 * 1 / 3)
    assert km.at(4) == 0.0
    assert km.lower[-1] == km.upper[-1] == 0.0
    assert km.number_at_risk(10) == 0
    assert km.censoring_times == (2.0,)
    assert km.variance[0] == pytest.approx((4 / 5) ** 2 * (1 / (5 * 4)))


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"one flag per duration|one cause"):
        kaplan_meier([1.0, 2.0], [True])
    with pytest.raises(ValueError, match=r"one flag per duration|one cause"):
        cumulative_incidence([1.0], ["a", "b"], "a")
    with pytest.raises(ValueError, match="not negative"):
        cumulative_incidence([-1.0], ["a"], "a")
    with pytest.raises(ValueError, match="finite"):
        kaplan_meier([math.nan], [True])
    with pytest.raises(ValueError, match="confidence"):
        kaplan_meier([1.0], [True], confidence=1.0)


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    durations = [float(d) for d in range(1, 21)]
    causes: list[str | None] = ["a" if d % 3 else None for d in range(1, 21)]
    narrow = cumulative_incidence(durations, causes, "a", confidence=0.8)
    wide = cumulative_incidence(durations, causes, "a")
    assert wide.confidence == 0.95
    for i in range(5, 15):
        assert wide.lower[i] < narrow.lower[i] < narrow.upper[i] < wide.upper[i]


# --- durations from a run's tables ------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    simulate(DEFAULT_SCENARIO, 300, seed=11, out_dir=out)
    return out


def test_endings_by_sessions_match_the_clients_table(run_dir: Path) -> None:
    clients = read_table(run_dir / "clients.csv")
    endings = episode_endings(clients)
    started = [r for r in clients if r["started"]]
    assert endings.scale == "sessions"
    assert endings.clients == tuple(r["client"] for r in started)
    assert endings.durations == tuple(float(r["sessions_attended"]) for r in started)
    assert set(endings.causes) <= set(ENDING_CAUSES)
    dropped = sum(r["outcome"] == "dropped_out" for r in started)
    assert endings.causes.count("dropout") == dropped
    # Everyone started ends within the 104-week horizon, so the Aalen-Johansen
    # drop-out at the end is the observed share (1 - KM would overstate it).
    curve = cumulative_incidence(endings.durations, endings.causes, "dropout")
    assert curve.estimates[-1] == pytest.approx(dropped / len(started))
    naive = kaplan_meier(endings.durations, [c == "dropout" for c in endings.causes])
    assert 1 - naive.estimates[-1] > curve.estimates[-1]


def test_endings_by_weeks_run_from_the_first_appointment_to_the_closing_date(
    run_dir: Path,
) -> None:
    clients = read_table(run_dir / "clients.csv")  # typed values
    endings = episode_endings(clients, "weeks")
    row = next(r for r in clients if r["started"])
    started = row["referred"].toordinal() + row["waited_days"]
    assert endings.durations[0] == (row["closed"].toordinal() - started) / 7
    assert all(d >= 0 for d in endings.durations)


def test_open_episodes_are_censored_at_the_horizon(tmp_path: Path) -> None:
    short = attrs.evolve(DEFAULT_SCENARIO, horizon_weeks=6)
    simulate(short, 60, seed=3, out_dir=tmp_path)
    clients = read_table(tmp_path / "clients.csv")
    with pytest.raises(ValueError, match="horizon_weeks"):
        episode_endings(clients, "weeks")
    endings = episode_endings(clients, "weeks", horizon_weeks=6)
    open_rows = [r for r in clients if r["started"] and not r["outcome"]]
    assert open_rows
    assert endings.causes.count(None) == len(open_rows)
    censored = [d for d, c in zip(endings.durations, endings.causes, strict=True) if c is None]
    assert censored == [(42 - int(r["waited_days"])) / 7 for r in open_rows]
    with pytest.raises(ValueError, match="scale"):
        episode_endings(clients, "days")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale"):
        recovery_times(clients, [], "days")  # type: ignore[arg-type]


def _client(ref: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "client": ref,
        "referred": "2025-01-06",
        "waited_days": 7,
        "started": True,
        "outcome": "completed",
        "ended_by": "session_limit",
        "closed": "2025-03-03",
        "sessions_attended": 4,
        "intake_phq9": 15,
        "intake_gad7": 5,
    }
    row.update(values)
    return row


def _session(ref: str, at: str, phq9: int | None, gad7: int | None) -> dict[str, Any]:
    return {"client": ref, "at": f"{at}T09:00:00+00:00", "phq9": phq9, "gad7": gad7}


def test_recovery_is_the_first_session_below_caseness_on_both() -> None:
    clients = [
        _client("a"),  # recovers at its 2nd attended session (after a missed one)
        _client("b", ended_by="sustained_recovery;client_request"),  # never below on both
        _client("c", intake_phq9=8, intake_gad7=6),  # not a case: left out
        _client("d", outcome="", ended_by="", closed=""),  # still open, not recovered
        _client("e", started=False),
    ]
    sessions = [
        _session("a", "2025-01-20", 12, 5),
        _session("a", "2025-01-27", None, None),  # did not attend
        _session("a", "2025-02-03", 9, 7),
        _session("a", "2025-02-10", 11, 7),
        _session("b", "2025-01-20", 9, 8),
        _session("d", "2025-01-20", 12, 9),
    ]
    by_sessions = recovery_times(clients, sessions, horizon_weeks=10)
    assert by_sessions.clients == ("a", "b", "d")
    assert by_sessions.causes == ("recovered", None, None)
    assert by_sessions.durations == (2.0, 4.0, 4.0)
    by_weeks = recovery_times(clients, sessions, "weeks", horizon_weeks=10)
    # Started 2025-01-13; recovered 2025-02-03 (3 weeks); b closed 2025-03-03 (7 weeks);
    # d is censored at the horizon, 10 weeks after referral.
    assert by_weeks.durations == (3.0, 7.0, 9.0)
    competing = recovery_times(clients, sessions, horizon_weeks=10, ending_competes=True)
    assert competing.causes == ("recovered", "ended_unrecovered", None)
    assert by_sessions.observed == (True, False, False)
    endings = episode_endings(clients, horizon_weeks=10)
    assert endings.causes == ("planned_ending", "recovery_discharge", "planned_ending", None)


def test_time_to_recovery_of_a_run(run_dir: Path) -> None:
    clients = read_table(run_dir / "clients.csv")
    sessions = read_table(run_dir / "sessions.csv")
    times = recovery_times(clients, sessions)
    # The episodes included are the run's own cases at the start.
    cases = {r["client"] for r in clients if r["case_at_start"] == "true"}
    assert cases <= set(times.clients)
    km = kaplan_meier(times.durations, times.observed)
    competing = recovery_times(clients, sessions, ending_competes=True)
    incidence = cumulative_incidence(competing.durations, competing.causes, "recovered")
    # Treating the ending as censoring can only raise the estimate.
    assert 0 < incidence.estimates[-1] <= 1 - km.estimates[-1] < 1
    assert incidence.estimates[-1] == pytest.approx(
        times.causes.count("recovered") / len(times.causes)
    )


def test_a_bad_table_names_the_cell_and_never_echoes_it() -> None:
    import treatplan as tp

    secret = "Jane Doe 07700 900123"
    cases = [
        ([_client("a", waited_days=secret)], "weeks", "$[0].waited_days", "whole number"),
        ([_client("a"), _client("b", closed=secret)], "weeks", "$[1].closed", "ISO 8601 date"),
        ([{"client": secret, "started": True}], "sessions", "$[0]", "'outcome' column"),
    ]
    for rows, scale, path, expected in cases:
        with pytest.raises(tp.ValidationError) as caught:
            episode_endings(rows, scale)  # type: ignore[arg-type]
        assert caught.value.problems[0].path == path
        assert expected in caught.value.problems[0].expected
        assert secret not in str(caught.value)
    bad_session = [_session("a", "2025-01-20", 9, 7) | {"at": secret}]
    with pytest.raises(tp.ValidationError, match=r"\$\[0\]\.at"):
        recovery_times([_client("a")], bad_session)


def test_ending_cause_of_one_row() -> None:
    assert ending_cause(_client("a", outcome="dropped_out")) == "dropout"
    assert ending_cause(_client("a", ended_by="goals_met")) == "recovery_discharge"
    assert ending_cause(_client("a", ended_by="client_request")) == "planned_ending"
    assert ending_cause(_client("a", outcome="")) is None
