"""Parameter sweeps: arms of scenario overrides x replicate seeds, as one tidy table.

An arm is a set of overrides, each a dotted path into the scenario's JSON (for
example ``service.step3.therapists``) and a value; :func:`grid` makes every
combination of some parameters' values, or arms are listed one by one. Every
arm runs the same replicate seeds (:func:`~treatplan.sim._random.replicate_seed`), so
arms see the same referrals and the same clients: common random numbers, and
differences between arms are the parameters', not the dice's.

Runs are independent, so they go to any :class:`concurrent.futures.Executor`
(a process pool, or ``dask.distributed.Client(...).get_executor()``); each run is
itself serial (a service's clients share capacity), and its output depends
only on its scenario, clients and seed, never on the executor.

With ``out_dir`` every run is written to ``runs/arm-<a>/replicate-<r>/`` and
committed with a ``manifest.json`` (written last, moved into place only when the
run is complete); rerunning an interrupted sweep into the same folder continues
from the runs whose manifests say they completed.
"""

from __future__ import annotations

import csv
import importlib
import io
import itertools
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import attrs

from .. import _validation as v
from .._errors import ArgumentError, TreatplanError, ValidationError
from .._json import to_dict
from .._records import record_repr
from .._version import __version__
from . import _checks as checks
from ._manifest import RunFolder, check_manifest, scenario_sha256
from ._random import replicate_seed
from ._run import _simulate_into, check_fits, run_record
from ._scenario import Scenario, Service
from ._service import _service_into
from ._summary import Summary
from ._survival import t_quantile
from ._tables import _import

__all__ = [
    "MAX_ARMS",
    "SWEEP_COLUMNS",
    "Arm",
    "SweepError",
    "SweepResult",
    "apply_overrides",
    "check_grid",
    "grid",
    "sweep",
]

#: Leading and trailing columns of the sweep table; the parameters' dotted paths
#: come between ``arm`` and ``replicate``. ``replicate`` is the replicate number,
#: or ``all`` for the mean over replicates (with a t 95% interval); a single run's
#: rates carry Wilson 95% intervals, other figures none.
SWEEP_COLUMNS = ("arm", "replicate", "metric", "value", "ci_low", "ci_high")
#: The table's file formats.
SWEEP_FORMATS = ("csv", "parquet")
#: The most arms one sweep runs (each runs every replicate seed): a grid is the
#: product of its parameters' value counts, and grows faster than it looks.
MAX_ARMS = 1_000
_TOO_MANY_ARMS = f"at most {MAX_ARMS:,} arms (the product of the value counts)"
_PARAMETERS = "a mapping (or list of pairs) from dotted paths to non-empty lists of values"
_METRICS = "metrics.json"
#: Metrics the comparison plot shows, when the runs have them.
_PLOTTED = (
    "service.started_within_6_weeks",
    "service.started_within_18_weeks",
    "service.left_while_waiting",
    "clinical.recovery",
)


def _arm_name(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # The name is a folder name in the output (runs/<name>/): no separators, no leading dot.
    if not checks.is_folder_name(value):
        raise v.fail(attribute, checks.FOLDER_NAME)


def _overrides(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in value
    ):
        raise v.fail(attribute, "a tuple of (dotted path, value) pairs")


@attrs.frozen
class Arm:
    """One arm of a sweep: its name and its overrides (dotted path, value), in order.

    The name is also the arm's folder name under ``runs/``.
    """

    __repr__ = record_repr

    name: str = attrs.field(validator=_arm_name)
    overrides: tuple[tuple[str, Any], ...] = attrs.field(validator=_overrides)

    def values(self) -> dict[str, Any]:
        """The overrides as a mapping from path to value."""
        return dict(self.overrides)


def _parameters(parameters: Any, name: str = "parameters") -> list[tuple[str, tuple[Any, ...]]]:
    """``parameters`` as (path, values) pairs, each path once, values a non-empty list."""
    if isinstance(parameters, Mapping):
        items = list(parameters.items())
    elif isinstance(parameters, list | tuple):
        items = list(parameters)
    else:
        raise ArgumentError(name, _PARAMETERS)
    pairs: list[tuple[str, tuple[Any, ...]]] = []
    for item in items:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ArgumentError(name, _PARAMETERS)
        path, values = item
        if not _is_path(path) or not isinstance(values, list | tuple) or not values:
            raise ArgumentError(name, _PARAMETERS)
        pairs.append((path, tuple(values)))
    if not pairs:
        raise ArgumentError(name, "at least one parameter")
    if len({path for path, _ in pairs}) != len(pairs):
        raise ArgumentError(name, "each path once")
    if _arm_count(len(values) for _, values in pairs) > MAX_ARMS:
        raise ArgumentError(name, _TOO_MANY_ARMS)
    return pairs


def _arm_count(counts: Iterable[int]) -> int:
    """The number of combinations, stopping once it is past :data:`MAX_ARMS`."""
    total = 1
    for count in counts:
        total *= count
        if total > MAX_ARMS:
            break
    return total


def grid(
    parameters: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]],
) -> list[Arm]:
    """Every combination of the parameters' values, the last parameter varying fastest.

    Each path may be given once, with a non-empty list of values, and the
    combinations may number at most :data:`MAX_ARMS`; otherwise
    :class:`treatplan.ArgumentError` names ``parameters``, before anything is built.
    """
    items = _parameters(parameters)
    paths = [path for path, _ in items]
    arms = []
    for number, combination in enumerate(itertools.product(*(values for _, values in items))):
        arms.append(Arm(f"arm-{number}", tuple(zip(paths, combination, strict=True))))
    return arms


