"""The ``treatplan`` command line (also ``python -m treatplan``).

Each sub-command lives in a module with ``register(subparsers)`` that adds its
parser and sets ``func`` to a callable taking the parsed arguments and returning
an exit code. :data:`_COMMAND_MODULES` lists them, in help order.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._errors import TreatplanError, ValidationError

#: Modules that define sub-commands (each has ``register(subparsers)``).
_COMMAND_MODULES: tuple[str, ...] = (
    "treatplan._cli_core",
    "treatplan._cli_review",
    "treatplan._cli_schema",
    "treatplan._cli_fhir",
    "treatplan._cli_simulate",
)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="treatplan",
        description="Typed psychotherapy treatment plans: validate, inspect, review, simulate.",
    )
    parser.add_argument("--version", action="version", version=f"treatplan {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def read_plan_text(path: str) -> str:
    """Read a plan document as UTF-8 (a leading byte-order mark is allowed), ``-`` for stdin.

    Raises :class:`ValidationError` for bytes that are not UTF-8.
    """
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # a text stream without bytes underneath (e.g. io.StringIO)
            return sys.stdin.read().removeprefix("\ufeff")
        data: bytes = raw.read()
    else:
        data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError.at("$", "UTF-8 text") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ValidationError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except TreatplanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away, e.g. `treatplan review x | head`
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
