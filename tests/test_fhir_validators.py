"""Exports a server accepts, validated three ways.

Every export here is checked by fhir.resources (R4B for R4, R5), by the value-set
checks of tests/test_fhir.py, and, for R4, by FHIR.js (the ``fhir`` npm package)
run under Node through tests/fhir_validate.js. FHIR.js ships R4 definitions only.
CI installs it into .ci-node/ (.ci/run); the Node tests skip, saying why, only
when Node or the package is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

import treatplan as tp
from test_fhir import validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "fhir").glob("*.json"))
NODE_MODULES = Path(os.environ.get("TREATPLAN_NODE_MODULES", ROOT / ".ci-node" / "node_modules"))
LOINC = "http://loinc.org"
CLIENT = f"{tp.fhir.FHIR_NAMESPACE}/identifier/client"
PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
VARIANTS = [
    (version, bundle, responses)
    for version in ("R4", "R5")
    for bundle in ("collection", "transaction")
    for responses in (False, True)
]


def _load(path: Path) -> tp.TreatmentPlan:
    plan: tp.TreatmentPlan = tp.loads(path.read_text(encoding="utf-8"))
    return plan


def _export(path: Path, version: str, bundle: str, responses: bool) -> dict[str, Any]:
    return tp.fhir.to_fhir(
        _load(path),
        version,  # type: ignore[arg-type]
        bundle=bundle,  # type: ignore[arg-type]
        questionnaire_responses=responses,
    )


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --------------------------------------------------------------------------- python validators
@pytest.mark.parametrize(("version", "kind", "responses"), VARIANTS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_export_validates(path: Path, version: str, kind: str, responses: bool) -> None:
    bundle = _export(path, version, kind, responses)
    validate(bundle, version)
    assert bundle["type"] == kind
    # Every reference resolves inside the bundle.
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = json.dumps(bundle)
    for part in text.split('"reference": "')[1:]:
        assert part.split('"', 1)[0] in urls


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_transaction_entries_are_idempotent_puts(path: Path) -> None:
    plan = _load(path)
    bundle = tp.fhir.to_fhir(plan, "R4", bundle="transaction", questionnaire_responses=True)
    urls = []
    for entry in bundle["entry"]:
        resource, request = entry["resource"], entry["request"]
        assert request["method"] == "PUT"
        assert "id" not in resource  # the server assigns ids; the identifier is the key
        kind, query = request["url"].split("?identifier=")
        assert kind == resource["resourceType"]
        system, value = unquote(query).split("|")
        identifier = resource["identifier"]
        identifier = identifier[0] if isinstance(identifier, list) else identifier
        assert (system, value) == (identifier["system"], identifier["value"])
        urls.append(request["url"])
    assert len(set(urls)) == len(urls)  # one resource per conditional URL
    # The same plan gives the same requests: posting twice updates, never duplicates.
    assert (
        tp.fhir.to_fhir(plan, "R4", bundle="transaction", questionnaire_responses=True) == bundle
    )
    # And re-importing the transaction gives the same plan.
    assert tp.fhir.from_fhir(json.loads(json.dumps(bundle))) == tp.fhir.fhir_subset(plan)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_observations_link_to_their_goal_and_care_plan(version: str) -> None:
    plan = _load(ROOT / "examples" / "adult-depression-cbt.json")
    bundle = tp.fhir.to_fhir(plan, version, questionnaire_responses=True)  # type: ignore[arg-type]
    url_of = {
        (e["resource"]["resourceType"], (e["resource"]["identifier"][0]["value"]
         if isinstance(e["resource"]["identifier"], list)
         else e["resource"]["identifier"]["value"]).removeprefix(f"{plan.plan_id}/")): e["fullUrl"]
        for e in bundle["entry"]
    }  # fmt: skip
    care_plan = url_of["CarePlan", plan.plan_id]
    measured = {
        o.id: o.target.instrument
        for o in plan.objectives
        if isinstance(o.target, tp.MeasureTarget)
    }
    for obs in _resources(bundle, "Observation"):
        assessment_id = obs["identifier"][0]["value"].removeprefix(f"{plan.plan_id}/")
        instrument = next(a for a in plan.all_assessments() if a.id == assessment_id).instrument
        assert obs["basedOn"] == [{"reference": care_plan}]
        goals = [
            e["valueReference"]["reference"]
            for e in obs.get("extension", [])
            if e["url"] == PERTAINS_TO_GOAL
        ]
        assert goals == [
            url_of["Goal", oid] for oid, code in measured.items() if code == instrument
        ]
    assert any("extension" in o for o in _resources(bundle, "Observation"))


def test_questionnaire_responses_carry_loinc_items_and_answers() -> None:
    plan = _load(ROOT / "examples" / "adult-depression-cbt.json")
    bundle = tp.fhir.to_fhir(plan, "R4", questionnaire_responses=True)
    responses = _resources(bundle, "QuestionnaireResponse")
    in_order = sorted(plan.all_assessments(), key=lambda a: (a.administered_at, a.id))
    with_items = [a for a in in_order if a.items is not None]
    assert len(responses) == len(with_items)
    phq9 = next(r for r in responses if r["questionnaire"] == "http://loinc.org/q/44249-1")
    assert phq9["item"][0]["linkId"] == "44250-9"
    assert phq9["item"][8]["linkId"] == "44260-8"
    codes = {i["answer"][0]["valueCoding"]["code"] for i in phq9["item"] if "answer" in i}
    assert codes <= {"LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"}
    # The Observation names the response it was derived from.
    derived = [o["derivedFrom"] for o in _resources(bundle, "Observation") if "derivedFrom" in o]
    assert len(derived) == len(with_items)
    # And an EHR reading it back gets the same assessments.
    again, report = tp.fhir.import_measures(
        tp.TreatmentPlan.refer("p", "c", plan.history[0].at, "x"),
        _resources(bundle, "QuestionnaireResponse"),
        subject=f"{CLIENT}|{plan.client_ref}",  # the same client, known to the EHR
    )
    assert report.refused == ()
    assert [a.items for a in again.assessments] == [a.items for a in with_items]


def test_an_exported_bundle_imports_into_another_plan_as_measures() -> None:
    plan = _load(ROOT / "examples" / "mbc-walkthrough.json")
    bundle = json.loads(json.dumps(tp.fhir.to_fhir(plan, "R5", bundle="transaction")))
    fresh = tp.TreatmentPlan.refer("p2", "c2", plan.history[0].at, "clinician-1")
    updated, report = tp.fhir.import_measures(fresh, bundle, subject=f"{CLIENT}|{plan.client_ref}")
    assert report.refused == ()
    in_order = sorted(plan.all_assessments(), key=lambda a: (a.administered_at, a.id))
    coded = [a for a in in_order if plan.instrument(a.instrument).loinc]
    assert [
        (a.instrument, tp.instruments.plan_score(updated, a).total) for a in updated.assessments
    ] == [(a.instrument, tp.instruments.plan_score(plan, a).total) for a in coded]
    # Instruments without a LOINC code are skipped, each reported.
    uncoded = len(plan.all_assessments()) - len(coded)
    assert uncoded > 0
    assert sum("no LOINC total" in n.reason for n in report.skipped) == uncoded


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_the_fixtures_are_valid_fhir(path: Path) -> None:
    from fhir.resources.bundle import Bundle as BundleR5
    from fhir.resources.R4B.bundle import Bundle as BundleR4B

    doc = json.loads(path.read_text(encoding="utf-8"))
    (BundleR5 if path.stem.endswith("-r5") else BundleR4B).model_validate(doc)


def test_an_r5_care_plan_reads_like_the_r4_one() -> None:
    r4 = FIXTURES[0].parent / "other-careplan.json"
    r5 = FIXTURES[0].parent / "other-careplan-r5.json"
    plan4, report4 = tp.fhir.plan_from_fhir(json.loads(r4.read_text(encoding="utf-8")))
    plan5, report5 = tp.fhir.plan_from_fhir(json.loads(r5.read_text(encoding="utf-8")))
    assert plan5 == plan4
    assert [n.path for n in report5.skipped] == [n.path for n in report4.skipped]


def test_unknown_bundle_types_raise() -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.fhir.to_fhir(_load(EXAMPLES[0]), bundle="batch")  # type: ignore[arg-type]
    assert info.value.problems[0].path == "bundle"


# --------------------------------------------------------------------------- FHIR.js under Node
def _fhir_js(paths: list[Path]) -> dict[str, list[dict[str, str]]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed: FHIR.js validation needs it (.ci/run installs it)")
    if not (NODE_MODULES / "fhir").is_dir():
        pytest.skip(f"the npm package 'fhir' is not in {NODE_MODULES} (.ci/run installs it)")
    done = subprocess.run(
        [node, str(ROOT / "tests" / "fhir_validate.js"), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        timeout=300,
    )
    result: dict[str, list[dict[str, str]]] = json.loads(done.stdout)
    return result


def test_fhir_js_accepts_every_r4_export_and_fixture(tmp_path: Path) -> None:
    r4_fixtures = [p for p in FIXTURES if not p.stem.endswith("-r5")]
    paths = list(r4_fixtures)
    for path in EXAMPLES:
        for kind in ("collection", "transaction"):
            for responses in (False, True):
                out = tmp_path / f"{path.stem}-{kind}-{responses}.json"
                out.write_text(json.dumps(_export(path, "R4", kind, responses)), "utf-8")
                paths.append(out)
    errors = _fhir_js(paths)
    assert set(errors) == {str(p) for p in paths}
    assert {name: found for name, found in errors.items() if found} == {}
    assert len(paths) == len(r4_fixtures) + 4 * len(EXAMPLES)


def test_fhir_js_finds_errors_in_a_broken_bundle(tmp_path: Path) -> None:
    bundle = _export(EXAMPLES[0], "R4", "transaction", True)
    bundle["entry"][0]["resource"]["status"] = "not-a-status"
    bundle["entry"][1]["resource"]["unknownElement"] = 1
    bundle["entry"][2]["request"]["method"] = "PUSH"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(bundle), "utf-8")
    [found] = _fhir_js([broken]).values()
    assert len(found) == 3
