"""attrs validators whose errors name the field and the expectation, never the value.

attrs' own validators put the offending value into the message; plan fields hold
free-text clinical content, so treatplan uses these instead. Each raises
:class:`~treatplan.ValidationError` with a path relative to the instance
(``$.field``), which the JSON layer prefixes with the document path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timezone
from enum import Enum
from typing import Any, TypeVar

import attrs

from ._errors import ArgumentError, ValidationError, ValidationIssue

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

#: Hard upper bound on any numeric field: keeps hostile documents ("1e308") out.
MAX_NUMBER = 1e9
#: Hard upper bound on free-text fields, in characters.
MAX_TEXT = 10_000
#: Opaque references (client, clinician, ids): no spaces, so no names.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}\Z")
#: C0 control characters other than tab, line feed and carriage return. PostgreSQL
#: refuses NUL in text, and the others have no place in clinical prose.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
STORABLE_TEXT = "text without control characters (tab and line breaks allowed)"
#: The patterns' own methods, for hot paths that check a ``str`` inline: ``match_ref(s)``
#: is :func:`is_ref`, and ``find_control(s) is None`` means storable text.
match_ref = _REF.match
find_control = _CONTROL.search
#: What counts as blank in a text: Python's whitespace (what ``str.strip()`` removes)
#: and U+FEFF, the zero-width no-break space (byte-order mark), which is white space
#: to ECMA-262's ``\s`` though not to Python. With the union of both, a text treatplan
#: keeps is non-blank to JSON Schema validators of either regex dialect (see
#: ``treatplan._schema.TEXT_PATTERN``), and one either calls blank is blank here.
BLANK = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def is_blank(value: str) -> bool:
    """Whether ``value`` holds nothing but :data:`BLANK` characters (or nothing)."""
    return not value.strip(BLANK)


#: The earliest instant a plan may hold (inclusive): 1900-01-01T00:00:00Z.
MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
#: The end of the instants a plan may hold (exclusive): 2200-01-01T00:00:00Z.
#: Every time in a plan, at any UTC offset, and every date, lies in the years
#: 1900 to 2199, far from the ends of Python's calendar (years 1 and 9999), so
#: converting a time to UTC or to any zone, or adding a review interval, never
#: overflows.
MAX_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
_TIME_RANGE = "from 1900-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
_DATE_RANGE = "from 1900-01-01 to 2199-12-31"


def fail(attribute: attrs.Attribute[Any], expected: str, suffix: str = "") -> ValidationError:
    return ValidationError([ValidationIssue(f"$.{attribute.name}{suffix}", expected)])


def text(*, optional: bool = False, max_length: int = MAX_TEXT) -> Validator:
    """A non-blank string of at most ``max_length`` characters."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        problem = text_problem(value, max_length)
        if problem is not None:
            raise fail(attribute, problem)

    return check


def text_problem(value: object, max_length: int = MAX_TEXT) -> str | None:
    """What is wrong with ``value`` as free text (see :func:`text`), or None."""
    if not isinstance(value, str) or is_blank(value):
        return "a non-empty string"
    if len(value) > max_length:
        return f"a string of at most {max_length} characters"
    if not is_unicode(value):
        return "valid Unicode text (no lone surrogates)"
    if _CONTROL.search(value):
        return STORABLE_TEXT
    return None


def is_text(value: object, max_length: int = MAX_TEXT) -> bool:
    """Whether ``value`` is free text the :func:`text` validator accepts."""
    return text_problem(value, max_length) is None


def texts(*, max_items: int, max_length: int = MAX_TEXT) -> Validator:
    """A list of at most ``max_items`` free texts, each as :func:`text` checks it;
    errors name the index."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        items_of(str, "strings", max_length=max_items)(_, attribute, value)
        problems = [
            ValidationIssue(f"$.{attribute.name}[{i}]", problem)
            for i, member in enumerate(value)
            if (problem := text_problem(member, max_length)) is not None
        ]
        if problems:
            raise ValidationError(problems)

    return check


def is_unicode(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8: JSON's ``"\\ud800"`` escapes decode to lone
    surrogates that :func:`treatplan.dumps` output could then never be encoded with."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ref(*, optional: bool = False) -> Validator:
    """An opaque reference: 1-128 characters of ``A-Z a-z 0-9 . _ : / # -``, no spaces."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not _REF.match(value):
            raise fail(
                attribute,
                "an opaque reference: 1-128 characters of letters, digits and . _ : / # -, "
                "starting with a letter or digit",
            )

    return check


