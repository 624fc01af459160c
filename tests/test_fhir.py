"""FHIR R4/R5 export and import: structure (fhir.resources), value sets, round trip.

``fhir.resources`` 8.x ships R5 (5.0.0) as its default package and R4B (4.3.0) as a
subpackage; it has no plain R4 (4.0.1) package. The resources exported here
(Bundle, EpisodeOfCare, CarePlan, Goal, Condition, Observation) did not change
between R4 and R4B, so R4 output is validated with the R4B models.

fhir.resources checks structure and data types but not required code bindings, so
every status and code is also checked against its value set, written out below
from the FHIR specification (hl7.org/fhir/R4 and /R5, ValueSet pages).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))
VERSIONS = ("R4", "R5")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- value sets
# EpisodeOfCare.status and .statusHistory.status: episode-of-care-status (required),
# identical in R4 and R5.
EPISODE_OF_CARE_STATUS = {
    "planned",
    "waitlist",
    "active",
    "onhold",
    "finished",
    "cancelled",
    "entered-in-error",
}
# CarePlan.status (R4 care-plan-status = R5 request-status) and R5 ServiceRequest.status.
REQUEST_STATUS = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}
# CarePlan.intent: R4 care-plan-intent; R5 adds directive.
CARE_PLAN_INTENT = {
    "R4": {"proposal", "plan", "order", "option"},
    "R5": {"proposal", "plan", "order", "option", "directive"},
}
# R5 ServiceRequest.intent: request-intent.
REQUEST_INTENT = {
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}
# Goal.lifecycleStatus: goal-status (required), R4 and R5.
GOAL_LIFECYCLE_STATUS = {
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
}
# Goal.achievementStatus: goal-achievement (preferred binding; checked strictly here).
GOAL_ACHIEVEMENT = (
    "http://terminology.hl7.org/CodeSystem/goal-achievement",
    {
        "in-progress",
        "improving",
        "worsening",
        "no-change",
        "achieved",
        "sustaining",
        "not-achieved",
        "no-progress",
        "not-attainable",
    },
)
# Condition.clinicalStatus: condition-clinical (required); R5 adds unknown.
CONDITION_CLINICAL = (
    "http://terminology.hl7.org/CodeSystem/condition-clinical",
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"},
)
CONDITION_CATEGORY = (
    "http://terminology.hl7.org/CodeSystem/condition-category",
    {"problem-list-item", "encounter-diagnosis"},
)
# Observation.status: observation-status (required).
OBSERVATION_STATUS = {
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
}
OBSERVATION_CATEGORY = (
    "http://terminology.hl7.org/CodeSystem/observation-category",
    {
        "social-history",
        "vital-signs",
        "imaging",
        "laboratory",
        "procedure",
        "survey",
        "exam",
        "therapy",
        "activity",
    },
)
# R4 CarePlan.activity.detail.status: care-plan-activity-status (required).
CARE_PLAN_ACTIVITY_STATUS = {
    "not-started",
    "scheduled",
    "in-progress",
    "on-hold",
    "completed",
    "cancelled",
    "stopped",
    "unknown",
    "entered-in-error",
}
# R4 CarePlan.activity.detail.kind: care-plan-activity-kind (required).
CARE_PLAN_ACTIVITY_KIND = {
    "Appointment",
    "CommunicationRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "Task",
    "ServiceRequest",
    "VisionPrescription",
}
# Quantity.comparator: quantity-comparator (required); R5 adds ad.
QUANTITY_COMPARATOR = {"<", "<=", ">=", ">"}
# Timing.repeat.periodUnit: units-of-time (required).
UNITS_OF_TIME = {"s", "min", "h", "d", "wk", "mo", "a"}
# Component dataAbsentReason: data-absent-reason (extensible).
DATA_ABSENT_REASON = (
    "http://terminology.hl7.org/CodeSystem/data-absent-reason",
    {
        "unknown",
        "asked-unknown",
        "temp-unknown",
        "not-asked",
        "asked-declined",
        "masked",
        "not-applicable",
        "unsupported",
        "as-text",
        "error",
        "not-a-number",
        "negative-infinity",
        "positive-infinity",
        "not-performed",
        "not-permitted",
    },
)
DIAGNOSIS_SYSTEMS = {
    "ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD-10": "http://hl7.org/fhir/sid/icd-10",
    "ICD-11": "http://id.who.int/icd/release/11/mms",
    "SNOMED-CT": "http://snomed.info/sct",
}
# Total-score LOINC codes (docs/references.md#lifecycle-and-fhir; US Core screening assessments).
LOINC_TOTALS = {"PHQ-9": "44261-6", "GAD-7": "70274-6", "PCL-5": "101698-9"}
# Written out here from LOINC, independently of the exporter's table.
LOINC_ITEMS = {
    "PHQ-9": [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ],
    "GAD-7": ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"],
}
LOINC_ANSWERS = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}


def _component_value(component: dict[str, Any]) -> int | None:
    if "valueCodeableConcept" in component:
        [code] = _codes(component["valueCodeableConcept"], "http://loinc.org")
        return LOINC_ANSWERS[code]
    return component.get("valueInteger")


UCUM = "http://unitsofmeasure.org"


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c.get("system") == system]


def _check_concept(
    problems: list[str], where: str, concept: dict[str, Any], value_set: tuple[str, set[str]]
) -> None:
    system, codes = value_set
    found = _codes(concept, system)
    if not found:
        problems.append(f"{where}: no coding from {system}")
    problems.extend(f"{where}: {c} not in its value set" for c in found if c not in codes)


def _check_code(problems: list[str], where: str, code: Any, codes: set[str]) -> None:
    if code not in codes:
        problems.append(f"{where}: {code!r} not in its value set")


def _resources(bundle: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, entry in enumerate(bundle["entry"]):
        yield f"entry[{i}].{entry['resource']['resourceType']}", entry["resource"]


HTTP_VERBS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}  # http-verb value set


def value_set_problems(bundle: dict[str, Any], version: str) -> list[str]:
    """Every status and code of a bundle that is not in its FHIR value set."""
    problems: list[str] = []
    if bundle["type"] not in ("collection", "transaction"):
        problems.append("Bundle.type")
    for i, entry in enumerate(bundle["entry"]):
        if ("request" in entry) != (bundle["type"] == "transaction"):
            problems.append(f"Bundle.entry[{i}].request")
        elif "request" in entry and entry["request"]["method"] not in HTTP_VERBS:
            problems.append(f"Bundle.entry[{i}].request.method")
    for where, r in _resources(bundle):
        kind = r["resourceType"]
        if kind == "EpisodeOfCare":
            _check_code(problems, f"{where}.status", r["status"], EPISODE_OF_CARE_STATUS)
            for i, h in enumerate(r.get("statusHistory", [])):
                _check_code(
                    problems, f"{where}.statusHistory[{i}]", h["status"], EPISODE_OF_CARE_STATUS
                )
        elif kind == "CarePlan":
            _check_code(problems, f"{where}.status", r["status"], REQUEST_STATUS)
            _check_code(problems, f"{where}.intent", r["intent"], CARE_PLAN_INTENT[version])
            for i, a in enumerate(r.get("activity", [])):
                if version == "R4":
                    d = a["detail"]
                    _check_code(
                        problems, f"{where}.activity[{i}]", d["status"], CARE_PLAN_ACTIVITY_STATUS
                    )
                    _check_code(
                        problems, f"{where}.activity[{i}]", d["kind"], CARE_PLAN_ACTIVITY_KIND
                    )
                    _check_timing(problems, f"{where}.activity[{i}]", d.get("scheduledTiming"))
                elif "detail" in a:
                    problems.append(f"{where}.activity[{i}]: R5 has no activity.detail")
        elif kind == "ServiceRequest":
            if version != "R5":
                problems.append(f"{where}: ServiceRequests are written for R5 only")
            _check_code(problems, f"{where}.status", r["status"], REQUEST_STATUS)
            _check_code(problems, f"{where}.intent", r["intent"], REQUEST_INTENT)
            _check_timing(problems, where, r.get("occurrenceTiming"))
        elif kind == "Goal":
            _check_code(
                problems, f"{where}.lifecycleStatus", r["lifecycleStatus"], GOAL_LIFECYCLE_STATUS
            )
            if "achievementStatus" in r:
                _check_concept(
                    problems,
                    f"{where}.achievementStatus",
                    r["achievementStatus"],
                    GOAL_ACHIEVEMENT,
                )
            for i, t in enumerate(r.get("target", [])):
                q = t.get("detailQuantity")
                if q is not None:
                    _check_code(
                        problems, f"{where}.target[{i}]", q["comparator"], QUANTITY_COMPARATOR
                    )
                    if q.get("system") != UCUM:
                        problems.append(f"{where}.target[{i}]: quantity not in UCUM")
        elif kind == "Condition":
            _check_concept(
                problems, f"{where}.clinicalStatus", r["clinicalStatus"], CONDITION_CLINICAL
            )
            for c in r.get("category", []):
                _check_concept(problems, f"{where}.category", c, CONDITION_CATEGORY)
            for c in r["code"].get("coding", []):
                if c["system"] not in DIAGNOSIS_SYSTEMS.values() and not c["system"].startswith(
                    tp.fhir.FHIR_NAMESPACE
                ):
                    problems.append(f"{where}.code: unknown diagnosis system")
        elif kind == "Observation":
            _check_code(problems, f"{where}.status", r["status"], OBSERVATION_STATUS)
            for c in r.get("category", []):
                _check_concept(problems, f"{where}.category", c, OBSERVATION_CATEGORY)
            loinc = _codes(r["code"], "http://loinc.org")
            problems.extend(
                f"{where}.code: {c} is not a total-score LOINC code"
                for c in loinc
                if c not in LOINC_TOTALS.values()
            )
            q = r.get("valueQuantity")
            if q is not None and (q["system"], q["code"]) != (UCUM, "{score}"):
                problems.append(f"{where}.valueQuantity: not a UCUM {{score}}")
            for i, comp in enumerate(r.get("component", [])):
                if "dataAbsentReason" in comp:
                    _check_concept(
                        problems,
                        f"{where}.component[{i}]",
                        comp["dataAbsentReason"],
                        DATA_ABSENT_REASON,
                    )
                problems.extend(
                    f"{where}.component[{i}].code: {c} is not a LOINC item code"
                    for c in _codes(comp["code"], "http://loinc.org")
                    if not any(c in codes for codes in LOINC_ITEMS.values())
                )
                if "valueCodeableConcept" in comp:
                    problems.extend(
                        f"{where}.component[{i}].value: {c} is not a LOINC answer code"
                        for c in _codes(comp["valueCodeableConcept"], "http://loinc.org")
                        if c not in LOINC_ANSWERS
                    )
        elif kind == "QuestionnaireResponse":
            if r["status"] != "completed":
                problems.append(f"{where}.status: not completed")
            for i, item in enumerate(r["item"]):
                for answer in item.get("answer", []):
                    coding = answer.get("valueCoding")
                    if coding is not None and coding["code"] not in LOINC_ANSWERS:
                        problems.append(f"{where}.item[{i}]: not a LOINC answer code")
        else:
            problems.append(f"{where}: unexpected resource type")
    return problems


def _check_timing(problems: list[str], where: str, timing: dict[str, Any] | None) -> None:
    if timing is not None and "periodUnit" in timing.get("repeat", {}):
        _check_code(problems, f"{where}.timing", timing["repeat"]["periodUnit"], UNITS_OF_TIME)


def validate(bundle: dict[str, Any], version: str) -> None:
    """Structure (fhir.resources) and value sets, on the bundle as JSON text would carry it."""
    doc = json.loads(json.dumps(bundle, allow_nan=False))
    model = BundleR4B if version == "R4" else BundleR5
    model.model_validate(doc)
    assert value_set_problems(doc, version) == []


def _entries(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _load(path: Path) -> tp.TreatmentPlan:
    plan: tp.TreatmentPlan = tp.loads(path.read_text(encoding="utf-8"))
    return plan


# --------------------------------------------------------------------------- examples
def test_there_are_example_plans() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_convert_validate_and_round_trip(path: Path, version: str) -> None:
    plan = _load(path)
    bundle = tp.fhir.to_fhir(plan, version)
    validate(bundle, version)
    back = tp.fhir.from_fhir(json.loads(json.dumps(bundle)))
    assert back == tp.fhir.fhir_subset(plan)
    assert tp.dumps(back) == tp.dumps(tp.fhir.fhir_subset(plan))
    # One resource of each kind per plan part.
    assert len(_entries(bundle, "Condition")) == len(plan.presenting_problems)
    assert len(_entries(bundle, "Goal")) == len(plan.goals) + len(plan.objectives)
    assert len(_entries(bundle, "Observation")) == len(plan.all_assessments())
    assert len(_entries(bundle, "ServiceRequest")) == (
        len(plan.interventions) if version == "R5" else 0
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_observations_carry_codes_and_scores(path: Path, version: str) -> None:
    plan = _load(path)
    observations = _entries(tp.fhir.to_fhir(plan, version), "Observation")
    by_id = {a.id: a for a in plan.all_assessments()}
    assert len(observations) == len(by_id)
    for obs in observations:
        assessment = by_id[obs["identifier"][0]["value"].removeprefix(f"{plan.plan_id}/")]
        instrument = plan.instrument(assessment.instrument)
        loinc = _codes(obs["code"], "http://loinc.org")
        assert loinc == ([instrument.loinc] if instrument.loinc else [])
        if instrument.code in LOINC_TOTALS:
            assert loinc == [LOINC_TOTALS[instrument.code]]
        local = _codes(obs["code"], f"{tp.fhir.FHIR_NAMESPACE}/CodeSystem/instrument")
        assert local == [instrument.code]
        assert obs["effectiveDateTime"] == assessment.administered_at.isoformat()
        values = [_component_value(c) for c in obs.get("component", [])]
        assert values == list(assessment.items or ())
        form = LOINC_ITEMS.get(instrument.code)
        for n, component in enumerate(obs.get("component", [])):
            item_codes = _codes(component["code"], "http://loinc.org")
            assert item_codes == ([form[n]] if form else [])
        quantity = obs.get("valueQuantity")
        if assessment.items is None:
            assert quantity is not None
            assert quantity["value"] == assessment.total
            assert "extension" not in quantity
        elif tp.instruments.plan_score(plan, assessment).total is None:
            assert quantity is None
        else:
            # No recorded total: the Observation reports the computed score, flagged as such.
            assert quantity is not None
            assert quantity["value"] == tp.instruments.plan_score(plan, assessment).total
            assert quantity["extension"] == [
                {
                    "url": f"{tp.fhir.FHIR_NAMESPACE}/StructureDefinition/computed-total",
                    "valueBoolean": True,
                }
            ]


def test_examples_include_loinc_coded_measures() -> None:
    codes = {a.instrument for p in EXAMPLES for a in _load(p).all_assessments()}
    assert {"PHQ-9", "GAD-7"} <= codes


# --------------------------------------------------------------------------- statuses
def _plan_through(*steps: tuple[str, str | None]) -> tp.TreatmentPlan:
    """A plan referred at T0, ready to agree, driven through ``steps`` (event, reason)."""
    objective = tp.Objective(
        id="obj-1",
        description="PHQ-9 below 10",
        target=tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
        target_date=date(2026, 6, 1),
    )
    plan = tp.TreatmentPlan.refer(
        "plan-1",
        "client-1",
        T0,
        "gp-1",
        presenting_problems=(tp.PresentingProblem("prob-1", "low mood"),),
        goals=(
            tp.Goal(
                "goal-1",
                "feel better",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                (objective,),
                addresses=("prob-1",),
            ),
        ),
        interventions=(
            tp.Intervention("int-1", tp.Modality.CBT, "restructuring", serves=("obj-1",)),
        ),
        assessments=(tp.Assessment("a-1", "PHQ-9", T0, total=15),),
    )
    for hour, (event, reason) in enumerate(steps, 1):
        plan = tp.fire(plan, event, at=T0 + timedelta(hours=hour), by="clin-1", reason=reason)
    return plan


# (steps, EpisodeOfCare.status, CarePlan.status, R4 activity status) per
# docs/references.md#lifecycle-and-fhir.
_PATHS: list[tuple[tuple[tuple[str, str | None], ...], str, str, str]] = [
    ((), "planned", "draft", "not-started"),
    ((("waitlist", None),), "waitlist", "draft", "not-started"),
    ((("begin_assessment", None),), "active", "draft", "not-started"),
    ((("begin_assessment", None), ("agree_plan", None)), "active", "active", "in-progress"),
    (
        (("begin_assessment", None), ("agree_plan", None), ("pause", "leave")),
        "onhold",
        "on-hold",
        "on-hold",
    ),
    (
        (("begin_assessment", None), ("agree_plan", None), ("begin_ending", "met")),
        "active",
        "active",
        "in-progress",
    ),
    (
        (
            ("begin_assessment", None),
            ("agree_plan", None),
            ("begin_ending", "met"),
            ("start_follow_up", None),
        ),
        "active",
        "active",
        "in-progress",
    ),
    (
        (
            ("begin_assessment", None),
            ("agree_plan", None),
            ("begin_ending", "met"),
            ("complete", "done"),
        ),
        "finished",
        "completed",
        "completed",
    ),
    (
        (("begin_assessment", None), ("agree_plan", None), ("drop_out", "stopped coming")),
        "finished",
        "revoked",
        "stopped",
    ),
    ((("begin_assessment", None), ("decline", "declined")), "finished", "revoked", "cancelled"),
    ((("cancel", "moved away"),), "cancelled", "revoked", "cancelled"),
    ((("waitlist", None), ("transfer", "elsewhere")), "cancelled", "revoked", "cancelled"),
]


@pytest.mark.parametrize(("steps", "episode", "care_plan", "activity"), _PATHS)
def test_status_mapping_follows_the_domain_table(
    steps: tuple[tuple[str, str | None], ...], episode: str, care_plan: str, activity: str
) -> None:
    plan = _plan_through(*steps)
    assert tp.fhir.episode_status(plan) == episode
    assert tp.fhir.care_plan_status(plan) == care_plan
    r4 = tp.fhir.to_fhir(plan, "R4")
    (eoc,) = _entries(r4, "EpisodeOfCare")
    (cp,) = _entries(r4, "CarePlan")
    assert eoc["status"] == episode
    assert cp["status"] == care_plan
    assert cp["activity"][0]["detail"]["status"] == activity
    assert [h["status"] for h in eoc["statusHistory"]] == [
        tp.fhir.episode_status(plan, i) for i in range(len(plan.history))
    ]
    r5 = tp.fhir.to_fhir(plan, "R5")
    (request,) = _entries(r5, "ServiceRequest")
    assert request["status"] == care_plan
    for version, bundle in (("R4", r4), ("R5", r5)):
        validate(bundle, version)
        assert tp.fhir.from_fhir(bundle) == tp.fhir.fhir_subset(plan)


def test_status_history_periods_chain_and_the_last_is_open() -> None:
    plan = _plan_through(("begin_assessment", None), ("agree_plan", None), ("pause", "leave"))
    (eoc,) = _entries(tp.fhir.to_fhir(plan), "EpisodeOfCare")
    periods = [h["period"] for h in eoc["statusHistory"]]
    assert [p["start"] for p in periods] == [t.at.isoformat() for t in plan.history]
    assert [p["end"] for p in periods[:-1]] == [p["start"] for p in periods[1:]]
    assert "end" not in periods[-1]
    assert eoc["period"] == {"start": T0.isoformat()}


def test_a_reopened_episode_is_finished_then_active_again() -> None:
    plan = _plan_through(("begin_assessment", None), ("decline", "no"), ("reopen", "changed mind"))
    (eoc,) = _entries(tp.fhir.to_fhir(plan), "EpisodeOfCare")
    assert [h["status"] for h in eoc["statusHistory"]] == [
        "planned",
        "active",
        "finished",
        "active",
    ]


def test_episode_status_refuses_a_record_index_out_of_range() -> None:
    plan = _plan_through(("waitlist", None))
    assert tp.fhir.episode_status(plan, 0) == "planned"
    assert tp.fhir.episode_status(plan, 1) == "waitlist"
    for upto in (-1, 2):
        with pytest.raises(IndexError):
            tp.fhir.episode_status(plan, upto)


def test_statuses_map_every_open_phase_to_the_value_sets() -> None:
    assert set(tp.fhir.EPISODE_STATUS) == set(tp.Phase) - {tp.Phase.CLOSED}
    assert set(tp.fhir.CARE_PLAN_STATUS) == set(tp.Phase) - {tp.Phase.CLOSED}
    assert set(tp.fhir.EPISODE_STATUS.values()) <= EPISODE_OF_CARE_STATUS
    assert set(tp.fhir.CARE_PLAN_STATUS.values()) <= REQUEST_STATUS
    assert {s.value for s in tp.ObjectiveStatus} == GOAL_LIFECYCLE_STATUS
    assert {s.value for s in tp.AchievementStatus} == GOAL_ACHIEVEMENT[1]


# --------------------------------------------------------------------------- codes
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("system", list(tp.CodeSystem))
def test_diagnosis_systems(system: tp.CodeSystem, version: str) -> None:
    plan = attrs.evolve(
        _plan_through(),
        presenting_problems=(
            tp.PresentingProblem(
                "prob-1", "low mood", ("in bed until noon",), tp.Diagnosis("F32.1", system)
            ),
        ),
    )
    bundle = tp.fhir.to_fhir(plan, version)
    validate(bundle, version)
    (condition,) = _entries(bundle, "Condition")
    (coding,) = condition["code"]["coding"]
    expected = DIAGNOSIS_SYSTEMS.get(system.value, f"{tp.fhir.FHIR_NAMESPACE}/CodeSystem/dsm-5-tr")
    assert coding == {"system": expected, "code": "F32.1"}
    assert tp.fhir.DIAGNOSIS_SYSTEMS[system] == expected
    assert condition["code"]["text"] == "low mood"
    evidence = condition["evidence"][0]
    text = evidence["concept"]["text"] if version == "R5" else evidence["code"][0]["text"]
    assert text == "in bed until noon"
    (eoc,) = _entries(bundle, "EpisodeOfCare")
    assert len(eoc["diagnosis"]) == 1
    assert tp.fhir.from_fhir(bundle).presenting_problems == plan.presenting_problems


def _custom_instrument(loinc: str | None) -> tp.Instrument:
    return tp.Instrument(
        code="MY-PTSD" if loinc else "MY-SCALE",
        name="My PTSD scale" if loinc else "My scale",
        item_count=2,
        item_min=0,
        item_max=4,
        loinc=loinc,
    )


@pytest.mark.parametrize("loinc", ["101698-9", None])
def test_instrument_codes_loinc_or_local(loinc: str | None) -> None:
    instrument = _custom_instrument(loinc)
    plan = attrs.evolve(
        _plan_through(),
        custom_instruments=(instrument,),
        assessments=(
            tp.Assessment("a-1", "PHQ-9", T0, total=15),
            tp.Assessment("a-2", instrument.code, T0, items=(1, None)),
        ),
    )
    for version in VERSIONS:
        bundle = tp.fhir.to_fhir(plan, version)
        validate(bundle, version)
        phq, custom = _entries(bundle, "Observation")
        assert _codes(phq["code"], "http://loinc.org") == ["44261-6"]
        assert phq["valueQuantity"]["value"] == 15
        assert _codes(custom["code"], "http://loinc.org") == ([loinc] if loinc else [])
        assert _codes(custom["code"], f"{tp.fhir.FHIR_NAMESPACE}/CodeSystem/instrument") == [
            instrument.code
        ]
        assert "valueQuantity" not in custom  # one item missing and none may be: no total
        assert custom["component"][1]["dataAbsentReason"]["coding"][0]["code"] == "unknown"
        assert tp.fhir.from_fhir(bundle) == tp.fhir.fhir_subset(plan)


def test_loinc_alone_identifies_a_builtin_instrument() -> None:
    bundle = tp.fhir.to_fhir(_plan_through())
    for obs in _entries(bundle, "Observation"):
        obs["code"]["coding"] = [
            c for c in obs["code"]["coding"] if c["system"] == "http://loinc.org"
        ]
    assert tp.fhir.from_fhir(bundle).assessments[0].instrument == "PHQ-9"


@pytest.mark.parametrize("version", VERSIONS)
def test_targets_and_schedules(version: str) -> None:
    base = _plan_through()
    objectives = (
        attrs.evolve(base.objectives[0], achievement=tp.AchievementStatus.IMPROVING),
        tp.Objective(
            "obj-2",
            "walks",
            tp.BehaviourTarget("walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK),
            date(2026, 5, 1),
        ),
        tp.Objective("obj-3", "GAS", tp.GasTarget(level=1, weight=2.5), date(2026, 5, 1)),
    )
    goal = attrs.evolve(base.goals[0], objectives=objectives)
    schedule = tp.Schedule(
        datetime(2026, 1, 12, 10, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "FREQ=WEEKLY;INTERVAL=2;COUNT=6",
    )
    intervention = tp.Intervention(
        "int-1",
        tp.Modality.BEHAVIOURAL_ACTIVATION,
        "activity scheduling",
        tp.DeliveryFormat.GROUP,
        ("obj-1", "obj-2", "obj-3"),
        schedule,
        "clin-9",
    )
    plan = attrs.evolve(base, goals=(goal,), interventions=(intervention,))
    bundle = tp.fhir.to_fhir(plan, version)
    validate(bundle, version)
    goals = _entries(bundle, "Goal")
    assert [g["category"][0]["coding"][0]["code"] for g in goals] == [
        "long-term-goal",
        "short-term-objective",
        "short-term-objective",
        "short-term-objective",
    ]
    measure, behaviour, gas = (g["target"][0] for g in goals[1:])
    assert measure["detailQuantity"]["comparator"] == "<"
    assert measure["detailQuantity"]["value"] == 10
    assert measure["dueDate"] == "2026-06-01"
    assert goals[1]["achievementStatus"]["coding"][0]["code"] == "improving"
    assert behaviour["detailQuantity"]["code"] == "/wk"
    assert behaviour["measure"] == {"text": "walks"}
    assert gas["detailInteger"] == 1
    if version == "R4":
        (activity,) = _entries(bundle, "CarePlan")[0]["activity"]
        timing = activity["detail"]["scheduledTiming"]
        assert len(activity["detail"]["goal"]) == 3
    else:
        (request,) = _entries(bundle, "ServiceRequest")
        timing = request["occurrenceTiming"]
        assert request["performer"][0]["identifier"]["value"] == "clin-9"
    assert timing["repeat"] == {
        "boundsPeriod": {"start": "2026-01-12T10:00:00+05:30"},
        "frequency": 1,
        "period": 2,
        "periodUnit": "wk",
        "count": 6,
    }
    assert timing["code"]["text"] == "FREQ=WEEKLY;INTERVAL=2;COUNT=6"
    back = tp.fhir.from_fhir(bundle)
    assert back == tp.fhir.fhir_subset(plan)
    assert back.interventions == (intervention,)


def test_complex_rrules_travel_as_text_only() -> None:
    schedule = tp.Schedule(T0, "FREQ=WEEKLY;BYDAY=MO,TH")
    plan = attrs.evolve(
        _plan_through(),
        interventions=(
            tp.Intervention(
                "int-1", tp.Modality.DBT, "skills", serves=("obj-1",), schedule=schedule
            ),
        ),
    )
    timing = _entries(tp.fhir.to_fhir(plan), "CarePlan")[0]["activity"][0]["detail"][
        "scheduledTiming"
    ]
    assert timing["repeat"] == {"boundsPeriod": {"start": T0.isoformat()}}
    assert tp.fhir.from_fhir(tp.fhir.to_fhir(plan)).interventions == plan.interventions


def test_bundles_are_deterministic_and_references_resolve() -> None:
    plan = _load(EXAMPLES[0])
    for version in VERSIONS:
        bundle = tp.fhir.to_fhir(plan, version)
        assert bundle == tp.fhir.to_fhir(plan, version)
        urls = {e["fullUrl"] for e in bundle["entry"]}
        assert len(urls) == len(bundle["entry"])
        text = json.dumps(bundle)
        for ref in _references(bundle):
            assert ref in urls
        assert "urn:uuid:" in text


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def test_no_patient_data_only_an_identifier_reference() -> None:
    bundle = tp.fhir.to_fhir(_plan_through())
    assert not _entries(bundle, "Patient")
    (cp,) = _entries(bundle, "CarePlan")
    assert cp["subject"]["identifier"]["value"] == "client-1"
    assert "reference" not in cp["subject"]


def test_unknown_version_is_refused() -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.to_fhir(_plan_through(), "R3")  # type: ignore[arg-type]
    assert info.value.problems[0].path == "version"


# --------------------------------------------------------------------------- round trip
def _same_instant_scores(plan: tp.TreatmentPlan) -> bool:
    """Whether two of ``plan``'s scores of one measure share an instant."""
    seen = [(a.instrument, a.administered_at) for a in plan.all_assessments()]
    return len(set(seen)) < len(seen)


