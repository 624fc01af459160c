"""A builder of measured plans shared by the alert, review and measure-rule tests.

Not a test module (no ``test_`` prefix): pytest puts ``tests/`` on ``sys.path``, so the
test files import it as ``measured_plans``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import treatplan as tp

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SECRET = "SENTINEL-free-text"  # clinical free text that must never reach an output


def week(n: int) -> datetime:
    """Week ``n`` of the episode; week 0 is the assessment."""
    return T0 + timedelta(weeks=n, days=1)


def _assessment(code: str, n: int, value: object) -> tp.Assessment:
    prefix = code.lower().replace("-", "")
    if isinstance(value, tuple):
        return tp.Assessment(f"{prefix}-{n:02d}", code, week(n), items=value)
    return tp.Assessment(f"{prefix}-{n:02d}", code, week(n), total=value)  # type: ignore[arg-type]


def build(
    *,
    phq9: Sequence[object] = (),
    gad7: Sequence[object] = (),
    srs: Sequence[object] = (),
    attendance: Sequence[str] | None = None,
    criteria: tp.rules.Rule | None = None,
    modality: tp.Modality = tp.Modality.CBT,
    target_date: date = date(2026, 6, 30),
    targets: Sequence[tp.ObjectiveTarget] | None = None,
) -> tp.TreatmentPlan:
    """A plan with an intake at week 0 and weekly sessions from week 1.

    Score lists are indexed by week (entries: a total, a tuple of items, or None);
    ``attendance`` gives each session's attendance (default: all attended).
    """
    plan = tp.TreatmentPlan.refer("plan-t", "client-t", at=T0, by="gp", reason=SECRET)
    plan = tp.fire(plan, "begin_assessment", at=week(0), by="clin")
    for code, values in (("PHQ-9", phq9), ("GAD-7", gad7), ("SRS", srs)):
        if values and values[0] is not None:
            plan = tp.record_assessment(plan, _assessment(code, 0, values[0]))
    if not plan.all_assessments():
        plan = tp.record_assessment(plan, _assessment("PHQ-9", 0, 15))
    chosen = (
        targets if targets is not None else [tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10)]
    )
    objectives = tuple(
        tp.Objective(f"obj-{i}", SECRET, target, target_date) for i, target in enumerate(chosen)
    )
    plan = tp.revise(
        plan,
        presenting_problems=[tp.PresentingProblem("prob", SECRET)],
        goals=[tp.Goal("goal", SECRET, tp.GoalDomain.EMOTIONAL_WELLBEING, objectives)],
        interventions=[
            tp.Intervention(
                "int",
                modality,
                SECRET,
                serves=tuple(o.id for o in objectives),
                schedule=tp.Schedule(week(1), "FREQ=WEEKLY;COUNT=20"),
            )
        ],
        discharge_criteria=criteria,
    )
    plan = tp.fire(plan, "agree_plan", at=week(0) + timedelta(hours=1), by="clin")
    weeks = max(len(phq9), len(gad7), len(srs)) - 1
    if attendance is None:
        attendance = ["attended"] * max(weeks, 0)
    for n, status in enumerate(attendance, start=1):
        taken: list[tp.Assessment] = []
        if status == "attended":
            for code, values in (("PHQ-9", phq9), ("GAD-7", gad7), ("SRS", srs)):
                if n < len(values) and values[n] is not None:
                    taken.append(_assessment(code, n, values[n]))
        plan = tp.record_session(
            plan,
            tp.Session(
                f"sess-{n:02d}",
                week(n),
                tp.Attendance(status),
                interventions=("int",) if status == "attended" else (),
                assessments=tuple(taken),
                note=SECRET if status == "attended" else None,
            ),
        )
    return plan
