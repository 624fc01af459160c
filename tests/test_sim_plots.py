"""Plots (optional matplotlib extra): the three figures are drawn from a run."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import attrs
import pytest

from treatplan.sim import DEFAULT_SCENARIO, simulate
from treatplan.sim._engine import CLIENT_COLUMNS, SESSION_COLUMNS


def test_draws_trajectories_endings_recovery_and_funnel(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim._plots import draw_all

    run = simulate(DEFAULT_SCENARIO, 120, seed=2, out_dir=tmp_path)
    written = draw_all(run, DEFAULT_SCENARIO, tmp_path / "plots")
    assert [p.name for p in written] == [
        "trajectories.png",
        "cumulative_incidence.png",
        "time_to_recovery.png",
        "funnel.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kaplan_meier_curve_starts_at_one_and_never_rises() -> None:
    curve = simulate(DEFAULT_SCENARIO, 300, seed=3).tally.dropout_survival()
    values = [v for _, v in curve]
    assert values[0] == 1.0
    assert all(b <= a for a, b in itertools.pairwise(values))
    assert values[-1] < 1.0


def test_session_axes_have_whole_number_ticks(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import treatplan as tp
    from treatplan.sim._plots import _endings, _pyplot, _recovery, _trajectories

    # At most 2 sessions: matplotlib's default ticks would be 0, 0.25, 0.5, ...
    short = attrs.evolve(
        DEFAULT_SCENARIO,
        policy=attrs.evolve(
            DEFAULT_SCENARIO.policy,
            ending_rules=tp.rules.AnyOf((tp.rules.SessionLimit(2), tp.rules.ConsecutiveMissed(2))),
        ),
    )
    simulate(short, 60, seed=4, out_dir=tmp_path)
    plt = _pyplot()
    try:
        for draw in (
            lambda: _endings(plt, tmp_path, short, tmp_path / "ci.png"),
            lambda: _recovery(plt, tmp_path, short, tmp_path / "r.png"),
            lambda: _trajectories(plt, tmp_path, short, tmp_path / "t.png"),
        ):
            draw()
            ax = plt.gcf().axes[0]
            low, high = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            assert len(ticks) >= 2
            assert all(float(t).is_integer() for t in ticks), ticks
            plt.close("all")
    finally:
        plt.close("all")


def _texts(fig: Any) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_cumulative_incidence_plot_shows_bands_censoring_and_numbers_at_risk(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim import episode_endings, read_table
    from treatplan.sim._plots import _endings, _pyplot

    # A 10-week horizon leaves episodes open, so there are censoring marks.
    short = attrs.evolve(DEFAULT_SCENARIO, horizon_weeks=10)
    simulate(short, 80, seed=5, out_dir=tmp_path)
    endings = episode_endings(read_table(tmp_path / "clients.csv"), "sessions", horizon_weeks=10)
    assert None in endings.causes
    plt = _pyplot()
    try:
        _endings(plt, tmp_path, short, tmp_path / "ci.png")
        fig = plt.gcf()
        sessions_ax = fig.axes[0]
        labels = [t.get_text() for t in sessions_ax.get_legend().get_texts()]
        assert labels == ["dropout", "planned ending", "recovery discharge"]
        # One band per cause, and censoring marks drawn as "|" markers.
        assert len(sessions_ax.collections) == 3
        assert any(line.get_marker() == "|" for line in sessions_ax.lines)
        texts = _texts(fig)
        assert "at risk" in texts
        started = len(endings.durations)
        assert str(started) in texts  # everyone started is at risk at time 0
    finally:
        plt.close("all")
    assert (tmp_path / "ci.png").read_bytes()[:4] == b"\x89PNG"


def test_recovery_plot_has_the_censored_and_the_competing_curve(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim._plots import _pyplot, _recovery

    simulate(DEFAULT_SCENARIO, 80, seed=6, out_dir=tmp_path)
    plt = _pyplot()
    try:
        _recovery(plt, tmp_path, DEFAULT_SCENARIO, tmp_path / "r.png")
        ax = plt.gcf().axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == [
            "recovered, ending censored (1 - KM)",
            "recovered in treatment (ending competes)",
        ]
        censored_curve, competing_curve = (line for line in ax.lines if line.get_marker() != "|")
        # Censoring at the ending can only raise the curve above the competing-risks one.
        assert censored_curve.get_ydata()[-1] >= competing_curve.get_ydata()[-1] > 0
    finally:
        plt.close("all")


def test_plots_of_a_run_where_nobody_starts(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim._plots import _endings, _pyplot, _recovery

    header = ",".join(CLIENT_COLUMNS) + "\n"
    (tmp_path / "clients.csv").write_text(header, encoding="utf-8")
    (tmp_path / "sessions.csv").write_text(",".join(SESSION_COLUMNS) + "\n", encoding="utf-8")
    plt = _pyplot()
    try:
        for draw in (_endings, _recovery):
            draw(plt, tmp_path, DEFAULT_SCENARIO, tmp_path / "x.png")
            assert _texts(plt.gcf()).count("no started episodes") == 2
            plt.close("all")
    finally:
        plt.close("all")


def test_trajectories_show_at_most_forty_clients(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim._plots import _pyplot, _trajectories

    intake = round(DEFAULT_SCENARIO.population.phq9.mean)
    rows = [
        ",".join(
            str(intake) if c == "baseline_phq9" else (f"c{n}" if c == "client" else "")
            for c in CLIENT_COLUMNS
        )
        for n in range(50)
    ]
    (tmp_path / "clients.csv").write_text(
        "\n".join([",".join(CLIENT_COLUMNS), *rows]) + "\n", encoding="utf-8"
    )
    (tmp_path / "sessions.csv").write_text(",".join(SESSION_COLUMNS) + "\n", encoding="utf-8")
    plt = _pyplot()
    try:
        _trajectories(plt, tmp_path, DEFAULT_SCENARIO, tmp_path / "t.png")
        ax = plt.gcf().axes[0]
        # The expected line and the alarm line, then one line per client shown.
        assert len(ax.lines) - 2 - 1 == 40  # less the caseness line
    finally:
        plt.close("all")


def test_plots_without_matplotlib_say_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from treatplan.sim._plots import _pyplot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'treatplan\[plots\]'"):
        _pyplot()
