"""Lossless JSON for plans and their parts, through one configured cattrs converter.

Documents are plain JSON: ISO 8601 dates and date-times with offsets, enums as
their values, tagged unions with a ``kind`` key, ``schema_version`` on the plan.
Unknown keys are rejected. Every problem in a bad document is reported at once,
each with its JSON path and what was expected, in one :class:`ValidationError`;
no value from the document is echoed. Loading never uses pickle or eval.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar, Union, get_args, get_origin, overload

import attrs
import cattrs
from attrs import AttrsInstance
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _fast
from . import _validation as v
from ._errors import ArgumentError, LimitError, ValidationError, ValidationIssue
from ._migrations import JsonValue, migrate
from ._model import (
    SCHEMA_VERSION,
    AchievementStatus,
    Assessment,
    Attendance,
    Barrier,
    BarrierKind,
    ClientFactors,
    CodeSystem,
    Comparator,
    DeliveryFormat,
    EpisodeOutcome,
    Goal,
    GoalDomain,
    Intervention,
    MeasureTarget,
    Modality,
    Objective,
    ObjectiveProgress,
    ObjectiveStatus,
    ObjectiveTarget,
    Phase,
    PresentingProblem,
    ProgressReview,
    Readiness,
    ReviewDecision,
    Schedule,
    Session,
    SupportLevel,
    Transition,
    TreatmentPlan,
)
from ._rules import (
    MAX_RULE_DEPTH,
    RULE_TYPES,
    AuthorisationUsed,
    ConsecutiveMissed,
    GoalsMet,
    Inactivity,
    MissedInWindow,
    MissedWithinDays,
    Plateau,
    Rule,
    SessionLimit,
    SustainedRecovery,
    TimeLimit,
    _instrument_codes,
    _rules_validator,
)

__all__ = [
    "MAX_DOCUMENT_SIZE",
    "MAX_RECORDS",
    "converter",
    "dumps",
    "from_dict",
    "loads",
    "to_dict",
]

T = TypeVar("T")
#: Any one class of plan part, for a list of parts (a list is invariant: ``list[Alert]``
#: is no ``list[AttrsInstance]``).
Part = TypeVar("Part", bound=AttrsInstance)

#: Deepest nesting a document may have; deeper is refused, not recursed into.
MAX_DEPTH = 64
#: Largest JSON text :func:`loads` reads: 16,000,000 bytes (characters for a ``str``).
#: A plan of 10,000 sessions with PHQ-9 and GAD-7 items at each is about 9 MB from
#: :func:`dumps`; refusing larger input before parsing keeps a hostile upload cheap.
MAX_DOCUMENT_SIZE = 16_000_000
#: Most records a plan document may hold: history transitions, sessions and
#: assessments (standalone and at sessions) and progress reviews together.
MAX_RECORDS = 50_000


#: Tuple member types whose JSON values pass through unchanged, by the exact Python
#: types json.loads gives for them (bool is not int here: type() is exact).
_PLAIN_MEMBERS: dict[Any, frozenset[type]] = {
    int: frozenset({int}),
    str: frozenset({str}),
    int | None: frozenset({int, type(None)}),
}


#: Python types json writes as they are.
_SCALARS = frozenset({int, float, str, bool, type(None)})


def _optional_list(value: tuple[Any, ...] | None) -> list[Any] | None:
    """An optional array of scalars (item responses) as JSON-ready data."""
    return None if value is None else list(value)


class _Expected(ValueError):
    """A leaf type mismatch: the message is what was expected."""


def _strict(kind: type[Any], expected: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise _Expected(expected)
        if kind is float:
            if not v.is_number(value):
                raise _Expected("a finite number")
            return value
        if not isinstance(value, kind):
            raise _Expected(expected)
        return value

    return structure


#: RFC 3339 date-times, the shape :func:`dumps` writes: a ``T`` separator, seconds,
#: up to 6 fractional digits and an offset ``Z`` or ``+HH:MM``. ISO 8601's other forms
#: (week dates, the basic format, a space separator, seconds in the offset) are refused.
#: An offset's hours are 00-23 and its minutes 00-59: fromisoformat would read
#: ``+05:60`` as ``+06:00``, a time RFC 3339 does not allow and dumps would rewrite.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z"
)
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
#: _RFC3339 with ASCII digits only, for the fast path: a range of characters is
#: matched faster than the class of every script's decimal digits, and fromisoformat
#: refuses the digits of other scripts anyway (the slow path reports such a time).
_RFC3339_ASCII = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])\Z"
)


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, str) and _RFC3339.match(value):
        # The range is the model's validators' to check, with their message.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise _Expected("an RFC 3339 date-time with a UTC offset, e.g. 2026-01-05T09:00:00+00:00")


def _structure_date(value: Any, _: Any) -> date:
    if isinstance(value, str) and _FULL_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _Expected("an ISO 8601 date, YYYY-MM-DD")


def _structure_enum(value: Any, kind: type[enum.Enum]) -> enum.Enum:
    try:
        return kind(value)
    except (ValueError, TypeError):
        raise _Expected("one of " + v.enum_choices(kind)) from None


def _make_converter(*, detailed: bool = True) -> cattrs.Converter:
    """The converter; ``detailed=False`` gives the quick one the fast load path uses, which
    accepts exactly the same documents (same hooks, same constructors) but collects no
    error detail: a document it refuses is read again by the detailed one."""
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=True)
    for kind, expected in (
        (str, "a string"),
        (int, "an integer"),
        (float, "a finite number"),
        (bool, "true or false"),
    ):
        conv.register_structure_hook(kind, _strict(kind, expected))
    # An optional integer (an item response, a duration) says that null is allowed too.
    strict_int = _strict(int, "an integer or null")
    conv.register_structure_hook(
        int | None, lambda value, _: None if value is None else strict_int(value, int)
    )
    # Registered for StrEnum too: otherwise the str hook above would win for str-based enums.
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_structure_hook(enum.StrEnum, _structure_enum)
    # str.__str__ of a StrEnum member is its value as a plain str, without the
    # enum's value property: the cheapest way to write one.
    conv.register_unstructure_hook(enum.StrEnum, str.__str__)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(date, _structure_date)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_unstructure_hook(date, date.isoformat)

    # Only JSON arrays become tuples: a string or object where a list belongs is an error.
    def is_homogeneous_tuple(t: Any) -> bool:
        return getattr(t, "__origin__", None) is tuple

    def tuple_hook(t: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        # Made once per tuple type: the member type and its hook are looked up here,
        # not on every array.
        (member, _ellipsis) = get_args(t)
        # Fast path for the common leaf arrays (item responses, ids): members that are
        # already exactly what the strict hooks would accept need no per-item call.
        plain = _PLAIN_MEMBERS.get(member)
        hook = conv.get_structure_hook(member)

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise _Expected("a JSON array")
            if plain is not None and all(type(x) in plain for x in value):
                return tuple(value)
            out: list[Any] = []
            errors: list[Exception] = []
            for i, item in enumerate(value):
                try:
                    out.append(hook(item, member))
                except Exception as exc:
                    exc.__notes__ = [*getattr(exc, "__notes__", []), _Index(i)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError("While structuring a list", errors, t)
            return tuple(out)

        return structure_tuple

    conv.register_structure_hook_factory(is_homogeneous_tuple, tuple_hook)

    # Registered before the hook below, which cattrs then tries first.
    def tuple_unstructure(t: Any) -> Callable[[tuple[Any, ...]], list[Any]]:
        hook = conv.get_unstructure_hook(get_args(t)[0])  # looked up once per tuple type
        return lambda value: [hook(x) for x in value]

    conv.register_unstructure_hook_factory(is_homogeneous_tuple, tuple_unstructure)

    # Arrays of JSON scalars (item responses, ids) are written as they are: one list()
    # call, not a hook per member.
    def is_plain_tuple(t: Any) -> bool:
        return is_homogeneous_tuple(t) and get_args(t)[0] in _PLAIN_MEMBERS

    conv.register_unstructure_hook_func(is_plain_tuple, list)

    def is_optional_plain_tuple(t: Any) -> bool:
        members = get_args(t) if isinstance(t, types.UnionType) else ()
        return len(members) == 2 and type(None) in members and any(map(is_plain_tuple, members))

    conv.register_unstructure_hook_func(is_optional_plain_tuple, _optional_list)

    # Optional JSON scalars (a total, a note) are written as they are, with no wrapper.
    def is_optional_scalar(t: Any) -> bool:
        members = get_args(t) if isinstance(t, types.UnionType) else ()
        return type(None) in members and all(m in _SCALARS for m in members)

    conv.register_unstructure_hook_func(is_optional_scalar, identity)

    # Schedule keeps its parsed rule in a private field that is not data (_OMITTED).
    conv.register_unstructure_hook(
        Schedule,
        make_dict_unstructure_fn(Schedule, conv, _parsed=override(omit=True)),
    )
    # Tagged unions, dispatched on "kind".
    _register_union(conv, ObjectiveTarget, get_args(ObjectiveTarget))
    _register_union(conv, Rule, RULE_TYPES)
    for cls in (*get_args(ObjectiveTarget), *RULE_TYPES):
        conv.register_structure_hook(cls, _tagged_member(conv, cls))
        conv.register_unstructure_hook(cls, _tagged_unstructure(conv, cls))

    plan_structure = make_dict_structure_fn(TreatmentPlan, conv)

    # Targets other than measures are written by the union's hook, as the generated
    # function for an objective writes them; client factors and custom instruments by
    # their own hooks, looked up once.
    union_target = conv.get_unstructure_hook(ObjectiveTarget)
    hints = typing.get_type_hints(TreatmentPlan)
    write_factors = conv.get_unstructure_hook(hints["client_factors"])
    write_instruments = conv.get_unstructure_hook(hints["custom_instruments"])

    def unstructure_plan(plan: TreatmentPlan) -> dict[str, Any]:
        # The plan's fields in field order (held to the generated function by
        # tests/test_json_fast.py), after the schema version and the phase and outcome,
        # which are derived from the history: written for readers and checked on load.
        # One literal: no dict of parts to merge.
        written: dict[int, str] = {}
        last, rule = plan.history[-1], plan.discharge_criteria
        outcome = last.outcome
        return {
            "schema_version": plan.schema_version,
            "phase": _ENUM_TEXT(last.target),
            "outcome": None if outcome is None else _ENUM_TEXT(outcome),
            "plan_id": plan.plan_id,
            "client_ref": plan.client_ref,
            "history": [_write_transition(t, written) for t in plan.history],
            "presenting_problems": [_write_problem(p) for p in plan.presenting_problems],
            "goals": [_write_goal(g, union_target) for g in plan.goals],
            "interventions": [_write_intervention(i, written) for i in plan.interventions],
            "assessments": [_write_assessment(a, written) for a in plan.assessments],
            "sessions": [_write_session(s, written) for s in plan.sessions],
            "reviews": [_write_review(r, written) for r in plan.reviews],
            "discharge_criteria": None if rule is None else _write_rule(rule),
            "client_factors": write_factors(plan.client_factors),
            "custom_instruments": write_instruments(plan.custom_instruments),
        }

    def structure_plan(value: Any, _: Any) -> TreatmentPlan:
        if not isinstance(value, dict):
            raise _Expected("a JSON object")
        body = dict(value)
        phase, outcome = body.pop("phase", None), body.pop("outcome", None)
        plan = plan_structure(body, TreatmentPlan)
        problems = []
        if phase != plan.phase.value:
            problems.append(ValidationIssue("$.phase", "the target of the last history record"))
        if outcome != (plan.outcome.value if plan.outcome is not None else None):
            problems.append(ValidationIssue("$.outcome", "the outcome of the last history record"))
        if problems:
            raise ValidationError(problems)
        return plan

    conv.register_structure_hook(TreatmentPlan, structure_plan)
    conv.register_unstructure_hook(TreatmentPlan, unstructure_plan)
    return conv


def _register_union(conv: cattrs.Converter, union: Any, members: tuple[type[Any], ...]) -> None:
    by_kind: dict[str, type[Any]] = {_tag(m): m for m in members}
    choices = ", ".join(repr(k) for k in by_kind)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _Expected("a JSON object with a kind")
        kind = value.get("kind")
        member = by_kind.get(kind) if type(kind) is str else None
        if member is None:
            err = _Expected(f"one of {choices}")
            err.__notes__ = [_Key("kind")]
            raise err
        return conv.structure(value, member)

    conv.register_structure_hook(union, structure)
    # An optional field of the union (discharge_criteria) goes through the same hook:
    # cattrs' own handling of ``X | None`` would report a missing kind as a missing key.
    conv.register_structure_hook(
        union | None, lambda value, _: None if value is None else structure(value, union)
    )

    def unstructure(value: Any) -> Any:
        return conv.unstructure(value, type(value))

    conv.register_unstructure_hook(union, unstructure)


def _tagged_member(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(cls, conv)
    tag = _tag(cls)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _Expected("a JSON object")
        body = dict(value)
        if body.pop("kind", tag) != tag:
            err = _Expected(f"kind {tag!r}")
            err.__notes__ = [_Key("kind")]
            raise err
        return inner(body, cls)

    return structure


def _tagged_unstructure(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    inner = make_dict_unstructure_fn(cls, conv)
    tag = _tag(cls)

    def unstructure(value: Any) -> dict[str, Any]:
        return {"kind": tag, **inner(value)}

    return unstructure


def _tag(cls: type[Any]) -> str:
    return str(attrs.fields_dict(cls)["kind"].default)


class _Index(str):
    """An exception note: the error is at this list index."""

    position: int

    def __new__(cls, position: int) -> _Index:
        note = super().__new__(cls, f"at index {position}")
        note.position = position
        return note


class _Key(str):
    """An exception note: the error is at this object key."""

    key: str

    def __new__(cls, key: str) -> _Key:
        note = super().__new__(cls, f"at key {key}")
        note.key = key
        return note


@functools.cache
def converter() -> cattrs.Converter:
    """The one configured converter, built on first use (keeps ``import treatplan`` fast).

    Use :func:`to_dict`/:func:`from_dict` rather than it directly.
    """
    return _make_converter()


@functools.cache
def _quick_converter() -> cattrs.Converter:
    """The converter without error detail, for the parts of a plan the fast path hands on."""
    return _make_converter(detailed=False)


# --------------------------------------------------------------------------- fast path
# A valid plan document is read by the functions below: they check each value of the
# records a plan holds many of (history, sessions, assessments) exactly as the slow
# path's hooks and the records' validators would, build the records through
# treatplan._fast, hand the few other parts to the quick converter (the same hooks and
# validated constructors), and build the plan with its validated constructor, which runs
# every check that spans the plan. On the first doubt they raise, and the document is
# read again by the detailed converter, which either reports every problem with its
# JSON path or (for something the fast path does not handle) returns the plan: the fast
# path decides nothing, it only spares a valid document the cost of error detail.
# tests/test_json_fast.py holds it to the slow path on generated plans.


class _Slow(Exception):
    """The fast path declines the document: read it with the detailed converter."""


_HOT = frozenset({"history", "sessions", "assessments"})
_ASSESSMENT_KEYS = frozenset({"id", "instrument", "administered_at", "items", "total"})
_SESSION_KEYS = frozenset(
    {"id", "at", "attendance", "interventions", "assessments", "duration_minutes", "note"}
)
_TRANSITION_KEYS = frozenset({"event", "source", "target", "at", "by", "reason", "outcome"})
_ATTENDANCE = {m.value: m for m in Attendance}
_PHASES = {m.value: m for m in Phase}
_OUTCOMES = {m.value: m for m in EpisodeOutcome}
# Enum members looked up once: class attribute access is slow.
_ATTENDED, _CLOSED = Attendance.ATTENDED, Phase.CLOSED
_STR = frozenset({str})
_FLOAT = frozenset({float})


#: Years strictly between these lie inside the plan range at any UTC offset.
_SAFE_YEARS = (v.MIN_INSTANT.year, v.MAX_INSTANT.year - 1)


#: A document's opaque references, each after a line feed: the ``ref`` validator's
#: pattern (_validation._REF, without its end anchor), repeated. A line feed is in no
#: reference's class, so each repetition reads exactly one reference, and it is
#: possessive (``*+``): one pass, no state kept for backtracking however many there are.
_REFS = re.compile(r"(?:\n[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127})*+")


class _Times(dict[str, datetime]):
    """What the fast path reads once per document, or checks once for all of it.

    Date-times: records at one session share their time. A miss parses as the slow
    path's hook does and checks the range as the validator does; the offset is whole
    minutes by the RFC 3339 pattern (no seconds), and ``fromisoformat`` gives a
    fixed-offset zone, which the model's converter keeps as it is. A hit is found by
    equality, which a ``str`` subclass given to :func:`from_dict` can fake (its own
    ``__eq__`` and ``__hash__``), so readers look times up through :meth:`time`,
    which takes only an exact ``str`` (the session and assessment readers make the
    same test inline).

    References, free text and item responses: a pattern match costs far more than the
    few characters it reads (a match state and a match object each time), and set
    tests over a few members cost more in their call than in their members; a document
    has a hundred references and dozens of assessments, so the readers collect them in
    :attr:`refs`, :attr:`texts` and :attr:`responses`, and :meth:`check` tests each
    collection once, before the plan is built.
    """

    __slots__ = ("refs", "responses", "texts")

    def __init__(self) -> None:  # dict's own __init__ has nothing to do
        #: Every string the document gives where an opaque reference belongs.
        self.refs: list[str] = []
        #: Every free-text string, once its type, length and blankness are checked.
        self.texts: list[str] = []
        #: Every assessment's item responses, as the tuples the assessments hold.
        self.responses: list[tuple[Any, ...]] = []

    def check(self) -> None:
        """Raise _Slow unless every collected reference is an opaque reference, every
        text is valid Unicode without control characters (the ``ref`` and ``text``
        validators' pattern and encoding tests), and every tuple of item responses holds
        at most 1000 integers or nulls, each from -1000 to 1000 (the items validator)."""
        responses = self.responses
        # Both set tests iterate in C without building a set; type() is exact, so a
        # bool (equal to 0 or 1) or a float is refused by the first.
        if responses and (
            max(map(len, responses)) > 1000
            or not _ITEM_TYPES.issuperset(map(type, _chain(responses)))
            or not _ITEM_VALUES.issuperset(_chain(responses))
        ):
            raise _Slow
        refs = self.refs
        if refs:
            # Each reference after a line feed; TypeError for a value that is not a
            # string. One pattern match for all (a match's own cost is many times a
            # short reference's characters), and a line feed for each reference (one
            # inside a reference would make one more).
            joined = "\n" + "\n".join(refs)
            if _REFS.fullmatch(joined) is None or joined.count("\n") != len(refs):
                raise _Slow
        # Text joined: a control character or lone surrogate is in the whole exactly
        # when it is in a part (Python never pairs surrogates of two strings).
        # A printable text has no control character (each is of category Cc): one C
        # pass, where the pattern's search reads each character through its class.
        text = "".join(self.texts)
        if (not text.isprintable() and find_control(text)) or not (
            text.isascii() or is_unicode(text)
        ):
            raise _Slow

    def time(self, text: Any) -> datetime:
        """The date-time ``text`` gives (raise _Slow unless it is exactly a ``str``)."""
        if type(text) is not str:
            raise _Slow
        return self[text]

    def __missing__(self, text: str) -> datetime:
        if not _RFC3339_ASCII.match(text):
            raise _Slow
        when = datetime.fromisoformat(text)  # ValueError: declined, like any doubt
        # Years strictly inside the range are inside it at any offset (under a day):
        # comparing times at two offsets is slow, so the ends alone are compared.
        if not _SAFE_YEARS[0] < when.year < _SAFE_YEARS[1] and not (
            v.MIN_INSTANT <= when < v.MAX_INSTANT
        ):
            raise _Slow
        self[text] = when
        return when


#: What json gives for an item response: an integer (never bool: type() is exact) or null.
_ITEM_TYPES = frozenset({int, type(None)})


#: Every item response the items validator accepts, once its type is exactly int or None.
_ITEM_VALUES = frozenset([*range(-1000, 1001), None])

# The readers' own bindings: a module global is one cached lookup, an attribute of
# another module two.
_chain = itertools.chain.from_iterable
find_control = v.find_control
is_unicode = v.is_unicode
_BLANK = v.BLANK  # v.is_blank, inline
_loaded_assessment = _fast.loaded_assessment
_loaded_session = _fast.loaded_session


def _is_text(value: Any, times: _Times, max_length: int = v.MAX_TEXT) -> bool:
    """What the ``text`` validator accepts, but for the tests :meth:`_Times.check` makes
    for the whole document: a string that is not blank, of at most ``max_length``
    characters."""
    if type(value) is not str or len(value) > max_length or not value.strip(_BLANK):
        return False
    times.texts.append(value)
    return True


def _fast_ids(value: Any) -> tuple[str, ...]:
    """A list of at most 100 distinct strings as a tuple: the ``items_of(str, ...,
    max_length=100, unique=True)`` validator of intervention, objective and problem ids."""
    if (
        type(value) is not list
        or len(value) > 100
        or not _STR.issuperset(map(type, value))
        or len(set(value)) != len(value)
    ):
        raise _Slow
    return tuple(value)


def _fast_assessment(doc: Any, times: _Times) -> Assessment:
    if type(doc) is not dict:
        raise _Slow
    if len(doc) == 5:
        # Five keys, all read below (a missing one is a KeyError): exactly the
        # assessment's keys, found without comparing a key view with them.
        items, total = doc["items"], doc["total"]
    elif doc.keys() <= _ASSESSMENT_KEYS:
        items, total = doc.get("items"), doc.get("total")
    else:
        raise _Slow
    # Opaque references, as the ``ref`` validator checks, and item responses, as the
    # items validator checks: tested for the whole document by _Times.check.
    ident, instrument = doc["id"], doc["instrument"]
    times.refs += ident, instrument
    if items is not None:
        if type(items) is not list:
            raise _Slow
        items = tuple(items)
        times.responses.append(items)
        if total is not None and (type(total) not in (int, float) or not v.is_number(total)):
            raise _Slow
    elif total is None or type(total) not in (int, float) or not v.is_number(total):
        raise _Slow  # neither responses nor a total, or not a number
    at = doc["administered_at"]
    if type(at) is not str:  # _Times.time inline: the hottest reader
        raise _Slow
    return _loaded_assessment(ident, instrument, times[at], items, total)


def _fast_sessions(value: Any, times: _Times) -> tuple[Session, ...]:
    """The plan's sessions and the assessments taken at them, in one loop: each
    assessment read as by :func:`_fast_assessment` (the same tests, inline), each
    session's fields as its hook and validators would. A plan holds more of these than
    of anything else, so the names the loop uses are looked up once, not per record."""
    if type(value) is not list:
        raise _Slow
    refs, add_ref, add_responses = times.refs, times.refs.append, times.responses.append
    make_session, make_assessment = _loaded_session, _loaded_assessment
    sessions = []
    for doc in value:
        if type(doc) is not dict:
            raise _Slow
        if len(doc) == 7:
            # Seven keys, all read below: exactly the session's keys (as for assessments).
            interventions, assessments = doc["interventions"], doc["assessments"]
            minutes, note = doc["duration_minutes"], doc["note"]
        elif doc.keys() <= _SESSION_KEYS:
            interventions = doc.get("interventions", _EMPTY)
            assessments = doc.get("assessments", _EMPTY)
            minutes, note = doc.get("duration_minutes"), doc.get("note")
        else:
            raise _Slow
        attendance = _ATTENDANCE[doc["attendance"]]  # KeyError or TypeError: declined
        if type(interventions) is not list or type(assessments) is not list:
            raise _Slow
        if interventions:
            # Distinct strings, at most 100: the interventions validator.
            if (
                len(interventions) > 100
                or not _STR.issuperset(map(type, interventions))
                or len(set(interventions)) != len(interventions)
            ):
                raise _Slow
            interventions = tuple(interventions)
        else:
            interventions = ()
        if assessments:
            if len(assessments) > 100 or attendance is not _ATTENDED:
                raise _Slow
            taken = []
            for a in assessments:
                # _fast_assessment, inline.
                if type(a) is not dict:
                    raise _Slow
                if len(a) == 5:
                    items, total = a["items"], a["total"]
                elif a.keys() <= _ASSESSMENT_KEYS:
                    items, total = a.get("items"), a.get("total")
                else:
                    raise _Slow
                ident, instrument = a["id"], a["instrument"]
                refs += ident, instrument
                if items is not None:
                    if type(items) is not list:
                        raise _Slow
                    items = tuple(items)
                    add_responses(items)
                    if total is not None and (
                        type(total) not in (int, float) or not v.is_number(total)
                    ):
                        raise _Slow
                elif total is None or type(total) not in (int, float) or not v.is_number(total):
                    raise _Slow
                at = a["administered_at"]
                if type(at) is not str:
                    raise _Slow
                taken.append(make_assessment(ident, instrument, times[at], items, total))
            assessments = tuple(taken)
        else:
            assessments = ()
        if interventions and attendance is not _ATTENDED:
            raise _Slow
        if minutes is not None and (type(minutes) is not int or not 1 <= minutes <= 24 * 60):
            raise _Slow
        if note is not None and not _is_text(note, times):
            raise _Slow
        ident, at = doc["id"], doc["at"]
        add_ref(ident)
        if type(at) is not str:  # _Times.time inline, as in _fast_assessment
            raise _Slow
        sessions.append(
            make_session(ident, times[at], attendance, interventions, assessments, minutes, note)
        )
    return tuple(sessions)


def _fast_transition(doc: Any, times: _Times) -> Transition:
    if type(doc) is not dict:
        raise _Slow
    if len(doc) == 7:
        # Seven keys, all read below: exactly the record's keys (as for assessments).
        outcome, reason = doc["outcome"], doc["reason"]
    elif doc.keys() <= _TRANSITION_KEYS:
        outcome, reason = doc.get("outcome"), doc.get("reason")
    else:
        raise _Slow
    source = doc["source"]
    if source is not None:
        source = _PHASES[source]
    target = _PHASES[doc["target"]]
    if outcome is not None:
        outcome = _OUTCOMES[outcome]
    if (target is _CLOSED) != (outcome is not None):
        raise _Slow
    if reason is not None and not _is_text(reason, times):
        raise _Slow
    event, by, at = doc["event"], doc["by"], doc["at"]
    times.refs += event, by
    return _fast.new_transition(event, source, target, times.time(at), by, reason, outcome)


def _fast_records(value: Any, build: Callable[[Any, _Times], T], times: _Times) -> tuple[T, ...]:
    if type(value) is not list:
        raise _Slow
    return tuple([build(item, times) for item in value])


# The plan's other parts (presenting problems, goals, interventions, reviews) are read
# the same way: the readers below do what the converter's hooks do (refuse unknown keys,
# look up enum members, parse dates and times, read lists) and check each field as its
# validator would (json gives exact types, so ``type(x) is str`` is the hook's and the
# validator's test), then build the record through treatplan._fast (a schedule's rule
# is checked and parsed by the class's own code there). Client factors with content,
# barriers and targets of the rare kinds are built by their validated constructors. A key left
# out is a default left out; a missing required key is a KeyError. Any doubt raises,
# and the detailed converter reads the document.
_PROGRESS_KEYS = frozenset({"objective", "achievement", "gas_level", "note"})
_REVIEW_KEYS = frozenset(
    {"id", "at", "decision", "progress", "next_review", "by", "client_requested_ending", "note"}
)
_SCHEDULE_KEYS = frozenset({"start", "rrule", "timezone"})
_INTERVENTION_KEYS = frozenset(
    {"id", "modality", "technique", "format", "serves", "schedule", "delivered_by"}
)
_MEASURE_KEYS = frozenset({"kind", "instrument", "comparator", "threshold"})
_OBJECTIVE_KEYS = frozenset(
    {"id", "description", "target", "target_date", "status", "achievement"}
)
_GOAL_KEYS = frozenset({"id", "statement", "domain", "objectives", "addresses"})
_DIAGNOSIS_KEYS = frozenset({"code", "system"})
_PROBLEM_KEYS = frozenset({"id", "description", "behavioural_definitions", "diagnosis"})
_BARRIER_KEYS = frozenset({"kind", "mitigation"})
_FACTORS_KEYS = frozenset({"readiness", "support", "barriers"})


def _members(kind: type[enum.Enum]) -> dict[Any, Any]:
    """An enum's members by value, and ``None`` for ``None`` (optional fields)."""
    return {None: None, **{m.value: m for m in kind}}


# Optional members allowed by lookup: a required field given null gets None, which
# its validator refuses, as the hook would.
_ACHIEVEMENTS = _members(AchievementStatus)
_DECISIONS = _members(ReviewDecision)
_MODALITIES = _members(Modality)
_FORMATS = _members(DeliveryFormat)
_COMPARATORS = _members(Comparator)
_GOAL_STATUSES = _members(ObjectiveStatus)
_DOMAINS = _members(GoalDomain)
_CODE_SYSTEMS = _members(CodeSystem)
_BARRIER_KINDS = _members(BarrierKind)
#: The fields' own defaults, for a key left out.
_DEFAULT_FORMAT: DeliveryFormat = attrs.fields(Intervention).format.default  # type: ignore[assignment]
_DEFAULT_STATUS: ObjectiveStatus = attrs.fields(Objective).status.default  # type: ignore[assignment]
_READINESS = _members(Readiness)
_SUPPORT = _members(SupportLevel)


def _fast_list(doc: dict[str, Any], key: str) -> list[Any]:
    """The array under ``key`` (an empty one when the key is left out)."""
    value = doc.get(key, _EMPTY)
    if type(value) is not list:
        raise _Slow
    return value


_EMPTY: list[Any] = []
#: Dates a plan may hold: years from 1900 up to (not including) 2200 (``a_date``).
_DATE_YEARS = range(v.MIN_INSTANT.year, v.MAX_INSTANT.year)


def _fast_date(value: Any) -> date | None:
    """An optional date, parsed as the date hook parses it, in the plan's range."""
    if value is None:
        return None
    if type(value) is not str or not _FULL_DATE.match(value):
        raise _Slow
    day = date.fromisoformat(value)  # ValueError: declined
    if day.year not in _DATE_YEARS:
        raise _Slow
    return day


def _fast_progress(doc: Any, times: _Times) -> ObjectiveProgress:
    if type(doc) is not dict or not doc.keys() <= _PROGRESS_KEYS:
        raise _Slow
    objective, achievement = doc["objective"], _ACHIEVEMENTS[doc["achievement"]]
    level, note = doc.get("gas_level"), doc.get("note")
    if not (
        achievement is not None
        and (level is None or (type(level) is int and -2 <= level <= 2))
        and (note is None or _is_text(note, times))
    ):
        raise _Slow
    times.refs.append(objective)
    return _fast.loaded_progress(objective, achievement, level, note)


def _fast_review(doc: Any, times: _Times) -> ProgressReview:
    if type(doc) is not dict or not doc.keys() <= _REVIEW_KEYS:
        raise _Slow
    progress = _fast_list(doc, "progress")
    if len(progress) > 1000:
        raise _Slow
    records = tuple([_fast_progress(p, times) for p in progress])
    ident, at, decision = doc["id"], doc["at"], _DECISIONS[doc["decision"]]
    at = times.time(at)
    next_review = _fast_date(doc.get("next_review"))
    by, note = doc.get("by"), doc.get("note")
    ending = doc.get("client_requested_ending", False)
    if not (
        decision is not None
        and type(ending) is bool
        and (note is None or _is_text(note, times))
        # The post-init checks: not due before the review, one record per objective.
        and (next_review is None or next_review >= at.date())
        and len({p.objective for p in records}) == len(records)
    ):
        raise _Slow
    times.refs.append(ident)
    if by is not None:
        times.refs.append(by)
    return _fast.loaded_review(ident, at, decision, records, next_review, by, ending, note)


def _fast_intervention(doc: Any, times: _Times) -> Intervention:
    if type(doc) is not dict or not doc.keys() <= _INTERVENTION_KEYS:
        raise _Slow
    schedule = doc.get("schedule")
    if schedule is not None:
        if type(schedule) is not dict or not schedule.keys() <= _SCHEDULE_KEYS:
            raise _Slow
        rule, zone = schedule["rrule"], schedule.get("timezone")
        if not (_is_text(rule, times, 500) and (zone is None or _is_text(zone, times, 64))):
            raise _Slow
        start = schedule["start"]
        schedule = _fast.loaded_schedule(times.time(start), rule, zone)
    ident, technique, by = doc["id"], doc["technique"], doc.get("delivered_by")
    modality = _MODALITIES[doc["modality"]]
    kind = _FORMATS[doc["format"]] if "format" in doc else _DEFAULT_FORMAT
    if not (modality is not None and kind is not None and _is_text(technique, times, 500)):
        raise _Slow
    times.refs.append(ident)
    if by is not None:
        times.refs.append(by)
    serves = _fast_ids(doc.get("serves", _EMPTY))
    return _fast.loaded_intervention(ident, modality, technique, kind, serves, schedule, by)


def _fast_target(doc: Any, times: _Times) -> ObjectiveTarget:
    if type(doc) is dict and doc.get("kind") == "measure" and doc.keys() <= _MEASURE_KEYS:
        instrument, threshold = doc["instrument"], doc["threshold"]
        comparator = _COMPARATORS[doc["comparator"]]
        if not (
            comparator is not None and type(threshold) in (int, float) and v.is_number(threshold)
        ):
            raise _Slow
        times.refs.append(instrument)
        return _fast.loaded_measure_target(instrument, comparator, threshold)
    # The other kinds are rare: the quick converter reads them (same hooks and constructors).
    target: ObjectiveTarget = _quick_converter().structure(doc, ObjectiveTarget)  # type: ignore[arg-type]
    return target


def _fast_objective(doc: Any, times: _Times) -> Objective:
    if type(doc) is not dict or not doc.keys() <= _OBJECTIVE_KEYS:
        raise _Slow
    ident, description = doc["id"], doc["description"]
    target = _fast_target(doc["target"], times)
    target_date = _fast_date(doc["target_date"])
    status = _GOAL_STATUSES[doc["status"]] if "status" in doc else _DEFAULT_STATUS
    achievement = _ACHIEVEMENTS[doc.get("achievement")]
    if not (_is_text(description, times) and target_date is not None and status is not None):
        raise _Slow
    times.refs.append(ident)
    return _fast.loaded_objective(ident, description, target, target_date, status, achievement)


def _fast_goal(doc: Any, times: _Times) -> Goal:
    if type(doc) is not dict or not doc.keys() <= _GOAL_KEYS:
        raise _Slow
    objectives = _fast_list(doc, "objectives")
    if len(objectives) > 100:
        raise _Slow
    records = tuple([_fast_objective(o, times) for o in objectives])
    ident, statement, domain = doc["id"], doc["statement"], _DOMAINS[doc["domain"]]
    if not (_is_text(statement, times) and domain is not None):
        raise _Slow
    times.refs.append(ident)
    addresses = _fast_ids(doc.get("addresses", _EMPTY))
    return _fast.loaded_goal(ident, statement, domain, records, addresses)


def _fast_problem(doc: Any, times: _Times) -> PresentingProblem:
    if type(doc) is not dict or not doc.keys() <= _PROBLEM_KEYS:
        raise _Slow
    diagnosis = doc.get("diagnosis")
    if diagnosis is not None:
        if type(diagnosis) is not dict or not diagnosis.keys() <= _DIAGNOSIS_KEYS:
            raise _Slow
        code, system = diagnosis["code"], _CODE_SYSTEMS[diagnosis["system"]]
        if system is None:
            raise _Slow
        times.refs.append(code)
        diagnosis = _fast.loaded_diagnosis(code, system)
    definitions = _fast_list(doc, "behavioural_definitions")
    # At most 100 free texts (v.texts, that field's validator).
    if len(definitions) > 100 or not all(_is_text(d, times) for d in definitions):
        raise _Slow
    ident, description = doc["id"], doc["description"]
    if not _is_text(description, times):
        raise _Slow
    times.refs.append(ident)
    return _fast.loaded_problem(ident, description, tuple(definitions), diagnosis)


#: The factors of a document that states none: immutable, and equal to a fresh one.
_NO_FACTORS = ClientFactors()


def _fast_client_factors(doc: Any) -> ClientFactors:
    if type(doc) is not dict or not doc.keys() <= _FACTORS_KEYS:
        raise _Slow
    readiness, support = _READINESS[doc.get("readiness")], _SUPPORT[doc.get("support")]
    listed = _fast_list(doc, "barriers")
    if not listed and readiness is None and support is None:
        return _NO_FACTORS
    barriers = []
    for b in listed:
        if type(b) is not dict or not b.keys() <= _BARRIER_KEYS:
            raise _Slow
        barriers.append(Barrier(kind=_BARRIER_KINDS[b["kind"]], mitigation=b.get("mitigation")))
    return ClientFactors(readiness=readiness, support=support, barriers=barriers)


# How _fast_rule reads each field of a rule: the checks the field's hook, converter and
# validator make, inline. An integer's range is not in its type: the table below gives
# each integer field's range, as its ``v.integer`` validator in treatplan._rules states
# it (tests/test_json_fast.py holds the table to the validators at both ends).
_INT, _BOOL, _ENUM, _CODES, _IDS, _FRACTIONS, _RULES = range(7)
_RULE_INTS: dict[tuple[type[Any], str], tuple[int, int]] = {
    (SessionLimit, "max_sessions"): (1, 10_000),
    (ConsecutiveMissed, "count"): (1, 1000),
    (MissedInWindow, "max_missed"): (0, 1000),
    (MissedInWindow, "window"): (1, 1000),
    (MissedWithinDays, "count"): (1, 1000),
    (MissedWithinDays, "days"): (1, 36_500),
    (Inactivity, "days"): (1, 36_500),
    (TimeLimit, "days"): (1, 36_500),
    (SustainedRecovery, "consecutive"): (1, 1000),
    (Plateau, "window"): (2, 1000),
    (AuthorisationUsed, "authorised_sessions"): (1, 10_000),
}
#: A rule field's read: its name, how it is read (``_INT`` ...), what that needs (a
#: range, an enum's members) and its default (``_NO_DEFAULT``: required).
_RuleField = tuple[str, int, Any, Any]
_NO_DEFAULT: Any = object()


def _rule_field(cls: type[Any], a: attrs.Attribute[Any], kind: Any) -> _RuleField | None:
    """How :func:`_fast_rule` reads field ``a`` of rule class ``cls`` (of type ``kind``),
    or None for a field it has no inline check for."""
    default = _NO_DEFAULT if a.default is attrs.NOTHING else a.default
    if (cls, a.name) in _RULE_INTS:
        return a.name, _INT, _RULE_INTS[cls, a.name], default
    if kind is bool:
        return a.name, _BOOL, None, default
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return a.name, _ENUM, {m.value: m for m in kind}, default
    if a.validator is _instrument_codes:
        return a.name, _CODES, None, default
    if cls is GoalsMet and a.name == "objectives":
        return a.name, _IDS, None, default
    if a.validator is v.increasing_fractions:
        return a.name, _FRACTIONS, None, default
    if a.validator is _rules_validator:
        return a.name, _RULES, None, default
    return None


def _rule_reader(
    cls: type[Any],
) -> tuple[frozenset[str], tuple[_RuleField, ...], Callable[..., Any], Any] | None:
    """How :func:`_fast_rule` reads rule class ``cls``: the keys it takes, each init
    field's read (in order), its maker and its post-init check (or None); None (the
    document is declined) for a field of a kind the reader has no check for."""
    hints = typing.get_type_hints(cls)
    fields = []
    for a in attrs.fields(cls):
        if not a.init:
            continue
        read = _rule_field(cls, a, hints[a.name])
        if read is None:
            return None
        fields.append(read)
    keys = frozenset(f[0] for f in fields) | {"kind"}
    post = getattr(cls, "__attrs_post_init__", None)
    return keys, tuple(fields), _fast.loaded_rules[cls], post


_RULE_READERS = {_tag(cls): _rule_reader(cls) for cls in RULE_TYPES}


def _fast_rule(doc: Any, times: _Times, depth: int = 0) -> Rule:
    """A termination rule, nested ones included, ``depth`` composites down.

    Each field is checked as its hook, converter and validator would check it (a list
    of rules as ``_rules_validator``: 1 to 100 rules, nested at most MAX_RULE_DEPTH
    composites deep), its opaque references collected for :meth:`_Times.check`; a key
    left out takes the field's default (constants, valid by construction); the class's
    own post-init check runs. Rules alone nest without bound in a plan document
    (any_of, all_of), so only here is the depth counted; a value of any other field
    nested deep in a rule is refused at its first level, without recursion."""
    if type(doc) is not dict:
        raise _Slow
    kind = doc.get("kind")
    reader = _RULE_READERS.get(kind) if type(kind) is str else None
    if reader is None:
        raise _Slow
    keys, fields, make, post = reader
    if not doc.keys() <= keys:
        raise _Slow
    values = []
    for name, kind, spec, default in fields:
        value = doc.get(name, _NO_DEFAULT)
        if value is _NO_DEFAULT:
            if default is _NO_DEFAULT:
                raise _Slow  # a required key left out
            value = default
        elif kind == _INT:
            if type(value) is not int or not spec[0] <= value <= spec[1]:
                raise _Slow
        elif kind == _BOOL:
            if type(value) is not bool:
                raise _Slow
        elif kind == _ENUM:
            value = spec[value]  # KeyError or TypeError: declined
        elif kind == _RULES:
            # _rules_validator: 1 to 100 rules; a composite at depth MAX_RULE_DEPTH
            # would make its ancestors deeper than allowed.
            if type(value) is not list or not 1 <= len(value) <= 100 or depth >= MAX_RULE_DEPTH:
                raise _Slow
            value = tuple([_fast_rule(r, times, depth + 1) for r in value])
        elif kind == _FRACTIONS:
            # Floats strictly between 0 and 1, strictly increasing, at most 20
            # (increasing_fractions; an int is never strictly between 0 and 1).
            if (
                type(value) is not list
                or len(value) > 20
                or not _FLOAT.issuperset(map(type, value))
                or not all(0.0 < f < 1.0 for f in value)
                or value != sorted(set(value))
            ):
                raise _Slow
            value = tuple(value)
        else:
            # Instrument codes (1 to 100 distinct opaque references) or objective ids
            # (distinct strings): items_of's checks.
            if (
                type(value) is not list
                or not _STR.issuperset(map(type, value))
                or len(set(value)) != len(value)
                or len(value) > (100 if kind == _CODES else 100_000)
            ):
                raise _Slow
            if kind == _CODES:
                if not value:
                    raise _Slow
                times.refs += value
            value = tuple(value)
        values.append(value)
    rule: Rule = make(*values)
    if post is not None:
        post(rule)  # ValidationError: declined
    return rule


#: The readers of the plan's lists of records, by field name.
_LIST_READERS: dict[str, Callable[[Any, _Times], Any]] = {
    "history": _fast_transition,
    "assessments": _fast_assessment,
    "reviews": _fast_review,
    "interventions": _fast_intervention,
    "goals": _fast_goal,
    "presenting_problems": _fast_problem,
}


@functools.cache
def _plan_types() -> dict[str, Any]:
    """The plan's fields and their types: the keys a plan document may have."""
    hints = typing.get_type_hints(TreatmentPlan)
    return {a.name: hints[a.name] for a in attrs.fields(TreatmentPlan) if a.init}


def _fast_plan(doc: Any) -> TreatmentPlan:
    """A plan from a valid document; raises on any doubt (see above)."""
    if type(doc) is not dict or doc.get("schema_version") != SCHEMA_VERSION:
        raise _Slow  # older documents are migrated on the detailed path
    _check_record_count(doc)
    body = dict(doc)
    phase, outcome = body.pop("phase", None), body.pop("outcome", None)
    types = _plan_types()
    if not body.keys() <= types.keys():
        raise _Slow
    times = _Times()
    quick = _quick_converter()
    fields: dict[str, Any] = {}
    for name, value in body.items():
        reader = _LIST_READERS.get(name)
        if reader is not None:
            fields[name] = _fast_records(value, reader, times)
        elif name == "sessions":
            fields[name] = _fast_sessions(value, times)
        elif name == "client_factors":
            fields[name] = _fast_client_factors(value)
        elif name == "plan_id" or name == "client_ref" or name == "schema_version":
            fields[name] = value  # checked by loaded_plan
        elif name == "discharge_criteria":
            # Only rules nest without bound (any_of, all_of), and _fast_rule counts
            # their depth: every other part the converter accepts has the schema's few
            # levels, far below MAX_DEPTH.
            fields[name] = None if value is None else _fast_rule(value, times)
        else:
            fields[name] = quick.structure(value, types[name])
    times.check()  # every reference and text of the document at once
    # Every check that spans the plan runs; the field validators, which the readers
    # above have done the work of, do not (see loaded_plan).
    plan = _fast.loaded_plan(fields)
    if phase != plan.phase.value or outcome != (
        plan.outcome.value if plan.outcome is not None else None
    ):
        raise _Slow
    return plan


# --------------------------------------------------------------------------- fast dump
# The plan's lists (history, sessions, assessments, reviews, interventions, goals,
# presenting problems) are written by the functions below instead of the converter's
# generated ones, and the rules by _write_rule (client factors and custom instruments
# are not): the same keys in the same
# order with the same values (the hooks the converter registers above: isoformat for
# date-times, the value of an enum as a plain str, a list for a tuple of scalars), each
# date-time written once per dump (records at one session share their time object).
# tests/test_json_fast.py holds them to the generated functions on generated plans.

_ISOFORMAT = datetime.isoformat
_DATE_ISOFORMAT = date.isoformat
#: An enum member's value as a plain str (as the registered StrEnum hook writes it).
_ENUM_TEXT = str.__str__


def _write_time(at: datetime, written: dict[int, str]) -> str:
    """``at`` as text, once per dump: keyed by identity, as the plan holds every object
    written for as long as the dump runs (equal date-times at other offsets differ)."""
    text = written.get(id(at))
    if text is None:
        text = written[id(at)] = _time_text(at)
    return text


#: "00" to "99", for :func:`_time_text`.
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def _time_text(at: datetime) -> str:
    """What ``datetime.isoformat`` writes for ``at``. A whole-second time at UTC (the
    usual plan time) is put together from two-digit pieces: isoformat formats each
    field through printf, at some ten times the cost. tests/test_json_fast.py holds
    the two to the same text."""
    if type(at) is datetime and at.tzinfo is UTC and not at.microsecond and at.year >= 1000:
        two = _TWO_DIGITS
        return (
            f"{at.year}-{two[at.month]}-{two[at.day]}"
            f"T{two[at.hour]}:{two[at.minute]}:{two[at.second]}+00:00"
        )
    return _ISOFORMAT(at)


def _date_text(day: date) -> str:
    """What ``date.isoformat`` writes for ``day``, put together as :func:`_time_text`
    puts a time."""
    if type(day) is date and day.year >= 1000:
        two = _TWO_DIGITS
        return f"{day.year}-{two[day.month]}-{two[day.day]}"
    return _DATE_ISOFORMAT(day)


def _write_assessment(a: Assessment, written: dict[int, str]) -> dict[str, Any]:
    items = a.items
    return {
        "id": a.id,
        "instrument": a.instrument,
        "administered_at": _write_time(a.administered_at, written),
        "items": None if items is None else list(items),
        "total": a.total,
    }


def _write_session(s: Session, written: dict[int, str]) -> dict[str, Any]:
    at = s.at
    text = _write_time(at, written)
    return {
        "id": s.id,
        "at": text,
        "attendance": _ENUM_TEXT(s.attendance),
        "interventions": list(s.interventions),
        # _write_assessment inline: a session writes several, usually at its own time
        # (one object), whose text it has.
        "assessments": [
            {
                "id": a.id,
                "instrument": a.instrument,
                "administered_at": text
                if a.administered_at is at
                else _write_time(a.administered_at, written),
                "items": None if a.items is None else list(a.items),
                "total": a.total,
            }
            for a in s.assessments
        ],
        "duration_minutes": s.duration_minutes,
        "note": s.note,
    }


def _write_transition(t: Transition, written: dict[int, str]) -> dict[str, Any]:
    source, outcome = t.source, t.outcome
    return {
        "event": t.event,
        "source": None if source is None else _ENUM_TEXT(source),
        "target": _ENUM_TEXT(t.target),
        "at": _write_time(t.at, written),
        "by": t.by,
        "reason": t.reason,
        "outcome": None if outcome is None else _ENUM_TEXT(outcome),
    }


def _write_review(r: ProgressReview, written: dict[int, str]) -> dict[str, Any]:
    next_review = r.next_review
    return {
        "id": r.id,
        "at": _write_time(r.at, written),
        "decision": _ENUM_TEXT(r.decision),
        "progress": [
            {
                "objective": p.objective,
                "achievement": _ENUM_TEXT(p.achievement),
                "gas_level": p.gas_level,
                "note": p.note,
            }
            for p in r.progress
        ],
        "next_review": None if next_review is None else _date_text(next_review),
        "by": r.by,
        "client_requested_ending": r.client_requested_ending,
        "note": r.note,
    }


def _write_intervention(i: Intervention, written: dict[int, str]) -> dict[str, Any]:
    schedule = i.schedule
    return {
        "id": i.id,
        "modality": _ENUM_TEXT(i.modality),
        "technique": i.technique,
        "format": _ENUM_TEXT(i.format),
        "serves": list(i.serves),
        "schedule": None
        if schedule is None
        else {
            "start": _write_time(schedule.start, written),
            "rrule": schedule.rrule,
            "timezone": schedule.timezone,
        },
        "delivered_by": i.delivered_by,
    }


def _write_goal(g: Goal, union_target: Callable[[Any], Any]) -> dict[str, Any]:
    objectives = []
    for o in g.objectives:
        target, achievement = o.target, o.achievement
        objectives.append(
            {
                "id": o.id,
                "description": o.description,
                "target": {
                    "kind": "measure",
                    "instrument": target.instrument,
                    "comparator": _ENUM_TEXT(target.comparator),
                    "threshold": target.threshold,
                }
                if type(target) is MeasureTarget
                else union_target(target),
                "target_date": _date_text(o.target_date),
                "status": _ENUM_TEXT(o.status),
                "achievement": None if achievement is None else _ENUM_TEXT(achievement),
            }
        )
    return {
        "id": g.id,
        "statement": g.statement,
        "domain": _ENUM_TEXT(g.domain),
        "objectives": objectives,
        "addresses": list(g.addresses),
    }


def _write_problem(p: PresentingProblem) -> dict[str, Any]:
    diagnosis = p.diagnosis
    return {
        "id": p.id,
        "description": p.description,
        "behavioural_definitions": list(p.behavioural_definitions),
        "diagnosis": None
        if diagnosis is None
        else {"code": diagnosis.code, "system": _ENUM_TEXT(diagnosis.system)},
    }


def _rule_writer(cls: type[Any]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """How :func:`_write_rule` writes rule class ``cls``: its tag, and each init field's
    name with what makes its value JSON-ready (None: written as it is)."""
    hints = typing.get_type_hints(cls)
    fields = []
    for a in attrs.fields(cls):
        if not a.init:
            continue
        kind = hints[a.name]
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            how: Any = _ENUM_TEXT
        elif kind == tuple[Rule, ...]:
            how = _write_rules
        elif getattr(kind, "__origin__", None) is tuple:
            how = list  # strings or numbers
        else:
            how = None  # an int or a bool
        fields.append((a.name, how))
    return _tag(cls), tuple(fields)


def _write_rule(rule: Any) -> dict[str, Any]:
    """A termination rule as the converter's generated functions write it: its kind,
    then each init field in order (tests/test_json_fast.py holds the two to the same
    output)."""
    tag, fields = _RULE_WRITERS[type(rule)]
    out: dict[str, Any] = {"kind": tag}
    for name, how in fields:
        value = getattr(rule, name)
        out[name] = value if how is None else how(value)
    return out


def _write_rules(rules: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [_write_rule(r) for r in rules]


_RULE_WRITERS = {cls: _rule_writer(cls) for cls in RULE_TYPES}


# --------------------------------------------------------------------------- errors
def _problems(exc: BaseException, path: str = "$", member: Any = None) -> list[ValidationIssue]:
    """Flatten a cattrs error tree into problems with JSON paths. Values are never echoed."""
    if isinstance(exc, ValidationError):
        return list(exc.prefixed(path).problems)
    if isinstance(exc, ForbiddenExtraKeysError):
        return [_unknown_key_problem(path, exc.cl, len(exc.extra_fields))]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        out: list[ValidationIssue] = []
        # The type of a list's members, from the note on the list (tuple[Goal, ...]).
        of = None
        if isinstance(exc, IterableValidationError):
            for note in getattr(exc, "__notes__", []):
                args = get_args(getattr(note, "type", None))
                of = args[0] if args else of
        for inner in exc.exceptions:
            step = _step(inner)
            if step is _MAPPING_VALUE:
                # A value under an object key: reported at the object, as keys are never
                # named (a key is document content too).
                out.extend(
                    ValidationIssue(p.path, "values that are each " + p.expected)
                    for p in _problems(inner, path)
                )
            else:
                out.extend(_problems(inner, path + step, of))
        return out
    if isinstance(exc, _Expected):
        return [ValidationIssue(path, str(exc))]
    if isinstance(exc, KeyError):
        return [ValidationIssue(path, "a required key")]
    if isinstance(exc, RecursionError):
        return [ValidationIssue(path, f"nesting no deeper than {MAX_DEPTH}")]
    # The type being built (a list member, or a field cattrs noted): say which.
    kinds = [member, *(getattr(n, "type", None) for n in getattr(exc, "__notes__", []))]
    for kind in kinds:
        # An optional part (``Schedule | None``) is the class or null.
        members = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
        for member_kind in members:
            if isinstance(member_kind, type) and attrs.has(member_kind):
                name = member_kind.__name__
                article = "an" if name[0] in "AEIOU" else "a"
                null = " or null" if type(None) in members else ""
                return [ValidationIssue(path, f"an object ({article} {name}){null}")]
    return [ValidationIssue(path, "a valid value")]


#: Unknown keys named in error paths: plain names only. A key is document content too,
#: and one with spaces could be a sentence of clinical text.


def _unknown_key_problem(path: str, cls: Any, count: int) -> ValidationIssue:
    """Unknown keys, reported at their object without their names: a key is document
    content too, and may be free text. The message lists the keys the object takes."""
    names = [a.name for a in attrs.fields(cls) if a.init] if attrs.has(cls) else []
    if names and "kind" in attrs.fields_dict(cls):
        names.insert(0, "kind")
    if cls is TreatmentPlan:
        names[1:1] = ["phase", "outcome"]
    found = f"{count} unknown key{'s' if count != 1 else ''} found"
    allowed = f"; the keys here are: {', '.join(names)}" if names else ""
    return ValidationIssue(path, f"only known keys ({found}{allowed})")


#: The step to a value under a key of a JSON object read as a mapping: it has no path
#: of its own, so that the key is not echoed.
_MAPPING_VALUE = "[*]"


def _step(exc: BaseException) -> str:
    step = ""
    for note in getattr(exc, "__notes__", []):
        if isinstance(note, _Index):
            step = f"[{note.position}]"
        elif isinstance(note, IterableValidationNote):
            step = f"[{note.index}]" if v.is_int(note.index) else _MAPPING_VALUE
        elif isinstance(note, _Key):
            step = f".{note.key}"
        elif isinstance(note, AttributeValidationNote):
            step = f".{note.name}"
    return step


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests no deeper than ``limit``: one level at a time, containers only
    (the leaves of a large document are most of it and need no look)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit + 1):
        if not level:
            return True
        below: list[Any] = []
        for item in level:
            members = item.values() if type(item) is dict else item
            below += [x for x in members if type(x) is dict or type(x) is list]
        level = below
    return not level


# --------------------------------------------------------------------------- documents
#: Field types the converter writes as JSON scalars (times as RFC 3339 text).
_JSON_SCALARS = frozenset({str, int, float, bool, type(None), datetime, date})
#: Fields the converter leaves out of documents: derived state, not data (the
#: Schedule hook in _make_converter omits it).
_OMITTED = frozenset({(Schedule, "_parsed")})


#: Class -> whether it is a document class, decided on first use.
_DOCUMENT_CLASSES: dict[type[Any], bool] = {}


def _is_document_class(cls: type[Any]) -> bool:
    """Whether ``cls`` is a document class: an attrs class of treatplan whose every field
    holds JSON data (scalars, times, enums, arrays, objects with string keys, other such
    classes), so that the converter reads and writes it as plain JSON. Plans, their
    parts, policies, findings and the simulator's scenarios are; a transition table
    (with guard functions) or a run's result (with paths) is not. Decided once a class."""
    known = _DOCUMENT_CLASSES.get(cls)
    if known is None:
        known = _DOCUMENT_CLASSES[cls] = attrs.has(cls) and _is_json_type(cls, set())
    return known


def _is_json_type(kind: Any, open_classes: set[type[Any]]) -> bool:
    if kind in _JSON_SCALARS:
        return True
    if isinstance(kind, type):
        if issubclass(kind, enum.Enum):
            return all(type(m.value) in (str, int) for m in kind)
        if not attrs.has(kind) or not kind.__module__.startswith("treatplan."):
            return False
        if kind in open_classes:  # being checked further up (a rule inside AnyOf)
            return True
        open_classes.add(kind)
        try:
            hints = typing.get_type_hints(kind)
        except NameError:  # an annotation only a type checker sees: not a document class
            return False
        return all(
            (kind, field.name) in _OMITTED or _is_json_type(hints[field.name], open_classes)
            for field in attrs.fields(kind)
        )
    origin, args = typing.get_origin(kind), get_args(kind)
    if origin is typing.Literal:
        return all(type(arg) in (str, int, bool) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return all(_is_json_type(arg, open_classes) for arg in args)
    if origin is tuple:
        return all(arg is Ellipsis or _is_json_type(arg, open_classes) for arg in args)
    if origin in (dict, Mapping):
        key, member = args
        return key is str and _is_json_type(member, open_classes)
    return False


def _is_document(value: Any, depth: int = 0) -> bool:
    """Whether :func:`to_dict` writes ``value``: an instance of a document class, or a
    tuple or list of them, or a mapping from text to them (such as
    :func:`~treatplan.instruments.plan_series`), nested no deeper than a document may be."""
    kind = type(value)
    if kind is tuple or kind is list:
        return depth < MAX_DEPTH and all(_is_document(member, depth + 1) for member in value)
    if _is_document_class(kind):
        return True
    if isinstance(value, Mapping):
        return depth < MAX_DEPTH and all(
            type(key) is str and _is_document(member, depth + 1) for key, member in value.items()
        )
    return False


def _unstructured(value: Any) -> JsonValue:
    """``value`` (a document, :func:`_is_document`) as JSON-ready data: the converter's,
    with each mapping a dict (the converter would rebuild a mapping's own type)."""
    kind = type(value)
    if isinstance(value, Mapping):
        return {key: _unstructured(member) for key, member in value.items()}
    if (kind is tuple or kind is list) and any(isinstance(m, Mapping) for m in value):
        return [_unstructured(member) for member in value]
    out: JsonValue = converter().unstructure(value)
    return out


_NOT_A_DOCUMENT = (
    "a treatplan plan or plan part (or a tuple or list of them, or a mapping from text to them)"
)


# --------------------------------------------------------------------------- public
@overload
def to_dict(
    value: AttrsInstance | Mapping[str, object],
) -> dict[str, JsonValue]: ...
@overload
def to_dict(value: tuple[AttrsInstance, ...] | list[Part]) -> list[JsonValue]: ...
def to_dict(
    value: AttrsInstance | tuple[AttrsInstance, ...] | list[Part] | Mapping[str, object],
) -> JsonValue:
    """A plan (or any part of one) as JSON-ready Python data: a dict for a plan or part,
    a list for a tuple or list of them.

    ``value`` is what :func:`from_dict` reads: a :class:`TreatmentPlan`, a part of one
    (a goal, a session, a rule, ...), a policy, findings, an alert, a simulator
    scenario, or a tuple or list of those; or a dict from text to any of these (such
    as :func:`~treatplan.instruments.plan_series`), written as a JSON object. Anything
    else raises :class:`~treatplan.ArgumentError`.
    """
    if not _is_document(value):
        raise ArgumentError("value", _NOT_A_DOCUMENT)
    return _unstructured(value)


def _readable(kind: Any) -> bool:
    """Whether the converter reads documents of ``kind``: a document class, one of the
    tagged unions, or a tuple or list of those (``tuple[Alert, ...]``)."""
    if (
        kind is Rule
        or kind is ObjectiveTarget
        or (isinstance(kind, type) and _is_document_class(kind))
    ):
        return True
    if typing.get_origin(kind) in (tuple, list):
        return all(arg is Ellipsis or _readable(arg) for arg in get_args(kind))
    return False


def _check_kind(kind: Any) -> str:
    """The name of a document ``kind`` the converter reads, or an ArgumentError."""
    if not _readable(kind):
        raise ArgumentError(
            "kind", "a treatplan class such as TreatmentPlan or ReviewPolicy (or Rule)"
        )
    if kind is Rule:
        return "termination rule"
    if kind is ObjectiveTarget:
        return "objective target"
    return str(kind.__name__)


@overload
def from_dict(data: object) -> TreatmentPlan: ...
@overload
def from_dict(data: object, kind: type[T]) -> T: ...
@overload
def from_dict(data: object, kind: types.UnionType) -> Rule | ObjectiveTarget: ...
def from_dict(data: Any, kind: Any = TreatmentPlan) -> Any:
    """Build a ``kind`` (default :class:`TreatmentPlan`) from JSON-ready data.

    ``kind`` is a treatplan class (a plan, a part of one, a policy, ...), one of the
    unions :data:`~treatplan.rules.Rule` and :data:`ObjectiveTarget`, or a tuple or
    list of those (``tuple[Alert, ...]``). A type checker sees the result of a union
    ``kind`` as ``Rule | ObjectiveTarget`` (it cannot tell the two apart): narrow it
    with ``isinstance``. Raises :class:`ValidationError` listing every problem with
    its JSON path.
    """
    name = _check_kind(kind)
    if kind is TreatmentPlan:
        _check_version(data)
        try:
            return _fast_plan(data)
        except Exception:  # declined: the detailed path below decides
            pass
    if not _depth_ok(data):
        raise ValidationError.at("$", f"a document nested no deeper than {MAX_DEPTH} levels")
    if kind is TreatmentPlan:
        data = migrate(data)  # documents of earlier schema versions upgrade first
        _check_record_count(data)
    try:
        return converter().structure(data, kind)
    except Exception as exc:  # every failure becomes the one library error
        problems = _problems(exc)
    # Raised outside the handler, so the error has no __context__: the cattrs
    # exceptions underneath may name document keys.
    raise ValidationError(problems, f"invalid {name} document")


def _check_record_count(data: Any) -> None:
    """Refuse a plan document with more than MAX_RECORDS records, before building any."""
    count = 0
    for key in ("history", "assessments", "sessions", "reviews"):
        records = data.get(key)
        if isinstance(records, list):
            count += len(records)
            if key == "sessions":
                count += sum(
                    len(s["assessments"])
                    for s in records
                    if isinstance(s, dict) and isinstance(s.get("assessments"), list)
                )
    if count > MAX_RECORDS:
        raise LimitError.at(
            "$",
            f"a plan of at most {MAX_RECORDS:,} records "
            "(history, sessions, assessments and reviews together)",
        )


def _check_version(data: Any) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError.at("$", "a JSON object (a treatment plan document)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationError.at("$.schema_version", "an integer schema version")
    if version > SCHEMA_VERSION:
        # Name small versions only: str() of a 5000-digit int raises ValueError.
        which = f"version {version}" if version <= 1_000_000 else "a much newer version"
        raise ValidationError.at(
            "$.schema_version",
            f"a schema version this release reads (1 to {SCHEMA_VERSION}); "
            f"the document is {which}: upgrade treatplan to read it",
        )
    if version < 1:
        raise ValidationError.at("$.schema_version", f"an integer from 1 to {SCHEMA_VERSION}")


@overload
def dumps(
    value: AttrsInstance | Mapping[str, object],
    *,
    indent: int | None = 2,
) -> str: ...
@overload
def dumps(value: tuple[AttrsInstance, ...] | list[Part], *, indent: int | None = 2) -> str: ...
def dumps(
    value: AttrsInstance | tuple[AttrsInstance, ...] | list[Part] | Mapping[str, object],
    *,
    indent: int | None = 2,
) -> str:
    """Serialise a plan (or part) as JSON text. ``loads(dumps(p)) == p``.

    ``value`` is what :func:`to_dict` takes. ``indent=None`` writes compact JSON,
    without spaces after separators.
    """
    if indent is not None and not (v.is_int(indent) and 0 <= indent <= 16):
        raise ArgumentError("indent", "None (compact) or a number of spaces from 0 to 16")
    data = to_dict(value)
    try:
        return json.dumps(
            data,
            indent=indent,
            separators=(",", ":") if indent is None else None,
            ensure_ascii=False,
            allow_nan=False,
            # to_dict builds a new tree from frozen values, which cannot hold themselves:
            # no cycle to look for (the check costs a dict insert and delete per container).
            check_circular=False,
        )
    except ValueError:
        # A number JSON cannot hold (NaN, an infinity) in a result whose fields are not
        # checked as a plan's are. Raised below, outside the handler: json's message
        # quotes the value.
        pass
    raise ArgumentError("value", "a treatplan plan or plan part holding only finite numbers")


@overload
def loads(text: str | bytes) -> TreatmentPlan: ...
@overload
def loads(text: str | bytes, kind: type[T]) -> T: ...
@overload
def loads(text: str | bytes, kind: types.UnionType) -> Rule | ObjectiveTarget: ...
def loads(text: str | bytes, kind: Any = TreatmentPlan) -> Any:
    """Parse JSON text into a ``kind`` (default :class:`TreatmentPlan`; the kinds
    :func:`from_dict` reads).

    Raises :class:`ValidationError` for text that is not JSON, or not a valid document.
    """
    if not isinstance(text, str | bytes | bytearray):
        raise ValidationError.at("$", "JSON text (str or bytes)")
    _check_kind(kind)
    if len(text) > MAX_DOCUMENT_SIZE:  # before parsing: a huge input costs nothing
        raise LimitError.at(
            "$", f"a document of at most {MAX_DOCUMENT_SIZE:,} bytes (characters for a str)"
        )
    where: str | None = None
    try:
        data = _parse(text)
    except RecursionError:
        # Well-formed perhaps, but nested deeper than Python's parser recurses.
        where = "deep"
    except (ValueError, UnicodeDecodeError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
    # Raised outside the handler: no __context__ with document text.
    if where == "deep":
        raise ValidationError.at("$", f"a document nested no deeper than {MAX_DEPTH} levels")
    if where is not None:
        raise ValidationError.at("$", f"well-formed JSON{where}")
    return from_dict(data, kind)


def _parse(text: str | bytes | bytearray) -> Any:
    try:
        if type(text) is str and not text.startswith("\ufeff"):
            # What json.loads does with such text, by a decoder made once rather than
            # on every call (json.loads makes one for any hook).
            return _DECODER.decode(text)
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
    # Not a syntax error: an integer too long for Python to convert. Read again with
    # a Python hook for integers (slower, so only now).
    return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)


def _parse_int(digits: str) -> int | float:
    # Python refuses to convert an integer of thousands of digits (a ValueError that
    # would read as malformed JSON); no field takes one, so read it as out of range
    # and let the field's check name its path.
    return int(digits) if len(digits) <= 400 else math.inf


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python's json would otherwise accept them.
    raise _Expected("finite numbers")


#: The decoder :func:`_parse` reads text with: json's own, refusing NaN and Infinity.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
