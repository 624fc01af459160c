"""The treatment plan model: frozen, validated value classes.

Structure follows the planning practice in Jongsma & Peterson, *The Complete
Adult Psychotherapy Treatment Planner* (presenting problem -> long-term goal ->
short-term SMART objectives -> interventions -> reviews -> discharge criteria),
CARF 2.C and Joint Commission CTS.03.01.03. Status vocabularies map to FHIR
R4/R5 value sets (see docs/references.md#lifecycle-and-fhir).

Every class validates itself at construction; the :class:`TreatmentPlan`
additionally checks the references between its parts (unique ids, objectives
served by interventions that exist, assessments that fit their instrument,
a history that is a connected path). No personal identifiers: the client is an
opaque reference.
"""

from __future__ import annotations

import bisect
import enum
import re
import warnings
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal, TypedDict, Unpack, cast

import attrs
from dateutil import rrule as _rrule

from . import _validation as v
from ._errors import ArgumentError, UnknownReferenceError, ValidationError, ValidationIssue
from ._instruments import BUILTIN_INSTRUMENTS, Instrument, uniform_responses
from ._memo import ValueCache
from ._records import SlottedRecord, counted, record_repr, short_ref
from ._rules import RULE_TYPES, Rule
from ._transitions import BY_NAME, RECORDING_PHASES, EpisodeOutcome, Phase

__all__ = [
    "SCHEMA_VERSION",
    "AchievementStatus",
    "Assessment",
    "Attendance",
    "Barrier",
    "BarrierKind",
    "BehaviourTarget",
    "ClientFactors",
    "CodeSystem",
    "Comparator",
    "CountPeriod",
    "DeliveryFormat",
    "Diagnosis",
    "EpisodeOutcome",
    "GasTarget",
    "Goal",
    "GoalDomain",
    "Intervention",
    "MeasureTarget",
    "Modality",
    "Objective",
    "ObjectiveProgress",
    "ObjectiveStatus",
    "ObjectiveTarget",
    "Phase",
    "PresentingProblem",
    "ProgressReview",
    "Readiness",
    "ReviewDecision",
    "Schedule",
    "Session",
    "SupportLevel",
    "Transition",
    "TreatmentPlan",
    "check_plan",
]

#: The version of the JSON document layout this release writes. See docs/schema.md.
SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- enums
class GoalDomain(enum.StrEnum):
    """The four aims of psychotherapy, or other."""

    EMOTIONAL_WELLBEING = "emotional_wellbeing"
    RELATIONSHIPS = "relationships"
    SELF_AWARENESS = "self_awareness"
    BEHAVIOUR_CHANGE = "behaviour_change"
    OTHER = "other"


class ObjectiveStatus(enum.StrEnum):
    """An objective's lifecycle status: FHIR Goal.lifecycleStatus (R4 and R5), the value
    set of the FHIR Goal each objective is exported as. A goal has no status of its own."""

    PROPOSED = "proposed"
    PLANNED = "planned"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"
    REJECTED = "rejected"


class AchievementStatus(enum.StrEnum):
    """Objective achievement: FHIR Goal.achievementStatus (goal-achievement value set)."""

    IN_PROGRESS = "in-progress"
    IMPROVING = "improving"
    WORSENING = "worsening"
    NO_CHANGE = "no-change"
    ACHIEVED = "achieved"
    SUSTAINING = "sustaining"
    NOT_ACHIEVED = "not-achieved"
    NO_PROGRESS = "no-progress"
    NOT_ATTAINABLE = "not-attainable"


class Modality(enum.StrEnum):
    """Therapy modalities treatplan knows by name (docs/references.md#treatment-planning)."""

    CBT = "cbt"
    PSYCHODYNAMIC = "psychodynamic"
    PSYCHOANALYSIS = "psychoanalysis"
    HUMANISTIC = "humanistic"
    PERSON_CENTRED = "person_centred"
    FAMILY = "family"
    GROUP = "group"
    DBT = "dbt"
    IPT = "ipt"
    BEHAVIOURAL_ACTIVATION = "behavioural_activation"
    EMDR = "emdr"
    COUNSELLING = "counselling"
    GUIDED_SELF_HELP = "guided_self_help"
    OTHER = "other"


class DeliveryFormat(enum.StrEnum):
    """Who is in the room."""

    INDIVIDUAL = "individual"
    COUPLE = "couple"
    FAMILY = "family"
    GROUP = "group"


class Attendance(enum.StrEnum):
    """What happened to a scheduled session."""

    ATTENDED = "attended"
    CANCELLED_BY_CLIENT = "cancelled_by_client"
    CANCELLED_BY_SERVICE = "cancelled_by_service"
    DID_NOT_ATTEND = "did_not_attend"


class ReviewDecision(enum.StrEnum):
    """The decision a progress review takes."""

    CONTINUE = "continue"
    REVISE_PLAN = "revise_plan"
    STEP_UP = "step_up"
    STEP_DOWN = "step_down"
    BEGIN_ENDING = "begin_ending"
    REFER_ON = "refer_on"


class CodeSystem(enum.StrEnum):
    """Diagnosis code systems."""

    ICD_10_CM = "ICD-10-CM"
    ICD_10 = "ICD-10"
    ICD_11 = "ICD-11"
    DSM_5_TR = "DSM-5-TR"
    SNOMED_CT = "SNOMED-CT"


class Comparator(enum.StrEnum):
    """How a measured value is compared with a target threshold."""

    BELOW = "below"
    AT_MOST = "at_most"
    AT_LEAST = "at_least"
    ABOVE = "above"

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparator.BELOW:
            return value < threshold
        if self is Comparator.AT_MOST:
            return value <= threshold
        if self is Comparator.AT_LEAST:
            return value >= threshold
        return value > threshold


