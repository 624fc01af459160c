"""Plots of a simulated caseload (optional extra: ``pip install 'treatplan[plots]'``).

- ``trajectories.png``: PHQ-9 of clients with a typical intake against the
  expected-response band of :func:`treatplan.expected_trajectory` (the same
  curve the monitoring alerts use);
- ``cumulative_incidence.png``: Aalen-Johansen cumulative incidence of each
  way an episode ends (drop-out, recovery discharge, planned ending), by
  sessions attended and by weeks, with 95% bands, censoring marks and the
  numbers at risk under each axis;
- ``time_to_recovery.png``: the share recovered (first session below caseness
  on both measures), 1 - Kaplan-Meier with its 95% band, and the cumulative
  incidence of recovery with ending unrecovered as a competing event;
- ``funnel.png``: referred, started, two or more sessions, completed, recovered.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._instruments import PHQ9
from .._monitoring import expected_trajectory
from ._run import RunResult
from ._scenario import Scenario
from ._survival import (
    CumulativeIncidence,
    Scale,
    SurvivalCurve,
    competing_risks,
    cumulative_incidence,
    episode_endings,
    kaplan_meier,
    recovery_times,
)
from ._tables import read_table

__all__ = ["draw_all"]


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise ImportError("matplotlib is needed: pip install 'treatplan[plots]'") from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def draw_all(run: RunResult, scenario: Scenario, out_dir: str | Path) -> list[Path]:
    """Draw the four plots of ``run`` into ``out_dir``; returns the files written."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = run.files[0].parent if run.files else out
    written = [
        _trajectories(plt, run_dir, scenario, out / "trajectories.png"),
        _endings(plt, run_dir, scenario, out / "cumulative_incidence.png"),
        _recovery(plt, run_dir, scenario, out / "time_to_recovery.png"),
        _funnel(plt, run, out / "funnel.png"),
    ]
    plt.close("all")
    return written


def _trajectories(plt: Any, run_dir: Path, scenario: Scenario, target: Path) -> Path:

    intake, width, wanted = round(scenario.population.phq9.mean), 1, 40
    baseline: dict[str, int] = {}
    with (run_dir / "clients.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["baseline_phq9"] and abs(int(row["baseline_phq9"]) - intake) <= width:
                baseline[row["client"]] = int(row["baseline_phq9"])
            if len(baseline) >= wanted:
                break
    series: dict[str, list[tuple[int, int]]] = {c: [(0, b)] for c, b in baseline.items()}
    with (run_dir / "sessions.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            points = series.get(row["client"])
            if points is not None and row["phq9"]:
                points.append((len(points), int(row["phq9"])))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    band = expected_trajectory(PHQ9, float(intake), 20)
    xs = [p.session for p in band]
    ax.fill_between(
        xs, [p.lower for p in band], [p.upper for p in band], alpha=0.25, label="expected band"
    )
    ax.plot(xs, [p.expected for p in band], color="black", label="expected")
    ax.plot(xs, [p.alarm for p in band], color="red", linestyle="--", label="not on track")
    for points in series.values():
        ax.plot([p[0] for p in points], [p[1] for p in points], alpha=0.35, linewidth=0.8)
    ax.axhline(10, color="grey", linestyle=":", label="caseness (10)")
    _whole_sessions(ax)
    ax.set(
        xlabel="sessions attended",
        ylabel="PHQ-9",
        ylim=(0, 27),
        title=f"PHQ-9 from intake {intake - width}-{intake + width}",
    )
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(target, dpi=120)
    return target


def _whole_sessions(ax: Any) -> None:
    """Tick the x axis (a count of sessions) at whole numbers only."""
    ticker = importlib.import_module("matplotlib.ticker")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))


_SCALES: tuple[tuple[Scale, str], ...] = (
    ("sessions", "sessions attended"),
    ("weeks", "weeks since the first appointment"),
)
_COLOURS = {
    "dropout": "tab:red",
    "recovery_discharge": "tab:green",
    "planned_ending": "tab:blue",
    "recovered": "tab:green",
}


def _risk_times(last: float) -> list[float]:
    """Where to count the numbers at risk: at most 7 whole-number times from 0 to ``last``."""
    step = next(s for s in (1, 2, 4, 8, 13, 26, 52, 104, 10**9) if last / s <= 6)
    return [float(t) for t in range(0, int(last) + 1, step)]


def _nothing_to_show(ax: Any, label: str) -> None:
    ax.text(0.5, 0.5, "no started episodes", transform=ax.transAxes, ha="center")
    ax.set(xlabel=label)


