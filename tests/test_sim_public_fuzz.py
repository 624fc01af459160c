"""Every public callable of treatplan.sim, called with a wrong kind of argument.

Each parameter of each function and constructor in ``treatplan.sim.__all__`` gets
``None``, a string, an integer and a bare object in turn, the other arguments
valid. The call may succeed (the value was acceptable) or raise a
:class:`treatplan.TreatplanError`; any other exception fails the test, and so does
a message that repeats what was passed (the values carry a sentinel).
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import treatplan as tp
from treatplan import sim

SENTINEL = "SENTINEL-Jane-Doe"
SENTINEL_INT = 9_876_543_211


class _Opaque:
    """A value of no expected kind whose text, if echoed, shows the leak."""

    def __repr__(self) -> str:
        return f"<{SENTINEL}-object>"

    __str__ = __repr__


BAD_VALUES: tuple[Any, ...] = (None, SENTINEL, SENTINEL_INT, _Opaque(), [SENTINEL])
LEAKS = (SENTINEL, str(SENTINEL_INT), f"{SENTINEL_INT:,}")


@attrs.frozen
class World:
    """Valid arguments for every public callable, made once from small real runs."""

    run_dir: Path
    run: sim.RunResult
    state: sim.ClientState
    clients: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    service: sim.ServiceResult
    swept: sim.SweepResult


class _Capture(sim.DefaultPolicy):
    def __init__(self) -> None:
        self.states: list[sim.ClientState] = []

    def start_step(self, state: sim.ClientState) -> int | None:
        self.states.append(state)
        return super().start_step(state)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("fuzz")
    capture = _Capture()
    run = sim.simulate(
        sim.DEFAULT_SCENARIO, clients=12, seed=3, out_dir=base / "run", policy=capture
    )
    arms = sim.grid({"policy.review_every": [4]})
    return World(
        run_dir=base / "run",
        run=run,
        state=capture.states[0],
        clients=sim.read_table(base / "run" / "clients.csv"),
        sessions=sim.read_table(base / "run" / "sessions.csv"),
        service=sim.simulate_service(sim.CAPACITY_SCENARIO, clients=4, seed=1),
        swept=sim.sweep(sim.DEFAULT_SCENARIO, arms, clients=2, replicates=1),
    )


def _fields(value: Any) -> dict[str, Any]:
    return {f.alias: getattr(value, f.name) for f in attrs.fields(type(value)) if f.init}


def _run_copy(w: World, where: Path) -> Path:
    return Path(shutil.copytree(w.run_dir, where / "copy"))


def _valid(name: str, w: World, where: Path) -> dict[str, Any]:
    """Valid keyword arguments for ``sim.<name>``."""
    endings = sim.episode_endings(w.clients, "sessions")
    observed = [c is not None for c in endings.causes]
    summary = w.run.summary
    arguments: dict[str, Callable[[], dict[str, Any]]] = {
        "Arm": lambda: _fields(sim.grid({"policy.review_every": [4]})[0]),
        "Capacity": dict,
        "ClientState": lambda: _fields(w.state),
        "ClientTraits": lambda: _fields(w.state.traits),
        "Column": lambda: _fields(sim.CODEBOOK["clients"][0]),
        "CumulativeIncidence": lambda: _fields(
            sim.cumulative_incidence(endings.durations, endings.causes, "dropout")
        ),
        "DefaultPolicy": dict,
        "Durations": lambda: _fields(endings),
        "Ending": lambda: {
            "outcome": tp.EpisodeOutcome.COMPLETED,
            "reason": "done",
            "ended_by": "policy",
        },
        "Engagement": dict,
        "Tally": dict,
        "Episode": lambda: {"duration": 3.0},
        "ExponentialEpisodes": lambda: {"mean_days": 2.0, "seed": 1},
        "Normal": lambda: {"mean": 1.0, "sd": 2.0},
        "Patience": dict,
        "Policy": dict,
        "Population": dict,
        "Rate": lambda: _fields(summary.rates["recovery"]),
        "Response": dict,
        "RunResult": lambda: _fields(w.run),
        "Scenario": dict,
        "Service": dict,
        "ServiceResult": lambda: _fields(w.service),
        "ServiceSummary": lambda: _fields(w.service.service),
        "Summary": lambda: _fields(summary),
        "SurvivalCurve": lambda: _fields(kaplan_meier()),
        "SweepResult": lambda: _fields(w.swept),
        "Team": dict,
        "check_manifest": lambda: {"folder": w.run_dir},
        "combine_replicates": lambda: {"summaries": [summary, summary]},
        "compare": lambda: {"summaries": [summary]},
        "competing_risks": lambda: {"durations": endings.durations, "causes": endings.causes},
        "cumulative_incidence": lambda: {
            "durations": endings.durations,
            "causes": endings.causes,
            "cause": "dropout",
        },
        "ending_cause": lambda: {"row": w.clients[0]},
        "episode_endings": lambda: {"clients": w.clients, "scale": "weeks", "horizon_weeks": 104},
        "erlang_c_mean_wait": lambda: {"arrivals_per_day": 2.0, "mean_days": 1.0, "servers": 3},
        "format_summary": lambda: {"summary": summary},
        "grid": lambda: {"parameters": {"policy.review_every": [4, 6]}},
        "kaplan_meier": lambda: {"durations": endings.durations, "observed": observed},
        "load_scenario": lambda: {"path": w.run_dir / "scenario.json"},
        "max_clients": lambda: {"scenario": sim.DEFAULT_SCENARIO},
        "plot_service": lambda: {"result": w.service, "path": where / "service.png"},
        "read_table": lambda: {"path": w.run_dir / "sessions.csv"},
        "recovery_times": lambda: {
            "clients": w.clients,
            "sessions": w.sessions,
            "scale": "weeks",
            "horizon_weeks": 104,
        },
        "simulate": lambda: {"scenario": sim.DEFAULT_SCENARIO, "clients": 2, "seed": 1},
        "client_plan": lambda: {"scenario": sim.DEFAULT_SCENARIO, "client": 1, "seed": 1},
        "simulate_replicates": lambda: {
            "scenario": sim.DEFAULT_SCENARIO,
            "clients": 2,
            "seed": 1,
            "replicates": 2,
        },
        "simulate_service": lambda: {
            "scenario": sim.CAPACITY_SCENARIO,
            "clients": 3,
            "seed": 1,
        },
        "sweep": lambda: {
            "base": sim.DEFAULT_SCENARIO,
            "arms": [{"policy.review_every": 4}],
            "clients": 2,
            "replicates": 1,
        },
        "to_dataframe": lambda: {"out_dir": w.run_dir, "table": "clients"},
        "write_parquet": lambda: {"out_dir": _run_copy(w, where)},
    }

    def kaplan_meier() -> sim.SurvivalCurve:
        return sim.kaplan_meier(endings.durations, observed)

    return arguments[name]()


def _is_fuzzed(name: str) -> bool:
    value = getattr(sim, name)
    if not callable(value):
        return False
    if inspect.isclass(value) and issubclass(value, BaseException):
        return False  # an error's constructor takes its message
    return not getattr(value, "_is_protocol", False)  # protocols are not instantiated


CALLABLES = [name for name in sim.__all__ if _is_fuzzed(name)]


def _parameters(name: str) -> Iterator[str]:
    for parameter in inspect.signature(getattr(sim, name)).parameters.values():
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            yield parameter.name


CASES = [(name, parameter) for name in CALLABLES for parameter in _parameters(name)]


def test_every_public_callable_is_covered() -> None:
    names = {name for name in sim.__all__ if callable(getattr(sim, name))}
    skipped = names - set(CALLABLES)
    assert skipped == {"Episodes", "ServicePolicy", "OutputExistsError", "SweepError"}
    assert len(CASES) > 150


def _message(error: tp.TreatplanError) -> str:
    text = str(error)
    if isinstance(error, tp.ValidationError):
        text += "".join(f"\n{p.path}: {p.expected}" for p in error.problems)
    return text


@pytest.mark.parametrize(("name", "parameter"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_a_wrong_argument_gets_a_library_error_that_does_not_echo_it(
    name: str,
    parameter: str,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a string taken as a path lands here
    call = getattr(sim, name)
    for n, bad in enumerate(BAD_VALUES):
        where = tmp_path / str(n)
        where.mkdir()
        arguments = {**_valid(name, world, where), parameter: bad}
        try:
            call(**arguments)
        except tp.TreatplanError as error:
            message = _message(error)
            assert not any(leak in message for leak in LEAKS), (name, parameter, message)
        # Anything else (TypeError, AttributeError, ...) fails the test with its traceback.


def test_the_valid_arguments_are_valid(world: World, tmp_path: Path) -> None:
    for n, name in enumerate(CALLABLES):
        where = tmp_path / str(n)
        where.mkdir()
        getattr(sim, name)(**_valid(name, world, where))


def _instances_and_arguments(w: World) -> dict[str, tuple[Any, dict[str, Any]]]:
    """An instance and valid arguments for each public method, by ``Class.method``.

    A policy's hooks (``DefaultPolicy.end`` and the rest) are left out: the engine
    calls them with its own state after every session, and a subclass's calls to
    them pass on what it was given.
    """
    endings = sim.episode_endings(w.clients, "sessions")
    observed = [c is not None for c in endings.causes]
    curve = sim.kaplan_meier(endings.durations, observed)
    incidence = sim.cumulative_incidence(endings.durations, endings.causes, "dropout")
    episodes = sim.ExponentialEpisodes(2.0, seed=1)
    scenario = sim.DEFAULT_SCENARIO
    return {
        "SurvivalCurve.at": (curve, {"time": 3}),
        "SurvivalCurve.number_at_risk": (curve, {"time": 3.5}),
        "CumulativeIncidence.at": (incidence, {"time": 3}),
        "CumulativeIncidence.number_at_risk": (incidence, {"time": 3.5}),
        "ExponentialEpisodes.route": (episodes, {"index": 0, "referred": 1.5}),
        "ExponentialEpisodes.start": (episodes, {"index": 0, "referred": 1.5, "at": 2.0}),
        "ExponentialEpisodes.leave": (
            episodes,
            {"index": 0, "referred": 1.5, "at": 2.0, "reason": "left_waiting"},
        ),
        "Patience.draw_days": (sim.Patience(), {"u": 0.5}),
        "Team.places": (sim.Team(), {"session_interval_days": 14}),
        "Scenario.from_dict": (sim.Scenario, {"data": scenario.to_dict()}),
        "Scenario.from_json": (sim.Scenario, {"text": scenario.to_json()}),
        "Tally.merge": (sim.Tally(), {"other": w.run.tally}),
    }


METHODS = [
    "SurvivalCurve.at",
    "SurvivalCurve.number_at_risk",
    "CumulativeIncidence.at",
    "CumulativeIncidence.number_at_risk",
    "ExponentialEpisodes.route",
    "ExponentialEpisodes.start",
    "ExponentialEpisodes.leave",
    "Patience.draw_days",
    "Team.places",
    "Scenario.from_dict",
    "Scenario.from_json",
    "Tally.merge",
]


def test_every_public_method_that_takes_arguments_is_covered() -> None:
    found = set()
    for name in CALLABLES:
        value = getattr(sim, name)
        if not inspect.isclass(value) or name == "DefaultPolicy":
            continue
        for attribute, member in vars(value).items():
            function = member.__func__ if isinstance(member, classmethod) else member
            if attribute.startswith("_") or not inspect.isfunction(function):
                continue
            parameters = [p for p in inspect.signature(function).parameters if p != "self"]
            if parameters and parameters != ["cls"]:
                found.add(f"{name}.{attribute}")
    assert found == set(METHODS)


METHOD_CASES = [
    (method, parameter)
    for method in METHODS
    for parameter in inspect.signature(
        getattr(getattr(sim, method.split(".")[0]), method.split(".")[1])
    ).parameters
    if parameter != "self"
]


@pytest.mark.parametrize(
    ("method", "parameter"), METHOD_CASES, ids=[f"{m}-{p}" for m, p in METHOD_CASES]
)
def test_a_wrong_argument_to_a_method_gets_a_library_error(
    method: str, parameter: str, world: World
) -> None:
    instance, valid = _instances_and_arguments(world)[method]
    call = getattr(instance, method.split(".")[1])
    call(**valid)
    for bad in BAD_VALUES:
        try:
            call(**{**valid, parameter: bad})
        except tp.TreatplanError as error:
            message = _message(error)
            assert not any(leak in message for leak in LEAKS), (method, parameter, message)
