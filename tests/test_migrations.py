"""Schema evolution: the migration registry and its use by the loader.

Version 1 is the only released version, so the real registry is empty; the
mechanism is exercised with a synthetic version 2 (a renamed key) and 3.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _migrations
from treatplan._migrations import MIGRATIONS, Migration, migrate, migration, missing_steps

V1 = json.loads(
    (Path(__file__).resolve().parent / "golden" / "v1" / "adult-depression-cbt.json").read_text(
        encoding="utf-8"
    )
)


def synthetic_registry() -> dict[int, Migration]:
    """Version 2 renames ``client_ref`` to ``client``; version 3 renames it back."""
    registry: dict[int, Migration] = {}

    @migration(1, registry)
    def rename_client(doc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k != "client_ref"}
        out["client"] = doc["client_ref"]
        return out

    @migration(2, registry)
    def rename_back(doc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k != "client"}
        out["client_ref"] = doc["client"]
        return out

    return registry


def test_every_version_below_the_current_one_has_a_step() -> None:
    assert missing_steps() == []
    assert set(MIGRATIONS) == set(range(1, tp.SCHEMA_VERSION))


def test_a_current_document_is_returned_as_it_is() -> None:
    assert migrate(V1) is V1


def test_steps_apply_in_order_and_set_the_version() -> None:
    registry = synthetic_registry()
    v2 = migrate(V1, to_version=2, migrations=registry)
    assert v2["schema_version"] == 2
    assert next(iter(v2)) == "schema_version"
    assert "client_ref" not in v2
    assert v2["client"] == V1["client_ref"]
    v3 = migrate(V1, to_version=3, migrations=registry)
    assert v3 == {**V1, "schema_version": 3}
    assert migrate(v2, to_version=3, migrations=registry) == v3


def test_a_document_too_deep_to_copy_is_refused_not_raised() -> None:
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"x": deep}
    with pytest.raises(tp.ValidationError) as info:
        migrate({**V1, "notes": deep}, to_version=2, migrations=synthetic_registry())
    assert [p.path for p in info.value.problems] == ["$"]
    assert info.value.__context__ is None


def test_migrating_never_changes_the_input() -> None:
    before = copy.deepcopy(V1)
    registry = synthetic_registry()

    @migration(3, registry)
    def vandal(doc: dict[str, Any]) -> dict[str, Any]:
        doc["history"].clear()  # a careless step: mutates what it was given
        return doc

    migrate(V1, to_version=4, migrations=registry)
    assert before == V1


def test_a_gap_in_the_registry_is_a_validation_error() -> None:
    registry = synthetic_registry()
    del registry[2]
    assert missing_steps(3, registry) == [2]
    with pytest.raises(tp.ValidationError) as caught:
        migrate(V1, to_version=3, migrations=registry)
    assert caught.value.problems[0].path == "$.schema_version"


def test_a_step_failing_on_a_malformed_old_document_is_a_validation_error() -> None:
    registry = synthetic_registry()
    broken = {k: v for k, v in V1.items() if k != "client_ref"}
    with pytest.raises(tp.ValidationError) as caught:
        migrate(broken, to_version=2, migrations=registry)
    assert "version 1" in caught.value.problems[0].expected
    assert "client" not in str(caught.value.problems[0].path)


def test_registering_twice_or_below_one_is_refused() -> None:
    registry = synthetic_registry()
    with pytest.raises(ValueError, match="already registered"):
        migration(1, registry)(lambda d: d)
    with pytest.raises(ValueError, match="at least 1"):
        migration(0, registry)(lambda d: d)


@pytest.mark.parametrize("doc", [None, [], "text", {"schema_version": "1"}, {"x": 1}])
def test_what_is_not_an_old_document_passes_through_for_the_loader(doc: Any) -> None:
    assert migrate(doc) is doc


def test_loads_migrates_older_documents_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend this release writes version 2 (client_ref was called client in version 1):
    # a version 1 document on disk must load through the registered step.
    registry: dict[int, Migration] = {}

    @migration(1, registry)
    def client_became_client_ref(doc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k != "client"}
        out["client_ref"] = doc["client"]
        return out

    monkeypatch.setattr(_migrations, "MIGRATIONS", registry)
    monkeypatch.setattr(_migrations, "migrate", _bound(registry, to_version=2))
    monkeypatch.setattr("treatplan._json.migrate", _bound(registry, to_version=2))
    monkeypatch.setattr("treatplan._json.SCHEMA_VERSION", 2)
    monkeypatch.setattr("treatplan._model.SCHEMA_VERSION", 2)
    old = {k: v for k, v in V1.items() if k != "client_ref"} | {"client": V1["client_ref"]}
    plan = tp.from_dict(old)
    assert plan.client_ref == V1["client_ref"]
    assert plan.schema_version == 2
    assert "client" in old  # the caller's document is untouched


def _bound(registry: dict[int, Migration], to_version: int) -> Any:
    def bound(doc: Any) -> Any:
        return migrate(doc, to_version=to_version, migrations=registry)

    return bound


def test_a_newer_document_gets_a_clear_error() -> None:
    newer = {**V1, "schema_version": tp.SCHEMA_VERSION + 1}
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(newer)
    assert "upgrade treatplan" in caught.value.problems[0].expected


@given(st.integers(min_value=-5, max_value=0))
def test_versions_below_one_are_refused(version: int) -> None:
    with pytest.raises(tp.ValidationError):
        tp.from_dict({**V1, "schema_version": version})


def test_a_step_raising_a_validation_error_passes_it_on() -> None:
    registry = synthetic_registry()

    @migration(3, registry)
    def strict(doc: dict[str, Any]) -> dict[str, Any]:
        raise tp.ValidationError.at("$.history", "a history this step understands")

    with pytest.raises(tp.ValidationError) as caught:
        migrate(V1, to_version=4, migrations=registry)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("$.history", "a history this step understands")
    ]


def test_a_step_that_returns_no_dict_is_a_programming_error() -> None:
    registry = synthetic_registry()

    @migration(3, registry)
    def forgetful(doc: dict[str, Any]) -> dict[str, Any]:
        doc["note"] = "changed in place"
        return None  # type: ignore[return-value]

    with pytest.raises(tp.ArgumentError, match="a function returning a dict"):
        migrate(V1, to_version=4, migrations=registry)