def _arms(overrides: Any) -> list[Arm]:
    """The arms of :func:`sweep`, each an :class:`Arm` or a mapping from path to value."""
    expected = f"an iterable of at most {MAX_ARMS:,} Arm values or mappings"
    if isinstance(overrides, str | bytes | Mapping | Arm) or not isinstance(overrides, Iterable):
        raise ArgumentError("arms", expected)
    arms: list[Arm] = []
    for number, arm in enumerate(overrides):
        if number == MAX_ARMS or not isinstance(arm, Arm | Mapping):
            raise ArgumentError("arms", expected)
        arms.append(arm if isinstance(arm, Arm) else Arm(f"arm-{number}", _pairs(arm)))
    if len({arm.name for arm in arms}) != len(arms):
        raise ArgumentError("arms", "arms with distinct names")
    return arms


def _pairs(arm: Mapping[Any, Any]) -> tuple[tuple[str, Any], ...]:
    if not all(isinstance(path, str) for path in arm):
        raise ArgumentError("arms", "mappings from dotted paths (strings) to values")
    return tuple(arm.items())


def _with_service(data: dict[str, Any]) -> dict[str, Any]:
    if "service" not in data:
        data["service"] = to_dict(Service())
    return data


def _is_path(path: Any) -> bool:
    return isinstance(path, str) and bool(path) and all(path.split("."))


def _set(data: dict[str, Any], path: str, value: Any) -> bool:
    """Set ``path`` in ``data`` to ``value``; ``False`` if the path names no field."""
    parts = path.split(".")
    if parts[0] == "service":
        _with_service(data)
    node: Any = data
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or parts[-1] not in node:
        return False
    node[parts[-1]] = value
    return True


_NOT_A_PATH = "a dotted path to a field of the scenario"


def _rejected(exc: ValidationError, where: str) -> ValidationError:
    # The scenario's own expectations, at the override's position: no path or value echoed.
    expected = "; ".join(sorted({p.expected for p in exc.problems}))
    return ValidationError.at(where, f"a value the scenario accepts ({expected})")


def apply_overrides(
    base: Scenario, overrides: Sequence[tuple[str, Any]], where: str = "$"
) -> Scenario:
    """``base`` with each (dotted path, value) set; errors name ``where`` and the position.

    A path must name an existing field (a ``service`` section is filled in with
    its defaults first). Raises :class:`treatplan.ValidationError` at
    ``<where>[i]`` for the first override that names no field or whose value
    the scenario does not accept (no path or value is repeated in the message).
    """
    checks.instance("base", base, Scenario, "a treatplan.sim.Scenario")
    pairs = "a list of (dotted path, value) pairs"
    checks.sequence("overrides", overrides, pairs)
    if not all(isinstance(o, list | tuple) and len(o) == 2 for o in overrides):
        raise ArgumentError("overrides", pairs)
    data = base.to_dict()
    for i, (path, value) in enumerate(overrides):
        if not _is_path(path) or not _set(data, path, value):
            raise ValidationError.at(f"{where}[{i}]", _NOT_A_PATH)
    try:
        return Scenario.from_dict(data)
    except ValidationError as exc:
        failure = exc
    # Find the first override the scenario refuses, for the message.
    data = base.to_dict()
    for i, (path, value) in enumerate(overrides):
        _set(data, path, value)
        try:
            Scenario.from_dict(data)
        except ValidationError as exc:
            raise _rejected(exc, f"{where}[{i}]") from None
    raise _rejected(failure, where)  # pragma: no cover - some prefix fails first