def enum(kind: type[Enum], *, optional: bool = False) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind):
            raise fail(attribute, f"one of {enum_choices(kind)}")

    return check


def enum_choices(kind: type[Enum]) -> str:
    return ", ".join(repr(m.value) for m in kind)


def integer(
    *, low: int | None = None, high: int | None = None, optional: bool = False
) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not is_int(value) or not _in_range(value, low, high):
            raise fail(attribute, "an integer" + _range_text(low, high))

    return check


def number(
    *, low: float | None = None, high: float | None = None, optional: bool = False
) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not is_number(value) or not _in_range(value, low, high):
            raise fail(attribute, "a finite number" + _range_text(low, high))

    return check


def positive(*, high: float = MAX_NUMBER, optional: bool = False) -> Validator:
    """A finite number above 0 (and at most ``high``): a weight, an SD, a threshold."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not is_number(value) or not 0 < value <= high:
            raise fail(attribute, f"a finite number above 0 and at most {high:g}")

    return check


def aware_datetime(*, optional: bool = False) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        problem = time_problem(value)
        if problem is not None:
            raise fail(attribute, problem)

    return check


def time_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a time in a plan, or None.

    A plan time is timezone-aware, its UTC offset is whole minutes (RFC 3339
    writes no seconds in an offset), and it lies from :data:`MIN_INSTANT` up to
    :data:`MAX_INSTANT`. Every path that makes a plan record checks this.
    """
    if not isinstance(value, datetime):
        return "a timezone-aware date-time (RFC 3339, with an offset)"
    offset = value.utcoffset()
    if offset is None:
        return "a timezone-aware date-time (RFC 3339, with an offset)"
    if offset.seconds % 60 or offset.microseconds:
        return "a date-time whose UTC offset is whole minutes"
    # Aware comparison works on the offsets arithmetically: no OverflowError at year 1.
    if not MIN_INSTANT <= value < MAX_INSTANT:
        return "a date-time " + _TIME_RANGE
    return None


def a_date(*, optional: bool = False) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, date) or isinstance(value, datetime):
            raise fail(attribute, "a calendar date (ISO 8601 YYYY-MM-DD)")
        if not MIN_INSTANT.year <= value.year < MAX_INSTANT.year:
            raise fail(attribute, "a calendar date " + _DATE_RANGE)

    return check


def boolean() -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise fail(attribute, "true or false")

    return check


def items_of(
    kind: type[Any] | tuple[type[Any], ...],
    expected: str,
    *,
    min_length: int = 0,
    max_length: int = 100_000,
    each: Callable[[Any], bool] | None = None,
    unique: bool = False,
) -> Validator:
    """A tuple whose members are ``kind`` (and pass ``each``); errors name the index."""

    one = _one_of(expected)

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple):
            raise fail(attribute, f"a list of {expected}")
        if not min_length <= len(value) <= max_length:
            raise fail(attribute, f"a list of {min_length} to {max_length} {expected}")
        problems = [
            ValidationIssue(f"$.{attribute.name}[{i}]", one)
            for i, member in enumerate(value)
            if not isinstance(member, kind) or (each is not None and not each(member))
        ]
        if problems:
            raise ValidationError(problems)
        if unique and len(set(value)) != len(value):
            raise fail(attribute, f"a list of distinct {expected}")

    return check


