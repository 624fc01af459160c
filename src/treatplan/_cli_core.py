"""Core sub-commands: ``validate``, ``show`` and ``lifecycle``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._errors import ValidationError
from ._json import loads
from ._lifecycle import TRANSITIONS, allowed_events, mermaid
from ._model import TreatmentPlan


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


def summary(plan: TreatmentPlan) -> str:
    """A readable, multi-line summary of a plan (it includes the plan's clinical text)."""
    out: list[str] = []
    add = out.append
    phase = plan.phase.value + (f" ({plan.outcome.value})" if plan.outcome else "")
    add(f"Plan {plan.plan_id} for client {plan.client_ref}: {phase}")
    add(f"  referred {plan.history[0].at:%Y-%m-%d}, last change {plan.last_event_at:%Y-%m-%d}")
    if plan.presenting_problems:
        add("Presenting problems:")
        for p in plan.presenting_problems:
            dx = f" [{p.diagnosis.system.value} {p.diagnosis.code}]" if p.diagnosis else ""
            add(f"  - {p.description}{dx}")
    if plan.goals:
        add("Goals:")
        for g in plan.goals:
            add(f"  - {g.statement} ({g.domain.value})")
            for o in g.objectives:
                achievement = f", {o.achievement.value}" if o.achievement else ""
                add(f"      * {o.description} by {o.target_date} [{o.status.value}{achievement}]")
    if plan.interventions:
        add("Interventions:")
        for i in plan.interventions:
            when = f", {i.schedule.rrule}" if i.schedule else ""
            add(f"  - {i.modality.value}: {i.technique} ({i.format.value}{when})")
    attended = len(plan.attended_sessions)
    add(f"Sessions: {len(plan.sessions)} scheduled, {attended} attended")
    codes = sorted({a.instrument for a in plan.all_assessments()})
    for code in codes:
        scores = [_total(plan, a) for a in plan.scores(code)]
        shown = " -> ".join("?" if s is None else f"{s:g}" for s in scores)
        add(f"  {code}: {shown}")
    if plan.reviews:
        last = plan.reviews[-1]
        nxt = f", next {last.next_review}" if last.next_review else ""
        decided = last.decision.value
        add(f"Reviews: {len(plan.reviews)}, last {last.at:%Y-%m-%d} decided {decided}{nxt}")
    add("History:")
    for t in plan.history:
        source = t.source.value if t.source else "-"
        add(f"  {t.at:%Y-%m-%d %H:%M%z}  {t.event:<18} {source} -> {t.target.value}  by {t.by}")
    nxt_events = [c.event.value for c in allowed_events(plan) if c.allowed]
    add("Next: " + (", ".join(nxt_events) or "nothing"))
    return "\n".join(out)


def _total(plan: TreatmentPlan, assessment: Any) -> float | None:
    if assessment.total is not None:
        return float(assessment.total)
    items = assessment.items
    if items is None or any(i is None for i in items):
        return None
    return float(sum(items))


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
