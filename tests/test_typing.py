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


def test_the_keyword_typeddicts_name_what_refer_and_revise_take() -> None:
    # The TypedDicts are what a type checker holds refer and revise to: they must not
    # drift from the plan's fields. Left out on purpose: records only the lifecycle
    # operations add (sessions, reviews) and the schema version, which are no content.
    import attrs

    import treatplan as tp
    from treatplan import _model

    fields = {a.name for a in attrs.fields(tp.TreatmentPlan) if a.init}
    referral = tp.ReferralParts.__optional_keys__
    revision = tp.RevisionParts.__optional_keys__
    assert not tp.ReferralParts.__required_keys__
    assert not tp.RevisionParts.__required_keys__
    assert referral <= _model._REFER_PARTS
    assert _model._REFER_PARTS - referral == {"sessions", "reviews", "schema_version"}
    explicit = {"presenting_problems", "goals", "interventions"}  # revise's own parameters
    records = {"plan_id", "client_ref", "history", "assessments", "sessions", "reviews"}
    assert revision | explicit == fields - records - {"schema_version"}
    assert revision < referral