def _one_of(plural: str) -> str:
    """One member of a list described by ``plural``: "risk items" -> "a risk item",
    "integers or nulls" -> "an integer or null"."""
    singular = " or ".join(p[:-1] if p.endswith("s") else p for p in plural.split(" or "))
    return ("an " if singular[0] in "aeiou" else "a ") + singular


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    # Exact ints and floats first (the hot path of scoring and rules): int-to-float
    # comparison is exact in Python and never overflows, and NaN and the infinities
    # fail the bound.
    if type(value) is int:
        return -MAX_NUMBER <= value <= MAX_NUMBER
    if type(value) is float:
        return abs(value) <= MAX_NUMBER
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        # Bound first: math.isfinite raises OverflowError on ints beyond float range.
        and abs(value) <= MAX_NUMBER
        and math.isfinite(value)
    )


def is_ref(value: object) -> bool:
    """Whether ``value`` is an opaque reference (see :func:`ref`)."""
    return isinstance(value, str) and _REF.match(value) is not None


def is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def check_argument(
    value: object, kinds: type[Any] | tuple[type[Any], ...], name: str, expected: str
) -> None:
    """Raise :class:`~treatplan.ArgumentError` naming ``name`` unless ``value`` is
    ``None`` (the parameter's default) or of one of ``kinds``."""
    if value is not None and not isinstance(value, kinds):
        raise ArgumentError(name, expected)


def check_time_argument(value: object, name: str) -> None:
    """Raise a ValidationError at ``name`` unless ``value`` is a time a plan may hold:
    an ``as_of`` outside the range would overflow when converted to UTC."""
    problem = time_problem(value)
    if problem is not None:
        raise ValidationError.at(name, problem)


def fixed_offset(value: Any) -> Any:
    """Converter: an aware date-time with its zone replaced by the fixed UTC offset in force.

    JSON (ISO 8601) carries offsets, not zone names, so a plan keeps only what a
    document can: the same instant and wall clock, with a fixed offset. This makes
    ``loads(dumps(plan)) == plan`` hold for every plan, including times in a zone's
    repeated hour, where Python never equates a zoned time with its fixed-offset twin.
    A subclass (a ``pandas.Timestamp``) becomes a plain date-time to the microsecond,
    as a document keeps it. Anything else is left for the validator to reject.
    """
    if isinstance(value, datetime) and type(value) is not datetime:
        value = datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
        )
    if isinstance(value, datetime) and not isinstance(value.tzinfo, timezone | None):
        offset = value.utcoffset()
        if offset is not None:
            return value.replace(tzinfo=timezone(offset), fold=0)
    return value


def instant(value: datetime) -> datetime:
    """``value`` in UTC, for ordering and arithmetic.

    Python compares and subtracts two datetimes that share a tzinfo object by wall
    clock, ignoring their offsets, so across a DST change in one zone (a ``fold``)
    a later time can compare as earlier. UTC has no folds.
    """
    return value.astimezone(UTC)


def _in_range(value: float, low: float | None, high: float | None) -> bool:
    if abs(value) > MAX_NUMBER:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" of at least {low:g}"
    if high is not None:
        return f" of at most {high:g}"
    return ""


def collect(checks: Iterable[tuple[str, Callable[[], None]]]) -> None:
    """Run checks that raise ValidationError; raise one error with all problems, prefixed."""
    problems: list[ValidationIssue] = []
    for prefix, run in checks:
        try:
            run()
        except ValidationError as exc:
            problems.extend(exc.prefixed(prefix).problems)
    if problems:
        raise ValidationError(problems)


def instance(*kinds: type[Any]) -> Validator:
    """An instance of one of ``kinds``."""
    names = " or ".join(k.__name__ for k in kinds)
    article = "an" if names[0] in "AEIOU" else "a"

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kinds):
            raise fail(attribute, f"{article} {names}")

    return check


def increasing_fractions(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Strictly increasing fractions between 0 and 1, e.g. warnings at 80% and 90% used."""
    items_of(float, "fractions", max_length=20, each=is_number)(_, attribute, value)
    if any(not 0 < f < 1 for f in value) or list(value) != sorted(set(value)):
        raise fail(attribute, "increasing fractions between 0 and 1")


def floats(value: Any) -> Any:
    """Converter: a list or tuple of numbers as a tuple of floats (others left to validators)."""
    if isinstance(value, list | tuple):
        return tuple(float(x) if is_number(x) else x for x in value)
    return value
