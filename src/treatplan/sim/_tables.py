"""Tidy output tables: clients, sessions and events, as CSV, JSON Lines or Parquet.

CSV and JSON Lines are written with the standard library, row by row as results
arrive, so memory stays bounded. Parquet (``treatplan[parquet]``) is converted
from the CSV in batches. Reading back gives typed values: :func:`read_table`
without extras, :func:`to_dataframe` as a pandas or polars DataFrame with real
dtypes (nullable integers and booleans, dates, UTC datetimes, categoricals).
Every column's type, unit and values come from the codebook
(:data:`~treatplan.sim.CODEBOOK`).

Columns (one row per client / client-session / lifecycle transition) are
:data:`TABLES`. Empty cells are empty in CSV and ``null`` in JSON Lines and
Parquet; booleans are ``true``/``false``.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from .._errors import ArgumentError, ValidationError
from . import _checks as checks
from ._codebook import CODEBOOK
from ._engine import CLIENT_COLUMNS, EVENT_COLUMNS, SESSION_COLUMNS

if TYPE_CHECKING:  # the optional extras, for the types of the frames only
    import pandas  # type: ignore[import-untyped,unused-ignore]  # typed by pandas-stubs
    import polars

__all__ = [
    "DEFAULT_FORMATS",
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
#: Table formats a run can write (file suffixes).
FORMATS = ("csv", "jsonl", "parquet")
#: What a run writes unless told otherwise.
DEFAULT_FORMATS = ("csv",)
#: Formats written as text while simulating (Parquet is converted from CSV).
TEXT_FORMATS = ("csv", "jsonl")

_TYPES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {table: {c.name: c.type for c in columns} for table, columns in CODEBOOK.items()}
)
_CATEGORIES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        table: {c.name: c.values for c in columns if c.type == "category"}
        for table, columns in CODEBOOK.items()
    }
)


def column_kind(table: str, column: str) -> str:
    """The codebook type of ``column`` in ``table`` (one of ``COLUMN_TYPES``)."""
    return _TYPES[table][column]


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """``formats`` as a tuple, or :class:`ArgumentError` naming the known ones."""
    if (
        not isinstance(formats, list | tuple)
        or not formats
        or not all(isinstance(f, str) for f in formats)
        or set(formats) - set(FORMATS)
    ):
        raise ArgumentError("formats", f"a non-empty list among {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(formats))


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
    raise ArgumentError("fmt", f"one of {', '.join(TEXT_FORMATS)}")


class TableWriter:
    """Open ``<out_dir>/<table>.<format>`` files and append formatted text to them."""

    def __init__(self, out_dir: Path, formats: Sequence[str] = DEFAULT_FORMATS) -> None:
        out_dir = checks.folder("out_dir", out_dir)
        if not isinstance(formats, list | tuple) or not all(
            isinstance(f, str) and f in TEXT_FORMATS for f in formats
        ):
            raise ArgumentError("formats", f"formats among {', '.join(TEXT_FORMATS)}")
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


def _table_of(path: Path) -> str:
    table = path.name.split(".", 1)[0]
    if table not in TABLES or path.suffix[1:] not in FORMATS:
        raise ArgumentError(
            "path",
            f"a table file named <table>.<format>, table among {', '.join(TABLES)} "
            f"and format among {', '.join(FORMATS)}",
        )
    return table


#: What each codebook type takes, for messages about a damaged table.
_KIND_TEXT = MappingProxyType(
    {
        "integer": "an integer",
        "boolean": "true or false",
        "date": "a date (YYYY-MM-DD)",
        "datetime": "a date and time (ISO 8601)",
    }
)


_FLAGS = MappingProxyType({"true": True, "false": False})


def _typed(kind: str, text: str) -> Any:
    """A CSV cell (or a JSON string) as the Python value of its codebook type.

    Raises ``ValueError`` (``KeyError`` for a boolean) for text that is not of the
    type: the caller names the cell.
    """
    if text == "":
        return None
    if kind == "integer":
        return int(text)
    if kind == "boolean":
        return _FLAGS[text]  # a KeyError for other text
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    return text


def _text(value: Any) -> str:
    """A JSON Lines value as its CSV cell."""
    if value is None:
        return ""
    return str(_csv_cell(value))


def _damaged(table: str, where: str = "", expected: str = "") -> ValidationError:
    """A damaged table, named by its table, row and column (codebook names, never the
    file's path or its content)."""
    return ValidationError.at(
        f"{table}{where}", expected or f"a {table} table as treatplan writes it"
    )


def _text_rows(path: Path, table: str) -> Iterator[dict[str, str]]:
    """Rows of a CSV or JSON Lines table, every cell as its CSV text.

    Raises :class:`ValidationError` at ``<table>[row]`` (rows from 0, after a CSV's
    header) for a row that is not one cell per codebook column.
    """
    columns = TABLES[table]
    row = -1
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix == ".csv":
                reader = csv.reader(handle)
                if next(reader, None) != list(columns):
                    raise _damaged(table, ".header", "the codebook's columns, in order")
                for row, cells in enumerate(reader):
                    if len(cells) != len(columns):
                        raise _damaged(table, f"[{row}]", f"{len(columns)} cells, one per column")
                    yield dict(zip(columns, cells, strict=True))
            else:
                for row, line in enumerate(handle):
                    yield _json_row(table, row, line)
    except UnicodeDecodeError:  # read in blocks: no row to name
        raise _damaged(table, "", "UTF-8 text") from None
    except csv.Error:
        raise _damaged(table, f"[{row + 1}]", "a well-formed CSV row") from None


#: The JSON values a JSON Lines table holds.
_JSON_CELLS = (str, int, type(None))


def _json_row(table: str, row: int, line: str) -> dict[str, str]:
    columns = TABLES[table]
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        raise _damaged(table, f"[{row}]", "a JSON object on each line") from None
    if not isinstance(data, dict) or list(data) != list(columns):
        raise _damaged(table, f"[{row}]", "an object with the codebook's columns, in order")
    for name, value in data.items():
        if not isinstance(value, _JSON_CELLS):  # bool is an int
            raise _damaged(table, f"[{row}].{name}", "text, an integer, true, false or null")
    return {k: _text(v) for k, v in data.items()}


def _typed_rows(path: Path, table: str) -> list[dict[str, Any]]:
    kinds = _TYPES[table]
    rows = []
    for row, cells in enumerate(_text_rows(path, table)):
        typed = {}
        for name, text in cells.items():
            try:
                typed[name] = _typed(kinds[name], text)
            except (ValueError, KeyError):
                raise _damaged(table, f"[{row}].{name}", _KIND_TEXT[kinds[name]]) from None
        rows.append(typed)
    return rows


def _parquet_rows(path: Path, table: str) -> list[dict[str, Any]]:
    pa = _import("pyarrow", "parquet")
    pq = _import("pyarrow.parquet", "parquet")
    try:
        data = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError):  # its messages name the file
        raise _damaged(table, "", f"a Parquet {table} table as treatplan writes it") from None
    if data.column_names != list(TABLES[table]):
        raise _damaged(table, ".header", "the codebook's columns, in order")
    rows: list[dict[str, Any]] = data.to_pylist()
    return rows


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Read a written table back as typed rows (no extras needed; small runs).

    Values take their codebook types: ``int``, ``bool``, :class:`~datetime.date`,
    :class:`~datetime.datetime` (UTC), ``str`` (categories too); an empty cell is
    ``None``. CSV and JSON Lines files of the same run read back equal. Parquet
    needs the ``parquet`` extra. A damaged table (not UTF-8, a row with other
    cells, a cell not of its column's type) raises
    :class:`treatplan.ValidationError` at ``<table>[row].<column>``.
    """
    path = checks.folder("path", path, "a table file (a str or os.PathLike)")
    table = _table_of(path)
    try:
        if path.suffix == ".parquet":
            return _parquet_rows(path, table)
        return _typed_rows(path, table)
    except OSError as exc:  # its message names the file
        reason = exc.strerror or type(exc).__name__
        raise ArgumentError("path", f"a readable table file ({reason})") from None


def _import(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".", 1)[0]
        raise ImportError(f"{package} is needed: pip install 'treatplan[{extra}]'") from None


def _find(out_dir: Path, table: str) -> Path:
    for fmt in FORMATS:
        path = out_dir / f"{table}.{fmt}"
        if path.exists():
            return path
    raise ArgumentError("out_dir", f"a run folder with a {table} table (csv, jsonl or parquet)")


@overload
def to_dataframe(
    out_dir: str | Path, table: str, library: Literal["pandas"] = "pandas"
) -> pandas.DataFrame: ...
@overload
def to_dataframe(
    out_dir: str | Path, table: str, library: Literal["polars"]
) -> polars.DataFrame: ...
def to_dataframe(
    out_dir: str | Path, table: str, library: Literal["pandas", "polars"] = "pandas"
) -> pandas.DataFrame | polars.DataFrame:
    """A written table as a pandas (default) or polars DataFrame with real dtypes.

    Reads ``<out_dir>/<table>.csv``, ``.jsonl`` or ``.parquet`` (the first that
    exists) and types every column from the codebook. pandas: ``Int64``,
    ``boolean`` (nullable), ``datetime64`` (dates), ``datetime64[..., UTC]``,
    ``category`` (with every codebook value as a category) and ``string``.
    polars: ``Int64``, ``Boolean``, ``Date``, ``Datetime`` (UTC), ``Enum`` and
    ``String``. Needs the ``pandas`` or ``polars`` extra (and ``parquet`` for
    Parquet files). A damaged table raises :class:`treatplan.ValidationError`
    naming the table (and its row and column when they can be found).
    """
    if not isinstance(table, str) or table not in TABLES:
        raise ArgumentError("table", f"one of {', '.join(TABLES)}")
    checks.folder("out_dir", out_dir)
    if not isinstance(library, str) or library not in ("pandas", "polars"):
        raise ArgumentError("library", "'pandas' or 'polars'")
    lib = _import(library, library)
    path = _find(Path(out_dir), table)
    if path.suffix == ".parquet":
        _import("pyarrow", "parquet")
    try:
        if library == "pandas":
            return _pandas(lib, path, table)
        return _polars(lib, path, table)
    except Exception:  # pandas', polars' and pyarrow's many errors, some naming the file
        failure = _damaged(table)
    # Only on failure: find the row and column to name (a valid table reads fast).
    read_table(path)
    raise failure


def _pandas(pd: Any, path: Path, table: str) -> Any:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        # Back to text, then through the same typing as CSV: one set of dtypes.
        text = {}
        for name in TABLES[table]:
            column = frame[name]
            kind = _TYPES[table][name]
            if kind == "datetime":
                column = column.map(lambda v: "" if v is pd.NaT or v is None else v.isoformat())
            text[name] = column.map(lambda v: "" if v is None or v != v else _text(v))
        frame = pd.DataFrame(text, dtype=object)
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        rows = list(_text_rows(path, table))
        frame = pd.DataFrame(rows, columns=list(TABLES[table]), dtype=object)
    return frame.assign(**{n: _pandas_column(pd, frame[n], table, n) for n in TABLES[table]})


def _pandas_column(pd: Any, text: Any, table: str, name: str) -> Any:
    kind = _TYPES[table][name]
    missing = text.mask(text == "")
    if kind == "integer":
        return pd.to_numeric(missing).astype("Int64")
    if kind == "boolean":
        flags = text.map({"true": True, "false": False})
        if (flags.isna() & (text != "")).any():  # not true, false or empty: damaged
            raise _damaged(table)  # to_dataframe then finds the row and column
        return flags.astype("boolean")
    if kind == "date":
        return pd.to_datetime(missing, format="%Y-%m-%d")
    if kind == "datetime":
        return pd.to_datetime(missing, format="ISO8601", utc=True)
    if kind == "category":
        return pd.Series(
            pd.Categorical(missing, categories=list(_CATEGORIES[table][name])), index=text.index
        )
    return missing.astype("string")


def _polars(pl: Any, path: Path, table: str) -> Any:
    columns = TABLES[table]
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        kinds = _TYPES[table]
        return frame.with_columns(
            *(
                pl.col(n).cast(pl.String).cast(pl.Enum(list(v)))
                for n, v in _CATEGORIES[table].items()
            ),
            *(pl.col(n).cast(pl.Datetime("us", "UTC")) for n in columns if kinds[n] == "datetime"),
        )
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema_length=0)
    else:
        rows = list(_text_rows(path, table))
        frame = pl.DataFrame(
            {n: [r[n] or None for r in rows] for n in columns},
            schema=dict.fromkeys(columns, pl.String),
        )
    flags = [n for n in columns if _TYPES[table][n] == "boolean"]
    not_flags = frame.select(
        (pl.col(n).is_not_null() & ~pl.col(n).is_in(["true", "false"])).any() for n in flags
    )
    if flags and any(not_flags.row(0)):  # not true, false or empty: damaged
        raise _damaged(table)  # to_dataframe then finds the row and column
    return frame.with_columns(_polars_column(pl, table, n) for n in columns)


def _polars_column(pl: Any, table: str, name: str) -> Any:
    kind = _TYPES[table][name]
    col = pl.col(name)
    if kind == "integer":
        return col.cast(pl.Int64)
    if kind == "boolean":
        return (
            pl.when(col == "true")
            .then(True)
            .when(col == "false")
            .then(False)
            .otherwise(None)
            .cast(pl.Boolean)
            .alias(name)
        )
    if kind == "date":
        return col.str.to_date("%Y-%m-%d")
    if kind == "datetime":
        return col.str.to_datetime("%Y-%m-%dT%H:%M:%S%z").dt.convert_time_zone("UTC")
    if kind == "category":
        return col.cast(pl.Enum(list(_CATEGORIES[table][name])))
    return col


def _arrow_type(pa: Any, kind: str) -> Any:
    return {
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("s", tz="UTC"),
        "category": pa.dictionary(pa.int32(), pa.string()),
        "string": pa.string(),
    }[kind]


def write_parquet(out_dir: str | Path) -> list[Path]:
    """Convert each written CSV table in ``out_dir`` to Parquet, streaming in batches.

    Columns get their codebook types (``int64``, ``bool``, ``date32``,
    ``timestamp[s, UTC]``, dictionary-encoded categories, ``string``).
    """
    folder = checks.folder("out_dir", out_dir)
    if not all((folder / f"{table}.csv").is_file() for table in TABLES):
        raise ArgumentError("out_dir", f"a run folder with the CSV tables ({', '.join(TABLES)})")
    pa = _import("pyarrow", "parquet")
    pa_csv = _import("pyarrow.csv", "parquet")
    pq = _import("pyarrow.parquet", "parquet")
    written: list[Path] = []
    for table in TABLES:
        source = Path(out_dir) / f"{table}.csv"
        target = source.with_suffix(".parquet")
        # Explicit types: batches are read one at a time, so inference could disagree.
        options = pa_csv.ConvertOptions(
            column_types={c: _arrow_type(pa, column_kind(table, c)) for c in TABLES[table]},
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
