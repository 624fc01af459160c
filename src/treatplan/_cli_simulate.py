"""The ``simulate`` sub-command: a simulated caseload on the built-in or a given scenario."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cli import (
    EXIT_OK,
    EXIT_USAGE,
    MAX_CHUNK,
    MAX_CLIENTS,
    MAX_REPLICATES,
    MAX_WORKERS,
    UsageError,
    count,
    ignore_interrupts,
    interrupted_exit,
    load_scenario_arg,
    sigterm_interrupts,
)
from ._errors import ArgumentError

if TYPE_CHECKING:
    from .sim._manifest import RunFolder


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a caseload of synthetic clients on the real plan logic",
        description=(
            "Simulate referrals to a service: every client is a real treatment plan taken "
            "through the lifecycle, sessions, reviews and ending rules. Writes clients, "
            "sessions and events tables (CSV unless --format says otherwise), summary.json, "
            "scenario.json, codebook.json and, last, manifest.json to --out, and prints the "
            "summary. The run is written beside --out and moved into place only when "
            "complete: a folder without manifest.json is incomplete. Same scenario and "
            "seed: byte-identical tables, whatever --workers. Exit codes: 0 done, 1 invalid "
            "scenario, 2 usage error (including a non-empty --out or a missing extra), "
            "130 interrupted by Ctrl-C, 143 stopped by SIGTERM."
        ),
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        action="append",
        help="scenario JSON (default: the built-in scenario); repeat to compare scenarios",
    )
    p.add_argument(
        "--clients",
        metavar="N",
        type=count(MAX_CLIENTS),
        default=2000,
        help=f"referrals (default 2000, at most {MAX_CLIENTS:,})",
    )
    p.add_argument("--seed", metavar="S", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--workers",
        metavar="K",
        type=count(MAX_WORKERS),
        default=1,
        help=f"worker processes (default 1: in-process; at most {MAX_WORKERS})",
    )
    p.add_argument(
        "--replicates",
        metavar="R",
        type=count(MAX_REPLICATES),
        default=1,
        help=(
            "replicate seeds; rates get 95%% intervals across them "
            f"(default 1, at most {MAX_REPLICATES:,})"
        ),
    )
    p.add_argument("--chunk-size", type=count(MAX_CHUNK), default=250, help=argparse.SUPPRESS)
    p.add_argument(
        "--out", metavar="DIR", default="treatplan-out", help="output directory (treatplan-out)"
    )
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=("csv", "jsonl", "parquet"),
        type=str.lower,
        help="table format: csv (default), jsonl or parquet (needs the parquet extra); "
        "repeat for more than one",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the earlier run in a non-empty --out, once this run is complete",
    )
    p.add_argument(
        "--keep-partial",
        action="store_true",
        help="if interrupted, keep what was written as DIR.partial (marked partial)",
    )
    p.add_argument("--parquet", action="store_true", help=argparse.SUPPRESS)  # deprecated
    p.add_argument("--plots", action="store_true", help="also draw plots (needs matplotlib)")
    p.add_argument(
        "--print-scenario",
        action="store_true",
        help="print the built-in scenario as JSON (a starting point for your own) and exit",
    )
    progress = p.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        action="store_true",
        help="draw progress on stderr even when it is not a terminal",
    )
    progress.add_argument(
        "-q", "--quiet", action="store_true", help="no progress on stderr, even on a terminal"
    )
    p.set_defaults(func=_simulate)


class _ProgressBar:
    """A progress line on stderr, shown only once a run has taken a couple of seconds."""

    def __init__(self, label: str, quiet: bool, delay: float = 2.0) -> None:
        self.label, self.quiet, self.delay = label, quiet, delay
        self.started = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        if self.quiet or elapsed < self.delay or (now - self.last < 0.25 and done < total):
            return
        self.last, self.shown = now, True
        width = 30
        filled = int(width * done / total) if total else width
        rate = done / elapsed if elapsed > 0 else 0.0
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done:,}/{total:,} clients, {elapsed:.0f} s, {rate:,.0f} clients/s "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        """End the progress line (once), so what follows starts on a line of its own."""
        if self.shown:
            self.shown = False
            sys.stderr.write("\n")
            sys.stderr.flush()


def _command(args: argparse.Namespace) -> list[str]:
    """The command line that reproduces this run (recorded in the manifest)."""
    command = ["treatplan", "simulate"]
    for path in args.scenario or ():
        command += ["--scenario", path]
    command += ["--clients", str(args.clients), "--seed", str(args.seed)]
    command += ["--replicates", str(args.replicates), "--workers", str(args.workers)]
    for fmt in args.formats:
        command += ["--format", fmt]
    command += ["--plots"] * args.plots + ["--out", args.out]
    return command + ["--overwrite"] * args.overwrite + ["--keep-partial"] * args.keep_partial


def _simulate(args: argparse.Namespace) -> int:
    from .sim import DEFAULT_SCENARIO
    from .sim._checks import FOLDER_NAME, is_folder_name
    from .sim._run import check_extras, check_fits, run_record

    if args.print_scenario:
        sys.stdout.write(DEFAULT_SCENARIO.to_json())
        return EXIT_OK
    formats = list(dict.fromkeys(args.formats or ["csv"]))
    if args.parquet:
        print("warning: --parquet is deprecated; use --format parquet", file=sys.stderr)
        formats = list(dict.fromkeys([*(args.formats or ["csv"]), "parquet"]))
    args.formats = formats
    if args.plots and "csv" not in formats:
        print("error: --plots needs the CSV tables: add --format csv", file=sys.stderr)
        return EXIT_USAGE
    try:
        check_extras(formats, plots=args.plots)
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scenarios = (
        [load_scenario_arg(path) for path in args.scenario]
        if args.scenario
        else [DEFAULT_SCENARIO]
    )
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError("--scenario", "compared scenarios with distinct names")
    if len(scenarios) > 1 and not all(is_folder_name(name) for name in names):
        # Each compared run goes in --out/<name>/: a name with a separator or a
        # leading dot would put it somewhere else.
        raise UsageError("--scenario", f"names usable as folders: {FOLDER_NAME}")
    for scenario in scenarios:  # before any work: a run that cannot finish never starts
        try:
            check_fits(scenario, args.clients)
        except ArgumentError as exc:
            raise UsageError(f"--{exc.parameter}", exc.expected) from None
    out = Path(args.out)
    folders = ["."] if len(scenarios) == 1 else names
    record = run_record(
        list(zip(scenarios, folders, strict=True)),
        args.clients,
        args.seed,
        args.replicates,
        formats,
        _command(args),
    )
    with sigterm_interrupts():
        return _run(args, out, record, list(zip(scenarios, folders, strict=True)))


def _kept(folder: RunFolder) -> str:
    """Where a kept partial run is, named after --out, never by the path typed."""
    if folder.partial is None:
        return ""
    if folder.partial.name == folder.target.name + ".partial":
        return "; the partial run is kept beside it, as DIR.partial"
    return "; the partial run is kept beside it, in the hidden folder .DIR.partial-*"


def _run(
    args: argparse.Namespace, out: Path, record: dict[str, Any], targets: list[tuple[Any, str]]
) -> int:
    """Run each (scenario, folder) of ``targets`` and commit them into ``out``; stopped by
    Ctrl-C or SIGTERM, leave ``out`` as it was (or keep the partial folder, marked partial)."""
    from .sim import compare
    from .sim._manifest import OutputExistsError, RunFolder
    from .sim._run import replicates_into

    formats = args.formats
    try:
        folder = RunFolder(
            out, record, overwrite=args.overwrite, keep_partial=args.keep_partial, name="--out"
        )
    except OutputExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    show_progress = args.progress or (not args.quiet and sys.stderr.isatty())
    make_executor: Callable[[], Executor | None] = lambda: None  # noqa: E731
    if args.workers > 1:
        workers = min(args.workers, os.cpu_count() or args.workers)
        make_executor = lambda: ProcessPoolExecutor(  # noqa: E731
            max_workers=workers, initializer=ignore_interrupts
        )
    summaries = []
    bar = _ProgressBar("", quiet=True)  # replaced per scenario; finish() is safe at any time
    try:
        with folder:
            executor = make_executor()
            try:
                for scenario, name in targets:
                    target = folder.path / name
                    bar = _ProgressBar(f"simulating {scenario.name}", not show_progress)
                    try:
                        summary, runs = replicates_into(
                            target,
                            scenario,
                            args.clients,
                            args.seed,
                            args.replicates,
                            record=record,
                            progress=bar,
                            executor=executor,
                            chunk_size=args.chunk_size,
                            formats=formats,
                            max_in_flight=None,
                        )
                    finally:
                        # The bar's line ends even when the run fails, so an error message
                        # or the summary never continues it.
                        bar.finish()
                    if args.plots:
                        from .sim._plots import draw_all

                        draw_all(runs[0], scenario, target)
                    summaries.append(summary)
            finally:
                if executor is not None:
                    executor.shutdown(cancel_futures=True)
            folder.commit()
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
        bar.finish()
        if folder.committed:  # stopped after the run was moved into place
            print("interrupted: the complete run is in the --out folder", file=sys.stderr)
        else:
            print(
                f"interrupted: no complete run written to the --out folder{_kept(folder)}",
                file=sys.stderr,
            )
        return interrupted_exit(stop)
    except OutputExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(compare(summaries))
    # Flush the summary first: with stdout a pipe or file it would otherwise come out
    # after this stderr line, and the two streams interleave when sent to one place.
    sys.stdout.flush()
    sys.stderr.write("tables written to the --out folder\n")
    sys.stderr.flush()
    return EXIT_OK
