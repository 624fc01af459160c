"""The core command line: validate, show, lifecycle."""

from __future__ import annotations

import errno
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import treatplan as tp
from treatplan._cli import case_insensitive, file_error, main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_lifecycle_mermaid_matches_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lifecycle", "--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out == tp.lifecycle.mermaid()
    assert out.startswith("stateDiagram-v2")
    for spec in tp.lifecycle.TRANSITIONS.values():
        for source in spec.sources:
            assert f"{source.value} --> {spec.target.value}" in out


def test_lifecycle_table_lists_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lifecycle"]) == 0
    out = capsys.readouterr().out
    for event in tp.lifecycle.TRANSITIONS:
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
    missing = tmp_path / "missing.json"
    # The worst outcome decides: a file that cannot be read (2) over an invalid one (1).
    assert main(["validate", str(broken), str(missing)]) == 2
    err = capsys.readouterr().err.splitlines()
    # Files are named by their argument (the second PLAN is PLAN[1]), never by path.
    assert err == [
        "PLAN[0]: $: expected well-formed JSON (line 1, column 2)",
        "PLAN[1]: expected an accessible file (No such file or directory)",
    ]
    assert main(["validate", str(broken)]) == 1


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
    assert f"{path}: $: expected UTF-8 text" in err or "$: expected UTF-8 text" in err
    assert "Traceback" not in err


def test_a_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = sorted(EXAMPLES.glob("*.json"))[0]
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())  # as Windows editors save it
    assert main(["validate", str(path)]) == 0


# --------------------------------------------------------------------------- one way to fail
PLAN_COMMANDS = ["validate", "show", "review"]


@pytest.mark.parametrize("command", PLAN_COMMANDS)
def test_a_missing_file_is_exit_2_with_one_message_everywhere(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main([command, str(missing)]) == 2
    assert capsys.readouterr().err == (
        "PLAN: expected an accessible file (No such file or directory)\n"
    )


@pytest.mark.parametrize("command", PLAN_COMMANDS)
def test_malformed_json_is_exit_1_with_one_message_everywhere(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    assert main([command, str(empty)]) == 1
    assert capsys.readouterr().err == "PLAN: $: expected well-formed JSON (line 2, column 1)\n"


@pytest.mark.parametrize("command", PLAN_COMMANDS)
def test_an_invalid_plan_names_paths_not_content(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(sorted(EXAMPLES.glob("*.json"))[0].read_text())
    doc["goals"][0]["objectives"][0]["target_date"] = "next spring"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main([command, str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("PLAN: $.goals[0].objectives[0].target_date: expected ")
    assert str(tmp_path) not in err
    assert "next spring" not in err


@pytest.mark.parametrize("command", PLAN_COMMANDS)
def test_stdin_is_named_stdin(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("[]"))
    assert main([command, "-"]) == 1
    assert capsys.readouterr().err.startswith("<stdin>: $: expected ")


@pytest.mark.parametrize("command", PLAN_COMMANDS)
def test_the_plan_positional_is_plan_everywhere(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert usage.rstrip().endswith(("PLAN", "PLAN [PLAN ...]"))


def test_a_library_error_that_is_not_a_validation_error_names_the_file() -> None:
    # A path no argument of the command line gave is "file", never its path.
    error = file_error("JohnSmith.json", tp.TreatplanError("not allowed"))
    assert error.lines == ("file: not allowed",)
    assert error.exit_code == 1


def test_an_os_error_without_a_file_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(plan: tp.TreatmentPlan) -> str:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("treatplan._cli_core.summary", fail)
    assert main(["show", str(sorted(EXAMPLES.glob("*.json"))[0])]) == 2
    assert capsys.readouterr().err == "error: expected an accessible file (Input/output error)\n"


def test_choices_ignore_case() -> None:
    convert = case_insensitive(["R4", "R5"])
    assert convert("r5") == "R5"
    assert convert("R4") == "R4"
    assert convert("r3") == "r3"  # left for argparse's choices check to refuse


def test_schema_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--schema-version", str(tp.SCHEMA_VERSION)]) == 0
    assert json.loads(capsys.readouterr().out)["$schema"].startswith("https://json-schema.org")
    for bad in (str(tp.SCHEMA_VERSION + 1), "0", "one"):
        with pytest.raises(SystemExit) as caught:
            main(["schema", "--schema-version", bad])
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert f"expected a schema version from 1 to {tp.SCHEMA_VERSION}" in err


def test_version_means_only_the_program_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"treatplan {tp.__version__}\n"
    with pytest.raises(SystemExit) as caught:
        main(["schema", "--version", "1"])
    assert caught.value.code == 2


def test_a_library_refusal_is_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(plan: tp.TreatmentPlan) -> str:
        raise tp.TreatplanError("not now")

    monkeypatch.setattr("treatplan._cli_core.summary", refuse)
    assert main(["show", str(sorted(EXAMPLES.glob("*.json"))[0])]) == 1
    assert capsys.readouterr().err == "error: not now\n"


def test_validate_quiet_and_stdin_bytes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = sorted(EXAMPLES.glob("*.json"))[0].read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source), encoding="utf-8"))
    assert main(["validate", "-q", "-"]) == 0
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source), encoding="utf-8"))
    assert main(["validate", "-"]) == 0
    assert capsys.readouterr().out == "<stdin>: valid\n"


def test_an_os_error_on_a_file_of_the_command_line_names_its_argument(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(sorted(EXAMPLES.glob("*.json"))[0])

    def fail(plan: tp.TreatmentPlan) -> str:
        raise OSError(errno.EIO, "Input/output error", path)

    monkeypatch.setattr("treatplan._cli_core.summary", fail)
    assert main(["show", path]) == 2
    assert capsys.readouterr().err == "PLAN: expected an accessible file (Input/output error)\n"


def test_several_files_of_one_argument_are_numbered_and_valid_ones_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(sorted(EXAMPLES.glob("*.json"))[0])
    missing = tmp_path / "JohnSmith.json"
    assert main(["validate", good, str(missing), "-q"]) == 2
    assert capsys.readouterr().err == (
        "PLAN[1]: expected an accessible file (No such file or directory)\n"
    )
    # What was asked for on stdout names the file as given.
    assert main(["validate", good]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"
