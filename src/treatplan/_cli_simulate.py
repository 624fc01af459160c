"""The ``simulate`` sub-command: a simulated caseload on the built-in or a given scenario."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a caseload of synthetic clients on the real plan logic",
        description=(
            "Simulate referrals to a service: every client is a real treatment plan taken "
            "through the lifecycle, sessions, reviews and ending rules. Writes clients, "
            "sessions and events tables (CSV and JSON Lines) and summary.json to --out, and "
            "prints the summary. Same scenario and seed: byte-identical files, whatever "
            "--workers."
        ),
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        action="append",
        help="scenario JSON (default: the built-in scenario); repeat to compare scenarios",
    )
    p.add_argument(
        "--clients", metavar="N", type=_positive, default=2000, help="referrals (default 2000)"
    )
    p.add_argument("--seed", metavar="S", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--workers",
        metavar="K",
        type=_positive,
        default=1,
        help="worker processes (default 1: in-process)",
    )
    p.add_argument(
        "--replicates",
        metavar="R",
        type=_positive,
        default=1,
        help="replicate seeds; rates get 95%% intervals across them (default 1)",
    )
    p.add_argument("--chunk-size", type=_positive, default=250, help=argparse.SUPPRESS)
    p.add_argument(
        "--out", metavar="DIR", default="treatplan-out", help="output directory (treatplan-out)"
    )
    p.add_argument("--parquet", action="store_true", help="also write Parquet (needs pyarrow)")
    p.add_argument("--plots", action="store_true", help="also draw plots (needs matplotlib)")
    p.add_argument(
        "--print-scenario",
        action="store_true",
        help="print the built-in scenario as JSON (a starting point for your own) and exit",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_simulate)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
    return value


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


def _simulate(args: argparse.Namespace) -> int:
    from .sim import DEFAULT_SCENARIO, compare, load_scenario, simulate_replicates
    from .sim._tables import write_json, write_parquet

    if args.print_scenario:
        sys.stdout.write(DEFAULT_SCENARIO.to_json())
        return 0
    scenarios = [load_scenario(f) for f in args.scenario] if args.scenario else [DEFAULT_SCENARIO]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        print("error: compared scenarios need distinct names", file=sys.stderr)
        return 2
    out = Path(args.out)
    make_executor: Callable[[], Executor | None] = lambda: None  # noqa: E731
    if args.workers > 1:
        workers = min(args.workers, os.cpu_count() or args.workers)
        make_executor = lambda: ProcessPoolExecutor(max_workers=workers)  # noqa: E731
    summaries = []
    executor = make_executor()
    try:
        for scenario in scenarios:
            target = out if len(scenarios) == 1 else out / scenario.name
            bar = _ProgressBar(f"simulating {scenario.name}", args.quiet)
            try:
                summary, runs = simulate_replicates(
                    scenario,
                    args.clients,
                    args.seed,
                    args.replicates,
                    out_dir=target,
                    progress=bar,
                    executor=executor,
                    chunk_size=args.chunk_size,
                )
            finally:
                # The bar's line ends even when the run fails, so an error message
                # or the summary never continues it.
                bar.finish()
            if args.replicates > 1:
                write_json(target / "summary.json", summary.to_dict())
            for run in runs:
                run_dir = run.files[0].parent
                (run_dir / "scenario.json").write_text(scenario.to_json(), encoding="utf-8")
                if args.parquet:
                    write_parquet(run_dir)
            if args.plots:
                from .sim._plots import draw_all

                draw_all(runs[0], scenario, target)
            summaries.append(summary)
    finally:
        if executor is not None:
            executor.shutdown()
    sys.stdout.write(compare(summaries))
    # Flush the summary first: with stdout a pipe or file it would otherwise come out
    # after this stderr line, and the two streams interleave when sent to one place.
    sys.stdout.flush()
    sys.stderr.write(f"tables written to {out}/\n")
    sys.stderr.flush()
    return 0