def check_grid(
    base: Scenario, parameters: Sequence[tuple[str, Sequence[Any]]], where: str = "$.grid"
) -> None:
    """Check every parameter's path and each of its values on its own.

    Raises :class:`treatplan.ValidationError` at ``<where>[i].path`` (also for a
    path given twice), ``<where>[i].values[j]``, or ``<where>`` when the grid would
    have more than :data:`MAX_ARMS` arms (checked first, before any value).
    A ``base`` that is not a :class:`Scenario`, or ``parameters`` that are not
    (path, list of values) pairs, raise :class:`treatplan.ArgumentError`.
    """
    checks.instance("base", base, Scenario, "a treatplan.sim.Scenario")
    shape = "a list of (dotted path, list of values) pairs"
    checks.sequence("parameters", parameters, shape)
    if not all(
        isinstance(p, list | tuple) and len(p) == 2 and isinstance(p[1], list | tuple)
        for p in parameters
    ):
        raise ArgumentError("parameters", shape)
    if not isinstance(where, str):
        raise ArgumentError("where", "a JSON path (a str)")
    if _arm_count(len(values) for _, values in parameters) > MAX_ARMS:
        raise ValidationError.at(
            where, f"at most {MAX_ARMS:,} arms (the product of the value counts)"
        )
    seen: set[str] = set()
    for i, (path, values) in enumerate(parameters):
        if not _is_path(path) or not _set(base.to_dict(), path, None):
            raise ValidationError.at(f"{where}[{i}].path", _NOT_A_PATH)
        if path in seen:
            raise ValidationError.at(f"{where}[{i}].path", "a path not given earlier in the grid")
        seen.add(path)
        for j, value in enumerate(values):
            try:
                apply_overrides(base, [(path, value)])
            except ValidationError as exc:
                raise ValidationError.at(
                    f"{where}[{i}].values[{j}]", exc.problems[0].expected
                ) from None


@attrs.frozen
class SweepResult:
    """The outcome of :func:`sweep`: its arms, the tidy table's rows and the files written.

    ``columns`` name the row fields; ``resumed`` counts runs taken from an
    earlier, interrupted sweep; ``seconds`` and ``client_sessions`` are the work
    done in this call (for throughput figures).
    """

    __repr__ = record_repr

    arms: tuple[Arm, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] = attrs.field(repr=False)
    files: tuple[Path, ...]
    resumed: int
    seconds: float
    client_sessions: int


