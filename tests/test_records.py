"""One ``__repr__`` for every record class, written as attrs would write it."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan
from treatplan import strategies
from treatplan._records import counted, record_repr, short_ref


def _attrs_written_repr(value: Any) -> str:
    """The repr attrs itself generates for a class with the same fields."""
    cls = type(value)
    twin = attrs.make_class(
        cls.__qualname__,
        {a.name: attrs.field(repr=a.repr) for a in attrs.fields(cls)},
        slots=True,
    )
    copy = object.__new__(twin)
    for a in attrs.fields(cls):
        object.__setattr__(copy, a.name, getattr(value, a.name))
    return repr(copy)


def _records(value: Any) -> Any:
    """Every attrs instance inside ``value`` (tuples followed), the value included."""
    if attrs.has(type(value)):
        yield value
        for a in attrs.fields(type(value)):
            yield from _records(getattr(value, a.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _records(item)


@settings(max_examples=25, deadline=None)
@given(strategies.treatment_plans())
def test_every_record_in_a_plan_shows_itself_as_attrs_would(plan: treatplan.TreatmentPlan) -> None:
    shown = 0
    for record in _records(plan):
        if type(record).__repr__ is record_repr:
            assert repr(record) == _attrs_written_repr(record)
            shown += 1
    assert shown > 0


def test_hidden_fields_stay_hidden_and_custom_field_reprs_are_used() -> None:
    @attrs.frozen
    class Shown:
        __repr__ = record_repr

        plain: int
        secret: str = attrs.field(repr=False)
        short: str = attrs.field(repr=lambda text: f"<{len(text)} characters>")

    assert repr(Shown(1, "x", "abc")) == "Shown(plain=1, short=<3 characters>)"


def _modules() -> list[str]:
    found = ["treatplan"]
    for info in pkgutil.walk_packages(treatplan.__path__, "treatplan."):
        if info.name not in ("treatplan.strategies", "treatplan.__main__"):
            found.append(info.name)
    return found


def test_every_record_class_uses_the_shared_repr_or_its_own() -> None:
    # A class left to attrs' generated __repr__ costs a compile at import.
    generated = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == name
                and attrs.has(value)
                and "__repr__" in vars(value)
                and vars(value)["__repr__"] is not record_repr
                and vars(value)["__repr__"].__code__.co_filename.startswith("<attrs generated")
            ):
                generated.append(value.__qualname__)
    assert generated == []


SENTINEL = "CLINICAL-TEXT-SENTINEL"


@settings(max_examples=25, deadline=None)
@given(strategies.treatment_plans(texts=st.just(SENTINEL)))
def test_no_record_repr_shows_clinical_text(plan: treatplan.TreatmentPlan) -> None:
    # Free text (statements, descriptions, notes, reasons, ...) stays out of reprs,
    # which end up in logs; a record's parts are counted, as the plan counts its own.
    for record in _records(plan):
        assert SENTINEL not in repr(record), type(record).__name__
    for goal in plan.goals:
        assert f"objectives=<{len(goal.objectives)} objective" in repr(goal)
    found = treatplan.review(plan, treatplan.latest_time(plan))
    assert SENTINEL not in repr(found)
    assert len(repr(found)) <= 200
    assert repr(found).startswith(f"Findings({plan.plan_id[:23]!r}"[:-1])


def test_counted_says_how_many() -> None:
    show = counted("progress record")
    assert [show(()), show((1,)), show((1, 2))] == [
        "<0 progress records>",
        "<1 progress record>",
        "<2 progress records>",
    ]


def test_a_long_reference_is_cut_in_a_repr() -> None:
    assert short_ref("p" * 24) == repr("p" * 24)
    assert short_ref("p" * 25) == repr("p" * 23 + "…")
