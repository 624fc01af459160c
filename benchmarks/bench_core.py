"""Core benchmarks: JSON, lifecycle events, import time.

Each figure is a ratio against a baseline measured in the same run on the same
machine, so it means the same thing on a laptop and in CI:

- JSON: ``treatplan.loads`` + ``treatplan.dumps`` of the largest example plan
  against stdlib ``json.loads`` + compact ``json.dumps`` of the same text (aim:
  within 3x); both write compact JSON (no indent, no spaces after separators).
  Load and dump alone are reported against ``json.loads`` and ``json.dumps``.
- Large plans: ``treatplan.loads`` of a plan of 10,000 sessions (a PHQ-9 and a
  GAD-7 at each), per session, and the same at 1,000 sessions to show the cost is
  linear (aim: at most 40 us per session), against stdlib ``json.loads``.
- Lifecycle: one ``treatplan.fire`` (guards checked, history record appended, a
  new immutable plan) against one bare transition of the ``transitions`` library
  (aim: treatplan at least 5x faster). Needs the ``bench`` extra.
- ``import treatplan`` time in a fresh interpreter (median of 10; aim: within
  100 ms), then with the lifecycle operations (first ``treatplan.fire``) and with
  the JSON layer (first ``treatplan.loads``), which load on first use, against
  importing attrs alone, its run-time dependencies alone and ``import json``. The
  package's bytecode is compiled first, as ``pip install`` does: without it (an
  editable install under ``PYTHONDONTWRITEBYTECODE``) each import compiles the
  sources again.

Each baseline and the figure compared with it are timed in interleaved runs (A B A
B ...), so both see the same load on a shared machine.

Run::

    python -m pip install -e '.[bench]'
    python benchmarks/bench_core.py            # add --quick for a fast smoke run
"""

from __future__ import annotations

import argparse
import compileall
import functools
import json
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import treatplan as tp

ROOT = Path(__file__).resolve().parent.parent


def paired_per_call(
    fns: dict[str, Callable[[], object]], number: int, repeat: int
) -> dict[str, float]:
    """Median seconds per call of each function, their runs interleaved (A B C A B C ...)
    so that a baseline and what is compared with it see the same load on a shared
    machine."""
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            runs[name].append(timeit.timeit(fn, number=number) / number)
    return {name: statistics.median(times) for name, times in runs.items()}


def bench_json(number: int, repeat: int) -> dict[str, float]:
    largest = max((ROOT / "examples").glob("*.json"), key=lambda p: p.stat().st_size)
    text = largest.read_text(encoding="utf-8")
    plan = tp.loads(text)
    data = json.loads(text)

    def stdlib() -> object:
        return json.dumps(json.loads(text), separators=(",", ":"))

    def library() -> object:
        return tp.dumps(tp.loads(text), indent=None)

    t = paired_per_call(
        {
            "stdlib": stdlib,
            "library": library,
            "stdlib_load": lambda: json.loads(text),
            "load": lambda: tp.loads(text),
            "stdlib_dump": lambda: json.dumps(data, separators=(",", ":")),
            "dump": lambda: tp.dumps(plan, indent=None),
        },
        number,
        repeat,
    )
    return {
        "document_bytes": float(len(text.encode())),
        "stdlib_us": t["stdlib"] * 1e6,
        "treatplan_us": t["library"] * 1e6,
        "treatplan_load_us": t["load"] * 1e6,
        "treatplan_dump_us": t["dump"] * 1e6,
        "ratio": t["library"] / t["stdlib"],
        "load_ratio": t["load"] / t["stdlib_load"],
        "dump_ratio": t["dump"] / t["stdlib_dump"],
    }


def long_plan_text(sessions: int) -> str:
    """The adult depression example with ``sessions`` weekly sessions, each with a PHQ-9
    and a GAD-7, as compact JSON (the shape a store would hold)."""
    doc = json.loads((ROOT / "examples" / "adult-depression-cbt.json").read_text("utf-8"))
    template = doc["sessions"][-1]
    first = datetime.fromisoformat(doc["sessions"][0]["at"])
    made = []
    for n in range(sessions):
        at = (first + timedelta(days=n)).isoformat()
        session = {**template, "id": f"s{n}", "at": at}
        session["assessments"] = [
            {**a, "id": f"s{n}-{i}", "administered_at": at}
            for i, a in enumerate(template["assessments"])
        ]
        made.append(session)
    doc["sessions"] = made
    # The episode stays open so the sessions may run on past the original closure.
    doc["history"] = doc["history"][:4]
    doc["phase"], doc["outcome"] = doc["history"][-1]["target"], None
    doc["reviews"] = [r for r in doc["reviews"] if r["at"] <= doc["history"][-1]["at"]]
    return json.dumps(doc, separators=(",", ":"))