class CountPeriod(enum.StrEnum):
    """The period a behaviour count is taken over."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Readiness(enum.StrEnum):
    """Stage of change (Prochaska & DiClemente's transtheoretical model)."""

    PRECONTEMPLATION = "precontemplation"
    CONTEMPLATION = "contemplation"
    PREPARATION = "preparation"
    ACTION = "action"
    MAINTENANCE = "maintenance"


class SupportLevel(enum.StrEnum):
    """How much support the client has from family, friends or partner."""

    NONE = "none"
    LIMITED = "limited"
    ADEQUATE = "adequate"
    STRONG = "strong"


class BarrierKind(enum.StrEnum):
    """Practical barriers to attending therapy."""

    COST = "cost"
    TRANSPORT = "transport"
    TIME = "time"
    OTHER = "other"


def _tuple(value: Any) -> Any:
    # Lists and tuples become tuples; anything else is left for the validator to reject.
    return tuple(value) if isinstance(value, list | tuple) else value


# Converters typed on their inputs, so that type checkers see what each constructor
# takes (mypy's attrs plugin reads a converter's parameter type). At run time each
# accepts anything and leaves what is not a list or tuple to the field's validator,
# which raises a ValidationError naming the field.
def _strings(value: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return cast("tuple[str, ...]", _tuple(value))


def _item_responses(
    value: list[int | None] | tuple[int | None, ...] | None,
) -> tuple[int | None, ...] | None:
    return None if value is None else cast("tuple[int | None, ...]", _tuple(value))


def _objectives(value: list[Objective] | tuple[Objective, ...]) -> tuple[Objective, ...]:
    return cast("tuple[Objective, ...]", _tuple(value))


def _assessments(value: list[Assessment] | tuple[Assessment, ...]) -> tuple[Assessment, ...]:
    return cast("tuple[Assessment, ...]", _tuple(value))


def _progress(
    value: list[ObjectiveProgress] | tuple[ObjectiveProgress, ...],
) -> tuple[ObjectiveProgress, ...]:
    return cast("tuple[ObjectiveProgress, ...]", _tuple(value))


def _barriers(value: list[Barrier] | tuple[Barrier, ...]) -> tuple[Barrier, ...]:
    return cast("tuple[Barrier, ...]", _tuple(value))


def _transitions(value: list[Transition] | tuple[Transition, ...]) -> tuple[Transition, ...]:
    return cast("tuple[Transition, ...]", _tuple(value))


def _problems(
    value: list[PresentingProblem] | tuple[PresentingProblem, ...],
) -> tuple[PresentingProblem, ...]:
    return cast("tuple[PresentingProblem, ...]", _tuple(value))


def _goals(value: list[Goal] | tuple[Goal, ...]) -> tuple[Goal, ...]:
    return cast("tuple[Goal, ...]", _tuple(value))


def _interventions(
    value: list[Intervention] | tuple[Intervention, ...],
) -> tuple[Intervention, ...]:
    return cast("tuple[Intervention, ...]", _tuple(value))


def _sessions(value: list[Session] | tuple[Session, ...]) -> tuple[Session, ...]:
    return cast("tuple[Session, ...]", _tuple(value))


def _reviews(
    value: list[ProgressReview] | tuple[ProgressReview, ...],
) -> tuple[ProgressReview, ...]:
    return cast("tuple[ProgressReview, ...]", _tuple(value))


def _instruments(value: list[Instrument] | tuple[Instrument, ...]) -> tuple[Instrument, ...]:
    return cast("tuple[Instrument, ...]", _tuple(value))


def _instant(value: datetime) -> datetime:
    return cast("datetime", v.fixed_offset(value))


# --------------------------------------------------------------------------- problems
@attrs.frozen
class Diagnosis(SlottedRecord):
    """A diagnosis code and the code system it comes from."""

    __repr__ = record_repr

    code: str = attrs.field(validator=v.ref())
    system: CodeSystem = attrs.field(validator=v.enum(CodeSystem))


@attrs.frozen
class PresentingProblem(SlottedRecord):
    """The issue in the client's words, how it shows, and optionally a diagnosis."""

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    description: str = attrs.field(validator=v.text(), repr=False)
    behavioural_definitions: tuple[str, ...] = attrs.field(
        default=(),
        repr=False,
        converter=_strings,
        validator=v.texts(max_items=100),
    )
    diagnosis: Diagnosis | None = attrs.field(
        default=None, validator=attrs.validators.optional(v.instance(Diagnosis))
    )


# --------------------------------------------------------------------------- targets
@attrs.frozen
class MeasureTarget(SlottedRecord):
    """Reach a total on an instrument: e.g. PHQ-9 ``below`` 10."""

    __repr__ = record_repr

    instrument: str = attrs.field(validator=v.ref())
    comparator: Comparator = attrs.field(validator=v.enum(Comparator))
    threshold: float = attrs.field(validator=v.number())
    kind: Literal["measure"] = attrs.field(default="measure", init=False)

    def met_by(self, total: float) -> bool:
        """Whether a total meets the target."""
        if not v.is_number(total):
            raise ArgumentError("total", "a finite number")
        return self.comparator.holds(total, self.threshold)


@attrs.frozen
class GasTarget(SlottedRecord):
    """Reach a Goal Attainment Scaling level (-2..+2; 0 is the expected outcome).

    Kiresuk & Sherman 1968.
    """

    __repr__ = record_repr

    level: int = attrs.field(default=0, validator=v.integer(low=-2, high=2))
    weight: float = attrs.field(default=1.0, validator=v.positive(high=1000))
    kind: Literal["gas"] = attrs.field(default="gas", init=False)


@attrs.frozen
class BehaviourTarget(SlottedRecord):
    """A count of a behaviour per period, e.g. at least 3 walks per week."""

    __repr__ = record_repr

    behaviour: str = attrs.field(validator=v.text(max_length=500), repr=False)
    comparator: Comparator = attrs.field(validator=v.enum(Comparator))
    count: float = attrs.field(validator=v.number(low=0))
    unit: str = attrs.field(validator=v.text(max_length=100), repr=False)
    period: CountPeriod = attrs.field(validator=v.enum(CountPeriod))
    kind: Literal["behaviour"] = attrs.field(default="behaviour", init=False)


#: What an objective aims for: a measure threshold, a GAS level or a behaviour count,
#: tagged by ``kind`` in JSON.
ObjectiveTarget = MeasureTarget | GasTarget | BehaviourTarget
_TARGETS = (MeasureTarget, GasTarget, BehaviourTarget)


# --------------------------------------------------------------------------- goals
@attrs.frozen
class Objective(SlottedRecord):
    """A short-term SMART objective: specific text, a measurable target, a date.

    ``status`` and ``achievement`` use the FHIR Goal value sets.
    """

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    description: str = attrs.field(validator=v.text(), repr=False)
    target: ObjectiveTarget = attrs.field(validator=v.instance(*_TARGETS))
    target_date: date = attrs.field(validator=v.a_date())
    status: ObjectiveStatus = attrs.field(
        default=ObjectiveStatus.ACTIVE, validator=v.enum(ObjectiveStatus)
    )
    achievement: AchievementStatus | None = attrs.field(
        default=None, validator=v.enum(AchievementStatus, optional=True)
    )


@attrs.frozen
class Goal(SlottedRecord):
    """A long-term goal in the client's own words, with its short-term objectives."""

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    statement: str = attrs.field(validator=v.text(), repr=False)
    domain: GoalDomain = attrs.field(validator=v.enum(GoalDomain))
    objectives: tuple[Objective, ...] = attrs.field(
        default=(),
        repr=counted("objective"),
        converter=_objectives,
        validator=v.items_of(Objective, "objectives", max_length=100),
    )
    addresses: tuple[str, ...] = attrs.field(
        default=(),
        converter=_strings,
        validator=v.items_of(str, "presenting problem ids", max_length=100, unique=True),
    )


# --------------------------------------------------------------------------- interventions
#: RRULE parts a schedule may use, and frequencies. Therapy schedules need no more, and
#: this subset can never describe an empty recurrence (BYMONTH=2;BYMONTHDAY=30 can,
#: and dateutil then scans to the year 9999 looking for it): untrusted documents must
#: not be able to make expansion hang.
SCHEDULE_RULE_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE", "WKST"}
)
SCHEDULE_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})


@attrs.frozen
class Schedule(SlottedRecord):
    """When an intervention happens: an RFC 5545 recurrence rule from a start time.

    ``rrule`` is the RRULE value, e.g. ``FREQ=WEEKLY;BYDAY=MO;COUNT=12``, kept
    verbatim so documents round-trip exactly and expanded with python-dateutil.
    It may use the parts FREQ (DAILY, WEEKLY, MONTHLY or YEARLY), INTERVAL, COUNT,
    UNTIL, BYDAY, BYMONTHDAY, BYHOUR, BYMINUTE and WKST (not BYDAY together with
    BYMONTHDAY), COUNT or UNTIL but not both (RFC 5545 3.3.10), and an UNTIL in UTC.

    ``timezone`` is an IANA zone name such as ``Europe/London``. With it, sessions
    keep their wall-clock time across daylight-saving changes (a 10:00 session stays
    at 10:00); without it, they keep ``start``'s UTC offset. ``start`` itself is
    stored, like every plan time, with a fixed offset.
    """

    __repr__ = record_repr

    start: datetime = attrs.field(converter=_instant, validator=v.aware_datetime())
    rrule: str = attrs.field(validator=v.text(max_length=500))
    timezone: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=64)
    )
    _parsed: _rrule.rrule = attrs.field(init=False, repr=False, eq=False, hash=False)

    @_parsed.default
    def _parse(self) -> _rrule.rrule:
        # attrs computes this default before running the field validators: check the
        # inputs here, or dateutil fails on them with AttributeError.
        when = v.time_problem(self.start)
        if when is not None:
            raise ValidationError.at("$.start", when)
        if not isinstance(self.rrule, str) or not self.rrule.strip() or len(self.rrule) > 500:
            raise ValidationError.at("$.rrule", "a non-empty string of at most 500 characters")
        if self.timezone is not None and _zone(self.timezone) is None:
            raise ValidationError.at("$.timezone", "an IANA time zone name, e.g. Europe/London")
        text = self.rrule.removeprefix("RRULE:")
        problem = _rule_problem(text)
        if problem is not None:
            raise ValidationError.at("$.rrule", problem)
        # Equal datetimes at different offsets (or zone names) are equal keys: the
        # offset and the name are part of it, so occurrences keep this start's zone.
        start = self.start
        parsed = _expanded_rule(text, start, start.utcoffset(), start.tzname(), self.timezone)
        # Raised here, so no __context__ (dateutil's messages quote the rule).
        if parsed is None:
            raise ValidationError.at(
                "$.rrule", "an RFC 5545 RRULE value such as FREQ=WEEKLY;COUNT=12"
            )
        return parsed

    def occurrences(self, until: datetime | None = None, limit: int = 1000) -> list[datetime]:
        """Dated occurrences from ``start``, up to ``until`` (inclusive) and ``limit`` many.

        Each has a fixed UTC offset, like every time in a plan.
        """
        if until is not None:
            # A naive bound cannot be compared with the aware occurrences.
            v.check_time_argument(until, "until")
        bound = v.MAX_INSTANT if until is None else min(v.instant(until), v.MAX_INSTANT)
        out: list[datetime] = []
        for when in self:
            if len(out) >= limit or v.instant(when) > bound:
                break
            out.append(when)
        return out

    def __iter__(self) -> Iterator[datetime]:
        """Occurrences in time order, ending before :data:`~treatplan.document.MAX_INSTANT`."""
        for when in self._parsed:
            # The wall-clock year first: converting a time near year 9999 could overflow.
            if when.year > v.MAX_INSTANT.year or v.instant(when) >= v.MAX_INSTANT:
                return
            yield v.fixed_offset(when)


