"""The validators: errors name the field and the expectation, never the value."""

from __future__ import annotations

import enum
import math
import types
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import ValidationError
from treatplan import ValidationIssue as Problem
from treatplan import _validation as v


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


def check(validator: v.Validator, value: Any, name: str = "field") -> ValidationError | None:
    """Run ``validator`` on ``value`` for an attribute called ``name``; the error, if any."""
    attribute: Any = types.SimpleNamespace(name=name)  # validators read only the name
    try:
        validator(None, attribute, value)
    except ValidationError as exc:
        return exc
    return None


def expect(validator: v.Validator, value: Any, expected: str, path: str = "$.field") -> None:
    error = check(validator, value)
    assert error is not None, value
    assert [p.path for p in error.problems] == [path]
    assert expected in error.problems[0].expected


SECRET = "SECRET about the client"


# --------------------------------------------------------------------------- text and refs
def test_text_accepts_non_blank_strings_up_to_the_limit() -> None:
    assert check(v.text(), "low mood") is None
    assert check(v.text(max_length=3), "abc") is None
    assert check(v.text(optional=True), None) is None
    expect(v.text(), None, "a non-empty string")
    expect(v.text(), "", "a non-empty string")
    expect(v.text(), " \t\n\u2003", "a non-empty string")
    expect(v.text(), 5, "a non-empty string")
    expect(v.text(max_length=3), "abcd", "at most 3 characters")
    expect(v.text(), "x" * (v.MAX_TEXT + 1), f"at most {v.MAX_TEXT} characters")
    expect(v.text(), "lone \udc00 surrogate", "valid Unicode text")
    assert v.is_unicode("emoji \U0001f600 and \u2028 are fine")
    assert not v.is_unicode("\ud800")


@pytest.mark.parametrize(
    "good", ["a", "0", "F32.1", "urn:uuid:1234", "clin/7#2", "a_b-c", "x" * 128]
)
def test_refs_accept_opaque_references(good: str) -> None:
    assert check(v.ref(), good) is None
    assert v.is_ref(good)


@pytest.mark.parametrize(
    "bad",
    ["", " a", "a b", "-a", ".a", "x" * 129, "a\n", "é", "Jane Doe", None, 5, b"a"],
    ids=repr,
)
def test_refs_refuse_anything_that_could_be_a_name(bad: Any) -> None:
    expect(v.ref(), bad, "opaque reference")
    assert not v.is_ref(bad)


def test_optional_ref() -> None:
    assert check(v.ref(optional=True), None) is None
    expect(v.ref(optional=True), "", "opaque reference")


# --------------------------------------------------------------------------- enums
def test_enum_requires_a_member_not_its_value() -> None:
    assert check(v.enum(Colour), Colour.RED) is None
    assert check(v.enum(Colour, optional=True), None) is None
    expect(v.enum(Colour), "red", "one of 'red', 'green'")
    expect(v.enum(Colour), None, "one of")
    assert v.enum_choices(Colour) == "'red', 'green'"


# --------------------------------------------------------------------------- numbers
def test_integer_ranges() -> None:
    assert check(v.integer(low=1, high=3), 1) is None
    assert check(v.integer(low=1, high=3), 3) is None
    assert check(v.integer(optional=True), None) is None
    expect(v.integer(low=1, high=3), 0, "an integer from 1 to 3")
    expect(v.integer(low=1), 0, "an integer of at least 1")
    expect(v.integer(high=3), 4, "an integer of at most 3")
    expect(v.integer(), 1.0, "an integer")
    expect(v.integer(), True, "an integer")
    expect(v.integer(), "1", "an integer")
    expect(v.integer(), 10**10, "an integer")
    expect(v.integer(), 10**5000, "an integer")


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, 1e10, -1e10, 10**400, -(10**400), True, False, "1", None],
    ids=repr,
)
def test_number_refuses_non_finite_huge_and_non_numbers(bad: Any) -> None:
    expect(v.number(), bad, "a finite number")
    assert not v.is_number(bad)


def test_number_bounds_are_inclusive() -> None:
    assert check(v.number(low=0, high=1000), 0) is None
    assert check(v.number(low=0, high=1000), 1000.0) is None
    assert check(v.number(), v.MAX_NUMBER) is None
    assert check(v.number(), -v.MAX_NUMBER) is None
    expect(v.number(low=0, high=1000), -0.001, "a finite number from 0 to 1000")
    expect(v.number(low=0.5), 0.25, "of at least 0.5")
    assert check(v.number(optional=True), None) is None


def test_is_int_and_is_number() -> None:
    assert v.is_int(3)
    assert v.is_int(10**5000)  # an integer, however large; ranges bound it
    assert not v.is_int(True)
    assert not v.is_int(3.0)
    assert v.is_number(3)
    assert v.is_number(-2.5)
    assert not v.is_number(10**5000)
    assert not v.is_number(float("nan"))


class _Number(float):
    """A float subclass: takes the general path of ``is_number``."""


class _Whole(enum.IntEnum):
    ONE = 1


