"""Tables: CSV and JSON Lines agree; optional extras convert them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import treatplan as tp
from treatplan.sim import TABLES, read_table, simulate, to_dataframe, write_parquet
from treatplan.sim._tables import format_rows


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tables")
    simulate(clients=80, seed=9, out_dir=target)
    return target


def test_csv_and_jsonl_hold_the_same_rows(out: Path) -> None:
    for table, columns in TABLES.items():
        csv_rows = read_table(out / f"{table}.csv")
        json_rows = read_table(out / f"{table}.jsonl")
        assert len(csv_rows) == len(json_rows) > 0
        assert list(csv_rows[0]) == list(columns) == list(json_rows[0])
        for c, j in zip(csv_rows, json_rows, strict=True):
            for key in columns:
                value = j[key]
                expected = (
                    ""
                    if value is None
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
                assert c[key] == expected


def test_summary_json_is_valid(out: Path) -> None:
    data = json.loads((out / "summary.json").read_text())
    assert data["funnel"]["referred"] == 80


def test_format_rows_rejects_unknown_formats() -> None:
    with pytest.raises(tp.ArgumentError, match="fmt: expected one of"):
        format_rows("clients", [], "xml")


def test_dataframes_and_parquet(out: Path) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = to_dataframe(out, "clients")
    assert len(frame) == 80
    written = write_parquet(out)
    assert {p.name for p in written} == {f"{t}.parquet" for t in TABLES}
    assert len(__import__("pandas").read_parquet(out / "clients.parquet")) == 80
    schema = __import__("pyarrow.parquet").parquet.read_schema(out / "clients.parquet")
    assert str(schema.field("step").type) == "int64"
    assert str(schema.field("recovered").type) == "bool"
