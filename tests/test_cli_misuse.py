"""The command line misused: one message format, flags named, no user text echoed.

Every message is ``FILE: $.path: expected ...`` for a file the user named, or
names the flag; none repeats text the user typed (other than a file name given
on the command line), and a stopped run leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from treatplan import sim
from treatplan._cli import (
    EXIT_TERMINATED,
    MAX_CLIENTS,
    MAX_REPLICATES,
    Terminated,
    interrupted_exit,
    main,
    sigterm_interrupts,
)

SECRET = "SECRET-NOTE"


def _quiet_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(sim.DEFAULT_SCENARIO.to_json(), encoding="utf-8")
    return path


# -- 15: SIGTERM stops a run as Ctrl-C does; --clients has a documented bound ----------


def test_the_cli_bounds_are_the_library_bounds() -> None:
    assert MAX_CLIENTS == sim.MAX_CLIENTS
    assert MAX_REPLICATES == sim.MAX_REPLICATES


@pytest.mark.parametrize("command", ["simulate", "sweep"])
@pytest.mark.parametrize("flag", ["--clients", "--replicates"])
@pytest.mark.parametrize("value", ["99999999999999999999999", "10000001000", "0", SECRET])
def test_counts_above_the_bound_are_a_usage_error_naming_the_flag(
    command: str, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(
            [command, flag, value, "--set", "horizon_weeks=1"][: 3 if command == "simulate" else 5]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err
    most = MAX_CLIENTS if flag == "--clients" else MAX_REPLICATES
    assert f"argument {flag}: expected a positive integer of at most {most:,}" in err
    assert len(value) == 1 or value not in err


def test_the_largest_count_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    from treatplan._cli import count

    assert count(MAX_CLIENTS)(str(MAX_CLIENTS)) == MAX_CLIENTS
    assert count(MAX_CLIENTS)(" 7 ") == 7


def test_sigterm_becomes_terminated_inside_the_block_and_is_restored_after() -> None:
    before = signal.getsignal(signal.SIGTERM)

    def send() -> None:
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                pass

    with pytest.raises(Terminated):
        send()
    assert signal.getsignal(signal.SIGTERM) == before
    assert isinstance(Terminated(), KeyboardInterrupt)
    assert interrupted_exit(Terminated()) == EXIT_TERMINATED == 143
    assert interrupted_exit(KeyboardInterrupt()) == 130


def test_outside_the_main_thread_sigterm_is_left_alone() -> None:
    seen: list[object] = []

    def run() -> None:
        with sigterm_interrupts():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before]


def _terminate_during(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """Make ``module.name`` send this process SIGTERM, as ``timeout`` would, then go on."""
    real = getattr(module, name)

    def terminated(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, terminated)


def test_sigterm_to_simulate_exits_143_with_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan.sim import _run

    _terminate_during(monkeypatch, _run, "run_chunk")
    out = tmp_path / "out"
    code = main(["simulate", "--clients", "600", "--chunk-size", "20", "--out", str(out)])
    assert code == 143
    err = capsys.readouterr().err
    assert err == "interrupted: no complete run written to the --out folder\n"
    assert list(tmp_path.iterdir()) == []


def test_sigterm_with_keep_partial_keeps_it_marked_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan.sim import _run

    _terminate_during(monkeypatch, _run, "run_chunk")
    out = tmp_path / "out"
    argv = ["simulate", "--clients", "600", "--chunk-size", "20", "--out", str(out)]
    assert main([*argv, "--keep-partial"]) == 143
    kept = tmp_path / "out.partial"
    assert capsys.readouterr().err == (
        "interrupted: no complete run written to the --out folder; "
        "the partial run is kept beside it, as DIR.partial\n"
    )
    manifest = json.loads((kept / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    assert manifest["stopped_by"] == "Terminated"
    assert not out.exists()


def test_sigterm_to_sweep_exits_143_and_keeps_completed_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from treatplan.sim import _sweep

    _terminate_during(monkeypatch, _sweep, "run_arm")
    argv = ["sweep", "--set", "horizon_weeks=20,21", "--clients", "5", "--replicates", "1"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 143
    err = capsys.readouterr().err
    assert err.startswith("interrupted: completed runs are kept in the --out folder (runs/)")
    assert str(tmp_path) not in err
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_to_a_real_simulate_process(tmp_path: Path) -> None:
    # `timeout` and schedulers signal the whole process group: the workers ignore it
    # and the parent stops the run.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treatplan",
            "simulate",
            "--clients",
            "400000",
            "--chunk-size",
            "20",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not any(
        (folder / "clients.csv").is_file() and (folder / "clients.csv").stat().st_size > 1000
        for folder in tmp_path.glob(".out.partial-*")
    ):
        try:
            proc.wait(timeout=0.05)  # the poll interval, and a check that it still runs
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:  # pragma: no cover - a stuck run
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.fail("no rows written in time")
            continue
        pytest.fail(f"the run ended early: {proc.returncode}")  # pragma: no cover
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # pragma: no cover - a stuck run
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 143, err
    assert err.splitlines() == ["interrupted: no complete run written to the --out folder"]
    assert out == ""
    assert list(tmp_path.iterdir()) == []


# -- 12: bad JSON reads the same everywhere: FILE: $: expected well-formed JSON (line, column)


@pytest.fixture
def bad_json(tmp_path: Path) -> Path:
    path = tmp_path / "bad.json"
    path.write_text('{"a": 1,\n  SECRET-NOTE}', encoding="utf-8")
    return path


def _bad_json_line(argument: str) -> str:
    return f"{argument}: $: expected well-formed JSON (line 2, column 3)\n"


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["validate", "{bad}"], "PLAN"),
        (["sweep", "{bad}"], "SPEC"),
        (["sweep", "--scenario", "{bad}", "--set", "horizon_weeks=1"], "--scenario"),
        (["simulate", "--scenario", "{bad}"], "--scenario"),
        (["fhir", "import-plan", "{bad}"], "SOURCE"),
    ],
)
def test_bad_json_has_one_format_in_every_command(
    argv: list[str], argument: str, bad_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(bad_json) if a == "{bad}" else a for a in argv])
    assert code == 1
    err = capsys.readouterr().err
    # The file is named by its argument, never by its path (which may hold a name).
    assert err == _bad_json_line(argument)
    assert SECRET not in err


def test_import_measures_names_the_file_that_is_bad(
    tmp_path: Path, bad_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = Path(__file__).parent.parent / "examples" / "adult-depression-cbt.json"
    assert main(["fhir", "import-measures", str(plan), str(bad_json)]) == 1
    assert capsys.readouterr().err == _bad_json_line("SOURCE")
    source = tmp_path / "source.json"
    source.write_text(json.dumps({"resourceType": "Bundle", "entry": SECRET}), encoding="utf-8")
    assert main(["fhir", "import-measures", str(plan), str(source)]) == 1
    err = capsys.readouterr().err
    assert err == "SOURCE: $.entry: expected a JSON array of entries\n"


def test_import_plan_names_the_file_that_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source.json"
    source.write_text(json.dumps([SECRET]), encoding="utf-8")
    assert main(["fhir", "import-plan", str(source)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("SOURCE: $")
    assert SECRET not in err


def test_an_invalid_scenario_names_its_file_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"horizon_weeks": SECRET}), encoding="utf-8")
    assert main(["simulate", "--scenario", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("--scenario: $.horizon_weeks: expected ")
    assert SECRET not in err


def test_a_missing_scenario_is_a_file_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.json"
    assert main(["simulate", "--scenario", str(path)]) == 2
    assert capsys.readouterr().err == (
        "--scenario: expected an accessible file (No such file or directory)\n"
    )


def test_a_count_that_is_no_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--clients", "1e3"])
    assert info.value.code == 2
    assert "argument --clients: expected a positive integer" in capsys.readouterr().err


# -- 2: a sweep's grid is capped and takes each path once ------------------------------


def _spec(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_sweep_file_with_too_many_arms_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = [{"path": "policy.review_every", "values": list(range(1, 11))}] * 12
    spec = _spec(tmp_path, {"grid": grid})
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == "SPEC: $.grid: expected at most 1,000 arms " + (
        "(the product of the value counts)\n"
    )
    arms = [{"horizon_weeks": 10}] * (sim.MAX_ARMS + 1)
    spec = _spec(tmp_path, {"arms": arms})
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == "SPEC: $.arms: expected at most 1,000 arms\n"
    assert not (tmp_path / "o").exists()


def test_a_path_given_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = [{"path": "horizon_weeks", "values": [10]}, {"path": "horizon_weeks", "values": [11]}]
    spec = _spec(tmp_path, {"grid": grid})
    assert main(["sweep", str(spec)]) == 1
    assert capsys.readouterr().err == (
        "SPEC: $.grid[1].path: expected a path not given earlier in the grid\n"
    )
    # On the command line it is a usage error (exit 2), naming the flag.
    argv = ["sweep", "--set", "horizon_weeks=10", "--set", "horizon_weeks=11"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "treatplan sweep: error: argument --set[1].path: expected a path not given "
        "earlier in the grid\n"
    )


# -- 13: --as-of out of range is a usage error naming the flag ----------------------------

PLAN = Path(__file__).parent.parent / "examples" / "adolescent-anxiety-family.json"


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("1990-01-01", "a time on or after the referral"),
        ("9999-12-31", "a date-time from 1900-01-01T00:00:00Z"),
    ],
)
def test_as_of_out_of_range_names_the_flag(
    as_of: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "--as-of", as_of, str(PLAN)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatplan review: error: argument --as-of: expected {expected}")
    assert "as_of:" not in err
    assert as_of not in err


def test_other_review_refusals_are_not_blamed_on_as_of(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import treatplan._cli_review as cli_review
    from treatplan import ArgumentError, ValidationError

    def refuse(error: Exception) -> None:
        def review(*args: object) -> None:
            raise error

        monkeypatch.setattr(cli_review, "review", review)

    refuse(ArgumentError("as_of", "a later time"))
    assert main(["review", str(PLAN)]) == 2
    assert "argument --as-of: expected a later time" in capsys.readouterr().err
    refuse(ArgumentError("policy", "a policy"))
    assert main(["review", str(PLAN)]) == 1
    assert capsys.readouterr().err == "error: policy: expected a policy\n"
    refuse(ValidationError.at("$.goals", "goals"))
    assert main(["review", str(PLAN)]) == 1
    assert capsys.readouterr().err == "error: $.goals: expected goals\n"


# -- 14: argparse never quotes what the user typed, and reports unknown options -----------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--bogus-" + SECRET], "treatplan: error: unrecognized arguments: expected only"),
        ([SECRET], "treatplan: error: argument COMMAND: expected one of 'validate', "),
        ([], "treatplan: error: the following arguments are required: COMMAND"),
        (
            ["review", "--bogus-" + SECRET, str(PLAN)],
            "treatplan review: error: unrecognized arguments: expected only",
        ),
        (["--x-" + SECRET, "validate", str(PLAN)], "treatplan validate: error: unrecognized"),
        (
            ["fhir", "--fhir-version", SECRET, str(PLAN)],
            "treatplan fhir: error: argument --fhir-version: expected one of 'R4', 'R5'",
        ),
        (["review", f"--json={SECRET}", str(PLAN)], "argument --json: expected no value"),
        (["simulate", "--seed", SECRET], "argument --seed: expected an integer"),
        (["sweep", "--format", SECRET, "--set", "a=1"], "argument --format: expected one of"),
        (["simulate", "--ov", "--out", "x", "--o"], "ambiguous option: expected an option"),
        (["fhir", "import-plan", str(PLAN), "--x-" + SECRET], "unrecognized arguments"),
    ],
)
def test_argparse_errors_name_the_argument_not_the_text(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ")
    assert expected in err
    assert SECRET not in err


def test_a_float_flag_is_reworded(capsys: pytest.CaptureFixture[str]) -> None:
    from treatplan._cli import CliParser

    parser = CliParser(prog="p")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--when", type=lambda text: int(text, 16))
    for argv, expected in (
        (["--rate", SECRET], "argument --rate: expected a number"),
        (["--when", SECRET], "argument --when: expected a valid value"),
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        err = capsys.readouterr().err
        assert expected in err
        assert SECRET not in err


@pytest.mark.parametrize("command", ["simulate", "sweep"])
@pytest.mark.parametrize("workers", ["0", "-2", "two", "257"])
def test_workers_must_be_a_positive_integer(
    command: str, workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "--workers", workers]
    if command == "sweep":
        argv += ["--set", "horizon_weeks=1"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--workers" in err
    assert "expected a positive integer" in err
