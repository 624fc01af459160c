"""FHIR faults an independent audit found, each held by a test.

Conditional URLs of different plans, measures of another patient, answers that
steer their own item, wrong JSON types, non-opaque client identifiers, Conditions
entered in error, amended results and deep nesting.
"""

from __future__ import annotations

import copy
import errno
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

import treatplan as tp
from treatplan._fhir_import import MAX_NESTING

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
PART = "http://treatplan.dev/fhir/identifier/plan-part"
CLIENT = "http://treatplan.dev/fhir/identifier/client"


def _load(path: Path) -> tp.TreatmentPlan:
    plan: tp.TreatmentPlan = tp.loads(path.read_text(encoding="utf-8"))
    return plan


def _active() -> tp.TreatmentPlan:
    return _load(ROOT / "examples" / "adolescent-anxiety-family.json")


def _later(plan: tp.TreatmentPlan, days: int = 1) -> str:
    return (tp.latest_time(plan) + timedelta(days=days)).isoformat()


def _added(plan: tp.TreatmentPlan, report: tp.fhir.FhirImportReport) -> list[tp.Assessment]:
    by_id = {a.id: a for a in plan.assessments}
    return [by_id[i] for i in report.imported]


def _urls(bundle: dict[str, Any]) -> set[str]:
    return {e["request"]["url"] for e in bundle["entry"]}


# --------------------------------------------------------------------------- conditional URLs
def test_two_plans_sharing_part_ids_give_disjoint_conditional_urls() -> None:
    first = _load(ROOT / "examples" / "adult-depression-cbt.json")
    second = tp.loads(tp.dumps(first).replace(first.plan_id, "plan-other"))
    assert {p.id for p in first.presenting_problems} == {p.id for p in second.presenting_problems}
    for version in ("R4", "R5"):
        a = tp.fhir.to_fhir(first, version, bundle="transaction", questionnaire_responses=True)
        b = tp.fhir.to_fhir(second, version, bundle="transaction", questionnaire_responses=True)
        assert _urls(a).isdisjoint(_urls(b))
        # Posting the same plan twice still updates the same resources.
        assert a == tp.fhir.to_fhir(
            first, version, bundle="transaction", questionnaire_responses=True
        )


def test_the_shipped_examples_share_no_conditional_url() -> None:
    seen: set[str] = set()
    for path in EXAMPLES:
        urls = _urls(tp.fhir.to_fhir(_load(path), "R5", bundle="transaction"))
        assert seen.isdisjoint(urls)
        seen |= urls


def test_a_part_identifier_is_the_plan_id_and_the_part_id() -> None:
    plan = _load(ROOT / "examples" / "adult-depression-cbt.json")
    bundle = tp.fhir.to_fhir(plan, "R4", bundle="transaction")
    url = next(e["request"]["url"] for e in bundle["entry"] if "Condition?" in e["request"]["url"])
    assert unquote(url) == f"Condition?identifier={PART}|{plan.plan_id}/prob-mood"


def test_an_export_still_reads_back_and_imports_as_the_same_assessments() -> None:
    plan = _load(ROOT / "examples" / "mbc-walkthrough.json")
    for kind in ("collection", "transaction"):
        bundle = json.loads(json.dumps(tp.fhir.to_fhir(plan, "R4", bundle=kind)))  # type: ignore[arg-type]
        assert tp.fhir.from_fhir(bundle) == tp.fhir.fhir_subset(plan)
        # Its own measures are duplicates in the plan they came from.
        same, report = tp.fhir.import_measures(plan, bundle)
        assert same == plan
        assert report.imported == report.refused == ()
        # A plan built from the export keeps the assessment ids (the prefix is its plan id).
        built, _ = tp.fhir.plan_from_fhir(bundle)
        coded = {a.id for a in plan.all_assessments() if plan.instrument(a.instrument).loinc}
        assert built.plan_id == plan.plan_id
        assert {a.id for a in built.assessments} == coded


