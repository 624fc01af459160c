"""Run a simulated caseload: chunks of clients on any executor, streamed to disk.

:func:`simulate` walks the waiting list in client order (serial, cheap), hands
chunks of admissions to an executor (or runs them in-process), and writes each
chunk's rows as soon as it and every earlier chunk are done. At most
``max_in_flight`` chunks are pending, so memory stays bounded however many
clients are simulated. Output is byte-identical for any executor, worker count
or chunk size: each client's rows depend only on the scenario, the seed and the
client's index.

With ``out_dir`` a run is written into a hidden folder beside it and moved into
place, with ``manifest.json`` written last, only when complete
(:class:`~treatplan.sim._manifest.RunFolder`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import attrs

from .._errors import ArgumentError
from .._model import TreatmentPlan
from .._records import record_repr
from .._version import __version__
from . import _checks as checks
from ._codebook import codebook_dict
from ._engine import Admission, WaitingList, max_clients, simulate_client
from ._heap import MALLOC_TRIM, HeapTrimmer
from ._manifest import MANIFEST, RunFolder, scenario_sha256
from ._policy import ServicePolicy
from ._random import replicate_seed
from ._scenario import DEFAULT_SCENARIO, Scenario
from ._summary import Summary, Tally, combine_replicates, summarise
from ._tables import (
    DEFAULT_FORMATS,
    TABLES,
    TEXT_FORMATS,
    TableWriter,
    check_formats,
    format_rows,
    write_json,
    write_parquet,
)

__all__ = [
    "ChunkOutput",
    "RunResult",
    "check_extras",
    "client_plan",
    "run_chunk",
    "simulate",
    "simulate_replicates",
]

#: A progress callback: (clients done, clients in all).
Progress = Callable[[int, int], None]

#: What :func:`simulate` needs of a ``policy`` (the methods of :class:`ServicePolicy`).
_POLICY_METHODS = ("start_step", "wants_alerts", "on_feedback", "review_due", "decide", "end")

_EXTRAS = {"parquet": ("pyarrow", "parquet"), "plots": ("matplotlib", "plots")}


def check_extras(formats: Sequence[str] = (), *, plots: bool = False) -> None:
    """Raise ``ImportError`` (one line, with the install command) for a missing extra.

    Called before any work, so a run never fails at its end for want of a package.
    """
    wanted = [name for name in ("parquet",) if name in formats]
    if plots:
        wanted.append("plots")
    for name in wanted:
        module, extra = _EXTRAS[name]
        if importlib.util.find_spec(module) is None:
            raise ImportError(
                f"{'--plots' if name == 'plots' else '--format parquet'} needs {module}: "
                f"pip install 'treatplan[{extra}]'"
            )


@attrs.frozen
class ChunkOutput:
    """What a worker sends back for one chunk: formatted table text and a tally."""

    __repr__ = record_repr

    texts: dict[tuple[str, str], str]
    tally: Tally
    clients: int


def run_chunk(
    scenario: Scenario,
    seed: int,
    admissions: Sequence[Admission],
    formats: Sequence[str],
    policy: ServicePolicy | None = None,
) -> ChunkOutput:
    """Simulate a chunk of clients and format their rows (runs in a worker).

    ``formats``: the text formats to format the rows in (``csv``, ``jsonl``), or none.
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.seed(seed)
    checks.sequence("admissions", admissions, "a list of admissions (WaitingList.admit)")
    if not all(isinstance(a, Admission) for a in admissions):
        raise ArgumentError("admissions", "a list of admissions (WaitingList.admit)")
    if not isinstance(formats, list | tuple) or not set(formats) <= set(TEXT_FORMATS):
        raise ArgumentError("formats", f"a list among {', '.join(TEXT_FORMATS)}")
    tally = Tally()
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for admission in admissions:
        result = simulate_client(scenario, seed, admission, policy=policy)
        tally._add(result)
        rows["clients"].append(result.client)
        rows["sessions"].extend(result.sessions)
        rows["events"].extend(result.events)
    texts = {
        (table, fmt): format_rows(table, rows[table], fmt) for table in TABLES for fmt in formats
    }
    return ChunkOutput(texts, tally, len(admissions))


