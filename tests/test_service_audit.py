"""The service model under odd parameters: defects an audit found, each held by a test."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction
from pathlib import Path

import attrs
import pytest

from treatplan import ArgumentError
from treatplan.sim import (
    CAPACITY_SCENARIO,
    WAIT_COLUMNS,
    Capacity,
    Episode,
    OutputExistsError,
    Patience,
    Population,
    Scenario,
    Service,
    SweepError,
    Team,
    check_manifest,
    erlang_c_mean_wait,
    plot_service,
    simulate_service,
    sweep,
)
from treatplan.sim._service import ClinicalEpisodes

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


# ----------------------------------------------------------------- patience at the horizon


@pytest.mark.parametrize(
    ("patience", "fate"),
    [
        (Patience("never"), "waiting_at_end"),
        (Patience("fixed", 30.0), "waiting_at_end"),  # patience past the horizon
        (Patience("fixed", 2.0), "left_waiting"),  # patience runs out first
    ],
)
def test_still_waiting_at_the_horizon_is_censored_not_left(patience: Patience, fate: str) -> None:
    # No places: everybody waits. A 10-week horizon ends follow-up before a 30-week
    # patience (and "never") runs out; those clients did not leave, they are censored.
    scenario = attrs.evolve(
        _scenario(1.0, patience=patience), service=Service(step3=Team(0, 1, 7), patience=patience)
    )
    episodes = _Fixed(1.0, horizon_days=70.0)
    result = simulate_service(scenario, 6, 1, episodes=episodes)
    assert {r[_W["fate"]] for r in result.waits} == {fate}
    left = fate == "left_waiting"
    assert result.service.counts["left_waiting"] == (6 if left else 0)
    assert result.service.rates["left_while_waiting"].value == (1.0 if left else 0.0)
    assert [r[_W["left_day"]] != "" for r in result.waits] == [left] * 6
    reasons = {reason for _, _, reason in episodes.left}
    assert reasons == ({"declined while waiting"} if left else {"waiting"})
    # Followed until the horizon (or patience), and told the episode source once each.
    days = 14.0 if left else 70.0
    assert sorted(i for i, _, _ in episodes.left) == list(range(6))
    for (_, at, _), row in zip(sorted(episodes.left), result.waits, strict=True):
        assert at == pytest.approx(float(row[_W["referred_day"]]) + days)


def test_the_engines_clients_waiting_at_the_horizon_are_censored() -> None:
    # The audit's case: with patience "never" and no places, 93% were reported as
    # leaving while waiting at the scenario's 156-week horizon.
    service = CAPACITY_SCENARIO.service
    assert service is not None
    scenario = attrs.evolve(
        CAPACITY_SCENARIO,
        service=attrs.evolve(
            service,
            warmup_weeks=0,
            patience=Patience("never"),
            step2=attrs.evolve(service.step2, therapists=0),
            step3=attrs.evolve(service.step3, therapists=0),
        ),
    )
    result = simulate_service(scenario, 30, 1)
    counts = result.service.counts
    assert counts["left_waiting"] == 0
    assert counts["waiting_at_end"] == 30 - counts["declined_at_referral"]
    assert result.service.rates["left_while_waiting"].value == 0.0


# ----------------------------------------------------------------- out_dir


def _quick() -> Scenario:
    service = CAPACITY_SCENARIO.service
    assert service is not None
    return attrs.evolve(CAPACITY_SCENARIO, service=attrs.evolve(service, warmup_weeks=0))


def test_out_dir_is_written_aside_with_a_manifest_and_refused_when_in_use(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    first = simulate_service(_quick(), 8, 1, out_dir=out)
    manifest = check_manifest(out)
    assert manifest["clients"] == 8
    assert manifest["seed"] == 1
    assert all(p.is_file() and p.parent == out for p in first.files)
    assert first.files[-1].name == "manifest.json"
    assert {p.name for p in out.iterdir()} == {p.name for p in first.files}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing left beside it
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # The audit's case: a second run into a complete run folder broke its manifest.
    with pytest.raises(OutputExistsError, match="out_dir"):
        simulate_service(_quick(), 8, 2, out_dir=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    again = simulate_service(_quick(), 8, 2, out_dir=out, overwrite=True)
    assert check_manifest(out)["seed"] == 2
    assert again.waits != first.waits
    with pytest.raises(ArgumentError, match="overwrite"):
        simulate_service(_quick(), 8, 2, out_dir=out, overwrite=1)  # type: ignore[arg-type]


def test_an_out_dir_that_is_a_file_is_refused_naming_the_parameter(tmp_path: Path) -> None:
    afile = tmp_path / "JohnSmith-notes"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        simulate_service(_quick(), 5, 1, out_dir=afile)
    assert "out_dir" in str(info.value)
    assert "JohnSmith" not in str(info.value)
    with pytest.raises(SweepError) as swept:
        sweep(_quick(), [{}], clients=5, replicates=1, out_dir=afile)
    assert "out_dir" in str(swept.value)
    assert "JohnSmith" not in str(swept.value)
    assert afile.read_text(encoding="utf-8") == "x"


# ----------------------------------------------------------------- runs that do not fit


@pytest.mark.parametrize(
    "change",
    [
        {"capacity": Capacity(referrals_per_week=0.01)},  # 2,000 referrals over 3,800 years
        {"start": date(2199, 12, 31)},
    ],
)
def test_a_run_that_cannot_be_dated_is_refused_up_front_naming_clients(
    change: dict[str, object],
) -> None:
    scenario = attrs.evolve(_quick(), **change)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError) as info:
        simulate_service(scenario, 2000, 1)
    assert info.value.parameter == "clients"
    assert "capacity.referrals_per_week" in info.value.expected
    # Synthetic episodes date nothing: no limit.
    assert simulate_service(scenario, 3, 1, episodes=_Fixed(1.0)).clients == 3


def test_drawn_referrals_later_than_the_mean_are_refused_naming_clients() -> None:
    episodes = ClinicalEpisodes(_quick(), 1)
    last = episodes._last_referral
    assert episodes.route(0, last)[0] in (2, 3)
    for call in (
        lambda: episodes.route(1, last + 1),
        lambda: episodes.leave(1, last + 1, last + 1, "declined at referral"),
    ):
        with pytest.raises(ArgumentError) as info:
            call()
        assert info.value.parameter == "clients"


# ----------------------------------------------------------------- plot_service


@pytest.fixture(scope="module")
def small_run() -> object:
    return simulate_service(_quick(), 5, 1)


def test_plot_service_returns_the_path_it_wrote(small_run: object, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    written = plot_service(small_run, tmp_path / "service")  # type: ignore[arg-type]
    assert written == tmp_path / "service.png"
    assert [p.name for p in tmp_path.iterdir()] == ["service.png"]
    assert plot_service(small_run, tmp_path / "s.SVG") == tmp_path / "s.SVG"  # type: ignore[arg-type]
    assert (tmp_path / "s.SVG").read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("JohnSmith-caseload.report", "a file name ending in a format matplotlib writes"),
        ("nodir/JohnSmith.png", "a file in an existing folder"),
        ("folder.png", "a file path, not a folder"),
    ],
)
def test_plot_service_refuses_bad_paths_naming_the_parameter(
    small_run: object, tmp_path: Path, name: str, expected: str
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ArgumentError) as info:
        plot_service(small_run, tmp_path / name)  # type: ignore[arg-type]
    assert info.value.parameter == "path"
    assert info.value.expected.startswith(expected)
    assert "JohnSmith" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.png"]


def test_plot_service_reports_a_failed_write_naming_the_parameter(
    small_run: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figure = pytest.importorskip("matplotlib.figure")

    def full_disk(self: object, target: object, **options: object) -> None:
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(figure.Figure, "savefig", full_disk)
    with pytest.raises(ArgumentError) as info:
        plot_service(small_run, tmp_path / "JohnSmith.png")  # type: ignore[arg-type]
    assert str(info.value) == "path: expected a file that can be written (No space left on device)"


# ----------------------------------------------------------------- Erlang C


def _erlang_c_exact(load: int, servers: int) -> Fraction:
    """The Erlang C probability of waiting in exact rational arithmetic (the textbook sum)."""
    term, total = Fraction(1), Fraction(1)
    for k in range(1, servers):
        term = term * load / k
        total += term
    tail = term * load / servers * servers / (servers - load)
    return tail / (total + tail)


@pytest.mark.parametrize(
    ("load", "servers"), [(1, 3), (1, 2), (8, 10), (700, 800), (799, 800), (1999, 2000)]
)
def test_erlang_c_agrees_with_exact_arithmetic_for_large_loads(load: int, servers: int) -> None:
    # arrivals 1 a day: the mean wait is C / (c / mean_days - 1), with mean_days = load.
    expected = float(_erlang_c_exact(load, servers)) / (servers / load - 1)
    assert erlang_c_mean_wait(1.0, float(load), servers) == pytest.approx(expected, rel=1e-9)


def test_erlang_c_known_values_and_the_largest_server_counts() -> None:
    # 10 servers, 8 erlangs: a probability of waiting of 0.409 (the textbook call-centre case).
    assert erlang_c_mean_wait(8.0, 1.0, 10) * (10 - 8) == pytest.approx(0.40918, abs=1e-5)
    # 100,000 servers (the bound) at 99.9% load: finite, and a wait is likely.
    wait = erlang_c_mean_wait(99_900.0, 1.0, 100_000)
    assert math.isfinite(wait)
    assert 0 < wait * 100 < 1  # the probability of waiting, C = wait x (c mu - lambda)


# ----------------------------------------------------------------- custom episodes


class _Routed(_Fixed):
    def __init__(self, routed: object = (3, 0.0), started: object = None) -> None:
        super().__init__(1.0)
        self.routed, self.started = routed, started

    def route(self, index: int, referred: float) -> tuple[int, float]:
        return self.routed  # type: ignore[return-value]

    def start(self, index: int, referred: float, at: float) -> Episode:
        return self.started or Episode(1.0)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("episodes", "expected"),
    [
        (_Routed((7, 0.0)), "route()"),  # once a KeyError 'step7'
        (_Routed((True, 0.0)), "route()"),
        (_Routed((2, "JohnSmith")), "route()"),
        (_Routed((2, math.nan)), "route()"),
        (_Routed([2, 0.0]), "route()"),
        (_Routed((2,)), "route()"),
        (_Routed(started=10.0), "start()"),
        (_Fixed(1.0, horizon_days=-50.0), "horizon_days above 0"),  # once left before referred
        (_Fixed(1.0, horizon_days=0.0), "horizon_days above 0"),
        (_Fixed(1.0, horizon_days=math.nan), "horizon_days above 0"),
    ],
)
def test_custom_episodes_are_checked_naming_episodes(episodes: object, expected: str) -> None:
    with pytest.raises(ArgumentError) as info:
        simulate_service(_scenario(1.0), 3, 1, episodes=episodes)  # type: ignore[arg-type]
    assert info.value.parameter == "episodes"
    assert expected in info.value.expected
    assert "JohnSmith" not in str(info.value)


def test_custom_episodes_may_route_with_integer_severity() -> None:
    result = simulate_service(_scenario(1.0), 3, 1, episodes=_Routed((2, 4)))
    assert {row[_W["step"]] for row in result.waits} == {2}


# ----------------------------------------------------------------- memory


def test_without_tables_to_write_no_rows_are_kept_and_the_summary_is_the_same(
    tmp_path: Path,
) -> None:
    kept = simulate_service(_quick(), 12, 3, out_dir=tmp_path / "run")
    lean = simulate_service(_quick(), 12, 3)
    assert lean.summary is not None
    assert kept.summary is not None
    assert lean.summary.to_dict() == kept.summary.to_dict()
    assert lean.session_rows == kept.session_rows > 0
    assert (lean.waits, lean.queues) == (kept.waits, kept.queues)
    episodes = ClinicalEpisodes(_quick(), 3, keep_rows=False)
    episodes.leave(0, 1.0, 1.0, "declined at referral")
    assert episodes.results == {}
    assert episodes.tally.counts["referred"] == 1
