"""Golden files: documents of every released schema version load forever.

``tests/golden/v<N>/`` holds documents written by the release that introduced
schema version N. They are never edited (``SHA256SUMS`` pins their bytes): when
the layout changes, the version is bumped and a migration makes these load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import treatplan as tp

GOLDEN = Path(__file__).resolve().parent / "golden"
FILES = sorted(GOLDEN.glob("v*/*.json"))


def _version_of(path: Path) -> int:
    return int(path.parent.name.removeprefix("v"))


def test_every_released_version_has_golden_files() -> None:
    versions = {_version_of(p) for p in FILES}
    assert versions == set(range(1, tp.SCHEMA_VERSION + 1))


def test_golden_files_are_unchanged() -> None:
    pinned = {}
    for line in (GOLDEN / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        pinned[name] = digest
    actual = {
        str(p.relative_to(GOLDEN)): hashlib.sha256(p.read_bytes()).hexdigest() for p in FILES
    }
    assert actual == pinned, "golden files are never edited: add new ones instead"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_file_loads_and_round_trips(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["schema_version"] == _version_of(path)
    plan = tp.loads(text)
    assert plan.schema_version == tp.SCHEMA_VERSION
    assert tp.loads(tp.dumps(plan)) == plan
    # The file on disk is untouched by loading (migrations copy).
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if _version_of(p) == tp.SCHEMA_VERSION and "minimal-keys" not in p.name],
    ids=lambda p: p.name,
)
def test_current_version_golden_files_are_what_the_writer_writes(path: Path) -> None:
    # A full document of the current version is written back key for key: a change in
    # the writer's layout shows up here and calls for a schema version bump.
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert tp.to_dict(tp.from_dict(doc)) == doc


def test_a_document_with_only_the_required_keys_loads_with_defaults() -> None:
    plan = tp.loads((GOLDEN / "v1" / "minimal-keys.json").read_text(encoding="utf-8"))
    assert plan.phase is tp.Phase.REFERRED
    assert plan.goals == ()
    assert plan.discharge_criteria is None
    assert plan.history[0].reason is None
