"""Caseload simulator benchmarks: throughput, scaling, memory.

Figures, each with a baseline measured in the same run on the same machine:

- client-sessions per second in one process, every client a real
  ``TreatmentPlan`` (lifecycle, sessions with item-level PHQ-9 and GAD-7,
  ending rules after every session, reviews), against a plain-Python model of
  the same caseload logic (dicts, log-linear response, weekly sessions,
  drop-out hazard, item draws, reliable-change outcome) run in the same
  process: issue 10 aims at 0.4x that model's rate with every plan built, and
  1.2x in a mode that builds plans only on request. Medians of ``--repeats``.
  ``--instructions`` counts CPU instructions per client-session of both instead
  (valgrind), a figure another tenant's load does not move.
  A bare caseload that does no clinical logic (SimPy, ``bench`` extra, or a
  stdlib event loop) is reported as a floor only.
- speed-up with 2 worker processes (aim: at least 1.8x), output byte-identical:
  the median over ``--repeats`` interleaved pairs (pool, then one process), and
  the same speed-up in CPU time (the single process's CPU over the parallel run's
  critical path), which another tenant's load on a shared machine does not move,
  with the parent's share of the parallel run's CPU (the serial part).
- peak memory for a small and a 10x larger run, streaming to disk (aim: within
  1.2x), of the default service scaled ten times (referrals and therapists) so that
  a million clients fit the supported dates: each process's own high-water mark
  (``VmHWM``), read by the run's
  parent process and by each worker itself, never ``ru_maxrss`` of children
  (which reports the largest descendant and carries over the parent's size).

Run::

    python -m pip install -e '.[bench]'
    python benchmarks/bench_sim.py --quick          # a smoke run, about a minute
    python benchmarks/bench_sim.py                   # the full figures (long)
    python benchmarks/bench_sim.py --memory 100000 1000000 --workers 2
    python benchmarks/bench_sim.py --workers-only --clients 20000 --repeats 3
    python benchmarks/bench_sim.py --instructions    # load-free: valgrind instruction counts
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import heapq
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
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


def bench_throughput(clients: int, repeats: int) -> dict[str, float]:
    """Median client-sessions/s of treatplan (every plan built, the default 1-in-100
    verification sample on, no output files) and of the plain-Python model,
    interleaved so both see the same machine load."""
    ours: list[float] = []
    plain: list[float] = []
    simulate(DEFAULT_SCENARIO, 50, seed=1)  # warm: patterns, caches
    plain_model(10)
    for _ in range(repeats):
        start = time.perf_counter()
        result = simulate(DEFAULT_SCENARIO, clients, seed=1)
        ours.append(result.tally.counts["session_rows"] / (time.perf_counter() - start))
        start = time.perf_counter()
        sessions = plain_model(clients)
        plain.append(sessions / (time.perf_counter() - start))
    median_ours, median_plain = statistics.median(ours), statistics.median(plain)
    return {
        "clients": clients,
        "repeats": repeats,
        "treatplan_client_sessions_per_s": median_ours,
        "plain_python_model_client_sessions_per_s": median_plain,
        "ratio_treatplan_over_plain": median_ours / median_plain,
        "aim_every_plan_built": 0.4,
        "aim_plans_on_request": 1.2,
    }


# PHQ-9 and GAD-7 reliable-change thresholds and caseness cut-offs (NHS Talking
# Therapies), as plain numbers: the model below is a baseline, not the library.
_RC = {"phq": 6, "gad": 4}
_CASE = {"phq": 10, "gad": 8}


@functools.cache
def _plain_patterns(items: int, high: int) -> list[list[tuple[int, ...]]]:
    """Item patterns for every total, built once (as the library's ItemPatterns are)."""
    rng = random.Random(f"plain:{items}")
    out = []
    for total in range(items * high + 1):
        found = []
        for _ in range(32):
            pattern = [0] * items
            for _unit in range(total):
                open_items = [i for i in range(items) if pattern[i] < high]
                pattern[rng.choice(open_items)] += 1
            found.append(tuple(pattern))
        out.append(found)
    return out


def plain_model(clients: int, seed: int = 1) -> int:
    """The same caseload logic in plain Python with dicts: the issue's baseline.

    Per client: factors, correlated intake scores, a log-linear response, weekly
    sessions with attendance and a drop-out hazard, item responses drawn to the
    observed totals, and the ending rules (sustained recovery over 2 scores, 12
    sessions, the client's request once reliably improved, 2 missed in a row),
    then the reliable-change outcome. Returns the client-sessions simulated.
    """
    phq_items, gad_items = _plain_patterns(9, 3), _plain_patterns(7, 3)
    sessions = 0
    outcomes: dict[str, int] = {}
    log12 = math.log1p(12)
    for i in range(clients):
        rng = random.Random(seed * 1_000_003 + i)
        c: dict[str, float] = {
            "readiness": rng.randint(-2, 2),
            "barriers": sum(rng.random() < p for p in (0.1, 0.15, 0.25, 0.05)),
        }
        z1, z2 = rng.gauss(0, 1), rng.gauss(0, 1)
        c["phq0"] = min(27.0, max(0.0, 15.5 + 4.3 * z1))
        c["gad0"] = min(21.0, max(0.0, 12.0 + 4.5 * (0.65 * z1 + 0.76 * z2)))
        c["response"] = min(0.95, rng.gauss(0.5, 0.4) + 0.06 * c["readiness"])
        hazard = 0.012 * 1.4 ** max(0, -c["readiness"]) * 1.25 ** c["barriers"]
        attend = 0.92 - 0.03 * c["barriers"]
        scores = [(round(c["phq0"]), round(c["gad0"]))]
        missed = attended = 0
        dropped = improved = False
        ended = ""
        while not ended:
            sessions += 1
            if dropped or rng.random() >= attend:
                missed += 1
                if missed >= 2:
                    ended = "dropped_out"
                continue
            missed = 0
            attended += 1
            fall = c["response"] * math.log1p(attended) / log12
            phq = min(27, max(0, round(c["phq0"] * (1 - fall) + rng.gauss(0, 1.8))))
            gad = min(21, max(0, round(c["gad0"] * (1 - fall) + rng.gauss(0, 1.4))))
            record = {
                "phq": phq_items[phq][int(rng.random() * 32)],
                "gad": gad_items[gad][int(rng.random() * 32)],
            }
            phq, gad = sum(record["phq"]), sum(record["gad"])
            scores.append((phq, gad))
            gains = (scores[0][0] - phq >= _RC["phq"], scores[0][1] - gad >= _RC["gad"])
            if rng.random() < (0.3 if phq < _CASE["phq"] and gad < _CASE["gad"] else 0.03):
                improved = improved or any(gains)
            recovered = [
                p < _CASE["phq"] and g < _CASE["gad"] and (scores[0][0] - p >= _RC["phq"])
                for p, g in scores[-2:]
            ]
            if attended >= 2 and all(recovered):
                ended = "recovered"
            elif attended >= 12 or improved:
                ended = "completed"
            if rng.random() < hazard:
                dropped = True
        outcomes[ended] = outcomes.get(ended, 0) + 1
    return sessions


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


def bench_workers(
    clients: int, workers: int, serial_dir: Path, tmp: Path, repeats: int = 3
) -> dict[str, Any]:
    """Median speed-up of ``workers`` processes over one, from interleaved pairs.

    Each repeat runs the same caseload in the pool and then in this process, back to
    back, so both see the same machine load; ``speed_up`` is the median of the pairs'
    wall-time ratios. On a shared machine another tenant's load can take a core from
    the pool and not from the single process, so the run also reports a figure that
    load does not move: ``cpu_speed_up``, the single process's CPU time over the
    parallel run's critical path in CPU time (the busiest worker, or all the CPU the
    run used spread over ``workers`` cores, whichever is longer). It is the speed-up
    the run would reach with ``workers`` cores of its own. ``parent_cpu_share`` is
    the CPU the parent process spent as a share of all the parallel run's CPU.
    """
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    parallel_times: list[float] = []
    serial_times: list[float] = []
    parent_shares: list[float] = []
    barrier = multiprocessing.Barrier(workers)
    with ProcessPoolExecutor(workers, initializer=_barrier_init, initargs=(barrier,)) as pool:
        simulate(DEFAULT_SCENARIO, 50, seed=1, executor=pool)  # start the workers first
        for _ in range(repeats):
            before = dict(pool.map(_worker_cpu, range(workers)))
            cpu, start = time.process_time(), time.perf_counter()
            simulate(DEFAULT_SCENARIO, clients, seed=1, executor=pool, out_dir=tmp, overwrite=True)
            parallel = time.perf_counter() - start
            parent_cpu = time.process_time() - cpu
            after = dict(pool.map(_worker_cpu, range(workers)))
            worker_cpu = [after[pid] - before[pid] for pid in after]
            cpu, start = time.process_time(), time.perf_counter()
            simulate(DEFAULT_SCENARIO, clients, seed=1, out_dir=serial_dir, overwrite=True)
            serial = time.perf_counter() - start
            serial_cpu = time.process_time() - cpu
            used = sum(worker_cpu) + parent_cpu
            cpu_ratios.append(serial_cpu / max(max(worker_cpu), used / workers))
            parent_shares.append(parent_cpu / used)
            ratios.append(serial / parallel)
            parallel_times.append(parallel)
            serial_times.append(serial)
    # The manifests differ in their start and finish times only.
    names = sorted(p.name for p in serial_dir.iterdir() if p.name != "manifest.json")
    _, mismatch, errors = filecmp.cmpfiles(serial_dir, tmp, names, shallow=False)
    return {
        "workers": workers,
        "repeats": repeats,
        "serial_s": statistics.median(serial_times),
        "parallel_s": statistics.median(parallel_times),
        "speed_up": statistics.median(ratios),
        "speed_ups": ratios,
        "cpu_speed_up": statistics.median(cpu_ratios),
        "parent_cpu_share": statistics.median(parent_shares),
        "identical_files": float(not mismatch and not errors),
    }


_CHILD = """
import multiprocessing, sys, tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from bench_sim import vm_hwm_kb, _worker_hwm, _barrier_init
from treatplan.sim import Capacity, Scenario, simulate
clients, workers = int(sys.argv[1]), int(sys.argv[2])
# Ten times the default service (referrals and therapists), so that a million clients'
# plans are all dated before 2200 (treatplan.sim.max_clients); the same for every size.
scenario = Scenario(capacity=Capacity(referrals_per_week=520.0, therapists=180))
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp, "run")
    worker_kb = []
    if workers > 1:
        barrier = multiprocessing.Barrier(workers)
        with ProcessPoolExecutor(workers, initializer=_barrier_init, initargs=(barrier,)) as pool:
            simulate(scenario, clients, seed=1, out_dir=out, executor=pool)
            # One task per worker, each held at a barrier until all are running, so
            # every worker reports its own high-water mark exactly once.
            worker_kb = list(pool.map(_worker_hwm, range(workers)))
    else:
        simulate(scenario, clients, seed=1, out_dir=out)
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


def _worker_cpu(_: int) -> tuple[int, float]:
    """Run in a worker: wait until every worker holds one of these tasks, then report
    (process id, CPU seconds used so far)."""
    _BARRIER[0].wait(timeout=60)  # type: ignore[attr-defined]
    return os.getpid(), time.process_time()


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


_INSTRUCTIONS_WARM = (
    "import sys; sys.path.insert(0, {bench!r}); from bench_sim import plain_model; "
    "from treatplan.sim import DEFAULT_SCENARIO, simulate; "
    "simulate(DEFAULT_SCENARIO, 20, seed=1); plain_model(10); "
)


def _callgrind(code: str, out: Path) -> int:
    """CPU instructions (valgrind callgrind) of ``python -c code``, in a fresh process."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out / 'callgrind.%p'}",
            sys.executable,
            "-c",
            code,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return int(done.stderr.rsplit("Collected : ", 1)[1].split()[0])


def bench_instructions(clients: int) -> dict[str, float]:
    """CPU instructions per client-session of treatplan and of the plain-Python model.

    Each is counted by valgrind's callgrind in a fresh process, less a process that
    does the same imports and warm-up only. Unlike wall time, the count does not move
    with another tenant's load on a shared machine, so it is the figure to re-measure
    there. It is not the wall-time ratio: the plain model's tight loops run more
    instructions per cycle than code that makes many small objects. ``clients`` for
    treatplan; the plain model runs ten times as many (it is that much cheaper).
    """
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed"}  # type: ignore[dict-item]
    bench = str(ROOT / "benchmarks")
    warm = _INSTRUCTIONS_WARM.format(bench=bench)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        count = out / "count"
        base = _callgrind(warm, out)
        ours = _callgrind(
            warm + f"r = simulate(DEFAULT_SCENARIO, {clients}, seed=1); "
            f"open({str(count)!r}, 'w').write(str(r.tally.counts['session_rows']))",
            out,
        )
        ours_sessions = int(count.read_text())
        plain = _callgrind(
            warm + f"open({str(count)!r}, 'w').write(str(plain_model({clients * 10})))", out
        )
        plain_sessions = int(count.read_text())
    per_ours = (ours - base) / ours_sessions
    per_plain = (plain - base) / plain_sessions
    return {
        "clients": clients,
        "treatplan_instructions_per_client_session": per_ours,
        "plain_python_model_instructions_per_client_session": per_plain,
        "ratio_treatplan_over_plain": per_plain / per_ours,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--clients", type=int, help="clients for the throughput figures")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workers-only", action="store_true", help="only the speed-up")
    parser.add_argument("--repeats", type=int, default=3, help="throughput repeats (median)")
    parser.add_argument("--throughput-only", action="store_true", help="only the throughput")
    parser.add_argument("--memory", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="only CPU instructions per client-session against the plain model (valgrind)",
    )
    args = parser.parse_args(argv)
    clients = args.clients or (1000 if args.quick else 20_000)
    sizes = args.memory or ([2_000, 20_000] if args.quick else [100_000, 1_000_000])
    if args.instructions:
        print(json.dumps(bench_instructions(args.clients or 150), indent=2))
        return 0
    if args.throughput_only:
        print(json.dumps(bench_throughput(clients, args.repeats), indent=2))
        return 0
    if args.workers_only:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            speed = bench_workers(clients, args.workers, base / "s", base / "p", args.repeats)
        print(json.dumps(speed, indent=2))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        figures: dict[str, object] = {
            "throughput": bench_throughput(clients, args.repeats),
            "single_process": bench_treatplan(clients, base / "one"),
            "bare_caseload_baseline": bench_baseline(clients * 5),
            "two_workers": bench_workers(
                clients, args.workers, base / "s", base / "p", args.repeats
            ),
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