#: Parsed rules by (text, start, offset, zone label, zone name). Parsing costs more
#: than the rest of a plan's schedule, and plans share a few rules (weekly,
#: fortnightly), each read afresh from its document: remembered by value. An
#: ``rrule`` is immutable (built without dateutil's occurrence cache), so schedules
#: may share one.
_PARSED_RULES: ValueCache[
    tuple[str, datetime, timedelta | None, str | None, str | None], _rrule.rrule
] = ValueCache(256)
#: What is wrong with each rule text lately checked ("" for nothing).
_RULE_PROBLEMS: ValueCache[str, str] = ValueCache(256)


def _expanded_rule(
    text: str, start: datetime, offset: timedelta | None, label: str | None, zone_name: str | None
) -> _rrule.rrule | None:
    """The parsed rule from ``start`` (in ``zone_name`` when given), or ``None`` when
    dateutil cannot parse it or compute its first occurrence.

    ``offset`` and ``label`` (the zone's name) are part of the key only: ``start``
    carries them already, but equal date-times at different offsets are equal keys.
    """
    key = (text, start, offset, label, zone_name)
    parsed = _PARSED_RULES.get(key)
    if parsed is None:
        parsed = _parsed_rule(text, start, zone_name)
        if parsed is not None:
            _PARSED_RULES.put(parsed, key)
    return parsed


def _parsed_rule(text: str, start: datetime, zone_name: str | None) -> _rrule.rrule | None:
    dtstart = start
    if zone_name is not None:
        zone = _zone(zone_name)
        assert zone is not None  # checked by the caller
        dtstart = start.astimezone(zone)
    try:
        parsed = _rrule.rrulestr(text, dtstart=dtstart)
        next(iter(parsed), None)  # expandable: the first occurrence can be computed
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    return parsed if isinstance(parsed, _rrule.rrule) else None


def _zone(name: str) -> tzinfo | None:
    """The IANA zone ``name``, or ``None`` when there is none by that name.

    A name that is a folder of the zone database (``America``) or too long for a
    file name makes zoneinfo raise ``OSError``, not ``ZoneInfoNotFoundError``.
    """
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None


def _rule_problem(text: str) -> str | None:
    """What is wrong with an RRULE value for a schedule, or None (remembered by text:
    plans share a few rules)."""
    problem = _RULE_PROBLEMS.get(text)
    if problem is None:
        problem = _RULE_PROBLEMS.put(_find_rule_problem(text) or "", text)
    return problem or None


def _find_rule_problem(text: str) -> str | None:
    if any(c in text for c in "\n\r"):
        return "a single RFC 5545 RRULE value"
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or name in parts:
            return "an RRULE of NAME=VALUE parts separated by semicolons, each named once"
        parts[name] = value.strip().upper()
    unknown = set(parts) - SCHEDULE_RULE_PARTS
    if unknown:
        return "an RRULE using only " + ", ".join(sorted(SCHEDULE_RULE_PARTS))
    if parts.get("FREQ") not in SCHEDULE_FREQUENCIES:
        return "an RRULE with FREQ " + ", ".join(sorted(SCHEDULE_FREQUENCIES))
    if {"COUNT", "UNTIL"} <= parts.keys():  # RFC 5545 3.3.10: they MUST NOT occur together
        return "an RRULE with COUNT or UNTIL, not both"
    if {"BYDAY", "BYMONTHDAY"} <= parts.keys():
        return "an RRULE with BYDAY or BYMONTHDAY, not both"
    if not parts.get("UNTIL", "Z").endswith("Z"):  # RFC 5545 3.3.10, with an aware start
        return "an UNTIL in UTC (a date-time ending in Z)"
    return _rule_value_problem(parts)


#: Bounds of the numeric RRULE parts a schedule may use (RFC 5545 3.3.10), kept
#: small enough that expanding any rule from any start stays cheap and in range.
_RULE_NUMBERS = {
    "INTERVAL": (1, 1000),
    "COUNT": (1, 1000),
    "BYHOUR": (0, 23),
    "BYMINUTE": (0, 59),
}
_WEEKDAYS = frozenset({"MO", "TU", "WE", "TH", "FR", "SA", "SU"})
#: The largest BYDAY ordinal per FREQ (RFC 5545: only MONTHLY and YEARLY take one).
_BYDAY_ORDINAL = {"DAILY": 0, "WEEKLY": 0, "MONTHLY": 5, "YEARLY": 53}
_ORDINAL_DAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)\Z")
_UNTIL = re.compile(r"[0-9]{8}T[0-9]{6}Z\Z")  # ASCII digits only, as COUNT


def _rule_value_problem(parts: dict[str, str]) -> str | None:
    """What is wrong with the values of an RRULE's parts, or None."""
    freq = parts["FREQ"]
    for name, (low, high) in _RULE_NUMBERS.items():
        if name not in parts:
            continue
        values = parts[name].split(",") if name.startswith("BY") else [parts[name]]
        if len(values) > high - low + 1 or not all(
            x.isascii() and x.isdigit() and low <= int(x) <= high for x in values
        ):
            what = "integers" if name.startswith("BY") else "an integer"
            return f"an RRULE whose {name} is {what} from {low} to {high}"
    if "BYMONTHDAY" in parts:
        days = parts["BYMONTHDAY"].split(",")
        if freq == "WEEKLY" or len(days) > 31 or not all(_month_day(d) for d in days):
            return (
                "an RRULE whose BYMONTHDAY is days from 1 to 31 or -31 to -1 "
                "(not with FREQ=WEEKLY)"
            )
    if "BYDAY" in parts:
        most = _BYDAY_ORDINAL[freq]
        days = parts["BYDAY"].split(",")
        if len(days) > 7 * max(most, 1) or not all(_weekday(d, most) for d in days):
            if most:
                return (
                    "an RRULE whose BYDAY is weekdays (MO to SU), "
                    f"each with an optional ordinal from 1 to {most} or -{most} to -1"
                )
            return "an RRULE whose BYDAY is weekdays (MO to SU) without ordinals for this FREQ"
    if parts.get("WKST", "MO") not in _WEEKDAYS:
        return "an RRULE whose WKST is a weekday, MO to SU"
    until = parts.get("UNTIL")
    if until is not None and not (
        _UNTIL.match(until)
        and v.MIN_INSTANT.year <= int(until[:4]) < v.MAX_INSTANT.year
        and _valid_until(until)
    ):
        return "an RRULE whose UNTIL is a UTC date-time YYYYMMDDTHHMMSSZ in 1900 to 2199"
    return _never_matching_problem(parts)