def test_a_bundle_written_before_plan_qualified_identifiers_still_reads() -> None:
    plan = _load(ROOT / "examples" / "adult-depression-cbt.json")
    bundle = tp.fhir.to_fhir(plan, "R5")
    old = json.loads(json.dumps(bundle).replace(f'"{plan.plan_id}/', '"'))
    assert old != bundle
    assert tp.fhir.from_fhir(old) == tp.fhir.fhir_subset(plan)


def test_another_plans_part_identifier_keeps_its_plan_id() -> None:
    plan = _active()
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"identifier": {"system": CLIENT, "value": plan.client_ref}},
        "identifier": [{"system": PART, "value": 5}, {"system": PART, "value": "plan-x/phq9-a"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "effectiveDateTime": _later(plan),
        "valueInteger": 4,
    }
    _, report = tp.fhir.import_measures(plan, copy.deepcopy(obs))
    assert report.imported == ("plan-x/phq9-a",)
    obs["identifier"][1]["value"] = f"{plan.plan_id}/phq9-a"
    _, report = tp.fhir.import_measures(plan, obs)
    assert report.imported == ("phq9-a",)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_questionnaire_responses_carry_the_plan_qualified_identifier(version: str) -> None:
    plan = _load(ROOT / "examples" / "adult-depression-cbt.json")
    bundle = tp.fhir.to_fhir(plan, version, questionnaire_responses=True)  # type: ignore[arg-type]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "QuestionnaireResponse":
            ident = resource["identifier"]
            ident = ident[0] if version == "R5" else ident
            assert ident["value"].startswith(f"{plan.plan_id}/")


# --------------------------------------------------------------------------- answers
PHQ9_ITEMS = [
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8",
]  # fmt: skip


@pytest.mark.parametrize("steer", [8, "x", None, [1]])
def test_a_key_in_an_answer_never_moves_it_to_another_item(steer: Any) -> None:
    plan = _active()
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"identifier": {"system": CLIENT, "value": plan.client_ref}},
        "authored": _later(plan),
        "item": [{"linkId": c, "answer": [{"valueInteger": 0}]} for c in PHQ9_ITEMS],
    }
    response["item"][0]["answer"][0] = {"valueInteger": 3, "_n": steer}
    updated, report = tp.fhir.import_measures(plan, response)
    assert report.refused == ()
    [added] = [a for a in updated.assessments if a.id in report.imported]
    assert added.items == (3, 0, 0, 0, 0, 0, 0, 0, 0)  # item 1, never item 9


# --------------------------------------------------------------------------- whose measures
SECRET = "I feel awful"
NHS = "https://fhir.nhs.uk/Id/nhs-number"


def _obs(oid: str, subject: Any = None, **body: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}], "text": SECRET},
        "effectiveDateTime": "2026-05-02T10:00:00+00:00",
        "valueInteger": 8,
        **body,
    }
    if subject is not None:
        resource["subject"] = subject
    return resource


def _mine(plan: tp.TreatmentPlan) -> dict[str, Any]:
    return {"identifier": {"system": CLIENT, "value": plan.client_ref}}


def test_another_patients_measures_in_a_searchset_are_skipped() -> None:
    plan = _active()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": _obs("o1", _mine(plan))},
            {"resource": _obs("o2", {"identifier": {"system": CLIENT, "value": "client-x"}})},
            {"resource": _obs("o3", {"reference": "Patient/p2"}, effectiveDateTime="2026-05-03")},
        ],
    }
    updated, report = tp.fhir.import_measures(plan, bundle, subject="Patient/p1")
    assert [a.total for a in _added(updated, report)] == [8]
    assert [(n.path, n.reason) for n in report.skipped] == [
        ("$.entry[1].resource.subject", "another subject: not the plan's client"),
        ("$.entry[2].resource.subject", "another subject: not the plan's client"),
    ]
    assert report.refused == ()
    assert SECRET not in str(report)
    assert "client-x" not in str(report)


