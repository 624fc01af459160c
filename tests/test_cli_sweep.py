"""`treatplan sweep`: grids from --set or a file, resume, errors without echoes."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from sweep_scenarios import SMALL
from treatplan._cli import main


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(SMALL.to_json(), encoding="utf-8")
    return path


def _run(*argv: str) -> int:
    return main(["sweep", *argv])


def test_set_runs_a_grid_and_resumes(
    tmp_path: Path, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = (
        "--scenario",
        str(scenario),
        "--set",
        "service.step3.therapists=1,2",
        "--set",
        "service.order=fcfs",
        "--clients",
        "20",
        "--replicates",
        "1",
        "--out",
        str(out),
    )
    assert _run(*argv) == 0
    printed = capsys.readouterr().out
    assert "2 arms x 1 replicates: 2 runs" in printed
    assert "0 resumed" in printed
    assert printed.endswith("\nwritten to the --out folder: sweep.csv\n")
    assert str(tmp_path) not in printed
    with (out / "sweep.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["service.step3.therapists"], r["service.order"]) for r in rows} == {
        ("1", "fcfs"),
        ("2", "fcfs"),
    }
    assert _run(*argv) == 0
    assert "0 runs" in capsys.readouterr().out


def test_a_sweep_file_with_a_grid_or_arms(tmp_path: Path, scenario: Path) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps({"grid": [{"path": "horizon_weeks", "values": [20, 30]}]}))
    argv = ["--scenario", str(scenario), "--clients", "10", "--replicates", "1"]
    assert _run(str(spec), *argv, "--out", str(tmp_path / "a")) == 0
    spec.write_text(json.dumps({"arms": [{"horizon_weeks": 20}, {"service.order": "priority"}]}))
    assert _run(str(spec), *argv, "--out", str(tmp_path / "b")) == 0
    assert (tmp_path / "b" / "runs" / "arm-1" / "replicate-0" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"grid": [{"path": "private.key", "values": [1]}]}, "$.grid[0].path"),
        (
            {"grid": [{"path": "horizon_weeks", "values": ["private-value"]}]},
            "$.grid[0].values[0]",
        ),
        ({"arms": [{"horizon_weeks": 10}, {"private.key": 1}]}, "$.arms[1][0]"),
        ({"arms": [{"service.order": "private-value"}]}, "$.arms[0][0]"),
        ({"private-key": 1}, "$"),
        ({"grid": [], "arms": []}, "$"),
        ({"grid": []}, "$.grid"),
        ({"grid": ["private"]}, "$.grid[0]"),
        ({"grid": [{"path": 3, "values": [1]}]}, "$.grid[0].path"),
        ({"grid": [{"path": "horizon_weeks", "values": 1}]}, "$.grid[0].values"),
        ({"arms": {}}, "$.arms"),
        ({"arms": ["private"]}, "$.arms[0]"),
    ],
)
def test_bad_sweep_files_name_the_json_path_and_echo_nothing(
    tmp_path: Path,
    scenario: Path,
    capsys: pytest.CaptureFixture[str],
    document: Any,
    where: str,
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(document))
    code = _run(str(spec), "--scenario", str(scenario), "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"SPEC: {where}: expected ")
    assert "private" not in err
    assert not (tmp_path / "o").exists()


def test_bad_set_and_bad_json(
    tmp_path: Path, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A malformed --set is a wrong command line: a usage error, exit 2.
    assert _run("--set", "private", "--scenario", str(scenario)) == 2
    assert "sweep: error: argument --set[0]: expected PATH=VALUE" in capsys.readouterr().err
    assert _run("--set", "service.step3.therapists=1,private", "--scenario", str(scenario)) == 2
    err = capsys.readouterr().err
    assert "--set[0].values[1]: expected" in err
    assert "private" not in err
    spec = tmp_path / "broken.json"
    spec.write_text("{private")
    assert _run(str(spec)) == 1
    err = capsys.readouterr().err
    assert err == "SPEC: $: expected well-formed JSON (line 1, column 2)\n"


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run() == 2
    assert "SPEC" in capsys.readouterr().err
    spec = tmp_path / "s.json"
    spec.write_text("{}")
    assert _run(str(spec), "--set", "horizon_weeks=1") == 2
    assert "not both" in capsys.readouterr().err
    assert _run(str(tmp_path / "missing.json")) == 2
    assert "expected an accessible file" in capsys.readouterr().err
    assert _run("--set", "horizon_weeks=1", "--scenario", str(tmp_path / "missing.json")) == 2


def test_a_missing_extra_is_reported_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    for flags in (["--format", "PARQUET"], ["--plots"], ["--dask", "tcp://127.0.0.1:1"]):
        assert _run("--set", "horizon_weeks=1", "--out", str(tmp_path / "o"), *flags) == 2
        assert "pip install 'treatplan[" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_workers_give_the_same_table(tmp_path: Path, scenario: Path) -> None:
    argv = ["--scenario", str(scenario), "--set", "service.step3.therapists=1,2"]
    argv += ["--clients", "12", "--replicates", "1"]
    assert _run(*argv, "--out", str(tmp_path / "a")) == 0
    assert _run(*argv, "--workers", "2", "--out", str(tmp_path / "b")) == 0
    assert (tmp_path / "a" / "sweep.csv").read_bytes() == (
        tmp_path / "b" / "sweep.csv"
    ).read_bytes()


def test_a_dask_cluster(tmp_path: Path, scenario: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        argv = ["--scenario", str(scenario), "--set", "horizon_weeks=20", "--clients", "8"]
        argv += ["--replicates", "1", "--dask", cluster.scheduler_address]
        assert _run(*argv, "--out", str(tmp_path / "d")) == 0
    assert (tmp_path / "d" / "sweep.csv").is_file()


@pytest.mark.parametrize("count", ["0", "many"])
def test_counts_must_be_positive_integers(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _run("--set", "horizon_weeks=1", "--clients", count)
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_ctrl_c_keeps_completed_runs_and_exits_130(
    tmp_path: Path,
    scenario: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from treatplan.sim import _sweep

    real, calls = _sweep.run_arm, []

    def interrupted(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(_sweep, "run_arm", interrupted)
    argv = ["--scenario", str(scenario), "--set", "service.step3.therapists=1,2"]
    argv += ["--clients", "8", "--replicates", "1", "--out", str(tmp_path / "o")]
    assert _run(*argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: completed runs are kept in the --out folder (runs/)")
    assert str(tmp_path) not in err
    assert "Traceback" not in err
    monkeypatch.setattr(_sweep, "run_arm", real)
    assert _run(*argv) == 0
    assert "1 resumed" in capsys.readouterr().out
    argv[-3] = "9"  # another sweep into the same folder
    assert _run(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: expected an empty folder or one holding this sweep")
    assert "it holds a different sweep" in err
    assert str(tmp_path) not in err


def test_a_bad_dask_address_is_one_line_naming_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    argv = ["--set", "horizon_weeks=10", "--clients", "3", "--replicates", "1"]
    expected = (
        "treatplan sweep: error: argument --dask: expected the address of a running "
        "Dask scheduler (tcp://HOST:PORT)\n"
    )
    # A malformed address: distributed's ValueError quotes it.
    assert _run(*argv, "--dask", "JohnSmith", "--out", str(tmp_path / "a")) == 2
    assert capsys.readouterr().err == expected

    def unreachable(address: str) -> Any:
        raise OSError(f"Timed out trying to connect to {address}")

    monkeypatch.setattr(distributed, "Client", unreachable)
    assert _run(*argv, "--dask", "tcp://JohnSmith:1", "--out", str(tmp_path / "b")) == 2
    assert capsys.readouterr().err == expected
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()
