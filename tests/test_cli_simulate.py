"""`treatplan simulate`: defaults, scenario files, comparisons, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    assert names == {
        "clients.csv",
        "sessions.csv",
        "events.csv",
        "summary.json",
        "scenario.json",
        "codebook.json",
        "manifest.json",
    }


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
    for name in ("clients.csv", "sessions.csv", "events.csv", "codebook.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    summaries = [json.loads((d / "summary.json").read_text()) for d in (a, b)]
    assert [s.pop("run")["command"].count("--workers") for s in summaries] == [1, 1]
    assert summaries[0] == summaries[1]


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
    assert main(["simulate", "--clients", "40", "--out", str(tmp_path), "--progress"]) == 0
    captured = capsys.readouterr()
    assert "40/40 clients" in captured.err
    bar, message = captured.err.rsplit("\n", 2)[:2]
    assert bar.startswith("\rsimulating default [")
    # The folder is named by its option, never by the path typed (it may hold a name).
    assert message == "tables written to the --out folder"
    assert captured.err.endswith("\ntables written to the --out folder\n")
    assert str(tmp_path) not in captured.err
    assert "tables written" not in captured.out


def test_a_failing_run_ends_the_progress_line_before_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan.sim._run

    def half_then_disk_full(*args: object, progress: object, **kwargs: object) -> None:
        assert callable(progress)
        progress(20, 40)
        raise OSError(28, "No space left on device")

    _show_progress_at_once(monkeypatch)
    monkeypatch.setattr(treatplan.sim._run, "replicates_into", half_then_disk_full)
    out = tmp_path / "out"
    assert main(["simulate", "--clients", "40", "--out", str(out), "--progress"]) == 2
    assert list(tmp_path.iterdir()) == []  # the partial run is removed
    err = capsys.readouterr().err
    assert "20/40 clients" in err
    bar, rest = err.split("\n", 1)
    assert bar.startswith("\rsimulating default [")
    assert "space" in rest
    assert "clients/s" not in rest


def _run(out: Path, *extra: str) -> int:
    return main(["simulate", "--clients", "30", "--out", str(out), *extra])


def test_progress_is_drawn_only_on_a_terminal_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _show_progress_at_once(monkeypatch)
    assert _run(tmp_path / "a") == 0
    assert "\r" not in capsys.readouterr().err  # stderr is not a terminal here
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert _run(tmp_path / "b") == 0
    assert "\rsimulating default [" in capsys.readouterr().err
    assert _run(tmp_path / "c", "-q") == 0
    assert "\r" not in capsys.readouterr().err


def test_a_used_out_is_refused_in_one_line_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert _run(tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    # The folder is named by its option, never by its path (which may hold a name).
    assert captured.err == (
        "error: --out: expected an empty folder, or --overwrite to replace the treatplan "
        "run in it\n"
    )
    assert str(tmp_path) not in captured.err
    assert "--overwrite" in captured.err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    # --overwrite replaces only what looks like a treatplan run.
    assert _run(tmp_path, "--overwrite") == 2
    assert capsys.readouterr().err == (
        "error: --out: expected a folder holding only a treatplan run (a manifest.json "
        "listing every file in it) for --overwrite; nothing was replaced\n"
    )
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_file_as_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").write_text("x")
    assert _run(tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err == "error: --out: expected a folder, not a file\n"


def test_overwrite_replaces_an_earlier_run_only_once_the_new_one_is_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan.sim._run
    from treatplan.sim import check_manifest

    out = tmp_path / "out"
    assert _run(out, "--replicates", "2") == 0
    first = check_manifest(out)
    assert (out / "replicate-1" / "clients.csv").exists()
    real = treatplan.sim._run.replicates_into
    seen_during_the_run: list[bool] = []

    def watching(*args: Any, **kwargs: Any) -> Any:
        seen_during_the_run.append((out / "replicate-1" / "clients.csv").exists())
        result = real(*args, **kwargs)
        seen_during_the_run.append(check_manifest(out) == first)
        return result

    monkeypatch.setattr(treatplan.sim._run, "replicates_into", watching)
    assert _run(out, "--overwrite", "--seed", "2") == 0
    assert seen_during_the_run == [True, True]
    second = check_manifest(out)
    assert second["seed"] == 2
    assert second["replicates"] == 1
    assert "--overwrite" in second["command"]
    assert not any(p.name.startswith("replicate-") for p in out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing hidden left behind
    assert "tables written to the --out folder" in capsys.readouterr().err


def test_a_failed_overwrite_keeps_the_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan.sim._run
    from treatplan.sim import check_manifest

    out = tmp_path / "out"
    assert _run(out) == 0
    before = check_manifest(out)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(treatplan.sim._run, "replicates_into", disk_full)
    assert _run(out, "--overwrite") == 2
    assert check_manifest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _interrupt_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    import treatplan.sim._run

    real = treatplan.sim._run.replicates_into

    def interrupted(out: Path, *args: Any, **kwargs: Any) -> Any:
        real(out, *args, **kwargs)  # the tables are written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(treatplan.sim._run, "replicates_into", interrupted)


def test_an_interrupted_run_prints_one_line_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_midway(monkeypatch)
    assert _run(tmp_path / "out") == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "interrupted: no complete run written to the --out folder\n"
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_after_the_run_is_in_place_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from treatplan.sim import check_manifest
    from treatplan.sim._manifest import RunFolder

    real = RunFolder.commit

    def committed_then_interrupted(self: RunFolder) -> Path:
        real(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "commit", committed_then_interrupted)
    assert _run(tmp_path / "out") == 130
    assert capsys.readouterr().err == "interrupted: the complete run is in the --out folder\n"
    assert check_manifest(tmp_path / "out")["complete"] is True


def test_ctrl_c_outside_a_command_is_one_line_and_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan._cli

    def interrupted() -> None:
        raise KeyboardInterrupt  # Ctrl-C while the command line is built

    monkeypatch.setattr(treatplan._cli, "build_parser", interrupted)
    assert main(["simulate", "--clients", "5"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_ctrl_c_while_python_m_treatplan_loads_is_one_line_and_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy
    import sys
    import types

    class Loading(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            raise KeyboardInterrupt  # Ctrl-C while treatplan._cli is imported

    monkeypatch.setitem(sys.modules, "treatplan._cli", Loading("treatplan._cli"))
    with pytest.raises(SystemExit) as stopped:
        runpy.run_module("treatplan", run_name="__main__")
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_keep_partial_marks_the_kept_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_midway(monkeypatch)
    (tmp_path / "out.partial").mkdir()  # taken: the hidden folder stays where it is
    assert _run(tmp_path / "out", "--keep-partial") == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    kept = next(tmp_path.glob(".out.partial-*"))
    assert err == (
        "interrupted: no complete run written to the --out folder; "
        "the partial run is kept beside it, in the hidden folder .DIR.partial-*\n"
    )
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["complete"] is False
    from treatplan import TreatplanError
    from treatplan.sim import check_manifest

    with pytest.raises(TreatplanError, match="partial run"):
        check_manifest(kept)


def test_the_manifest_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    import hashlib

    from treatplan import TreatplanError
    from treatplan.sim import DEFAULT_SCENARIO, check_manifest
    from treatplan.sim._manifest import scenario_sha256

    out = tmp_path / "out"
    assert _run(out, "--replicates", "2", "--format", "jsonl", "--seed", "4") == 0
    manifest = check_manifest(out)
    assert manifest["command"][:2] == ["treatplan", "simulate"]
    assert manifest["clients"] == 30
    assert manifest["seed"] == 4
    assert manifest["formats"] == ["jsonl"]
    assert manifest["scenarios"] == [
        {"name": "default", "sha256": scenario_sha256(DEFAULT_SCENARIO), "folder": "."}
    ]
    assert manifest["started"].endswith("Z")
    assert manifest["started"] <= manifest["finished"]
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert [e["path"] for e in manifest["files"]] == [n for n in on_disk if n != "manifest.json"]
    for entry in manifest["files"]:
        data = (out / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert (out / "replicate-0" / "clients.jsonl").exists()
    assert not (out / "replicate-0" / "clients.csv").exists()
    (out / "replicate-0" / "clients.jsonl").write_text("tampered\n")
    with pytest.raises(TreatplanError, match="differs"):
        check_manifest(out)
    (out / "manifest.json").unlink()
    with pytest.raises(TreatplanError, match="incomplete"):
        check_manifest(out)


def test_a_missing_extra_is_reported_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    import treatplan.sim._run

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pyarrow", "matplotlib") else real(name, *a),
    )
    monkeypatch.setattr(treatplan.sim._run, "replicates_into", None)  # must not be reached
    for extra, expected in (
        (["--format", "parquet"], "error: --format parquet needs pyarrow: pip install "),
        (["--parquet"], "error: --format parquet needs pyarrow"),
        (["--plots"], "error: --plots needs matplotlib: pip install 'treatplan[plots]'"),
    ):
        assert _run(tmp_path / "out", *extra) == 2
        captured = capsys.readouterr()
        assert expected in captured.err
        assert "Traceback" not in captured.err
        assert captured.out == ""
        assert list(tmp_path.iterdir()) == []


def test_plots_need_the_csv_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "out", "--plots", "--format", "jsonl") == 2
    assert "--plots needs the CSV tables" in capsys.readouterr().err


def test_parquet_alone_and_the_deprecated_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    assert _run(tmp_path / "a", "--format", "PARQUET") == 0
    names = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"clients.parquet", "sessions.parquet", "events.parquet"} <= names
    assert not any(n.endswith(".csv") for n in names)
    capsys.readouterr()
    assert _run(tmp_path / "b", "--parquet") == 0
    assert "--parquet is deprecated" in capsys.readouterr().err
    assert (tmp_path / "b" / "clients.csv").exists()
    assert (tmp_path / "b" / "clients.parquet").exists()


def test_the_printed_summary_names_its_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "one") == 0
    one = capsys.readouterr().out
    assert "funnel (clients)" in one
    assert "mean wait (weeks)" in one
    assert "days" not in one
    assert _run(tmp_path / "three", "--replicates", "3") == 0
    three = capsys.readouterr().out
    assert "funnel (mean per replicate)" in three
    assert "  referred" in three


def test_compared_scenarios_need_distinct_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.json"
    path.write_text("{}")
    args = ["--scenario", str(path), "--scenario", str(path)]
    assert _run(tmp_path / "out", *args) == 2
    assert "distinct names" in capsys.readouterr().err


def test_clients_must_be_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--clients", "many"])
    assert "positive integer" in capsys.readouterr().err


def test_workers_ignore_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from treatplan._cli import ignore_interrupts

    calls: list[tuple[object, object]] = []
    monkeypatch.setattr(signal, "signal", lambda *a: calls.append(a))
    ignore_interrupts()
    assert calls == [(signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_IGN)]


def test_a_folder_filled_meanwhile_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import treatplan.sim._run

    out = tmp_path / "out"
    real = treatplan.sim._run.replicates_into

    def someone_else_writes(*args: Any, **kwargs: Any) -> Any:
        out.mkdir()
        (out / "theirs.txt").write_text("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(treatplan.sim._run, "replicates_into", someone_else_writes)
    assert _run(out) == 2
    assert "--out: expected an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_plots_are_part_of_the_committed_run(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from treatplan.sim import check_manifest

    out = tmp_path / "out"
    assert _run(out, "--plots", "--replicates", "2") == 0
    listed = {entry["path"] for entry in check_manifest(out)["files"]}
    assert {"funnel.png", "cumulative_incidence.png", "trajectories.png"} <= listed
    assert "replicate-1/clients.csv" in listed


def test_more_clients_than_the_scenario_can_date_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert main(["simulate", "--clients", "500000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("treatplan simulate: error: argument --clients: expected at most ")
    assert "before 2200" in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["x/../../earlier", "x/y", "a" * 65])
def test_compared_scenarios_need_names_usable_as_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # Each compared run goes in --out/<name>/: a name with a separator could write a
    # run elsewhere (over another run's files).
    evil, plain = tmp_path / "evil.json", tmp_path / "plain.json"
    evil.write_text(json.dumps({"name": name}))
    plain.write_text(json.dumps({"name": "plain"}))
    args = ["--scenario", str(evil), "--scenario", str(plain)]
    assert _run(tmp_path / "work" / "out", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "treatplan simulate: error: argument --scenario: expected names usable as folders"
    )
    assert name not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.json", "plain.json"]


def test_the_treatplan_command_loads_through_the_interrupt_guard() -> None:
    # The installed script imports its entry point's module before calling it: the
    # guard must be in that function, not in treatplan._cli (imported by it).
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "treatplan"]
    assert script.value == "treatplan.__main__:run"


def test_the_entry_point_runs_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from treatplan.__main__ import run  # imported, not run as __main__

    fake = types.ModuleType("treatplan._cli")
    fake.main = lambda: 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "treatplan._cli", fake)
    assert run() == 7
