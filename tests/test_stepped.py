"""Stepped care: NICE steps, the NG222 severity split, current step, step-up advice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_steps_follow_nice() -> None:
    assert [int(s) for s in tp.stepped.CareStep] == [1, 2, 3, 4]
    assert tp.stepped.CareStep.LOW_INTENSITY.name == "LOW_INTENSITY"


@pytest.mark.parametrize(("phq9", "step"), [(0, 2), (10, 2), (15, 2), (16, 3), (27, 3)])
def test_ng222_splits_depression_at_phq9_16(phq9: int, step: int) -> None:
    # NICE NG222 ("Terms used in this guideline"): PHQ-9 below 16 is less severe
    # depression, 16 or more more severe. Steps 2 and 3 are the policy's default.
    assert tp.stepped.NG222_MORE_SEVERE_PHQ9 == 16
    assert tp.stepped.initial_step(phq9) == step


def test_the_step_mapping_is_a_service_default_not_nice() -> None:
    default = tp.stepped.SteppedCarePolicy()
    assert (default.more_severe_from, default.less_severe_step, default.more_severe_step) == (
        16,
        2,
        3,
    )
    # NG222 also offers high-intensity treatment (e.g. individual CBT) for less
    # severe depression, so a service may start everyone at step 3.
    high_first = tp.stepped.SteppedCarePolicy(less_severe_step=3)
    assert tp.stepped.initial_step(10, high_first) is tp.stepped.CareStep.HIGH_INTENSITY
    assert tp.stepped.initial_step(10) is tp.stepped.CareStep.LOW_INTENSITY
    doc = tp.stepped.SteppedCarePolicy.__doc__ or ""
    assert "service default" in doc
    assert "CG90" in doc


def test_initial_step_policy_is_configurable() -> None:
    policy = tp.stepped.SteppedCarePolicy(
        more_severe_from=20, less_severe_step=1, more_severe_step=4
    )
    assert tp.stepped.initial_step(19, policy) is tp.stepped.CareStep.ASSESSMENT_AND_MONITORING
    assert tp.stepped.initial_step(20, policy) is tp.stepped.CareStep.SPECIALIST
    with pytest.raises(tp.ValidationError):
        tp.stepped.initial_step(float("nan"))


def _plan(*modalities: tp.Modality) -> tp.TreatmentPlan:
    plan = tp.TreatmentPlan.refer("p", "c", at=T0, by="gp")
    objective = tp.Objective(
        "o", "text", tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10), date(2026, 6, 1)
    )
    return tp.revise(
        plan,
        goals=[tp.Goal("g", "text", tp.GoalDomain.OTHER, (objective,))],
        interventions=[
            tp.Intervention(f"i-{n}", m, "technique", serves=("o",))
            for n, m in enumerate(modalities)
        ],
    )


@pytest.mark.parametrize(
    ("modalities", "step"),
    [
        ((), 1),
        ((tp.Modality.GUIDED_SELF_HELP,), 2),
        ((tp.Modality.CBT,), 3),
        ((tp.Modality.GUIDED_SELF_HELP, tp.Modality.IPT), 3),
        ((tp.Modality.EMDR,), 3),  # not listed: the policy's unlisted step
        ((tp.Modality.CBT, tp.Modality.DBT), 4),
    ],
)
def test_current_step_is_the_highest_intervention(
    modalities: tuple[tp.Modality, ...], step: int
) -> None:
    assert tp.stepped.current_step(_plan(*modalities)) == step


def test_modality_steps_are_configurable() -> None:
    policy = tp.stepped.SteppedCarePolicy(
        modality_steps=(tp.stepped.ModalityStep(tp.Modality.GROUP, 2),), unlisted_step=3
    )
    assert (
        tp.stepped.current_step(_plan(tp.Modality.GROUP), policy)
        is tp.stepped.CareStep.LOW_INTENSITY
    )
    assert (
        tp.stepped.current_step(_plan(tp.Modality.GUIDED_SELF_HELP), policy)
        is tp.stepped.CareStep.HIGH_INTENSITY
    )
    with pytest.raises(tp.ValidationError):
        tp.stepped.ModalityStep(tp.Modality.CBT, 5)


@pytest.mark.parametrize(
    ("signal", "deteriorated", "decision", "advised"),
    [
        (None, False, "continue", 2),
        (tp.monitoring.TrackSignal.GREEN, False, "continue", 2),
        (tp.monitoring.TrackSignal.AMBER, False, "continue", 2),
        (tp.monitoring.TrackSignal.RED, False, "step_up", 3),
        (tp.monitoring.TrackSignal.GREEN, True, "step_up", 3),
    ],
)
def test_step_up_when_not_on_track_or_worse(
    signal: tp.monitoring.TrackSignal | None, deteriorated: bool, decision: str, advised: int
) -> None:
    advice = tp.stepped.step_advice(tp.stepped.CareStep.LOW_INTENSITY, signal, deteriorated)
    assert advice.decision.value == decision
    assert advice.advised == advised
    assert advice.step_up is (advised > 2)


def test_step_up_policy_options() -> None:
    eager = tp.stepped.SteppedCarePolicy(step_up_signal=tp.monitoring.TrackSignal.AMBER)
    assert tp.stepped.step_advice(
        tp.stepped.CareStep.LOW_INTENSITY, tp.monitoring.TrackSignal.AMBER, False, eager
    ).step_up
    calm = tp.stepped.SteppedCarePolicy(step_up_on_deterioration=False)
    assert not tp.stepped.step_advice(tp.stepped.CareStep.LOW_INTENSITY, None, True, calm).step_up
    capped = tp.stepped.SteppedCarePolicy(top_step=3)
    at_top = tp.stepped.step_advice(
        tp.stepped.CareStep.HIGH_INTENSITY, tp.monitoring.TrackSignal.RED, False, capped
    )
    assert at_top.decision is tp.ReviewDecision.REFER_ON
    assert at_top.advised is tp.stepped.CareStep.HIGH_INTENSITY


@given(
    st.sampled_from(list(tp.stepped.CareStep)),
    st.sampled_from([None, *tp.monitoring.TrackSignal]),
    st.booleans(),
)
def test_advice_never_steps_down_or_past_the_top(
    current: tp.stepped.CareStep, signal: tp.monitoring.TrackSignal | None, deteriorated: bool
) -> None:
    advice = tp.stepped.step_advice(current, signal, deteriorated)
    assert current <= advice.advised <= tp.stepped.CareStep.SPECIALIST
    assert advice.advised - current <= 1


def test_advise_step_reads_the_plan() -> None:
    plan = _plan(tp.Modality.GUIDED_SELF_HELP)
    plan = tp.fire(plan, "begin_assessment", at=T0 + timedelta(days=1), by="c")
    plan = tp.record_assessment(
        plan, tp.Assessment("a0", "PHQ-9", T0 + timedelta(days=1), total=14)
    )
    plan = tp.fire(plan, "agree_plan", at=T0 + timedelta(days=2), by="c")
    for n, total in enumerate([15, 15, 16, 15], start=1):
        when = T0 + timedelta(weeks=n)
        plan = tp.record_session(
            plan,
            tp.Session(
                f"s{n}",
                when,
                tp.Attendance.ATTENDED,
                interventions=("i-0",),
                assessments=(tp.Assessment(f"a{n}", "PHQ-9", when, total=total),),
            ),
        )
    advice = tp.stepped.plan_step_advice(plan, T0 + timedelta(weeks=5))
    assert advice.decision is tp.ReviewDecision.STEP_UP
    assert (advice.current, advice.advised) == (
        tp.stepped.CareStep.LOW_INTENSITY,
        tp.stepped.CareStep.HIGH_INTENSITY,
    )
    early = tp.stepped.plan_step_advice(plan, T0 + timedelta(days=3))
    assert early.decision is tp.ReviewDecision.CONTINUE
    with pytest.raises(tp.ValidationError):
        tp.stepped.plan_step_advice(plan, datetime(2026, 3, 1))


def test_policy_round_trips_through_json() -> None:
    policy = tp.stepped.SteppedCarePolicy(
        more_severe_from=15, step_up_signal=tp.monitoring.TrackSignal.AMBER
    )
    assert tp.from_dict(tp.to_dict(policy), tp.stepped.SteppedCarePolicy) == policy
    review_policy = tp.ReviewPolicy(stepped_care=policy)
    assert tp.to_dict(review_policy)["stepped_care"]["more_severe_from"] == 15
