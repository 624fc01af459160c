"""NHS Talking Therapies episode outcomes from a plan's paired PHQ-9 and GAD-7 scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import treatplan as tp
from treatplan import Assessment, Attendance, Session, Transition
from treatplan import Phase as P
from treatplan.outcomes import TalkingTherapiesPolicy as Policy

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
WEEK = timedelta(days=7)
BY = "clin-1"


def _history(closed: bool) -> tuple[Transition, ...]:
    steps = [
        Transition("refer", None, P.REFERRED, T0, BY),
        Transition("begin_assessment", P.REFERRED, P.ASSESSING, T0, BY),
        Transition("agree_plan", P.ASSESSING, P.ACTIVE, T0 + WEEK, BY),
    ]
    if closed:
        end = T0 + 20 * WEEK
        steps += [
            Transition("begin_ending", P.ACTIVE, P.ENDING, end, BY, reason="goals met"),
            Transition(
                "complete",
                P.ENDING,
                P.CLOSED,
                end,
                BY,
                reason="done",
                outcome=tp.EpisodeOutcome.COMPLETED,
            ),
        ]
    return tuple(steps)


def episode(
    phq9: list[int],
    gad7: list[int],
    *,
    closed: bool = True,
    treatment_sessions: int = 6,
    assessment_only_sessions: int = 0,
) -> tp.TreatmentPlan:
    """A plan whose scores are taken at intake (standalone) and at later sessions."""
    assessments = [
        Assessment("phq-0", "PHQ-9", T0, total=phq9[0]),
        Assessment("gad-0", "GAD-7", T0, total=gad7[0]),
    ]
    sessions = []
    for n in range(assessment_only_sessions):
        sessions.append(Session(f"s-assess-{n}", T0 + timedelta(hours=n + 1), Attendance.ATTENDED))
    for n in range(max(treatment_sessions, len(phq9) - 1, len(gad7) - 1)):
        at = T0 + (n + 1) * WEEK
        taken = []
        if n + 1 < len(phq9):
            taken.append(Assessment(f"phq-{n + 1}", "PHQ-9", at, total=phq9[n + 1]))
        if n + 1 < len(gad7):
            taken.append(Assessment(f"gad-{n + 1}", "GAD-7", at, total=gad7[n + 1]))
        delivered = n < treatment_sessions
        sessions.append(
            Session(
                f"s-{n}",
                at,
                Attendance.ATTENDED if delivered else Attendance.DID_NOT_ATTEND,
                interventions=("iv-cbt",) if delivered else (),
                assessments=tuple(taken) if delivered else (),
            )
        )
    return tp.TreatmentPlan(
        plan_id="plan-1",
        client_ref="client-1",
        history=_history(closed),
        interventions=(tp.Intervention("iv-cbt", tp.Modality.CBT, "CBT for depression"),),
        assessments=tuple(assessments),
        sessions=tuple(sessions),
    )


def test_recovered_and_reliably_improved_episode() -> None:
    # PHQ-9 18 -> 7 (-11 >= 6), GAD-7 12 -> 5 (-7 >= 4); case at start (18 >= 10);
    # below caseness on both at the end (7 < 10, 5 < 8).
    result = tp.outcomes.talking_therapies_outcome(episode([18, 14, 7], [12, 9, 5]))
    assert result.counts
    assert result.not_counted_because == ()
    assert (result.depression_first, result.depression_last) == (18, 7)
    assert (result.anxiety_first, result.anxiety_last) == (12, 5)
    assert result.case_at_start
    assert result.recovered
    assert result.reliable_improvement
    assert not result.reliable_deterioration
    assert result.reliable_recovery


def test_uses_first_and_last_scores_not_the_best() -> None:
    result = tp.outcomes.talking_therapies_outcome(episode([18, 4, 12], [12, 2, 9]))
    assert (result.depression_last, result.anxiety_last) == (12, 9)
    assert not result.recovered
    assert result.reliable_improvement  # PHQ-9 -6


def test_caseness_on_anxiety_alone() -> None:
    # PHQ-9 9 is below 10 but GAD-7 8 is at the anxiety cut-off.
    result = tp.outcomes.talking_therapies_outcome(episode([9, 5], [8, 3]))
    assert result.case_at_start
    assert result.recovered
    assert result.reliable_improvement  # GAD-7 -5
    assert result.reliable_recovery


def test_recovery_without_reliable_improvement_is_not_reliable_recovery() -> None:
    # PHQ-9 11 -> 8 (-3), GAD-7 8 -> 7 (-1): recovered (below both cut-offs) but not reliably.
    result = tp.outcomes.talking_therapies_outcome(episode([11, 8], [8, 7]))
    assert result.recovered
    assert not result.reliable_improvement
    assert not result.reliable_recovery


def test_not_a_case_at_start_cannot_recover() -> None:
    result = tp.outcomes.talking_therapies_outcome(episode([9, 2], [7, 1]))
    assert not result.case_at_start
    assert not result.recovered
    assert result.reliable_improvement  # PHQ-9 -7 and GAD-7 -6
    assert not result.reliable_recovery


def test_reliable_deterioration_at_the_thresholds() -> None:
    assert tp.outcomes.talking_therapies_outcome(episode([10, 16], [8, 8])).reliable_deterioration
    assert not tp.outcomes.talking_therapies_outcome(
        episode([10, 15], [8, 11])
    ).reliable_deterioration
    assert tp.outcomes.talking_therapies_outcome(episode([10, 10], [8, 12])).reliable_deterioration


def test_improvement_on_one_measure_with_deterioration_on_the_other() -> None:
    # PHQ-9 -8 (reliable improvement), GAD-7 +4 (reliable deterioration).
    mixed = episode([20, 12], [6, 10])
    default = tp.outcomes.talking_therapies_outcome(mixed)
    assert default.reliable_deterioration
    assert not default.reliable_improvement  # NHS Digital's "neither deteriorates" clause
    lenient = tp.outcomes.talking_therapies_outcome(
        mixed, Policy(improvement_requires_no_deterioration=False)
    )
    assert lenient.reliable_improvement
    assert lenient.reliable_deterioration


def test_running_episode_does_not_count_but_is_still_read() -> None:
    result = tp.outcomes.talking_therapies_outcome(episode([18, 7], [12, 5], closed=False))
    assert not result.counts
    assert result.not_counted_because == ("the episode has not finished (not closed)",)
    assert result.recovered


def test_fewer_than_two_treatment_sessions_does_not_count() -> None:
    result = tp.outcomes.talking_therapies_outcome(episode([18, 7], [12, 5], treatment_sessions=1))
    assert result.treatment_sessions == 1
    assert not result.counts
    assert result.not_counted_because == ("1 treatment sessions; at least 2 are needed",)


def test_assessment_only_sessions_are_not_treatment_sessions_by_default() -> None:
    plan = episode([18, 7], [12, 5], treatment_sessions=1, assessment_only_sessions=2)
    assert tp.outcomes.talking_therapies_outcome(plan).treatment_sessions == 1
    attended = Policy(treatment_sessions=tp.outcomes.TreatmentSessionRule.ATTENDED)
    result = tp.outcomes.talking_therapies_outcome(plan, attended)
    assert result.treatment_sessions == 3
    assert result.counts


def test_unpaired_scores_do_not_count_and_leave_the_flags_unknown() -> None:
    result = tp.outcomes.talking_therapies_outcome(episode([18, 7], [12]))
    assert not result.counts
    assert result.not_counted_because == ("no paired first and last GAD-7 scores",)
    assert (result.anxiety_first, result.anxiety_last) == (None, None)
    assert result.case_at_start is None
    assert result.recovered is None
    assert result.reliable_recovery is None


def test_a_disorder_specific_anxiety_measure_with_policy_thresholds() -> None:
    # PCL-5 has no reliable-change threshold built in: the policy supplies one.
    plan = episode([12, 8], [8, 7])
    plan = tp.TreatmentPlan(
        plan_id=plan.plan_id,
        client_ref=plan.client_ref,
        history=plan.history,
        interventions=plan.interventions,
        assessments=(
            *plan.assessments,
            Assessment("pcl-0", "PCL-5", T0, total=50),
            Assessment("pcl-1", "PCL-5", T0 + 10 * WEEK, total=30),
        ),
        sessions=plan.sessions,
    )
    with pytest.raises(ValueError, match="reliable change"):
        tp.outcomes.talking_therapies_outcome(plan, Policy(anxiety="PCL-5"))
    result = tp.outcomes.talking_therapies_outcome(
        plan, Policy(anxiety="PCL-5", anxiety_reliable_change=10)
    )
    # PHQ-9 12 -> 8 (-4, not reliable); PCL-5 50 -> 30 (-20 >= 10); PCL-5 cut-off 33.
    assert result.case_at_start
    assert result.recovered
    assert result.reliable_improvement
    assert result.reliable_recovery


def test_unknown_measure_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        tp.outcomes.talking_therapies_outcome(episode([18, 7], [12, 5]), Policy(anxiety="HADS-A"))


def test_a_zero_reliable_change_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="above 0"):
        tp.outcomes.talking_therapies_outcome(
            episode([18, 7], [12, 5]), Policy(depression_reliable_change=0)
        )


def test_policy_fields_are_validated_without_echoing_values() -> None:
    with pytest.raises(tp.ValidationError) as info:
        Policy(depression="PHQ 9", min_treatment_sessions=-1)
    assert [p.path for p in info.value.problems] == ["$.depression"]
    with pytest.raises(tp.ValidationError) as info:
        Policy(min_treatment_sessions=-1)
    assert [p.path for p in info.value.problems] == ["$.min_treatment_sessions"]
    assert "-1" not in str(info.value)


def test_a_higher_is_better_measure_gains_upwards() -> None:
    # SRS (higher is better) standing in for the anxiety measure: 30 -> 39 is a gain of 9.
    from measured_plans import build

    plan = build(phq9=[15, 8, 6], srs=[30, 35, 39])
    policy = Policy(anxiety="SRS", anxiety_reliable_change=5)
    result = tp.outcomes.talking_therapies_outcome(plan, policy)
    assert (result.anxiety_first, result.anxiety_last) == (30, 39)
    assert result.case_at_start
    assert result.recovered
    assert result.reliable_improvement
    assert not result.reliable_deterioration
    worse = tp.outcomes.talking_therapies_outcome(build(phq9=[15, 14], srs=[39, 30]), policy)
    assert worse.reliable_deterioration
