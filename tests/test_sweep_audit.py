"""Sweep tables that cannot mislead: one type per column, never half-written in place."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest

from sweep_scenarios import SMALL
from treatplan.sim import _sweep, grid, sweep

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def test_a_parquet_sweep_with_int_and_float_values_types_the_column_as_double(
    tmp_path: Path,
) -> None:
    # The audit's case: 1.5 and 2 once failed (ArrowInvalid) after every run.
    arms = grid({"service.assessment_slots_per_week": [1.5, 2]})
    result = sweep(SMALL, arms, clients=5, replicates=1, out_dir=tmp_path, table_format="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "runs",
        "scenario.json",
        "sweep.json",
        "sweep.parquet",
    ]
    table = pq.read_table(tmp_path / "sweep.parquet")
    column = table.column("service.assessment_slots_per_week")
    assert column.type == pa.float64()
    assert set(column.to_pylist()) == {1.5, 2.0}
    assert table.column("replicate").type == pa.string()
    assert set(table.column("replicate").to_pylist()) == {"0", "all"}
    assert table.num_rows == len(result.rows)


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        ([1, 3, ""], "int64", [1, 3, None]),
        ([True, "", False], "bool", [True, None, False]),
        ([1, 2.5, math.nan, ""], "double", [1.0, 2.5, None, None]),
        ([2**70, 1.5], "string", ["1180591620717411303424", "1.5"]),  # too big for int64
        ([1, "all"], "string", ["1", "all"]),
        (["fcfs", ""], "string", ["fcfs", None]),
        ([True, 1, [1, 2], math.nan], "string", ["true", "1", "[1, 2]", None]),
        ([], "double", []),
    ],
)
def test_every_column_has_one_type_as_a_csv_reader_gives(
    values: list[Any], kind: str, expected: list[Any]
) -> None:
    column = _sweep._arrow_column(pa, values)
    assert str(column.type) == kind
    assert column.to_pylist() == expected


def test_a_missing_extra_is_reported_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(_sweep, "run_arm", lambda *a: ran.append(a))
    real = _sweep._import

    def missing(module: str, extra: str) -> Any:
        if extra in {"parquet", "plots"}:
            raise ImportError(f"needs treatplan[{extra}]")
        return real(module, extra)  # pragma: no cover - only the two extras are asked for

    monkeypatch.setattr(_sweep, "_import", missing)
    for options in ({"table_format": "parquet"}, {"plots": True}):
        with pytest.raises(ImportError, match="treatplan"):
            sweep(SMALL, [{}], clients=5, replicates=1, out_dir=tmp_path / "x", **options)  # type: ignore[arg-type]
    assert ran == []
    assert not (tmp_path / "x").exists()


def test_a_resumed_sweeps_table_is_never_truncated_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arms = grid({"service.step3.therapists": [1, 2]})
    sweep(SMALL, arms, clients=5, replicates=1, out_dir=tmp_path)
    before = (tmp_path / "sweep.csv").read_bytes()

    def full_disk(self: Path, data: bytes) -> int:
        with self.open("wb") as handle:
            handle.write(data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space"):
        sweep(SMALL, arms, clients=5, replicates=1, out_dir=tmp_path)
    monkeypatch.undo()
    assert (tmp_path / "sweep.csv").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # A successful resume replaces it whole, with the same rows.
    again = sweep(SMALL, arms, clients=5, replicates=1, out_dir=tmp_path)
    assert again.resumed == 2
    assert (tmp_path / "sweep.csv").read_bytes() == before
    with (tmp_path / "sweep.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(again.rows)


def test_the_comparison_plot_is_written_aside_too(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    arms = grid({"service.step3.therapists": [1, 2]})
    result = sweep(SMALL, arms, clients=5, replicates=1, out_dir=tmp_path, plots=True)
    assert result.files[-1] == tmp_path / "sweep.png"
    assert (tmp_path / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