def _without_derived(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` with each achievement status derived from the plan's data replaced by
    the status recorded beside it (none when nothing was recorded): what a plan
    without reviews exports."""
    out = copy.deepcopy(bundle)
    for entry in out["entry"]:
        resource = entry["resource"]
        status = resource.get("achievementStatus")
        extensions = [] if status is None else status.get("extension", [])
        if not any(e["url"].endswith("/derived-achievement") for e in extensions):
            continue
        recorded = [
            e["valueCode"] for e in extensions if e["url"].endswith("/recorded-achievement")
        ]
        if recorded:
            system = status["coding"][0]["system"]
            resource["achievementStatus"] = {"coding": [{"system": system, "code": recorded[0]}]}
        else:
            del resource["achievementStatus"]
    return out


@settings(max_examples=40)
@given(plan=tps.treatment_plans(), version=st.sampled_from(VERSIONS))
def test_round_trip_keeps_exactly_the_fhir_subset(plan: tp.TreatmentPlan, version: str) -> None:
    bundle = json.loads(json.dumps(tp.fhir.to_fhir(plan, version), allow_nan=False))
    back = tp.fhir.from_fhir(bundle)
    subset = tp.fhir.fhir_subset(plan)
    assert back == subset
    assert tp.dumps(back) == tp.dumps(subset)
    # The subset is a projection: applying it again changes nothing. Its bundle is the
    # same but for achievements derived from reviews, which the subset does not have.
    assert tp.fhir.fhir_subset(subset) == subset
    again = tp.fhir.to_fhir(subset, version)
    # FHIR carries no order between two scores of one measure at the same instant: the
    # subset (and the bundle) order them by id, so the latest of them, and what derives
    # from it, can differ from the plan's (documented in docs/fhir.md).
    if not _same_instant_scores(plan):
        assert _without_derived(again) == _without_derived(bundle)
        if not plan.reviews:
            assert again == bundle
    # Exactly what is dropped:
    assert subset.sessions == subset.reviews == ()
    assert subset.discharge_criteria is None
    assert subset.client_factors == tp.ClientFactors()
    assert {a.id for a in subset.assessments} == {a.id for a in plan.all_assessments()}
    assert (subset.history, subset.goals, subset.presenting_problems) == (
        plan.history,
        plan.goals,
        plan.presenting_problems,
    )
    assert (subset.interventions, subset.custom_instruments) == (
        plan.interventions,
        plan.custom_instruments,
    )


@settings(max_examples=40)
@given(plan=tps.treatment_plans(), version=st.sampled_from(VERSIONS))
def test_generated_plans_validate(plan: tp.TreatmentPlan, version: str) -> None:
    validate(tp.fhir.to_fhir(plan, version), version)


def test_fhir_subset_drops_only_what_fhir_does_not_carry() -> None:
    plan = _load(EXAMPLES[-1])
    subset = tp.fhir.fhir_subset(plan)
    assert plan.sessions
    assert not subset.sessions
    # In time order, ties by id; a recorded total beside item responses is not carried.
    expected = sorted(plan.all_assessments(), key=lambda a: (a.administered_at, a.id))
    assert subset.assessments == tuple(
        a if a.items is None else attrs.evolve(a, total=None) for a in expected
    )
    assert subset.plan_id == plan.plan_id
    assert subset.history == plan.history


def test_datetimes_with_offsets_fhir_cannot_write_become_utc() -> None:
    odd = timezone(timedelta(hours=20))  # beyond FHIR's +-14:00
    plan = _plan_through()
    plan = attrs.evolve(
        plan, assessments=(tp.Assessment("a-1", "PHQ-9", T0.astimezone(odd), total=3),)
    )
    (obs,) = _entries(tp.fhir.to_fhir(plan), "Observation")
    assert obs["effectiveDateTime"] == T0.isoformat()
    back = tp.fhir.from_fhir(tp.fhir.to_fhir(plan))
    assert back.assessments[0].administered_at.utcoffset() == timedelta(0)
    assert tp.dumps(back) == tp.dumps(tp.fhir.fhir_subset(plan))


def test_offsets_with_seconds_are_not_plan_times() -> None:
    # FHIR (like RFC 3339) cannot write seconds in an offset; a plan cannot hold one either.
    odd = timezone(timedelta(hours=5, minutes=30, seconds=7))
    with pytest.raises(tp.ValidationError, match="whole minutes"):
        tp.Assessment("a-1", "PHQ-9", T0.astimezone(odd), total=3)


# --------------------------------------------------------------------------- import errors
SECRET = "Reports hearing voices at night"


def _secret_plan() -> tp.TreatmentPlan:
    plan = _plan_through()
    return attrs.evolve(
        plan,
        presenting_problems=(tp.PresentingProblem("prob-1", SECRET, (SECRET,)),),
    )


def _broken(mutate: Any, version: str = "R4") -> dict[str, Any]:
    bundle = copy.deepcopy(tp.fhir.to_fhir(_secret_plan(), version))
    mutate(bundle)
    return bundle


def _resource(bundle: dict[str, Any], kind: str, n: int = 0) -> dict[str, Any]:
    return _entries(bundle, kind)[n]


_BAD: list[tuple[str, Any, str]] = [
    ("not a bundle", lambda b: b.__setitem__("resourceType", "Patient"), "$"),
    ("entry not a list", lambda b: b.__setitem__("entry", {}), "$.entry"),
    (
        "no care plan",
        lambda b: b.__setitem__(
            "entry", [e for e in b["entry"] if e["resource"]["resourceType"] != "CarePlan"]
        ),
        "$.entry",
    ),
    (
        "status history disagrees",
        lambda b: _resource(b, "EpisodeOfCare")["statusHistory"][0].__setitem__(
            "status", "finished"
        ),
        "$.entry[0].resource.statusHistory[0].status",
    ),
    (
        "unknown event",
        lambda b: _resource(b, "EpisodeOfCare")["statusHistory"][0]["extension"][0]["extension"][
            0
        ]["valueCoding"].__setitem__("code", SECRET),
        "$.entry[0].resource.statusHistory[0].extension[0].extension[0].valueCoding.code",
    ),
    (
        "bad date-time",
        lambda b: _resource(b, "EpisodeOfCare")["statusHistory"][0]["period"].__setitem__(
            "start", SECRET
        ),
        "$.entry[0].resource.statusHistory[0].period.start",
    ),
    (
        "episode of another plan",
        lambda b: _resource(b, "EpisodeOfCare")["identifier"][0].__setitem__("value", "plan-2"),
        "$.entry[0].resource.identifier",
    ),
    (
        "condition text missing",
        lambda b: _resource(b, "Condition")["code"].pop("text"),
        "$.entry[2].resource.code.text",
    ),
    (
        "bad lifecycle status",
        lambda b: _resource(b, "Goal", 1).__setitem__("lifecycleStatus", SECRET),
        "$.entry[4].resource.lifecycleStatus",
    ),
    (
        "bad comparator",
        lambda b: _resource(b, "Goal", 1)["target"][0]["detailQuantity"].__setitem__(
            "comparator", "ad"
        ),
        "$.entry[4].resource.target[0].detailQuantity.comparator",
    ),
    (
        "dangling goal reference",
        lambda b: _resource(b, "CarePlan")["activity"][0]["detail"]["goal"][0].__setitem__(
            "reference", "urn:uuid:0"
        ),
        "$.entry[1].resource.activity[0].detail.goal[0].reference",
    ),
    (
        "score out of range",
        lambda b: _resource(b, "Observation")["valueQuantity"].__setitem__("value", 99),
        "$.entry[5].resource.valueQuantity.value",
    ),
    (
        "unknown instrument",
        lambda b: _resource(b, "Observation").__setitem__("code", {"text": SECRET}),
        "$.entry[5].resource.code.coding",
    ),
    (
        "wrong value type",
        lambda b: _resource(b, "Observation")["valueQuantity"].__setitem__("value", SECRET),
        "$.entry[5].resource.valueQuantity.value",
    ),
    (
        "blank description",
        lambda b: _resource(b, "Goal", 0)["description"].__setitem__("text", " "),
        "$.entry[3].resource.statement",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path"), [(m, p) for _, m, p in _BAD], ids=[n for n, _, _ in _BAD]
)
def test_bad_bundles_raise_with_a_path_and_no_clinical_text(mutate: Any, path: str) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(_broken(mutate))
    paths = [p.path for p in info.value.problems]
    assert path in paths
    assert SECRET not in str(info.value)
    assert all(SECRET not in p.expected for p in info.value.problems)


@pytest.mark.parametrize("bundle", [None, [], "Bundle", {"resourceType": "Bundle"}])
def test_non_bundles_are_refused(bundle: Any) -> None:
    with pytest.raises(tp.ValidationError):
        tp.fhir.from_fhir(bundle)


def test_import_leaves_the_bundle_untouched() -> None:
    bundle = tp.fhir.to_fhir(_secret_plan(), "R5")
    before = copy.deepcopy(bundle)
    tp.fhir.from_fhir(bundle)
    assert bundle == before


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*prefix, i)
            yield from _paths(item, (*prefix, i))


_SECRET_BUNDLES = {v: tp.fhir.to_fhir(_secret_plan(), v) for v in VERSIONS}
_SECRET_PATHS = {v: list(_paths(b)) for v, b in _SECRET_BUNDLES.items()}
_JUNK = st.sampled_from([None, True, 0, -1, 1.5, "", "x", SECRET, [], {}, [SECRET], {"a": 1}])


@settings(max_examples=150)
@given(data=st.data(), version=st.sampled_from(VERSIONS))
def test_mutated_bundles_import_or_raise_validation_error(
    data: st.DataObject, version: str
) -> None:
    bundle = copy.deepcopy(_SECRET_BUNDLES[version])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(bundle))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = bundle
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            parent[path[-1]] = copy.deepcopy(data.draw(_JUNK))
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    error: tp.ValidationError | None = None
    try:
        plan = tp.fhir.from_fhir(bundle)
    except tp.ValidationError as exc:
        error = exc
    if error is not None:
        assert error.problems
        assert SECRET not in str(error)
    else:
        assert isinstance(plan, tp.TreatmentPlan)


# --------------------------------------------------------------------------- import faults
def _phq9_bundle() -> dict[str, Any]:
    plan = _load(next(p for p in EXAMPLES if p.stem == "adult-depression-cbt"))
    return json.loads(json.dumps(tp.fhir.to_fhir(plan)))


def _first_itemised(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in _entries(bundle, "Observation") if "component" in r)


@pytest.mark.parametrize("total", [3, 1e300])
def test_a_total_contradicting_the_items_is_refused(total: float) -> None:
    bundle = _phq9_bundle()
    observation = _first_itemised(bundle)
    observation["valueQuantity"] = {"value": total}
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert info.value.problems[0].path.endswith(".valueQuantity.value")


@pytest.mark.parametrize("total", [float("nan"), float("inf")])
def test_a_non_finite_total_is_refused(total: float) -> None:
    bundle = _phq9_bundle()
    _first_itemised(bundle)["valueQuantity"]["value"] = total
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert "finite" in info.value.problems[0].expected


def test_an_unknown_answer_code_in_an_own_bundle_is_refused() -> None:
    bundle = _phq9_bundle()
    component = _first_itemised(bundle)["component"][0]
    component["valueCodeableConcept"] = {"coding": [{"system": "http://loinc.org", "code": "LA1"}]}
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert info.value.problems[0].path.endswith(".component[0].valueCodeableConcept.coding")


def test_an_unknown_local_instrument_is_refused() -> None:
    bundle = _phq9_bundle()
    observation = _first_itemised(bundle)
    observation["code"] = {
        "coding": [{"system": f"{tp.fhir.FHIR_NAMESPACE}/CodeSystem/instrument", "code": "XYZ"}]
    }
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert info.value.problems[0].path.endswith(".code")


def test_bundle_order_does_not_change_the_assessments() -> None:
    bundle = _phq9_bundle()
    reverse = copy.deepcopy(bundle)
    reverse["entry"].reverse()
    assert tp.fhir.from_fhir(reverse).assessments == tp.fhir.from_fhir(bundle).assessments


def test_an_item_response_out_of_range_is_refused_at_its_component() -> None:
    bundle = _phq9_bundle()
    component = _first_itemised(bundle)["component"][3]
    component.pop("valueCodeableConcept", None)
    component["valueInteger"] = 9
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert info.value.problems[0].path.endswith(".component[3]")


# --------------------------------------------------------------------------- more import errors
def _status_event(b: dict[str, Any]) -> dict[str, Any]:
    extension: dict[str, Any] = _resource(b, "EpisodeOfCare")["statusHistory"][0]["extension"][0]
    return extension


def _instrument_extension(b: dict[str, Any], text: str) -> None:
    _resource(b, "CarePlan")["extension"] = [
        {
            "url": f"{tp.fhir.FHIR_NAMESPACE}/StructureDefinition/instrument-definition",
            "valueString": text,
        }
    ]


_MORE_BAD: list[tuple[str, Any, str]] = [
    (
        "empty status history",
        lambda b: _resource(b, "EpisodeOfCare").__setitem__("statusHistory", []),
        "$.entry[0].resource.statusHistory",
    ),
    (
        "status history entry not an object",
        lambda b: _resource(b, "EpisodeOfCare")["statusHistory"].__setitem__(0, 5),
        "$.entry[0].resource.statusHistory[0]",
    ),
    (
        "event from another code system",
        lambda b: _status_event(b)["extension"][0]["valueCoding"].__setitem__(
            "system", "http://example.org/events"
        ),
        "$.entry[0].resource.statusHistory[0].extension[0].extension[0].valueCoding.system",
    ),
    (
        "event sub-extension missing",
        lambda b: _status_event(b).__setitem__("extension", _status_event(b)["extension"][1:]),
        "$.entry[0].resource.statusHistory[0].extension[0].extension",
    ),
    (
        "plan identifier not a string",
        lambda b: _resource(b, "EpisodeOfCare")["identifier"][0].__setitem__("value", 5),
        "$.entry[0].resource.identifier",
    ),
    (
        "activity not an object",
        lambda b: _resource(b, "CarePlan").__setitem__("activity", [5]),
        "$.entry[1].resource.activity[0]",
    ),
    (
        "instrument definition not JSON",
        lambda b: _instrument_extension(b, "{" + SECRET),
        "$.entry[1].resource.extension[0].valueString",
    ),
    (
        "instrument definition not an instrument",
        lambda b: _instrument_extension(b, json.dumps({"code": SECRET})),
        "$.entry[1].resource.extension[0].valueString",
    ),
    (
        "goal extension not an object",
        lambda b: _resource(b, "Goal", 0).__setitem__("extension", [5]),
        "$.entry[3].resource.extension[0]",
    ),
    (
        "goal category not an object",
        lambda b: _resource(b, "Goal", 0)["category"].append(5),
        "$.entry[3].resource.category[2]",
    ),
    (
        "goal relationship without its target",
        lambda b: _resource(b, "Goal", 0)["extension"][0].__setitem__(
            "extension", _resource(b, "Goal", 0)["extension"][0]["extension"][:1]
        ),
        "$.entry[3].resource.extension[0].extension",
    ),
    (
        "objective not at the objective level",
        lambda b: _resource(b, "Goal", 1)["category"][0]["coding"][0].__setitem__(
            "code", "long-term-objective"
        ),
        "$.entry[4].resource.category",
    ),
    (
        "objective with two targets",
        lambda b: _resource(b, "Goal", 1)["target"].append(_resource(b, "Goal", 1)["target"][0]),
        "$.entry[4].resource.target",
    ),
    (
        "due date that does not exist",
        lambda b: _resource(b, "Goal", 1)["target"][0].__setitem__("dueDate", "2026-02-30"),
        "$.entry[4].resource.target[0].dueDate",
    ),
    (
        "true where a number belongs",
        lambda b: _resource(b, "Observation")["valueQuantity"].__setitem__("value", True),
        "$.entry[5].resource.valueQuantity.value",
    ),
    (
        "due date not in the YYYY-MM-DD form",
        lambda b: _resource(b, "Goal", 1)["target"][0].__setitem__("dueDate", "2026-6-1"),
        "$.entry[4].resource.target[0].dueDate",
    ),
    (
        "unknown LOINC code",
        lambda b: _resource(b, "Observation")["code"].__setitem__(
            "coding", [{"system": "http://loinc.org", "code": "0000-0"}]
        ),
        "$.entry[5].resource.code.coding",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path"), [(m, p) for _, m, p in _MORE_BAD], ids=[n for n, _, _ in _MORE_BAD]
)
def test_more_bad_bundles_raise_with_a_path_and_no_clinical_text(mutate: Any, path: str) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(_broken(mutate))
    paths = [p.path for p in info.value.problems]
    assert path in paths
    assert SECRET not in str(info.value)


def test_a_behaviour_target_needs_a_count_period_unit() -> None:
    base = _plan_through()
    walks = tp.Objective(
        "obj-2",
        "walks",
        tp.BehaviourTarget("walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK),
        date(2026, 5, 1),
    )
    goal = attrs.evolve(base.goals[0], objectives=(*base.goals[0].objectives, walks))
    bundle = tp.fhir.to_fhir(attrs.evolve(base, goals=(goal,)))
    behaviour = _entries(bundle, "Goal")[2]
    behaviour["target"][0]["detailQuantity"]["code"] = "/h"
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bundle)
    assert [(p.path, p.expected) for p in info.value.problems] == [
        (
            "$.entry[5].resource.target[0].detailQuantity.code",
            "one of the UCUM units /d, /wk, /mo",
        )
    ]


def test_a_diagnosis_is_the_first_coding_of_a_known_system() -> None:
    plan = attrs.evolve(
        _plan_through(),
        presenting_problems=(
            tp.PresentingProblem(
                "prob-1", "low mood", (), tp.Diagnosis("F32.1", tp.CodeSystem.ICD_10)
            ),
        ),
    )
    bundle = tp.fhir.to_fhir(plan)
    (condition,) = _entries(bundle, "Condition")
    known = condition["code"]["coding"][0]
    condition["code"]["coding"] = [
        {"system": "http://example.org/local-codes", "code": "LOW-MOOD"},
        known,
        {**known, "code": "F33.1"},
    ]
    assert tp.fhir.from_fhir(bundle).presenting_problems == plan.presenting_problems


def test_loinc_alone_identifies_any_builtin_instrument() -> None:
    bundle = tp.fhir.to_fhir(_plan_through())
    (obs,) = _entries(bundle, "Observation")
    obs["code"]["coding"] = [{"system": "http://loinc.org", "code": "70274-6"}]  # GAD-7
    obs["valueQuantity"]["value"] = 5
    (assessment,) = tp.fhir.from_fhir(bundle).assessments
    assert (assessment.instrument, assessment.total) == ("GAD-7", 5)


def test_to_fhir_needs_a_plan() -> None:
    with pytest.raises(tp.ArgumentError) as info:
        tp.fhir.to_fhir(tp.dumps(_plan_through()))  # type: ignore[arg-type]
    assert (info.value.parameter, info.value.expected) == ("plan", "a TreatmentPlan")


def test_a_goal_without_objectives_round_trips() -> None:
    plan = tp.TreatmentPlan.refer(
        "plan-1",
        "client-1",
        T0,
        "gp-1",
        goals=(tp.Goal("goal-1", "feel better", tp.GoalDomain.EMOTIONAL_WELLBEING),),
    )
    bundle = tp.fhir.to_fhir(plan)
    (goal,) = _entries(bundle, "Goal")
    assert "extension" not in goal
    assert tp.fhir.from_fhir(bundle).goals == plan.goals


def test_a_missing_item_has_no_answer_in_the_questionnaire_response() -> None:
    items = (2, 1, 1, 1, 1, 1, 1, 1, None)
    plan = attrs.evolve(
        _plan_through(), assessments=(tp.Assessment("a-1", "PHQ-9", T0, items=items),)
    )
    bundle = tp.fhir.to_fhir(plan, questionnaire_responses=True)
    (response,) = _entries(bundle, "QuestionnaireResponse")
    answered = ["answer" in item for item in response["item"]]
    assert answered == [True] * 8 + [False]


def _closed_plan_bundle() -> dict[str, Any]:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=start, by="gp-1")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=start, by="c-1")
    for n in range(2):
        at = start + timedelta(hours=n + 1)
        plan = tp.record_assessment(plan, tp.Assessment(f"phq-{n}", "PHQ-9", at, total=12))
    plan = tp.fire(plan, tp.Event.DECLINE, at=start + timedelta(days=2), by="c-1", reason="r")
    return tp.fhir.to_fhir(plan)


def test_plan_problems_of_an_observation_are_reported_at_the_observation() -> None:
    # The bundle has no $.assessments: a problem of the plan it makes names the
    # Observation the assessment came from.
    bundle = _closed_plan_bundle()
    entries = [
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Observation"
    ]
    late = copy.deepcopy(bundle)
    late["entry"][entries[1]]["resource"]["effectiveDateTime"] = "2026-02-05T09:00:00Z"
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(late)
    assert [p.path for p in info.value.problems] == [
        f"$.entry[{entries[1]}].resource.effectiveDateTime"
    ]
    twice = copy.deepcopy(bundle)
    first = twice["entry"][entries[0]]["resource"]["identifier"]
    twice["entry"][entries[1]]["resource"]["identifier"] = first
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(twice)
    assert [(p.path, p.expected) for p in info.value.problems] == [
        (
            f"$.entry[{entries[1]}].resource",
            f"an id not already used at $.entry[{entries[0]}].resource",
        )
    ]


def _part_of(resource: dict[str, Any]) -> str:
    """The part id in a part identifier (``<plan id>/<part id>``; no plan id here has a ``/``)."""
    return str(resource["identifier"][0]["value"]).rsplit("/", 1)[-1]


def _entry_of(bundle: dict[str, Any], kind: str, ident: str) -> int:
    """The entry index of the ``kind`` resource carrying part id ``ident``."""
    for i, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource["resourceType"] == kind and _part_of(resource) == ident:
            return i
    raise AssertionError(ident)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_plan_problems_of_any_record_are_reported_where_the_bundle_has_it(version: str) -> None:
    # The bundle has no $.goals, $.interventions or $.history: each problem of the plan
    # it makes names the resource (or element) the record came from, in path and message.
    plan = tp.loads((EXAMPLES[0].parent / "adult-depression-cbt.json").read_text("utf-8"))
    bundle = tp.fhir.to_fhir(plan, version)  # type: ignore[arg-type]
    care_plan = next(i for i, e in enumerate(bundle["entry"]) if _kind(e) == "CarePlan")
    episode = next(i for i, e in enumerate(bundle["entry"]) if _kind(e) == "EpisodeOfCare")

    def problems(edit: Any) -> list[tuple[str, str]]:
        changed = copy.deepcopy(bundle)
        edit(changed)
        with pytest.raises(tp.ValidationError) as info:
            tp.fhir.from_fhir(changed)
        assert "does not make a valid plan" in str(info.value)
        return [(p.path, p.expected) for p in info.value.problems]

    def identify(kind: str, ident: str, value: str) -> Any:
        def edit(changed: dict[str, Any]) -> None:
            entry = changed["entry"][_entry_of(changed, kind, ident)]
            entry["resource"]["identifier"][0]["value"] = value

        return edit

    goal = f"$.entry[{_entry_of(bundle, 'Goal', 'goal-activity')}].resource"
    first_goal = f"$.entry[{_entry_of(bundle, 'Goal', 'goal-mood')}].resource"
    social = f"$.entry[{_entry_of(bundle, 'Goal', 'obj-social')}].resource"
    phq9 = f"$.entry[{_entry_of(bundle, 'Goal', 'obj-phq9')}].resource"
    condition = f"$.entry[{_entry_of(bundle, 'Condition', 'prob-mood')}].resource"
    assert problems(identify("Goal", "goal-activity", "goal-mood")) == [
        (goal, f"an id not already used at {first_goal}")
    ]
    assert problems(identify("Goal", "obj-social", "obj-phq9")) == [
        (social, f"an id not already used at {phq9}")
    ]
    assert problems(identify("Condition", "prob-mood", "goal-mood")) == [
        (first_goal, f"an id not already used at {condition}")
    ]

    def same_intervention_id(changed: dict[str, Any]) -> None:
        activities = changed["entry"][care_plan]["resource"]["activity"]
        if version == "R4":
            activities[1]["id"] = activities[0]["id"]
        else:
            changed["entry"][_entry_of(changed, "ServiceRequest", "int-ba")]["resource"][
                "identifier"
            ][0]["value"] = "int-cbt"

    if version == "R4":
        cbt = f"$.entry[{care_plan}].resource.activity[0].detail"
        ba = f"$.entry[{care_plan}].resource.activity[1].detail"
    else:
        cbt = f"$.entry[{_entry_of(bundle, 'ServiceRequest', 'int-cbt')}].resource"
        ba = f"$.entry[{_entry_of(bundle, 'ServiceRequest', 'int-ba')}].resource"
    assert problems(same_intervention_id) == [(ba, f"an id not already used at {cbt}")]

    def late_event(changed: dict[str, Any]) -> None:
        history = changed["entry"][episode]["resource"]["statusHistory"]
        history[1]["period"]["start"] = "2020-01-01T00:00:00+00:00"

    assert problems(late_event) == [
        (
            f"$.entry[{episode}].resource.statusHistory[1].period.start",
            "a time not before the previous record",
        )
    ]

    def bad_client(changed: dict[str, Any]) -> None:
        changed["entry"][care_plan]["resource"]["subject"]["identifier"]["value"] = "a b"

    ((path, _),) = problems(bad_client)
    assert path == f"$.entry[{care_plan}].resource.subject.identifier.value"

    def bad_plan_id(changed: dict[str, Any]) -> None:
        for index in (care_plan, episode):
            changed["entry"][index]["resource"]["identifier"][0]["value"] = "a b"

    ((path, _),) = problems(bad_plan_id)
    assert path == f"$.entry[{care_plan}].resource"


def _kind(entry: dict[str, Any]) -> str:
    return str(entry["resource"]["resourceType"])


def _objective_goal(bundle: dict[str, Any], objective_id: str) -> dict[str, Any]:
    for _, resource in _resources(bundle):
        if resource["resourceType"] == "Goal" and _part_of(resource) == objective_id:
            return resource
    raise AssertionError(objective_id)


def test_achievement_status_carries_what_the_scores_give_flagged_as_derived() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measured_plans import build

    plan = build(phq9=[17, 16, 14, 13, 11, 9, 8, 7])  # objective: PHQ-9 below 10
    objective = plan.objectives[0]
    assert objective.achievement is None
    status = _objective_goal(tp.fhir.to_fhir(plan), objective.id)["achievementStatus"]
    assert status["coding"][0]["code"] == "achieved"
    assert status["extension"] == [
        {
            "url": f"{tp.fhir.FHIR_NAMESPACE}/StructureDefinition/derived-achievement",
            "valueBoolean": True,
        }
    ]
    # Imported, it is derived again from the same scores, not recorded.
    back = tp.fhir.from_fhir(tp.fhir.to_fhir(plan))
    assert back.objectives[0].achievement is None
    assert tp.objective_achievement(back, back.objectives[0]).achieved
    # Not met yet: in progress; once the episode closed: not achieved.
    early = build(phq9=[17, 16, 14])
    status = _objective_goal(tp.fhir.to_fhir(early), objective.id)["achievementStatus"]
    assert status["coding"][0]["code"] == "in-progress"
    at = early.sessions[-1].at + timedelta(days=1)
    closed = tp.fire(early, tp.Event.DROP_OUT, at=at, by="clin-1", reason="moved away")
    status = _objective_goal(tp.fhir.to_fhir(closed), objective.id)["achievementStatus"]
    assert status["coding"][0]["code"] == "not-achieved"
    # No score yet: no status. A recorded one travels as recorded, unflagged.
    unscored = attrs.evolve(plan, sessions=(), assessments=())
    assert "achievementStatus" not in _objective_goal(tp.fhir.to_fhir(unscored), objective.id)
    recorded = attrs.evolve(objective, achievement=tp.AchievementStatus.NOT_ATTAINABLE)
    goal = attrs.evolve(plan.goals[0], objectives=(recorded,))
    stated = attrs.evolve(plan, goals=(goal,))
    status = _objective_goal(tp.fhir.to_fhir(stated), objective.id)["achievementStatus"]
    assert status == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                "code": "not-attainable",
            }
        ]
    }
    assert tp.fhir.from_fhir(tp.fhir.to_fhir(stated)).objectives[0].achievement is (
        tp.AchievementStatus.NOT_ATTAINABLE
    )


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize(
    "note", [tp.AchievementStatus.IMPROVING, tp.AchievementStatus.NO_PROGRESS]
)
def test_a_progress_note_gives_way_to_the_achievement_every_reader_gives(
    version: str, note: tp.AchievementStatus
) -> None:
    # A progress note does not override the scores (objective_achievement), so the
    # export says achieved as review, GoalsMet and describe do, and keeps the note
    # beside it so that the bundle reads back to the same plan.
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measured_plans import build

    plan = build(phq9=[17, 12, 7])  # objective: PHQ-9 below 10
    objective = attrs.evolve(plan.objectives[0], achievement=note)
    noted = attrs.evolve(plan, goals=(attrs.evolve(plan.goals[0], objectives=(objective,)),))
    assert tp.objective_achievement(noted, objective).achieved
    bundle = tp.fhir.to_fhir(noted, version)  # type: ignore[arg-type]
    validate(bundle, version)
    status = _objective_goal(bundle, objective.id)["achievementStatus"]
    assert status["coding"][0]["code"] == "achieved"
    assert status["extension"][1] == {
        "url": f"{tp.fhir.FHIR_NAMESPACE}/StructureDefinition/recorded-achievement",
        "valueCode": note.value,
    }
    back = tp.fhir.from_fhir(bundle)
    assert back == tp.fhir.fhir_subset(noted)
    assert back.objectives[0].achievement is note
    # Not achieved yet: the note itself, as recorded.
    early = attrs.evolve(build(phq9=[17, 14]), goals=noted.goals)
    status = _objective_goal(tp.fhir.to_fhir(early), objective.id)["achievementStatus"]
    assert status["coding"][0]["code"] == note.value
    assert "extension" not in status
    # An unknown recorded code is refused at its path.
    bad = copy.deepcopy(bundle)
    index = next(
        i
        for i, e in enumerate(bad["entry"])
        if "identifier" in e["resource"] and _part_of(e["resource"]) == objective.id
    )
    bad["entry"][index]["resource"]["achievementStatus"]["extension"][1]["valueCode"] = "x"
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.from_fhir(bad)
    assert [p.path for p in info.value.problems] == [
        f"$.entry[{index}].resource.achievementStatus.extension[1].valueCode"
    ]


def test_no_achievement_status_is_derived_for_a_cancelled_objective() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measured_plans import build

    plan = build(phq9=[17, 16, 14, 13, 11, 9, 8, 7])
    objective = attrs.evolve(plan.objectives[0], status=tp.ObjectiveStatus.CANCELLED)
    goal = attrs.evolve(plan.goals[0], objectives=(objective,))
    cancelled = attrs.evolve(plan, goals=(goal,))
    assert "achievementStatus" not in _objective_goal(tp.fhir.to_fhir(cancelled), objective.id)
