"""The ``sweep`` sub-command: a grid or list of scenario overrides x replicate seeds."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ._cli import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    MAX_CLIENTS,
    MAX_REPLICATES,
    MAX_WORKERS,
    PlanFileError,
    UsageError,
    case_insensitive,
    count,
    display_name,
    file_error,
    ignore_interrupts,
    interrupted_exit,
    load_scenario_arg,
    read_json,
    sigterm_interrupts,
)
from ._errors import TreatplanError, ValidationError

_FORMATS = ("csv", "parquet")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a grid of scenario overrides x replicate seeds into one tidy table",
        description=(
            "Run every arm (a set of overrides, each a dotted path into the scenario's JSON "
            "and a value) for each replicate seed, with common random numbers across arms. "
            "Writes sweep.csv (or .parquet: arm, parameter values, replicate, metric, value, "
            "95% CI), one run folder with its manifest per arm and replicate, and with "
            "--plots a comparison plot. Rerun into the same --out to continue an interrupted "
            "sweep (Ctrl-C exits 130 and keeps the completed runs). The base scenario is "
            "the built-in capacity-limited service unless --scenario is given."
        ),
    )
    p.add_argument(
        "spec",
        metavar="SPEC",
        nargs="?",
        help=(
            'a sweep JSON file: {"grid": [{"path": ..., "values": [...]}, ...]} or '
            '{"arms": [{PATH: VALUE, ...}, ...]} (or use --set)'
        ),
    )
    p.add_argument("--scenario", metavar="FILE", help="the base scenario JSON")
    p.add_argument(
        "--set",
        metavar="PATH=V1,V2",
        action="append",
        default=[],
        help="a grid parameter: a dotted path and its values (JSON scalars); repeat",
    )
    p.add_argument(
        "--clients",
        metavar="N",
        type=count(MAX_CLIENTS),
        default=500,
        help=f"referrals per run (default 500, at most {MAX_CLIENTS:,})",
    )
    p.add_argument(
        "--replicates",
        metavar="R",
        type=count(MAX_REPLICATES),
        default=2,
        help=f"seeds per arm (default 2, at most {MAX_REPLICATES:,})",
    )
    p.add_argument("--seed", metavar="S", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--workers",
        metavar="K",
        type=count(MAX_WORKERS),
        default=1,
        help=f"worker processes (default 1, at most {MAX_WORKERS})",
    )
    p.add_argument(
        "--dask", metavar="ADDRESS", help="run on a Dask cluster (needs treatplan[dask])"
    )
    p.add_argument("--out", metavar="DIR", default="sweep-out", help="output folder (sweep-out)")
    p.add_argument(
        "--format",
        type=case_insensitive(_FORMATS),
        choices=_FORMATS,
        default="csv",
        help="the table's format (default csv; parquet needs treatplan[parquet])",
    )
    p.add_argument("--plots", action="store_true", help="draw sweep.png (needs matplotlib)")
    p.set_defaults(func=_sweep)


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _grid_from_sets(sets: list[str]) -> list[tuple[str, list[Any]]]:
    parameters = []
    for i, item in enumerate(sets):
        path, sep, values = item.partition("=")
        if not sep or not path.strip() or not values.strip():
            raise ValidationError.at(f"--set[{i}]", "PATH=VALUE[,VALUE...]")
        parameters.append((path.strip(), [_scalar(v.strip()) for v in values.split(",")]))
    return parameters


def _arms_from_spec(data: Any, base: Any) -> list[Any]:
    """Arms from a sweep document; errors name JSON paths, never keys or values."""
    from .sim import MAX_ARMS, Arm, grid
    from .sim._sweep import check_grid

    if not isinstance(data, dict) or set(data) - {"grid", "arms"} or not data:
        raise ValidationError.at("$", 'an object with "grid" or "arms"')
    if "grid" in data and "arms" in data:
        raise ValidationError.at("$", 'either "grid" or "arms", not both')
    if "grid" in data:
        items = data["grid"]
        if not isinstance(items, list) or not items:
            raise ValidationError.at("$.grid", "a non-empty array of parameters")
        parameters = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != {"path", "values"}:
                raise ValidationError.at(f"$.grid[{i}]", 'an object with "path" and "values"')
            if not isinstance(item["path"], str):
                raise ValidationError.at(f"$.grid[{i}].path", "a dotted path (a string)")
            if not isinstance(item["values"], list) or not item["values"]:
                raise ValidationError.at(f"$.grid[{i}].values", "a non-empty array")
            parameters.append((item["path"], item["values"]))
        check_grid(base, parameters)
        return grid(parameters)
    arms = data["arms"]
    if not isinstance(arms, list) or not arms:
        raise ValidationError.at("$.arms", "a non-empty array of objects")
    if len(arms) > MAX_ARMS:
        raise ValidationError.at("$.arms", f"at most {MAX_ARMS:,} arms")
    out = []
    for i, arm in enumerate(arms):
        if not isinstance(arm, dict):
            raise ValidationError.at(f"$.arms[{i}]", "an object from dotted paths to values")
        out.append(Arm(f"arm-{i}", tuple(arm.items())))
    return out


def _executor(args: argparse.Namespace) -> tuple[Executor | None, Any]:
    if args.dask:
        distributed = importlib.import_module("distributed")
        try:
            client = distributed.Client(args.dask)
        except Exception:  # a malformed address (ValueError), or none answers (OSError)
            # Not quoted: an address is typed text like any other.
            raise UsageError(
                "--dask", "the address of a running Dask scheduler (tcp://HOST:PORT)"
            ) from None
        executor: Executor = client.get_executor()
        return executor, client
    if args.workers > 1:
        workers = min(args.workers, os.cpu_count() or 1)
        return ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts), None
    return None, None


def _sweep(args: argparse.Namespace) -> int:
    from .sim import CAPACITY_SCENARIO, SweepError, grid, sweep
    from .sim._sweep import check_grid

    # Extras are checked before any work starts.
    needs = [("parquet", "pyarrow")] if args.format == "parquet" else []
    if args.plots:
        needs.append(("plots", "matplotlib"))
    if args.dask:
        needs.append(("dask", "distributed"))
    for extra, module in needs:
        if importlib.util.find_spec(module) is None:
            print(f"error: this needs {module}: pip install 'treatplan[{extra}]'", file=sys.stderr)
            return EXIT_USAGE
    if args.spec is None and not args.set:
        print("error: give a sweep file (SPEC) or at least one --set", file=sys.stderr)
        return EXIT_USAGE
    if args.spec is not None and args.set:
        print("error: give a sweep file (SPEC) or --set, not both", file=sys.stderr)
        return EXIT_USAGE
    base = CAPACITY_SCENARIO if args.scenario is None else load_scenario_arg(args.scenario)
    if args.spec is not None:
        spec = read_json(args.spec)
        try:
            arms = _arms_from_spec(spec, base)
        except TreatplanError as exc:
            raise file_error(args.spec, exc) from None
    else:
        try:
            parameters = _grid_from_sets(args.set)
            check_grid(base, parameters, "--set")
        except ValidationError as exc:  # the command line is wrong: a usage error
            problem = exc.problems[0]
            raise UsageError(problem.path, problem.expected) from None
        arms = grid(parameters)
    executor, client = _executor(args)
    try:
        with sigterm_interrupts():
            result = sweep(
                base,
                arms,
                clients=args.clients,
                replicates=args.replicates,
                seed=args.seed,
                executor=executor,
                out_dir=args.out,
                table_format=args.format,
                plots=args.plots,
            )
    except ValidationError as exc:
        where = display_name(args.spec) if args.spec is not None else "--set"
        raise PlanFileError(
            [f"{where}: {p.path}: expected {p.expected}" for p in exc.problems], EXIT_INVALID
        ) from None
    except SweepError as exc:
        print(f"error: --out: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
        print(
            "interrupted: completed runs are kept in the --out folder (runs/); "
            "run the same command again to continue",
            file=sys.stderr,
        )
        return interrupted_exit(stop)
    finally:
        if client is not None:  # Dask's executor: the client owns the work
            client.close()
        elif executor is not None:
            executor.shutdown(cancel_futures=True)
    runs = len(result.arms) * args.replicates
    rate = result.client_sessions / result.seconds if result.seconds > 0 else 0.0
    print(
        f"{len(result.arms)} arms x {args.replicates} replicates: {runs - result.resumed} runs "
        f"in {result.seconds:.1f} s ({result.client_sessions:,} client-sessions, "
        f"{rate:,.0f}/s), {result.resumed} resumed"
    )
    # The files by name, in the folder named by its option: never the path typed.
    print(f"written to the --out folder: {', '.join(path.name for path in result.files)}")
    return EXIT_OK
