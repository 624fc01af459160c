"""``treatplan schema``: print the JSON Schema of a plan document."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._model import SCHEMA_VERSION
from ._schema import shipped_schema_text


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the JSON Schema (draft 2020-12) of a plan document",
        description=(
            "Print the JSON Schema (draft 2020-12) of a plan document, as shipped in the "
            "package. Validate documents at your own borders with it; treatplan.loads "
            "checks more (references between parts, the lifecycle history)."
        ),
    )
    p.add_argument(
        "--schema-version",
        type=_schema_version,
        default=SCHEMA_VERSION,
        metavar="N",
        help=f"the schema of document version N (default {SCHEMA_VERSION}, the current one)",
    )
    p.set_defaults(func=_schema)


def _schema_version(text: str) -> int:
    try:
        version = int(text)
    except ValueError:
        version = 0
    if not 1 <= version <= SCHEMA_VERSION:
        raise argparse.ArgumentTypeError(
            f"expected a schema version from 1 to {SCHEMA_VERSION} (those this release ships)"
        )
    return version


def _schema(args: argparse.Namespace) -> int:

    sys.stdout.write(shipped_schema_text(args.schema_version))
    return 0
