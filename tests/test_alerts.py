"""Alerts: risk, not on track, deterioration, alliance, missing measures, overdue review,
authorisation. Each at its edges; messages never carry the plan's free text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

import treatplan as tp
from measured_plans import SECRET, T0, build, week


def kinds(plan: tp.TreatmentPlan, as_of: datetime | None = None, **policy: object) -> list[str]:
    """The alert kinds, leaving out risk_not_assessed: most fixtures record PHQ-9 totals
    only, which cannot assess item 9 (tested on its own below)."""
    when = as_of
    if when is None:
        when = (plan.sessions[-1].at if plan.sessions else plan.last_event_at) + timedelta(hours=1)
    found = tp.alerts(plan, when, tp.monitoring.AlertPolicy(**policy))  # type: ignore[arg-type]
    return [a.kind.value for a in found if a.kind is not tp.monitoring.AlertKind.RISK_NOT_ASSESSED]


def phq9_items(total: int, item9: int) -> tuple[int, ...]:
    rest = total - item9
    base, extra = divmod(rest, 8)
    return (*[base + (1 if i < extra else 0) for i in range(8)], item9)


# --------------------------------------------------------------------------- risk
def test_risk_item_on_the_latest_score_is_urgent() -> None:
    plan = build(phq9=[15, phq9_items(14, 1)])
    found = tp.alerts(plan, week(2))
    risk = [a for a in found if a.kind is tp.monitoring.AlertKind.RISK_ITEM]
    assert len(risk) == 1
    assert risk[0].level is tp.monitoring.AlertLevel.URGENT
    assert risk[0].evidence == ("phq9-01",)
    assert found[0].level is tp.monitoring.AlertLevel.URGENT  # most urgent first


def test_risk_item_cleared_by_a_later_score() -> None:
    plan = build(phq9=[15, phq9_items(14, 1), phq9_items(12, 0)])
    assert "risk_item" not in kinds(plan)
    # ... but as of the earlier session it was there.
    assert "risk_item" in kinds(plan, week(1) + timedelta(hours=1))


def _not_assessed(plan: tp.TreatmentPlan) -> list[tp.Alert]:
    found = tp.alerts(plan, plan.sessions[-1].at + timedelta(hours=1))
    return [a for a in found if a.kind is tp.monitoring.AlertKind.RISK_NOT_ASSESSED]


def test_risk_not_assessed_on_a_total_only_latest_score() -> None:
    # A total cannot show item 9: unknown, not no risk.
    plan = build(phq9=[phq9_items(15, 0), 13])
    found = _not_assessed(plan)
    assert len(found) == 1
    assert found[0].level is tp.monitoring.AlertLevel.WARNING
    assert found[0].instrument == "PHQ-9"
    assert found[0].evidence == ("phq9-01",)
    assert found[0].message == "PHQ-9 risk item not assessed at phq9-01"


def test_risk_not_assessed_when_the_risk_item_is_missing() -> None:
    missing_item9 = (*phq9_items(12, 0)[:8], None)
    found = _not_assessed(build(phq9=[15, missing_item9]))
    assert [a.evidence for a in found] == [("phq9-01",)]


def test_risk_assessed_raises_no_such_alert() -> None:
    assert _not_assessed(build(phq9=[15, phq9_items(12, 0)])) == []
    # Endorsed: the risk-item alert, not this one.
    endorsed = build(phq9=[15, phq9_items(12, 1)])
    assert _not_assessed(endorsed) == []
    assert "risk_item" in kinds(endorsed)
    # GAD-7 has no risk item: a total-only GAD-7 is not a gap in risk assessment.
    gad_only = build(phq9=[15, phq9_items(12, 0)], gad7=[10, 8])
    assert _not_assessed(gad_only) == []


# --------------------------------------------------------------------------- tracking
def test_not_on_track_and_less_change_than_expected() -> None:
    flat = build(phq9=[15, 15, 15, 15, 15])
    assert "not_on_track" in kinds(flat)
    amber = build(phq9=[15, 15])  # session 1: 15 is above the band (13.2 +/- 1.6) but below 16.2
    assert kinds(amber) == ["less_change_than_expected"]
    assert kinds(amber, amber_alerts=False) == []
    responding = build(phq9=[15, 13, 11, 10, 9])
    assert kinds(responding) == []


def test_reliable_deterioration_at_the_threshold() -> None:
    # PHQ-9 reliable change is 6 (NHS Talking Therapies): +6 is reliable, +5 is not.
    assert "reliable_deterioration" in kinds(build(phq9=[10, 16]))
    assert "reliable_deterioration" not in kinds(build(phq9=[10, 15]))


def test_unmonitored_instruments_are_not_tracked() -> None:
    # GAD-7 is neither in an objective nor scored at two sessions: no tracking alert.
    plan = build(phq9=[15, 13], gad7=[10, None])
    assert all(a.instrument != "GAD-7" for a in tp.alerts(plan, week(2)))
    worse = build(phq9=[15, 13], gad7=[5, 10])
    assert "reliable_deterioration" in kinds(worse)
    assert "reliable_deterioration" not in kinds(worse, monitored=["PHQ-9"])


# --------------------------------------------------------------------------- alliance
@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([None, 38, 38], []),
        ([None, 38, 37], ["alliance_drop"]),
        ([None, 37, 36], ["alliance_drop"]),
        ([None, 36, 35], ["alliance_low", "alliance_drop"]),
        ([None, 30, 34], ["alliance_low"]),
    ],
)
def test_alliance_cut_off_and_drop(scores: list[object], expected: list[str]) -> None:
    plan = build(phq9=[15, 13, 11], srs=scores)
    assert kinds(plan) == expected


def test_alliance_policy_is_configurable() -> None:
    plan = build(phq9=[15, 13, 11], srs=[None, 38, 37])
    assert kinds(plan, alliance_drop=2) == []
    assert kinds(plan, alliance_cutoff=38) == ["alliance_low", "alliance_drop"]


def test_alliance_drop_compares_with_the_previous_srs_score_and_says_so() -> None:
    # Sessions without an SRS score between the two: the drop is from the previous score.
    plan = build(phq9=[15, 13, 11, 10], srs=[40, None, None, 39])
    when = plan.sessions[-1].at + timedelta(hours=1)
    (drop,) = [a for a in tp.alerts(plan, when) if a.kind.value == "alliance_drop"]
    assert drop.message == "SRS dropped 1 point since its previous score (40 -> 39)"
    assert len(drop.evidence) == 2


# --------------------------------------------------------------------------- data
def test_measures_missing_after_n_attended_sessions() -> None:
    one_gap = build(phq9=[15, 13, None])
    assert "measures_missing" not in kinds(one_gap)
    assert "measures_missing" in kinds(one_gap, missing_after_sessions=1)
    two_gaps = build(phq9=[15, 13, None, None])
    missing = [
        a
        for a in tp.alerts(two_gaps, week(4))
        if a.kind is tp.monitoring.AlertKind.MEASURES_MISSING
    ]
    assert missing[0].evidence == ("sess-02", "sess-03")
    # Sessions not attended are not gaps in the data.
    dna = build(phq9=[15, 13], attendance=["attended", "did_not_attend", "did_not_attend"])
    assert "measures_missing" not in kinds(dna)


def test_review_overdue_after_the_date_the_last_review_set() -> None:
    plan = build(phq9=[15, 13, 11])
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "rev-1",
            week(2) + timedelta(hours=2),
            tp.ReviewDecision.CONTINUE,
            next_review=date(2026, 2, 1),
        ),
    )
    on_day = datetime(2026, 2, 1, 18, 0, tzinfo=UTC)
    assert "review_overdue" not in kinds(plan, on_day)
    late = [
        a for a in tp.alerts(plan, on_day + timedelta(days=3)) if a.kind.value == "review_overdue"
    ]
    assert late[0].message == "review overdue by 3 days (due 2026-02-01)"
    assert late[0].evidence == ("rev-1",)


def test_review_overdue_from_a_cadence() -> None:
    # Item responses, so item 9 is assessed and only the review can raise an alert.
    plan = build(phq9=[phq9_items(t, 0) for t in (15, 13, 11, 10, 9)])
    cadence = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=2)
    # Agreed in week 0 (2026-01-06): due two weeks later, on 2026-01-20.
    assert [a.kind for a in tp.alerts(plan, week(2), cadence=cadence)] == []
    found = tp.alerts(plan, week(3), cadence=cadence)
    assert [a.kind for a in found] == [tp.monitoring.AlertKind.REVIEW_OVERDUE]
    graced = tp.reviews.ReviewCadence(every_sessions=None, every_weeks=2, grace_days=7)
    assert tp.alerts(plan, week(3), cadence=graced) == ()


@pytest.mark.parametrize(
    ("attended", "level", "text"),
    [
        (7, None, None),
        (8, "warning", "8 of 10 authorised sessions used (80%; warning at 80%)"),
        (9, "warning", "9 of 10 authorised sessions used (90%; warning at 90%)"),
        (10, "urgent", "authorisation used up: 10 of 10 sessions"),
    ],
)
def test_authorisation_warnings_at_80_and_90_percent(
    attended: int, level: str | None, text: str | None
) -> None:
    plan = build(phq9=[15] + [None] * attended, criteria=tp.rules.AuthorisationUsed(10))
    found = [
        a
        for a in tp.alerts(
            plan, week(attended) + timedelta(hours=1), tp.monitoring.AlertPolicy(monitored=())
        )
        if a.kind is tp.monitoring.AlertKind.AUTHORISATION
    ]
    if level is None:
        assert found == []
    else:
        assert found[0].level.value == level
        assert found[0].message == text


@pytest.mark.parametrize(("authorised", "fraction"), [(25, 0.28), (50, 0.14), (10, 0.7)])
def test_authorisation_warning_exactly_at_the_fraction(authorised: int, fraction: float) -> None:
    # In floats 0.28 * 25 is 7.000000000000001: 7 used must still reach 28%.
    plan = build(phq9=[15] + [None] * 7)
    policy = tp.monitoring.AlertPolicy(
        monitored=(), authorised_sessions=authorised, authorisation_warnings=(fraction,)
    )
    found = [
        a
        for a in tp.alerts(plan, week(7) + timedelta(hours=1), policy)
        if a.kind is tp.monitoring.AlertKind.AUTHORISATION
    ]
    assert [a.level for a in found] == [tp.monitoring.AlertLevel.WARNING]
    assert found[0].message.startswith(f"7 of {authorised} authorised sessions used")
    six = build(phq9=[15] + [None] * 6)
    assert "authorisation" not in kinds(
        six,
        week(6) + timedelta(hours=1),
        monitored=(),
        authorised_sessions=authorised,
        authorisation_warnings=(fraction,),
    )


def test_authorisation_from_policy_or_session_limit() -> None:
    limit = build(
        phq9=[15] + [None] * 9,
        criteria=tp.rules.AnyOf((tp.rules.SessionLimit(10), tp.rules.GoalsMet())),
    )
    assert "authorisation" in kinds(limit, monitored=())
    assert "authorisation" in kinds(
        build(phq9=[15] + [None] * 4), monitored=(), authorised_sessions=5
    )
    assert "authorisation" not in kinds(build(phq9=[15] + [None] * 4), monitored=())


def test_authorisation_alert_warns_at_the_rule_s_own_fractions() -> None:
    # The rule's verdict and the alert answer one question: they agree on when to warn.
    rule = tp.rules.AuthorisationUsed(authorised_sessions=10, warn_at=(0.5,))
    plan = build(phq9=[15] + [None] * 6, criteria=rule)
    at = week(6) + timedelta(hours=1)
    assert tp.evaluate(rule, plan, at).fired
    found = tp.alerts(plan, at, tp.monitoring.AlertPolicy(monitored=()))
    assert [a.message for a in found if a.kind is tp.monitoring.AlertKind.AUTHORISATION] == [
        "6 of 10 authorised sessions used (60%; warning at 50%)"
    ]
    # A session limit has no fractions of its own: the policy's apply.
    limit = build(phq9=[15] + [None] * 6, criteria=tp.rules.SessionLimit(10))
    assert "authorisation" not in kinds(limit, at, monitored=())


def test_policy_validation_names_the_field() -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.monitoring.AlertPolicy(authorisation_warnings=(0.9, 0.8))
    assert caught.value.problems[0].path == "$.authorisation_warnings"
    with pytest.raises(tp.ValidationError):
        tp.monitoring.AlertPolicy(authorisation_warnings=(1.0,))
    with pytest.raises(tp.ValidationError):
        tp.monitoring.AlertPolicy(missing_after_sessions=0)


def test_as_of_must_be_aware_and_not_before_referral() -> None:
    plan = build(phq9=[15, 13])
    with pytest.raises(tp.ValidationError):
        tp.alerts(plan, datetime(2026, 2, 1))
    with pytest.raises(tp.ValidationError):
        tp.alerts(plan, T0 - timedelta(days=1))


def test_alerts_never_echo_free_text() -> None:
    plan = build(
        phq9=[15, phq9_items(15, 2), 16, 22],
        srs=[None, 38, 30, 29],
        criteria=tp.rules.AuthorisationUsed(3),
    )
    found = tp.alerts(plan, week(3) + timedelta(hours=1))
    assert {a.kind for a in found} >= {
        tp.monitoring.AlertKind.NOT_ON_TRACK,
        tp.monitoring.AlertKind.RELIABLE_DETERIORATION,
        tp.monitoring.AlertKind.ALLIANCE_LOW,
        tp.monitoring.AlertKind.AUTHORISATION,
    }
    assert SECRET not in json.dumps(tp.to_dict(found))


def test_new_alerts_round_trip_through_json() -> None:
    plan = build(phq9=[15, phq9_items(14, 1), 13])
    found = tp.review(plan, plan.sessions[-1].at + timedelta(hours=1))
    assert {a.kind for a in found.alerts} >= {
        tp.monitoring.AlertKind.RISK_ITEM,
        tp.monitoring.AlertKind.RISK_NOT_ASSESSED,
    }
    assert tp.loads(tp.dumps(found.alerts), tuple[tp.Alert, ...]) == found.alerts
    rule = tp.rules.AuthorisationUsed(25, warn_at=(0.28,))
    assert tp.loads(tp.dumps(rule), tp.rules.AuthorisationUsed) == rule


def test_measures_that_could_not_be_scored_raise_no_tracking_or_alliance_alert() -> None:
    # GAD-7 and SRS taken at every session but with no item answered: monitored (two
    # sessions) yet never scored, so neither tracking nor alliance alerts can be judged.
    gad7, srs = (None,) * 7, (None,) * 4
    plan = build(phq9=[15, 13, 11], gad7=[gad7, gad7, gad7], srs=[None, srs, srs])
    found = tp.alerts(plan, week(3))
    assert {a.instrument for a in found} <= {"PHQ-9"}
    assert kinds(plan) == []


def test_series_until_leaves_out_a_measure_first_scored_later() -> None:
    """The series cut at a time hold only the measures scored by then."""
    from treatplan import _alerts

    plan = tp.TreatmentPlan.refer("p", "c", at=T0 - timedelta(days=7), by="x")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=T0 - timedelta(days=7), by="x")
    plan = tp.record_assessment(plan, tp.Assessment("phq-a", "PHQ-9", T0, total=12))
    plan = tp.record_assessment(
        plan, tp.Assessment("gad-a", "GAD-7", T0 + timedelta(days=1), total=9)
    )
    assert list(_alerts.series_until(plan, T0 + timedelta(hours=1))) == ["PHQ-9"]
    assert list(_alerts.series_until(plan, T0 + timedelta(days=2))) == ["PHQ-9", "GAD-7"]
