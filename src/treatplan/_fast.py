"""The one room for fast paths: every construction that skips attrs' ``__init__``.

A plan operation on a valid plan that appends one checked record needs no
re-validation of the rest: the plan's other parts cannot have changed. This
module builds such values without running validators, and nothing else in
treatplan does. Each function states what makes it safe; tests/test_fast.py
checks each against the validated path on generated plans (equal results).

The copiers are generated from the classes' attrs field names (identifiers, so
the source is fixed by the class, never by data) and compiled under a unique
pseudo-filename registered in :mod:`linecache`, as attrs does for its own
generated methods: tracebacks, ``inspect.getsource`` and pdb show real lines.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ._model import EpisodeOutcome, Phase, Transition, TreatmentPlan

__all__ = ["new_transition", "plan_with", "replace_field"]


def _compile(name: str, source: str, namespace: dict[str, Any]) -> Any:
    """Compile generated ``source`` defining ``make`` under a linecache-registered name."""
    filename = f"<treatplan generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # source built from field names only
    return namespace["make"]


def _fields(cls: type[Any]) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cls))


def _copier(cls: type[Any], replaced: str | None, fields: tuple[str, ...] = ()) -> Any:
    """``make(source, value)``: a copy of ``source`` with field ``replaced`` set to
    ``value``; or, with ``replaced=None``, ``make(**values)`` from every field.

    Unrolled, as attrs generates ``__init__``: a loop over the fields costs about
    twice as much, and these run on every lifecycle operation.
    """
    fields = fields or _fields(cls)
    if replaced is None:
        head = "def make(*, " + ", ".join(fields) + "):"
        values = list(fields)
    else:
        head = "def make(source, value):"
        values = ["value" if name == replaced else f"source.{name}" for name in fields]
    body = [head, "    new = new_instance(cls)"]
    body += [
        f"    set_field(new, {n!r}, {value})" for n, value in zip(fields, values, strict=True)
    ]
    body.append("    return new")
    label = f"{cls.__qualname__}.{replaced or '__init_unchecked__'}"
    return _compile(
        label,
        "\n".join(body) + "\n",
        {"new_instance": object.__new__, "set_field": object.__setattr__, "cls": cls},
    )


_PLAN_FIELDS = _fields(TreatmentPlan)
#: For each plan field, ``copy(plan, value)`` with that field replaced (no validation).
_REPLACE: Mapping[str, Callable[[TreatmentPlan, Any], TreatmentPlan]] = {
    name: _copier(TreatmentPlan, name, _PLAN_FIELDS) for name in _PLAN_FIELDS
}
_new_transition: Callable[..., Transition] = _copier(Transition, None)


def replace_field(plan: TreatmentPlan, name: str, value: Any, state: Any) -> TreatmentPlan:
    """``plan`` with field ``name`` replaced by ``value`` and derived state ``state``.

    Safe when the caller has checked that the result is a valid plan: the
    lifecycle's ``fire`` (a history record from the transition table at a
    checked time) and ``record_*`` (one record checked against the plan's ids,
    instruments, times and phases exactly as ``TreatmentPlan``'s own checks do),
    and when ``state`` is the derived state of the result (or ``None``, which
    rebuilds it on first use).
    """
    new = _REPLACE[name](plan, value)
    object.__setattr__(new, "_state", state)
    return new


def plan_with(plan: TreatmentPlan, **changes: Any) -> TreatmentPlan:
    """``plan`` with several record fields replaced, its derived state rebuilt on use.

    Safe for views of a valid plan cut at an instant (``as_of_view``): a prefix of
    each time-ordered record list of a valid plan, with the history cut at the same
    instant, is itself a valid plan (ids stay unique, references resolve, times stay
    ordered, and each record keeps the phase it was dated in).
    """
    new = object.__new__(TreatmentPlan)
    for name in _PLAN_FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(plan, name))
    object.__setattr__(new, "_state", None)
    return new


def new_transition(
    event: str,
    source: Phase,
    target: Phase,
    at: datetime,
    by: str,
    reason: str | None,
    outcome: EpisodeOutcome | None,
) -> Transition:
    """A history record ``fire`` has checked.

    Safe because ``fire`` checks ``at`` (an aware date-time, converted to a fixed
    offset, inside the supported range), ``by`` (an opaque reference) and
    ``reason`` (text or ``None``) exactly as :class:`Transition`'s validators do,
    and takes event, source, target and outcome from the transition table, which
    sets an outcome exactly on the events into ``closed``.
    """
    return _new_transition(
        event=event, source=source, target=target, at=at, by=by, reason=reason, outcome=outcome
    )
