"""The examples run, and the JSON plans in examples/ are exactly what the scripts build."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import treatplan as tp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Example scripts that build a plan, and the JSON document each one writes.
BUILDERS = {
    "referral_to_closure.py": "adult-depression-cbt.json",
    "adolescent_anxiety_family.py": "adolescent-anxiety-family.json",
}


@pytest.mark.parametrize(("script", "document"), sorted(BUILDERS.items()))
def test_example_script_builds_the_committed_plan(script: str, document: str) -> None:
    namespace = runpy.run_path(str(EXAMPLES / script), run_name="example")
    plan = namespace["build_plan"]()
    committed = (EXAMPLES / document).read_text(encoding="utf-8")
    assert tp.dumps(plan) + "\n" == committed, f"regenerate: python examples/{script} --write"
    assert tp.loads(committed) == plan


def test_referral_to_closure_reaches_a_completed_closure() -> None:
    plan = tp.loads((EXAMPLES / "adult-depression-cbt.json").read_text())
    assert plan.phase is tp.Phase.CLOSED
    assert plan.outcome is tp.EpisodeOutcome.COMPLETED
    assert [t.event for t in plan.history] == [
        "refer",
        "waitlist",
        "begin_assessment",
        "agree_plan",
        "begin_ending",
        "complete",
    ]
    assert plan.reviews
    assert plan.sessions
    assert plan.all_assessments()


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_script_runs(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


@pytest.mark.parametrize("document", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_document_is_valid(document: str) -> None:
    plan = tp.loads((EXAMPLES / document).read_text(encoding="utf-8"))
    assert tp.loads(tp.dumps(plan)) == plan
