"""treatplan.sim misused: library errors that name the parameter, never echo the value.

Each case calls a public function or constructor the wrong way and checks that the
error is a :class:`treatplan.TreatplanError` of the expected kind, that its message
names the parameter (or JSON path), and that it repeats nothing of what was passed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import treatplan as tp
from treatplan import sim
from treatplan.instruments import builtin_instrument
from treatplan.sim import (
    _checks,
    _dynamics,
    _engine,
    _manifest,
    _random,
    _run,
    _service,
    _sweep,
)
from treatplan.sim._summary import Tally, summarise

SECRET = "SECRET-NOTE"
SC = sim.DEFAULT_SCENARIO
PHQ9 = builtin_instrument("PHQ-9")


def _admission(index: int = 0) -> _engine.Admission:
    return _engine.WaitingList(SC, 1).admissions(index, index + 1)[0]


def _summary() -> sim.Summary:
    return sim.simulate(SC, clients=3, seed=1).summary


def _raises(
    call: Callable[[], object], kind: type[Exception], where: str, leaked: str = SECRET
) -> str:
    with pytest.raises(kind) as info:
        call()
    assert isinstance(info.value, tp.TreatplanError)
    message = str(info.value)
    assert leaked not in message
    if isinstance(info.value, tp.ValidationError):  # as the CLI prints it
        message = "\n".join(f"{p.path}: expected {p.expected}" for p in info.value.problems)
    assert where in message
    assert leaked not in message
    return message


# -- 2: grids are capped, and a path may be given once ------------------------------


def test_a_grid_larger_than_the_cap_is_refused_before_it_is_built() -> None:
    huge = {f"policy.p{i}": list(range(10)) for i in range(12)}
    message = _raises(lambda: sim.grid(huge), tp.ArgumentError, "parameters: expected at most")
    assert f"{sim.MAX_ARMS:,} arms" in message


def test_a_grid_at_the_cap_is_built() -> None:
    arms = sim.grid({"a.b": list(range(10)), "c": list(range(10)), "d": list(range(10))})
    assert len(arms) == sim.MAX_ARMS
    assert arms[-1].overrides == (("a.b", 9), ("c", 9), ("d", 9))


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ([("a", [1]), ("a", [2])], "each path once"),
        ({}, "at least one parameter"),
        ([], "at least one parameter"),
        ("x" + SECRET, "a mapping"),
        ({"p": 3}, "a mapping"),
        ({"p": []}, "non-empty lists"),
        ({"a..b": [1]}, "dotted paths"),
        ([("a", [1], 2)], "a mapping"),
        ([SECRET], "a mapping"),
    ],
)
def test_grid_parameters_are_checked(parameters: Any, expected: str) -> None:
    message = _raises(lambda: sim.grid(parameters), tp.ArgumentError, "parameters: expected")
    assert expected in message


def test_check_grid_counts_arms_first_and_refuses_a_repeated_path() -> None:
    many = [("horizon_weeks", list(range(1, 11)))] * 4
    _raises(
        lambda: _sweep.check_grid(SC, many, "--set"),
        tp.ValidationError,
        f"--set: expected at most {sim.MAX_ARMS:,} arms",
    )
    twice = [("horizon_weeks", [10]), ("horizon_weeks", [11])]
    _raises(
        lambda: _sweep.check_grid(SC, twice),
        tp.ValidationError,
        "$.grid[1].path: expected a path not given earlier",
    )


@pytest.mark.parametrize(
    ("arms", "expected"),
    [
        ({"horizon_weeks": 10}, "an iterable of at most"),
        (SECRET, "an iterable of at most"),
        (5, "an iterable of at most"),
        ([5], "an iterable of at most"),
        ([{"horizon_weeks": 10}] * (sim.MAX_ARMS + 1), "an iterable of at most"),
        ([sim.Arm("a", ()), sim.Arm("a", ())], "distinct names"),
        ([{5: 1}], "dotted paths (strings)"),
    ],
)
def test_sweep_arms_are_checked_before_any_run(arms: Any, expected: str) -> None:
    message = _raises(lambda: sim.sweep(SC, arms), tp.ArgumentError, "arms: expected")
    assert expected in message


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"base": SECRET}, "base: expected"),
        ({"seed": "1"}, "seed: expected"),
        ({"out_dir": 5}, "out_dir: expected"),
        ({"executor": SECRET}, "executor: expected"),
        ({"clients": sim.MAX_CLIENTS + 1}, "clients: expected a positive integer of at most"),
        ({"replicates": 0}, "replicates: expected a positive integer"),
    ],
)
def test_sweep_arguments_are_checked(kwargs: dict[str, Any], where: str) -> None:
    arguments = {"base": SC, "arms": [{"horizon_weeks": 10}], **kwargs}
    _raises(lambda: sim.sweep(**arguments), tp.ArgumentError, where)


@pytest.mark.parametrize(
    ("name", "overrides", "where"),
    [
        (1, (), "$.name: expected a name"),
        ("../" + SECRET, (), "$.name: expected a name"),
        (".hidden", (), "$.name: expected a name"),
        ("a", "x", "$.overrides: expected a tuple of"),
        ("a", (("p", 1, 2),), "$.overrides: expected a tuple of"),
        ("a", ((1, 1),), "$.overrides: expected a tuple of"),
    ],
)
def test_arm_values_are_validated(name: Any, overrides: Any, where: str) -> None:
    _raises(lambda: sim.Arm(name, overrides), tp.ValidationError, where)


@pytest.mark.parametrize(
    ("base", "overrides", "where"),
    [
        (SECRET, [], "base: expected"),
        (SC, {"horizon_weeks": 1}, "overrides: expected"),
        (SC, [SECRET], "overrides: expected"),
        (SC, "ab", "overrides: expected"),
    ],
)
def test_apply_overrides_checks_its_arguments(base: Any, overrides: Any, where: str) -> None:
    _raises(lambda: _sweep.apply_overrides(base, overrides), tp.ArgumentError, where)


# -- 7: simulate and friends -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"clients": 0}, "clients: expected a positive integer of at most 10,000,000"),
        ({"clients": sim.MAX_CLIENTS + 1}, "clients: expected a positive integer"),
        ({"clients": 10**25}, "clients: expected"),
        ({"clients": True}, "clients: expected"),
        ({"seed": SECRET}, "seed: expected an integer"),
        ({"seed": None}, "seed: expected an integer"),
        ({"seed": 1.5}, "seed: expected an integer"),
        ({"seed": 2**63}, "seed: expected an integer"),
        ({"chunk_size": 0}, "chunk_size: expected"),
        ({"max_in_flight": 0}, "max_in_flight: expected"),
        ({"progress": SECRET}, "progress: expected a callable"),
        ({"executor": SECRET}, "executor: expected"),
        ({"policy": SECRET}, "policy: expected"),
        ({"out_dir": 5}, "out_dir: expected a folder"),
        ({"out_dir": ""}, "out_dir: expected a folder"),
        ({"scenario": SECRET}, "scenario: expected"),
    ],
)
def test_simulate_checks_its_arguments_before_any_work(
    kwargs: dict[str, Any], where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    arguments = {"scenario": SC, "clients": 3, "seed": 1, **kwargs}
    _raises(lambda: sim.simulate(**arguments), tp.ArgumentError, where)
    assert list(tmp_path.iterdir()) == []


def test_simulate_accepts_what_the_checks_let_through(tmp_path: Path) -> None:
    done: list[int] = []
    result = sim.simulate(
        SC,
        clients=2,
        seed=-5,
        executor=None,
        max_in_flight=2,
        progress=lambda d, _: done.append(d),
        policy=sim.DefaultPolicy(),
        out_dir=tmp_path / "out",
    )
    assert result.clients == 2
    assert done == [2]


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"replicates": 0}, "replicates: expected a positive integer"),
        ({"replicates": sim.MAX_REPLICATES + 1}, "replicates: expected"),
        ({"seed": SECRET}, "seed: expected"),
        ({"out_dir": 5}, "out_dir: expected"),
    ],
)
def test_simulate_replicates_checks_its_arguments(kwargs: dict[str, Any], where: str) -> None:
    arguments = {"scenario": SC, "clients": 2, **kwargs}
    _raises(lambda: sim.simulate_replicates(**arguments), tp.ArgumentError, where)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ((SECRET, 1, [], ()), "scenario: expected"),
        ((SC, SECRET, [], ()), "seed: expected"),
        ((SC, 1, SECRET, ()), "admissions: expected"),
        ((SC, 1, [SECRET], ()), "admissions: expected"),
        ((SC, 1, [], ["x" + SECRET]), "formats: expected a list among csv, jsonl"),
        ((SC, 1, [], "csv"), "formats: expected"),
    ],
)
def test_run_chunk_names_its_parameters(args: tuple[Any, ...], where: str) -> None:
    _raises(lambda: _run.run_chunk(*args), tp.ArgumentError, where)


def test_simulate_client_and_the_waiting_list_check_their_arguments() -> None:
    _raises(lambda: _engine.simulate_client(SECRET, 1, _admission()), tp.ArgumentError, "scenario")  # type: ignore[arg-type]
    _raises(lambda: _engine.simulate_client(SC, None, _admission()), tp.ArgumentError, "seed")  # type: ignore[arg-type]
    _raises(
        lambda: _engine.simulate_client(SC, 1, SECRET), tp.ArgumentError, "admission: expected"
    )  # type: ignore[arg-type]
    _raises(lambda: _engine.WaitingList(SECRET, 1), tp.ArgumentError, "scenario: expected")  # type: ignore[arg-type]
    _raises(lambda: _engine.WaitingList(SC, "1"), tp.ArgumentError, "seed: expected")  # type: ignore[arg-type]


def test_run_folders_and_hashes_check_their_arguments() -> None:
    _raises(lambda: _manifest.RunFolder(5, {}), tp.ArgumentError, "target: expected a folder")  # type: ignore[arg-type]
    _raises(lambda: _manifest.scenario_sha256(SECRET), tp.ArgumentError, "scenario: expected")  # type: ignore[arg-type]


def test_load_scenario_reports_an_unreadable_file_without_its_name(tmp_path: Path) -> None:
    missing = tmp_path / f"missing-{SECRET}.json"
    message = _raises(lambda: sim.load_scenario(missing), tp.ArgumentError, "path: expected")
    assert "a readable scenario file (No such file or directory)" in message
    _raises(lambda: sim.load_scenario(tmp_path), tp.ArgumentError, "path: expected a readable")
    _raises(lambda: sim.load_scenario(5), tp.ArgumentError, "path: expected a file path")  # type: ignore[arg-type]
    good = tmp_path / "good.json"
    good.write_text(SC.to_json(), encoding="utf-8")
    assert sim.load_scenario(good) == SC


def test_tables_name_the_folder_parameter_not_its_path(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    missing = tmp_path / SECRET
    _raises(lambda: sim.to_dataframe(missing, "clients"), tp.ArgumentError, "out_dir: expected")
    _raises(lambda: sim.to_dataframe(5, "clients"), tp.ArgumentError, "out_dir: expected")  # type: ignore[arg-type]
    message = _raises(lambda: sim.write_parquet(missing), tp.ArgumentError, "out_dir: expected")
    assert "CSV tables" in message
    _raises(lambda: sim.write_parquet(None), tp.ArgumentError, "out_dir: expected")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: sim.kaplan_meier(["a"], [True]), "durations: expected finite numbers"),
        (lambda: sim.kaplan_meier([math.inf], [True]), "durations: expected finite numbers"),
        (lambda: sim.kaplan_meier([True], [True]), "durations: expected finite numbers"),
        (lambda: sim.kaplan_meier(5, 5), "durations: expected a list"),
        (lambda: sim.kaplan_meier([1], 5), "observed: expected a list of booleans"),
        (lambda: sim.kaplan_meier([1], ["yes"]), "observed: expected a list of booleans"),
        (lambda: sim.cumulative_incidence([1], 5, "a"), "causes: expected a list of causes"),
        (lambda: sim.cumulative_incidence([1], [5], "a"), "causes: expected a list of causes"),
        (lambda: sim.competing_risks([1], 5), "causes: expected a list of causes"),
    ],
)
def test_survival_inputs_are_checked(call: Callable[[], object], where: str) -> None:
    _raises(call, tp.ArgumentError, where)


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: sim.compare([]), "summaries: expected at least one"),
        (lambda: sim.compare(_summary()), "summaries: expected at least one"),
        (lambda: sim.compare(5), "summaries: expected at least one"),
        (lambda: sim.compare([SECRET]), "summaries: expected at least one"),
        (lambda: sim.combine_replicates(_summary()), "summaries: expected"),
        (lambda: sim.combine_replicates(["x"]), "summaries: expected"),
        (lambda: sim.combine_replicates(SECRET), "summaries: expected"),
        (lambda: sim.format_summary(SECRET), "summary: expected"),
        (lambda: summarise(SECRET), "tally: expected"),
        (lambda: summarise(Tally(), 5), "scenario: expected"),
    ],
)
def test_summaries_are_checked(call: Callable[[], object], where: str) -> None:
    _raises(call, tp.ArgumentError, where)


def test_compare_takes_any_iterable_of_summaries() -> None:
    one = _summary()
    assert sim.compare(iter([one])) == sim.format_summary(one)
    assert sim.combine_replicates(iter([one, one])).replicates == 2


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"value": 2}, "$.value: expected a proportion"),
        ({"low": -0.1}, "$.low: expected a proportion"),
        ({"high": "1"}, "$.high: expected a proportion"),
        ({"value": True}, "$.value: expected a proportion"),
        ({"n": -1}, "$.n: expected"),
    ],
)
def test_rates_are_proportions(kwargs: dict[str, Any], where: str) -> None:
    arguments = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 10, **kwargs}
    _raises(lambda: sim.Rate(**arguments), tp.ValidationError, where)
    assert math.isnan(sim.Rate(math.nan, math.nan, math.nan, 0).value)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"name": 1}, "$.name: expected"),
        ({"type": SECRET}, "$.type: expected one of string"),
        ({"type": ["string"]}, "$.type: expected one of string"),
        ({"meaning": 3}, "$.meaning: expected"),
        ({"unit": 3}, "$.unit: expected a string"),
        ({"empty": None}, "$.empty: expected a string"),
        ({"values": "ab"}, "$.values: expected a tuple"),
        ({"values": ("",)}, "$.values: expected a tuple"),
    ],
)
def test_codebook_columns_are_validated(kwargs: dict[str, Any], where: str) -> None:
    arguments = {"name": "n", "type": "string", "meaning": "m", **kwargs}
    _raises(lambda: sim.Column(**arguments), tp.ValidationError, where)


def test_policy_ending_rules_must_be_a_rule() -> None:
    _raises(lambda: sim.Policy(ending_rules=SECRET), tp.ValidationError, "$.ending_rules")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"duration": -1}, "$.duration: expected"),
        ({"duration": math.nan}, "$.duration: expected"),
        ({"duration": 1, "step_up_after": -1}, "$.step_up_after: expected"),
    ],
)
def test_episodes_are_validated(kwargs: dict[str, Any], where: str) -> None:
    _raises(lambda: sim.Episode(**kwargs), tp.ValidationError, where)


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: sim.ExponentialEpisodes(-1, 1), "mean_days: expected"),
        (lambda: sim.ExponentialEpisodes(math.inf, 1), "mean_days: expected"),
        (lambda: sim.ExponentialEpisodes(1, "x"), "seed: expected"),
        (lambda: _service.ClinicalEpisodes(SC, SECRET), "seed: expected"),
        (lambda: _service.ClinicalEpisodes(SECRET, 1), "scenario: expected"),
        (lambda: sim.simulate_service(SECRET, 1), "scenario: expected"),
        (lambda: sim.simulate_service(SC, sim.MAX_CLIENTS + 1), "clients: expected"),
        (lambda: sim.simulate_service(SC, 1, "x"), "seed: expected"),
        (lambda: sim.simulate_service(SC, 1, out_dir=5), "out_dir: expected"),
        (lambda: sim.simulate_service(SC, 1, episodes=SECRET), "episodes: expected"),
        (lambda: sim.erlang_c_mean_wait(1, -1, 1), "mean_days: expected"),
        (lambda: sim.erlang_c_mean_wait("1", 1, 1), "arrivals_per_day: expected"),
        (lambda: sim.erlang_c_mean_wait(1, 1, 1.5), "servers: expected"),
        (lambda: sim.erlang_c_mean_wait(1, 1, 1), "servers: expected more than"),
        (lambda: sim.plot_service(SECRET, "x.png"), "result: expected"),
    ],
)
def test_the_service_model_checks_its_arguments(call: Callable[[], object], where: str) -> None:
    _raises(call, tp.ArgumentError, where)


class _Horizonless:
    def route(self, index: int, referred: float) -> tuple[int, float]:  # pragma: no cover
        return 3, 0.0

    start = leave = route


def test_episodes_need_a_horizon() -> None:
    _raises(
        lambda: sim.simulate_service(SC, 1, episodes=_Horizonless()),  # type: ignore[arg-type]
        tp.ArgumentError,
        "episodes: expected",
    )
    wait = sim.erlang_c_mean_wait(1, 1, 2)
    assert 0 < wait < 1


def test_plot_service_checks_its_path() -> None:
    result = sim.simulate_service(SC, 0, 1, episodes=sim.ExponentialEpisodes(1.0, 1))
    _raises(lambda: sim.plot_service(result, 5), tp.ArgumentError, "path: expected a file path")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: _dynamics.draw_traits(SC, 5), "rng: expected a random.Random"),
        (lambda: _dynamics.draw_traits(SECRET, random.Random(1)), "scenario: expected"),
        (lambda: _dynamics.true_scores(SECRET, _traits(), 1), "scenario: expected"),
        (lambda: _dynamics.true_scores(SC, SECRET, 1), "traits: expected"),
        (lambda: _dynamics.true_scores(SC, _traits(), -1), "dose: expected a finite number, not"),
        (lambda: _dynamics.true_scores(SC, _traits(), math.nan), "dose: expected"),
        (lambda: _dynamics.true_scores(SC, _traits(), 1, boost="x"), "boost: expected a finite"),
        (lambda: _dynamics.true_scores(SC, _traits(), 1, boost_from=-1), "boost_from: expected"),
        (lambda: _dynamics.ItemPatterns(SECRET), "instrument: expected"),
        (lambda: _dynamics.ItemPatterns(PHQ9, [1.0]), "item_weights: expected one positive"),
        (lambda: _dynamics.ItemPatterns(PHQ9, SECRET), "item_weights: expected"),
        (lambda: _dynamics.ItemPatterns(PHQ9, [0.0] * 9), "item_weights: expected"),
        (lambda: _dynamics.ItemPatterns(PHQ9, per_total=0), "per_total: expected"),
        (lambda: _random.replicate_seed("a", 0), "seed: expected an integer"),
        (lambda: _random.replicate_seed(1, -1), "replicate: expected"),
        (lambda: _random.client_stream("x", 0), "seed: expected"),
        (lambda: _random.client_stream(1, -1), "index: expected"),
        (lambda: _random.client_stream(1, 0, purpose=5), "purpose: expected"),
    ],
)
def test_dynamics_and_random_streams_check_their_arguments(
    call: Callable[[], object], where: str
) -> None:
    _raises(call, tp.ArgumentError, where)


def _traits() -> sim.ClientTraits:
    return _dynamics.draw_traits(SC, random.Random(1))


def test_checked_dynamics_give_what_the_engine_uses() -> None:
    traits = _traits()
    assert _dynamics.true_scores(
        SC, traits, 2.5, boost=0.1, boost_from=1
    ) == _dynamics.true_scores(SC, traits, 2.5, 0.1, 1)
    patterns = _dynamics.ItemPatterns(PHQ9, (1,) * 9, per_total=2)
    assert sum(patterns.draw(random.Random(1), 5)) == 5


def test_an_instrument_without_items_has_no_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    class _NoItems:
        item_count, item_min, item_max, code = 0, 0, 3, "X"

    # ItemPatterns takes an Instrument; a stand-in past the type check reaches the item check.
    monkeypatch.setattr(_checks, "instance", lambda *args: None)
    _raises(lambda: _dynamics.ItemPatterns(_NoItems()), tp.ArgumentError, "instrument: expected")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "kind", "where"),
    [
        (lambda: sim.ending_cause(SECRET), tp.ValidationError, "$[0]: expected an object"),
        (lambda: sim.episode_endings([SECRET]), tp.ValidationError, "$[0]: expected an object"),
        (lambda: sim.episode_endings(SECRET), tp.ArgumentError, "clients: expected the rows"),
        (lambda: sim.episode_endings(5), tp.ArgumentError, "clients: expected the rows"),
        (lambda: sim.episode_endings({"a": 1}), tp.ArgumentError, "clients: expected the rows"),
        (
            lambda: sim.episode_endings([], horizon_weeks="6"),
            tp.ArgumentError,
            "horizon_weeks: expected",
        ),
        (lambda: sim.recovery_times(5, []), tp.ArgumentError, "clients: expected the rows"),
        (lambda: sim.recovery_times([], SECRET), tp.ArgumentError, "sessions: expected the rows"),
        (
            lambda: sim.recovery_times([], [], depression_caseness=-1),
            tp.ArgumentError,
            "depression_caseness: expected",
        ),
        (
            lambda: sim.recovery_times([], [], anxiety_caseness=99),
            tp.ArgumentError,
            "anxiety_caseness: expected",
        ),
        (
            lambda: sim.recovery_times([], [], horizon_weeks=0),
            tp.ArgumentError,
            "horizon_weeks: expected",
        ),
    ],
)
def test_table_readers_check_their_rows(
    call: Callable[[], object], kind: type[Exception], where: str
) -> None:
    _raises(call, kind, where)


def test_table_readers_take_good_rows_and_a_horizon() -> None:
    assert sim.episode_endings(iter([]), "weeks", horizon_weeks=6).durations == ()
    assert sim.recovery_times([], [], horizon_weeks=6).durations == ()


def test_check_manifest_names_the_parameter_not_the_path(tmp_path: Path) -> None:
    folder = tmp_path / SECRET
    folder.mkdir()
    _raises(lambda: sim.check_manifest(folder), tp.ArgumentError, "folder: expected a complete")
    _raises(lambda: sim.check_manifest(5), tp.ArgumentError, "folder: expected a folder")  # type: ignore[arg-type]
    run = tmp_path / "run"
    sim.simulate(SC, clients=2, seed=1, out_dir=run)
    assert sim.check_manifest(run)["complete"] is True
    (run / "clients.csv").write_text(SECRET, encoding="utf-8")
    message = _raises(lambda: sim.check_manifest(run), tp.ArgumentError, "folder: expected")
    assert "what differs from it: 1 file(s)" in message
    (run / SECRET).write_text("", encoding="utf-8")
    _raises(lambda: sim.check_manifest(run), tp.ArgumentError, "files differ")


def test_more_clients_than_the_supported_dates_hold_are_refused_before_any_work(
    tmp_path: Path,
) -> None:
    # 52 referrals a week from 2026, each followed two years: a run of a million
    # clients would date plans after 2199 and fail part-way; it is refused at once.
    most = sim.max_clients(sim.DEFAULT_SCENARIO)
    assert 300_000 < most < 471_000
    out = tmp_path / "run"
    with pytest.raises(tp.ArgumentError, match=f"at most {most:,} clients") as caught:
        sim.simulate(sim.DEFAULT_SCENARIO, most + 1, seed=1, out_dir=out)
    assert caught.value.parameter == "clients"
    assert not out.exists()
    # Ten times the referrals: ten times the clients.
    busier = sim.Scenario(capacity=sim.Capacity(referrals_per_week=520.0))
    assert sim.max_clients(busier) >= 10 * most
    # A start too late for even one client.
    late = sim.Scenario(start=date(2199, 1, 1))
    assert sim.max_clients(late) == 0
    with pytest.raises(tp.ArgumentError, match="at most 0 clients"):
        sim.simulate(late, 1, seed=1)
    # A sweep checks every arm before running any.
    with pytest.raises(tp.ArgumentError, match="clients"):
        sim.sweep(
            sim.DEFAULT_SCENARIO,
            [sim.Arm("slow", (("capacity.referrals_per_week", 1.0),))],
            clients=most,
            seed=1,
        )
    with pytest.raises(tp.ArgumentError, match="scenario"):
        sim.max_clients("default")  # type: ignore[arg-type]


# -- the audit's machinery cases (private modules, still checked) ------------------------


@pytest.mark.parametrize(
    ("base", "parameters", "where", "expected"),
    [
        (42, [("service.step3.therapists", [2, 3])], "$.grid", "base: expected"),
        (SC, "x" + SECRET, "$.grid", "parameters: expected a list of (dotted path"),
        (SC, [("service.step3.therapists", 2)], "$.grid", "parameters: expected a list of"),
        (SC, [(SECRET,)], "$.grid", "parameters: expected a list of"),
        (SC, [SECRET], "$.grid", "parameters: expected a list of"),
        (SC, [("horizon_weeks", [10])], 5, "where: expected a JSON path"),
    ],
)
def test_check_grid_checks_its_arguments(
    base: Any, parameters: Any, where: Any, expected: str
) -> None:
    _raises(lambda: _sweep.check_grid(base, parameters, where), tp.ArgumentError, expected)


def test_check_grid_accepts_pairs_as_lists() -> None:
    _sweep.check_grid(SC, [["horizon_weeks", [10, 11]]])  # type: ignore[list-item]


def test_table_writers_check_their_arguments(tmp_path: Path) -> None:
    from treatplan.sim._tables import TableWriter

    _raises(lambda: TableWriter(None), tp.ArgumentError, "out_dir: expected a folder")  # type: ignore[arg-type]
    _raises(lambda: TableWriter(tmp_path, "csv"), tp.ArgumentError, "formats: expected")
    _raises(lambda: TableWriter(tmp_path, [SECRET]), tp.ArgumentError, "formats: expected")
    _raises(lambda: TableWriter(tmp_path, [["csv"]]), tp.ArgumentError, "formats: expected")  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []
    with TableWriter(str(tmp_path / "out"), ["jsonl"]) as writer:  # type: ignore[arg-type]
        assert [p.name for p in writer.paths] == [
            "clients.jsonl",
            "sessions.jsonl",
            "events.jsonl",
        ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"record": "x" + SECRET}, "record: expected a mapping"),
        ({"record": {5: SECRET}}, "record: expected a mapping"),
        ({"overwrite": SECRET}, "overwrite: expected True or False"),
        ({"keep_partial": 1}, "keep_partial: expected True or False"),
        ({"name": 5}, "name: expected"),
        ({"name": ""}, "name: expected"),
    ],
)
def test_run_folders_check_their_record_flags_and_name(
    kwargs: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    arguments = {"target": tmp_path / "out", "record": {}, **kwargs}
    _raises(lambda: _manifest.RunFolder(**arguments), tp.ArgumentError, expected)
    assert list(tmp_path.iterdir()) == []


def test_a_path_with_a_nul_character_is_an_argument_error(tmp_path: Path) -> None:
    # No file system takes one: open() raised a bare ValueError (embedded null byte).
    with pytest.raises(tp.ArgumentError, match=r"^path: expected a file path"):
        sim.load_scenario("scenario\0.json")
    with pytest.raises(tp.ArgumentError, match=r"^out_dir: expected a folder"):
        sim.simulate(sim.DEFAULT_SCENARIO, 2, out_dir=tmp_path / "out\0put")
    with pytest.raises(tp.ArgumentError, match=r"^out_dir: expected a folder"):
        sim.simulate(sim.DEFAULT_SCENARIO, 2, out_dir=b"out\0put")  # type: ignore[arg-type]


def test_a_rate_too_large_for_a_float_is_refused_at_its_path() -> None:
    with pytest.raises(tp.ValidationError, match=r"\$\.value: a proportion from 0 to 1"):
        sim.Rate(value=10**5000, low=0.1, high=0.9, n=2)


class _OddPath:
    """A path object whose ``__fspath__`` gives what no path is."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __fspath__(self) -> Any:
        return self.value


@pytest.mark.parametrize(
    "out_dir",
    ["out\ud800put", _OddPath(b"out"), _OddPath(1), _OddPath("")],
    ids=["lone_surrogate", "fspath_bytes", "fspath_int", "fspath_empty"],
)
def test_an_unusable_path_is_an_argument_error(out_dir: Any) -> None:
    # Once a bare UnicodeEncodeError (quoting the character) or TypeError.
    with pytest.raises(tp.ArgumentError, match=r"^out_dir: expected a folder"):
        sim.simulate(sim.DEFAULT_SCENARIO, 2, out_dir=out_dir)
