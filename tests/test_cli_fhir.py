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
    assert printed == tp.to_fhir(plan, version)  # type: ignore[arg-type]
    (BundleR4B if version == "R4" else BundleR5).model_validate(printed)
    assert tp.from_fhir(printed) == tp.fhir_subset(plan)


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(EXAMPLES[0].read_text(encoding="utf-8")))
    assert main(["fhir", "-", "--fhir-version", "R5"]) == 0
    assert json.loads(capsys.readouterr().out)["resourceType"] == "Bundle"


def test_rejects_an_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fhir", str(EXAMPLES[0]), "--fhir-version", "R3"])
    assert info.value.code == 2
    assert "R3" in capsys.readouterr().err


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
    assert "error" in capsys.readouterr().err