def _step_curve(
    ax: Any,
    curve: CumulativeIncidence | SurvivalCurve,
    values: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    until: float,
    **style: Any,
) -> None:
    """A step curve from time 0 to ``until`` with its band and a mark at each censoring."""
    times = [0.0, *curve.times, until]
    ax.step(times, [0.0, *values, values[-1]], where="post", **style)
    ax.fill_between(
        times,
        [0.0, *lower, lower[-1]],
        [0.0, *upper, upper[-1]],
        step="post",
        alpha=0.2,
        color=style.get("color"),
        linewidth=0,
    )
    marks = curve.censoring_times
    if marks:
        lookup = dict(zip(curve.times, values, strict=True))
        ax.plot(
            marks,
            [lookup[t] for t in marks],
            linestyle="none",
            marker="|",
            markersize=8,
            color=style.get("color"),
        )


def _at_risk_table(
    ax: Any, curve: CumulativeIncidence | SurvivalCurve, times: Sequence[float]
) -> None:
    """Numbers at risk under the axis, aligned with the x ticks at ``times``."""
    transforms = importlib.import_module("matplotlib.transforms")
    below = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.set_xticks(times)
    ax.text(0.0, -0.30, "at risk", transform=ax.transAxes, ha="right", fontsize="small")
    for t in times:
        ax.text(t, -0.39, str(curve.number_at_risk(t)), transform=below, ha="center", fontsize=7)


def _endings(plt: Any, run_dir: Path, scenario: Scenario, target: Path) -> Path:
    clients = read_table(run_dir / "clients.csv")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (scale, label) in zip(axes, _SCALES, strict=True):
        endings = episode_endings(clients, scale, horizon_weeks=scenario.horizon_weeks)
        if not endings.durations:
            _nothing_to_show(ax, label)
            continue
        curves = competing_risks(endings.durations, endings.causes)
        last = max(endings.durations)
        for cause, curve in curves.items():
            _step_curve(
                ax,
                curve,
                curve.estimates,
                curve.lower,
                curve.upper,
                last + 0.5,
                color=_COLOURS.get(cause),
                label=cause.replace("_", " "),
            )
        if scale == "sessions":
            _whole_sessions(ax)
        # Every cause has the same numbers at risk (all endings leave the risk set).
        _at_risk_table(ax, next(iter(curves.values())), _risk_times(last))
        ax.set(xlabel=label, ylabel="cumulative incidence", ylim=(0, 1), xlim=(0, last + 0.5))
        ax.legend(loc="upper left", fontsize="small")
    fig.suptitle("How episodes end (Aalen-Johansen, 95% bands; | censored)")
    fig.subplots_adjust(bottom=0.3, wspace=0.25, left=0.08, right=0.98)
    fig.savefig(target, dpi=100)
    return target


def _recovery(plt: Any, run_dir: Path, scenario: Scenario, target: Path) -> Path:
    clients = read_table(run_dir / "clients.csv")
    sessions = read_table(run_dir / "sessions.csv")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (scale, label) in zip(axes, _SCALES, strict=True):
        times = recovery_times(clients, sessions, scale, horizon_weeks=scenario.horizon_weeks)
        if not times.durations:
            _nothing_to_show(ax, label)
            continue
        km = kaplan_meier(times.durations, times.observed)
        last = max(times.durations)
        _step_curve(
            ax,
            km,
            [1 - s for s in km.estimates],
            [1 - s for s in km.upper],
            [1 - s for s in km.lower],
            last + 0.5,
            color=_COLOURS["recovered"],
            label="recovered, ending censored (1 - KM)",
        )
        competing = recovery_times(
            clients, sessions, scale, horizon_weeks=scenario.horizon_weeks, ending_competes=True
        )
        incidence = cumulative_incidence(competing.durations, competing.causes, "recovered")
        ax.step(
            [0.0, *incidence.times, last + 0.5],
            [0.0, *incidence.estimates, incidence.estimates[-1]],
            where="post",
            color="black",
            linestyle="--",
            label="recovered in treatment (ending competes)",
        )
        if scale == "sessions":
            _whole_sessions(ax)
        _at_risk_table(ax, km, _risk_times(last))
        ax.set(xlabel=label, ylabel="recovered", ylim=(0, 1), xlim=(0, last + 0.5))
        ax.legend(loc="upper left", fontsize="small")
    fig.suptitle("Time to recovery, cases at the start (95% band; | censored)")
    fig.subplots_adjust(bottom=0.3, wspace=0.25, left=0.08, right=0.98)
    fig.savefig(target, dpi=100)
    return target


def _funnel(plt: Any, run: RunResult, target: Path) -> Path:
    funnel = run.summary.funnel
    labels = [k.replace("_", " ") for k in funnel]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh(labels[::-1], list(funnel.values())[::-1])
    ax.set(xlabel="clients", title="Outcome funnel")
    fig.tight_layout()
    fig.savefig(target, dpi=120)
    return target
