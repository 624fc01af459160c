"""Tables: every format reads back to the same typed rows; the codebook covers every column."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from treatplan.sim import CODEBOOK, TABLES, read_table, simulate, to_dataframe, write_parquet
from treatplan.sim._codebook import COLUMN_TYPES, codebook_dict, codebook_markdown
from treatplan.sim._tables import format_rows

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "concepts" / "simulation-codebook.md"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tables") / "run"
    simulate(clients=80, seed=9, out_dir=target, formats=["csv", "jsonl"])
    return target


def test_the_codebook_has_every_column_in_file_order() -> None:
    assert list(CODEBOOK) == list(TABLES)
    for table, columns in TABLES.items():
        assert tuple(c.name for c in CODEBOOK[table]) == columns
        for column in CODEBOOK[table]:
            assert column.type in COLUMN_TYPES
            assert column.meaning.endswith(".")
            assert (column.type == "category") <= bool(column.values)


def test_the_docs_page_is_the_codebook() -> None:
    # Regenerate with the command in the page's first comment.
    assert DOCS_PAGE.read_text(encoding="utf-8") == codebook_markdown()
    for table, columns in TABLES.items():
        assert f"## `{table}`" in codebook_markdown()
        for name in columns:
            assert f"| `{name}` |" in codebook_markdown()


def test_every_output_folder_has_the_codebook(out: Path) -> None:
    assert json.loads((out / "codebook.json").read_text(encoding="utf-8")) == codebook_dict()


def test_csv_and_jsonl_read_back_as_the_same_typed_rows(out: Path) -> None:
    for table, columns in TABLES.items():
        csv_rows = read_table(out / f"{table}.csv")
        json_rows = read_table(out / f"{table}.jsonl")
        assert len(csv_rows) > 0
        assert csv_rows == json_rows
        assert list(csv_rows[0]) == list(columns)
    client = read_table(out / "clients.csv")[0]
    assert isinstance(client["referred"], date)
    assert isinstance(client["started"], bool)
    assert isinstance(client["intake_phq9"], int)
    session = read_table(out / "sessions.csv")[0]
    assert isinstance(session["at"], datetime)
    assert session["at"].utcoffset() is not None
    assert all(
        r["phq9"] is None
        for r in read_table(out / "sessions.csv")
        if r["attendance"] != "attended"
    )


def test_summary_json_records_the_run(out: Path) -> None:
    data = json.loads((out / "summary.json").read_text())
    assert data["funnel"]["referred"] == 80
    assert data["run"]["seed"] == 9
    assert data["run"]["clients"] == 80
    assert data["run"]["replicates"] == 1
    assert data["run"]["treatplan_version"]
    assert isinstance(data["run"]["command"], list)


def test_format_rows_and_read_table_reject_unknowns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected"):
        format_rows("clients", [], "xml")
    with pytest.raises(ValueError, match="expected a table file"):
        read_table(tmp_path / "other.csv")
    with pytest.raises(ValueError, match="table: expected"):
        to_dataframe(tmp_path, "other")
    with pytest.raises(ValueError, match="library"):
        to_dataframe(tmp_path, "clients", library="spark")


def _parquet_copy(out: Path, tmp_path: Path) -> Path:
    pytest.importorskip("pyarrow")
    written = write_parquet(out)
    assert {p.name for p in written} == {f"{t}.parquet" for t in TABLES}
    only = tmp_path / "parquet"
    only.mkdir()
    for path in written:
        path.rename(only / path.name)
    return only


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_pandas_gets_real_dtypes(out: Path, tmp_path: Path, fmt: str) -> None:
    pd = pytest.importorskip("pandas")
    folder = tmp_path / fmt
    if fmt == "parquet":
        folder = _parquet_copy(out, tmp_path)
    else:
        folder.mkdir()
        for table in TABLES:
            (folder / f"{table}.{fmt}").write_bytes((out / f"{table}.{fmt}").read_bytes())
    clients = to_dataframe(folder, "clients")
    assert len(clients) == 80
    assert str(clients["recovered"].dtype) == "boolean"
    assert str(clients["step"].dtype) == "Int64"
    assert isinstance(clients["phase"].dtype, pd.CategoricalDtype)
    assert "on_hold" in clients["phase"].cat.categories  # every codebook value
    assert str(clients["referred"].dtype).startswith("datetime64")
    sessions = to_dataframe(folder, "sessions")
    assert str(sessions["at"].dtype.tz) == "UTC"
    assert sessions["phq9"].isna().any() == (sessions["attendance"] != "attended").any()
    csv_clients = to_dataframe(out, "clients")
    assert clients.equals(csv_clients)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_polars_gets_real_dtypes(out: Path, tmp_path: Path, fmt: str) -> None:
    pl = pytest.importorskip("polars")
    folder = tmp_path / fmt
    if fmt == "parquet":
        folder = _parquet_copy(out, tmp_path)
    else:
        folder.mkdir()
        for table in TABLES:
            (folder / f"{table}.{fmt}").write_bytes((out / f"{table}.{fmt}").read_bytes())
    clients = to_dataframe(folder, "clients", library="polars")
    assert clients.schema["recovered"] == pl.Boolean
    assert clients.schema["step"] == pl.Int64
    assert clients.schema["referred"] == pl.Date
    assert isinstance(clients.schema["phase"], pl.Enum)
    sessions = to_dataframe(folder, "sessions", library="polars")
    assert sessions.schema["at"] == pl.Datetime("us", "UTC")
    assert clients.equals(to_dataframe(out, "clients", library="polars"))


def test_parquet_types_and_typed_rows(out: Path, tmp_path: Path) -> None:
    folder = _parquet_copy(out, tmp_path)
    schema = __import__("pyarrow.parquet").parquet.read_schema(folder / "clients.parquet")
    assert str(schema.field("step").type) == "int64"
    assert str(schema.field("recovered").type) == "bool"
    assert str(schema.field("referred").type) == "date32[day]"
    for table in TABLES:
        assert read_table(folder / f"{table}.parquet") == read_table(out / f"{table}.csv")


def test_a_folder_without_tables(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="out_dir: expected a run folder with a clients table"):
        to_dataframe(tmp_path, "clients")
