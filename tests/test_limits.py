"""Documented limits on documents: size, record count and nesting (issue 13, point 6)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import treatplan as tp

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "adult-depression-cbt.json").read_text("utf-8"))


def with_sessions(count: int) -> dict[str, Any]:
    """The example with ``count`` copies of its first session (distinct ids and no scores)."""
    doc = copy.deepcopy(EXAMPLE)
    first = doc["sessions"][0]
    doc["sessions"] = [
        {**first, "id": f"s{n}", "assessments": [], "interventions": []} for n in range(count)
    ]
    return doc


def test_the_limits_are_public_and_documented() -> None:
    assert tp.document.MAX_DOCUMENT_SIZE == 8_000_000
    assert tp.document.MAX_RECORDS == 50_000
    anatomy = (ROOT / "docs" / "concepts" / "plan-anatomy.md").read_text("utf-8")
    for figure in ("8,000,000", "50,000", "1900-01-01T00:00:00Z", "2200-01-01T00:00:00Z"):
        assert figure in anatomy


@pytest.mark.parametrize("kind", [str, bytes])
def test_a_document_over_the_size_limit_is_refused_before_parsing(kind: type) -> None:
    # Not JSON at all: the size is refused before the parser would say so.
    text = "[" * (tp.document.MAX_DOCUMENT_SIZE + 1)
    with pytest.raises(tp.LimitError) as info:
        tp.loads(text if kind is str else text.encode())
    assert isinstance(info.value, tp.ValidationError)
    assert info.value.problems[0].path == "$"
    assert "at most 8,000,000 bytes" in info.value.problems[0].expected


def test_a_document_at_the_size_limit_is_read() -> None:
    text = tp.dumps(tp.loads(json.dumps(EXAMPLE)), indent=None)
    padded = text + " " * (tp.document.MAX_DOCUMENT_SIZE - len(text))
    assert len(padded) == tp.document.MAX_DOCUMENT_SIZE
    assert tp.loads(padded) == tp.loads(text)


def test_a_plan_over_the_record_limit_is_refused_before_it_is_built() -> None:
    doc = with_sessions(1)
    doc["sessions"] = doc["sessions"] * (tp.document.MAX_RECORDS + 1)  # same id: never looked at
    with pytest.raises(tp.LimitError) as info:
        tp.from_dict(doc)
    assert [str(p) for p in info.value.problems] == [
        "$: a plan of at most 50,000 records (history, sessions, assessments and reviews together)"
    ]


def test_assessments_inside_sessions_count_as_records() -> None:
    doc = with_sessions(1)
    session = doc["sessions"][0]
    session["assessments"] = [{}] * tp.document.MAX_RECORDS
    with pytest.raises(tp.LimitError):
        tp.from_dict(doc)


def test_a_plan_under_the_record_limit_loads() -> None:
    doc = with_sessions(200)
    records = len(doc["history"]) + len(doc["assessments"]) + len(doc["reviews"])
    doc["sessions"] = doc["sessions"][: 200 - records]
    assert len(tp.from_dict(doc).sessions) == 200 - records


def test_deep_nesting_is_refused_without_recursion() -> None:
    doc: Any = copy.deepcopy(EXAMPLE)
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    doc["goals"] = deep
    with pytest.raises(tp.ValidationError, match="nested no deeper than 64"):
        tp.from_dict(doc)
    shallow: Any = 1
    for _ in range(60):
        shallow = {"x": shallow}
    doc["goals"] = [shallow]
    with pytest.raises(tp.ValidationError) as info:
        tp.from_dict(doc)
    assert "nested no deeper" not in str(info.value)
