"""Damaged run folders and tables: library errors that name the table, row and column."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from treatplan import ArgumentError, TreatplanError, ValidationError
from treatplan.sim import TABLES, check_manifest, read_table, simulate, to_dataframe

_SECRET = "JohnSmith"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / f"{_SECRET}-run"
    simulate(clients=4, seed=2, out_dir=folder, formats=("csv", "jsonl"))
    return folder


def _no_echo(error: BaseException) -> None:
    assert _SECRET not in str(error)


# ----------------------------------------------------------------- check_manifest


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        "\xff",
        '{"complete": true}',
        '{"complete": true, "files": "x"}',
        '{"complete": true, "files": [{}]}',
        '{"complete": true, "files": [{"path": 1, "bytes": 1, "sha256": "x"}]}',
        '{"complete": true, "files": [{"path": "a", "bytes": true, "sha256": "x"}]}',
        '{"complete": true, "files": [{"path": "a", "bytes": 1, "sha256": "x", "more": 1}]}',
        "[" * 100_000,
    ],
)
def test_a_damaged_manifest_is_an_argument_error(out: Path, tmp_path: Path, text: str) -> None:
    folder = tmp_path / _SECRET
    shutil.copytree(out, folder)
    (folder / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ArgumentError) as info:
        check_manifest(folder)
    assert info.value.parameter == "folder"
    assert "damaged" in str(info.value)
    _no_echo(info.value)


def test_a_manifest_listing_a_file_twice_is_damaged(out: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(out, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"].append(manifest["files"][0])
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArgumentError, match="damaged"):
        check_manifest(folder)


def test_a_partial_manifest_need_not_list_files(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"complete": false}', encoding="utf-8")
    with pytest.raises(ArgumentError, match="partial run"):
        check_manifest(tmp_path)


# ----------------------------------------------------------------- read_table, to_dataframe

_CLIENTS = ",".join(TABLES["clients"])


@pytest.mark.parametrize(
    ("name", "data", "path"),
    [
        ("clients.csv", b"a,b\n1,2,3\n", "clients.header"),
        ("clients.csv", b"", "clients.header"),
        ("clients.csv", f"{_CLIENTS}\n1,2\n".encode(), "clients[0]"),
        ("clients.csv", f'{_CLIENTS}\n"{_SECRET}{"x" * 200_000}'.encode(), "clients[0]"),
        ("events.csv", b"\xff\xfe", "events"),
        ("clients.jsonl", b"not json\n", "clients[0]"),
        ("events.jsonl", b"1e999\n", "events[0]"),
        ("events.jsonl", b'{"JohnSmith": 1}\n', "events[0]"),
        ("sessions.parquet", _SECRET.encode(), "sessions"),
    ],
)
def test_a_damaged_table_names_the_table_and_row(
    tmp_path: Path, name: str, data: bytes, path: str
) -> None:
    (tmp_path / name).write_bytes(data)
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    with pytest.raises(ValidationError) as info:
        read_table(tmp_path / name)
    assert info.value.problems[0].path == path
    _no_echo(info.value)


def _edit(out: Path, tmp_path: Path, table: str, fmt: str, change: object) -> Path:
    folder = tmp_path / _SECRET
    folder.mkdir()
    source = (out / f"{table}.{fmt}").read_text(encoding="utf-8").splitlines()
    (folder / f"{table}.{fmt}").write_text("\n".join(change(source)) + "\n", encoding="utf-8")  # type: ignore[operator]
    return folder


def _set_cell(lines: list[str], row: int, column: str, text: str) -> list[str]:
    rows = list(csv.reader(lines))
    rows[row + 1][rows[0].index(column)] = text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().splitlines()


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("intake_phq9", "1.5", "an integer"),
        ("started", "yes", "true or false"),
        ("referred", "2025-13-01", "a date (YYYY-MM-DD)"),
    ],
)
def test_a_cell_not_of_its_type_is_named_by_row_and_column(
    out: Path, tmp_path: Path, column: str, text: str, expected: str
) -> None:
    folder = _edit(out, tmp_path, "clients", "csv", lambda ls: _set_cell(ls, 2, column, text))
    with pytest.raises(ValidationError) as info:
        read_table(folder / "clients.csv")
    assert (info.value.problems[0].path, info.value.problems[0].expected) == (
        f"clients[2].{column}",
        expected,
    )
    for library in ("pandas", "polars"):
        pytest.importorskip(library)
        with pytest.raises(ValidationError) as framed:
            to_dataframe(folder, "clients", library)
        assert framed.value.problems[0].path == f"clients[2].{column}"
        _no_echo(framed.value)


def test_a_json_value_that_is_not_a_cell(out: Path, tmp_path: Path) -> None:
    def nest(lines: list[str]) -> list[str]:
        row = json.loads(lines[1])
        row["client"] = [_SECRET]
        return [lines[0], json.dumps(row), *lines[2:]]

    folder = _edit(out, tmp_path, "clients", "jsonl", nest)
    with pytest.raises(ValidationError) as info:
        read_table(folder / "clients.jsonl")
    assert info.value.problems[0].path == "clients[1].client"
    _no_echo(info.value)


def test_a_missing_or_unreadable_table_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError) as info:
        read_table(tmp_path / _SECRET / "clients.csv")
    assert info.value.parameter == "path"
    _no_echo(info.value)


def test_a_frame_failure_the_rows_do_not_explain_still_names_the_table(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pandas")
    from treatplan.sim import _tables

    def fails(*args: object) -> object:
        raise KeyError(_SECRET)

    monkeypatch.setattr(_tables, "_pandas", fails)
    with pytest.raises(TreatplanError) as info:
        to_dataframe(out, "clients")
    assert str(info.value).endswith("clients: a clients table as treatplan writes it")
    _no_echo(info.value)


def test_a_parquet_table_with_other_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({_SECRET: [1]}), tmp_path / "events.parquet")
    with pytest.raises(ValidationError) as info:
        read_table(tmp_path / "events.parquet")
    assert info.value.problems[0].path == "events.header"
    _no_echo(info.value)
