"""Plots (optional matplotlib extra): the three figures are drawn from a run."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from treatplan.sim import DEFAULT_SCENARIO, simulate


def test_draws_trajectories_dropout_and_funnel(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim._plots import draw_all

    run = simulate(DEFAULT_SCENARIO, 120, seed=2, out_dir=tmp_path)
    written = draw_all(run, DEFAULT_SCENARIO, tmp_path / "plots")
    assert [p.name for p in written] == ["trajectories.png", "dropout_km.png", "funnel.png"]
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
    import attrs

    import treatplan as tp
    from treatplan.sim._plots import _dropout, _pyplot, _trajectories

    # At most 2 sessions: matplotlib's default ticks would be 0, 0.25, 0.5, ...
    short = attrs.evolve(
        DEFAULT_SCENARIO,
        policy=attrs.evolve(
            DEFAULT_SCENARIO.policy,
            ending_rules=tp.AnyOf((tp.SessionLimit(2), tp.ConsecutiveMissed(2))),
        ),
    )
    run = simulate(short, 60, seed=4, out_dir=tmp_path)
    plt = _pyplot()
    try:
        for draw in (
            lambda: _dropout(plt, run, tmp_path / "km.png"),
            lambda: _trajectories(plt, tmp_path, short, tmp_path / "t.png"),
        ):
            draw()
            ax = plt.gcf().axes[0]
            low, high = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            assert len(ticks) >= 2
            assert all(float(t).is_integer() for t in ticks), ticks
    finally:
        plt.close("all")
