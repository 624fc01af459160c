"""``treatplan review`` and ``treatplan instruments``, and the measurement-based-care example."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

import treatplan as tp
from treatplan._cli import main
from treatplan._cli_review import band_range

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WALKTHROUGH = EXAMPLES / "mbc-walkthrough.json"


def test_walkthrough_script_builds_the_committed_plan() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "measurement_based_care.py"), run_name="example")
    trace: list[tp.Findings] = []
    plan = namespace["build_plan"](trace)
    committed = WALKTHROUGH.read_text(encoding="utf-8")
    assert tp.dumps(plan) + "\n" == committed, (
        "regenerate: python examples/measurement_based_care.py"
        " --write examples/mbc-walkthrough.json"
    )
    # Not on track at review 1 (step up), reliable recovery at review 2 (begin ending).
    assert [f.suggestion.decision for f in trace] == [
        tp.ReviewDecision.STEP_UP,
        tp.ReviewDecision.BEGIN_ENDING,
    ]
    assert [r.decision for r in plan.reviews] == [
        tp.ReviewDecision.STEP_UP,
        tp.ReviewDecision.BEGIN_ENDING,
    ]
    assert plan.outcome is tp.EpisodeOutcome.COMPLETED


def test_review_report_shows_categories_and_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(WALKTHROUGH)]) == 0
    out = capsys.readouterr().out
    assert "PHQ-9: baseline 14 -> latest 4 (change -10), recovered" in out
    assert "GAD-7: baseline 11 -> latest 4 (change -7), recovered" in out
    assert "Alert log" in out
    assert "not_on_track" in out
    assert "risk_item" in out
    assert "sustained_recovery: fired (discharge)" in out
    assert "reliable recovery yes" in out
    plan = tp.loads(WALKTHROUGH.read_text())
    for text in (plan.goals[0].statement, plan.presenting_problems[0].description):
        assert text not in out  # no free text in the report


def test_review_as_of_a_date_shows_the_alerts_then(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(WALKTHROUGH), "--as-of", "2026-02-09"]) == 0
    out = capsys.readouterr().out
    assert "Suggested decision: step_up" in out
    assert "URGENT  not_on_track" in out
    assert "alliance_low" in out
    assert "unchanged" in out


def test_review_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["review", str(WALKTHROUGH), "--as-of", "2026-02-09T12:00:00+00:00", "--json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["plan_id"] == "plan-mbc-0001"
    assert doc["suggestion"]["decision"] == "step_up"
    assert {a["kind"] for a in doc["alerts"]} >= {"not_on_track", "alliance_low"}
    assert [m["instrument"] for m in doc["measures"]] == ["PHQ-9", "GAD-7", "SRS"]
    assert doc["measures"][0]["category"] == "unchanged"
    assert tp.from_dict(doc, tp.Findings).plan_id == "plan-mbc-0001"


def test_review_of_an_open_plan_defaults_to_now(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        assert main(["review", str(path)]) == 0
        assert "Suggested decision:" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["next week", "2026-02-30", "2026-02-09T12:00:00"])
def test_review_rejects_bad_dates(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["review", str(WALKTHROUGH), "--as-of", value])
    assert caught.value.code == 2
    assert "--as-of" in capsys.readouterr().err


def test_review_before_the_referral_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(WALKTHROUGH), "--as-of", "2020-01-01"]) == 2
    assert capsys.readouterr().err.startswith(
        "treatplan review: error: argument --as-of: expected "
    )


def test_review_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err == (
        "PLAN: expected an accessible file (No such file or directory)\n"
    )


def test_instruments_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    for instrument in tp.instruments.builtin_instruments():
        assert f"{instrument.code}: {instrument.name}" in out
    assert "LOINC 44261-6" in out
    assert "higher is better" in out


def test_instruments_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in doc] == [i.code for i in tp.instruments.builtin_instruments()]
    assert tp.from_dict(doc[0], tp.Instrument) == tp.instruments.builtin_instruments()[0]


def test_band_labels_follow_the_band_edges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    # WSAS (Mundt et al. 2002): 20 is in the lower band; the upper band starts above 20.
    assert "10-20 significant impairment, >20-40 moderately severe impairment" in out
    for instrument in tp.instruments.builtin_instruments():
        for band in instrument.bands:
            low, high = band_range(band).lstrip(">").split("-")
            assert (float(low), float(high)) == (band.low, band.high)
            assert band_range(band).startswith(">") == band.low_open
            assert band.contains(band.high)
            assert band.contains(band.low) != band.low_open


def test_review_report_of_a_bare_referral_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = tp.loads(WALKTHROUGH.read_text(encoding="utf-8")).history[0].at
    path = tmp_path / "referral.json"
    path.write_text(tp.dumps(tp.TreatmentPlan.refer("plan-r", "client-r", at=at, by="gp")))
    assert main(["review", str(path), "--as-of", at.date().isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Ending rules: the plan states no discharge criteria" in out
    assert "Measures: none scored" in out
    assert "Alerts: none" in out
    for absent in ("Alert log", "Objectives:", "NHS Talking Therapies"):
        assert absent not in out


def test_an_instrument_without_a_source_is_listed_without_one() -> None:
    import attrs

    from treatplan._cli_review import _instrument_line

    cited = _instrument_line(tp.instruments.PHQ9)
    assert "source: " in cited
    uncited = _instrument_line(attrs.evolve(tp.instruments.PHQ9, source=None))
    assert "source" not in uncited
    assert uncited.startswith("PHQ-9")
