"""Schema evolution: upgrading stored plan documents to the current ``schema_version``.

The policy (docs/schema.md) in short: every released ``schema_version`` loads
forever. Each change to the document layout after a release bumps
:data:`~treatplan.SCHEMA_VERSION` and registers one migration, a pure function
from a version N document (a dict) to a version N+1 document, with
:func:`migration`. :func:`migrate` applies the steps in order; :func:`treatplan.loads`
and :func:`treatplan.from_dict` call it before structuring, so stored documents
of every earlier version load unchanged on disk.

Version 1 is the only version so far, so :data:`MIGRATIONS` is empty; the
mechanism is tested with a synthetic version.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypeAlias, overload

from ._errors import ArgumentError, ValidationError
from ._model import SCHEMA_VERSION

__all__ = ["MIGRATIONS", "JsonValue", "Migration", "migrate", "migration"]

#: Any JSON value as Python data, the type of what :func:`treatplan.to_dict` returns
#: and what :func:`treatplan.from_dict` and :func:`migrate` read: a string, an integer,
#: a float, ``True``/``False``, ``None``, a list of JSON values, or a dict of them with
#: string keys. A type checker needs a value narrowed (``isinstance(doc["goals"], list)``)
#: before it is indexed further, as with any JSON of unknown shape.
JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

#: A migration step: a version N document in, a version N+1 document out.
Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: The registered steps, by the version they upgrade *from*. Empty while 1 is the only version.
MIGRATIONS: MutableMapping[int, Migration] = {}


#: Marks a migration step that failed (raised something other than a ValidationError).
_FAILED: Any = object()


def migration(
    from_version: int, registry: MutableMapping[int, Migration] | None = None
) -> Callable[[Migration], Migration]:
    """Register the function it decorates as the step from ``from_version`` to the next.

    ``registry`` defaults to :data:`MIGRATIONS`; tests pass their own. A step must
    be pure (the document it receives is a private copy, but it should build and
    return a new dict rather than rely on that) and must not touch
    ``schema_version``: :func:`migrate` sets it.
    """
    target = MIGRATIONS if registry is None else registry

    def register(step: Migration) -> Migration:
        if not isinstance(from_version, int) or from_version < 1:
            raise ArgumentError("from_version", "an integer version of at least 1")
        if from_version in target:
            raise ArgumentError(
                "from_version", f"a version with no migration already registered ({from_version})"
            )
        target[from_version] = step
        return step

    return register


# A dict comes back a dict (the same one, or an upgraded copy); any other mapping comes
# back as it is or as an upgraded dict.
@overload
def migrate(
    document: dict[str, JsonValue],
    *,
    to_version: int = ...,
    migrations: Mapping[int, Migration] | None = ...,
) -> dict[str, JsonValue]: ...
@overload
def migrate(
    document: Mapping[str, JsonValue],
    *,
    to_version: int = ...,
    migrations: Mapping[int, Migration] | None = ...,
) -> Mapping[str, JsonValue]: ...
def migrate(
    document: Mapping[str, JsonValue],
    *,
    to_version: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] | None = None,
) -> Mapping[str, JsonValue]:
    """``document`` upgraded step by step to ``to_version`` (default: the current one).

    A document already at ``to_version`` is returned as it is (the same object);
    otherwise the input is deep-copied first and never modified; a dict comes back
    a dict. Anything that is not a plan document of a known older version is
    returned unchanged for the loader to report. A step that fails on a malformed
    old document raises :class:`~treatplan.ValidationError` naming the version it
    was reading.
    """
    if not isinstance(to_version, int) or isinstance(to_version, bool):
        raise ArgumentError("to_version", "a schema version number")
    if to_version < 1 or (migrations is None and to_version > SCHEMA_VERSION):
        raise ArgumentError("to_version", f"a schema version from 1 to {SCHEMA_VERSION}")
    if migrations is not None and not isinstance(migrations, Mapping):
        raise ArgumentError("migrations", "a mapping of schema version to migration function")
    steps = MIGRATIONS if migrations is None else migrations
    if not isinstance(document, Mapping):
        return document
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return document
    if not 1 <= version < to_version:
        return document
    doc: Any = _FAILED
    with contextlib.suppress(RecursionError):  # nesting deeper than Python can copy
        doc = copy.deepcopy(dict(document))
    if doc is _FAILED:  # raised outside the handler: no __context__ with values
        raise ValidationError.at("$", "a document nested shallowly enough to copy")
    while version < to_version:
        step = steps.get(version)
        if step is None:
            raise ValidationError.at(
                "$.schema_version",
                f"a schema version this release can upgrade (no migration from {version})",
            )
        try:
            upgraded = step(doc)
        except ValidationError:
            raise
        except Exception:  # a malformed old document: one library error, no values echoed
            upgraded = _FAILED
        if upgraded is _FAILED:  # raised outside the handler: no __context__ with values
            raise ValidationError.at(
                "$", f"a valid schema version {version} document (upgrading it failed)"
            )
        if not isinstance(upgraded, dict):
            raise ArgumentError(
                "migration", f"a function returning a dict (from version {version})"
            )
        version += 1
        rest = {k: value for k, value in upgraded.items() if k != "schema_version"}
        doc = {"schema_version": version, **rest}
    upgraded_document: dict[str, JsonValue] = doc
    return upgraded_document


def missing_steps(
    to_version: int = SCHEMA_VERSION, migrations: Mapping[int, Migration] | None = None
) -> list[int]:
    """Versions below ``to_version`` with no registered step (should always be empty)."""
    steps = MIGRATIONS if migrations is None else migrations
    return [n for n in range(1, to_version) if n not in steps]
