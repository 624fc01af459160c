"""An adolescent with anxiety and school avoidance, seen with their family.

A mid-treatment plan: individual CBT for anxiety plus fortnightly family
sessions, a school-attendance behaviour target, GAD-7 every session, one review
that revised the plan. Times carry a UTC+01:00 offset (British Summer Time).

Run it::

    python examples/adolescent_anxiety_family.py
    python examples/adolescent_anxiety_family.py --write examples/adolescent-anxiety-family.json
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta, timezone

import treatplan as tp

BST = timezone(timedelta(hours=1))
CLINICIAN = "clin-0107"
FAMILY_THERAPIST = "clin-0311"

GAD7_TOTALS = [16, 15, 15, 13, 12, 12, 10]  # intake, then sessions 1-6 (severe -> moderate)


def build_plan() -> tp.TreatmentPlan:
    """The plan as it stands after six weeks of treatment."""
    referred = datetime(2026, 4, 13, 14, 0, tzinfo=BST)
    plan = tp.TreatmentPlan.refer(
        "plan-2026-0317", "client-c81e02", at=referred, by="school-nurse-12"
    )
    assessed = referred + timedelta(days=10)
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=assessed, by=CLINICIAN)
    plan = tp.record_assessment(
        plan, tp.Assessment("gad7-intake", "GAD-7", assessed, items=(3, 2, 3, 2, 2, 2, 2))
    )
    plan = tp.record_assessment(
        plan, tp.Assessment("phq9-intake", "PHQ-9", assessed, items=(1, 1, 1, 2, 1, 1, 1, 0, 0))
    )
    start = datetime(2026, 5, 4, 16, 30, tzinfo=BST)
    plan = tp.revise(
        plan,
        presenting_problems=[
            tp.PresentingProblem(
                "prob-anxiety",
                "Worries constantly about school and feels sick on school mornings.",
                behavioural_definitions=(
                    "Missed two to three school days a week this term.",
                    "Stomach aches and headaches before school.",
                    "Seeks reassurance from parents many times each evening.",
                ),
                diagnosis=tp.Diagnosis("F41.1", tp.CodeSystem.ICD_10_CM),
            ),
            tp.PresentingProblem(
                "prob-family",
                "Arguments at home about going to school.",
                behavioural_definitions=("Mornings end in shouting most school days.",),
            ),
        ],
        goals=[
            tp.Goal(
                "goal-school",
                "Go to school without feeling sick every morning.",
                tp.GoalDomain.BEHAVIOUR_CHANGE,
                objectives=(
                    tp.Objective(
                        "obj-attendance",
                        "Attends school at least four days a week.",
                        tp.BehaviourTarget(
                            "school attendance",
                            tp.Comparator.AT_LEAST,
                            4,
                            "days",
                            tp.CountPeriod.WEEK,
                        ),
                        date(2026, 7, 17),
                    ),
                    tp.Objective(
                        "obj-gad7",
                        "GAD-7 total below the NHS Talking Therapies caseness cut-off of 8.",
                        tp.MeasureTarget("GAD-7", tp.Comparator.BELOW, 8),
                        date(2026, 7, 31),
                    ),
                ),
                addresses=("prob-anxiety",),
            ),
            tp.Goal(
                "goal-home",
                "Fewer fights at home in the morning.",
                tp.GoalDomain.RELATIONSHIPS,
                objectives=(
                    tp.Objective(
                        "obj-mornings",
                        "Calm school mornings most days (GAS level 0 expected).",
                        tp.GasTarget(level=0, weight=2.0),
                        date(2026, 7, 17),
                        status=tp.ObjectiveStatus.ACTIVE,
                        achievement=tp.AchievementStatus.IN_PROGRESS,
                    ),
                ),
                addresses=("prob-family",),
            ),
        ],
        interventions=[
            tp.Intervention(
                "int-cbt",
                tp.Modality.CBT,
                "Graded exposure to school with a worry-time routine",
                serves=("obj-attendance", "obj-gad7"),
                schedule=tp.Schedule(start, "FREQ=WEEKLY;BYDAY=MO;COUNT=12", "Europe/London"),
                delivered_by=CLINICIAN,
            ),
            tp.Intervention(
                "int-family",
                tp.Modality.FAMILY,
                "Parent coaching to reduce reassurance and plan calm mornings",
                format=tp.DeliveryFormat.FAMILY,
                serves=("obj-mornings", "obj-attendance"),
                schedule=tp.Schedule(
                    start + timedelta(days=2),
                    "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=6",
                    "Europe/London",
                ),
                delivered_by=FAMILY_THERAPIST,
            ),
        ],
        discharge_criteria=tp.rules.AnyOf(
            (
                tp.rules.GoalsMet(),
                tp.rules.SessionLimit(16),
                tp.rules.MissedInWindow(max_missed=2, window=12),
                tp.rules.ClientRequest(),
            )
        ),
        client_factors=tp.ClientFactors(
            readiness=tp.Readiness.CONTEMPLATION,
            support=tp.SupportLevel.STRONG,
            barriers=(tp.Barrier(tp.BarrierKind.TIME, "Sessions after school hours."),),
        ),
    )
    plan = tp.fire(plan, tp.Event.AGREE_PLAN, at=assessed + timedelta(days=1), by=CLINICIAN)

    cbt, family = plan.interventions
    assert cbt.schedule is not None
    assert family.schedule is not None
    until = start + timedelta(weeks=6, days=-1)
    contacts = sorted(
        [(when, "int-cbt") for when in cbt.schedule.occurrences(until=until)]
        + [(when, "int-family") for when in family.schedule.occurrences(until=until)]
    )
    week = 0
    for when, intervention in contacts:
        if intervention == "int-cbt":
            week += 1
            plan = tp.record_session(
                plan,
                tp.Session(
                    f"sess-cbt-{week:02d}",
                    when,
                    tp.Attendance.ATTENDED,
                    interventions=("int-cbt",),
                    assessments=(
                        tp.Assessment(f"gad7-{week:02d}", "GAD-7", when, total=GAD7_TOTALS[week]),
                    ),
                    duration_minutes=50,
                ),
            )
        else:
            attendance = tp.Attendance.CANCELLED_BY_CLIENT if week == 3 else tp.Attendance.ATTENDED
            plan = tp.record_session(
                plan,
                tp.Session(
                    f"sess-family-{when:%m%d}",
                    when,
                    attendance,
                    interventions=("int-family",) if attendance is tp.Attendance.ATTENDED else (),
                    duration_minutes=60 if attendance is tp.Attendance.ATTENDED else None,
                ),
            )
        if week == 4 and intervention == "int-cbt":
            plan = tp.record_review(
                plan,
                tp.ProgressReview(
                    "review-1",
                    when + timedelta(hours=2),
                    tp.ReviewDecision.REVISE_PLAN,
                    progress=(
                        tp.ObjectiveProgress("obj-attendance", tp.AchievementStatus.IMPROVING),
                        tp.ObjectiveProgress("obj-gad7", tp.AchievementStatus.IMPROVING),
                        tp.ObjectiveProgress(
                            "obj-mornings", tp.AchievementStatus.NO_CHANGE, gas_level=-1
                        ),
                    ),
                    next_review=(when + timedelta(weeks=4)).date(),
                    by=CLINICIAN,
                    note="Family sessions moved to weekly from next month.",
                ),
            )
    return plan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--write", metavar="PATH", help="write the plan as JSON to PATH")
    args = parser.parse_args(argv)
    plan = build_plan()
    if args.write:
        with open(args.write, "w", encoding="utf-8") as out:
            out.write(tp.dumps(plan) + "\n")
    print(tp.describe(plan))


if __name__ == "__main__":
    main()
