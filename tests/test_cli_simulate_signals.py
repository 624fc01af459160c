"""Ctrl-C and SIGKILL to a real ``treatplan simulate`` process leave nothing that looks complete.

Each test starts ``python -m treatplan simulate`` on far more clients than it
can finish, waits (bounded) until the run's first rows are on disk, then sends
the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

_DEADLINE_S = 120.0


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treatplan",
            "simulate",
            "--clients",
            "400000",
            "--chunk-size",
            "20",
            "--out",
            str(tmp_path / "out"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, so a signal can go to the run and its workers, as Ctrl-C does.
        start_new_session=True,
        # Ctrl-C as a terminal delivers it, whatever this process inherited: a shell
        # starts a background job with SIGINT ignored, and a child inherits that.
        preexec_fn=_default_interrupts,
    )


def _default_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_rows(proc: subprocess.Popen[str], tmp_path: Path) -> Path:
    """The run's partial folder, once its clients table holds rows beyond the header."""
    deadline = time.monotonic() + _DEADLINE_S
    while time.monotonic() < deadline:
        for folder in tmp_path.glob(".out.partial-*"):
            table = folder / "clients.csv"
            if table.exists() and table.stat().st_size > 1000:
                return folder
        try:
            proc.wait(timeout=0.05)  # the poll interval, and a check that it still runs
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the run ended early: {proc.returncode} {proc.stderr.read()!r}")
    proc.kill()
    pytest.fail("no rows written in time")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=_DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, out, err


def _interrupted(err: str, tmp_path: Path) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted: no complete run written to the --out folder")
    assert str(tmp_path) not in err
    assert "Traceback" not in err


def test_ctrl_c_exits_130_with_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    partial = _wait_for_rows(proc, tmp_path)
    proc.send_signal(signal.SIGINT)
    code, out, err = _finish(proc)
    assert code == 130
    _interrupted(err, tmp_path)
    assert out == ""
    assert not (tmp_path / "out").exists()
    assert not partial.exists()
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_to_the_whole_group_with_workers(tmp_path: Path) -> None:
    # A terminal's Ctrl-C reaches every process in the foreground group: the workers
    # ignore it and the parent stops the run, so there is still one line and no traceback.
    proc = _start(tmp_path, "--workers", "2")
    _wait_for_rows(proc, tmp_path)
    os.killpg(proc.pid, signal.SIGINT)
    code, _, err = _finish(proc)
    assert code == 130
    _interrupted(err, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_keep_partial_keeps_the_folder_marked_partial(tmp_path: Path) -> None:
    proc = _start(tmp_path, "--keep-partial")
    _wait_for_rows(proc, tmp_path)
    proc.send_signal(signal.SIGINT)
    code, _, err = _finish(proc)
    assert code == 130
    _interrupted(err, tmp_path)
    kept = tmp_path / "out.partial"
    assert err.rstrip().endswith("the partial run is kept beside it, as DIR.partial")
    assert not (tmp_path / "out").exists()
    manifest = json.loads((kept / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    assert manifest["stopped_by"] == "KeyboardInterrupt"
    listed = {entry["path"]: entry["bytes"] for entry in manifest["files"]}
    assert listed["clients.csv"] == (kept / "clients.csv").stat().st_size > 1000
    assert "summary.json" not in listed


def test_sigkill_leaves_no_manifest_and_no_output_folder(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    partial = _wait_for_rows(proc, tmp_path)
    proc.kill()
    code, _, _ = _finish(proc)
    assert code == -signal.SIGKILL
    assert not (tmp_path / "out").exists()
    # What is left is the hidden partial folder, without a manifest: incomplete.
    assert [p.name for p in tmp_path.iterdir()] == [partial.name]
    assert (partial / "clients.csv").stat().st_size > 1000
    assert not (partial / "manifest.json").exists()
