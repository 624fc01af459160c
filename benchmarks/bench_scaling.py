"""How the core's costs grow with a plan's length.

For plans of 10, 100, 1,000 and 10,000 weekly sessions (each attended with a PHQ-9
and a GAD-7), built through the public API, it times per call:

- ``record_session``: appending one more session (the derived state is extended);
- ``evaluate``: the default scenario's ending rules (every built-in rule kind, in an
  ``AnyOf``) as of the last session. At 10,000 sessions the session limit, the
  authorisation and the time limit fire (their largest settings are 10,000 sessions
  and 100 years), and a fired verdict cites every session it counted as evidence, so
  that call (and ``review``, which evaluates them) grows with the plan by design:
  without those three rules it stays flat (about 1.3x the 10-session call);
- ``alerts`` as of the last session;
- ``review`` as of the last session, with ``charts=False`` (the simulator's setting:
  a chart of every score is output that grows with the plan by definition);
- ``loads`` and ``dumps`` of the plan, per session.

The baseline is the same call on the 10-session plan, measured in the same run: the
aim is the 1,000-session call within 1.5x of it (``loads``/``dumps`` linear: the
per-session cost flat). Figures are medians of ``--repeat`` runs of ``--number``
calls each (2 shared cores: medians, not best-ofs).

It also times ``import treatplan`` in fresh interpreters against a bare interpreter
(median of 10; aim: within 100 ms).

Run::

    python benchmarks/bench_scaling.py            # --quick for a smoke run
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import treatplan as tp

# Early in the supported range, so 10,000 weekly sessions end before 2200.
T0 = datetime(1901, 1, 7, 9, 0, tzinfo=UTC)
RULES = tp.rules.AnyOf(
    (
        tp.rules.GoalsMet(),
        tp.rules.SessionLimit(10_000),
        tp.rules.ConsecutiveMissed(2),
        tp.rules.MissedInWindow(2, 6),
        tp.rules.MissedWithinDays(3, 90),
        tp.rules.Inactivity(60),
        tp.rules.TimeLimit(36_500),
        tp.rules.ClientRequest(),
        tp.rules.SustainedRecovery(),
        tp.rules.Plateau(),
        tp.rules.ReliableDeterioration(),
        tp.rules.AuthorisationUsed(10_000),
    )
)
REVIEW = tp.ReviewPolicy(charts=False)


def session(n: int) -> tp.Session:
    at = T0 + timedelta(weeks=n)
    phq = (n * 7) % 4
    gad = (n * 5) % 4
    return tp.Session(
        f"s{n}",
        at,
        tp.Attendance.ATTENDED,
        ("cbt",),
        (
            tp.Assessment(f"phq{n}", "PHQ-9", at, items=(phq,) * 8 + (0,)),
            tp.Assessment(f"gad{n}", "GAD-7", at, items=(gad,) * 7),
        ),
    )


def start() -> tp.TreatmentPlan:
    plan = tp.TreatmentPlan.refer("plan-b", "client-b", at=T0, by="gp-1")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=T0, by="clin-1")
    plan = tp.record_assessment(plan, tp.Assessment("phq0", "PHQ-9", T0, items=(3,) * 9))
    plan = tp.record_assessment(plan, tp.Assessment("gad0", "GAD-7", T0, items=(3,) * 7))
    target = tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 0)  # never met: rules keep going
    goal = tp.Goal(
        "g1",
        "feel better",
        tp.GoalDomain.EMOTIONAL_WELLBEING,
        (tp.Objective("o1", "PHQ-9 below 0", target, (T0 + timedelta(weeks=10_400)).date()),),
    )
    plan = tp.revise(
        plan,
        goals=(goal,),
        interventions=(tp.Intervention("cbt", tp.Modality.CBT, "CBT", serves=("o1",)),),
        discharge_criteria=RULES,
    )
    return tp.fire(plan, tp.Event.AGREE_PLAN, at=T0, by="clin-1")


def grow(plan: tp.TreatmentPlan, first: int, last: int) -> tp.TreatmentPlan:
    for n in range(first, last + 1):
        plan = tp.record_session(plan, session(n))
    return plan


def per_call(fn: Callable[[], object], number: int) -> float:
    return timeit.timeit(fn, number=number) / number


def record_cost(plan: tp.TreatmentPlan, n: int, number: int, round_: int) -> float:
    """Seconds per record_session along a chain of ``number`` versions from ``plan``."""
    current = plan
    sessions = [session(n + 1 + round_ * number + i) for i in range(number)]
    began = timeit.default_timer()
    for s in sessions:
        current = tp.record_session(current, s)
    return (timeit.default_timer() - began) / number


def measure(
    plan: tp.TreatmentPlan, n: int, text: str, number: int, round_: int
) -> dict[str, float]:
    """Seconds per call of each operation on ``plan`` (``n`` sessions, JSON ``text``)."""
    at = plan.sessions[-1].at
    small = max(1, number // max(1, n // 100))
    return {
        "record_session": record_cost(plan, n, number, round_),
        "evaluate": per_call(lambda: tp.evaluate(RULES, plan, at), number),
        "alerts": per_call(lambda: tp.alerts(plan, at), number),
        "review": per_call(lambda: tp.review(plan, at, REVIEW), number),
        "loads_per_session": per_call(lambda: tp.loads(text), small) / n,
        "dumps_per_session": per_call(lambda: tp.dumps(plan), small) / n,
    }


def bench_scaling(sizes: list[int], number: int, repeat: int) -> dict[int, dict[str, float]]:
    """Medians per (size, operation). The sizes are measured in turn within each round,
    so a change in the machine's load touches every size alike."""
    plans: dict[int, tp.TreatmentPlan] = {}
    plan, have = start(), 0
    for n in sizes:
        plan = grow(plan, have + 1, n)
        plans[n], have = plan, n
    texts = {n: tp.dumps(p) for n, p in plans.items()}
    samples: dict[int, dict[str, list[float]]] = {n: {} for n in sizes}
    for round_ in range(repeat):
        for n, p in plans.items():
            for key, value in measure(p, n, texts[n], number, round_).items():
                samples[n].setdefault(key, []).append(value)
    return {n: {k: statistics.median(v) for k, v in f.items()} for n, f in samples.items()}


