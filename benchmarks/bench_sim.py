"""Caseload simulator benchmarks: throughput, scaling, memory.

Figures, each with a baseline measured in the same run on the same machine:

- client-sessions per second in one process, every client a real
  ``TreatmentPlan`` (lifecycle, sessions with item-level PHQ-9 and GAD-7,
  ending rules after every session, reviews), against a bare caseload that does
  no clinical logic: a SimPy model (``bench`` extra) or, without SimPy, a plain
  stdlib event loop. The issue's aim is 100,000 client-sessions/s.
- speed-up with 2 worker processes (aim: at least 1.7x), output byte-identical.
- peak memory for a small and a 10x larger run, streaming to disk (aim: within
  1.2x): each process's own high-water mark (``VmHWM``), read by the run's
  parent process and by each worker itself, never ``ru_maxrss`` of children
  (which reports the largest descendant and carries over the parent's size).

Run::

    python -m pip install -e '.[bench]'
    python benchmarks/bench_sim.py --quick          # a smoke run, about a minute
    python benchmarks/bench_sim.py                   # the full figures (long)
    python benchmarks/bench_sim.py --memory 100000 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import filecmp
import heapq
import json
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from treatplan.sim import DEFAULT_SCENARIO, simulate

ROOT = Path(__file__).resolve().parent.parent


def bench_treatplan(clients: int, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    result = simulate(DEFAULT_SCENARIO, clients, seed=1, out_dir=out)
    elapsed = time.perf_counter() - start
    sessions = result.tally.counts["session_rows"]
    return {
        "clients": clients,
        "client_sessions": sessions,
        "seconds": elapsed,
        "client_sessions_per_s": sessions / elapsed,
    }


def _bare_stdlib(clients: int) -> int:
    """Weekly appointments with a heap of events, attendance and drop-out coin flips."""
    rng = random.Random(1)
    events: list[tuple[float, int, int]] = []
    for i in range(clients):
        heapq.heappush(events, (i * 0.15, i, 0))
    sessions = 0
    while events:
        t, client, n = heapq.heappop(events)
        sessions += 1
        rng.random()  # attended?
        if n < 11 and rng.random() > 0.1:
            heapq.heappush(events, (t + 7.0, client, n + 1))
    return sessions


def _bare_simpy(clients: int) -> int:
    import simpy

    env = simpy.Environment()
    therapists = simpy.Resource(env, capacity=450)
    rng = random.Random(1)
    counted = [0]

    def client(i: int):  # type: ignore[no-untyped-def]
        yield env.timeout(i * 0.15)
        with therapists.request() as slot:
            yield slot
            for _n in range(12):
                counted[0] += 1
                rng.random()
                yield env.timeout(7)
                if rng.random() < 0.1:
                    break

    for i in range(clients):
        env.process(client(i))
    env.run()
    return counted[0]


def bench_baseline(clients: int) -> dict[str, float | str]:
    try:
        import simpy  # noqa: F401

        kind, run = "simpy", _bare_simpy
    except ImportError:
        kind, run = "stdlib event loop", _bare_stdlib
    start = time.perf_counter()
    sessions = run(clients)
    elapsed = time.perf_counter() - start
    return {"kind": kind, "client_sessions_per_s": sessions / elapsed}


def bench_workers(clients: int, workers: int, serial_dir: Path, tmp: Path) -> dict[str, float]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        simulate(DEFAULT_SCENARIO, 50, seed=1, executor=pool)  # start the workers first
        start = time.perf_counter()
        simulate(DEFAULT_SCENARIO, clients, seed=1, executor=pool, out_dir=tmp)
        parallel = time.perf_counter() - start
    start = time.perf_counter()
    simulate(DEFAULT_SCENARIO, clients, seed=1, out_dir=serial_dir)
    serial = time.perf_counter() - start
    # The manifests differ in their start and finish times only.
    names = sorted(p.name for p in serial_dir.iterdir() if p.name != "manifest.json")
    _, mismatch, errors = filecmp.cmpfiles(serial_dir, tmp, names, shallow=False)
    return {
        "workers": workers,
        "serial_s": serial,
        "parallel_s": parallel,
        "speed_up": serial / parallel,
        "identical_files": float(not mismatch and not errors),
    }


_CHILD = """
import multiprocessing, sys, tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from bench_sim import vm_hwm_kb, _worker_hwm, _barrier_init
from treatplan.sim import simulate
clients, workers = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp, "run")
    worker_kb = []
    if workers > 1:
        barrier = multiprocessing.Barrier(workers)
        with ProcessPoolExecutor(workers, initializer=_barrier_init, initargs=(barrier,)) as pool:
            simulate(clients=clients, seed=1, out_dir=out, executor=pool)
            # One task per worker, each held at a barrier until all are running, so
            # every worker reports its own high-water mark exactly once.
            worker_kb = list(pool.map(_worker_hwm, range(workers)))
    else:
        simulate(clients=clients, seed=1, out_dir=out)
print(vm_hwm_kb(), *worker_kb)
"""

_BARRIER: list[object] = []


def vm_hwm_kb() -> int:
    """This process's own peak resident set (``VmHWM`` in /proc/self/status), in kB.

    Unlike ``ru_maxrss`` of ``RUSAGE_CHILDREN`` (the largest of any waited-for
    descendant, and one that starts from the parent's size on fork), it is the
    peak of the process that reads it.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def _barrier_init(barrier: object) -> None:
    _BARRIER[:] = [barrier]


def _worker_hwm(_: int) -> int:
    """Run in a worker: wait until every worker holds one of these tasks, then report."""
    _BARRIER[0].wait(timeout=60)  # type: ignore[attr-defined]
    return vm_hwm_kb()


def bench_memory(sizes: list[int], workers: int) -> dict[str, dict[str, Any]]:
    """Peak memory of a fresh process per size: its own VmHWM, and each worker's own."""
    out: dict[str, dict[str, Any]] = {}
    for clients in sizes:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(clients), str(workers), str(ROOT / "benchmarks")],
            check=True,
            capture_output=True,
            text=True,
        )
        parent_kb, *worker_kb = (int(x) for x in done.stdout.split())
        out[str(clients)] = {
            "parent_vm_hwm_mb": parent_kb / 1024,
            "worker_vm_hwm_mb": [kb / 1024 for kb in worker_kb],
            "seconds": time.perf_counter() - start,
        }
    small, large = (out[str(n)] for n in sizes)
    out["large_over_small"] = {
        "parent": large["parent_vm_hwm_mb"] / small["parent_vm_hwm_mb"],
        "worker_max": (
            max(large["worker_vm_hwm_mb"]) / max(small["worker_vm_hwm_mb"])
            if workers > 1
            else float("nan")
        ),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--clients", type=int, help="clients for the throughput figures")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    args = parser.parse_args(argv)
    clients = args.clients or (1000 if args.quick else 20_000)
    sizes = args.memory or ([2_000, 20_000] if args.quick else [100_000, 1_000_000])
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        figures: dict[str, object] = {
            "single_process": bench_treatplan(clients, base / "one"),
            "bare_caseload_baseline": bench_baseline(clients * 5),
            "two_workers": bench_workers(clients, args.workers, base / "s", base / "p"),
        }
        if not args.no_memory:
            figures["peak_memory"] = bench_memory(sizes, args.workers)
    ours = figures["single_process"]["client_sessions_per_s"]  # type: ignore[index]
    bare = figures["bare_caseload_baseline"]["client_sessions_per_s"]  # type: ignore[index]
    figures["bare_over_treatplan"] = bare / ours
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
