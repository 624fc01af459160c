"""``treatplan fhir PLAN [--fhir-version R4|R5]``: prints the Bundle JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.R4B.bundle import Bundle as BundleR4B

import treatplan as tp
from treatplan._cli import main

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))


@pytest.mark.parametrize(
    ("flags", "version"),
    [([], "R4"), (["--fhir-version", "R4"], "R4"), (["--fhir-version", "r5"], "R5")],
)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_prints_the_bundle(
    path: Path, flags: list[str], version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fhir", str(path), *flags]) == 0
    printed = json.loads(capsys.readouterr().out)
    plan = tp.loads(path.read_text(encoding="utf-8"))
    assert printed == tp.fhir.to_fhir(plan, version)  # type: ignore[arg-type]
    (BundleR4B if version == "R4" else BundleR5).model_validate(printed)
    assert tp.fhir.from_fhir(printed) == tp.fhir.fhir_subset(plan)


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(EXAMPLES[0].read_text(encoding="utf-8")))
    assert main(["fhir", "-", "--fhir-version", "R5"]) == 0
    assert json.loads(capsys.readouterr().out)["resourceType"] == "Bundle"


def test_rejects_an_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fhir", str(EXAMPLES[0]), "--fhir-version", "R3"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --fhir-version: expected one of 'R4', 'R5'" in err
    assert "R3" not in err


def test_invalid_plan_reports_paths_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    doc["goals"][0]["objectives"][0]["target_date"] = "when the voices stop"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["fhir", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "$.goals[0].objectives[0].target_date" in captured.err
    assert "voices" not in captured.err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fhir", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("PLAN: expected an accessible file (")


# --------------------------------------------------------------------------- new options
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fhir"
ACTIVE = Path(__file__).resolve().parent.parent / "examples" / "adolescent-anxiety-family.json"


def test_prints_a_transaction_with_questionnaire_responses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["fhir", str(ACTIVE), "--bundle", "TRANSACTION", "--questionnaire-responses"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    plan = tp.loads(ACTIVE.read_text(encoding="utf-8"))
    assert printed == tp.fhir.to_fhir(plan, bundle="transaction", questionnaire_responses=True)
    BundleR4B.model_validate(printed)


def test_the_old_version_flag_is_gone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fhir", str(ACTIVE), "--version", "R4"])
    assert info.value.code == 2


#: How the fixtures' EHR names the client (measures of other subjects are not imported).
EHR = ["--subject", "Patient/p-1001"]


def test_import_measures_writes_the_plan_and_review_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    source = FIXTURES / "ehr-measures-searchset.json"
    assert (
        main(["fhir", "import-measures", str(ACTIVE), str(source), "--out", str(out), *EHR]) == 0
    )
    err = capsys.readouterr().err
    assert "imported 4 assessment(s)" in err
    assert "skipped: $.entry[2].resource (Encounter/enc-0521)" in err
    plan = tp.loads(out.read_text(encoding="utf-8"))
    before = tp.loads(ACTIVE.read_text(encoding="utf-8"))
    assert len(plan.assessments) == len(before.assessments) + 4
    assert main(["review", str(out), "--as-of", "2026-05-29T12:00:00+01:00"]) in (0, 1)
    review = capsys.readouterr().out
    assert "GAD-7" in review
    assert "PHQ-9" in review


def test_import_measures_to_stdout_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FIXTURES / "ehr-measures-transaction.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(source.read_text(encoding="utf-8")))
    assert main(["fhir", "import-measures", str(ACTIVE), "-", *EHR]) == 0
    plan = tp.loads(capsys.readouterr().out)
    assert plan.assessments[-1].instrument == "GAD-7"


def test_import_measures_refusals_exit_1_with_paths_and_no_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = FIXTURES / "ehr-measure-faults.json"
    assert main(["fhir", "import-measures", str(ACTIVE), str(source), *EHR]) == 1
    captured = capsys.readouterr()
    assert tp.loads(captured.out) == tp.loads(ACTIVE.read_text(encoding="utf-8"))
    assert "refused: $.entry[0].resource.valueInteger (Observation/contradictory)" in captured.err
    assert "I feel awful" not in captured.err


def test_import_measures_of_a_file_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")
    assert main(["fhir", "import-measures", str(ACTIVE), str(bad)]) == 1
    assert "$: expected well-formed JSON" in capsys.readouterr().err


def test_import_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert (
        main(["fhir", "import-plan", str(FIXTURES / "other-careplan.json"), "--out", str(out)])
        == 0
    )
    assert tp.loads(out.read_text(encoding="utf-8")).plan_id == "CP-2026-0042"
    assert "skipped: $.entry[0].resource.activity[0]" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"resourceType": "Bundle", "entry": []}), encoding="utf-8")
    assert main(["fhir", "import-plan", str(broken)]) == 1
    assert "$: expected exactly one CarePlan" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["import-measures", "import-plan"])
def test_import_of_a_missing_source_is_the_usual_file_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [str(ACTIVE)] if command == "import-measures" else []
    assert main(["fhir", command, *before, str(tmp_path / "gone.json")]) == 2
    assert capsys.readouterr().err.startswith("SOURCE: expected an accessible file (")