@attrs.frozen
class RunResult:
    """The outcome of :func:`simulate`: the summary, the tally and the files written.

    ``files`` are where the run's files are (with ``out_dir``: inside it, and
    ``manifest.json`` last); ``out_dir`` is the run folder, or ``None``.
    """

    __repr__ = record_repr

    summary: Summary
    tally: Tally = attrs.field(eq=False)
    files: tuple[Path, ...]
    seed: int
    clients: int
    out_dir: Path | None = None


class _Done:
    """A finished chunk, for the in-process path (quacks like a Future)."""

    def __init__(self, value: ChunkOutput) -> None:
        self._value = value

    def result(self) -> ChunkOutput:
        return self._value

    def cancel(self) -> bool:
        return False


def check_fits(scenario: Scenario, clients: int) -> None:
    """Refuse more clients than ``scenario`` can date in the supported range
    (:func:`~treatplan.sim.max_clients`), before any work."""
    most = max_clients(scenario)
    if clients > most:
        rate = scenario.capacity.referrals_per_week
        raise ArgumentError(
            "clients",
            f"at most {most:,} clients for this scenario: referrals at {rate:g} a week "
            "from its start, each followed for its horizon, must end before 2200 "
            "(raise capacity.referrals_per_week, or choose an earlier start or a "
            "shorter horizon)",
        )


def client_plan(
    scenario: Scenario = DEFAULT_SCENARIO,
    client: int = 0,
    seed: int = 1,
    *,
    policy: ServicePolicy | None = None,
) -> TreatmentPlan:
    """The final :class:`~treatplan.TreatmentPlan` of one client of a run, on request.

    Client ``client`` (numbered from 0, the ``client-<n>`` of the tables) of
    :func:`simulate` of ``scenario`` with ``seed`` and ``policy``, whatever the
    run's client count, executor or chunking: its rows in the run's tables
    describe this plan. The plan is rebuilt twice, by the simulator's fast path
    and through the checked public API (the constructors,
    :meth:`~treatplan.TreatmentPlan.refer`, :func:`~treatplan.record_session`,
    :func:`~treatplan.record_assessment`, :func:`~treatplan.revise`), and the
    two must agree exactly, or :class:`~treatplan.TreatplanError` is raised.
    A run keeps no plans (its tables hold what it found); this costs one
    client's episode plus the waiting list up to ``client`` (microseconds per
    earlier client).
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.integer("client", client, 0, checks.MAX_CLIENTS - 1)
    check_fits(scenario, client + 1)
    checks.seed(seed)
    _check_policy(policy)
    waiting = WaitingList(scenario, seed)
    for earlier in range(client):  # the list's state is the slot the next start takes
        waiting.admit(earlier)
    admission = waiting.admit(client)
    result = simulate_client(scenario, seed, admission, keep_plan=True, policy=policy, verify=True)
    assert result.plan is not None  # keep_plan
    return result.plan


def _check(
    scenario: Scenario,
    clients: int,
    seed: int,
    chunk_size: int,
    options: Mapping[str, Any],
) -> None:
    """Check :func:`simulate`'s arguments before any work (or any folder) is made."""
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.clients(clients)
    check_fits(scenario, clients)
    checks.seed(seed)
    checks.integer("chunk_size", chunk_size, 1, checks.MAX_CLIENTS)
    executor = options.get("executor")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ArgumentError("executor", "a concurrent.futures.Executor or None")
    if options.get("max_in_flight") is not None:
        checks.integer("max_in_flight", options["max_in_flight"], 1, 10_000)
    if options.get("progress") is not None and not callable(options["progress"]):
        raise ArgumentError("progress", "a callable taking (done, total), or None")
    _check_policy(options.get("policy"))


