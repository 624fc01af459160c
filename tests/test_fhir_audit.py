"""FHIR faults an independent audit found, each held by a test.

Conditional URLs of different plans, measures of another patient, answers that
steer their own item, wrong JSON types, non-opaque client identifiers, Conditions
entered in error, amended results and deep nesting.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

import treatplan as tp

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