def bench_import(runs: int = 10) -> dict[str, float]:
    # The package's bytecode first, as pip compiles an installed wheel's (see
    # bench_core.bench_import: under PYTHONDONTWRITEBYTECODE an editable install would
    # compile every source on every import).
    compileall.compile_dir(str(Path(tp.__file__).parent), quiet=1)
    times: dict[str, list[float]] = {"pass": [], "import treatplan": []}
    for _ in range(runs):  # interleaved: both see the same load
        for code, runs_of in times.items():
            began = timeit.default_timer()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs_of.append(timeit.default_timer() - began)
    bare, ours = (statistics.median(t) for t in times.values())
    return {"bare_ms": bare * 1e3, "treatplan_ms": ours * 1e3, "over_bare_ms": (ours - bare) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=50)
    args = parser.parse_args()
    sizes = [10, 100, 1000] if args.quick else [10, 100, 1000, 10_000]
    number, repeat = (5, 3) if args.quick else (args.number, args.repeat)
    results = bench_scaling(sizes, number, repeat)
    base = results[sizes[0]]
    print(f"per call, median of {repeat} x {number}; ratio against the 10-session plan")
    print(f"{'sessions':>9}" + "".join(f"{k:>22}" for k in base))
    for n, figures in results.items():
        cells = "".join(f"{v * 1e6:>12.1f} us {v / base[k]:>5.2f}x" for k, v in figures.items())
        print(f"{n:>9}{cells}")
    aims = {
        k: results[1000][k] / base[k] for k in ("record_session", "evaluate", "alerts", "review")
    }
    print(
        "aim: 1,000 sessions within 1.5x of 10: "
        + ", ".join(f"{k} {r:.2f}x {'met' if r <= 1.5 else 'MISSED'}" for k, r in aims.items())
    )
    imp = bench_import()
    print(
        f"import treatplan: {imp['treatplan_ms']:.0f} ms vs bare interpreter "
        f"{imp['bare_ms']:.0f} ms: +{imp['over_bare_ms']:.0f} ms (aim <= 100 ms; median of 10)"
    )


if __name__ == "__main__":
    main()