def _check_policy(policy: object) -> None:
    if policy is not None and not all(
        callable(getattr(policy, name, None)) for name in _POLICY_METHODS
    ):
        raise ArgumentError("policy", "a treatplan.sim.ServicePolicy or None")


def _check_command(command: Sequence[str] | None) -> None:
    if command is not None and not (
        isinstance(command, list | tuple) and all(isinstance(a, str) for a in command)
    ):
        raise ArgumentError("command", "a list of strings (the command line), or None")


def _version() -> str:

    return __version__


def run_record(
    scenarios: Sequence[tuple[Scenario, str]],
    clients: int,
    seed: int,
    replicates: int,
    formats: Sequence[str],
    command: Sequence[str] | None,
) -> dict[str, Any]:
    """What ``manifest.json`` says about a run (``scenarios``: (scenario, its folder))."""
    return {
        "treatplan_version": _version(),
        "command": list(sys.orig_argv if command is None else command),
        "seed": seed,
        "clients": clients,
        "replicates": replicates,
        "formats": list(formats),
        "scenarios": [
            {"name": s.name, "sha256": scenario_sha256(s), "folder": folder}
            for s, folder in scenarios
        ],
    }


#: The smallest chunk near the end of a run on an executor, as a share of
#: ``chunk_size`` (see :func:`chunk_bounds`).
TAIL_SHARE = 8