def _never_matching_problem(parts: dict[str, str]) -> str | None:
    """Rules whose INTERVAL could step over every period with an occurrence, forever.

    dateutil scans period by period (to the year 9999) for an occurrence, so such a
    rule would cost seconds to expand. Each refused combination can skip every
    period: a DAILY interval of whole weeks keeps one weekday; a MONTHLY interval of
    whole years keeps one month, which may lack a 29th-31st or a fifth weekday
    forever; a YEARLY interval may keep years without a 53rd weekday. DAILY with
    BYMONTHDAY is refused too: it scans some 30 days per occurrence (use MONTHLY).
    """
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    ordinals = [abs(int(d[:-2] or 0)) for d in parts.get("BYDAY", "").split(",") if d]
    month_days = [abs(int(d)) for d in parts.get("BYMONTHDAY", "").split(",") if d]
    if freq == "DAILY" and "BYMONTHDAY" in parts:  # a day scanned for each hit
        return "an RRULE with BYMONTHDAY only with FREQ=MONTHLY or YEARLY"
    if freq == "DAILY" and interval % 7 == 0 and "BYDAY" in parts:
        return "an RRULE with FREQ=DAILY and BYDAY whose INTERVAL is not whole weeks"
    if (
        freq == "MONTHLY"
        and interval % 12 == 0
        and (any(n > 4 for n in ordinals) or any(d > 28 for d in month_days))
    ):
        return (
            "an RRULE with FREQ=MONTHLY and an INTERVAL of whole years only with "
            "BYMONTHDAY days up to 28 and BYDAY ordinals up to 4"
        )
    if freq == "YEARLY" and interval > 1 and any(n > 52 for n in ordinals):
        return "an RRULE with FREQ=YEARLY and a BYDAY ordinal of 53 only at INTERVAL 1"
    return None


def _month_day(value: str) -> bool:
    digits = value[1:] if value[:1] in "+-" else value
    return digits.isascii() and digits.isdigit() and 1 <= int(digits) <= 31


def _weekday(value: str, most: int) -> bool:
    match = _ORDINAL_DAY.match(value)
    if match is None:
        return False
    sign, ordinal, _day = match.groups()
    if ordinal is None:
        return not sign
    return 1 <= int(ordinal) <= most


