"""Termination (discharge) rules as data, composable with :class:`AnyOf` / :class:`AllOf`.

Each rule is a frozen value with a ``kind`` tag (its JSON discriminator): plan
data, stored in a plan and serialised with it. Evaluating a rule is judgement
and lives above the plan in :mod:`treatplan._evaluation`
(``evaluate(rule, plan, as_of)`` gives a verdict: whether it fired, what action
it recommends, why, and on which evidence). Rule types
follow the ending rules services use (docs/references.md#ending-therapy): goals met, session
limit, non-attendance (consecutive; more than M in the last K; N within D days),
inactivity, time limit, client request; and rules that read the measures:
sustained reliable recovery, plateau, reliable deterioration (review, never
discharge) and authorisation used (warnings on the way).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Literal, cast

import attrs

from . import _validation as v
from ._errors import ValidationError
from ._records import SlottedRecord, record_repr

__all__ = [
    "MAX_RULE_DEPTH",
    "RULE_TYPES",
    "AllOf",
    "AnyOf",
    "AuthorisationUsed",
    "ClientRequest",
    "ConsecutiveMissed",
    "GoalsMet",
    "Inactivity",
    "MissedInWindow",
    "MissedWithinDays",
    "Plateau",
    "ReliableDeterioration",
    "Rule",
    "RuleAction",
    "SessionLimit",
    "SustainedRecovery",
    "TimeLimit",
]


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


# Typed on their inputs for type checkers; at run time what is not a list or tuple is
# left to the field's validator.
def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return cast("tuple[str, ...]", _tuple(value))


def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    return cast("tuple[Rule, ...]", _tuple(value))


def _fractions(value: Iterable[float]) -> tuple[float, ...]:
    return cast("tuple[float, ...]", v.floats(value))


class RuleAction(enum.StrEnum):
    """What a fired rule recommends."""

    DISCHARGE = "discharge"  # begin ending / close the episode
    REVIEW = "review"  # take it to a review: step up, refer, revise; not an ending
    WARN = "warn"  # tell the clinician; nothing to decide yet


@attrs.frozen
class GoalsMet(SlottedRecord):
    """Fires when the named objectives (default: every live objective) are achieved.

    Achievement is the library's one answer (``objective_achievement``): a
    clinician's explicit status on the objective, else the latest score for a
    measure target (up to ``as_of``), the latest GAS level for a GAS target, the
    latest review's progress for a behaviour target. A named objective the plan
    no longer has, or has cancelled, rejected or entered in error, counts as not
    achieved (whatever its scores say): revise the criteria to drop it.
    """

    __repr__ = record_repr

    objectives: tuple[str, ...] = attrs.field(
        default=(), converter=_strings, validator=v.items_of(str, "objective ids", unique=True)
    )
    kind: Literal["goals_met"] = attrs.field(default="goals_met", init=False)


@attrs.frozen
class SessionLimit(SlottedRecord):
    """Fires when ``max_sessions`` sessions have been attended (or offered, with
    ``count_missed``)."""

    __repr__ = record_repr

    max_sessions: int = attrs.field(validator=v.integer(low=1, high=10_000))
    count_missed: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["session_limit"] = attrs.field(default="session_limit", init=False)


@attrs.frozen
class ConsecutiveMissed(SlottedRecord):
    """Fires after ``count`` consecutive missed sessions (did not attend; optionally late
    client cancellations). The count is service policy, e.g. 2 consecutive no-shows
    (docs/references.md#ending-therapy)."""

    __repr__ = record_repr

    count: int = attrs.field(validator=v.integer(low=1, high=1000))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["consecutive_missed"] = attrs.field(default="consecutive_missed", init=False)


@attrs.frozen
class MissedInWindow(SlottedRecord):
    """Fires when more than ``max_missed`` of the last ``window`` scheduled sessions were
    missed. The limits are service policy, e.g. more than 1 in a 6-session course, more
    than 2 in 12 (docs/references.md#ending-therapy)."""

    __repr__ = record_repr

    max_missed: int = attrs.field(validator=v.integer(low=0, high=1000))
    window: int = attrs.field(validator=v.integer(low=1, high=1000))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["missed_in_window"] = attrs.field(default="missed_in_window", init=False)

    def __attrs_post_init__(self) -> None:
        if self.max_missed >= self.window:
            raise ValidationError.at("$.max_missed", "fewer than window")


@attrs.frozen
class MissedWithinDays(SlottedRecord):
    """Fires when ``count`` or more sessions were missed within the ``days`` before
    ``as_of``. The limits are service policy, e.g. 3 missed within 90 days
    (docs/references.md#ending-therapy)."""

    __repr__ = record_repr

    count: int = attrs.field(validator=v.integer(low=1, high=1000))
    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    include_client_cancellations: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["missed_within_days"] = attrs.field(default="missed_within_days", init=False)


@attrs.frozen
class Inactivity(SlottedRecord):
    """Fires when there has been no attended contact for ``days`` whole days.

    Counted from the last attended session up to ``as_of``, or from the referral if none.
    """

    __repr__ = record_repr

    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    kind: Literal["inactivity"] = attrs.field(default="inactivity", init=False)


@attrs.frozen
class TimeLimit(SlottedRecord):
    """Fires ``days`` days after the plan was agreed (or referred, with ``from_referral``)."""

    __repr__ = record_repr

    days: int = attrs.field(validator=v.integer(low=1, high=36_500))
    from_referral: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["time_limit"] = attrs.field(default="time_limit", init=False)


@attrs.frozen
class ClientRequest(SlottedRecord):
    """Fires when a progress review records that the client asked to end."""

    __repr__ = record_repr

    kind: Literal["client_request"] = attrs.field(default="client_request", init=False)


# --------------------------------------------------------------------------- measures
# Rules that read the plan's scores (docs/references.md#ending-therapy). Each instrument's first
# score is its baseline; only scores at or before ``as_of`` count.
_PAIRED = ("PHQ-9", "GAD-7")


def _instrument_codes(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.items_of(str, "instrument codes", min_length=1, max_length=100, each=v.is_ref, unique=True)(
        _, attribute, value
    )


@attrs.frozen
class SustainedRecovery(SlottedRecord):
    """Fires when reliable recovery has held for ``consecutive`` measurements in a row.

    Reliable recovery as NHS Talking Therapies defines it for paired measures
    (recovery plus reliable improvement on PHQ-9 or GAD-7; docs/references.md#change),
    applied at each of the last ``consecutive`` scores after baseline: at least one
    listed measure was in the clinical range at baseline; at each of those points
    every listed measure is out of it and not reliably worse than at baseline, and
    at least one of them (either, not the same one throughout) is reliably improved.
    Listed measures the plan does not score, or that have no caseness cut-off, are
    left out. The points are the measures' last ``consecutive`` scores, matched by
    position (paired measures are taken together).
    """

    __repr__ = record_repr

    consecutive: int = attrs.field(default=2, validator=v.integer(low=1, high=1000))
    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_strings, validator=_instrument_codes
    )
    kind: Literal["sustained_recovery"] = attrs.field(default="sustained_recovery", init=False)


@attrs.frozen
class Plateau(SlottedRecord):
    """Fires when no two of the last ``window`` scores differ reliably, on every
    listed measure the plan scores (no reliable change over the last N measurements).

    Reliable means at least the instrument's reliable-change threshold (or the
    Jacobson-Truax index from its norms). ``action`` defaults to review: a plateau
    asks whether to change the plan or to end at a good-enough level.
    """

    __repr__ = record_repr

    window: int = attrs.field(default=4, validator=v.integer(low=2, high=1000))
    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_strings, validator=_instrument_codes
    )
    action: RuleAction = attrs.field(default=RuleAction.REVIEW, validator=v.enum(RuleAction))
    kind: Literal["plateau"] = attrs.field(default="plateau", init=False)