def _metrics_of(summary: Summary, prefix: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for key, rate in summary.rates.items():
        out[f"{prefix}.{key}"] = [rate.value, rate.low, rate.high]
    for key, value in summary.figures.items():
        out[f"{prefix}.{key}"] = [value, math.nan, math.nan]
    return out


def run_arm(
    scenario: Scenario, clients: int, seed: int, folder: str | None
) -> tuple[dict[str, list[float]], int]:
    """One run of a sweep (runs in a worker): its metrics and the client-sessions simulated.

    With ``folder``, the run's files go straight into it (the caller commits it).
    """
    out = Path(folder) if folder is not None else None
    metrics: dict[str, list[float]]
    if scenario.service is not None:
        result = _service_into(out, scenario, clients, seed)
        assert result.summary is not None  # the engine's episodes have a clinical summary
        metrics = _metrics_of(result.summary, "clinical")
        service = result.service
        for key, rate in service.rates.items():
            metrics[f"service.{key}"] = [rate.value, rate.low, rate.high]
        for key, value in service.figures.items():
            metrics[f"service.{key}"] = [value, math.nan, math.nan]
        sessions = result.session_rows
        if out is not None:
            (out / "scenario.json").write_text(scenario.to_json(), encoding="utf-8")
    else:
        about = {"seed": seed, "clients": clients, "treatplan_version": __version__}
        run = _simulate_into(
            out,
            scenario,
            clients,
            seed,
            executor=None,
            chunk_size=250,
            formats=("csv",),
            max_in_flight=None,
            progress=None,
            about=about,
        )
        metrics = _metrics_of(run.summary, "clinical")
        sessions = run.tally.counts["session_rows"]
    if out is not None:
        (out / _METRICS).write_text(_json_text(metrics), encoding="utf-8")
    return metrics, sessions


def _json_text(data: Any) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return json.dumps(clean(data), indent=2, sort_keys=True) + "\n"


def _from_json(data: Mapping[str, Any]) -> dict[str, list[float]]:
    return {k: [math.nan if x is None else float(x) for x in v] for k, v in data.items()}


def _completed(folder: Path, record: Mapping[str, Any]) -> dict[str, list[float]] | None:
    """The metrics of a run its manifest says completed, with this record; else ``None``.

    The manifest must list every file with its size and SHA-256
    (:func:`treatplan.sim.check_manifest`), and name the same scenario, seed and clients.
    """
    try:
        manifest = check_manifest(folder)
        metrics = json.loads((folder / _METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError, TreatplanError):
        return None
    if any(manifest.get(key) != record[key] for key in ("seed", "clients", "scenarios")):
        return None
    return _from_json(metrics)


class SweepError(TreatplanError):
    """The output folder holds a different sweep (or is not a folder).

    The message names the parameter (``out_dir``), never the folder's path;
    ``detail`` is the message without it.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"out_dir: {detail}")
        self.detail = detail

    def _init_args(self) -> tuple[Any, ...]:
        return (self.detail,)


def sweep(
    base: Scenario,
    arms: Iterable[Mapping[str, Any] | Arm],
    *,
    clients: int = 500,
    replicates: int = 2,
    seed: int = 1,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    table_format: str = "csv",
    plots: bool = False,
) -> SweepResult:
    """Run every arm (overrides of ``base``) for ``replicates`` seeds; one tidy table.

    ``arms``: :class:`Arm` values (from :func:`grid`) or mappings from dotted
    path to value. A scenario with a ``service`` section runs through
    :func:`treatplan.sim.simulate_service` (shared capacity, one process per
    run), any other through :func:`treatplan.sim.simulate`. With ``out_dir``
    writes ``sweep.json`` (what was asked), ``runs/arm-<a>/replicate-<r>/``
    (each with its tables, ``metrics.json`` and ``manifest.json``), the table
    ``sweep.<table_format>`` and, with ``plots``, ``sweep.png``; a rerun into the
    same folder reuses completed runs and refuses a folder holding another sweep.
    """
    checks.instance("base", base, Scenario, "a treatplan.sim.Scenario")
    checks.seed(seed)
    if out_dir is not None:
        checks.folder("out_dir", out_dir)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ArgumentError("executor", "a concurrent.futures.Executor or None")
    if table_format not in SWEEP_FORMATS:
        raise ArgumentError("table_format", "'csv' or 'parquet'")
    # A missing extra is reported before any run, not after all of them.
    if table_format == "parquet":
        _import("pyarrow.parquet", "parquet")
    if plots:
        _import("matplotlib", "plots")
    checks.clients(clients)
    checks.integer("replicates", replicates, 1, checks.MAX_REPLICATES)
    arm_list = _arms(arms)
    if not arm_list:
        raise ArgumentError("arms", "at least one arm")
    scenarios = [
        apply_overrides(base, arm.overrides, f"$.arms[{a}]") for a, arm in enumerate(arm_list)
    ]
    for scenario in scenarios:  # every arm fits, or nothing runs
        check_fits(scenario, clients)
    paths: list[str] = []
    for arm in arm_list:
        for path, _ in arm.overrides:
            if path not in paths:
                paths.append(path)
    out = Path(out_dir) if out_dir is not None else None
    spec = {
        "treatplan_version": __version__,
        "base_sha256": scenario_sha256(base),
        "clients": clients,
        "replicates": replicates,
        "seed": seed,
        "arms": [{"name": a.name, "overrides": [list(o) for o in a.overrides]} for a in arm_list],
    }
    if out is not None:
        _claim(out, spec, base)
    started = time.perf_counter()
    results: dict[tuple[int, int], dict[str, list[float]]] = {}
    pending: list[tuple[tuple[int, int], _Job]] = []
    resumed = sessions = 0
    try:
        for a, scenario in enumerate(scenarios):
            for r in range(replicates):
                r_seed = replicate_seed(seed, r)
                record = run_record([(scenario, ".")], clients, r_seed, 1, ("csv",), None)
                record["sweep"] = {"arm": arm_list[a].name, "replicate": r}
                folder: Path | None = None
                if out is not None:
                    folder = out / "runs" / arm_list[a].name / f"replicate-{r}"
                    done = _completed(folder, record)
                    if done is not None:
                        results[(a, r)] = done
                        resumed += 1
                        continue
                    if folder.exists():
                        # Not a complete run of this sweep (its manifest lost or
                        # changed) in the sweep's own runs/ tree, which _claim checked
                        # holds this sweep: run it again in its place.
                        shutil.rmtree(folder)
                job = _submit(executor, scenario, clients, r_seed, folder, record)
                if executor is None:  # committed at once, so an interrupt keeps it
                    results[(a, r)], count = _finish(job)
                    sessions += count
                else:
                    pending.append(((a, r), job))
        for key, job in pending:
            results[key], count = _finish(job)
            sessions += count
    except BaseException:
        for _, job in pending:
            job.abandon()
        raise
    seconds = time.perf_counter() - started
    columns = ("arm", *paths, *SWEEP_COLUMNS[1:])
    rows = _rows(arm_list, paths, results, replicates)
    files: list[Path] = []
    if out is not None:
        files.append(_write_table(out, columns, rows, table_format))
        if plots:
            files.append(_plot(out, arm_list, rows, columns))
    return SweepResult(
        tuple(arm_list), columns, tuple(rows), tuple(files), resumed, seconds, sessions
    )


class _Job:
    """A run being done: its future (or value) and the run folder it is written into."""

    def __init__(self, folder: RunFolder | None) -> None:
        self.folder = folder
        self.future: Future[Any] | None = None
        self.value: Any = None

    def abandon(self, error: BaseException | None = None) -> None:
        """Cancel the run and remove its partial folder (a committed run is kept)."""
        if self.future is not None:
            self.future.cancel()
        if self.folder is not None:
            self.folder.__exit__(type(error) if error else None, error, None)


def _submit(
    executor: Executor | None,
    scenario: Scenario,
    clients: int,
    seed: int,
    folder: Path | None,
    record: Mapping[str, Any],
) -> _Job:
    run = RunFolder(folder, record) if folder is not None else None
    where = os.fspath(run.path) if run is not None else None
    job = _Job(run)
    if executor is None:
        try:
            job.value = run_arm(scenario, clients, seed, where)
        except BaseException as exc:
            job.abandon(exc)
            raise
    else:
        job.future = executor.submit(run_arm, scenario, clients, seed, where)
    return job


def _finish(job: _Job) -> tuple[dict[str, list[float]], int]:
    """The run's metrics, once its folder is committed with its manifest."""
    try:
        value = job.future.result() if job.future is not None else job.value
    except BaseException as exc:
        job.abandon(exc)
        raise
    if job.folder is not None:
        job.folder.commit()
    metrics, count = value
    return _from_json(json.loads(_json_text(metrics))), int(count)


def _claim(out: Path, spec: Mapping[str, Any], base: Scenario) -> None:
    """Write ``sweep.json``, or check that the folder's sweep is this one (to resume it)."""
    path = out / "sweep.json"
    if out.exists() and not out.is_dir():
        raise SweepError("expected a folder, not a file")
    if path.is_file():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            earlier = None
        if earlier != json.loads(_json_text(spec)):
            raise SweepError(
                "expected an empty folder or one holding this sweep to resume (it holds "
                "a different sweep: choose another folder, or remove it to start again)"
            )
        # Runs a killed sweep was writing: never committed, so never complete.
        for stale in sorted((out / "runs").glob("*/.replicate-*.partial-*")):
            shutil.rmtree(stale, ignore_errors=True)
        return
    if out.exists() and any(out.iterdir()):
        raise SweepError(
            "expected an empty folder or one holding this sweep to resume (it is not "
            "empty and holds no sweep)"
        )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(_json_text(spec), encoding="utf-8")
    (out / "scenario.json").write_text(base.to_json(), encoding="utf-8")


def _t_interval(values: Sequence[float]) -> tuple[float, float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((x - mean) ** 2 for x in finite) / (len(finite) - 1))
    half = t_quantile(0.975, len(finite) - 1) * sd / math.sqrt(len(finite))
    return mean, mean - half, mean + half


def _rows(
    arms: Sequence[Arm],
    paths: Sequence[str],
    results: Mapping[tuple[int, int], Mapping[str, Sequence[float]]],
    replicates: int,
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for a, arm in enumerate(arms):
        values = arm.values()
        params = tuple(values.get(p, "") for p in paths)
        metrics = sorted(set().union(*(results[(a, r)] for r in range(replicates))))
        for metric in metrics:
            per_run = [results[(a, r)].get(metric, [math.nan] * 3) for r in range(replicates)]
            for r, (value, low, high) in enumerate(per_run):
                rows.append((arm.name, *params, r, metric, value, low, high))
            mean, low, high = _t_interval([v[0] for v in per_run])
            if math.isfinite(low) and any(math.isfinite(v[1]) for v in per_run):
                low, high = max(0.0, low), min(1.0, high)  # a rate's interval stays in [0, 1]
            rows.append((arm.name, *params, "all", metric, mean, low, high))
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 10))
    if isinstance(value, bool | dict | list):
        return json.dumps(value)
    return value


def _write_table(
    out: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]], table_format: str
) -> Path:
    """Write the tidy table aside and move it into place, so a failed write (a full
    disk, an interrupt) leaves the earlier table of a resumed sweep whole."""
    if table_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
        data = buffer.getvalue().encode("utf-8")
        return _replace(out / "sweep.csv", lambda aside: aside.write_bytes(data))
    pa = importlib.import_module("pyarrow")
    pq = importlib.import_module("pyarrow.parquet")
    table = pa.table(
        {name: _arrow_column(pa, [row[i] for row in rows]) for i, name in enumerate(columns)}
    )
    path = _replace(out / "sweep.parquet", lambda aside: pq.write_table(table, aside))
    # One table per sweep: a CSV from an earlier call into this folder would mislead.
    (out / "sweep.csv").unlink(missing_ok=True)
    return path


