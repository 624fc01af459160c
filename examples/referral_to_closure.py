"""Build a treatment plan in code and take it from referral to closure.

An adult with moderate depression is referred by their GP, assessed, offered
weekly CBT with behavioural activation, reviewed at session 6, ends therapy
with a relapse-prevention session, and is discharged. Every step goes through
the library's lifecycle, so an illegal step would raise instead of corrupting
the plan.

Run it::

    python examples/referral_to_closure.py            # prints the plan summary
    python examples/referral_to_closure.py --write examples/adult-depression-cbt.json
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

import treatplan as tp

# The clinic is in the UK: times are written in UTC, sessions follow London wall-clock time.
CLINICIAN = "clin-0042"

# PHQ-9 and GAD-7 item responses, one row per week: a typical log-linear recovery.
PHQ9_ITEMS = [
    (2, 2, 2, 2, 1, 2, 2, 1, 1),  # intake: 15, moderately severe; item 9 endorsed
    (2, 2, 2, 2, 1, 2, 1, 1, 0),
    (2, 2, 1, 2, 1, 1, 1, 1, 0),
    (1, 2, 1, 2, 1, 1, 1, 1, 0),
    (1, 1, 1, 2, 1, 1, 1, 0, 0),
    (1, 1, 1, 1, 1, 1, 1, 0, 0),
    (1, 1, 1, 1, 0, 1, 1, 0, 0),
    (1, 1, 0, 1, 0, 1, 1, 0, 0),
    (1, 1, 0, 1, 0, 0, 1, 0, 0),
    (0, 1, 0, 1, 0, 0, 1, 0, 0),
]
GAD7_ITEMS = [
    (2, 1, 2, 1, 1, 1, 1),  # intake: 9, a case at the NHS Talking Therapies cut-off of 8
    (2, 1, 1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1, 1, 0),
    (1, 1, 1, 1, 0, 1, 0),
    (1, 1, 1, 0, 0, 1, 0),
    (1, 1, 0, 0, 0, 1, 0),
    (1, 0, 0, 0, 0, 1, 0),
    (1, 0, 0, 0, 0, 0, 0),
    (0, 0, 0, 0, 0, 1, 0),
]


def build_plan() -> tp.TreatmentPlan:
    """The whole episode, from referral to a completed closure."""
    referred = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer(
        "plan-2026-0001", "client-7f3a9c", at=referred, by="gp-1187", reason="GP referral"
    )
    plan = tp.fire(plan, tp.Event.WAITLIST, at=referred + timedelta(days=1), by=CLINICIAN)

    assessed = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=assessed, by=CLINICIAN)
    plan = tp.record_assessment(
        plan, tp.Assessment("phq9-intake", "PHQ-9", assessed, items=PHQ9_ITEMS[0])
    )
    plan = tp.record_assessment(
        plan, tp.Assessment("gad7-intake", "GAD-7", assessed, items=GAD7_ITEMS[0])
    )

    first_session = datetime(2026, 1, 26, 10, 0, tzinfo=UTC)
    plan = tp.revise(
        plan,
        presenting_problems=[
            tp.PresentingProblem(
                "prob-mood",
                "Low mood and loss of interest since being made redundant last spring.",
                behavioural_definitions=(
                    "Stays in bed until midday on most days.",
                    "Has stopped seeing friends and playing football.",
                    "Reports feeling worthless most days.",
                ),
                diagnosis=tp.Diagnosis("F32.1", tp.CodeSystem.ICD_10_CM),
            )
        ],
        goals=[
            tp.Goal(
                "goal-mood",
                "I want to feel like myself again and enjoy things.",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                objectives=(
                    tp.Objective(
                        "obj-phq9",
                        "PHQ-9 total below the caseness cut-off of 10.",
                        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
                        date(2026, 4, 30),
                    ),
                ),
                addresses=("prob-mood",),
            ),
            tp.Goal(
                "goal-activity",
                "Get back into a routine and see my friends.",
                tp.GoalDomain.BEHAVIOUR_CHANGE,
                objectives=(
                    tp.Objective(
                        "obj-activities",
                        "Three planned valued activities a week.",
                        tp.BehaviourTarget(
                            "planned valued activities",
                            tp.Comparator.AT_LEAST,
                            3,
                            "activities",
                            tp.CountPeriod.WEEK,
                        ),
                        date(2026, 3, 31),
                    ),
                    tp.Objective(
                        "obj-social",
                        "Meets a friend or team-mate most weeks (GAS level 0 expected).",
                        tp.GasTarget(level=0, weight=1.0),
                        date(2026, 4, 30),
                    ),
                ),
                addresses=("prob-mood",),
            ),
        ],
        interventions=[
            tp.Intervention(
                "int-cbt",
                tp.Modality.CBT,
                "Cognitive restructuring of self-critical thoughts",
                serves=("obj-phq9",),
                schedule=tp.Schedule(first_session, "FREQ=WEEKLY;COUNT=10", "Europe/London"),
                delivered_by=CLINICIAN,
            ),
            tp.Intervention(
                "int-ba",
                tp.Modality.BEHAVIOURAL_ACTIVATION,
                "Activity scheduling and monitoring",
                serves=("obj-activities", "obj-social"),
                schedule=tp.Schedule(first_session, "FREQ=WEEKLY;COUNT=10", "Europe/London"),
                delivered_by=CLINICIAN,
            ),
        ],
        discharge_criteria=tp.rules.AnyOf(
            (
                tp.rules.GoalsMet(),
                tp.rules.SessionLimit(12),
                tp.rules.ConsecutiveMissed(2),
                tp.rules.Inactivity(days=42),
            )
        ),
        client_factors=tp.ClientFactors(
            readiness=tp.Readiness.PREPARATION,
            support=tp.SupportLevel.ADEQUATE,
            barriers=(
                tp.Barrier(tp.BarrierKind.COST, "Bus fares reimbursed by the service."),
                tp.Barrier(tp.BarrierKind.TIME, "Late-afternoon appointments offered."),
            ),
        ),
    )
    plan = tp.fire(plan, tp.Event.AGREE_PLAN, at=assessed + timedelta(hours=1), by=CLINICIAN)

    sessions = plan.interventions[0].schedule
    assert sessions is not None
    for week, when in enumerate(sessions.occurrences()[:9], start=1):
        if week == 4:  # one missed week: the client was unwell
            plan = tp.record_session(
                plan, tp.Session(f"sess-{week:02d}", when, tp.Attendance.DID_NOT_ATTEND)
            )
            continue
        plan = tp.record_session(
            plan,
            tp.Session(
                f"sess-{week:02d}",
                when,
                tp.Attendance.ATTENDED,
                interventions=("int-cbt", "int-ba"),
                assessments=(
                    tp.Assessment(f"phq9-{week:02d}", "PHQ-9", when, items=PHQ9_ITEMS[week]),
                    tp.Assessment(f"gad7-{week:02d}", "GAD-7", when, items=GAD7_ITEMS[week]),
                ),
                duration_minutes=50,
            ),
        )
        if week == 6:
            plan = tp.record_review(
                plan,
                tp.ProgressReview(
                    "review-1",
                    when + timedelta(hours=1),
                    tp.ReviewDecision.CONTINUE,
                    progress=(
                        tp.ObjectiveProgress("obj-phq9", tp.AchievementStatus.IMPROVING),
                        tp.ObjectiveProgress("obj-activities", tp.AchievementStatus.ACHIEVED),
                        tp.ObjectiveProgress(
                            "obj-social", tp.AchievementStatus.IMPROVING, gas_level=0
                        ),
                    ),
                    next_review=(when + timedelta(weeks=3)).date(),
                    by=CLINICIAN,
                ),
            )

    last = plan.sessions[-1].at
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "review-2",
            last + timedelta(hours=1),
            tp.ReviewDecision.BEGIN_ENDING,
            progress=(
                tp.ObjectiveProgress("obj-phq9", tp.AchievementStatus.ACHIEVED),
                tp.ObjectiveProgress("obj-activities", tp.AchievementStatus.SUSTAINING),
                tp.ObjectiveProgress("obj-social", tp.AchievementStatus.ACHIEVED, gas_level=1),
            ),
            by=CLINICIAN,
        ),
    )
    plan = tp.revise(
        plan,
        goals=[
            _with_achievement(goal, {"obj-phq9", "obj-activities", "obj-social"})
            for goal in plan.goals
        ],
    )
    verdict = tp.evaluate(plan.discharge_criteria, plan, last + timedelta(hours=2))  # type: ignore[arg-type]
    assert verdict.fired, "goals met: the discharge criteria should now be satisfied"
    plan = tp.fire(
        plan,
        tp.Event.BEGIN_ENDING,
        at=last + timedelta(hours=2),
        by=CLINICIAN,
        reason="Discharge criteria met: all objectives achieved.",
    )
    final = last + timedelta(weeks=2)
    plan = tp.record_session(
        plan,
        tp.Session(
            "sess-10",
            final,
            tp.Attendance.ATTENDED,
            interventions=("int-cbt",),
            assessments=(
                tp.Assessment("phq9-10", "PHQ-9", final, items=PHQ9_ITEMS[9]),
                tp.Assessment("gad7-10", "GAD-7", final, items=GAD7_ITEMS[9]),
            ),
            duration_minutes=50,
        ),
    )
    return tp.fire(
        plan,
        tp.Event.COMPLETE,
        at=final + timedelta(hours=1),
        by=CLINICIAN,
        reason="Relapse-prevention plan agreed; discharged to GP.",
    )


def _with_achievement(goal: tp.Goal, achieved: set[str]) -> tp.Goal:
    objectives = tuple(
        tp.Objective(
            o.id,
            o.description,
            o.target,
            o.target_date,
            status=tp.ObjectiveStatus.COMPLETED if o.id in achieved else o.status,
            achievement=tp.AchievementStatus.ACHIEVED if o.id in achieved else o.achievement,
        )
        for o in goal.objectives
    )
    return tp.Goal(goal.id, goal.statement, goal.domain, objectives, goal.addresses)


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
