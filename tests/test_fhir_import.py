"""Measures and plans from other systems' FHIR: import_measures and plan_from_fhir.

The fixtures in tests/fixtures/fhir/ are written to the FHIR R4 specification in
the shapes EHRs send (searchset and transaction Bundles, valueInteger, valueQuantity
with {score}, date-only times, periods, panels with hasMember, LHC-style
QuestionnaireResponses), independently of treatplan's exporter.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import treatplan as tp

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "fhir"
SECRET = "I feel awful"  # clinical text planted in inputs: never in a report


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


#: How the fixtures' EHR names the client: measures are imported only for their plan's
#: client, and a plan built from that EHR's CarePlan has this client reference.
PATIENT = "Patient/p-1001"


def _plan() -> tp.TreatmentPlan:
    plan: tp.TreatmentPlan = tp.loads(
        (ROOT / "examples" / "adolescent-anxiety-family.json").read_text(encoding="utf-8")
    )
    return attrs.evolve(plan, client_ref=PATIENT)


def _added(plan: tp.TreatmentPlan, report: tp.fhir.FhirImportReport) -> list[tp.Assessment]:
    by_id = {a.id: a for a in plan.assessments}
    return [by_id[i] for i in report.imported]


def _obs(**body: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "x1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "effectiveDateTime": "2026-05-02T10:00:00Z",
        "subject": {"reference": PATIENT},
        **body,
    }


# --------------------------------------------------------------------------- the EHR bundle
def test_an_ehr_searchset_imports_with_totals_items_and_times_in_order() -> None:
    plan = _plan()
    before = tp.dumps(plan)
    updated, report = tp.fhir.import_measures(plan, _fixture("ehr-measures-searchset.json"))
    assert tp.dumps(plan) == before  # the input plan is untouched
    added = _added(updated, report)
    # The bundle lists them out of order; they are added in time order.
    assert [(a.instrument, a.administered_at) for a in added] == [
        ("GAD-7", datetime(2026, 5, 7, 12, tzinfo=UTC)),  # date-only: 12:00 UTC
        ("PHQ-9", datetime(2026, 5, 14, 10, tzinfo=timezone(timedelta(hours=1)))),  # period end
        ("PHQ-9", datetime(2026, 5, 21, 9, 15, tzinfo=timezone(timedelta(hours=1)))),
        ("GAD-7", datetime(2026, 5, 28, 18, 40, tzinfo=timezone(timedelta(hours=1)))),
    ]
    assert [tp.instruments.plan_score(updated, a).total for a in added] == [11, 9, 12, 7]
    assert (added[0].items, added[0].total) == (None, 11)  # valueQuantity {score}
    assert added[1].items == (1, 2, 1, 1, 1, 1, 1, 1, 0)  # panel members (hasMember)
    assert added[2].items == (2, 2, 1, 2, 1, 1, 2, 1, 0)  # components, LOINC answers
    assert added[3].items == (1, 2, 1, 1, 0, 1, 1)  # QuestionnaireResponse
    assert report.refused == ()
    assert [(n.resource_type, n.resource_id, n.path) for n in report.skipped] == [
        ("Encounter", "enc-0521", "$.entry[2].resource"),
        ("Observation", "bp-0521", "$.entry[15].resource.code"),
    ]
    assert tp.loads(tp.dumps(updated)) == updated  # a valid plan
    # Importing the same bundle again adds nothing: every measure is a duplicate.
    again, second = tp.fhir.import_measures(updated, _fixture("ehr-measures-searchset.json"))
    assert again == updated
    assert second.imported == ()
    assert sum("duplicate" in n.reason for n in second.skipped) == 4


def test_bundle_order_does_not_change_the_result() -> None:
    bundle = _fixture("ehr-measures-searchset.json")
    reverse = copy.deepcopy(bundle)
    reverse["entry"].reverse()
    forward, _ = tp.fhir.import_measures(_plan(), bundle)
    backward, _ = tp.fhir.import_measures(_plan(), reverse)
    assert forward.assessments == backward.assessments


def test_the_imported_scores_are_in_the_plan_series() -> None:
    updated, report = tp.fhir.import_measures(_plan(), _fixture("ehr-measures-searchset.json"))
    scores = {s.assessment_id: s for s in tp.instruments.plan_scores(updated, "PHQ-9")}
    may_21 = scores[report.imported[2]]
    assert (may_21.total, may_21.band) == (12, "moderate")


def test_a_transaction_bundle_from_another_system_imports() -> None:
    updated, report = tp.fhir.import_measures(_plan(), _fixture("ehr-measures-transaction.json"))
    added = _added(updated, report)
    assert [(a.instrument, a.total) for a in added] == [("PHQ-9", 6), ("GAD-7", 5)]
    # effectivePeriod with a date-only start: 12:00 UTC of that day.
    assert added[1].administered_at == datetime(2026, 6, 4, 12, tzinfo=UTC)


def test_single_resources_and_arrays_are_accepted() -> None:
    _, one = tp.fhir.import_measures(_plan(), _obs(valueInteger=4))
    _, many = tp.fhir.import_measures(_plan(), [_obs(valueInteger=4), {"resourceType": "Patient"}])
    assert len(one.imported) == len(many.imported) == 1
    assert [n.resource_type for n in many.skipped] == ["Patient"]


# --------------------------------------------------------------------------- refusals
FAULTS = {
    "contradictory": ("$.entry[0].resource.valueInteger", "total of the item responses"),
    "fraction": ("$.entry[1].resource.valueQuantity.value", "whole number"),
    "huge": ("$.entry[2].resource.valueQuantity.value", "number"),
    "month-only": ("$.entry[3].resource.effectiveDateTime", "full date"),
    "no-time": ("$.entry[4].resource", "effective time"),
    "out-of-range": ("$.entry[5].resource.valueInteger", "from 0 to 27"),
    "bad-answer": (
        "$.entry[6].resource.component[0].valueCodeableConcept.coding[0]",
        "LOINC answer code",
    ),
    "wrong-unit": ("$.entry[7].resource.valueQuantity.code", "{score}"),
    "dangling-member": ("$.entry[8].resource.hasMember[0].reference", "reference"),
}


def test_every_fault_is_refused_with_its_path_and_no_text() -> None:
    plan = _plan()
    updated, report = tp.fhir.import_measures(plan, _fixture("ehr-measure-faults.json"))
    assert updated == plan
    assert report.imported == ()
    found = {n.resource_id: n for n in report.refused}
    assert set(found) == set(FAULTS)
    for rid, (path, reason) in FAULTS.items():
        assert found[rid].path == path
        assert found[rid].resource_type == "Observation"
        assert reason in found[rid].reason
        assert SECRET not in str(found[rid])
    assert [n.resource_id for n in report.skipped] == ["retracted"]


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ({"valueInteger": float("nan")}, "$.valueInteger", "finite"),
        ({"valueQuantity": {"value": float("inf")}}, "$.valueQuantity.value", "finite"),
        ({"valueInteger": 15.0}, "$.valueInteger", "an integer"),
        ({"valueInteger": True}, "$.valueInteger", "a number"),
        ({"valueQuantity": {"unit": SECRET}}, "$.valueQuantity.value", "with a value"),
        ({}, "$", "total score or item responses"),
        (
            {"effectiveDateTime": "2026-05-02T10:00:00"},
            "$.effectiveDateTime",
            "UTC offset",
        ),
        ({"effectiveDateTime": "2026-02-30"}, "$.effectiveDateTime", "full date"),
        ({"effectivePeriod": {}, "valueInteger": 3}, "$.effectivePeriod", "end or a start"),
        (
            {
                "valueInteger": 3,
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                        "valueInteger": 4,
                    }
                ],
            },
            "$.component[0].valueInteger",
            "one total",
        ),
        (
            {
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
                        "valueString": SECRET,
                    }
                ]
            },
            "$.component[0]",
            "item response",
        ),
        (
            {
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
                        "valueInteger": 1,
                    }
                ]
                * 2
            },
            "$.component[1]",
            "each item once",
        ),
        ({"component": [SECRET]}, "$.component[0]", "an object"),
        (
            {
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
                        "valueInteger": 7,
                    }
                ]
            },
            "$.component[0].valueInteger",
            "integer from 0 to 3",
        ),
    ],
)
def test_observation_refusals(body: dict[str, Any], path: str, reason: str) -> None:
    plan = _plan()
    resource = _obs(**body)
    if "effectivePeriod" in body:
        del resource["effectiveDateTime"]
    updated, report = tp.fhir.import_measures(plan, resource)
    assert updated == plan
    [note] = report.refused
    assert (note.path, note.resource_id) == (path, "x1")
    assert reason in note.reason
    assert SECRET not in str(note)


def test_ordinal_values_and_quantities_give_item_responses() -> None:
    coded = {
        "system": "http://example.org/answers",
        "code": "often",
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 2}
        ],
    }
    components = [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]}, **value}
        for value in ({"valueCodeableConcept": {"coding": [{"system": "x"}, coded]}},)
    ]
    components += [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": 1},
        }
        for code in ("44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3")
    ]
    components.append(
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "44260-8"}]},
            "dataAbsentReason": {"text": "asked to skip"},
        }
    )
    updated, report = tp.fhir.import_measures(_plan(), _obs(component=components, valueInteger=9))
    [added] = _added(updated, report)
    assert added.items == (2, 1, 1, 1, 1, 1, 1, 1, None)
    assert added.total == 9  # items incomplete: the stated total is kept beside them


def test_statuses_other_than_final_are_skipped() -> None:
    _, report = tp.fhir.import_measures(_plan(), _obs(status="preliminary", valueInteger=3))
    [note] = report.skipped
    assert note.path == "$.status"


def test_an_id_that_is_not_a_fhir_id_is_not_reported() -> None:
    _, report = tp.fhir.import_measures(_plan(), _obs(id=SECRET, valueInteger=99))
    [note] = report.refused
    assert note.resource_id is None
    assert SECRET not in str(note)


def test_measures_before_the_episode_are_refused_at_their_time() -> None:
    early = _obs(effectiveDateTime="2020-01-01", valueInteger=3)
    _, report = tp.fhir.import_measures(_plan(), early)
    [note] = report.refused
    assert note.path == "$.effectiveDateTime"


def test_a_closed_plan_takes_no_measures() -> None:
    plan = tp.loads((ROOT / "examples" / "adult-depression-cbt.json").read_text("utf-8"))
    updated, report = tp.fhir.import_measures(plan, _obs(valueInteger=3), subject=PATIENT)
    assert updated == plan
    [note] = report.refused
    assert note.path == "$"


@pytest.mark.parametrize("source", [None, "Bundle", 3, {"resourceType": 3}])
def test_sources_that_are_not_fhir_raise(source: Any) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.import_measures(_plan(), source)
    assert info.value.problems[0].path == "$"


def test_bad_entries_are_refused_and_bad_plans_raise() -> None:
    _, report = tp.fhir.import_measures(
        _plan(), {"resourceType": "Bundle", "entry": [{"resource": SECRET}, 7]}
    )
    assert [n.path for n in report.refused] == ["$.entry[0].resource", "$.entry[1].resource"]
    with pytest.raises(tp.ValidationError):
        tp.fhir.import_measures(_plan(), {"resourceType": "Bundle", "entry": {}})
    with pytest.raises(tp.ArgumentError, match="plan: expected a TreatmentPlan"):
        tp.fhir.import_measures("plan", [])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- QuestionnaireResponse
PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7"]
PHQ9_ITEMS += ["44258-2", "44252-5", "44253-3", "44260-8"]


def _qr(**body: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "authored": "2026-05-02T10:00:00+01:00",
        "subject": {"reference": PATIENT},
        **body,
    }


def _answer(link: str, **value: Any) -> dict[str, Any]:
    return {"linkId": link, "answer": [value]}


def test_a_combined_questionnaire_gives_one_assessment_per_instrument() -> None:
    items = [
        {
            "linkId": "phq",
            "item": [_answer(f"/{c}", valueInteger=1) for c in PHQ9_ITEMS],
        },
        _answer("70274-6", valueDecimal=4),
        {"linkId": "unanswered"},
    ]
    updated, report = tp.fhir.import_measures(_plan(), _qr(item=items))
    added = _added(updated, report)
    assert sorted((a.instrument, a.items, a.total) for a in added) == [
        ("GAD-7", None, 4.0),
        ("PHQ-9", (1,) * 9, None),
    ]
    assert len({a.id for a in added}) == 2


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ({"item": [_answer("/44250-9", valueInteger=1)], "authored": None}, "$.authored", "date"),
        ({"item": [_answer("/44250-9", valueInteger=1)], "authored": ...}, "$.authored", "time"),
        ({"item": [{"linkId": "70274-6", "answer": [SECRET]}]}, "$.item[0].answer[0]", "object"),
        (
            {"item": [_answer("70274-6", valueString=SECRET)]},
            "$",
            "total score or item responses",
        ),
    ],
)
def test_questionnaire_response_refusals(body: dict[str, Any], path: str, reason: str) -> None:
    resource = _qr(**body)
    if resource.get("authored") is ...:
        del resource["authored"]
    _, report = tp.fhir.import_measures(_plan(), resource)
    [note] = report.refused
    assert (note.resource_type, note.path) == ("QuestionnaireResponse", path)
    assert reason in note.reason
    assert SECRET not in str(note)


def test_questionnaire_responses_without_loinc_items_or_not_completed_are_skipped() -> None:
    _, report = tp.fhir.import_measures(
        _plan(),
        [
            _qr(item=[_answer("mood", valueString=SECRET)]),
            _qr(id="q2", status="in-progress", item=[_answer("70274-6", valueInteger=3)]),
        ],
    )
    assert [n.path for n in report.skipped] == ["$[0].item", "$[1].status"]


# --------------------------------------------------------------------------- other systems' plans
def test_another_systems_care_plan_becomes_a_plan_with_a_report() -> None:
    plan, report = tp.fhir.plan_from_fhir(_fixture("other-careplan.json"))
    assert (plan.plan_id, plan.client_ref, plan.phase) == (
        "CP-2026-0042",
        "Patient/p-1001",
        tp.Phase.REFERRED,
    )
    assert plan.history[0].at == datetime(2026, 5, 1, 9, tzinfo=timezone(timedelta(hours=1)))
    assert [p.description for p in plan.presenting_problems] == [
        "Low mood since job loss",
        "Persistent worry",
    ]
    assert [p.diagnosis for p in plan.presenting_problems] == [
        tp.Diagnosis("35489007", tp.CodeSystem.SNOMED_CT),
        tp.Diagnosis("F41.1", tp.CodeSystem.ICD_10_CM),
    ]
    assert [g.statement for g in plan.goals] == [
        "Feel able to enjoy things again",
        "Worry less about money",
        "Return to work",
    ]
    targets = [o.target for o in plan.objectives]
    assert targets == [
        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
        tp.MeasureTarget("GAD-7", tp.Comparator.BELOW, 8),
    ]
    assert plan.goals[0].addresses == (plan.presenting_problems[0].id,)
    assert [(a.instrument, a.total) for a in plan.assessments] == [("PHQ-9", 16)]
    assert {n.path for n in report.skipped} == {
        "$.entry[0].resource.activity[0]",
        "$.entry[0].resource.status",
    }
    assert report.refused == ()
    assert tp.loads(tp.dumps(plan)) == plan


def _careplan(**changes: Any) -> dict[str, Any]:
    bundle = _fixture("other-careplan.json")
    bundle["entry"][0]["resource"].update(changes)
    return bundle


@pytest.mark.parametrize(
    ("bundle", "path"),
    [
        ({"resourceType": "Bundle", "entry": []}, "$"),
        (_careplan(subject={"display": SECRET}), "$.entry[0].resource.subject"),
        (_careplan(identifier=[{"value": SECRET}], id=None), "$.entry[0].resource.identifier"),
    ],
)
def test_a_plan_without_an_essential_is_refused(bundle: Any, path: str) -> None:
    resource = bundle["entry"][0]["resource"] if bundle["entry"] else {}
    if resource.get("id") is None:
        resource.pop("id", None)
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert info.value.problems[0].path == path
    assert SECRET not in str(info.value)


def test_a_plan_without_a_start_time_is_refused() -> None:
    bundle = _careplan(period=None)
    del bundle["entry"][0]["resource"]["period"]
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] != "EpisodeOfCare"
    ]
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert info.value.problems[0].path == "$.entry[0].resource"
    bundle["entry"][0]["resource"]["created"] = "2026-05"
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert info.value.problems[0].path == "$.entry[0].resource.created"


def test_parts_that_cannot_be_carried_are_reported() -> None:
    bundle = _fixture("other-careplan.json")
    resources = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    resources["cond-2"]["code"] = {"coding": [{"system": "http://snomed.info/sct"}]}
    resources["goal-1"]["target"][0]["detailQuantity"]["comparator"] = "~"
    resources["goal-2"]["target"][0]["dueDate"] = "soon"
    resources["goal-3"]["description"] = {}
    resources["goal-1"]["addresses"].append({"reference": "Condition/elsewhere"})
    resources["cp-1"]["goal"].append({"reference": "Goal/elsewhere"})
    resources["cp-1"]["addresses"].append({"reference": {"reference": "Condition/elsewhere"}})
    bundle["entry"].append({"resource": {"resourceType": "Practitioner", "id": "pr-1"}})
    plan, report = tp.fhir.plan_from_fhir(bundle)
    assert (len(plan.goals), plan.objectives) == (2, ())
    paths = {n.path for n in report.skipped}
    assert {
        "$.entry[0].resource.addresses[2]",
        "$.entry[0].resource.goal[3]",
        "$.entry[3].resource.code",
        "$.entry[4].resource.target[0]",
        "$.entry[4].resource.addresses[1]",
        "$.entry[5].resource.target[0].dueDate",
        "$.entry[6].resource.description",
        "$.entry[8].resource",
    } <= paths


# --------------------------------------------------------------------------- less common shapes
def test_treatplans_own_item_codes_and_nested_answers_are_read() -> None:
    local = "http://treatplan.dev/fhir/CodeSystem/instrument-item"
    components = [
        {"code": {"coding": [{"system": local, "code": f"item-{n}"}]}, "valueInteger": 1}
        for n in range(1, 10)
    ]
    components.append({"code": {"coding": [{"system": local, "code": "item-x"}]}})
    components.append({"code": {"coding": "not a list"}})
    updated, report = tp.fhir.import_measures(_plan(), _obs(component=components))
    [added] = _added(updated, report)
    assert added.items == (1,) * 9
    nested = _qr(
        item=[
            {
                "linkId": "q",
                "answer": [{"valueString": "x", "item": [_answer("70274-6", valueInteger=2)]}],
            },
            "not an item",
        ]
    )
    updated, report = tp.fhir.import_measures(_plan(), nested)
    assert [a.total for a in _added(updated, report)] == [2]


def test_an_item_number_beyond_the_instrument_is_refused() -> None:
    local = "http://treatplan.dev/fhir/CodeSystem/instrument-item"
    component = {"code": {"coding": [{"system": local, "code": "item-12"}]}, "valueInteger": 1}
    _, report = tp.fhir.import_measures(_plan(), _obs(component=[component]))
    [note] = report.refused
    assert note.path == "$.component[0]"
    assert "from 1 to 9" in note.reason


def test_references_resolve_by_full_url_and_absolute_url() -> None:
    member = {
        "resourceType": "Observation",
        "id": "m1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "valueInteger": 5,
    }
    panel = _obs(
        id="p1",
        code={"coding": [{"system": "http://loinc.org", "code": "44249-1"}]},
        hasMember=[{"reference": "urn:uuid:1"}],
    )
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": member}, {"resource": panel}],
    }
    updated, report = tp.fhir.import_measures(_plan(), bundle)
    assert [a.total for a in _added(updated, report)] == [5]
    panel["hasMember"] = [{"reference": "https://ehr.example.org/fhir/Observation/m1"}]
    del bundle["entry"][0]["fullUrl"]
    updated, report = tp.fhir.import_measures(_plan(), bundle)
    assert [a.total for a in _added(updated, report)] == [5]
    panel["hasMember"] = [{"display": SECRET}]
    _, report = tp.fhir.import_measures(_plan(), bundle)
    # The panel is refused; its member, no longer consumed, is read alone (and has no
    # subject of its own).
    assert [n.path for n in report.refused] == [
        "$.entry[0].resource.subject",
        "$.entry[1].resource.hasMember[0].reference",
    ]


def test_an_own_identifier_gives_the_assessment_id() -> None:
    identifier = [
        "not an identifier",
        {"system": "http://treatplan.dev/fhir/identifier/plan-part", "value": "phq9-ehr-1"},
    ]
    updated, report = tp.fhir.import_measures(_plan(), _obs(identifier=identifier, valueInteger=4))
    assert report.imported == ("phq9-ehr-1",)
    twice = _obs(identifier=identifier, valueInteger=4, id="x2")
    _, again = tp.fhir.import_measures(updated, twice)
    assert "duplicate" in again.skipped[0].reason


def test_a_resource_without_an_id_gets_a_stable_assessment_id() -> None:
    resource = _obs(valueInteger=4)
    del resource["id"]
    _, first = tp.fhir.import_measures(_plan(), resource)
    _, second = tp.fhir.import_measures(_plan(), copy.deepcopy(resource))
    assert first.imported == second.imported
    assert first.imported[0].startswith("fhir-")


def test_a_plan_with_its_own_phq9_definition_reads_totals_not_loinc_items() -> None:
    plan = _plan()
    custom = attrs.evolve(tp.instruments.PHQ9, name="PHQ-9 (local form)")
    plan = tp.revise(plan, custom_instruments=(custom,))
    component = {
        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
        "valueInteger": 1,
    }
    updated, report = tp.fhir.import_measures(plan, _obs(component=[component], valueInteger=4))
    [added] = _added(updated, report)
    assert (added.items, added.total) == (None, 4)


@pytest.mark.parametrize(
    ("when", "path"),
    [
        ("2026-05-02T25:00:00+00:00", "$.effectiveDateTime"),
        (20260502, "$.effectiveDateTime"),
    ],
)
def test_malformed_times_are_refused(when: Any, path: str) -> None:
    _, report = tp.fhir.import_measures(_plan(), _obs(effectiveDateTime=when, valueInteger=3))
    assert [n.path for n in report.refused] == [path]


def test_period_start_and_instant_times() -> None:
    resource = _obs(valueInteger=3, effectivePeriod={"start": "2026-05-03T08:00:00Z"})
    del resource["effectiveDateTime"]
    updated, report = tp.fhir.import_measures(_plan(), resource)
    assert _added(updated, report)[0].administered_at == datetime(2026, 5, 3, 8, tzinfo=UTC)
    resource = _obs(valueInteger=3, effectiveInstant="2026-05-04T08:00:00Z")
    del resource["effectiveDateTime"]
    updated, report = tp.fhir.import_measures(_plan(), resource)
    assert _added(updated, report)[0].administered_at == datetime(2026, 5, 4, 8, tzinfo=UTC)


def test_ordinal_values_must_be_numbers() -> None:
    coding = {
        "system": "x",
        "code": "y",
        "extension": [
            "not an extension",
            {"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": SECRET},
        ],
    }
    _, report = tp.fhir.import_measures(
        _plan(), _qr(item=[_answer("/44250-9", valueCoding=coding), _answer("x", valueCoding=7)])
    )
    [note] = report.refused
    assert note.path == "$.item[0].answer[0].valueCoding.extension[1].valueDecimal"
    _, report = tp.fhir.import_measures(_plan(), _qr(item=[_answer("/44250-9", valueCoding=7)]))
    assert report.refused[0].path == "$.item[0].answer[0].valueCoding"


def test_a_codeable_concept_without_codings_is_refused() -> None:
    component = {
        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
        "valueCodeableConcept": {"text": SECRET},
    }
    _, report = tp.fhir.import_measures(_plan(), _obs(component=[component]))
    assert report.refused[0].path == "$.component[0].valueCodeableConcept.coding"
    assert SECRET not in str(report.refused[0])


def test_plan_import_variants() -> None:
    # An MRN is a personal identifier, never the client reference: the reference is.
    patient = {
        "identifier": {"system": "https://ehr.example.org/mrn", "value": "c-77"},
        "reference": "Patient/p-77",
    }
    resources = [
        {
            "resourceType": "CarePlan",
            "identifier": ["not an identifier", {"value": SECRET}],
            "id": "cp-9",
            "subject": patient,
            "created": "2026-05-01T09:00:00+00:00",
            "addresses": [
                {"reference": "Condition/c1"},
                {"reference": "Condition/c2"},
                "not a reference",
            ],
            "goal": [{"reference": "Goal/g1"}],
        },
        {"resourceType": "EpisodeOfCare", "id": "e1", "status": "active"},
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {
                "coding": [
                    "not a coding",
                    {"system": "http://snomed.info/sct", "code": SECRET},
                    {"system": "http://snomed.info/sct", "display": "Panic disorder"},
                ]
            },
        },
        {"resourceType": "Condition", "id": "c2"},
        {
            "resourceType": "Goal",
            "id": "g1",
            "lifecycleStatus": SECRET,
            "description": {"text": "Travel by train again"},
            "target": [
                "not a target",
                {
                    "measure": {
                        "coding": [
                            {"system": "http://loinc.org", "code": "8302-2"},
                            {"system": "http://loinc.org", "code": "70274-6"},
                        ]
                    },
                    "detailQuantity": {"value": 5, "comparator": "<="},
                    "dueDate": "2026-08-01",
                },
            ],
        },
        {"resourceType": "Practitioner"},
    ]
    plan, report = tp.fhir.plan_from_fhir(resources)
    assert (plan.plan_id, plan.client_ref) == ("CarePlan/cp-9", "Patient/p-77")
    assert "c-77" not in tp.dumps(plan)
    assert [p.description for p in plan.presenting_problems] == ["Panic disorder"]
    assert plan.presenting_problems[0].diagnosis is None
    [objective] = plan.objectives
    assert objective.target == tp.MeasureTarget("GAD-7", tp.Comparator.AT_MOST, 5)
    assert objective.status is tp.ObjectiveStatus.ACTIVE
    paths = [n.path for n in report.skipped]
    assert "$[0].addresses[2]" in paths
    assert "$[3].code" in paths
    assert "$[4].target[0]" in paths
    assert "$[5]" in paths
    assert all(SECRET not in str(n) for n in report.skipped)


def test_a_care_plan_that_makes_no_valid_plan_is_refused() -> None:
    bundle = _fixture("other-careplan.json")
    bundle["entry"][4]["resource"]["description"]["text"] = "x" * 100_000
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert "x" * 50 not in str(info.value)


# --------------------------------------------------------------------------- more edges
def test_an_own_identifier_that_is_no_reference_is_not_used() -> None:
    identifier = [{"system": "http://treatplan.dev/fhir/identifier/plan-part", "value": "a b"}]
    _, report = tp.fhir.import_measures(_plan(), _obs(identifier=identifier, valueInteger=4))
    [imported] = report.imported
    assert imported.startswith("fhir-")


def test_an_effective_period_that_is_not_an_object_is_refused() -> None:
    resource = _obs(valueInteger=4, effectivePeriod=SECRET)
    del resource["effectiveDateTime"]
    updated, report = tp.fhir.import_measures(_plan(), resource)
    assert updated == _plan()
    [note] = report.refused
    assert note.path == "$.effectivePeriod"
    assert "a period with an end or a start" in note.reason
    assert SECRET not in str(note)


def test_answers_that_are_not_objects_are_passed_over() -> None:
    nested = _qr(
        item=[
            {
                "linkId": "q",
                "answer": [
                    {"valueString": "x", "item": [_answer("70274-6", valueInteger=2)]},
                    SECRET,  # a second answer, not an object: no items to look for in it
                ],
            }
        ]
    )
    updated, report = tp.fhir.import_measures(_plan(), nested)
    assert [a.total for a in _added(updated, report)] == [2]


def test_a_plan_refusing_an_assessment_is_reported_at_the_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The plan's own checks (here a stand-in refusing every item) are reported at the
    # resource, each reason said once as "expected ...".
    from treatplan import _fhir_import

    def refuse(plan: tp.TreatmentPlan, assessment: tp.Assessment) -> tp.TreatmentPlan:
        raise tp.ValidationError(
            [
                tp.ValidationIssue("$.items[0]", "expected an item this plan accepts"),
                tp.ValidationIssue("$.items[1]", "an item this plan accepts"),
            ]
        )

    monkeypatch.setattr(_fhir_import, "record_assessment", refuse)
    updated, report = tp.fhir.import_measures(_plan(), _obs(valueInteger=4))
    assert updated == _plan()
    assert report.imported == ()
    assert [(n.path, n.reason) for n in report.refused] == [
        ("$", "expected an item this plan accepts"),
        ("$", "expected an item this plan accepts"),
    ]


def _other_careplan() -> dict[str, Any]:
    return _fixture("other-careplan.json")  # type: ignore[no-any-return]


def test_a_part_without_an_id_gets_a_stable_one() -> None:
    bundle = _other_careplan()
    full_url = bundle["entry"][2]["fullUrl"]
    del bundle["entry"][2]["resource"]["id"]
    for resource in (bundle["entry"][0]["resource"], bundle["entry"][4]["resource"]):
        resource["addresses"][0]["reference"] = full_url
    plan, _ = tp.fhir.plan_from_fhir(bundle)
    again, _ = tp.fhir.plan_from_fhir(copy.deepcopy(bundle))
    first = plan.presenting_problems[0]
    assert first.id.startswith("Condition-")
    assert first.id == again.presenting_problems[0].id
    assert plan.goals[0].addresses == (first.id,)


def test_a_subject_that_is_not_an_object_is_refused() -> None:
    bundle = _other_careplan()
    bundle["entry"][0]["resource"]["subject"] = "Patient/p-1001"
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert [p.path for p in info.value.problems] == ["$.entry[0].resource.subject"]


def test_a_target_measure_without_loinc_is_not_carried() -> None:
    bundle = _other_careplan()
    bundle["entry"][4]["resource"]["target"][0]["measure"] = {"text": SECRET}
    plan, report = tp.fhir.plan_from_fhir(bundle)
    assert [o.target.instrument for o in plan.objectives] == ["GAD-7"]  # type: ignore[union-attr]
    assert "$.entry[4].resource.target[0]" in {n.path for n in report.skipped}
    assert all(SECRET not in str(n) for n in report.skipped)


def test_a_goal_listed_twice_makes_no_valid_plan() -> None:
    bundle = _other_careplan()
    bundle["entry"][0]["resource"]["goal"].append({"reference": "Goal/goal-1"})
    with pytest.raises(
        tp.ValidationError, match="the CarePlan does not make a valid plan"
    ) as info:
        tp.fhir.plan_from_fhir(bundle)
    # Named where the input has them: the Goal listed twice, and its target.
    assert [p.path for p in info.value.problems] == [
        "$.entry[4].resource",
        "$.entry[4].resource.target[0]",
    ]
