"""Tidy output tables: clients, sessions and events, as CSV and JSON Lines.

Both formats are written with the standard library, row by row as results
arrive, so memory stays bounded. Parquet files and pandas / polars DataFrames
come from the written CSV through optional extras (``treatplan[parquet]``,
``treatplan[pandas]``, ``treatplan[polars]``), read in batches.

Columns (one row per client / client-session / lifecycle transition) are
:data:`TABLES`. Empty cells are empty in CSV and ``null`` in JSON Lines;
booleans are ``true``/``false`` in both.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from .._errors import ArgumentError
from ._engine import CLIENT_COLUMNS, EVENT_COLUMNS, SESSION_COLUMNS

__all__ = [
    "FORMATS",
    "TABLES",
    "TableWriter",
    "format_rows",
    "read_table",
    "to_dataframe",
    "write_parquet",
]

#: Table name -> its columns.
TABLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"clients": CLIENT_COLUMNS, "sessions": SESSION_COLUMNS, "events": EVENT_COLUMNS}
)
#: Formats written while simulating (file suffixes).
FORMATS = ("csv", "jsonl")

_INTEGER_COLUMNS = frozenset(
    {
        "intake_phq9",
        "intake_gad7",
        "waited_days",
        "sessions_offered",
        "sessions_attended",
        "reviews",
        "step",
        "baseline_phq9",
        "baseline_gad7",
        "last_phq9",
        "last_gad7",
        "first_reliable_improvement",
        "session",
        "phq9",
        "gad7",
        "seq",
    }
)
_BOOLEAN_COLUMNS = frozenset(
    {
        "started",
        "counted",
        "case_at_start",
        "recovered",
        "reliably_improved",
        "reliably_deteriorated",
        "reliable_recovery",
        "improved_by_session_8",
    }
)


def column_kind(column: str) -> str:
    """``"integer"``, ``"boolean"`` or ``"string"``: how to type a column when loading."""
    if column in _INTEGER_COLUMNS:
        return "integer"
    if column in _BOOLEAN_COLUMNS:
        return "boolean"
    return "string"


def _csv_cell(value: Any) -> Any:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def format_rows(table: str, rows: Iterable[Sequence[Any]], fmt: str) -> str:
    """Rows of ``table`` as CSV (no header) or JSON Lines text."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        return buffer.getvalue()
    if fmt == "jsonl":
        columns = TABLES[table]
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        return "".join(
            dumps({c: (None if v == "" else v) for c, v in zip(columns, row, strict=True)}) + "\n"
            for row in rows
        )
    raise ArgumentError("fmt", f"one of {', '.join(FORMATS)}")


class TableWriter:
    """Open ``<out_dir>/<table>.<format>`` files and append formatted text to them."""

    def __init__(self, out_dir: Path, formats: Sequence[str] = FORMATS) -> None:
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown:
            raise ArgumentError("formats", f"formats among {', '.join(FORMATS)}")
        out_dir.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []
        self._files: dict[tuple[str, str], IO[str]] = {}
        for table, columns in TABLES.items():
            for fmt in formats:
                path = out_dir / f"{table}.{fmt}"
                handle = path.open("w", encoding="utf-8", newline="")
                if fmt == "csv":
                    handle.write(",".join(columns) + "\n")
                self._files[table, fmt] = handle
                self.paths.append(path)

    def write(self, table: str, fmt: str, text: str) -> None:
        """Append already formatted text."""
        self._files[table, fmt].write(text)

    def close(self) -> None:
        """Close every file."""
        for handle in self._files.values():
            handle.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Read a written table back (CSV as strings, JSON Lines as JSON values). Small runs only."""
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix == ".csv":
            return list(csv.DictReader(handle))
        return [json.loads(line) for line in handle]


def to_dataframe(out_dir: str | Path, table: str, library: str = "pandas") -> Any:
    """A written table as a pandas (default) or polars DataFrame (optional extras)."""
    path = Path(out_dir) / f"{table}.csv"
    if table not in TABLES:
        raise ArgumentError("table", f"one of {', '.join(TABLES)}")
    if library == "pandas":
        try:
            pd = importlib.import_module("pandas")
        except ImportError:
            raise ImportError("pandas is needed: pip install 'treatplan[pandas]'") from None
        return pd.read_csv(path, keep_default_na=True)
    if library == "polars":
        try:
            pl = importlib.import_module("polars")
        except ImportError:
            raise ImportError("polars is needed: pip install 'treatplan[polars]'") from None
        return pl.read_csv(path)
    raise ArgumentError("library", "'pandas' or 'polars'")


def write_parquet(out_dir: str | Path) -> list[Path]:
    """Convert each written CSV table in ``out_dir`` to Parquet, streaming in batches."""
    try:
        pa_csv = importlib.import_module("pyarrow.csv")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ImportError("pyarrow is needed: pip install 'treatplan[parquet]'") from None
    written: list[Path] = []
    for table in TABLES:
        source = Path(out_dir) / f"{table}.csv"
        target = source.with_suffix(".parquet")
        pa = importlib.import_module("pyarrow")
        kinds = {"integer": pa.int64(), "boolean": pa.bool_(), "string": pa.string()}
        # Explicit types: batches are read one at a time, so inference could disagree.
        options = pa_csv.ConvertOptions(
            column_types={c: kinds[column_kind(c)] for c in TABLES[table]},
            true_values=["true"],
            false_values=["false"],
            strings_can_be_null=True,
        )
        reader = pa_csv.open_csv(source, convert_options=options)
        with pq.ParquetWriter(target, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        written.append(target)
    return written


def write_json(path: Path, data: Any) -> None:
    """Write indented JSON (NaN as null)."""
    path.write_text(json.dumps(_no_nan(data), indent=2) + "\n", encoding="utf-8")


def _no_nan(data: Any) -> Any:
    if isinstance(data, float) and data != data:
        return None
    if isinstance(data, dict):
        return {k: _no_nan(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_no_nan(v) for v in data]
    return data