def _valid_until(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    return True


@attrs.frozen
class Intervention(SlottedRecord):
    """What the therapist does, how often, and which objectives it serves."""

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    modality: Modality = attrs.field(validator=v.enum(Modality))
    technique: str = attrs.field(validator=v.text(max_length=500), repr=False)
    format: DeliveryFormat = attrs.field(
        default=DeliveryFormat.INDIVIDUAL, validator=v.enum(DeliveryFormat)
    )
    serves: tuple[str, ...] = attrs.field(
        default=(),
        converter=_strings,
        validator=v.items_of(str, "objective ids", max_length=100, unique=True),
    )
    schedule: Schedule | None = attrs.field(
        default=None, validator=attrs.validators.optional(v.instance(Schedule))
    )
    delivered_by: str | None = attrs.field(default=None, validator=v.ref(optional=True))


# --------------------------------------------------------------------------- measures
@attrs.frozen
class Assessment(SlottedRecord):
    """One administration of an instrument: item responses (``None`` = missing) or a total.

    The responses are checked against the instrument's definition when the
    assessment becomes part of a plan (built-in or ``custom_instruments``). Scoring
    reads the items when there are any, so a total given beside complete items must
    be their total (reverse-scored items reflected); beside items with some missing,
    a total is kept as recorded.
    """

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    instrument: str = attrs.field(validator=v.ref())
    administered_at: datetime = attrs.field(converter=_instant, validator=v.aware_datetime())
    items: tuple[int | None, ...] | None = attrs.field(
        default=None,
        converter=_item_responses,
        validator=attrs.validators.optional(
            v.items_of(
                (int, type(None)),
                "integers or nulls",
                max_length=1000,
                each=lambda i: i is None or (v.is_int(i) and abs(i) <= 1000),
            )
        ),
    )
    total: float | None = attrs.field(default=None, validator=v.number(optional=True))

    def __attrs_post_init__(self) -> None:
        if self.items is None and self.total is None:
            raise ValidationError.at("$", "item responses or a total")

    def problems_against(self, instrument: Instrument) -> list[ValidationIssue]:
        """What is wrong with the responses as answers to ``instrument`` (empty: nothing)."""
        if not isinstance(instrument, Instrument):
            raise ArgumentError("instrument", "an Instrument")
        return instrument.response_problems(self.items, self.total)


# --------------------------------------------------------------------------- sessions
@attrs.frozen
class Session(SlottedRecord):
    """A scheduled contact and what happened at it."""

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    at: datetime = attrs.field(converter=_instant, validator=v.aware_datetime())
    attendance: Attendance = attrs.field(validator=v.enum(Attendance))
    interventions: tuple[str, ...] = attrs.field(
        default=(),
        converter=_strings,
        validator=v.items_of(str, "intervention ids", max_length=100, unique=True),
    )
    assessments: tuple[Assessment, ...] = attrs.field(
        default=(),
        repr=counted("assessment"),
        converter=_assessments,
        validator=v.items_of(Assessment, "assessments", max_length=100),
    )
    duration_minutes: int | None = attrs.field(
        default=None, validator=v.integer(low=1, high=24 * 60, optional=True)
    )
    note: str | None = attrs.field(default=None, validator=v.text(optional=True), repr=False)

    def __attrs_post_init__(self) -> None:
        if self.attendance is not Attendance.ATTENDED and (self.interventions or self.assessments):
            raise ValidationError.at(
                "$", "no interventions or assessments on a session that was not attended"
            )

    @property
    def attended(self) -> bool:
        return self.attendance is Attendance.ATTENDED


# --------------------------------------------------------------------------- reviews
@attrs.frozen
class ObjectiveProgress(SlottedRecord):
    """Progress on one objective at a review, optionally with a GAS level (-2..+2)."""

    __repr__ = record_repr

    objective: str = attrs.field(validator=v.ref())
    achievement: AchievementStatus = attrs.field(validator=v.enum(AchievementStatus))
    gas_level: int | None = attrs.field(
        default=None, validator=v.integer(low=-2, high=2, optional=True)
    )
    note: str | None = attrs.field(default=None, validator=v.text(optional=True), repr=False)


@attrs.frozen
class ProgressReview(SlottedRecord):
    """A dated review: progress per objective, the decision taken, the next review date."""

    __repr__ = record_repr

    id: str = attrs.field(validator=v.ref())
    at: datetime = attrs.field(converter=_instant, validator=v.aware_datetime())
    decision: ReviewDecision = attrs.field(validator=v.enum(ReviewDecision))
    progress: tuple[ObjectiveProgress, ...] = attrs.field(
        default=(),
        repr=counted("progress record"),
        converter=_progress,
        validator=v.items_of(ObjectiveProgress, "objective progress records", max_length=1000),
    )
    next_review: date | None = attrs.field(default=None, validator=v.a_date(optional=True))
    by: str | None = attrs.field(default=None, validator=v.ref(optional=True))
    client_requested_ending: bool = attrs.field(default=False, validator=v.boolean())
    note: str | None = attrs.field(default=None, validator=v.text(optional=True), repr=False)

    def __attrs_post_init__(self) -> None:
        if self.next_review is not None and self.next_review < self.at.date():
            raise ValidationError.at("$.next_review", "a date on or after the review")
        ids = [p.objective for p in self.progress]
        if len(set(ids)) != len(ids):
            raise ValidationError.at("$.progress", "at most one record per objective")


# --------------------------------------------------------------------------- client factors
@attrs.frozen
class Barrier(SlottedRecord):
    """A practical barrier to attending, and what the plan does about it."""

    __repr__ = record_repr

    kind: BarrierKind = attrs.field(validator=v.enum(BarrierKind))
    mitigation: str | None = attrs.field(default=None, validator=v.text(optional=True), repr=False)


@attrs.frozen
class ClientFactors(SlottedRecord):
    """What drives success: readiness for change, support system, practical barriers."""

    __repr__ = record_repr

    readiness: Readiness | None = attrs.field(
        default=None, validator=v.enum(Readiness, optional=True)
    )
    support: SupportLevel | None = attrs.field(
        default=None, validator=v.enum(SupportLevel, optional=True)
    )
    barriers: tuple[Barrier, ...] = attrs.field(
        default=(), converter=_barriers, validator=v.items_of(Barrier, "barriers", max_length=20)
    )


# --------------------------------------------------------------------------- history
@attrs.frozen
class Transition(SlottedRecord):
    """One record of the append-only lifecycle history.

    The first record of every plan is the referral: ``event="refer"``,
    ``source=None``. ``outcome`` is set on transitions into ``closed``.
    """

    __repr__ = record_repr

    event: str = attrs.field(validator=v.ref())
    source: Phase | None = attrs.field(validator=v.enum(Phase, optional=True))
    target: Phase = attrs.field(validator=v.enum(Phase))
    at: datetime = attrs.field(converter=_instant, validator=v.aware_datetime())
    by: str = attrs.field(validator=v.ref())
    reason: str | None = attrs.field(default=None, validator=v.text(optional=True), repr=False)
    outcome: EpisodeOutcome | None = attrs.field(
        default=None, validator=v.enum(EpisodeOutcome, optional=True)
    )

    def __attrs_post_init__(self) -> None:
        if (self.target is Phase.CLOSED) != (self.outcome is not None):
            raise ValidationError.at("$.outcome", "an outcome exactly when the target is closed")


# --------------------------------------------------------------------------- the plan
class RevisionParts(TypedDict, total=False):
    """The keyword arguments :func:`~treatplan.revise` takes besides the problems, goals
    and interventions: a type checker holds a call to these names and types (a
    misspelt name is an error, not a silent no-op)."""

    #: When the plan has met its aims (``None`` removes the criteria).
    discharge_criteria: Rule | None
    #: Readiness, support and barriers.
    client_factors: ClientFactors
    #: The plan's own instrument definitions.
    custom_instruments: list[Instrument] | tuple[Instrument, ...]


class ReferralParts(RevisionParts, total=False):
    """The plan content :meth:`TreatmentPlan.refer` takes as keyword arguments: those
    of :class:`RevisionParts`, the problems, goals and interventions, and assessments
    taken before treatment starts (sessions and reviews come later, by the lifecycle
    operations)."""

    #: The issues the client brings.
    presenting_problems: list[PresentingProblem] | tuple[PresentingProblem, ...]
    #: The goals, each with its objectives.
    goals: list[Goal] | tuple[Goal, ...]
    #: The planned interventions.
    interventions: list[Intervention] | tuple[Intervention, ...]
    #: Scores taken before treatment (at referral or assessment).
    assessments: list[Assessment] | tuple[Assessment, ...]


class _DerivedStateSlot(SlottedRecord):
    """Room on each plan for its derived state (:mod:`treatplan._state`), built on
    first use. A slot of a base class, not an attrs field: a cache of facts derivable
    from the plan's fields, so never compared, hashed, shown, copied or serialised."""

    __slots__ = ("_state",)
    _state: object


@attrs.frozen(repr=False)
class TreatmentPlan(_DerivedStateSlot):
    """A client's treatment plan over one episode of care: the aggregate root.

    Build one with :meth:`TreatmentPlan.refer`, then change it only through
    :mod:`treatplan`'s operations (``fire``, ``record_session``, ...), each of
    which returns a new plan. ``phase`` and ``outcome`` are derived from the
    last history record.
    """

    plan_id: str = attrs.field(validator=v.ref())
    client_ref: str = attrs.field(validator=v.ref())
    history: tuple[Transition, ...] = attrs.field(
        converter=_transitions, validator=v.items_of(Transition, "transitions", min_length=1)
    )
    presenting_problems: tuple[PresentingProblem, ...] = attrs.field(
        default=(),
        converter=_problems,
        validator=v.items_of(PresentingProblem, "presenting problems", max_length=100),
    )
    goals: tuple[Goal, ...] = attrs.field(
        default=(), converter=_goals, validator=v.items_of(Goal, "goals", max_length=100)
    )
    interventions: tuple[Intervention, ...] = attrs.field(
        default=(),
        converter=_interventions,
        validator=v.items_of(Intervention, "interventions", max_length=100),
    )
    assessments: tuple[Assessment, ...] = attrs.field(
        default=(), converter=_assessments, validator=v.items_of(Assessment, "assessments")
    )
    sessions: tuple[Session, ...] = attrs.field(
        default=(), converter=_sessions, validator=v.items_of(Session, "sessions")
    )
    reviews: tuple[ProgressReview, ...] = attrs.field(
        default=(), converter=_reviews, validator=v.items_of(ProgressReview, "progress reviews")
    )
    discharge_criteria: Rule | None = attrs.field(default=None)
    client_factors: ClientFactors = attrs.field(
        factory=ClientFactors, validator=v.instance(ClientFactors)
    )
    custom_instruments: tuple[Instrument, ...] = attrs.field(
        default=(),
        converter=_instruments,
        validator=v.items_of(Instrument, "instrument definitions", max_length=100),
    )
    schema_version: int = attrs.field(default=SCHEMA_VERSION, validator=v.integer(low=1))

    def __attrs_post_init__(self) -> None:
        problems = _plan_problems(self)
        if problems:
            raise ValidationError(problems, "invalid treatment plan")

    def __repr__(self) -> str:
        # Short on purpose (at most 200 characters): a plan holds clinical text, which
        # belongs in deliberate displays (``describe``, ``_repr_html_``), not in logs
        # (its records hide theirs too: see treatplan._records). Every field stays
        # reachable as an attribute; ``attrs.asdict`` gives them all.
        outcome = f"/{self.outcome.value}" if self.outcome else ""
        counts = (
            f"goals={len(self.goals)}, sessions={len(self.sessions)}, "
            f"assessments={len(self.assessments)}, reviews={len(self.reviews)}"
        )
        return (
            f"TreatmentPlan({short_ref(self.plan_id)}, client={short_ref(self.client_ref)}, "
            f"phase={self.phase.value}{outcome}, {counts})"
        )

    # -- construction ------------------------------------------------------
    @classmethod
    def refer(
        cls,
        plan_id: str,
        client_ref: str,
        at: datetime,
        by: str,
        reason: str | None = None,
        **parts: Unpack[ReferralParts],
    ) -> TreatmentPlan:
        """A new plan in phase ``referred``, its history starting with the referral.

        ``parts`` are the plan's content (``goals``, ``interventions``, ...; see
        :class:`ReferralParts`), as for the constructor; its records and ids are set
        here.
        """
        if not parts.keys() <= _REFER_PARTS:
            raise ArgumentError("refer", "keyword arguments naming the plan's content")
        first = Transition(
            event="refer", source=None, target=Phase.REFERRED, at=at, by=by, reason=reason
        )
        return cls(plan_id=plan_id, client_ref=client_ref, history=(first,), **parts)

    # -- derived -----------------------------------------------------------
    @property
    def phase(self) -> Phase:
        """The current lifecycle phase: the target of the last history record."""
        return self.history[-1].target

    @property
    def outcome(self) -> EpisodeOutcome | None:
        """How the episode ended, when it is closed."""
        return self.history[-1].outcome

    @property
    def last_event_at(self) -> datetime:
        return self.history[-1].at

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """Every objective of every goal, in plan order."""
        return tuple(o for g in self.goals for o in g.objectives)

    def objective(self, objective_id: str) -> Objective:
        for o in self.objectives:
            if o.id == objective_id:
                return o
        raise UnknownReferenceError("objective_id", "the id of an objective in the plan")

    def instrument(self, code: str) -> Instrument:
        """The definition of instrument ``code``: the plan's own first, then the built-ins."""
        for custom in self.custom_instruments:
            if custom.code == code:
                return custom
        found = BUILTIN_INSTRUMENTS.get(code) if isinstance(code, str) else None
        if found is None:
            raise UnknownReferenceError("code", "the code of a built-in or custom instrument")
        return found

    def all_assessments(self) -> tuple[Assessment, ...]:
        """Every assessment, taken at sessions and standalone, in time order: ties in
        session order, then standalone ones in the plan's order, as the plan's measure
        series order them (the latest score and everything derived from it)."""
        taken = [*(a for s in self.sessions for a in s.assessments), *self.assessments]
        taken.sort(key=lambda a: v.instant(a.administered_at))
        return tuple(taken)

    def assessments_of(self, instrument: str) -> tuple[Assessment, ...]:
        """The assessments of one instrument, in time order (their scores:
        :func:`treatplan.instruments.plan_scores`)."""
        return tuple(a for a in self.all_assessments() if a.instrument == instrument)

    def scores(self, instrument: str) -> tuple[Assessment, ...]:
        """Deprecated (goes in 1.0): :meth:`assessments_of`, the same assessments under a
        name that says so; scores are :func:`treatplan.instruments.plan_scores`."""
        warnings.warn(
            "TreatmentPlan.scores is now TreatmentPlan.assessments_of; the old name goes in 1.0",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.assessments_of(instrument)

    @property
    def attended_sessions(self) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.attended)


def _duplicates(ids: list[str]) -> set[str]:
    """The ids that occur more than once in ``ids`` (usually none: one set built)."""
    if len(set(ids)) == len(ids):
        return set()
    seen: set[str] = set()
    repeated: set[str] = set()
    for ident in ids:
        if ident in seen:
            repeated.add(ident)
        seen.add(ident)
    return repeated


def _plan_problems(plan: TreatmentPlan) -> list[ValidationIssue]:
    """Cross-references and invariants that span the plan's parts.

    Run on every plan a document or a constructor makes, so the common case (no
    problem) is kept cheap: a JSON path is formatted only for a problem found, ids
    are checked for duplicates in one set build before any is looked at one by one,
    each record time is converted to UTC once, and each instrument code is looked up
    once per plan.
    """
    if _plan_is_clean(plan):
        return []
    problems: list[ValidationIssue] = []
    add = problems.append
    if plan.schema_version != SCHEMA_VERSION:
        add(ValidationIssue("$.schema_version", f"schema version {SCHEMA_VERSION}"))
    if plan.discharge_criteria is not None and not isinstance(plan.discharge_criteria, RULE_TYPES):
        add(ValidationIssue("$.discharge_criteria", "a termination rule"))

    # Ids are unique across the whole plan so any reference is unambiguous. Only the
    # ids that occur twice are followed, in plan order, to name where each was first used.
    sessions, standalone, reviews = plan.sessions, plan.assessments, plan.reviews
    ids = [p.id for p in plan.presenting_problems]
    for g in plan.goals:
        ids.append(g.id)
        ids += [o.id for o in g.objectives]
    ids += [iv.id for iv in plan.interventions]
    ids += [a.id for a in standalone]
    for s in sessions:
        ids.append(s.id)
        ids += [a.id for a in s.assessments]
    ids += [r.id for r in reviews]
    repeated = _duplicates(ids)
    seen: dict[str, str] = {}

    def claim(ident: str, path: str) -> None:
        if ident in seen:
            add(ValidationIssue(f"{path}.id", f"an id not already used at {seen[ident]}"))
        else:
            seen[ident] = path

    problem_ids: set[str] = set()
    for i, p in enumerate(plan.presenting_problems):
        if p.id in repeated:
            claim(p.id, f"$.presenting_problems[{i}]")
        problem_ids.add(p.id)
    objective_ids: set[str] = set()
    for gi, g in enumerate(plan.goals):
        if g.id in repeated:
            claim(g.id, f"$.goals[{gi}]")
        for oi, o in enumerate(g.objectives):
            if o.id in repeated:
                claim(o.id, f"$.goals[{gi}].objectives[{oi}]")
            objective_ids.add(o.id)
            if isinstance(o.target, MeasureTarget):
                _check_instrument_code(
                    plan,
                    o.target.instrument,
                    add,
                    f"$.goals[{gi}].objectives[{oi}].target.instrument",
                )
        for ai, pid in enumerate(g.addresses):
            if pid not in problem_ids:
                add(
                    ValidationIssue(
                        f"$.goals[{gi}].addresses[{ai}]", "the id of a presenting problem"
                    )
                )
    intervention_ids: set[str] = set()
    for ii, iv in enumerate(plan.interventions):
        if iv.id in repeated:
            claim(iv.id, f"$.interventions[{ii}]")
        intervention_ids.add(iv.id)
        for si, oid in enumerate(iv.serves):
            if oid not in objective_ids:
                add(
                    ValidationIssue(
                        f"$.interventions[{ii}].serves[{si}]", "the id of an objective"
                    )
                )
    for ci, custom in enumerate(plan.custom_instruments):
        if any(c.code == custom.code for c in plan.custom_instruments[:ci]):
            add(ValidationIssue(f"$.custom_instruments[{ci}].code", "a code not already defined"))

    # Each instrument code looked up once: its definition, the responses all its items
    # accept (or None) and its item count; None for a code the plan does not define.
    definitions: dict[str, tuple[Instrument, frozenset[int | None] | None, int] | None] = {}

    def check_assessments(records: tuple[Assessment, ...], session: int | None) -> None:
        """Check standalone assessments (``session`` None) or those of a session."""
        for ai, a in enumerate(records):
            code = a.instrument
            if code in definitions:
                known = definitions[code]
            else:
                found = _instrument_or_none(plan, code)
                known = definitions[code] = (
                    None if found is None else (found, uniform_responses(found), found.item_count)
                )
            if a.id in repeated:
                claim(a.id, where(session, ai))
            if known is None:
                add(
                    ValidationIssue(
                        where(session, ai) + ".instrument",
                        "the code of a built-in or custom instrument",
                    )
                )
                continue
            instrument, uniform, count = known
            items = a.items
            # Instrument.response_problems's own first test, without the call: the item
            # tuples of a plan's assessments are ints or nulls (their validator).
            if (
                uniform is not None
                and a.total is None
                and type(items) is tuple
                and len(items) == count
                and uniform.issuperset(items)
            ):
                continue
            for p in instrument.response_problems(items, a.total):
                add(ValidationIssue(where(session, ai) + p.path[1:], p.expected))

    def where(session: int | None, index: int) -> str:
        """The path of an assessment: standalone, or taken at session ``session``."""
        if session is None:
            return f"$.assessments[{index}]"
        return f"$.sessions[{session}].assessments[{index}]"

    check_assessments(standalone, None)
    # v.instant inline (astimezone to UTC): once per record, without the call.
    session_instants = [s.at.astimezone(UTC) for s in sessions]
    for si, s in enumerate(sessions):
        if s.id in repeated:
            claim(s.id, f"$.sessions[{si}]")
        if si and session_instants[si] < session_instants[si - 1]:
            add(ValidationIssue(f"$.sessions[{si}].at", "a time not before the previous session"))
        if not intervention_ids.issuperset(s.interventions):
            for ii, iid in enumerate(s.interventions):
                if iid not in intervention_ids:
                    add(
                        ValidationIssue(
                            f"$.sessions[{si}].interventions[{ii}]", "the id of an intervention"
                        )
                    )
        if s.assessments:
            check_assessments(s.assessments, si)
    review_instants = [r.at.astimezone(UTC) for r in reviews]
    for ri, r in enumerate(reviews):
        if r.id in repeated:
            claim(r.id, f"$.reviews[{ri}]")
        if ri and review_instants[ri] < review_instants[ri - 1]:
            add(ValidationIssue(f"$.reviews[{ri}].at", "a time not before the previous review"))
        for pi, prog in enumerate(r.progress):
            if prog.objective not in objective_ids:
                add(
                    ValidationIssue(
                        f"$.reviews[{ri}].progress[{pi}].objective", "the id of an objective"
                    )
                )
    if plan.discharge_criteria is not None:
        problems.extend(_rule_reference_problems(plan.discharge_criteria, plan, objective_ids))
    history = plan.history
    event_instants = [t.at.astimezone(UTC) for t in history]
    history_problems = _history_problems(history, event_instants)
    problems.extend(history_problems)
    if not history_problems:
        problems.extend(
            _record_phase_problems(
                plan,
                event_instants,
                [a.administered_at.astimezone(UTC) for a in standalone],
                session_instants,
                review_instants,
            )
        )
    return problems


#: A definitions-cache entry for an instrument code not looked up yet.
_UNSEEN: Any = object()


def _plan_is_clean(plan: TreatmentPlan) -> bool:
    """Whether :func:`_plan_problems` finds nothing, decided without naming anything.

    Nothing found is the common case (every valid document and constructor call), so
    this answers it with sets and C-level subset and order tests, and no index, path or
    duplicate tracking; the records a plan holds many of (sessions and the assessments
    taken at them) are walked once, for everything they need. It makes each of
    ``_plan_problems``'s checks (same order of cost, none left out), so True means that
    walk would find nothing; False sends the caller to that walk, which names every
    problem. tests/test_plan_checks.py holds the two to the same answer on generated
    plans, valid and broken.
    """
    if plan.schema_version != SCHEMA_VERSION:
        return False
    rule = plan.discharge_criteria
    if rule is not None and not isinstance(rule, RULE_TYPES):
        return False
    presenting, goals, interventions = plan.presenting_problems, plan.goals, plan.interventions
    sessions, standalone, reviews = plan.sessions, plan.assessments, plan.reviews
    customs = plan.custom_instruments
    if customs and len({c.code for c in customs}) != len(customs):
        return False
    objectives = [o for g in goals for o in g.objectives]
    problem_ids = {p.id for p in presenting}
    objective_ids = {o.id for o in objectives}
    intervention_ids = {i.id for i in interventions}
    for g in goals:
        if not problem_ids.issuperset(g.addresses):
            return False
    for i in interventions:
        if not objective_ids.issuperset(i.serves):
            return False
    # Each instrument code looked up once, as _plan_problems does; in a plan without
    # custom instruments, every code is a built-in one or none.
    definitions = _BUILTIN_DEFINITIONS if not customs else {}
    for o in objectives:
        target = o.target
        if isinstance(target, MeasureTarget) and not _is_known(
            plan, target.instrument, definitions
        ):
            return False
    # Every other record's id, in one list: those of sessions and assessments gathered
    # as they are walked.
    ids = [g.id for g in goals]
    ids += [r.id for r in reviews]
    # Assessments at a session not at its own time (one object): checked once the
    # history is known to be sound, as _record_phase_problems does.
    moved: list[tuple[Session, Assessment]] = []
    # (Standalone assessments are dated on their own, below: none is "moved".)
    if not _taken_clean(plan, standalone, None, definitions, ids, []):
        return False
    # Record times in UTC (v.instant), converted only when not at UTC already:
    # astimezone would return such a time itself, but its call costs more than the test.
    session_instants = []
    for s in sessions:
        ids.append(s.id)
        at = s.at
        session_instants.append(at if at.tzinfo is UTC else at.astimezone(UTC))
        if s.interventions and not intervention_ids.issuperset(s.interventions):
            return False
        if s.assessments and not _taken_clean(plan, s.assessments, s, definitions, ids, moved):
            return False
    # Ids unique across the plan: the union of every record's id is as large as their count.
    every_id = problem_ids | objective_ids | intervention_ids
    every_id.update(ids)
    if len(every_id) != len(presenting) + len(objectives) + len(interventions) + len(ids):
        return False
    # Times in order: a list of instants equals its sorted copy exactly when no
    # instant is before the one ahead of it (a stable sort of a sorted list is itself).
    review_instants = [at if (at := r.at).tzinfo is UTC else at.astimezone(UTC) for r in reviews]
    if session_instants != sorted(session_instants) or review_instants != sorted(review_instants):
        return False
    if not objective_ids.issuperset([p.objective for r in reviews for p in r.progress]):
        return False
    if rule is not None:
        named: list[str] = []
        codes: list[str] = []
        _rule_names(rule, named, codes)
        if not objective_ids.issuperset(named):
            return False
        for code in codes:
            if not _is_known(plan, code, definitions):
                return False
    history = plan.history
    event_instants = [at if (at := t.at).tzinfo is UTC else at.astimezone(UTC) for t in history]
    if _history_problems(history, event_instants) or _dated_record_problems(
        history,
        event_instants,
        [
            at if (at := a.administered_at).tzinfo is UTC else at.astimezone(UTC)
            for a in standalone
        ],
        session_instants,
        review_instants,
    ):
        return False
    return not any(session_assessment_problem(history, s, a) for s, a in moved)


def _taken_clean(
    plan: TreatmentPlan,
    records: tuple[Assessment, ...],
    session: Session | None,
    definitions: _Definitions,
    ids: list[str],
    moved: list[tuple[Any, Assessment]],
) -> bool:
    """For :func:`_plan_is_clean`: whether the responses of ``records`` (standalone, or
    taken at ``session``) fit their instruments, each code looked up once in
    ``definitions``; adds their ids to ``ids``, and to ``moved`` those not at
    ``session``'s own time object."""
    at = None if session is None else session.at
    add_id = ids.append
    for a in records:
        add_id(a.id)
        if a.administered_at is not at:
            moved.append((session, a))
        code = a.instrument
        known = definitions.get(code, _UNSEEN)
        if known is _UNSEEN:
            if definitions is _BUILTIN_DEFINITIONS:
                return False  # no custom instruments, and no built-in one by that code
            found = _instrument_or_none(plan, code)
            known = definitions[code] = (
                None if found is None else (found, uniform_responses(found), found.item_count)
            )
        if known is None:
            return False
        instrument, uniform, count = known
        items, total = a.items, a.total
        if (
            uniform is None
            or total is not None
            or type(items) is not tuple
            or len(items) != count
            or not uniform.issuperset(items)
        ) and instrument.response_problems(items, total):
            return False
    return True


def _is_known(plan: TreatmentPlan, code: str, definitions: _Definitions) -> bool:
    """Whether the plan defines instrument ``code`` (found in ``definitions`` first)."""
    return (type(code) is str and definitions.get(code) is not None) or _instrument_or_none(
        plan, code
    ) is not None


#: The definitions of the built-in instruments, as :func:`_plan_is_clean` keeps each
#: code's: the instrument, the responses all its items accept (or None) and its item
#: count. Read, never written: a plan without custom instruments uses no other.
_Definitions = dict[str, tuple[Instrument, frozenset[int | None] | None, int] | None]
_BUILTIN_DEFINITIONS: _Definitions = {
    code: (found, uniform_responses(found), found.item_count)
    for code, found in BUILTIN_INSTRUMENTS.items()
}


def _rule_names(rule: Any, objectives: list[str], codes: list[str]) -> None:
    """Add the objectives and instrument codes ``rule`` names, at any depth, to the lists
    (what :func:`_rule_reference_problems` checks)."""
    objectives += getattr(rule, "objectives", ())
    codes += getattr(rule, "instruments", ())
    for child in getattr(rule, "rules", ()):
        _rule_names(child, objectives, codes)


def _record_phase_problems(
    plan: TreatmentPlan,
    event_instants: list[datetime],
    assessment_instants: list[datetime],
    session_instants: list[datetime],
    review_instants: list[datetime],
) -> list[ValidationIssue]:
    """Every record is dated in a phase that allows it (see :func:`record_time_problem`).

    Takes the instants of the history and of the records (UTC, in plan order), each
    converted once by the caller.
    """
    history = plan.history
    problems = _dated_record_problems(
        history, event_instants, assessment_instants, session_instants, review_instants
    )
    for i, s in enumerate(plan.sessions):
        started = s.at
        for j, a in enumerate(s.assessments):
            if a.administered_at is started:
                continue  # session_assessment_problem's first test, without the call
            why = session_assessment_problem(history, s, a)
            if why is not None:
                path = f"$.sessions[{i}].assessments[{j}].administered_at"
                problems.append(ValidationIssue(path, why))
    return problems


def _dated_record_problems(
    history: tuple[Transition, ...],
    event_instants: list[datetime],
    assessment_instants: list[datetime],
    session_instants: list[datetime],
    review_instants: list[datetime],
) -> list[ValidationIssue]:
    """:func:`_record_phase_problems` for the standalone assessments, sessions and
    reviews (not the assessments taken at sessions)."""
    problems: list[ValidationIssue] = []
    last_target, last_instant = history[-1].target, event_instants[-1]
    bisect_left = bisect.bisect_left
    for name, field, kind, instants in (
        ("assessments", "administered_at", "assessment", assessment_instants),
        ("sessions", "at", "session", session_instants),
        ("reviews", "at", "review", review_instants),
    ):
        phases = RECORDING_PHASES[kind]
        open_end = last_target in phases
        for i, instant in enumerate(instants):
            # _phase_problem's own first two tests, without the call: after the last
            # event in a phase that allows the record, or in the phase an earlier
            # event entered (the usual cases).
            if open_end and instant > last_instant:
                continue
            lo = bisect_left(event_instants, instant)
            if lo and history[lo - 1].target in phases:
                continue
            why = _phase_problem(history, event_instants, None, instant, phases)
            if why is not None:
                problems.append(ValidationIssue(f"$.{name}[{i}].{field}", why))
    return problems


def _instrument_or_none(plan: TreatmentPlan, code: str) -> Instrument | None:
    try:
        return plan.instrument(code)
    except KeyError:
        return None


def _event_instant(record: Transition) -> datetime:
    return v.instant(record.at)


def session_assessment_problem(
    history: tuple[Transition, ...], session: Session, assessment: Assessment
) -> str | None:
    """What an assessment taken at ``session`` needs and lacks, or None.

    It is dated at or after the session's start (a questionnaire completed before
    the session is a standalone assessment), in a phase that allows assessments.
    So the plan as it stood at any time holds a score exactly when its session had
    started and the score was taken, and nothing is dated after the episode closed.
    One at the session's own time is allowed whenever the session is.
    """
    if assessment.administered_at is session.at:
        return None  # the usual case (one time object), allowed whenever the session is
    taken, started = v.instant(assessment.administered_at), v.instant(session.at)
    if taken == started:
        return None  # every phase that allows a session allows an assessment
    if taken < started:
        return "a time not before the session"
    return record_time_problem(history, assessment.administered_at, "assessment")


def record_time_problem(history: tuple[Transition, ...], when: datetime, kind: str) -> str | None:
    """What a record of ``kind`` dated ``when`` needs and lacks in this history, or None.

    A record is dated in a phase that allows it: at its instant, the phase in force
    before the events at that instant, or one those events enter. Records and events
    at the same instant may have been made in either order, so either reading is
    accepted; a record dated after an event that closed the episode, or before the
    referral, is not. Constant time for a record at or after the last event; a
    binary search of the history otherwise.
    """
    return _phase_problem(
        history, history, _event_instant, v.instant(when), RECORDING_PHASES[kind]
    )


def _phase_problem(
    history: tuple[Transition, ...],
    points: Sequence[Any],
    key: Callable[[Any], datetime] | None,
    instant: datetime,
    phases: frozenset[Phase],
) -> str | None:
    """:func:`record_time_problem` for a record at ``instant`` (UTC): ``points`` are the
    history's records with ``key`` giving each one's instant, or (``key=None``) the
    instants themselves, converted once for a plan's many records."""
    last = history[-1]
    if last.target in phases and instant > (points[-1] if key is None else key(points[-1])):
        return None
    lo = bisect.bisect_left(points, instant, key=key)
    hi = bisect.bisect_right(points, instant, lo=lo, key=key)
    if (lo > 0 and history[lo - 1].target in phases) or any(
        history[i].target in phases for i in range(lo, hi)
    ):
        return None
    if hi == 0:
        return "a time not before the referral"
    return "a time at which the phase was one of " + ", ".join(sorted(p.value for p in phases))


def _rule_reference_problems(
    rule: Any,
    plan: TreatmentPlan,
    objective_ids: set[str],
    path: str = "$.discharge_criteria",
) -> list[ValidationIssue]:
    """Objectives named by GoalsMet rules and instruments named by measure rules, at
    any depth, exist in the plan: a typo would otherwise make the rule silently
    never fire."""
    problems: list[ValidationIssue] = []
    for i, oid in enumerate(getattr(rule, "objectives", ())):
        if oid not in objective_ids:
            problems.append(ValidationIssue(f"{path}.objectives[{i}]", "the id of an objective"))
    for i, code in enumerate(getattr(rule, "instruments", ())):
        try:
            plan.instrument(code)
        except KeyError:
            problems.append(
                ValidationIssue(
                    f"{path}.instruments[{i}]", "the code of a built-in or custom instrument"
                )
            )
    for i, child in enumerate(getattr(rule, "rules", ())):
        problems.extend(_rule_reference_problems(child, plan, objective_ids, f"{path}.rules[{i}]"))
    return problems


def _check_instrument_code(
    plan: TreatmentPlan, code: str, add: Any, path: str
) -> Instrument | None:
    try:
        return plan.instrument(code)
    except KeyError:
        add(ValidationIssue(path, "the code of a built-in or custom instrument"))
        return None


def _history_problems(
    history: tuple[Transition, ...], event_instants: list[datetime]
) -> list[ValidationIssue]:
    """The history is a connected path from the referral, with times never going back
    (``event_instants``: the records' times in UTC)."""
    problems: list[ValidationIssue] = []
    first = history[0]
    if first.source is not None or first.target is not Phase.REFERRED or first.event != "refer":
        problems.append(
            ValidationIssue("$.history[0]", "the referral: event refer, from null to referred")
        )
    for i in range(1, len(history)):
        before, record = history[i - 1], history[i]
        # Each path is formatted only for a problem found (a valid history has none).
        if record.source is not before.target:
            problems.append(
                ValidationIssue(f"$.history[{i}].source", "the target of the previous record")
            )
        if event_instants[i] < event_instants[i - 1]:
            problems.append(
                ValidationIssue(f"$.history[{i}].at", "a time not before the previous record")
            )
        spec = BY_NAME.get(record.event)
        if spec is None or record.source not in spec.sources or spec.target is not record.target:
            problems.append(
                ValidationIssue(f"$.history[{i}].event", "an event of the transition table")
            )
        elif spec.outcome is not record.outcome:
            problems.append(
                ValidationIssue(f"$.history[{i}].outcome", "the outcome the event sets")
            )
    return problems


#: What :meth:`TreatmentPlan.refer` takes besides the ids and the referral itself.
_REFER_PARTS = frozenset(
    a.name
    for a in attrs.fields(TreatmentPlan)
    if a.init and a.name not in {"plan_id", "client_ref", "history"}
)


def check_plan(value: object, name: str = "plan") -> None:
    """Raise :class:`~treatplan.ArgumentError` naming ``name`` unless ``value`` is a plan.

    Every public function that takes a plan calls this first, so a wrong argument
    (a plan id, a JSON dict, a list of plans) gets a library error that says what
    was expected instead of an ``AttributeError`` from deep inside.
    """
    if not isinstance(value, TreatmentPlan):
        raise ArgumentError(name, "a TreatmentPlan")
