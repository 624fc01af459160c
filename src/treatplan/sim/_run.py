"""Run a simulated caseload: chunks of clients on any executor, streamed to disk.

:func:`simulate` walks the waiting list in client order (serial, cheap), hands
chunks of admissions to an executor (or runs them in-process), and writes each
chunk's rows as soon as it and every earlier chunk are done. At most
``max_in_flight`` chunks are pending, so memory stays bounded however many
clients are simulated. Output is byte-identical for any executor, worker count
or chunk size: each client's rows depend only on the scenario, the seed and the
client's index.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import attrs

from ._engine import Admission, WaitingList, simulate_client
from ._policy import ServicePolicy
from ._random import replicate_seed
from ._scenario import DEFAULT_SCENARIO, Scenario
from ._summary import Summary, Tally, combine_replicates, summarise
from ._tables import FORMATS, TABLES, TableWriter, format_rows, write_json

__all__ = ["ChunkOutput", "RunResult", "run_chunk", "simulate", "simulate_replicates"]

#: A progress callback: (clients done, clients in all).
Progress = Callable[[int, int], None]


@attrs.frozen
class ChunkOutput:
    """What a worker sends back for one chunk: formatted table text and a tally."""

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
    """Simulate a chunk of clients and format their rows (runs in a worker)."""
    tally = Tally()
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for admission in admissions:
        result = simulate_client(scenario, seed, admission, policy=policy)
        tally.add(result)
        rows["clients"].append(result.client)
        rows["sessions"].extend(result.sessions)
        rows["events"].extend(result.events)
    texts = {
        (table, fmt): format_rows(table, rows[table], fmt) for table in TABLES for fmt in formats
    }
    return ChunkOutput(texts, tally, len(admissions))


@attrs.frozen
class RunResult:
    """The outcome of :func:`simulate`: the summary, the tally and the files written."""

    summary: Summary
    tally: Tally = attrs.field(eq=False)
    files: tuple[Path, ...]
    seed: int
    clients: int


class _Done:
    """A finished chunk, for the in-process path (quacks like a Future)."""

    def __init__(self, value: ChunkOutput) -> None:
        self._value = value

    def result(self) -> ChunkOutput:
        return self._value


def simulate(
    scenario: Scenario = DEFAULT_SCENARIO,
    clients: int = 2000,
    seed: int = 1,
    *,
    executor: Executor | None = None,
    chunk_size: int = 250,
    out_dir: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    max_in_flight: int | None = None,
    progress: Progress | None = None,
    policy: ServicePolicy | None = None,
) -> RunResult:
    """Simulate ``clients`` referrals to ``scenario`` with ``seed``.

    ``executor``: any :class:`concurrent.futures.Executor` (a
    ``ProcessPoolExecutor``, or ``dask.distributed.Client(...).get_executor()``);
    ``None`` runs in this process. Rows stream to ``<out_dir>/{clients,sessions,
    events}.{csv,jsonl}`` (nothing is written without ``out_dir``), plus
    ``summary.json``. The result is the same, byte for byte, whatever the
    executor, its worker count, ``chunk_size`` or ``max_in_flight``. ``policy``
    takes the service's decisions (default :class:`DefaultPolicy`; it must pickle
    to run on a process pool).
    """
    if not isinstance(scenario, Scenario):
        raise TypeError("scenario must be a treatplan.sim.Scenario")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 0:
        raise ValueError("clients must be a non-negative integer")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError("chunk_size must be a positive integer")
    in_flight = max_in_flight or (1 if executor is None else 8)
    waiting_list = WaitingList(scenario, seed)
    tally = Tally()
    writer = TableWriter(Path(out_dir), formats) if out_dir is not None else None
    pending: deque[Future[ChunkOutput] | _Done] = deque()
    done = 0

    def collect() -> None:
        nonlocal done
        output = pending.popleft().result()
        tally.merge(output.tally)
        if writer is not None:
            for (table, fmt), text in output.texts.items():
                writer.write(table, fmt, text)
        done += output.clients
        if progress is not None:
            progress(done, clients)

    try:
        for start in range(0, clients, chunk_size):
            admissions = waiting_list.admissions(start, min(clients, start + chunk_size))
            chunk_formats = formats if writer is not None else ()
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
            if isinstance(future, Future):
                future.cancel()
        if writer is not None:
            writer.close()
    summary = summarise(tally, scenario.name)
    files: tuple[Path, ...] = ()
    if writer is not None and out_dir is not None:
        summary_path = Path(out_dir) / "summary.json"
        write_json(summary_path, summary.to_dict())
        files = (*writer.paths, summary_path)
    return RunResult(summary, tally, files, seed, clients)


def simulate_replicates(
    scenario: Scenario = DEFAULT_SCENARIO,
    clients: int = 2000,
    seed: int = 1,
    replicates: int = 1,
    *,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> tuple[Summary, list[RunResult]]:
    """Run ``replicates`` seeds derived from ``seed`` and combine their summaries.

    With one replicate the tables go straight into ``out_dir``; with more, into
    ``out_dir/replicate-<r>/``. Other options are passed to :func:`simulate`.
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    runs: list[RunResult] = []
    total = clients * replicates
    for r in range(replicates):
        target = None
        if out_dir is not None:
            target = Path(out_dir) if replicates == 1 else Path(out_dir) / f"replicate-{r}"

        def report(done: int, _: int, base: int = r * clients) -> None:
            if progress is not None:
                progress(base + done, total)

        runs.append(
            simulate(
                scenario,
                clients,
                replicate_seed(seed, r),
                out_dir=target,
                progress=report,
                **options,
            )
        )
    return combine_replicates([run.summary for run in runs]), runs


def _elapsed(since: float) -> float:
    return time.perf_counter() - since
