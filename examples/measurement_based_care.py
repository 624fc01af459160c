"""Measurement-based care, step by step: monitor, flag, step up, recover, discharge.

An adult with moderate depression and anxiety (PHQ-9 14, GAD-7 11) starts at
step 2 of NICE stepped care (PHQ-9 below 16 is less severe depression, NG222):
weekly guided self-help, with PHQ-9, GAD-7 and the Session Rating Scale at
every session. The scores do not move; by session 4 they are beyond the
not-on-track limit of the expected response and the alliance is slipping. The
review flags it and suggests a step up, so the plan moves to step 3 (weekly
CBT). The client responds, reliable recovery holds for two measurements in a
row, the next review (six sessions on, from the review cadence) suggests
ending, and after a relapse-prevention session the client is discharged.

Every decision is the library's: ``treatplan.review`` reads the numbers,
``treatplan.record_findings`` records the review and schedules the next one.

Run it::

    python examples/measurement_based_care.py            # prints both reviews
    python examples/measurement_based_care.py --write examples/mbc-walkthrough.json
    treatplan review examples/mbc-walkthrough.json       # the closing review
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

import treatplan as tp

# Fixed UTC times keep the example deterministic.
CLINICIAN = "clin-0107"
PWP = "pwp-0031"  # psychological wellbeing practitioner (low intensity)

# Weekly totals: sessions 1-4 at step 2 (guided self-help), 5-10 at step 3 (CBT),
# 11 a relapse-prevention session while ending.
PHQ9 = [14, 14, 15, 15, 15, 12, 10, 8, 7, 6, 5, 4]  # [0] is the intake
GAD7 = [11, 11, 12, 11, 12, 10, 9, 8, 7, 6, 5, 4]
SRS = [None, 38, 37, 34, 33, 37, 38, 38, 39, 39, 39, 40]  # alliance, from session 1
RISK_SESSION = 3  # PHQ-9 item 9 endorsed once: a risk alert the clinician follows up


def spread(total: int, count: int, top: int) -> list[int]:
    """Item responses summing to ``total``: as even as possible, larger ones first."""
    base, extra = divmod(total, count)
    items = [base + (1 if i < extra else 0) for i in range(count)]
    assert max(items) <= top
    assert sum(items) == total
    return items


def phq9_items(total: int, risk: bool) -> tuple[int, ...]:
    """PHQ-9 items with item 9 (thoughts of self-harm) at 1 when ``risk``, else 0."""
    first = spread(total - (1 if risk else 0), 8, 3)
    return (*first, 1 if risk else 0)


def measures(week: int, when: datetime) -> tuple[tp.Assessment, ...]:
    taken = [
        tp.Assessment(
            f"phq9-{week:02d}", "PHQ-9", when, items=phq9_items(PHQ9[week], week == RISK_SESSION)
        ),
        tp.Assessment(f"gad7-{week:02d}", "GAD-7", when, items=tuple(spread(GAD7[week], 7, 3))),
    ]
    srs = SRS[week]
    if srs is not None:
        taken.append(
            tp.Assessment(f"srs-{week:02d}", "SRS", when, items=tuple(spread(srs, 4, 10)))
        )
    return tuple(taken)


def session(week: int, when: datetime, intervention: str) -> tp.Session:
    return tp.Session(
        f"sess-{week:02d}",
        when,
        tp.Attendance.ATTENDED,
        interventions=(intervention,),
        assessments=measures(week, when),
        duration_minutes=30 if intervention == "int-gsh" else 50,
    )


def build_plan(trace: list[tp.Findings] | None = None) -> tp.TreatmentPlan:
    """The whole episode. ``trace`` collects the findings of each review."""
    policy = tp.ReviewPolicy()  # defaults: review every 6 sessions or 12 weeks
    referred = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer(
        "plan-mbc-0001", "client-41c2e8", at=referred, by="gp-2290", reason="GP referral"
    )
    assessed = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=assessed, by=CLINICIAN)
    for a in measures(0, assessed):
        plan = tp.record_assessment(plan, a)

    # Step 2 for less severe depression (PHQ-9 14 < 16, NICE NG222).
    assert tp.stepped.initial_step(PHQ9[0]) is tp.stepped.CareStep.LOW_INTENSITY
    first = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)
    plan = tp.revise(
        plan,
        presenting_problems=[
            tp.PresentingProblem(
                "prob-mood",
                "Low mood, worry and poor sleep since a change of job.",
                diagnosis=tp.Diagnosis("F41.2", tp.CodeSystem.ICD_10_CM),
            )
        ],
        goals=[
            tp.Goal(
                "goal-mood",
                "Feel less low and less on edge.",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                objectives=(
                    tp.Objective(
                        "obj-phq9",
                        "PHQ-9 below the caseness cut-off of 10.",
                        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
                        date(2026, 5, 31),
                    ),
                    tp.Objective(
                        "obj-gad7",
                        "GAD-7 below the NHS Talking Therapies cut-off of 8.",
                        tp.MeasureTarget("GAD-7", tp.Comparator.BELOW, 8),
                        date(2026, 5, 31),
                    ),
                ),
                addresses=("prob-mood",),
            )
        ],
        interventions=[
            tp.Intervention(
                "int-gsh",
                tp.Modality.GUIDED_SELF_HELP,
                "CBT-based guided self-help workbook with weekly support calls",
                serves=("obj-phq9", "obj-gad7"),
                schedule=tp.Schedule(first, "FREQ=WEEKLY;COUNT=8"),
                delivered_by=PWP,
            )
        ],
        discharge_criteria=tp.rules.AnyOf(
            (
                tp.rules.SustainedRecovery(consecutive=2),
                tp.rules.ReliableDeterioration(),
                tp.rules.AuthorisationUsed(16),
                tp.rules.ConsecutiveMissed(2),
            )
        ),
    )
    plan = tp.fire(plan, tp.Event.AGREE_PLAN, at=assessed + timedelta(hours=1), by=CLINICIAN)
    assert tp.stepped.current_step(plan) is tp.stepped.CareStep.LOW_INTENSITY

    # Step 2: four weeks of guided self-help; the scores do not move.
    gsh = plan.interventions[0].schedule
    assert gsh is not None
    for week, when in enumerate(gsh.occurrences()[:4], start=1):
        plan = tp.record_session(plan, session(week, when, "int-gsh"))

    # Review 1: not on track, so step up (NICE stepped care).
    at = plan.sessions[-1].at + timedelta(hours=1)
    findings = tp.review(plan, at, policy)
    if trace is not None:
        trace.append(findings)
    assert findings.measure("PHQ-9").signal is tp.monitoring.TrackSignal.RED
    assert findings.suggestion.decision is tp.ReviewDecision.STEP_UP
    assert findings.step.advised is tp.stepped.CareStep.HIGH_INTENSITY
    cbt_start = datetime(2026, 2, 16, 10, 0, tzinfo=UTC)
    # Guided self-help ends after four sessions; CBT replaces it.
    plan = tp.revise(
        plan,
        interventions=[
            tp.Intervention(
                "int-gsh",
                tp.Modality.GUIDED_SELF_HELP,
                "CBT-based guided self-help workbook with weekly support calls",
                serves=("obj-phq9", "obj-gad7"),
                schedule=tp.Schedule(first, "FREQ=WEEKLY;COUNT=4"),
                delivered_by=PWP,
            ),
            tp.Intervention(
                "int-cbt",
                tp.Modality.CBT,
                "High-intensity CBT for depression and worry",
                serves=("obj-phq9", "obj-gad7"),
                schedule=tp.Schedule(cbt_start, "FREQ=WEEKLY;COUNT=12"),
                delivered_by=CLINICIAN,
            ),
        ],
    )
    plan = tp.record_findings(
        plan, at, review_id="review-1", by=CLINICIAN, findings=findings, policy=policy
    )
    assert tp.stepped.current_step(plan) is tp.stepped.CareStep.HIGH_INTENSITY

    # Step 3: weekly CBT until the review the cadence sets (six sessions on).
    due = plan.reviews[-1].next_review
    cbt = plan.interventions[1].schedule
    assert cbt is not None
    assert due is not None
    for week, when in enumerate(cbt.occurrences()[:6], start=5):
        plan = tp.record_session(plan, session(week, when, "int-cbt"))
    assert plan.sessions[-1].at.date() == due

    # Review 2: reliable recovery held for two measurements in a row: begin ending.
    at = plan.sessions[-1].at + timedelta(hours=1)
    findings = tp.review(plan, at, policy)
    if trace is not None:
        trace.append(findings)
    assert findings.suggestion.decision is tp.ReviewDecision.BEGIN_ENDING
    plan = tp.record_findings(
        plan, at, review_id="review-2", by=CLINICIAN, findings=findings, policy=policy
    )
    plan = tp.fire(
        plan,
        tp.Event.BEGIN_ENDING,
        at=at + timedelta(minutes=30),
        by=CLINICIAN,
        reason="Reliable recovery sustained over two measurements.",
    )

    # One relapse-prevention session, then discharge.
    final = cbt.occurrences()[6]
    plan = tp.record_session(plan, session(11, final, "int-cbt"))
    return tp.fire(
        plan,
        tp.Event.COMPLETE,
        at=final + timedelta(hours=1),
        by=CLINICIAN,
        reason="Relapse-prevention plan agreed; discharged to GP.",
    )


def main(argv: list[str] | None = None) -> None:
    from treatplan._cli_review import report

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--write", metavar="PATH", help="write the plan as JSON to PATH")
    args = parser.parse_args(argv)
    trace: list[tp.Findings] = []
    plan = build_plan(trace)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as out:
            out.write(tp.dumps(plan) + "\n")
    for number, findings in enumerate(trace, start=1):
        print(f"=== Review {number}")
        print(report(findings))
        print()
    print("=== At discharge")
    print(report(tp.review(plan, plan.last_event_at, tp.ReviewPolicy(alert_log=True))))


if __name__ == "__main__":
    main()
