"""A readable, plain-text summary of a plan (what ``treatplan show`` prints)."""

from __future__ import annotations

from ._lifecycle import allowed_events
from ._model import TreatmentPlan, check_plan
from ._state import live_objectives, objective_achievement, state_of

__all__ = ["summary"]


def summary(plan: TreatmentPlan) -> str:
    """A readable, multi-line summary of a plan (it includes the plan's clinical text)."""
    check_plan(plan)
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
        live = live_objectives(plan)
        for g in plan.goals:
            add(f"  - {g.statement} ({g.domain.value})")
            for o in g.objectives:
                if o not in live:  # no longer an aim: its scores judge nothing
                    add(f"      * {o.description} by {o.target_date} [{o.status.value}]")
                    continue
                found = objective_achievement(plan, o)
                judged = "achieved" if found.achieved else "not achieved"
                add(
                    f"      * {o.description} by {o.target_date} "
                    f"[{o.status.value}; {judged}: {found.detail}]"
                )
    if plan.interventions:
        add("Interventions:")
        for i in plan.interventions:
            when = f", {i.schedule.rrule}" if i.schedule else ""
            add(f"  - {i.modality.value}: {i.technique} ({i.format.value}{when})")
    state = state_of(plan)
    attended = state.attended(state.n_sessions)
    add(f"Sessions: {len(plan.sessions)} scheduled, {attended} attended")
    for code in sorted(state.codes()):
        totals = [p.score.total for p in state.series(code).points()]
        shown = " -> ".join("?" if t is None else f"{t:g}" for t in totals)
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
