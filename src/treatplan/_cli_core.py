"""Core sub-commands: ``validate``, ``show`` and ``lifecycle``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._errors import ValidationError
from ._json import loads
from ._lifecycle import TRANSITIONS, mermaid
from ._model import TreatmentPlan
from ._summary import summary


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check plan documents; exit 0 when all are valid, 1 otherwise",
        description="Check plan documents. Each problem goes to stderr with its JSON path.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="plan JSON files ('-' for stdin)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")
    p.set_defaults(func=_validate)

    p = subparsers.add_parser("show", help="print a readable summary of a plan")
    p.add_argument("file", metavar="FILE", help="a plan JSON file ('-' for stdin)")
    p.set_defaults(func=_show)

    p = subparsers.add_parser("lifecycle", help="print the lifecycle transition table")
    p.add_argument(
        "--mermaid",
        action="store_true",
        help="as a Mermaid state diagram (the default is a table)",
    )
    p.set_defaults(func=_lifecycle)


def _validate(args: argparse.Namespace) -> int:
    from ._cli import read_plan_text

    failed = 0
    for name in args.files:
        try:
            loads(read_plan_text(name))
        except ValidationError as exc:
            failed += 1
            for problem in exc.problems:
                print(f"{name}: {problem}", file=sys.stderr)
        except (OSError, UnicodeDecodeError) as exc:
            failed += 1
            print(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        else:
            if not args.quiet:
                print(f"{name}: valid")
    return 1 if failed else 0


def _show(args: argparse.Namespace) -> int:
    from ._cli import read_plan_text

    plan: TreatmentPlan = loads(read_plan_text(args.file))
    print(summary(plan))
    return 0


def _lifecycle(args: argparse.Namespace) -> int:
    if args.mermaid:
        sys.stdout.write(mermaid())
        return 0
    width = max(len(e) for e in TRANSITIONS)
    for spec in TRANSITIONS.values():
        sources = ", ".join(sorted(p.value for p in spec.sources)) or "(new plan)"
        outcome = f" [{spec.outcome.value}]" if spec.outcome else ""
        guards = ", ".join(g.__name__.strip("_").replace("_", " ") for g in spec.guards)
        guard_text = f"  guards: {guards}" if guards else ""
        print(
            f"{spec.event.value:<{width}}  {sources} -> {spec.target.value}{outcome}{guard_text}"
        )
    return 0
