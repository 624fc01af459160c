"""What refusing duplicate object keys would cost ``treatplan.loads``.

RFC 8259 says the names in a JSON object SHOULD be unique; Python's json keeps the
last value of a repeated name. Refusing duplicates needs an ``object_pairs_hook``,
a Python call for every object in the document. This measures ``treatplan.loads``
of the largest example plan (18 KB) with the library's decoder against the same
call with a decoder that refuses duplicates, and the JSON parse alone both ways,
runs interleaved (A B A B ...), medians of the repeats.

The decision rule (docs/schema.md): refuse duplicates if it costs under 5% of
``loads``; otherwise document the behaviour. Measured on the development machine
(2 shared cores, three runs): the parse alone takes 1.4-1.8x as long, which adds
10-16% to ``loads``, so treatplan documents the behaviour.

Run::

    python benchmarks/bench_duplicate_keys.py       # add --quick for a smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import treatplan as tp
from treatplan import _json

ROOT = Path(__file__).resolve().parent.parent


class _Duplicate(ValueError):
    """An object repeats a name."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) != len(pairs):
        raise _Duplicate
    return made


PLAIN = _json._DECODER
CHECKING = json.JSONDecoder(parse_constant=_json._reject_constant, object_pairs_hook=_unique)


def _loads_with(decoder: json.JSONDecoder, text: str) -> Callable[[], object]:
    def run() -> object:
        _json._DECODER = decoder
        try:
            return tp.loads(text)
        finally:
            _json._DECODER = PLAIN

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    quick = parser.parse_args().quick
    number, repeat = (20, 3) if quick else (200, 15)
    largest = max((ROOT / "examples").glob("*.json"), key=lambda p: p.stat().st_size)
    text = largest.read_text(encoding="utf-8")
    fns: dict[str, Callable[[], object]] = {
        "loads": _loads_with(PLAIN, text),
        "loads_refusing_duplicates": _loads_with(CHECKING, text),
        "parse": lambda: PLAIN.decode(text),
        "parse_refusing_duplicates": lambda: CHECKING.decode(text),
    }
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            runs[name].append(timeit.timeit(fn, number=number) / number)
    us = {name: statistics.median(times) * 1e6 for name, times in runs.items()}
    print(
        f"{largest.name} ({len(text.encode()):,} bytes): loads {us['loads']:.0f} us, "
        f"refusing duplicates {us['loads_refusing_duplicates']:.0f} us "
        f"({100 * (us['loads_refusing_duplicates'] / us['loads'] - 1):+.1f}%); "
        f"JSON parse alone {us['parse']:.0f} us vs {us['parse_refusing_duplicates']:.0f} us "
        f"({us['parse_refusing_duplicates'] / us['parse']:.2f}x)"
    )
    # The parse is the only part that changes; its extra time over loads is the steadier
    # figure on a busy machine, where two whole loads vary by more than the difference.
    extra = (us["parse_refusing_duplicates"] - us["parse"]) / us["loads"]
    print(f"extra parse time as a share of loads: {100 * extra:+.1f}% (decision threshold 5%)")


if __name__ == "__main__":
    main()