@attrs.frozen
class ReliableDeterioration(SlottedRecord):
    """Fires when the latest score of a listed measure is reliably worse than its baseline.

    Its action is always review (step up, refer on or revise the plan), never
    discharge: deterioration is not a reason to end (docs/references.md#ending-therapy).
    """

    __repr__ = record_repr

    instruments: tuple[str, ...] = attrs.field(
        default=_PAIRED, converter=_strings, validator=_instrument_codes
    )
    kind: Literal["reliable_deterioration"] = attrs.field(
        default="reliable_deterioration", init=False
    )


@attrs.frozen
class AuthorisationUsed(SlottedRecord):
    """Warns as an authorised block of sessions is used up, and fires to discharge at the end.

    At ``warn_at`` fractions of ``authorised_sessions`` used (80% and 90% by
    default) it fires with action warn; when all are used, with discharge.
    Sessions counted: attended ones, or every offered one with ``count_missed``.
    """

    __repr__ = record_repr

    authorised_sessions: int = attrs.field(validator=v.integer(low=1, high=10_000))
    warn_at: tuple[float, ...] = attrs.field(
        default=(0.8, 0.9), converter=_fractions, validator=v.increasing_fractions
    )
    count_missed: bool = attrs.field(default=False, validator=v.boolean())
    kind: Literal["authorisation_used"] = attrs.field(default="authorisation_used", init=False)


