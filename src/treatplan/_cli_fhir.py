"""The ``fhir`` sub-command: print a plan as a FHIR R4 or R5 Bundle (JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "fhir",
        help="print a plan as a FHIR Bundle (R4 or R5 JSON)",
        description=(
            "Print the plan as a FHIR Bundle: EpisodeOfCare, CarePlan, Conditions, "
            "Goals, Observations (and ServiceRequests in R5)."
        ),
    )
    p.add_argument("file", metavar="PLAN", help="a plan JSON file ('-' for stdin)")
    p.add_argument(
        "--version",
        choices=("R4", "R5"),
        default="R4",
        dest="fhir_version",
        help="FHIR release to write (default: R4)",
    )
    p.set_defaults(func=_fhir)


def _fhir(args: argparse.Namespace) -> int:
    from ._cli import read_plan_text
    from ._fhir import to_fhir
    from ._json import loads
    from ._model import TreatmentPlan

    plan: TreatmentPlan = loads(read_plan_text(args.file))
    bundle = to_fhir(plan, args.fhir_version)
    sys.stdout.write(json.dumps(bundle, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return 0