@pytest.mark.parametrize(
    "subject",
    [
        None,  # no subject at all: it could be anyone's
        {"identifier": {"system": NHS, "value": "9434765919"}},  # a scheme the plan cannot match
        {"reference": "Group/g1"},
        {"identifier": {"system": CLIENT, "value": 5}},
        {"display": SECRET},
        "Patient/p1",  # not a Reference object
    ],
)
def test_a_measure_the_plan_cannot_attribute_is_refused(subject: Any) -> None:
    plan = _active()
    updated, report = tp.fhir.import_measures(plan, _obs("o1", subject), subject="Patient/p1")
    assert updated == plan
    [note] = report.refused
    assert note.path == "$.subject"
    assert note.reason.startswith("expected a subject")
    assert SECRET not in note.reason
    assert "9434765919" not in note.reason


@pytest.mark.parametrize(
    ("given", "subject"),
    [
        ("Patient/p1", {"reference": "Patient/p1"}),
        ("Patient/p1", {"reference": "https://ehr.example.org/fhir/Patient/p1"}),
        ("https://ehr.example.org/fhir/Patient/p1", {"reference": "Patient/p1"}),
        (f"{NHS}|9434765919", {"identifier": {"system": NHS, "value": "9434765919"}}),
    ],
)
def test_subject_names_the_client_by_reference_or_identifier(given: str, subject: Any) -> None:
    plan = _active()
    updated, report = tp.fhir.import_measures(plan, _obs("o1", subject), subject=given)
    assert len(report.imported) == 1
    assert updated.client_ref == plan.client_ref  # the name is matched, never stored


@pytest.mark.parametrize("given", ["", "a b", 5, "x" * 600, "a|b|c", f"{SECRET}\n"])
def test_a_subject_that_is_no_reference_is_an_argument_error(given: Any) -> None:
    with pytest.raises(tp.ArgumentError) as info:
        tp.fhir.import_measures(_active(), [], subject=given)
    assert "subject" in str(info.value)
    assert SECRET not in str(info.value)


def test_questionnaire_responses_of_another_patient_are_skipped() -> None:
    plan = _active()
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "subject": {"identifier": {"system": CLIENT, "value": "client-x"}},
        "authored": _later(plan),
        "item": [{"linkId": c, "answer": [{"valueInteger": 1}]} for c in PHQ9_ITEMS],
    }
    updated, report = tp.fhir.import_measures(plan, response)
    assert updated == plan
    assert [n.path for n in report.skipped] == ["$.subject"]


def test_a_panel_member_of_another_patient_refuses_the_panel() -> None:
    plan = _active()
    member = _obs("m1", {"identifier": {"system": CLIENT, "value": "client-x"}})
    member["code"] = {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]}
    member["valueInteger"] = 1
    panel = _obs("p1", _mine(plan), hasMember=[{"reference": "Observation/m1"}])
    panel["code"] = {"coding": [{"system": "http://loinc.org", "code": "44249-1"}]}
    _, report = tp.fhir.import_measures(plan, [panel, member])
    assert report.imported == ()
    assert [n.path for n in report.refused] == ["$[1].subject"]
    assert report.refused[0].resource_id == "p1"


def test_plan_from_fhir_takes_only_the_care_plans_patients_measures() -> None:
    care_plan = {
        "resourceType": "CarePlan",
        "id": "cp1",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
        "created": "2026-01-01",
    }
    mine = _obs("o1", {"reference": "Patient/p1"})
    other = _obs("o2", {"reference": "Patient/p2"}, valueInteger=26)
    plan, report = tp.fhir.plan_from_fhir([care_plan, mine, other])
    assert [a.total for a in plan.assessments] == [8]
    assert [(n.path, n.reason) for n in report.skipped if n.resource_type == "Observation"] == [
        ("$[2].subject", "another subject: not the plan's client")
    ]


def test_the_command_line_takes_the_subject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan._cli import main

    plan = _active()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(tp.dumps(plan), encoding="utf-8")
    source = tmp_path / "source.json"
    source.write_text(json.dumps([_obs("o1", {"reference": "Patient/p1"})]), encoding="utf-8")
    assert main(["fhir", "import-measures", str(plan_file), str(source)]) == 1
    assert "refused: $[0].subject" in capsys.readouterr().err
    args = ["fhir", "import-measures", str(plan_file), str(source), "--subject", "Patient/p1"]
    assert main(args) == 0
    assert len(tp.loads(capsys.readouterr().out).assessments) == len(plan.assessments) + 1


