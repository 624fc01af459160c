"""The public signatures help a type checker: misuses fail, return types are precise."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "typing"


@pytest.mark.skipif(shutil.which("mypy") is None and sys.executable is None, reason="no mypy")
def test_mypy_rejects_every_misuse_and_sees_precise_return_types(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--warn-unused-ignores",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(HERE / "misuse.py"),
            str(HERE / "returns.py"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Unused "type: ignore" comments (a misuse that type-checks) and failed
    # assert_type checks are both errors.
    assert result.returncode == 0, result.stdout + result.stderr