def chunk_bounds(clients: int, chunk_size: int, in_flight: int = 1) -> Iterator[tuple[int, int]]:
    """The ``(start, stop)`` client indices of each chunk of a run, in order.

    In one process (``in_flight`` 1) every chunk has ``chunk_size`` clients but the
    last. On an executor a chunk never takes more than ``1 / in_flight`` of the
    clients not yet handed out, down to ``chunk_size // TAIL_SHARE``: full chunks
    at the end would leave one worker simulating the last of them while the others
    idle (a chunk of 250 default clients is about a quarter of a second). Output
    never depends on the chunks, so this changes only when workers finish.
    """
    smallest = max(1, chunk_size // TAIL_SHARE)
    start = 0
    while start < clients:
        size = chunk_size
        if in_flight > 1:
            size = min(chunk_size, max(smallest, -(-(clients - start) // in_flight)))
        stop = min(clients, start + size)
        yield start, stop
        start = stop


def _simulate_into(
    out: Path | None,
    scenario: Scenario,
    clients: int,
    seed: int,
    *,
    executor: Executor | None,
    chunk_size: int,
    formats: Sequence[str],
    max_in_flight: int | None,
    progress: Progress | None,
    about: Mapping[str, Any],
    policy: ServicePolicy | None = None,
) -> RunResult:
    """Simulate and write the tables, ``summary.json``, ``scenario.json`` and
    ``codebook.json`` straight into ``out`` (no manifest, no safety: see :func:`simulate`).
    """
    in_flight = max_in_flight or (1 if executor is None else 8)
    waiting_list = WaitingList(scenario, seed)
    tally = Tally()
    # Parquet is converted from CSV once the run is written.
    text_formats = [
        f for f in TEXT_FORMATS if f in formats or (f == "csv" and "parquet" in formats)
    ]
    writer = TableWriter(out, text_formats) if out is not None else None
    chunk_formats = text_formats if writer is not None else ()
    pending: deque[Future[ChunkOutput] | _Done] = deque()
    done = 0
    # Without it the parent's peak memory creeps up with the clients (see _heap).
    heap = HeapTrimmer(trim=MALLOC_TRIM)

    def collect() -> None:
        nonlocal done
        heap.tick()  # before the next chunk arrives: the earlier ones are freed by now
        output = pending.popleft().result()
        tally.merge(output.tally)
        if writer is not None:
            for (table, fmt), text in output.texts.items():
                writer.write(table, fmt, text)
        done += output.clients
        if progress is not None:
            progress(done, clients)

    try:
        for start, stop in chunk_bounds(clients, chunk_size, 1 if executor is None else in_flight):
            admissions = waiting_list.admissions(start, stop)
            if executor is None:
                pending.append(_Done(run_chunk(scenario, seed, admissions, chunk_formats, policy)))
            else:
                pending.append(
                    executor.submit(run_chunk, scenario, seed, admissions, chunk_formats, policy)
                )
            while len(pending) >= in_flight:
                collect()
        while pending:
            collect()
    finally:
        for future in pending:
            future.cancel()
        if writer is not None:
            writer.close()
    summary = summarise(tally, scenario.name)
    if writer is None or out is None:
        return RunResult(summary, tally, (), seed, clients)
    files = list(writer.paths)
    if "parquet" in formats:
        files += write_parquet(out)
        if "csv" not in formats:
            for table in TABLES:
                csv_path = out / f"{table}.csv"
                csv_path.unlink()
                files.remove(csv_path)
    files += _write_about(out, summary, scenario, {**about, "seed": seed, "clients": clients})
    return RunResult(summary, tally, tuple(files), seed, clients, out)


def _write_about(
    out: Path, summary: Summary, scenario: Scenario, about: Mapping[str, Any]
) -> list[Path]:
    """``summary.json`` (with what produced it), ``scenario.json`` and ``codebook.json``."""
    paths = [out / "summary.json", out / "scenario.json", out / "codebook.json"]
    write_json(paths[0], {"run": dict(about), **summary.to_dict()})
    paths[1].write_text(scenario.to_json(), encoding="utf-8")
    write_json(paths[2], codebook_dict())
    return paths


def _moved(result: RunResult, source: Path, target: Path) -> RunResult:
    files = tuple(target / p.relative_to(source) for p in result.files)
    out = target / result.out_dir.relative_to(source) if result.out_dir is not None else None
    return attrs.evolve(result, files=files, out_dir=out)


def simulate(
    scenario: Scenario = DEFAULT_SCENARIO,
    clients: int = 2000,
    seed: int = 1,
    *,
    executor: Executor | None = None,
    chunk_size: int = 250,
    out_dir: str | Path | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    max_in_flight: int | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    keep_partial: bool = False,
    command: Sequence[str] | None = None,
    policy: ServicePolicy | None = None,
) -> RunResult:
    """Simulate ``clients`` referrals to ``scenario`` with ``seed``.

    ``executor``: any :class:`concurrent.futures.Executor` (a
    ``ProcessPoolExecutor``, or ``dask.distributed.Client(...).get_executor()``);
    ``None`` runs in this process. The result is the same, byte for byte,
    whatever the executor, its worker count, ``chunk_size`` or ``max_in_flight``.

    With ``out_dir``, rows stream to ``{clients,sessions,events}.<format>`` for
    each of ``formats`` (``csv``, ``jsonl``, ``parquet``; default CSV only),
    beside ``summary.json``, ``scenario.json`` and ``codebook.json``, in a
    hidden folder next to ``out_dir`` that is moved into place with
    ``manifest.json`` only when the run is complete. A non-empty ``out_dir``
    raises :class:`~treatplan.sim.OutputExistsError` unless ``overwrite``,
    which replaces the earlier run only after this one is complete. An error
    or interrupt leaves ``out_dir`` as it was; ``keep_partial`` keeps what was
    written as ``<out_dir>.partial``, its manifest marked ``"complete":
    false``. ``command`` is recorded in the manifest (default:
    ``sys.orig_argv``). Nothing is written without ``out_dir``. ``policy`` takes
    the service's decisions (default :class:`DefaultPolicy`; it must pickle to
    run on a process pool).
    """
    options: dict[str, Any] = {
        "executor": executor,
        "chunk_size": chunk_size,
        "formats": formats,
        "max_in_flight": max_in_flight,
        "progress": progress,
        "policy": policy,
    }
    _check(scenario, clients, seed, chunk_size, options)
    _check_command(command)
    options["formats"] = formats = check_formats(formats)
    if out_dir is None:
        return _simulate_into(None, scenario, clients, seed, about={}, **options)
    checks.folder("out_dir", out_dir)
    check_extras(formats)
    record = run_record([(scenario, ".")], clients, seed, 1, formats, command)
    with RunFolder(out_dir, record, overwrite=overwrite, keep_partial=keep_partial) as folder:
        about = _about(record, seed)
        result = _simulate_into(folder.path, scenario, clients, seed, about=about, **options)
        target = folder.commit()
    result = _moved(result, folder.path, target)
    return attrs.evolve(result, files=(*result.files, target / MANIFEST))


def _about(record: Mapping[str, Any], seed: int, replicate: int | None = None) -> dict[str, Any]:
    """What a ``summary.json`` records of the run that produced it."""
    about = {
        key: record[key]
        for key in ("treatplan_version", "command", "seed", "clients", "replicates")
    }
    if replicate is not None:
        about.update(replicate=replicate, seed=seed, base_seed=record["seed"])
    return about


def replicates_into(
    out: Path | None,
    scenario: Scenario,
    clients: int,
    seed: int,
    replicates: int,
    *,
    record: Mapping[str, Any],
    progress: Progress | None = None,
    **options: Any,
) -> tuple[Summary, list[RunResult]]:
    """Run the replicates straight into ``out`` (no manifest: callers own the folder)."""
    runs: list[RunResult] = []
    total = clients * replicates
    for r in range(replicates):
        target = None
        if out is not None:
            target = out if replicates == 1 else out / f"replicate-{r}"

        def report(done: int, _: int, base: int = r * clients) -> None:
            if progress is not None:
                progress(base + done, total)

        r_seed = replicate_seed(seed, r)
        about = _about(record, r_seed, r if replicates > 1 else None)
        runs.append(
            _simulate_into(
                target, scenario, clients, r_seed, progress=report, about=about, **options
            )
        )
    combined = combine_replicates([run.summary for run in runs])
    if out is not None and replicates > 1:
        write_json(out / "summary.json", {"run": _about(record, seed), **combined.to_dict()})
        (out / "scenario.json").write_text(scenario.to_json(), encoding="utf-8")
    return combined, runs


def simulate_replicates(
    scenario: Scenario = DEFAULT_SCENARIO,
    clients: int = 2000,
    seed: int = 1,
    replicates: int = 1,
    *,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    overwrite: bool = False,
    keep_partial: bool = False,
    command: Sequence[str] | None = None,
    executor: Executor | None = None,
    chunk_size: int = 250,
    max_in_flight: int | None = None,
    policy: ServicePolicy | None = None,
) -> tuple[Summary, list[RunResult]]:
    """Run ``replicates`` seeds derived from ``seed`` and combine their summaries.

    With one replicate the tables go straight into ``out_dir``; with more, into
    ``out_dir/replicate-<r>/``, with the combined ``summary.json`` (funnel
    counts are means per replicate) and ``scenario.json`` in ``out_dir``. The
    folder is written and committed as in :func:`simulate`, with one
    ``manifest.json`` for the whole run; the other options are those of
    :func:`simulate`.
    """
    checks.integer("replicates", replicates, 1, checks.MAX_REPLICATES)
    options: dict[str, Any] = {
        "executor": executor,
        "chunk_size": chunk_size,
        "formats": formats,
        "max_in_flight": max_in_flight,
        "progress": progress,
        "policy": policy,
    }
    _check(scenario, clients, seed, chunk_size, options)
    _check_command(command)
    options["formats"] = formats = check_formats(formats)
    record = run_record([(scenario, ".")], clients, seed, replicates, formats, command)
    if out_dir is None:
        return replicates_into(None, scenario, clients, seed, replicates, record=record, **options)
    checks.folder("out_dir", out_dir)
    check_extras(formats)
    with RunFolder(out_dir, record, overwrite=overwrite, keep_partial=keep_partial) as folder:
        combined, runs = replicates_into(
            folder.path, scenario, clients, seed, replicates, record=record, **options
        )
        target = folder.commit()
    return combined, [_moved(run, folder.path, target) for run in runs]
