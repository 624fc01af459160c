"""Measurement sub-commands: ``review`` (findings for a plan) and ``instruments`` (the catalogue).

The review report holds ids, codes, numbers and generated text only: no goal
statements, descriptions or notes from the plan.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from typing import Any

from ._cli import PLAN_HELP, PLAN_METAVAR, UsageError, load_plan
from ._errors import ArgumentError, ValidationError
from ._evaluation import Verdict
from ._instruments import Band, Direction, Instrument, instruments
from ._json import to_dict
from ._model import Phase, TreatmentPlan
from ._review import Findings, MeasureFinding, ReviewPolicy, review


def register(subparsers: Any) -> None:

    p = subparsers.add_parser(
        "review",
        help="review a plan: measures, change categories, alerts, ending rules, a decision",
        description=(
            "Review a plan as it stood at a moment: per objective and per measure "
            "findings, alerts, ending-rule verdicts, stepped-care advice and a "
            "suggested decision."
        ),
    )
    p.add_argument("plan", metavar=PLAN_METAVAR, help=PLAN_HELP)
    p.add_argument(
        "--as-of",
        metavar="DATE",
        type=_as_of_arg,
        help=(
            "review as of this ISO 8601 date (end of that day in the plan's time zone) "
            "or date-time with an offset; default: the closing time of a closed plan, "
            "else now"
        ),
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=_review)

    p = subparsers.add_parser("instruments", help="list the built-in instrument catalogue")
    p.add_argument("--json", action="store_true", help="print the definitions as JSON")
    p.set_defaults(func=_instruments)


def _as_of_arg(text: str) -> date | datetime:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO 8601 date (YYYY-MM-DD) or a date-time with an offset"
        ) from None
    if parsed.utcoffset() is None:
        raise argparse.ArgumentTypeError("expected a date-time with a UTC offset, e.g. +00:00")
    return parsed


def _as_of_refusal(error: ArgumentError | ValidationError) -> str | None:
    """What ``review`` expected of ``as_of``, if that is what it refused."""
    if isinstance(error, ArgumentError):
        return error.expected if error.parameter == "as_of" else None
    return next((p.expected for p in error.problems if p.path == "as_of"), None)


def resolve_as_of(plan: TreatmentPlan, given: date | datetime | None) -> datetime:
    """The moment to review ``plan`` at, from a command-line value."""
    if isinstance(given, datetime):
        return given
    if isinstance(given, date):
        return datetime.combine(given, time.max, tzinfo=plan.history[-1].at.tzinfo)
    if plan.phase is Phase.CLOSED:
        return plan.history[-1].at
    return datetime.now(UTC)


def _review(args: argparse.Namespace) -> int:

    plan = load_plan(args.plan)
    try:
        findings = review(plan, resolve_as_of(plan, args.as_of), ReviewPolicy(alert_log=True))
    except (ArgumentError, ValidationError) as exc:
        refused = _as_of_refusal(exc)
        if refused is None:
            raise
        raise UsageError("--as-of", refused) from None
    if args.json:
        print(json.dumps(to_dict(findings), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(report(findings))
    return 0


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "no")


def _num(value: float | None, spec: str = "g") -> str:
    return "-" if value is None else format(value, spec)


def report(findings: Findings) -> str:
    """A readable, multi-line review report (ids, codes and numbers only)."""
    out: list[str] = []
    add = out.append
    f = findings
    add(f"Review of plan {f.plan_id} as of {f.as_of.isoformat(timespec='minutes')}")
    add(f"  phase {f.phase.value}; stepped care: step {int(f.step.current)}")
    decision = f.suggestion.decision
    add(f"Suggested decision: {decision.value if decision is not None else 'none'}")
    for reason in f.suggestion.reasons:
        add(f"  - {reason}")

    add(f"Alerts ({len(f.alerts)}):" if f.alerts else "Alerts: none")
    for alert in f.alerts:
        add(f"  {alert.level.value.upper():<7} {alert.kind.value:<26} {alert.message}")
    if f.alert_log:
        add(f"Alert log ({len(f.alert_log)} raised by scores during the episode):")
        for alert in f.alert_log:
            when = alert.at.date().isoformat() if alert.at is not None else "-"
            add(f"  {when} {alert.level.value.upper():<7} {alert.kind.value:<26} {alert.message}")

    add("Measures:" if f.measures else "Measures: none scored")
    for m in f.measures:
        out.extend(_measure_lines(m))

    if f.objectives:
        add("Objectives:")
        for o in f.objectives:
            evidence = f" [{', '.join(o.evidence)}]" if o.evidence else ""
            add(
                f"  {o.objective:<20} {o.state.value:<12} by {o.target_date}: {o.detail}{evidence}"
            )

    a = f.attendance
    rate = f" ({a.rate:.0%})" if a.rate is not None else ""
    add(
        f"Attendance: {a.attended} of {a.offered} offered sessions attended{rate}; "
        f"{a.did_not_attend} did not attend, {a.cancelled_by_client} cancelled by the client, "
        f"{a.cancelled_by_service} by the service; {a.consecutive_missed} missed in a row"
    )

    if f.verdicts:
        add("Ending rules:")
        for verdict in f.verdicts:
            out.extend(_verdict_lines(verdict, "  "))
    else:
        add("Ending rules: the plan states no discharge criteria")

    tt = f.talking_therapies
    if tt is not None:
        counted = (
            "counts" if tt.counts else "not counted (" + "; ".join(tt.not_counted_because) + ")"
        )
        add(f"NHS Talking Therapies outcome: {counted}")
        add(
            f"  case at start {_yes(tt.case_at_start)}, recovered {_yes(tt.recovered)}, "
            f"reliable improvement {_yes(tt.reliable_improvement)}, "
            f"reliable deterioration {_yes(tt.reliable_deterioration)}, "
            f"reliable recovery {_yes(tt.reliable_recovery)}"
        )
    if f.gas_t_score is not None:
        add(f"GAS T-score: {f.gas_t_score:.1f}")
    due = f"due {f.review_due} ({f.review_status.value})" if f.review_due else "no review due"
    nxt = f"; next after a review now: {f.next_review}" if f.next_review else ""
    add(f"Review cadence: {due}{nxt}")
    return "\n".join(out)


def _measure_lines(m: MeasureFinding) -> list[str]:
    category = m.category.value if m.category is not None else "-"
    lines = [
        f"  {m.instrument}: baseline {_num(m.baseline)} -> latest {_num(m.latest)} "
        f"(change {_num(m.change, '+g')}), {category}; band {m.band or '-'}, "
        f"case {_yes(m.case)}, signal {m.signal.value if m.signal else '-'}"
    ]
    if len(m.trajectory) > 1:
        lines.append("    session  score  expected  band         signal")
        for t in m.trajectory:
            e = t.expected
            band = f"{e.lower:4.1f}-{e.upper:<4.1f}" if e is not None else "-"
            flags = f"  risk: {', '.join(t.risk_flags)}" if t.risk_flags else ""
            lines.append(
                f"    {t.session:>7}  {_num(t.total):>5}  "
                f"{_num(e.expected if e else None, '.1f'):>8}  {band:<11}  "
                f"{t.signal.value if t.signal else '-'}{flags}"
            )
    return lines


def _verdict_lines(verdict: Verdict, indent: str) -> list[str]:
    state = f"fired ({verdict.action.value})" if verdict.fired else "not fired"
    lines = [f"{indent}{verdict.rule}: {state}: {verdict.reason}"]
    for child in verdict.children:
        lines.extend(_verdict_lines(child, indent + "  "))
    return lines


def _instruments(args: argparse.Namespace) -> int:
    catalogue = instruments()
    if args.json:
        print(json.dumps([to_dict(i) for i in catalogue], indent=2, ensure_ascii=False))
        return 0
    for i in catalogue:
        print(_instrument_line(i))
    return 0


def band_range(band: Band) -> str:
    """A band's totals as its edges define them: ``10-20``, or ``>20-40`` for a band
    that starts strictly above its lower edge (WSAS's "> 20", Mundt et al. 2002)."""
    return f"{'>' if band.low_open else ''}{band.low:g}-{band.high:g}"


def _instrument_line(i: Instrument) -> str:
    direction = (
        "higher is worse" if i.direction is Direction.HIGHER_IS_WORSE else "higher is better"
    )
    parts = [
        f"{i.code}: {i.name}",
        f"  {i.item_count} items {i.item_min}-{i.item_max}, total {i.total_min}-{i.total_max}, "
        f"{direction}",
    ]
    if i.bands:
        parts.append("  bands: " + ", ".join(f"{band_range(b)} {b.label}" for b in i.bands))
    facts = []
    if i.caseness_cutoff is not None:
        facts.append(f"caseness {i.caseness_cutoff:g}")
    if i.reliable_change is not None:
        facts.append(f"reliable change {i.reliable_change:g}")
    if i.reverse_items:
        facts.append("reverse-scored items " + ", ".join(map(str, i.reverse_items)))
    for choice in i.item_choices:
        allowed = ", ".join(f"{value:g}" for value in choice.values)
        facts.append(f"item {choice.item} takes only {allowed}")
    if i.max_missing:
        facts.append(f"up to {i.max_missing} missing prorated")
    if i.risk_items:
        facts.append(
            "risk items "
            + ", ".join(f"{r.item} >= {r.threshold} ({r.flag})" for r in i.risk_items)
        )
    if i.loinc:
        facts.append(f"LOINC {i.loinc}")
    if facts:
        parts.append("  " + "; ".join(facts))
    if i.source:
        parts.append(f"  source: {i.source}")
    return "\n".join(parts)
