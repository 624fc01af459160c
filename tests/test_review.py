"""Reviews: findings per objective and measure, attendance, verdicts, suggestions,
recording a review, cadence, and due or overdue reviews across plans."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import treatplan as tp
from measured_plans import SECRET, T0, build, week
from treatplan import _scoring


def after(plan: tp.TreatmentPlan) -> datetime:
    return plan.sessions[-1].at + timedelta(hours=1)


# --------------------------------------------------------------------------- objectives
def _states(findings: tp.Findings) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {o.objective: (o.state.value, o.evidence) for o in findings.objectives}


def test_measure_objective_states() -> None:
    target = tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10)
    met = build(phq9=[15, 12, 9], targets=[target])
    assert _states(tp.review(met, after(met)))["obj-0"] == ("achieved", ("phq9-02",))
    on_track = build(phq9=[15, 13, 11], targets=[target])
    assert _states(tp.review(on_track, after(on_track)))["obj-0"] == ("on_track", ("phq9-02",))
    off = build(phq9=[15, 15, 16, 16], targets=[target])
    assert _states(tp.review(off, after(off)))["obj-0"] == ("off_track", ("phq9-03",))
    late = build(phq9=[15, 13, 11], targets=[target], target_date=date(2026, 1, 10))
    assert _states(tp.review(late, after(late)))["obj-0"] == ("overdue", ("phq9-02",))
    walks = tp.BehaviourTarget("walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK)
    unscored = build(phq9=[15], targets=[walks])
    at = unscored.last_event_at + timedelta(days=1)
    assert _states(tp.review(unscored, at))["obj-0"] == ("not_assessed", ())


def test_gas_and_behaviour_objectives_read_the_reviews() -> None:
    plan = build(
        phq9=[15, 13, 11],
        targets=[
            tp.GasTarget(level=1),
            tp.BehaviourTarget("walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK),
        ],
    )
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "rev-1",
            after(plan),
            tp.ReviewDecision.CONTINUE,
            progress=(
                tp.ObjectiveProgress("obj-0", tp.AchievementStatus.IMPROVING, gas_level=0),
                tp.ObjectiveProgress("obj-1", tp.AchievementStatus.WORSENING),
            ),
        ),
    )
    found = tp.review(plan, after(plan) + timedelta(hours=1))
    assert _states(found) == {
        "obj-0": ("on_track", ("rev-1",)),
        "obj-1": ("off_track", ("rev-1",)),
    }
    assert found.objectives[0].gas_level == 0
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "rev-2",
            after(plan) + timedelta(hours=2),
            tp.ReviewDecision.CONTINUE,
            progress=(tp.ObjectiveProgress("obj-0", tp.AchievementStatus.IMPROVING, gas_level=1),),
        ),
    )
    found = tp.review(plan, after(plan) + timedelta(hours=3))
    assert _states(found)["obj-0"] == ("achieved", ("rev-2",))
    assert found.gas_t_score is not None


# --------------------------------------------------------------------------- measures
def test_measure_findings_baseline_latest_change_category() -> None:
    plan = build(phq9=[15, 12, 9], gad7=[10, 11, 14])
    found = tp.review(plan, after(plan))
    phq = found.measure("PHQ-9")
    assert (phq.baseline, phq.latest, phq.change) == (15, 9, -6)
    assert (phq.baseline_id, phq.latest_id, phq.scores) == ("phq9-00", "phq9-02", 3)
    assert phq.category is tp.change.ChangeCategory.RECOVERED
    assert phq.reliable_improvement is True
    assert phq.band == "mild"
    assert phq.case is False
    assert [t.session for t in phq.trajectory] == [0, 1, 2]
    gad = found.measure("GAD-7")
    assert gad.category is tp.change.ChangeCategory.DETERIORATED
    assert gad.reliable_deterioration is True
    with pytest.raises(KeyError):
        found.measure("ORS")


def test_alliance_is_charted_without_an_expected_response() -> None:
    plan = build(phq9=[15, 13, 11], srs=[None, 38, 37])
    srs = tp.review(plan, after(plan)).measure("SRS")
    assert srs.signal is None
    assert all(t.expected is None for t in srs.trajectory)


# --------------------------------------------------------------------------- attendance
def test_attendance_summary() -> None:
    plan = build(
        phq9=[15, 13],
        attendance=[
            "attended",
            "cancelled_by_client",
            "did_not_attend",
            "cancelled_by_service",
            "did_not_attend",
        ],
    )
    a = tp.review(plan, after(plan)).attendance
    assert (a.offered, a.attended, a.did_not_attend) == (4, 1, 2)
    assert (a.cancelled_by_client, a.cancelled_by_service) == (1, 1)
    assert a.consecutive_missed == 2
    assert a.rate == pytest.approx(0.25)


# --------------------------------------------------------------------------- decisions
def test_step_up_when_not_on_track_at_step_2() -> None:
    plan = build(phq9=[14, 14, 15, 15, 15], modality=tp.Modality.GUIDED_SELF_HELP)
    found = tp.review(plan, after(plan))
    assert found.step.current is tp.stepped.CareStep.LOW_INTENSITY
    assert found.step.advised is tp.stepped.CareStep.HIGH_INTENSITY
    assert found.suggestion.decision is tp.ReviewDecision.STEP_UP
    assert any(a.kind is tp.monitoring.AlertKind.NOT_ON_TRACK for a in found.alerts)


def test_refer_on_when_not_on_track_at_the_top_step() -> None:
    plan = build(phq9=[14, 14, 15, 15, 15], modality=tp.Modality.DBT)
    found = tp.review(plan, after(plan))
    assert found.step.current is tp.stepped.CareStep.SPECIALIST
    assert found.suggestion.decision is tp.ReviewDecision.REFER_ON


def test_begin_ending_when_an_ending_rule_fires() -> None:
    plan = build(phq9=[15, 12, 9, 8], criteria=tp.rules.SustainedRecovery(instruments=("PHQ-9",)))
    found = tp.review(plan, after(plan))
    assert found.verdicts[0].fired
    assert found.suggestion.decision is tp.ReviewDecision.BEGIN_ENDING


def test_deterioration_outweighs_a_discharge_rule() -> None:
    plan = build(phq9=[10, 13, 16], criteria=tp.rules.AuthorisationUsed(2))
    found = tp.review(plan, after(plan))
    assert found.suggestion.decision is tp.ReviewDecision.STEP_UP
    assert any("outweighed" in r for r in found.suggestion.reasons)


def phq9_items(total: int, item9: int) -> tuple[int, ...]:
    rest = total - item9
    base, extra = divmod(rest, 8)
    return (*[base + (1 if i < extra else 0) for i in range(8)], item9)


def test_a_risk_item_outweighs_a_discharge_rule() -> None:
    # PHQ-9 item 9 >= 1 (Kroenke et al. 2001) at the last two scores while sustained
    # recovery fires: never suggest beginning to end.
    plan = build(
        phq9=[15, 9, phq9_items(3, 1), phq9_items(3, 1)],
        criteria=tp.rules.SustainedRecovery(instruments=("PHQ-9",)),
    )
    found = tp.review(plan, after(plan))
    assert found.verdicts[0].fired
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN
    reasons = found.suggestion.reasons
    assert reasons[0] == "risk item endorsed: review the risk assessment and safety plan"
    assert any(
        r.startswith("ending rule fired, but outweighed: sustained_recovery") for r in reasons
    )
    assert not any(r.startswith("ending rule fired: ") for r in reasons)


def test_a_fired_review_rule_outweighs_discharge_whatever_the_stepped_care_policy() -> None:
    # PHQ-9 3 -> 9: reliably worse (6, NHS TT) but below caseness, so the signal is green;
    # the policy does not step up on deterioration.
    plan = build(
        phq9=[3, 9],
        criteria=tp.rules.AnyOf((tp.rules.SessionLimit(1), tp.rules.ReliableDeterioration())),
    )
    policy = tp.ReviewPolicy(
        stepped_care=tp.stepped.SteppedCarePolicy(step_up_on_deterioration=False)
    )
    found = tp.review(plan, after(plan), policy)
    assert found.step.decision is tp.ReviewDecision.CONTINUE
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN
    reasons = found.suggestion.reasons
    assert "reliable_deterioration: reliably worse than baseline: PHQ-9 3 -> 9" in reasons
    assert any(r.startswith("ending rule fired, but outweighed: session_limit") for r in reasons)


def test_a_deterioration_alert_outweighs_discharge_without_a_review_rule() -> None:
    plan = build(phq9=[3, 9], criteria=tp.rules.SessionLimit(1))
    policy = tp.ReviewPolicy(
        stepped_care=tp.stepped.SteppedCarePolicy(step_up_on_deterioration=False)
    )
    found = tp.review(plan, after(plan), policy)
    assert any(a.kind is tp.monitoring.AlertKind.RELIABLE_DETERIORATION for a in found.alerts)
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN
    reasons = found.suggestion.reasons
    assert "reliable deterioration alert: review before ending" in reasons
    assert any(r.startswith("ending rule fired, but outweighed: session_limit") for r in reasons)


def test_a_review_reports_risk_items_endorsed_since_the_previous_review() -> None:
    plan = build(phq9=[15, phq9_items(14, 1), phq9_items(12, 0)])
    # alerts() reads the latest score only; a review reads every score since the last one.
    assert not any(
        a.kind is tp.monitoring.AlertKind.RISK_ITEM for a in tp.alerts(plan, after(plan))
    )
    found = tp.review(plan, after(plan))
    risk = [a for a in found.alerts if a.kind is tp.monitoring.AlertKind.RISK_ITEM]
    assert [a.evidence for a in risk] == [("phq9-01",)]
    assert risk[0].level is tp.monitoring.AlertLevel.URGENT
    assert SECRET not in risk[0].message
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN
    # Reviewed after the endorsement: the next review does not repeat it.
    reviewed = tp.record_review(
        plan,
        tp.ProgressReview("rev-1", week(1) + timedelta(hours=2), tp.ReviewDecision.CONTINUE),
    )
    later = tp.review(reviewed, after(reviewed))
    assert not any(a.kind is tp.monitoring.AlertKind.RISK_ITEM for a in later.alerts)


def test_continue_when_on_track_and_policy_rules_are_evaluated() -> None:
    # PHQ-9 16 -> 10: reliably improved (6 points) but not yet below the target of 10.
    plan = build(phq9=[16, 13, 10], criteria=tp.rules.GoalsMet())
    policy = tp.ReviewPolicy(rules=(tp.rules.Plateau(window=3, instruments=("PHQ-9",)),))
    found = tp.review(plan, after(plan), policy)
    assert [v.rule for v in found.verdicts] == ["goals_met", "plateau"]
    assert found.suggestion.decision is tp.ReviewDecision.CONTINUE
    # Total-only PHQ-9 scores cannot assess item 9: said, but not a reason to act.
    assert found.suggestion.reasons == (
        "on track: continue",
        "risk item not assessed at the latest score: ask about risk",
    )


def test_plateau_rule_asks_to_revise_the_plan() -> None:
    plan = build(
        phq9=[12, 10, 10, 10], criteria=tp.rules.Plateau(window=3, instruments=("PHQ-9",))
    )
    found = tp.review(plan, after(plan))
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN


def test_a_closed_plan_has_nothing_to_decide() -> None:
    plan = build(phq9=[15, 9, 8], gad7=[10, 6, 5])
    plan = tp.fire(plan, "begin_ending", at=after(plan), by="clin", reason=SECRET)
    plan = tp.fire(plan, "complete", at=after(plan) + timedelta(hours=1), by="clin", reason=SECRET)
    found = tp.review(plan, plan.last_event_at)
    assert found.suggestion.decision is None
    assert found.phase is tp.Phase.CLOSED
    assert found.next_review is None
    assert found.talking_therapies is not None
    assert found.talking_therapies.counts


# --------------------------------------------------------------------------- as of
def test_review_as_of_an_earlier_moment_sees_only_what_was_known() -> None:
    plan = build(phq9=[15, 15, 15, 15, 9, 8])
    early = tp.review(plan, week(3) + timedelta(hours=1))
    assert early.measure("PHQ-9").latest == 15
    assert early.attendance.attended == 3
    assert early.measure("PHQ-9").signal is tp.monitoring.TrackSignal.RED
    late = tp.review(plan, after(plan))
    assert late.measure("PHQ-9").latest == 8


def test_review_arguments_are_checked() -> None:
    plan = build(phq9=[15, 13])
    with pytest.raises(tp.ValidationError):
        tp.review(plan, datetime(2026, 3, 1))
    with pytest.raises(tp.ValidationError) as caught:
        tp.review(plan, T0 - timedelta(days=1))
    assert caught.value.problems[0].path == "as_of"


def test_each_assessment_is_scored_once_per_review(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = _scoring.scored  # what score() runs once its arguments are checked

    def counting(instrument: tp.Instrument, assessment: tp.Assessment) -> tp.Score:
        calls.append(assessment.id)
        return real(instrument, assessment)

    monkeypatch.setattr(_scoring, "scored", counting)
    _scoring._SCORES.clear()
    plan = build(
        phq9=[15, 13, 11, 10],
        gad7=[10, 9, 8, 7],
        srs=[None, 36, 37, 38],
        criteria=tp.rules.AnyOf(
            (
                tp.rules.SustainedRecovery(),
                tp.rules.Plateau(),
                tp.rules.ReliableDeterioration(),
                tp.rules.AuthorisationUsed(8),
            )
        ),
    )
    tp.review(plan, after(plan), tp.ReviewPolicy(talking_therapies=False, alert_log=True))
    assert sorted(calls) == sorted(a.id for a in plan.all_assessments())


def test_findings_serialise_without_free_text() -> None:
    plan = build(phq9=[15, 15, 16, 22], gad7=[10, 10, 11, 12], srs=[None, 38, 33, 30])
    found = tp.review(plan, after(plan), tp.ReviewPolicy(alert_log=True))
    text = json.dumps(tp.to_dict(found))
    assert SECRET not in text
    doc = json.loads(text)
    assert doc["measures"][0]["category"] in {c.value for c in tp.change.ChangeCategory}
    assert doc["alerts"]
    assert doc["alert_log"]
    assert tp.from_dict(doc, tp.Findings) == found


# --------------------------------------------------------------------------- recording
def test_conduct_review_records_and_schedules_the_next() -> None:
    plan = build(phq9=[14, 14, 15, 15, 15], modality=tp.Modality.GUIDED_SELF_HELP)
    at = after(plan)
    recorded = tp.record_findings(plan, at, review_id="rev-1", by="clin")
    assert plan.reviews == ()  # the input is untouched
    review = recorded.reviews[-1]
    assert review.decision is tp.ReviewDecision.STEP_UP
    assert review.progress == (tp.ObjectiveProgress("obj-0", tp.AchievementStatus.NO_PROGRESS),)
    # Default cadence: 6 sessions (weekly schedule) or 12 weeks, whichever first.
    assert review.next_review == (week(4) + timedelta(weeks=6)).date()
    chosen = tp.record_findings(
        plan,
        at,
        review_id="rev-1",
        decision=tp.ReviewDecision.REVISE_PLAN,
        policy=tp.ReviewPolicy(
            cadence=tp.reviews.ReviewCadence(every_sessions=None, every_weeks=2)
        ),
    )
    assert chosen.reviews[-1].decision is tp.ReviewDecision.REVISE_PLAN
    assert chosen.reviews[-1].next_review == (at + timedelta(weeks=2)).date()


def test_conduct_review_refuses_a_closed_plan() -> None:
    plan = build(phq9=[15, 9])
    plan = tp.fire(plan, "begin_ending", at=after(plan), by="clin", reason="r")
    plan = tp.fire(plan, "complete", at=after(plan) + timedelta(hours=1), by="clin", reason="r")
    with pytest.raises(tp.TransitionError):
        tp.record_findings(plan, plan.last_event_at, review_id="rev-x")


# --------------------------------------------------------------------------- cadence
def test_next_review_date_uses_relativedelta_weeks_and_the_schedule() -> None:
    plan = build(phq9=[15, 13])
    at = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    weeks_only = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=4)
    assert tp.reviews.next_review_date(plan, at, weeks_only) == date(2026, 2, 28)
    sessions_only = tp.reviews.ReviewCadence(every_sessions=3, every_weeks=None)
    # Weekly sessions on Tuesdays from 2026-01-13: the third after 2026-01-31 is 2026-02-17.
    assert tp.reviews.next_review_date(plan, at, sessions_only) == date(2026, 2, 17)
    both = tp.reviews.ReviewCadence(every_sessions=3, every_weeks=1)
    assert tp.reviews.next_review_date(plan, at, both) == date(2026, 2, 7)
    with pytest.raises(tp.ValidationError):
        tp.reviews.ReviewCadence(every_sessions=None, every_weeks=None)


def test_review_due_after_n_attended_sessions_or_the_stored_date() -> None:
    plan = build(phq9=[15, 14, 13, 12, 11])
    cadence = tp.reviews.ReviewCadence(every_sessions=3, every_weeks=12)
    # Agreed in week 0; the third attended session was in week 3.
    assert tp.reviews.review_due_date(plan, cadence) == week(3).date()
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "rev-1", after(plan), tp.ReviewDecision.CONTINUE, next_review=week(6).date()
        ),
    )
    assert tp.reviews.review_due_date(plan, cadence) == week(6).date()
    sooner = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=1)
    assert tp.reviews.review_due_date(plan, sooner) == (after(plan) + timedelta(weeks=1)).date()


def test_due_reviews_across_plans() -> None:
    cadence = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=2)
    overdue = build(phq9=[15, 14, 13, 12])  # agreed 2026-01-06: due 2026-01-20
    fresh = tp.record_review(
        build(phq9=[15, 14, 13, 12]),
        tp.ProgressReview("rev-1", week(3) + timedelta(hours=2), tp.ReviewDecision.CONTINUE),
    )
    fresh = tp.TreatmentPlan(**{**_fields(fresh), "plan_id": "plan-fresh"})
    referred = tp.TreatmentPlan.refer("plan-new", "c", at=T0, by="gp")
    on = date(2026, 1, 27)
    found = tp.reviews.due_reviews([referred, fresh, overdue], on, cadence)
    assert [(r.plan_id, r.status, r.days_overdue) for r in found] == [
        ("plan-t", tp.reviews.ReviewStatus.OVERDUE, 7)
    ]
    ahead = tp.reviews.due_reviews([referred, fresh, overdue], on, cadence, within_days=14)
    assert [(r.plan_id, r.status) for r in ahead] == [
        ("plan-t", tp.reviews.ReviewStatus.OVERDUE),
        ("plan-fresh", tp.reviews.ReviewStatus.DUE),
    ]
    assert (
        tp.reviews.review_status(referred, on, cadence).status
        is tp.reviews.ReviewStatus.NOT_APPLICABLE
    )
    assert (
        tp.reviews.review_status(overdue, date(2026, 1, 20), cadence).status
        is tp.reviews.ReviewStatus.DUE
    )
    assert (
        tp.reviews.review_status(overdue, date(2026, 1, 19), cadence).status
        is tp.reviews.ReviewStatus.NOT_DUE
    )
    graced = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=2, grace_days=7)
    assert tp.reviews.review_status(overdue, on, graced).status is tp.reviews.ReviewStatus.DUE


def _fields(plan: tp.TreatmentPlan) -> dict[str, object]:
    import attrs

    return {f.name: getattr(plan, f.name) for f in attrs.fields(tp.TreatmentPlan) if f.init}


def test_review_status_checks_its_arguments() -> None:
    plan = build(phq9=[15, 13])
    with pytest.raises(tp.ValidationError):
        tp.reviews.review_status(plan, datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    with pytest.raises(tp.ValidationError):
        tp.reviews.review_status(plan, date(2026, 1, 1), within_days=-1)


def test_review_policy_round_trips_through_json() -> None:
    policy = tp.ReviewPolicy(
        cadence=tp.reviews.ReviewCadence(every_sessions=4, every_weeks=None),
        alerts=tp.monitoring.AlertPolicy(monitored=("PHQ-9",), authorisation_warnings=(0.75,)),
        rules=(tp.rules.Plateau(window=3), tp.rules.AuthorisationUsed(10)),
    )
    assert tp.from_dict(tp.to_dict(policy), tp.ReviewPolicy) == policy
    with pytest.raises(tp.ValidationError):
        tp.ReviewPolicy(rules=("not a rule",))  # type: ignore[arg-type]


def test_a_review_rule_adds_its_reason_when_risk_already_decided() -> None:
    # Item 9 endorsed at a plateau: the risk item decides (revise the plan) and the
    # plateau rule's reason is still given.
    items = (2, 1, 1, 1, 1, 1, 1, 1, 1)  # total 10, item 9 endorsed
    plan = build(
        phq9=[12, 10, 10, items], criteria=tp.rules.Plateau(window=3, instruments=("PHQ-9",))
    )
    found = tp.review(plan, after(plan))
    reasons = found.suggestion.reasons
    assert found.suggestion.decision is tp.ReviewDecision.REVISE_PLAN
    assert reasons[0] == "risk item endorsed: review the risk assessment and safety plan"
    assert any(r.startswith("plateau: ") for r in reasons[1:])


def test_review_status_before_the_referral_is_not_applicable() -> None:
    plan = build(phq9=[15, 13])
    before = (T0 - timedelta(days=1)).date()
    status = tp.reviews.review_status(plan, before)
    assert status == tp.reviews.ReviewDue(
        plan.plan_id, tp.reviews.ReviewStatus.NOT_APPLICABLE, None
    )


def test_record_findings_refuses_findings_of_another_plan_or_time() -> None:
    plan = build(phq9=[17, 16, 14, 13, 11, 9, 8, 7], criteria=tp.rules.GoalsMet())
    other = tp.TreatmentPlan(**{**_fields(plan), "plan_id": "other-plan"})
    at = week(7) + timedelta(hours=1)
    for findings in (tp.review(other, at), tp.review(plan, week(2) + timedelta(hours=1))):
        with pytest.raises(tp.ArgumentError, match="for this plan at as_of") as caught:
            tp.record_findings(plan, at, review_id="rv-1", findings=findings)
        assert caught.value.parameter == "findings"
    # The same instant at another offset is the same time: accepted.
    own = tp.review(plan, at)
    shifted = at.astimezone(timezone(timedelta(hours=5)))
    recorded = tp.record_findings(plan, shifted, review_id="rv-1", findings=own)
    assert recorded.reviews[-1].decision is own.suggestion.decision
    # Findings of an equal plan (read back from JSON) are this plan's too.
    again = tp.loads(tp.dumps(plan))
    assert again is not plan
    assert tp.record_findings(again, at, review_id="rv-1", findings=own) == recorded


def test_record_findings_refuses_findings_of_an_earlier_version_of_the_plan() -> None:
    plan = build(phq9=[17, 16, 14, 13, 11, 9, 8, 7], criteria=tp.rules.GoalsMet())
    at = week(7) + timedelta(hours=1)
    stale = tp.review(plan, at)
    assert stale.suggestion.decision is tp.ReviewDecision.BEGIN_ENDING
    # A score taken before as_of and recorded since: the plan at as_of is not the one
    # the findings describe.
    worse = tp.Assessment("late-phq", "PHQ-9", week(7) + timedelta(minutes=30), total=22)
    newer = tp.record_assessment(plan, worse)
    with pytest.raises(tp.ArgumentError, match="for this plan at as_of") as caught:
        tp.record_findings(newer, at, review_id="rv-1", findings=stale)
    assert caught.value.parameter == "findings"
    fresh = tp.review(newer, at)
    assert fresh.suggestion.decision is not tp.ReviewDecision.BEGIN_ENDING
    recorded = tp.record_findings(newer, at, review_id="rv-1", findings=fresh)
    assert recorded.reviews[-1].decision is fresh.suggestion.decision
    # Revising the plan's content after the review, as a review often decides, keeps
    # its findings current: the records they were made from are the same.
    extra = tp.Intervention("int-extra", tp.Modality.CBT, "booster", serves=())
    revised = tp.revise(newer, interventions=(*newer.interventions, extra))
    recorded = tp.record_findings(revised, at, review_id="rv-1", findings=fresh)
    assert recorded.interventions[-1] == extra
    # The next review is the findings' own for the plan and cadence they were made
    # from, and comes afresh from what changed since: a new schedule, another cadence.
    assert recorded.reviews[-1].next_review == fresh.next_review
    daily = tp.Intervention(
        "int-daily",
        tp.Modality.CBT,
        "booster",
        serves=(),
        schedule=tp.Schedule(at, "FREQ=DAILY;COUNT=30"),
    )
    rescheduled = tp.revise(newer, interventions=(*newer.interventions, daily))
    recorded = tp.record_findings(rescheduled, at, review_id="rv-1", findings=fresh)
    expected = tp.reviews.next_review_date(rescheduled, at, tp.reviews.ReviewCadence())
    assert recorded.reviews[-1].next_review == expected != fresh.next_review
    weekly = tp.reviews.ReviewPolicy(cadence=tp.reviews.ReviewCadence(every_weeks=1))
    recorded = tp.record_findings(newer, at, review_id="rv-1", findings=fresh, policy=weekly)
    assert recorded.reviews[-1].next_review == (at + timedelta(weeks=1)).date()


def test_a_review_during_a_session_leaves_out_its_later_scores() -> None:
    # Questionnaires completed at the end of a session had no answers at its start:
    # every part of the findings leaves them out (the measures and the outcome).
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=start, by="gp-1")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=start, by="c-1")
    plan = tp.record_assessment(plan, tp.Assessment("phq-0", "PHQ-9", start, total=18))
    plan = tp.record_assessment(plan, tp.Assessment("gad-0", "GAD-7", start, total=15))
    session_at = start + timedelta(days=7)
    end = session_at + timedelta(minutes=50)
    late = (
        tp.Assessment("phq-1", "PHQ-9", end, total=4),
        tp.Assessment("gad-1", "GAD-7", end, total=3),
    )
    plan = tp.record_session(
        plan, tp.Session("s1", session_at, tp.Attendance.ATTENDED, assessments=late)
    )
    during = tp.review(plan, session_at + timedelta(minutes=20))
    assert [(m.instrument, m.latest) for m in during.measures] == [("PHQ-9", 18), ("GAD-7", 15)]
    assert during.talking_therapies is not None
    assert during.talking_therapies.depression_last is None
    assert during.talking_therapies.recovered is None
    after = tp.review(plan, end)
    assert after.talking_therapies is not None
    assert after.talking_therapies.depression_last == 4


def test_every_objective_achieved_without_an_ending_rule_says_so() -> None:
    plan = build(phq9=[17, 16, 14, 13, 11, 9, 8, 7])  # no discharge criteria
    found = tp.review(plan, plan.sessions[-1].at + timedelta(hours=1))
    assert [o.state for o in found.objectives] == [tp.reviews.ObjectiveState.ACHIEVED]
    assert found.suggestion.decision is tp.ReviewDecision.CONTINUE
    assert any("every objective achieved" in r for r in found.suggestion.reasons)
    # Not said while an objective is still open.
    early = tp.review(plan, plan.sessions[2].at + timedelta(hours=1))
    assert not any("every objective achieved" in r for r in early.suggestion.reasons)


def test_a_review_in_the_last_weeks_of_the_range_has_no_next_review() -> None:
    # The cadence's next date would fall after 2199, where no plan date can be.
    plan = build(phq9=[15, 13])
    late = datetime(2199, 12, 31, 23, 0, tzinfo=UTC)
    recorded = tp.record_findings(plan, late, review_id="rv-late")
    assert recorded.reviews[-1].next_review is None
    assert tp.record_findings(plan, week(2), review_id="rv-1").reviews[-1].next_review


def test_measure_findings_reuse_the_alerts_charts_exactly() -> None:
    """Without charts, a review reports the alerts' chart of the first and latest
    scores of each tracked measure: the same findings as drawing it again."""
    from hypothesis import HealthCheck, given, settings

    from treatplan import _alerts, _review, _state
    from treatplan.strategies import treatment_plans

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(treatment_plans(max_records=10))
    def check(plan: tp.TreatmentPlan) -> None:
        at = max(
            [plan.history[-1].at.astimezone(UTC)]
            + [t for t in (_state.state_of(plan).latest_record,) if t is not None]
        )
        for policy in (tp.ReviewPolicy(charts=False), tp.ReviewPolicy(charts=True)):
            found = tp.review(plan, at, policy)
            again = tuple(
                _review._measure_finding(plan, code, series, policy)
                for code, series in _alerts.series_until(plan, at).items()
            )
            assert found.measures == again

    check()
