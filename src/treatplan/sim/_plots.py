"""Plots of a simulated caseload (optional extra: ``pip install 'treatplan[plots]'``).

- ``trajectories.png``: PHQ-9 of clients with a typical intake against the
  expected-response band of :func:`treatplan.expected_trajectory` (the same
  curve the monitoring alerts use);
- ``dropout_km.png``: Kaplan-Meier estimate of staying in treatment by sessions
  attended (drop-out is the event; other endings are censored);
- ``funnel.png``: referred, started, two or more sessions, completed, recovered.
"""

from __future__ import annotations

import csv
import importlib
from pathlib import Path
from typing import Any

from ._run import RunResult
from ._scenario import Scenario

__all__ = ["draw_all"]


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise ImportError("matplotlib is needed: pip install 'treatplan[plots]'") from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def draw_all(run: RunResult, scenario: Scenario, out_dir: str | Path) -> list[Path]:
    """Draw the three plots of ``run`` into ``out_dir``; returns the files written."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = run.files[0].parent if run.files else out
    written = [
        _trajectories(plt, run_dir, scenario, out / "trajectories.png"),
        _dropout(plt, run, out / "dropout_km.png"),
        _funnel(plt, run, out / "funnel.png"),
    ]
    plt.close("all")
    return written


def _trajectories(plt: Any, run_dir: Path, scenario: Scenario, target: Path) -> Path:
    from .._instruments import PHQ9
    from .._monitoring import expected_trajectory

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


def _dropout(plt: Any, run: RunResult, target: Path) -> Path:
    curve = run.tally.dropout_survival()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step([c[0] for c in curve], [c[1] for c in curve], where="post")
    _whole_sessions(ax)
    ax.set(
        xlabel="sessions attended",
        ylabel="still in treatment (not dropped out)",
        ylim=(0, 1.02),
        title="Kaplan-Meier: drop-out",
    )
    fig.tight_layout()
    fig.savefig(target, dpi=120)
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