#: How deep composite rules (:class:`AnyOf`, :class:`AllOf`) may nest. Every rule that
#: can be built can be written and read back: a plan document holding the deepest
#: allowed rule stays inside the JSON reader's nesting limit, and evaluating,
#: writing or showing it never comes near Python's recursion limit.
MAX_RULE_DEPTH = 24


def rule_depth(rule: object) -> int:
    """How many composite levels ``rule`` has (0 for a simple rule)."""
    if isinstance(rule, AnyOf | AllOf):
        return 1 + max(map(rule_depth, rule.rules))
    return 0


def _rules_validator(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.items_of(RULE_TYPES, "termination rules", min_length=1, max_length=100)(_, attribute, value)
    # Each child was checked when it was built, so the walk stops within the limit.
    if 1 + max(map(rule_depth, value)) > MAX_RULE_DEPTH:
        raise v.fail(attribute, f"rules nested at most {MAX_RULE_DEPTH} levels deep")


@attrs.frozen
class AnyOf(SlottedRecord):
    """Fires when any of its rules fires. The verdict's action is the most decisive
    among the fired rules (discharge over review over warn)."""

    __repr__ = record_repr

    rules: tuple[Rule, ...] = attrs.field(converter=_rules, validator=_rules_validator)
    kind: Literal["any_of"] = attrs.field(default="any_of", init=False)


@attrs.frozen
class AllOf(SlottedRecord):
    """Fires when every one of its rules fires."""

    __repr__ = record_repr

    rules: tuple[Rule, ...] = attrs.field(converter=_rules, validator=_rules_validator)
    kind: Literal["all_of"] = attrs.field(default="all_of", init=False)


#: Any termination rule: the union of the rule classes, tagged by ``kind`` in JSON.
Rule = (
    GoalsMet
    | SessionLimit
    | ConsecutiveMissed
    | MissedInWindow
    | MissedWithinDays
    | Inactivity
    | TimeLimit
    | ClientRequest
    | SustainedRecovery
    | Plateau
    | ReliableDeterioration
    | AuthorisationUsed
    | AnyOf
    | AllOf
)
#: Every rule class, for isinstance checks and the JSON tag registry.
RULE_TYPES: tuple[type[Any], ...] = (
    GoalsMet,
    SessionLimit,
    ConsecutiveMissed,
    MissedInWindow,
    MissedWithinDays,
    Inactivity,
    TimeLimit,
    ClientRequest,
    SustainedRecovery,
    Plateau,
    ReliableDeterioration,
    AuthorisationUsed,
    AnyOf,
    AllOf,
)