def _replace(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through a hidden file beside it, then rename it into place."""
    aside = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
    try:
        write(aside)
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    return path


#: The largest magnitude of a 64-bit integer column.
_INT64 = 2**63 - 1


def _arrow_column(pa: Any, values: Sequence[Any]) -> Any:
    """One type per column, as a CSV reader would type the CSV table.

    All booleans: bool; all integers: int64; integers and floats: double (a
    non-finite float is null); anything else (text, lists, ``all`` among the
    replicate numbers): each value as its CSV cell text. An arm without a
    parameter (an empty cell in the CSV) is null.
    """
    present = [value for value in values if value != ""]
    if present and all(isinstance(value, bool) for value in present):
        return pa.array([None if value == "" else value for value in values], pa.bool_())
    if present and all(_is_small_int(value) for value in present):
        return pa.array([None if value == "" else value for value in values], pa.int64())
    if all(isinstance(value, float) or _is_small_int(value) or value == "" for value in values):
        return pa.array(
            [
                None if value == "" or not math.isfinite(float(value)) else float(value)
                for value in values
            ],
            pa.float64(),
        )
    cells = [_cell(value) for value in values]
    return pa.array([None if cell == "" else str(cell) for cell in cells], pa.string())


def _is_small_int(value: Any) -> bool:
    return checks.is_int(value) and abs(value) <= _INT64


def _plot(
    out: Path, arms: Sequence[Arm], rows: Sequence[Sequence[Any]], columns: Sequence[str]
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    at = {name: i for i, name in enumerate(columns)}
    combined = [row for row in rows if row[at["replicate"]] == "all"]
    shown = [m for m in _PLOTTED if any(row[at["metric"]] == m for row in combined)]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(4 * max(1, len(shown)), 3.6))
    axes = list(axes) if len(shown) > 1 else [axes]
    labels = [
        ", ".join(f"{'.'.join(p.split('.')[-2:])}={v}" for p, v in arm.overrides) or arm.name
        for arm in arms
    ]
    for ax, metric in zip(axes, shown, strict=False):
        by_arm = {row[0]: row for row in combined if row[at["metric"]] == metric}
        xs = range(len(arms))
        ys = [by_arm[arm.name][at["value"]] if arm.name in by_arm else math.nan for arm in arms]
        lows = [by_arm[arm.name][at["ci_low"]] if arm.name in by_arm else math.nan for arm in arms]
        highs = [
            by_arm[arm.name][at["ci_high"]] if arm.name in by_arm else math.nan for arm in arms
        ]
        err = [
            [0 if math.isnan(lo) else y - lo for y, lo in zip(ys, lows, strict=True)],
            [0 if math.isnan(hi) else hi - y for y, hi in zip(ys, highs, strict=True)],
        ]
        ax.errorbar(list(xs), ys, yerr=err, fmt="o", capsize=3)
        ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(metric.split(".", 1)[-1].replace("_", " "), fontsize=9)
    fig.suptitle("Sweep: mean over replicates with 95% intervals", fontsize=10)
    fig.tight_layout()
    try:  # aside and renamed, as the table is
        return _replace(out / "sweep.png", lambda aside: fig.savefig(aside, dpi=100, format="png"))
    finally:
        plt.close(fig)
