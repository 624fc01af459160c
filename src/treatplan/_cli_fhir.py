"""The ``fhir`` sub-command: write a plan as FHIR, or read other systems' FHIR.

* ``treatplan fhir PLAN [--fhir-version R4|R5] [--bundle collection|transaction]
  [--questionnaire-responses]`` prints the Bundle;
* ``treatplan fhir import-measures PLAN SOURCE [--subject REF] [--out FILE]`` adds the
  measures of the plan's client in a FHIR document to a plan and writes the plan JSON;
* ``treatplan fhir import-plan SOURCE [--out FILE]`` builds a plan from another
  system's CarePlan, Goals and Conditions.

Reports of what was skipped or refused go to stderr, one line each, with paths.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cli import CliParser, file_error, load_plan, read_json
from ._errors import ValidationError
from ._fhir import to_fhir
from ._fhir_import import import_measures
from ._fhir_plan import plan_from_fhir
from ._json import dumps

_ACTIONS = ("import-measures", "import-plan")


def _upper(text: str) -> str:
    return text.upper()


def _lower(text: str) -> str:
    return text.lower()


class _FhirParser(CliParser):
    """``fhir PLAN`` exports; ``fhir import-measures ...`` and ``fhir import-plan ...``
    are actions of their own (argparse cannot mix a positional with sub-commands)."""

    actions: dict[str, argparse.ArgumentParser]

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        argv = list(sys.argv[1:] if args is None else args)
        if argv and argv[0] in _ACTIONS:
            return self.actions[argv[0]].parse_known_args(argv[1:], namespace)
        return super().parse_known_args(argv, namespace)


def register(subparsers: Any) -> None:
    saved = subparsers._parser_class
    subparsers._parser_class = _FhirParser
    try:
        p = subparsers.add_parser(
            "fhir",
            help="print a plan as a FHIR Bundle; import measures or plans from FHIR",
            description=(
                "Print the plan as a FHIR Bundle: EpisodeOfCare, CarePlan, Conditions, Goals, "
                "Observations (and ServiceRequests in R5). Also: 'fhir import-measures PLAN "
                "SOURCE' and 'fhir import-plan SOURCE' (each has --help)."
            ),
        )
    finally:
        subparsers._parser_class = saved
    p.add_argument("plan", metavar="PLAN", help="a plan JSON file ('-' for stdin)")
    p.add_argument(
        "--fhir-version",
        type=_upper,
        choices=("R4", "R5"),
        default="R4",
        help="FHIR release to write, any case (default: R4)",
    )
    p.add_argument(
        "--bundle",
        type=_lower,
        choices=("collection", "transaction"),
        default="collection",
        help="Bundle type: a transaction has PUT requests a server accepts (default: collection)",
    )
    p.add_argument(
        "--questionnaire-responses",
        action="store_true",
        help="also write a QuestionnaireResponse per assessment with item responses",
    )
    p.set_defaults(func=_export)

    measures = CliParser(
        prog="treatplan fhir import-measures",
        description=(
            "Add the LOINC-coded measures (Observations, QuestionnaireResponses) in a FHIR "
            "Bundle, resource or array to a plan, in time order, and write the plan JSON. "
            "Skipped and refused resources are listed on stderr with their paths."
        ),
    )
    measures.add_argument("plan", metavar="PLAN", help="a plan JSON file ('-' for stdin)")
    measures.add_argument("source", metavar="SOURCE", help="a FHIR JSON file ('-' for stdin)")
    measures.add_argument(
        "--subject",
        metavar="REF",
        help=(
            "how SOURCE names the plan's client, a reference (Patient/123) or an "
            "identifier (system|value); measures of any other subject are not imported"
        ),
    )
    measures.add_argument("--out", metavar="FILE", help="write the plan here, not to stdout")
    measures.set_defaults(func=_import_measures)

    plans = CliParser(
        prog="treatplan fhir import-plan",
        description=(
            "Build a plan from another system's CarePlan, Goals, Conditions (and "
            "EpisodeOfCare) and write the plan JSON. What could not be carried is listed "
            "on stderr with its path."
        ),
    )
    plans.add_argument("source", metavar="SOURCE", help="a FHIR JSON file ('-' for stdin)")
    plans.add_argument("--out", metavar="FILE", help="write the plan here, not to stdout")
    plans.set_defaults(func=_import_plan)
    p.actions = {"import-measures": measures, "import-plan": plans}


def _export(args: argparse.Namespace) -> int:

    plan = load_plan(args.plan)
    bundle = to_fhir(
        plan,
        args.fhir_version,
        bundle=args.bundle,
        questionnaire_responses=args.questionnaire_responses,
    )
    sys.stdout.write(json.dumps(bundle, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return 0


def _write_plan(plan: Any, out: str | None) -> None:

    text = dumps(plan) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        _replace(Path(out), text)
    except OSError as exc:  # named by the --out given, never the temporary file
        raise file_error(out, exc) from None


def _replace(target: Path, text: str) -> None:
    """Write ``target`` whole or not at all: a temporary file beside it, then a rename,
    so a failed write (a full disk, a file size limit) leaves the old file intact."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private: give it the mode the file had, or a new one's.
        if target.exists():
            mode = stat.S_IMODE(target.stat().st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _report(report: Any) -> None:
    for note in report.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    for note in report.refused:
        print(f"refused: {note}", file=sys.stderr)


def _import_measures(args: argparse.Namespace) -> int:

    plan = load_plan(args.plan)
    source = read_json(args.source)
    try:
        updated, report = import_measures(plan, source, subject=args.subject)
    except ValidationError as exc:  # a problem in the FHIR document: name its file
        raise file_error(args.source, exc) from None
    _write_plan(updated, args.out)
    _report(report)
    print(f"imported {len(report.imported)} assessment(s)", file=sys.stderr)
    return 1 if report.refused else 0


def _import_plan(args: argparse.Namespace) -> int:

    source = read_json(args.source)
    try:
        plan, report = plan_from_fhir(source)
    except ValidationError as exc:
        raise file_error(args.source, exc) from None
    _write_plan(plan, args.out)
    _report(report)
    return 1 if report.refused else 0
