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
