"""Run folders from the Python API: refusal, overwrite, partial runs, manifests."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from treatplan import TreatplanError
from treatplan.sim import (
    DEFAULT_SCENARIO,
    OutputExistsError,
    check_manifest,
    simulate,
    simulate_replicates,
)
from treatplan.sim._manifest import RunFolder, scenario_sha256
from treatplan.sim._tables import TableWriter, write_json


def test_simulate_commits_a_verified_folder(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "run"
    result = simulate(DEFAULT_SCENARIO, 30, seed=2, out_dir=out, command=["my-script", "--x"])
    assert result.out_dir == out
    assert result.files[-1] == out / "manifest.json"
    assert all(p.parent == out and p.is_file() for p in result.files)
    manifest = check_manifest(out)
    assert manifest["command"] == ["my-script", "--x"]
    assert manifest["scenarios"][0]["sha256"] == scenario_sha256(DEFAULT_SCENARIO)
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["run"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["command"] == ["my-script", "--x"]


def test_the_default_command_is_the_interpreter_command_line(tmp_path: Path) -> None:
    import sys

    simulate(DEFAULT_SCENARIO, 5, out_dir=tmp_path / "run")
    assert check_manifest(tmp_path / "run")["command"] == sys.orig_argv


def test_the_scenario_hash_is_canonical() -> None:
    import attrs

    assert scenario_sha256(DEFAULT_SCENARIO) == scenario_sha256(attrs.evolve(DEFAULT_SCENARIO))
    other = attrs.evolve(DEFAULT_SCENARIO, horizon_weeks=50)
    assert scenario_sha256(other) != scenario_sha256(DEFAULT_SCENARIO)


def test_a_used_folder_is_refused_and_overwrite_replaces_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    simulate_replicates(DEFAULT_SCENARIO, 20, seed=1, replicates=2, out_dir=out)
    with pytest.raises(
        OutputExistsError, match="out_dir: expected an empty folder, or overwrite=True"
    ):
        simulate(DEFAULT_SCENARIO, 20, out_dir=out)
    assert isinstance(OutputExistsError("x"), TreatplanError)
    simulate(DEFAULT_SCENARIO, 20, seed=3, out_dir=out, overwrite=True)
    assert check_manifest(out)["seed"] == 3
    assert not (out / "replicate-0").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    simulate(DEFAULT_SCENARIO, 5, out_dir=tmp_path)
    assert check_manifest(tmp_path)["clients"] == 5


def test_overwrite_replaces_only_a_folder_holding_nothing_but_a_run(tmp_path: Path) -> None:
    # The manifest lists every file a run wrote: anything else in the folder (a file
    # of the user's, a folder that was never a run) keeps it from being replaced.
    old = tmp_path / "run"
    simulate_replicates(DEFAULT_SCENARIO, 5, seed=1, replicates=2, out_dir=old)
    (old / "replicate-0" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="expected a folder holding only a treatplan run"):
        simulate(DEFAULT_SCENARIO, 5, out_dir=old, overwrite=True)
    assert (old / "replicate-0" / "notes.txt").read_text() == "mine"
    (old / "replicate-0" / "notes.txt").unlink()
    simulate(DEFAULT_SCENARIO, 5, out_dir=old, overwrite=True)
    assert not (old / "replicate-0").exists()
    # Looks like a run, is not one: tables without a manifest, or a broken manifest.
    for name, manifest in (("tables", None), ("broken", "{"), ("odd", '{"files": 1}')):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "clients.csv").write_text("id,name\n")
        if manifest is not None:
            (folder / "manifest.json").write_text(manifest)
        with pytest.raises(OutputExistsError, match="expected a folder holding only"):
            simulate(DEFAULT_SCENARIO, 5, out_dir=folder, overwrite=True)
        assert (folder / "clients.csv").read_text() == "id,name\n"


def test_a_failed_run_leaves_nothing_and_keep_partial_keeps_it(tmp_path: Path) -> None:
    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        simulate(DEFAULT_SCENARIO, 30, out_dir=tmp_path / "run", chunk_size=10, progress=fail)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="stop"):
        simulate(
            DEFAULT_SCENARIO,
            30,
            out_dir=tmp_path / "run",
            chunk_size=10,
            progress=fail,
            keep_partial=True,
        )
    kept = tmp_path / "run.partial"
    assert [p.name for p in tmp_path.iterdir()] == ["run.partial"]
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert manifest["stopped_by"] == "RuntimeError"


def test_pending_chunks_are_cancelled_when_a_run_fails(tmp_path: Path) -> None:
    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop")

    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(RuntimeError):
        simulate(DEFAULT_SCENARIO, 200, executor=pool, chunk_size=10, progress=fail)


def test_a_folder_left_without_commit(tmp_path: Path) -> None:
    with RunFolder(tmp_path / "run", {"seed": 1}, keep_partial=True) as folder:
        (folder.path / "clients.csv").write_text("client\n")
    assert folder.partial == tmp_path / "run.partial"
    manifest = json.loads((tmp_path / "run.partial" / "manifest.json").read_text())
    assert manifest["stopped_by"] == "not committed"
    assert manifest["files"][0]["path"] == "clients.csv"


def test_the_target_is_checked_again_at_commit(tmp_path: Path) -> None:
    out = tmp_path / "run"
    folder = RunFolder(out, {})
    out.mkdir()
    (out / "theirs.txt").write_text("x")
    with pytest.raises(OutputExistsError), folder:
        folder.commit()
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_check_manifest_finds_extra_and_missing_files(tmp_path: Path) -> None:
    simulate(DEFAULT_SCENARIO, 5, out_dir=tmp_path)
    (tmp_path / "extra.txt").write_text("x")
    with pytest.raises(TreatplanError, match="files differ"):
        check_manifest(tmp_path)


def test_replicates_without_a_folder_and_formats(tmp_path: Path) -> None:
    combined, runs = simulate_replicates(DEFAULT_SCENARIO, 20, seed=1, replicates=2)
    assert combined.funnel["referred"] == 20
    assert all(run.files == () for run in runs)
    _, runs = simulate_replicates(
        DEFAULT_SCENARIO, 20, replicates=1, out_dir=tmp_path / "j", formats=["jsonl"]
    )
    assert {p.name for p in runs[0].files} >= {"clients.jsonl", "summary.json"}


def test_table_writer_and_json_helpers(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected"):
        TableWriter(tmp_path, ["parquet"])
    with TableWriter(tmp_path, ["csv"]) as writer:
        writer.write("clients", "csv", "")
    assert (tmp_path / "clients.csv").read_text().startswith("client,referred,")
    write_json(tmp_path / "x.json", {"a": [math.nan, 1.0]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": [None, 1.0]}


def test_a_missing_library_names_its_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from treatplan.sim import to_dataframe

    real = importlib.import_module

    def no_pandas(name: str, *args: object) -> object:
        if name == "pandas":
            raise ImportError(name)
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", no_pandas)
    with pytest.raises(ImportError, match=r"pip install 'treatplan\[pandas\]'"):
        to_dataframe(tmp_path, "clients")


def test_the_current_folder_as_out_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = simulate(DEFAULT_SCENARIO, 5, out_dir=".")
    assert result.out_dir == work
    assert check_manifest(work)["clients"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


# ------------------------------------------------------------ interrupts while committing
def _a_run(out: Path, seed: int) -> RunFolder:
    folder = RunFolder(out, {"seed": seed}, overwrite=True)
    (folder.path / "clients.csv").write_text(f"seed {seed}\n")
    return folder


def _only_the_run(parent: Path, seed: int) -> None:
    assert [p.name for p in parent.iterdir()] == ["run"]  # no hidden .old or .partial left
    assert check_manifest(parent / "run")["seed"] == seed


def _renames_signalling(monkeypatch: pytest.MonkeyPatch, *signums: int) -> None:
    """Every Path.rename first sends ``signums`` to this process (as a user would, at
    the worst moment of an overwrite)."""
    rename = Path.rename

    def signalling_rename(self: Path, target: Path) -> Path:
        for signum in signums:
            os.kill(os.getpid(), signum)
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", signalling_rename)


def test_ctrl_c_between_the_two_renames_waits_until_both_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    with _a_run(out, 1) as first:
        first.commit()
    _renames_signalling(monkeypatch, signal.SIGINT)  # held until both renames are done
    folder = _a_run(out, 2)
    # Another thread alive, as a run's executor may leave: a signal to the process can
    # reach it rather than the main thread, and must wait all the same.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with pytest.raises(KeyboardInterrupt), folder:
            folder.commit()
    finally:
        stop.set()
        other.join()
    assert folder.committed
    _only_the_run(tmp_path, 2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigterm_held_while_committing_reaches_its_own_handler_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    seen: list[tuple[int, bool]] = []
    folder = _a_run(out, 4)

    def stop(signum: int, frame: object) -> None:
        seen.append((signum, folder.committed))

    previous = signal.signal(signal.SIGTERM, stop)
    _renames_signalling(monkeypatch, signal.SIGTERM)
    try:
        with folder:
            folder.commit()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [(signal.SIGTERM, True)]  # once, after both renames
    _only_the_run(tmp_path, 4)


def test_ctrl_c_while_removing_the_earlier_run_leaves_the_new_run_and_no_remains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from treatplan.sim import _manifest

    out = tmp_path / "run"
    with _a_run(out, 1) as first:
        first.commit()
    calls = []
    rmtree = shutil.rmtree

    def interrupted_rmtree(path: Path, ignore_errors: bool = False) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt
        rmtree(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(_manifest.shutil, "rmtree", interrupted_rmtree)
    folder = _a_run(out, 2)
    with pytest.raises(KeyboardInterrupt), folder:
        folder.commit()
    assert len(calls) == 2  # tried again on leaving the block
    _only_the_run(tmp_path, 2)


def test_a_commit_outside_the_main_thread_needs_no_signal_mask(tmp_path: Path) -> None:
    out = tmp_path / "run"

    def commit() -> Path:
        with _a_run(out, 3) as folder:
            return folder.commit()

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(commit).result() == out
    _only_the_run(tmp_path, 3)


def test_ctrl_c_and_sigterm_both_held_are_both_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def note_and_interrupt(signum: int, frame: object) -> None:
        seen.append(signum)
        raise KeyboardInterrupt  # a handler that raises must not stop the next signal

    previous = {s: signal.signal(s, note_and_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    _renames_signalling(monkeypatch, signal.SIGINT, signal.SIGTERM)
    folder = _a_run(tmp_path / "run", 5)
    try:
        with pytest.raises(KeyboardInterrupt), folder:
            folder.commit()
    finally:
        restored = {s: signal.getsignal(s) for s in previous}
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert sorted(seen) == sorted([signal.SIGINT, signal.SIGTERM])
    assert restored == dict.fromkeys(previous, note_and_interrupt)  # none left holding
    _only_the_run(tmp_path, 5)


def test_a_failed_move_into_place_puts_the_earlier_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    with _a_run(out, 1) as first:
        first.commit()
    folder = _a_run(out, 2)
    rename = Path.rename

    def failing_rename(self: Path, target: Path) -> Path:
        if self == folder.path:
            raise PermissionError("no")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(PermissionError), folder:
        folder.commit()
    _only_the_run(tmp_path, 1)  # the earlier run, in place; no hidden folder left


def test_a_failed_move_into_an_empty_target_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _a_run(tmp_path / "run", 6)

    def failing_rename(self: Path, target: Path) -> Path:
        raise PermissionError("no")

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(PermissionError), folder:
        folder.commit()
    assert list(tmp_path.iterdir()) == []


def test_a_handler_set_outside_python_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # signal.getsignal answers None for a handler a C library installed: it cannot be
    # put back, so it is not swapped (SIGINT is still held).
    getsignal = signal.getsignal
    monkeypatch.setattr(
        signal, "getsignal", lambda s: None if s == signal.SIGTERM else getsignal(s)
    )
    swaps: list[int] = []
    real_signal = signal.signal
    monkeypatch.setattr(signal, "signal", lambda s, h: swaps.append(s) or real_signal(s, h))
    with _a_run(tmp_path / "run", 7) as folder:
        folder.commit()
    assert swaps == [signal.SIGINT, signal.SIGINT]  # swapped and put back; SIGTERM untouched
    _only_the_run(tmp_path, 7)