# --------------------------------------------------------------------------- wrong JSON types
def _unhashable_cases(plan: tp.TreatmentPlan) -> list[tuple[dict[str, Any], str]]:
    mine = _mine(plan)
    quantity = {"value": 12, "system": "http://unitsofmeasure.org", "code": ["x"]}
    ordinal = _obs("o4", mine, component=[{
        "code": {"coding": [{"system": "http://loinc.org", "code": "44250-9"}]},
        "valueCoding": {"extension": [{"url": {}, "valueDecimal": 1}]},
    }])  # fmt: skip
    del ordinal["valueInteger"]
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": {},
        "subject": mine,
        "authored": "2026-05-02",
        "item": [{"linkId": "44250-9", "answer": [{"valueInteger": 1}]}],
    }
    no_int = _obs("o3", mine, valueQuantity=quantity)
    del no_int["valueInteger"]
    return [
        (_obs("o1", mine, status=["final"]), "$.status"),
        (response, "$.status"),
        (no_int, "$.valueQuantity.code"),
        (ordinal, "$.component[0].valueCoding"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_unhashable_values_are_refused_at_their_path(case: int) -> None:
    plan = _active()
    resource, path = _unhashable_cases(plan)[case]
    updated, report = tp.fhir.import_measures(plan, resource)
    assert updated == plan
    [note] = report.refused
    assert note.path == path
    assert note.reason.startswith("expected")
    assert SECRET not in note.reason


def test_an_unhashable_status_on_the_command_line_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan._cli import main

    plan = _active()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(tp.dumps(plan), encoding="utf-8")
    source = tmp_path / "source.json"
    source.write_text(json.dumps([_obs("o1", _mine(plan), status=["final"])]), encoding="utf-8")
    assert main(["fhir", "import-measures", str(plan_file), str(source)]) == 1
    err = capsys.readouterr().err
    assert "refused: $[0].status (Observation/o1): expected a status code" in err
    assert "Traceback" not in err


def _care_plan_bundle(
    cp: dict[str, Any] | None = None,
    cond: dict[str, Any] | None = None,
    goal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A minimal other-system bundle: CarePlan, Condition, Goal with a PHQ-9 target."""
    care_plan = {
        "resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
        "identifier": [{"value": "plan-1"}], "subject": {"reference": "Patient/p1"},
        "period": {"start": "2025-01-01T10:00:00+00:00"},
        "addresses": [{"reference": "Condition/c1"}], "goal": [{"reference": "Goal/g1"}],
        **(cp or {}),
    }  # fmt: skip
    condition = {"resourceType": "Condition", "id": "c1", "code": {"text": SECRET}, **(cond or {})}
    target = {
        "measure": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "detailQuantity": {"value": 10, "comparator": "<"},
        "dueDate": "2025-06-01",
    }
    the_goal = {
        "resourceType": "Goal", "id": "g1", "lifecycleStatus": "active",
        "description": {"text": SECRET}, "target": [target], **(goal or {}),
    }  # fmt: skip
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (care_plan, condition, the_goal)],
    }


def _target(value: Any) -> dict[str, Any]:
    return {
        "target": [{
            "measure": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
            "detailQuantity": {"value": value, "comparator": "<"},
            "dueDate": "2025-06-01",
        }]
    }  # fmt: skip


@pytest.mark.parametrize(
    ("bundle", "path"),
    [
        (_care_plan_bundle({"identifier": 5}), "$.entry[0].resource.identifier"),
        (_care_plan_bundle({"activity": 5}), "$.entry[0].resource.activity"),
        (_care_plan_bundle({"addresses": 5}), "$.entry[0].resource.addresses"),
        (_care_plan_bundle({"goal": {}}), "$.entry[0].resource.goal"),
        (_care_plan_bundle(cond={"code": {"coding": 5}}), "$.entry[1].resource.code.coding"),
        (
            _care_plan_bundle(cond={"code": {"text": "", "coding": 5}}),
            "$.entry[1].resource.code.coding",
        ),
        (
            _care_plan_bundle(goal={"description": {"coding": 5}}),
            "$.entry[2].resource.description.coding",
        ),
        (_care_plan_bundle(goal={"target": 5}), "$.entry[2].resource.target"),
        (_care_plan_bundle(goal={"addresses": 5}), "$.entry[2].resource.addresses"),
        (
            _care_plan_bundle(goal={"lifecycleStatus": ["active"]}),
            "$.entry[2].resource.lifecycleStatus",
        ),
        (
            _care_plan_bundle(goal=_target(10**400)),
            "$.entry[2].resource.target[0].detailQuantity.value",
        ),
        (
            _care_plan_bundle(goal=_target(1e300)),
            "$.entry[2].resource.target[0].detailQuantity.value",
        ),
    ],
)
def test_plan_from_fhir_wrong_types_raise_naming_the_path(bundle: Any, path: str) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert [p.path for p in info.value.problems] == [path]
    assert SECRET not in str(info.value)


def test_a_care_plan_alone_with_an_entry_key_is_read_as_a_resource() -> None:
    bundle = _care_plan_bundle()
    care_plan = {**bundle["entry"][0]["resource"], "entry": 5, "addresses": [], "goal": []}
    plan, _ = tp.fhir.plan_from_fhir(care_plan)
    assert plan.plan_id == "plan-1"


# --------------------------------------------------------------------------- the client reference
NHS_SUBJECT = {"identifier": {"system": NHS, "value": "9434765919"}, "display": SECRET}


@pytest.mark.parametrize(
    "subject",
    [
        NHS_SUBJECT,
        {"identifier": {"system": CLIENT, "value": "a b"}},
        {"reference": "https://ehr.example.org/fhir/Patient/p1"},
        {"reference": "Group/g1"},
        {"identifier": "9434765919"},
    ],
)
def test_a_subject_without_an_opaque_client_reference_is_refused(subject: Any) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(_care_plan_bundle({"subject": subject}))
    assert [p.path for p in info.value.problems] == ["$.entry[0].resource.subject"]
    assert "9434765919" not in str(info.value)
    assert SECRET not in str(info.value)


def test_another_systems_identifier_gives_way_to_the_patient_reference() -> None:
    subject = {**NHS_SUBJECT, "reference": "Patient/p1"}
    plan, report = tp.fhir.plan_from_fhir(_care_plan_bundle({"subject": subject}))
    assert plan.client_ref == "Patient/p1"
    assert "9434765919" not in json.dumps(tp.fhir.to_fhir(plan))
    assert "9434765919" not in tp.dumps(plan)
    [note] = [n for n in report.skipped if n.path.endswith(".subject.identifier")]
    assert note.path == "$.entry[0].resource.subject.identifier"
    assert "9434765919" not in str(note)


def test_treatplans_own_client_identifier_is_the_client_reference() -> None:
    subject = {"identifier": {"system": CLIENT, "value": "client-1"}, "reference": "Patient/p1"}
    plan, report = tp.fhir.plan_from_fhir(_care_plan_bundle({"subject": subject}))
    assert plan.client_ref == "client-1"
    assert not any(n.path.endswith(".subject.identifier") for n in report.skipped)


# --------------------------------------------------------------------------- conditions in error
VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@pytest.mark.parametrize("code", ["entered-in-error", "refuted"])
def test_a_condition_entered_in_error_or_refuted_is_no_presenting_problem(code: str) -> None:
    status = {"coding": ["x", {"system": VER_STATUS, "code": code}]}
    plan, report = tp.fhir.plan_from_fhir(_care_plan_bundle(cond={"verificationStatus": status}))
    assert plan.presenting_problems == ()
    paths = {n.path: n.reason for n in report.skipped}
    assert paths["$.entry[1].resource.verificationStatus.coding[1]"] == (
        f"not carried: the Condition's verification status is {code}"
    )
    assert SECRET not in str(report)


@pytest.mark.parametrize(
    "status", [{"coding": [{"system": VER_STATUS, "code": "confirmed"}]}, "confirmed", {}]
)
def test_a_confirmed_or_unstated_condition_is_carried(status: Any) -> None:
    bundle = _care_plan_bundle(cond={"verificationStatus": status})
    plan, _ = tp.fhir.plan_from_fhir(bundle)
    assert [p.description for p in plan.presenting_problems] == [SECRET]


def test_a_verification_status_coding_that_is_no_list_is_refused() -> None:
    bundle = _care_plan_bundle(cond={"verificationStatus": {"coding": 5}})
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert [p.path for p in info.value.problems] == [
        "$.entry[1].resource.verificationStatus.coding"
    ]


# --------------------------------------------------------------------------- deep nesting
def _nested_response(plan: tp.TreatmentPlan, depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"linkId": "44250-9", "answer": [{"valueInteger": 1}]}
    for _ in range(depth):
        node = {"linkId": "g", "item": [node]}
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": _mine(plan),
        "authored": _later(plan),
        "item": [node],
    }


def test_a_deeply_nested_questionnaire_response_is_refused_at_a_path() -> None:
    plan = _active()
    response = _nested_response(plan, 3000)
    updated, report = tp.fhir.import_measures(plan, response)
    assert updated == plan
    [note] = report.refused
    assert note.path == "$" + ".item[0]" * (MAX_NESTING + 1)
    assert note.reason == "expected items nested at most 64 levels deep"
    bundle = _care_plan_bundle({"subject": _mine(plan)})
    bundle["entry"].append({"resource": response})
    _, built = tp.fhir.plan_from_fhir(bundle)
    assert [n.reason for n in built.refused] == [note.reason]


def test_items_nested_within_the_limit_are_read_in_document_order() -> None:
    plan = _active()
    response = _nested_response(plan, 64)
    response["item"].append({"linkId": "44255-8", "answer": [{"valueInteger": 2}]})
    updated, report = tp.fhir.import_measures(plan, response)
    [added] = _added(updated, report)
    assert added.items is not None
    assert added.items[:2] == (1, 2)


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"url": "x"}
    for _ in range(depth):
        node = {"url": "x", "extension": [node]}
    return node


@pytest.mark.parametrize("odd", ["deep", "circular", "keys"])
def test_a_resource_without_an_id_that_json_cannot_write_is_refused(odd: str) -> None:
    plan = _active()
    resource = _obs("x", _mine(plan), effectiveDateTime=_later(plan))
    del resource["id"]
    if odd == "deep":
        resource["extension"] = [_deep(100_000)]
    elif odd == "circular":
        resource["extension"] = [resource]
    else:
        resource["extension"] = [{1: "x", "url": "y"}]
    updated, report = tp.fhir.import_measures(plan, resource)
    assert updated == plan
    assert [(n.path, n.reason) for n in report.refused] == [
        ("$", "expected an id, or a resource JSON can write")
    ]


# --------------------------------------------------------------------------- --out
def _cli_files(tmp_path: Path) -> tuple[tp.TreatmentPlan, Path, Path]:
    plan = _active()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(tp.dumps(plan), encoding="utf-8")
    source = tmp_path / "source.json"
    source.write_text(json.dumps([_obs("o1", _mine(plan))]), encoding="utf-8")
    return plan, plan_file, source


def test_out_replaces_the_plan_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    from treatplan._cli import main

    plan, plan_file, source = _cli_files(tmp_path)
    plan_file.chmod(0o640)
    assert (
        main(["fhir", "import-measures", str(plan_file), str(source), "--out", str(plan_file)])
        == 0
    )
    updated = tp.loads(plan_file.read_text(encoding="utf-8"))
    assert len(updated.assessments) == len(plan.assessments) + 1
    assert plan_file.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "source.json"]
    fresh = tmp_path / "new.json"
    assert main(["fhir", "import-measures", str(plan_file), str(source), "--out", str(fresh)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_plan_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan._cli import main

    _, plan_file, source = _cli_files(tmp_path)
    before = plan_file.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    args = ["fhir", "import-measures", str(plan_file), str(source), "--out", str(plan_file)]
    assert main(args) == 2
    assert plan_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "source.json"]
    err = capsys.readouterr().err.splitlines()
    # Named by its argument, never its path: here --out is PLAN, named first.
    assert err == ["PLAN: expected an accessible file (No space left on device)"]


def test_out_in_a_missing_folder_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan._cli import main

    _, plan_file, source = _cli_files(tmp_path)
    out = tmp_path / "missing" / "plan.json"
    assert main(["fhir", "import-measures", str(plan_file), str(source), "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "--out: expected an accessible file (No such file or directory)"
    ]


# --------------------------------------------------------------------------- amended results
@pytest.mark.parametrize(
    "change",
    [
        {"effectiveDateTime": "2026-05-03T10:00:00+00:00"},  # a new time
        {"valueInteger": 5},  # a new value at the same time
    ],
)
def test_an_amended_result_of_a_recorded_resource_is_refused_not_lost(
    change: dict[str, Any],
) -> None:
    plan = _active()
    first, _ = tp.fhir.import_measures(plan, _obs("o1", _mine(plan)))
    amended = _obs("o1", _mine(plan), status="amended", **change)
    updated, report = tp.fhir.import_measures(first, amended)
    assert updated == first
    assert report.skipped == ()
    [note] = report.refused
    assert note.path == "$"
    assert note.reason.startswith("expected a new result: this resource was recorded before")


def test_the_same_result_again_is_a_duplicate_of_its_resource() -> None:
    plan = _active()
    first, _ = tp.fhir.import_measures(plan, _obs("o1", _mine(plan)))
    again, report = tp.fhir.import_measures(first, _obs("o1", _mine(plan), status="corrected"))
    assert again == first
    assert [n.reason for n in report.skipped] == [
        "a duplicate: already recorded from this resource"
    ]
    # Another resource at the same time is a duplicate by its time.
    _, report = tp.fhir.import_measures(first, _obs("o2", _mine(plan)))
    assert [n.reason for n in report.skipped] == ["a duplicate: this instrument at this time"]


def test_one_resource_twice_in_an_input_with_two_results_keeps_the_first() -> None:
    plan = _active()
    later = _obs("o1", _mine(plan), effectiveDateTime="2026-05-03T10:00:00+00:00")
    updated, report = tp.fhir.import_measures(plan, [_obs("o1", _mine(plan)), later])
    assert len(report.imported) == 1
    assert [n.path for n in report.refused] == ["$[1]"]
    assert len(updated.assessments) == len(plan.assessments) + 1


def test_a_result_with_items_matches_its_record_without_the_recorded_total() -> None:
    plan = _active()
    components = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueInteger": 1,
        }
        for code in PHQ9_ITEMS
    ]
    resource = _obs("o1", _mine(plan), component=components, valueInteger=9)
    first, report = tp.fhir.import_measures(plan, resource)
    assert len(report.imported) == 1
    del resource["valueInteger"]
    again, report = tp.fhir.import_measures(first, resource)
    assert again == first
    assert report.refused == ()


# --------------------------------------------------------------------------- input paths
@pytest.mark.parametrize(
    ("bundle", "problems"),
    [
        (
            _care_plan_bundle(cond={"code": {"text": "low\x01mood"}}),
            ["$.entry[1].resource.code"],
        ),
        (
            _care_plan_bundle(goal={"description": {"text": "feel\x01better"}}),
            ["$.entry[2].resource.description"],
        ),
        (
            _care_plan_bundle(goal={"description": {"text": "feel\x01better"}, "target": []}),
            ["$.entry[2].resource.description"],
        ),
        (
            _care_plan_bundle({"goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g1"}]}),
            ["$.entry[2].resource", "$.entry[2].resource.target[0]"],
        ),
        (
            _care_plan_bundle({"subject": {"identifier": {"system": CLIENT, "value": ".x"}}}),
            ["$.entry[0].resource.subject.identifier.value"],
        ),
        (
            _care_plan_bundle({"period": {"start": "0001-01-01"}}),
            ["$.entry[0].resource.period.start"],
        ),
    ],
)
def test_plan_from_fhir_names_paths_of_the_input(bundle: Any, problems: list[str]) -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.plan_from_fhir(bundle)
    assert [p.path for p in info.value.problems] == problems
    assert all("$.goals" not in p.expected for p in info.value.problems)
