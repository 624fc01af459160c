"""Core sub-commands: ``validate``, ``show`` and ``lifecycle``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._cli import EXIT_OK, PLAN_HELP, PLAN_METAVAR, PlanFileError, load_plan
from ._lifecycle import TRANSITIONS, mermaid
from ._summary import summary


def register(subparsers: Any) -> None:

    p = subparsers.add_parser(
        "validate",
        help="check plan documents; exit 0 when all are valid",
        description=(
            "Check plan documents. Each problem goes to stderr as PLAN: JSONPATH: expected "
            "WHAT. Exit 0 when all are valid, 1 when one is not, 2 when one cannot be read."
        ),
    )
    p.add_argument("plans", nargs="+", metavar=PLAN_METAVAR, help=PLAN_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")
    p.set_defaults(func=_validate)

    p = subparsers.add_parser("show", help="print a readable summary of a plan")
    p.add_argument("plan", metavar=PLAN_METAVAR, help=PLAN_HELP)
    p.set_defaults(func=_show)

    p = subparsers.add_parser("lifecycle", help="print the lifecycle transition table")
    p.add_argument(
        "--mermaid",
        action="store_true",
        help="as a Mermaid state diagram (the default is a table)",
    )
    p.set_defaults(func=_lifecycle)


def _validate(args: argparse.Namespace) -> int:

    code = EXIT_OK
    for name in args.plans:
        try:
            load_plan(name)
        except PlanFileError as exc:
            # The worst outcome decides: a file that cannot be read (2) over an invalid one (1).
            code = max(code, exc.exit_code)
            for line in exc.lines:
                print(line, file=sys.stderr)
        else:
            if not args.quiet:
                # Output the user asked for, not an error: the file as they named it.
                print(f"{'<stdin>' if name == '-' else name}: valid")
    return code


def _show(args: argparse.Namespace) -> int:

    print(summary(load_plan(args.plan)))
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
