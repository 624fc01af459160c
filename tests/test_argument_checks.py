"""Public functions called with the wrong kind of argument raise a library error.

Each names the parameter and what it expected (`ArgumentError`, also a
`TypeError`), instead of an `AttributeError` or `TypeError` from deep inside, and
never repeats the value it was given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

import treatplan as tp
from measured_plans import SECRET, T0, build, week

NOW = week(3)
PLAN = build(phq9=[18, 16, 14, 12])
OBJECTIVE = PLAN.objectives[0]
WRONG_PLANS: list[object] = [SECRET, {"plan_id": SECRET}, None, [PLAN], 7]

REVIEW = tp.ProgressReview("extra-r", NOW, tp.ReviewDecision.CONTINUE)
#: Every public function whose first parameter is a plan, called with the rest of a
#: valid argument list.
TAKES_A_PLAN: dict[str, Callable[[Any], object]] = {
    "alerts": lambda p: tp.alerts(p, NOW),
    "allowed_events": lambda p: tp.allowed_events(p),
    "check_event": lambda p: tp.check_event(p, "drop_out", at=NOW),
    "latest_time": lambda p: tp.latest_time(p),
    "fire": lambda p: tp.fire(p, "drop_out", at=NOW, by="clin", reason="moved away"),
    "record_assessment": lambda p: tp.record_assessment(
        p, tp.Assessment("extra-1", "PHQ-9", NOW, total=9)
    ),
    "record_session": lambda p: tp.record_session(
        p, tp.Session("extra-s", NOW, tp.Attendance.ATTENDED)
    ),
    "record_review": lambda p: tp.record_review(
        p, tp.ProgressReview("extra-r", NOW, tp.ReviewDecision.CONTINUE)
    ),
    "revise": lambda p: tp.revise(p, presenting_problems=PLAN.presenting_problems),
    "describe": lambda p: tp.describe(p),
    "evaluate": lambda p: tp.evaluate(tp.rules.SessionLimit(3), p, NOW),
    "objective_achievement": lambda p: tp.objective_achievement(p, OBJECTIVE),
    "record_findings": lambda p: tp.record_findings(p, NOW, review_id="r1"),
    "review": lambda p: tp.review(p, NOW),
    "reviews.next_review_date": lambda p: tp.reviews.next_review_date(p, NOW),
    "reviews.review_due_date": lambda p: tp.reviews.review_due_date(p),
    "reviews.review_status": lambda p: tp.reviews.review_status(p, NOW.date()),
    "fhir.care_plan_status": lambda p: tp.fhir.care_plan_status(p),
    "fhir.episode_status": lambda p: tp.fhir.episode_status(p),
    "fhir.fhir_subset": lambda p: tp.fhir.fhir_subset(p),
    "fhir.to_fhir": lambda p: tp.fhir.to_fhir(p),
    "fhir.import_measures": lambda p: tp.fhir.import_measures(p, []),
    "instruments.plan_series": lambda p: tp.instruments.plan_series(p),
    "instruments.plan_scores": lambda p: tp.instruments.plan_scores(p, "PHQ-9"),
    "instruments.measures_frame": lambda p: tp.instruments.measures_frame(p),
    "stepped.current_step": lambda p: tp.stepped.current_step(p),
    "stepped.plan_step_advice": lambda p: tp.stepped.plan_step_advice(p, NOW),
    "outcomes.talking_therapies_outcome": lambda p: tp.outcomes.talking_therapies_outcome(p),
    "outcomes.plan_gas_t_score": lambda p: tp.outcomes.plan_gas_t_score(p),
}


@pytest.mark.parametrize("name", sorted(TAKES_A_PLAN))
def test_every_function_taking_a_plan_accepts_a_plan(name: str) -> None:
    pytest.importorskip("pandas") if name == "instruments.measures_frame" else None
    TAKES_A_PLAN[name](PLAN)


@pytest.mark.parametrize("wrong", WRONG_PLANS, ids=type)
@pytest.mark.parametrize("name", sorted(TAKES_A_PLAN))
def test_every_function_taking_a_plan_names_it_when_given_something_else(
    name: str, wrong: object
) -> None:
    with pytest.raises(tp.ArgumentError) as caught:
        TAKES_A_PLAN[name](wrong)
    assert caught.value.parameter == "plan"
    assert "a TreatmentPlan" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: tp.alerts(PLAN, NOW, tp.ReviewPolicy()), "policy"),
        (lambda: tp.alerts(PLAN, NOW, cadence=SECRET), "cadence"),  # type: ignore[arg-type]
        (lambda: tp.review(PLAN, NOW, tp.monitoring.AlertPolicy()), "policy"),  # type: ignore[arg-type]
        (lambda: tp.record_findings(PLAN, NOW, review_id="r1", policy=SECRET), "policy"),  # type: ignore[arg-type]
        (lambda: tp.record_findings(PLAN, NOW, review_id="r1", findings=SECRET), "findings"),  # type: ignore[arg-type]
        (lambda: tp.record_findings(PLAN, NOW, review_id=None), "review_id"),  # type: ignore[arg-type]
        (lambda: tp.record_findings(PLAN, NOW, review_id=SECRET + " !"), "review_id"),
        (
            lambda: tp.record_findings(
                PLAN,
                NOW,
                review_id="r1",
                progress=tp.ObjectiveProgress(OBJECTIVE.id, tp.AchievementStatus.IMPROVING),  # type: ignore[arg-type]
            ),
            "progress",
        ),
        (lambda: tp.record_findings(PLAN, NOW, review_id="r1", progress=7), "progress"),  # type: ignore[arg-type]
        (lambda: tp.objective_achievement(PLAN, OBJECTIVE.id), "objective"),  # type: ignore[arg-type]
        (lambda: tp.reviews.review_status(PLAN, NOW.date(), SECRET), "cadence"),  # type: ignore[arg-type]
        (lambda: tp.reviews.review_due_date(PLAN, SECRET), "cadence"),  # type: ignore[arg-type]
        (lambda: tp.reviews.next_review_date(PLAN, NOW, SECRET), "cadence"),  # type: ignore[arg-type]
        (lambda: tp.reviews.due_reviews([PLAN, SECRET], NOW.date()), "plans[1]"),  # type: ignore[list-item]
        (lambda: tp.stepped.current_step(PLAN, SECRET), "policy"),  # type: ignore[arg-type]
        (lambda: tp.stepped.initial_step(18, SECRET), "policy"),  # type: ignore[arg-type]
        (lambda: tp.stepped.step_advice(2, None, False), "current"),  # type: ignore[arg-type]
        (lambda: tp.stepped.step_advice(tp.stepped.CareStep(2), SECRET, False), "signal"),  # type: ignore[arg-type]
        (lambda: tp.stepped.step_advice(tp.stepped.CareStep(2), None, "no"), "deteriorated"),  # type: ignore[arg-type]
        (
            lambda: tp.stepped.step_advice(tp.stepped.CareStep(2), None, False, SECRET),  # type: ignore[arg-type]
            "policy",
        ),
        (lambda: tp.stepped.plan_step_advice(PLAN, NOW, instruments="PHQ-9"), "instruments"),  # type: ignore[arg-type]
        (lambda: tp.stepped.plan_step_advice(PLAN, NOW, instruments=(9,)), "instruments"),  # type: ignore[arg-type]
    ],
)
def test_other_arguments_of_the_wrong_kind_are_named(
    call: Callable[[], object], parameter: str
) -> None:
    with pytest.raises(tp.ArgumentError) as caught:
        call()
    assert caught.value.parameter == parameter
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: tp.objective_achievement(PLAN, OBJECTIVE, "2026-01-01"), "as_of"),  # type: ignore[arg-type]
        (lambda: tp.objective_achievement(PLAN, OBJECTIVE, datetime(2026, 1, 1)), "as_of"),
        (lambda: tp.reviews.next_review_date(PLAN, datetime(2026, 1, 1)), "after"),
        (lambda: tp.reviews.next_review_date(PLAN, date(2026, 1, 1)), "after"),  # type: ignore[arg-type]
        (lambda: tp.record_findings(PLAN, "today", review_id="r1"), "as_of"),  # type: ignore[arg-type]
    ],
)
def test_times_are_checked_where_a_time_is_taken(
    call: Callable[[], object], parameter: str
) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        call()
    assert caught.value.problems[0].path == parameter


def test_step_advice_still_advises_from_a_valid_signal() -> None:
    advice = tp.stepped.step_advice(
        tp.stepped.CareStep(2), tp.monitoring.TrackSignal.RED, deteriorated=False
    )
    assert advice.decision is tp.ReviewDecision.STEP_UP
    assert advice.advised == tp.stepped.CareStep(3)


def test_due_reviews_takes_any_iterable_of_plans_once() -> None:
    plans = iter([PLAN])
    found = tp.reviews.due_reviews(plans, datetime(2027, 1, 1, tzinfo=UTC).date())
    assert all(r.plan_id == PLAN.plan_id for r in found)


def test_the_referral_time_is_the_plans_own() -> None:
    assert PLAN.history[0].at == T0


# --------------------------------------------------------------------------- huge numbers
def _with_huge_total() -> tuple[dict[str, Any], str]:
    bundle = tp.fhir.to_fhir(PLAN)
    for i, entry in enumerate(bundle["entry"]):
        if "valueQuantity" in entry["resource"]:
            entry["resource"]["valueQuantity"]["value"] = 10**400
            return bundle, f"$.entry[{i}].resource.valueQuantity.value"
    raise AssertionError("no Observation with a valueQuantity")


def test_a_number_beyond_float_range_in_fhir_is_refused_at_its_path() -> None:
    bundle, path = _with_huge_total()
    with pytest.raises(tp.ValidationError) as caught:
        tp.fhir.from_fhir(bundle)
    assert [p.path for p in caught.value.problems] == [path]
    for read in (tp.fhir.plan_from_fhir, lambda b: tp.fhir.import_measures(PLAN, b)):
        _, report = read(bundle)
        assert [n.path for n in report.refused] == [path]


# --------------------------------------------------------------------------- deep rules
def _nested(levels: int) -> tp.rules.Rule:
    rule: tp.rules.Rule = tp.rules.SessionLimit(3)
    for n in range(levels):
        rule = tp.rules.AnyOf([rule]) if n % 2 else tp.rules.AllOf([rule])
    return rule


def test_the_deepest_rule_that_can_be_built_round_trips_and_evaluates() -> None:
    deepest = _nested(tp.rules.MAX_RULE_DEPTH)
    plan = tp.revise(PLAN, discharge_criteria=deepest)
    assert tp.loads(tp.dumps(plan)) == plan
    assert tp.evaluate(deepest, plan, NOW).fired is True
    assert tp.loads(tp.dumps(tp.ReviewPolicy(rules=(deepest,))), tp.ReviewPolicy).rules == (
        deepest,
    )


@pytest.mark.parametrize("composite", [tp.rules.AnyOf, tp.rules.AllOf])
def test_rules_nested_deeper_cannot_be_built(composite: Any) -> None:
    deepest = _nested(tp.rules.MAX_RULE_DEPTH)
    with pytest.raises(tp.ValidationError) as caught:
        composite([tp.rules.SessionLimit(2), deepest])
    assert caught.value.problems[0].path == "$.rules"
    assert str(tp.rules.MAX_RULE_DEPTH) in caught.value.problems[0].expected


# --------------------------------------------------------------------------- arithmetic
PHQ9 = tp.instruments.PHQ9
NORMS = tp.instruments.Norms(20.0, 6.0, 6.0, 4.0, 0.85)
HIGHER_IS_WORSE = tp.instruments.Direction.HIGHER_IS_WORSE
NAN, INF, HUGE = float("nan"), float("inf"), 10**400


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: tp.change.in_clinical_range(5, 10, "higher_is_better"), "direction"),  # type: ignore[arg-type]
        (lambda: tp.change.in_clinical_range(5, 10, None), "direction"),  # type: ignore[arg-type]
        (lambda: tp.change.in_clinical_range(NAN, 10, HIGHER_IS_WORSE), "total"),
        (lambda: tp.change.in_clinical_range(5, SECRET, HIGHER_IS_WORSE), "cutoff"),  # type: ignore[arg-type]
        (lambda: tp.change.clinical_cutoffs(NORMS, "up"), "direction"),  # type: ignore[arg-type]
        (lambda: tp.change.clinical_cutoffs("PHQ-9", HIGHER_IS_WORSE), "norms"),  # type: ignore[arg-type]
        (lambda: tp.change.reliable_change_index(NAN, 5, 5, 0.8), "pre"),
        (lambda: tp.change.reliable_change_index(5, 5, SECRET, 0.8), "sd_pre"),  # type: ignore[arg-type]
        (lambda: tp.change.reliable_change_index(5, 5, 5, HUGE), "reliability"),
        (
            lambda: tp.change.jacobson_truax_change(18, 8, sd_pre=5, reliability=0.8, z=NAN),
            "z",
        ),
        (lambda: tp.change.jacobson_truax_change(18, 8, sd_pre=5, reliability=0.8, z=0), "z"),
        (lambda: tp.change.jacobson_truax_change(HUGE, 8, sd_pre=5, reliability=0.8), "pre"),
        (
            lambda: tp.change.jacobson_truax_change(18, 8, sd_pre=5, reliability=0.8, cutoff=NAN),
            "cutoff",
        ),
        (lambda: tp.change.fixed_threshold_change(18, None, threshold=6), "post"),  # type: ignore[arg-type]
        (lambda: tp.change.fixed_threshold_change(18, 8, threshold=INF), "threshold"),
        (lambda: tp.change.classify_change("PHQ-9", 18, 8), "instrument"),  # type: ignore[arg-type]
        (lambda: tp.change.classify_change(PHQ9, 18, 8, method="bogus"), "method"),  # type: ignore[arg-type]
        (lambda: tp.change.classify_change(PHQ9, 18, 8, cutoff="zz"), "cutoff"),  # type: ignore[arg-type]
        (lambda: tp.change.classify_change(PHQ9, 18, 8, z=-1), "z"),
        (lambda: tp.change.Cutoffs(1, 2, 3).get("z"), "choice"),  # type: ignore[arg-type]
        (lambda: tp.change.hageman_arrindell_cs_index(10, 12, None), "stats"),  # type: ignore[arg-type]
        (lambda: tp.instruments.is_case("PHQ-9", 12), "instrument"),  # type: ignore[arg-type]
        (lambda: tp.instruments.is_case(PHQ9, NAN), "total"),
        (lambda: tp.instruments.band_of(PHQ9, INF), "total"),
        (lambda: tp.instruments.band_of(PHQ9, HUGE), "total"),
        (lambda: tp.instruments.band_of(PHQ9, "12"), "total"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.expected_signal(PHQ9, 18, 3, NAN), "total"),
        (lambda: tp.monitoring.expected_signal("PHQ-9", 18, 3, 12), "instrument"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.expected_signal(PHQ9, NAN, 3, 12), "intake"),
        (lambda: tp.monitoring.expected_signal(PHQ9, 18, 3, 12, SECRET), "response"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.LogLinearCurve().expected(PHQ9, 18, -1), "session"),
        (lambda: tp.monitoring.LogLinearCurve().expected(PHQ9, 18.0, 2.5), "session"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.LogLinearCurve().expected("PHQ-9", 18.0, 2), "instrument"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.ExpectedResponse().classify(PHQ9, 18, 2, NAN), "total"),
        (lambda: tp.monitoring.ExpectedResponse().classify(PHQ9, 18, 2, 9, case="no"), "case"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.expected_trajectory("PHQ-9", 18), "instrument"),  # type: ignore[arg-type]
        (
            lambda: tp.monitoring.track(
                tp.builtin_instrument("GAD-7"), tp.instruments.plan_series(PLAN)["PHQ-9"]
            ),
            "points",
        ),
        (
            lambda: tp.monitoring.track(PHQ9, tp.instruments.plan_series(PLAN)["PHQ-9"][0]),  # type: ignore[arg-type]
            "points",
        ),
        (lambda: tp.monitoring.track("PHQ-9", ()), "instrument"),  # type: ignore[arg-type]
        (lambda: tp.monitoring.track(PHQ9, (), SECRET), "response"),  # type: ignore[arg-type]
    ],
)
def test_arithmetic_names_the_argument_it_cannot_use(
    call: Callable[[], object], parameter: str
) -> None:
    with pytest.raises(tp.ArgumentError) as caught:
        call()
    assert caught.value.parameter == parameter
    assert SECRET not in str(caught.value)


def test_arithmetic_still_answers_for_good_arguments() -> None:
    assert tp.change.in_clinical_range(10, 10, HIGHER_IS_WORSE) is True
    assert tp.change.Cutoffs(1, 2, 3).get("b") == 2
    assert tp.change.Cutoffs(1, 2, 3).get(tp.change.CutoffChoice.C) == 3
    assert tp.instruments.band_of(PHQ9, 12) is not None
    points = tp.instruments.plan_series(PLAN)["PHQ-9"]
    assert len(tp.monitoring.track(PHQ9, points)) == len(points)
    assert len(tp.monitoring.track(PHQ9, list(points))) == len(points)
    signal = tp.monitoring.expected_signal(PHQ9, 18, 3, 17)
    assert signal in set(tp.monitoring.TrackSignal)


# --------------------------------------------------------------------------- rule references
@pytest.mark.parametrize(
    "rule",
    [
        tp.rules.Plateau(instruments=("NOPE-1",)),
        tp.rules.SustainedRecovery(instruments=("PHQ-9", "NOPE-1")),
        tp.rules.ReliableDeterioration(instruments=("NOPE-1",)),
    ],
    ids=lambda r: r.kind,
)
def test_a_measure_rule_naming_an_unknown_instrument_is_refused(rule: tp.rules.Rule) -> None:
    position = list(rule.instruments).index("NOPE-1")  # type: ignore[union-attr]
    with pytest.raises(tp.ValidationError) as caught:
        tp.revise(PLAN, discharge_criteria=tp.rules.AnyOf([tp.rules.SessionLimit(9), rule]))
    assert [p.path for p in caught.value.problems] == [
        f"$.discharge_criteria.rules[1].instruments[{position}]"
    ]
    with pytest.raises(tp.UnknownReferenceError):
        tp.evaluate(rule, PLAN, NOW)
    document = json.loads(tp.dumps(PLAN))
    document["discharge_criteria"] = json.loads(tp.dumps(rule))
    with pytest.raises(tp.ValidationError):
        tp.from_dict(document)


# --------------------------------------------------------------------------- model helpers
AE = tp.ArgumentError
category = tp.change.change_category
OTHER_PLAN = build(phq9=[20, 19], targets=[tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 5)])


@pytest.mark.parametrize(
    ("call", "parameter", "error"),
    [
        (lambda: tp.stepped.SteppedCarePolicy().step_of("bogus"), "modality", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: tp.instruments.Band("x", 0, 4).contains("3"), "total", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: OBJECTIVE.target.met_by(None), "total", tp.ArgumentError),  # type: ignore[union-attr, arg-type]
        (lambda: PHQ9.allowed("1"), "item", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: PLAN.assessments[0].problems_against("PHQ-9"), "instrument", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: tp.fhir.episode_status(PLAN, "1"), "upto", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: tp.fhir.episode_status(PLAN, 1.5), "upto", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: tp.fhir.episode_status(PLAN, 99), "upto", tp.UnknownReferenceError),
        (
            lambda: tp.change.change_category("yes", False, None, None),
            "improvement_reliable",
            tp.ArgumentError,
        ),  # type: ignore[arg-type]
        (
            lambda: tp.change.change_category(False, 1, None, None),
            "deterioration_reliable",
            tp.ArgumentError,
        ),  # type: ignore[arg-type]
        (
            lambda: tp.change.change_category(False, False, "no", None),
            "clinical_at_pre",
            tp.ArgumentError,
        ),  # type: ignore[arg-type]
        (
            lambda: tp.change.change_category(False, False, None, 0),
            "clinical_at_post",
            tp.ArgumentError,
        ),  # type: ignore[arg-type]
        (
            lambda: tp.instruments.plan_score(PLAN, tp.Assessment("a", "NOPE-1", NOW, total=3)),
            "assessment.instrument",
            tp.UnknownReferenceError,
        ),
        (lambda: tp.document.migrate({}, to_version="1"), "to_version", tp.ArgumentError),  # type: ignore[arg-type]
        (lambda: tp.document.migrate({}, to_version=99), "to_version", tp.ArgumentError),
        (lambda: tp.document.migrate({}, to_version=0), "to_version", tp.ArgumentError),
        (lambda: tp.document.migrate({}, migrations=[]), "migrations", tp.ArgumentError),  # type: ignore[arg-type]
        (
            lambda: tp.objective_achievement(PLAN, OTHER_PLAN.objectives[0]),
            "objective",
            tp.ArgumentError,
        ),
    ],
)
def test_model_helpers_name_the_argument_they_cannot_use(
    call: Callable[[], object], parameter: str, error: type[tp.TreatplanError]
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert getattr(caught.value, "parameter", None) == parameter


def test_an_equal_copy_of_an_objective_is_the_plans_objective() -> None:
    copy = tp.loads(tp.dumps(PLAN)).objectives[0]
    assert copy is not OBJECTIVE
    assert tp.objective_achievement(PLAN, copy) == tp.objective_achievement(PLAN, OBJECTIVE)


def test_a_list_member_of_the_wrong_kind_is_named_in_the_singular() -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.instruments.Instrument("X-1", "x", 3, 0, 3, risk_items=(SECRET,))  # type: ignore[arg-type]
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("$.risk_items[0]", "a risk item")
    ]
    with pytest.raises(tp.ValidationError) as caught:
        tp.Session("s1", NOW, tp.Attendance.ATTENDED, assessments=(SECRET,))  # type: ignore[arg-type]
    assert caught.value.problems[0].expected == "an assessment"


# --------------------------------------------------------------------------- FHIR statuses
@pytest.mark.parametrize("junk", [SECRET, 5, "finished"])
@pytest.mark.parametrize(
    ("resource_type", "field", "level"),
    [
        ("EpisodeOfCare", "status", None),
        ("CarePlan", "status", None),
        ("Goal", "lifecycleStatus", "long-term-goal"),
    ],
)
def test_a_status_that_disagrees_with_the_lifecycle_is_refused_at_its_path(
    resource_type: str, field: str, level: str | None, junk: object
) -> None:
    bundle = tp.fhir.to_fhir(PLAN)
    for i, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource["resourceType"] == resource_type and (
            level is None or level in json.dumps(resource.get("category", []))
        ):
            resource[field] = junk
            path = f"$.entry[{i}].resource.{field}"
            break
    assert tp.fhir.from_fhir(tp.fhir.to_fhir(PLAN)) == tp.fhir.fhir_subset(PLAN)
    with pytest.raises(tp.ValidationError) as caught:
        tp.fhir.from_fhir(bundle)
    assert [p.path for p in caught.value.problems] == [path]
    assert SECRET not in str(caught.value)


# --------------------------------------------------------------------------- revise and JSON
@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: tp.revise(PLAN, goals=PLAN.goals[0]), "goals"),  # type: ignore[arg-type]
        (lambda: tp.revise(PLAN, goals="goal"), "goals"),
        (lambda: tp.revise(PLAN, interventions=7), "interventions"),  # type: ignore[arg-type]
        (lambda: tp.revise(PLAN, presenting_problems=b"x"), "presenting_problems"),
        (lambda: tp.from_dict(tp.to_dict(PLAN), "TreatmentPlan"), "kind"),  # type: ignore[call-overload]
        (lambda: tp.from_dict(5, int), "kind"),
        (lambda: tp.loads('"x"', str), "kind"),
        (lambda: tp.to_dict(object()), "value"),
        (lambda: tp.dumps(object()), "value"),
        (lambda: tp.dumps(PLAN, indent="x"), "indent"),  # type: ignore[arg-type]
        (lambda: tp.dumps(PLAN, indent=-1), "indent"),
    ],
)
def test_revise_and_json_name_the_argument_they_cannot_use(
    call: Callable[[], object], parameter: str
) -> None:
    with pytest.raises(tp.ArgumentError) as caught:
        call()
    assert caught.value.parameter == parameter


def test_rules_and_targets_read_as_their_union() -> None:
    rule = tp.rules.AnyOf([tp.rules.SessionLimit(3), tp.rules.ClientRequest()])
    assert tp.from_dict(tp.to_dict(rule), tp.rules.Rule) == rule
    target = OBJECTIVE.target
    assert tp.from_dict(tp.to_dict(target), tp.ObjectiveTarget) == target
    with pytest.raises(tp.ValidationError, match="invalid termination rule document"):
        tp.from_dict({"kind": SECRET}, tp.rules.Rule)
    with pytest.raises(tp.ValidationError, match="invalid objective target document"):
        tp.from_dict({"kind": SECRET}, tp.ObjectiveTarget)
    with pytest.raises(tp.ArgumentError, match="value: expected a treatplan plan"):
        tp.to_dict("text")  # type: ignore[call-overload]
    assert tp.dumps(PLAN, indent=0).startswith("{\n")


@pytest.mark.parametrize("key", ["goals", "sessions", "history"])
def test_a_list_member_that_is_not_an_object_is_named_by_its_type(key: str) -> None:
    document = tp.to_dict(PLAN)
    document[key] = [None, 5]
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(document)
    kind = {"goals": "Goal", "sessions": "Session", "history": "Transition"}[key]
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        (f"$.{key}[0]", f"an object (a {kind})"),
        (f"$.{key}[1]", f"an object (a {kind})"),
    ]


def test_an_integer_of_thousands_of_digits_is_out_of_range_where_it_lands() -> None:
    text = tp.dumps(PLAN, indent=None)
    first = PLAN.all_assessments()[0]
    assert first.total is not None
    marker = f'"total":{first.total:g}'
    assert marker in text
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(text.replace(marker, '"total":1' + "0" * 5000, 1))
    assert caught.value.problems[0].path.endswith(".total")


def _long_term_goal(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    for i, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource["resourceType"] == "Goal" and "long-term" in json.dumps(
            resource.get("category")
        ):
            return i, resource
    raise AssertionError("no long-term goal")


def test_a_goal_relationship_other_than_a_milestone_is_not_an_objective() -> None:
    bundle = tp.fhir.to_fhir(PLAN)
    _, goal = _long_term_goal(bundle)
    extra = json.loads(json.dumps(goal["extension"][0]))
    extra["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "predecessor"
    goal["extension"].append(extra)
    assert tp.fhir.from_fhir(bundle) == tp.fhir.fhir_subset(PLAN)


def test_a_fhir_element_that_should_be_an_object_is_named() -> None:
    bundle = tp.fhir.to_fhir(PLAN)
    i, goal = _long_term_goal(bundle)
    goal["description"] = SECRET
    with pytest.raises(tp.ValidationError) as caught:
        tp.fhir.from_fhir(bundle)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        (f"$.entry[{i}].resource.description", "a JSON object")
    ]
    bundle = tp.fhir.to_fhir(PLAN)
    entries = bundle["entry"]
    i = next(n for n, e in enumerate(entries) if e["resource"]["resourceType"] == "Condition")
    entries[i]["resource"]["code"]["coding"] = [SECRET]
    with pytest.raises(tp.ValidationError) as caught:
        tp.fhir.from_fhir(bundle)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        (f"$.entry[{i}].resource.code.coding[0]", "a JSON object")
    ]


def test_lists_of_values_read_as_tuples_or_lists_of_their_class() -> None:
    found = tp.review(PLAN, NOW)
    assert tp.loads(tp.dumps(found.verdicts), tuple[tp.Verdict, ...]) == found.verdicts
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict([5], list[tp.Alert])
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("$[0]", "an object (an Alert)")
    ]
    with pytest.raises(tp.ArgumentError):
        tp.from_dict([], tuple[int, ...])


@pytest.mark.parametrize("rules", [5, None, SECRET])
def test_a_review_policy_takes_a_list_of_rules(rules: Any) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.ReviewPolicy(rules=rules)
    assert [p.path for p in info.value.problems] == ["$.rules"]
    assert SECRET not in str(info.value)
    assert tp.ReviewPolicy(rules=[tp.rules.SessionLimit(8)]).rules == (tp.rules.SessionLimit(8),)


@pytest.mark.parametrize("parts", [{SECRET: 1}, {"history": ()}, {"_state": None}])
def test_refer_takes_only_the_plans_content(parts: dict[str, Any]) -> None:
    # The referral sets the history and ids; any other keyword is a slip, refused
    # without naming it (a keyword can carry clinical text).
    with pytest.raises(tp.ArgumentError) as info:
        tp.TreatmentPlan.refer("p-1", "c-1", at=T0, by="gp-1", **parts)
    assert SECRET not in str(info.value)
    goal = PLAN.goals[0]
    plan = tp.TreatmentPlan.refer(
        "p-1", "c-1", at=T0, by="gp-1", presenting_problems=PLAN.presenting_problems, goals=(goal,)
    )
    assert plan.goals == (goal,)
