"""`treatplan simulate`: defaults, scenario files, comparisons, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from treatplan._cli import main


def test_plain_run_writes_tables_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--clients", "120", "--out", str(tmp_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "recovery" in out
    assert "drop-out" in out
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "clients.csv",
        "sessions.jsonl",
        "events.csv",
        "summary.json",
        "scenario.json",
    } <= names


def test_workers_give_the_same_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["simulate", "--clients", "150", "--seed", "3", "--out", str(a), "-q"]) == 0
    assert (
        main(
            [
                "simulate",
                "--clients",
                "150",
                "--seed",
                "3",
                "--workers",
                "2",
                "--out",
                str(b),
                "-q",
            ]
        )
        == 0
    )
    for name in ("clients.csv", "sessions.csv", "events.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_scenarios_side_by_side_with_replicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--print-scenario"]) == 0
    base = json.loads(capsys.readouterr().out)
    short = {
        **base,
        "name": "short",
        "policy": {"ending_rules": {"kind": "session_limit", "max_sessions": 4}},
    }
    files = []
    for doc in (base, short):
        path = tmp_path / f"{doc['name']}.json"
        path.write_text(json.dumps(doc))
        files += ["--scenario", str(path)]
    out_dir = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                *files,
                "--clients",
                "60",
                "--replicates",
                "2",
                "--out",
                str(out_dir),
                "-q",
            ]
        )
        == 0
    )
    header = capsys.readouterr().out.splitlines()[0]
    assert "default" in header
    assert "short" in header
    assert (out_dir / "short" / "replicate-1" / "clients.csv").exists()
    assert json.loads((out_dir / "short" / "summary.json").read_text())["replicates"] == 2


def test_a_bad_scenario_file_reports_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"capacity": {"therapists": 0}}')
    assert main(["simulate", "--scenario", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "$.capacity.therapists" in capsys.readouterr().err


def test_clients_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--clients", "0"])
    assert "positive integer" in capsys.readouterr().err


def test_progress_bar_appears_only_after_its_delay(capsys: pytest.CaptureFixture[str]) -> None:
    from treatplan._cli_simulate import _ProgressBar

    quiet_start = _ProgressBar("sim", quiet=False, delay=3600)
    quiet_start(10, 100)
    quiet_start.finish()
    assert capsys.readouterr().err == ""
    bar = _ProgressBar("sim", quiet=False, delay=0)
    bar(100, 100)
    bar.finish()
    err = capsys.readouterr().err
    assert "100/100 clients" in err
    assert err.endswith("\n")


def _show_progress_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from treatplan._cli_simulate import _ProgressBar

    monkeypatch.setattr(_ProgressBar.__init__, "__defaults__", (0.0,))


def test_tables_written_starts_its_own_line_after_the_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _show_progress_at_once(monkeypatch)
    assert main(["simulate", "--clients", "40", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "40/40 clients" in captured.err
    bar, message = captured.err.rsplit("\n", 2)[:2]
    assert bar.startswith("\rsimulating default [")
    assert message == f"tables written to {tmp_path}/"
    assert captured.err.endswith(f"\ntables written to {tmp_path}/\n")
    assert "tables written" not in captured.out


def test_a_failing_run_ends_the_progress_line_before_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan.sim

    def half_then_disk_full(*args: object, progress: object, **kwargs: object) -> None:
        assert callable(progress)
        progress(20, 40)
        raise OSError(28, "No space left on device")

    _show_progress_at_once(monkeypatch)
    monkeypatch.setattr(treatplan.sim, "simulate_replicates", half_then_disk_full)
    assert main(["simulate", "--clients", "40", "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "20/40 clients" in err
    bar, rest = err.split("\n", 1)
    assert bar.startswith("\rsimulating default [")
    assert "space" in rest
    assert "clients/s" not in rest
