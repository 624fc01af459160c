"""Measure-based ending rules: sustained recovery, plateau, reliable deterioration,
authorisation used. Worked examples at the edges, evidence, as-of and JSON round trips."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from measured_plans import build, week


def verdict(
    rule: tp.rules.Rule, plan: tp.TreatmentPlan, as_of: datetime | None = None
) -> tp.Verdict:
    when = as_of if as_of is not None else plan.sessions[-1].at + timedelta(hours=1)
    return tp.evaluate(rule, plan, when)


# --------------------------------------------------------------------------- recovery
def test_sustained_recovery_fires_after_n_recovered_scores() -> None:
    # PHQ-9 15 -> 9: a fall of 6 (reliable, NHS TT) to below caseness 10: recovered.
    # GAD-7 10 -> 6: a fall of 4 (reliable) to below caseness 8.
    plan = build(phq9=[15, 12, 9, 9], gad7=[10, 8, 6, 7])
    fired = verdict(tp.rules.SustainedRecovery(consecutive=2), plan)
    assert fired.fired
    assert fired.action is tp.rules.RuleAction.DISCHARGE
    assert fired.evidence == ("phq9-02", "phq9-03", "gad7-02", "gad7-03")
    assert not verdict(tp.rules.SustainedRecovery(consecutive=3), plan).fired
    # One measurement earlier only one recovered score exists.
    assert not verdict(
        tp.rules.SustainedRecovery(consecutive=2), plan, week(2) + timedelta(hours=1)
    ).fired


def test_sustained_recovery_needs_every_measure_out_of_caseness() -> None:
    # GAD-7 8 is a case (NHS TT caseness >= 8): not recovered.
    plan = build(phq9=[15, 9, 9], gad7=[10, 8, 8])
    result = verdict(tp.rules.SustainedRecovery(), plan)
    assert not result.fired
    assert result.reason == "not recovered over the last 2 measurements: GAD-7"
    assert result.evidence == ()


def test_sustained_recovery_edges_on_phq9_alone() -> None:
    rule = tp.rules.SustainedRecovery(instruments=("PHQ-9",))
    assert verdict(rule, build(phq9=[15, 9, 9])).fired
    assert not verdict(rule, build(phq9=[15, 10, 9])).fired  # 10 is a case
    assert not verdict(rule, build(phq9=[14, 9, 9])).fired  # a fall of 5 is not reliable


def test_sustained_recovery_leaves_out_a_measure_without_a_caseness_cutoff() -> None:
    plan = build(phq9=[15, 9, 9])
    k10 = tp.Assessment("k10-a", "K10", plan.sessions[-1].at + timedelta(minutes=30), total=30)
    plan = tp.record_assessment(plan, k10)  # K10 has no caseness cut-off: not judged
    with_k10 = verdict(tp.rules.SustainedRecovery(instruments=("PHQ-9", "K10")), plan)
    alone = verdict(tp.rules.SustainedRecovery(instruments=("PHQ-9",)), plan)
    assert with_k10.fired
    assert (with_k10.reason, with_k10.evidence) == (alone.reason, alone.evidence)
    only_k10 = verdict(tp.rules.SustainedRecovery(instruments=("K10",)), plan)
    assert only_k10.reason == "no scores on the listed measures"


def test_sustained_recovery_requires_a_case_at_baseline() -> None:
    result = verdict(tp.rules.SustainedRecovery(instruments=("PHQ-9",)), build(phq9=[8, 1, 1]))
    assert not result.fired
    assert "baseline" in result.reason


def test_sustained_recovery_with_a_non_case_measure_that_stays_low() -> None:
    # NHS TT: a case at the start on either measure; the anxiety measure never was one.
    assert verdict(tp.rules.SustainedRecovery(), build(phq9=[15, 8, 7], gad7=[5, 5, 4])).fired


def test_sustained_recovery_takes_either_measure_reliably_improved_at_each_point() -> None:
    # NHS TT reliable recovery per point: PHQ-9 14 -> 8 is reliable (6) at the first
    # point, GAD-7 10 -> 6 (4) at the second; both below caseness at both.
    plan = build(phq9=[14, 8, 9], gad7=[10, 7, 6])
    result = verdict(tp.rules.SustainedRecovery(consecutive=2), plan)
    assert result.fired
    assert result.reason == "reliable recovery over the last 2 measurements"
    # At the second point neither is reliably improved (PHQ-9 -5, GAD-7 -3).
    unimproved = verdict(tp.rules.SustainedRecovery(), build(phq9=[14, 8, 9], gad7=[10, 7, 7]))
    assert not unimproved.fired
    assert unimproved.reason == "no reliable improvement at each of the last 2 measurements"


def test_sustained_recovery_without_scores() -> None:
    plan = build(phq9=[15, 14])
    result = verdict(tp.rules.SustainedRecovery(instruments=("GAD-7",)), plan)
    assert not result.fired
    assert result.reason == "no scores on the listed measures"


# --------------------------------------------------------------------------- plateau
def test_plateau_fires_when_no_two_recent_scores_differ_reliably() -> None:
    rule = tp.rules.Plateau(window=4, instruments=("PHQ-9",))
    flat = build(phq9=[20, 15, 14, 12, 10])  # last four span 5 < 6
    result = verdict(rule, flat)
    assert result.fired
    assert result.action is tp.rules.RuleAction.REVIEW
    assert result.evidence == ("phq9-01", "phq9-02", "phq9-03", "phq9-04")
    moving = build(phq9=[20, 15, 14, 12, 9])  # span 6: reliable
    assert not verdict(rule, moving).fired


def test_plateau_needs_a_full_window_and_can_discharge() -> None:
    short = build(phq9=[15, 15, 15])
    assert not verdict(tp.rules.Plateau(window=4), short).fired
    assert verdict(tp.rules.Plateau(window=3), short).fired
    ending = tp.rules.Plateau(window=3, action=tp.rules.RuleAction.DISCHARGE)
    assert verdict(ending, short).action is tp.rules.RuleAction.DISCHARGE


def test_plateau_on_paired_measures_needs_both_flat() -> None:
    plan = build(phq9=[15, 15, 15, 15], gad7=[12, 10, 8, 6])  # GAD-7 moved by 6 >= 4
    assert not verdict(tp.rules.Plateau(window=4), plan).fired
    assert verdict(tp.rules.Plateau(window=4, instruments=("PHQ-9",)), plan).fired


# --------------------------------------------------------------------------- deterioration
def test_reliable_deterioration_reviews_and_never_discharges() -> None:
    plan = build(phq9=[10, 12, 16])
    result = verdict(tp.rules.ReliableDeterioration(), plan)
    assert result.fired
    assert result.action is tp.rules.RuleAction.REVIEW
    assert result.evidence == ("phq9-00", "phq9-02")
    assert result.reason == "reliably worse than baseline: PHQ-9 10 -> 16"
    assert not verdict(tp.rules.ReliableDeterioration(), build(phq9=[10, 12, 15])).fired
    calm = verdict(tp.rules.ReliableDeterioration(), build(phq9=[10, 9]))
    assert calm.action is tp.rules.RuleAction.REVIEW


def test_deterioration_inside_any_of_does_not_end_therapy() -> None:
    plan = build(
        phq9=[10, 16],
        criteria=tp.rules.AnyOf((tp.rules.ReliableDeterioration(), tp.rules.GoalsMet())),
    )
    result = verdict(plan.discharge_criteria, plan)  # type: ignore[arg-type]
    assert result.fired
    assert result.action is tp.rules.RuleAction.REVIEW


# --------------------------------------------------------------------------- authorisation
@pytest.mark.parametrize(
    ("attended", "fired", "action", "reason"),
    [
        (7, False, "warn", "7 of 10 authorised sessions used (70%)"),
        (8, True, "warn", "8 of 10 authorised sessions used (80%): reached 80%"),
        (9, True, "warn", "9 of 10 authorised sessions used (90%): reached 90%"),
        (
            10,
            True,
            "discharge",
            "10 of 10 authorised sessions used (100%): authorisation used up",
        ),
    ],
)
def test_authorisation_used_warns_then_discharges(
    attended: int, fired: bool, action: str, reason: str
) -> None:
    plan = build(phq9=[15] + [None] * attended)
    result = verdict(tp.rules.AuthorisationUsed(10), plan)
    assert (result.fired, result.action.value, result.reason) == (fired, action, reason)
    counted = tuple(f"sess-{n:02d}" for n in range(1, attended + 1))
    assert result.evidence == (counted if fired else ())


@pytest.mark.parametrize(("authorised", "fraction"), [(25, 0.28), (50, 0.14)])
def test_authorisation_used_warns_exactly_at_the_fraction(
    authorised: int, fraction: float
) -> None:
    # In floats 0.28 * 25 is 7.000000000000001: 7 used must still reach 28%.
    rule = tp.rules.AuthorisationUsed(authorised, warn_at=(fraction,))
    result = verdict(rule, build(phq9=[15] + [None] * 7))
    assert (result.fired, result.action) == (True, tp.rules.RuleAction.WARN)
    assert result.reason.endswith(f": reached {fraction:.0%}")
    assert not verdict(rule, build(phq9=[15] + [None] * 6)).fired


def test_authorisation_counts_missed_sessions_when_asked() -> None:
    plan = build(phq9=[15], attendance=["attended", "did_not_attend", "cancelled_by_service"])
    assert verdict(tp.rules.AuthorisationUsed(3), plan).reason.startswith("1 of 3")
    counted = tp.rules.AuthorisationUsed(3, count_missed=True)
    assert verdict(counted, plan).reason.startswith("2 of 3")


@pytest.mark.parametrize("warn_at", [(0.9, 0.8), (0.0,), (1.0,), (0.8, 0.8)])
def test_authorisation_fractions_are_validated(warn_at: tuple[float, ...]) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.rules.AuthorisationUsed(10, warn_at=warn_at)
    assert caught.value.problems[0].path == "$.warn_at"


@pytest.mark.parametrize(
    "build_rule",
    [
        lambda: tp.rules.SustainedRecovery(consecutive=0),
        lambda: tp.rules.SustainedRecovery(instruments=()),
        lambda: tp.rules.Plateau(window=1),
        lambda: tp.rules.ReliableDeterioration(instruments=("has space",)),
        lambda: tp.rules.AuthorisationUsed(0),
    ],
)
def test_invalid_rules_are_refused(build_rule: object) -> None:
    with pytest.raises(tp.ValidationError):
        build_rule()  # type: ignore[operator]


# --------------------------------------------------------------------------- JSON
MEASURE_RULES = st.one_of(
    st.builds(
        tp.rules.SustainedRecovery,
        st.integers(1, 6),
        st.sampled_from([("PHQ-9",), ("PHQ-9", "GAD-7"), ("CORE-10",)]),
    ),
    st.builds(
        tp.rules.Plateau,
        st.integers(2, 8),
        st.sampled_from([("PHQ-9",), ("GAD-7", "PHQ-9")]),
        st.sampled_from(list(tp.rules.RuleAction)),
    ),
    st.builds(tp.rules.ReliableDeterioration, st.sampled_from([("PHQ-9",), ("ORS",)])),
    st.builds(
        tp.rules.AuthorisationUsed,
        st.integers(1, 40),
        st.sampled_from([(), (0.5,), (0.8, 0.9), (0.75, 0.9, 0.95)]),
        st.booleans(),
    ),
)


@given(MEASURE_RULES)
def test_measure_rules_round_trip_through_json(rule: tp.rules.Rule) -> None:
    text = tp.dumps(tp.rules.AnyOf((rule, tp.rules.GoalsMet())))
    assert tp.loads(text, tp.rules.AnyOf) == tp.rules.AnyOf((rule, tp.rules.GoalsMet()))


def test_a_plan_with_measure_rules_round_trips() -> None:
    criteria = tp.rules.AnyOf(
        (
            tp.rules.SustainedRecovery(consecutive=3),
            tp.rules.AllOf(
                (tp.rules.Plateau(window=5), tp.rules.AuthorisationUsed(12, warn_at=(0.75,)))
            ),
            tp.rules.ReliableDeterioration(instruments=("PHQ-9",)),
        )
    )
    plan = build(phq9=[15, 12, 9], criteria=criteria)
    text = tp.dumps(plan)
    assert '"kind": "sustained_recovery"' in text
    assert '"kind": "authorisation_used"' in text
    assert tp.loads(text) == plan


def test_unknown_fields_in_a_measure_rule_are_reported_by_path() -> None:
    doc = tp.to_dict(build(phq9=[15], criteria=tp.rules.Plateau()))
    doc["discharge_criteria"]["window"] = "four"
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert caught.value.problems[0].path == "$.discharge_criteria.window"
