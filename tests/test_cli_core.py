"""The core command line: validate, show, lifecycle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import treatplan as tp
from treatplan._cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_lifecycle_mermaid_matches_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lifecycle", "--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out == tp.mermaid()
    assert out.startswith("stateDiagram-v2")
    for spec in tp.TRANSITIONS.values():
        for source in spec.sources:
            assert f"{source.value} --> {spec.target.value}" in out


def test_lifecycle_table_lists_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lifecycle"]) == 0
    out = capsys.readouterr().out
    for event in tp.TRANSITIONS:
        assert event in out


def test_python_dash_m_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "treatplan", "lifecycle", "--mermaid"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "stateDiagram-v2" in done.stdout


def test_validate_reports_paths_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = sorted(EXAMPLES.glob("*.json"))
    assert good, "examples/ must hold example plans"
    assert main(["validate", *map(str, good)]) == 0
    doc = json.loads(good[0].read_text())
    doc["goals"][0]["objectives"][0]["target_date"] = "next spring"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["validate", str(good[0]), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "$.goals[0].objectives[0].target_date" in err
    assert "next spring" not in err


def test_validate_unreadable_and_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["validate", str(broken), str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert "well-formed JSON" in err
    assert "cannot read" in err


def test_show_summarises_a_plan(capsys: pytest.CaptureFixture[str]) -> None:
    path = sorted(EXAMPLES.glob("*.json"))[0]
    plan = tp.loads(path.read_text())
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert plan.plan_id in out
    assert plan.phase.value in out
    assert "History:" in out


def test_a_closed_pipe_ends_quietly() -> None:
    # `treatplan instruments | head -1` where head has already gone: the first write meets a
    # pipe with no reader. The command ends with no error and no traceback.
    with subprocess.Popen(
        [sys.executable, "-m", "treatplan", "instruments"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert err == b""


@pytest.mark.parametrize("command", ["validate", "show", "review", "fhir"])
def test_bytes_that_are_not_utf8_are_a_clean_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"note": "caf\u00e9"}'.encode("latin-1"))
    assert main([command, str(path)]) == 1
    err = capsys.readouterr().err
    assert "UTF-8" in err or "cannot read" in err
    assert "Traceback" not in err


def test_a_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = sorted(EXAMPLES.glob("*.json"))[0]
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())  # as Windows editors save it
    assert main(["validate", str(path)]) == 0