@given(st.one_of(st.integers(), st.floats(), st.floats().map(_Number), st.sampled_from(_Whole)))
def test_is_number_fast_path_agrees_with_its_definition(value: float) -> None:
    # Finite, not a bool, and within MAX_NUMBER either side: the definition the exact
    # int and float shortcuts must agree with (subclasses take the general path).
    defined = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= v.MAX_NUMBER
        and math.isfinite(value)
    )
    assert v.is_number(value) is defined


# --------------------------------------------------------------------------- time
def test_aware_datetimes_only() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert check(v.aware_datetime(), datetime(2026, 1, 1, tzinfo=UTC)) is None
    assert check(v.aware_datetime(), datetime(2026, 1, 1, tzinfo=ist)) is None
    assert check(v.aware_datetime(optional=True), None) is None
    expect(v.aware_datetime(), datetime(2026, 1, 1), "timezone-aware")
    expect(v.aware_datetime(), date(2026, 1, 1), "timezone-aware")
    expect(v.aware_datetime(), "2026-01-01T00:00:00+00:00", "timezone-aware")
    assert v.is_aware(datetime(2026, 1, 1, tzinfo=ist))
    assert not v.is_aware(datetime(2026, 1, 1))


def test_dates_are_calendar_dates_not_datetimes() -> None:
    assert check(v.a_date(), date(2026, 1, 1)) is None
    assert check(v.a_date(optional=True), None) is None
    expect(v.a_date(), datetime(2026, 1, 1, tzinfo=UTC), "a calendar date")
    expect(v.a_date(), "2026-01-01", "a calendar date")


def test_boolean_only_true_or_false() -> None:
    assert check(v.boolean(), True) is None
    assert check(v.boolean(), False) is None
    for bad in (0, 1, None, "true"):
        expect(v.boolean(), bad, "true or false")


# --------------------------------------------------------------------------- collections
def test_items_of_checks_container_length_members_and_uniqueness() -> None:
    ints = v.items_of(int, "integers", min_length=1, max_length=3, each=v.is_int, unique=True)
    assert check(ints, (1, 2, 3)) is None
    expect(ints, [1, 2], "a list of integers")  # lists must be converted to tuples first
    expect(ints, (), "a list of 1 to 3 integers")
    expect(ints, (1, 2, 3, 4), "a list of 1 to 3 integers")
    expect(ints, (1, 1), "a list of distinct integers")
    error = check(ints, (1, "x", True))
    assert error is not None
    assert [p.path for p in error.problems] == ["$.field[1]", "$.field[2]"]


def test_instance() -> None:
    assert check(v.instance(int, str), "a") is None
    expect(v.instance(int, str), 1.5, "a int or str")


# --------------------------------------------------------------------------- no echo
@given(st.text(min_size=1).map(lambda t: t + SECRET))
def test_no_validator_echoes_the_value(value: str) -> None:
    validators = [
        v.ref(),
        v.enum(Colour),
        v.integer(),
        v.number(),
        v.aware_datetime(),
        v.a_date(),
        v.boolean(),
        v.items_of(int, "integers"),
        v.instance(int),
        v.text(max_length=1),
    ]
    for validator in validators:
        error = check(validator, value)
        assert error is not None
        assert SECRET not in str(error)
        assert all(SECRET not in p.expected for p in error.problems)


def test_errors_name_the_field() -> None:
    error = check(v.integer(low=0), -1, name="duration_minutes")
    assert error is not None
    assert error.problems == (Problem("$.duration_minutes", "an integer of at least 0"),)


def test_collect_prefixes_and_gathers_every_problem() -> None:
    def bad(path: str) -> Any:
        def run() -> None:
            raise ValidationError.at(path, "something")

        return run

    with pytest.raises(ValidationError) as caught:
        v.collect([("$.a", bad("$.x")), ("$.b[2]", lambda: None), ("$.c", bad("$"))])
    assert [p.path for p in caught.value.problems] == ["$.a.x", "$.c"]
    v.collect([("$.a", lambda: None)])  # nothing wrong: no error


def test_fixed_offset_leaves_what_it_cannot_convert() -> None:
    class Floating(tzinfo):
        """A tzinfo that knows no offset: the time is naive in effect."""

        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    floating = datetime(2026, 1, 5, 9, 0, tzinfo=Floating())
    assert v.fixed_offset(floating) is floating
    assert v.fixed_offset("not a time") == "not a time"
    zoned = datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    assert v.fixed_offset(zoned).tzinfo == timezone(timedelta(hours=1))


def test_floats_converts_sequences_only() -> None:
    assert v.floats([1, 0.5]) == (1.0, 0.5)
    assert v.floats("0.8") == "0.8"  # left for the validator to refuse
    import treatplan as tp

    with pytest.raises(ValidationError) as caught:
        tp.monitoring.AlertPolicy(authorisation_warnings="0.8")  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == ["$.authorisation_warnings"]


def test_a_list_member_is_named_in_the_singular() -> None:
    with pytest.raises(tp.ValidationError) as info:
        tp.Assessment("a1", "PHQ-9", datetime(2026, 1, 5, 9, tzinfo=UTC), items=(1, "x"))
    assert [(p.path, p.expected) for p in info.value.problems] == [
        ("$.items[1]", "an integer or null")
    ]