def bench_large(repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for sessions in (1_000, 10_000):
        text = long_plan_text(sessions)
        assert len(tp.loads(text).sessions) == sessions
        t = paired_per_call(
            {
                "ours": functools.partial(tp.loads, text),
                "base": functools.partial(json.loads, text),
            },
            1,
            repeat,
        )
        ours, base = t["ours"], t["base"]
        out[f"bytes_{sessions}"] = float(len(text.encode()))
        out[f"treatplan_us_per_session_{sessions}"] = ours / sessions * 1e6
        out[f"stdlib_us_per_session_{sessions}"] = base / sessions * 1e6
        out[f"ratio_{sessions}"] = ours / base
    out["growth"] = out["treatplan_us_per_session_10000"] / out["treatplan_us_per_session_1000"]
    return out


def bench_lifecycle(number: int, repeat: int) -> dict[str, float]:
    from transitions import Machine  # the `bench` extra

    plan = tp.loads((ROOT / "examples" / "adolescent-anxiety-family.json").read_text())
    at = tp.latest_time(plan) + timedelta(days=1)  # events may not precede a record
    # The members looked up once, as the transitions machine is built once: an enum
    # class attribute costs about a microsecond, the caller's, not fire's.
    pause, resume = tp.Event.PAUSE, tp.Event.RESUME

    def pause_resume() -> object:
        paused = tp.fire(plan, pause, at=at, by="clin-1", reason="annual leave")
        return tp.fire(paused, resume, at=at, by="clin-1")

    class Model:
        pass

    model = Model()
    Machine(
        model=model,
        states=["active", "on_hold"],
        transitions=[
            {"trigger": "pause", "source": "active", "dest": "on_hold"},
            {"trigger": "resume", "source": "on_hold", "dest": "active"},
        ],
        initial="active",
    )

    def bare_pause_resume() -> object:
        model.pause()  # type: ignore[attr-defined]
        return model.resume()  # type: ignore[attr-defined]

    t = paired_per_call({"base": bare_pause_resume, "ours": pause_resume}, number, repeat)
    base, ours = t["base"] / 2, t["ours"] / 2
    return {"transitions_us": base * 1e6, "treatplan_us": ours * 1e6, "speedup": base / ours}


def bench_import(repeat: int) -> dict[str, float]:
    # Bytecode first, as ``pip install`` compiles a wheel's modules: an editable install
    # under PYTHONDONTWRITEBYTECODE (set on some CI machines) never caches it, and
    # every import would then compile the sources, which is not what callers see.
    # The dependencies in site-packages were compiled when pip installed them. (This
    # writes __pycache__ beside the sources of an editable install, as any import
    # without PYTHONDONTWRITEBYTECODE would.)
    compileall.compile_dir(str(Path(tp.__file__).parent), quiet=1)
    modules = {
        "treatplan": "treatplan",
        "lifecycle": "treatplan; treatplan.fire",
        "json_layer": "treatplan; treatplan.loads",
        "attrs": "attrs",
        "deps": "attrs, cattrs, dateutil.rrule",
        "json": "json",
    }
    runs: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(repeat):  # interleaved, so all see the same load
        for name, module in modules.items():
            code = f"import time; t=time.perf_counter(); import {module}; "
            code += "print(time.perf_counter()-t)"
            runs[name].append(float(subprocess.check_output([sys.executable, "-c", code])))
    ms = {name: statistics.median(times) * 1e3 for name, times in runs.items()}
    return {
        "import_treatplan_ms": ms["treatplan"],
        "import_treatplan_fire_ms": ms["lifecycle"],
        "import_treatplan_json_ms": ms["json_layer"],
        "import_attrs_ms": ms["attrs"],
        "import_json_ms": ms["json"],
        "import_deps_ms": ms["deps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="treatplan core benchmarks")
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = parser.parse_args()
    number, repeat = (20, 3) if args.quick else (300, 7)

    print(f"python {sys.version.split()[0]}, treatplan {tp.__version__}")
    j = bench_json(number, repeat)
    print(
        f"JSON load+dump, {j['document_bytes']:.0f}-byte plan: "
        f"treatplan {j['treatplan_us']:.0f} us (load {j['treatplan_load_us']:.0f}, "
        f"dump {j['treatplan_dump_us']:.0f}) vs stdlib json {j['stdlib_us']:.0f} us "
        f"= {j['ratio']:.1f}x stdlib (aim <= 3x); load alone {j['load_ratio']:.1f}x "
        f"json.loads, dump alone {j['dump_ratio']:.1f}x json.dumps"
    )
    big = bench_large(3 if args.quick else 7)
    print(
        f"loads of a 10,000-session plan ({big['bytes_10000'] / 1e6:.1f} MB): "
        f"{big['treatplan_us_per_session_10000']:.1f} us per session "
        f"(aim <= 40) vs stdlib json.loads {big['stdlib_us_per_session_10000']:.1f} us "
        f"= {big['ratio_10000']:.1f}x stdlib; at 1,000 sessions "
        f"{big['treatplan_us_per_session_1000']:.1f} us per session "
        f"(10,000/1,000 per-session ratio {big['growth']:.2f}; 1.0 is linear)"
    )
    try:
        lc = bench_lifecycle(number * 10, repeat)
    except ImportError:
        print("lifecycle: skipped (pip install -e '.[bench]' for the transitions baseline)")
    else:
        print(
            f"lifecycle event: treatplan.fire {lc['treatplan_us']:.1f} us vs transitions "
            f"{lc['transitions_us']:.1f} us = {lc['speedup']:.1f}x faster (aim >= 5x)"
        )
    imp = bench_import(3 if args.quick else 10)
    print(
        f"import time (median of fresh processes, bytecode cached): treatplan "
        f"{imp['import_treatplan_ms']:.0f} ms (aim <= 100), with the first fire "
        f"{imp['import_treatplan_fire_ms']:.0f} ms, with the first loads "
        f"{imp['import_treatplan_json_ms']:.0f} ms; attrs alone "
        f"{imp['import_attrs_ms']:.0f} ms, its run-time dependencies alone "
        f"(attrs, cattrs, dateutil.rrule) {imp['import_deps_ms']:.0f} ms; "
        f"import json {imp['import_json_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
