"""Standardised measures: the instrument definition type and the built-in catalogue.

An :class:`Instrument` says how a questionnaire is answered and read: item count
and ranges, reverse-scored items, direction, severity bands, caseness cut-off,
reliable-change threshold, LOINC code, risk items and the prorating rule for
missing items. Users define their own with the same type; they serialise with
the plan (``TreatmentPlan.custom_instruments``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

import attrs

from . import _validation as v
from ._errors import ArgumentError, UnknownReferenceError, ValidationError, ValidationIssue
from ._memo import IdentityCache
from ._records import record_repr

__all__ = [
    "AUDIT",
    "BUILTIN_INSTRUMENTS",
    "CORE10",
    "GAD7",
    "K10",
    "ORS",
    "PCL5",
    "PHQ9",
    "SMALLEST_ERROR",
    "SRS",
    "WSAS",
    "Band",
    "Direction",
    "Instrument",
    "ItemChoices",
    "Norms",
    "RiskItem",
    "instrument",
    "instruments",
    "scored_response",
]


class Direction(enum.StrEnum):
    """Which way is worse on an instrument's total."""

    HIGHER_IS_WORSE = "higher_is_worse"
    HIGHER_IS_BETTER = "higher_is_better"


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


# Converters typed on their inputs, so that type checkers see what each constructor
# takes (mypy's attrs plugin reads a converter's parameter type). At run time each
# accepts anything and leaves what is not a list or tuple to the field's validator,
# which raises a ValidationError naming the field.
def _ints(value: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    return cast("tuple[int, ...]", _tuple(value))


def _bands(value: list[Band] | tuple[Band, ...]) -> tuple[Band, ...]:
    return cast("tuple[Band, ...]", _tuple(value))


def _item_choices(value: list[ItemChoices] | tuple[ItemChoices, ...]) -> tuple[ItemChoices, ...]:
    return cast("tuple[ItemChoices, ...]", _tuple(value))


def _risk_items(value: list[RiskItem] | tuple[RiskItem, ...]) -> tuple[RiskItem, ...]:
    return cast("tuple[RiskItem, ...]", _tuple(value))


@attrs.frozen
class Band:
    """A labelled range of totals with inclusive edges (e.g. PHQ-9 10-14 "moderate").

    ``low_open``: the band starts strictly above ``low`` (a source's "> 20", as
    WSAS "moderately severe" in Mundt et al. 2002), so a fractional total such as
    20.5 belongs to it while 20 itself belongs to the band below.
    """

    __repr__ = record_repr

    label: str = attrs.field(validator=v.text(max_length=100))
    low: float = attrs.field(validator=v.number())
    high: float = attrs.field(validator=v.number())
    low_open: bool = attrs.field(default=False, validator=v.boolean())

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise ValidationError.at("$.high", "a number not below low")

    def reached(self, total: float) -> bool:
        """Whether ``total`` is at or past the band's lower edge (past it when ``low_open``)."""
        return self.low < total if self.low_open else self.low <= total

    def contains(self, total: float) -> bool:
        """Whether ``total`` lies within the band."""
        if not v.is_number(total):
            raise ArgumentError("total", "a finite number")
        return self.reached(total) and total <= self.high


@attrs.frozen
class ItemChoices:
    """The allowed responses of one item where they differ from the instrument's range.

    AUDIT items 9 and 10 take only 0, 2 or 4 (Babor et al. 2001).
    """

    __repr__ = record_repr

    item: int = attrs.field(validator=v.integer(low=1, high=1000))
    values: tuple[int, ...] = attrs.field(
        converter=_ints,
        validator=v.items_of(int, "integers", min_length=1, max_length=100, each=v.is_int),
    )


@attrs.frozen
class RiskItem:
    """An item whose response at or above ``threshold`` raises a risk flag.

    PHQ-9 item 9 >= 1: thoughts of self-harm (Kroenke, Spitzer & Williams 2001).
    """

    __repr__ = record_repr

    item: int = attrs.field(validator=v.integer(low=1, high=1000))
    threshold: int = attrs.field(validator=v.integer(low=-1000, high=1000))
    flag: str = attrs.field(validator=v.ref())


#: The smallest standard error (and true-score SD) norms may imply, in points.
SMALLEST_ERROR = 1e-9


@attrs.frozen
class Norms:
    """Population norms for Jacobson-Truax clinical significance and reliable change.

    ``clinical_*``: mean and SD of a clinical (dysfunctional) sample before
    treatment (the RCI uses ``clinical_sd`` as SD_pre); ``functional_*``: mean
    and SD of a functional (non-clinical) sample; ``reliability``: the
    measure's reliability r_xx (e.g. Cronbach's alpha). ``source`` cites them.
    """

    __repr__ = record_repr

    clinical_mean: float = attrs.field(validator=v.number())
    clinical_sd: float = attrs.field(validator=v.number(low=0))
    functional_mean: float = attrs.field(validator=v.number())
    functional_sd: float = attrs.field(validator=v.number(low=0))
    reliability: float = attrs.field(validator=v.number(low=0, high=1))
    source: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=500))

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationIssue] = []
        for name in ("clinical_sd", "functional_sd"):
            if getattr(self, name) <= 0:
                problems.append(ValidationIssue(f"$.{name}", "a number above 0"))
        if not 0 < self.reliability < 1:
            problems.append(ValidationIssue("$.reliability", "a number above 0 and below 1"))
        if not problems:
            # The change arithmetic divides by each sample's standard error, SD *
            # sqrt(1 - r), and by its true-score SD, SD * sqrt(r): below a billionth of
            # a point (an SD that small, or a reliability that close to 0 or 1) every
            # change index would overflow or divide by zero.
            for name in ("clinical_sd", "functional_sd"):
                sd = getattr(self, name)
                r = self.reliability
                if min(sd * math.sqrt(1 - r), sd * math.sqrt(r)) < SMALLEST_ERROR:
                    problems.append(
                        ValidationIssue(
                            f"$.{name}",
                            "an SD whose standard error and true-score SD at this "
                            "reliability are at least 1e-9",
                        )
                    )
        if problems:
            raise ValidationError(problems)


@attrs.frozen
class Instrument:
    """The definition of a standardised measure.

    ``caseness_cutoff``: for a higher-is-worse instrument a total at or above it
    is a case; for a higher-is-better one a total below it is. ``reliable_change``
    is the smallest change in total that counts as reliable, where one is
    published. ``max_missing`` items may be missing; the total is then prorated:
    the mean of the answered items times the item count, kept exact (a decimal,
    as in CORE System Trust's rule for CORE-10, the only built-in prorating
    rule). ``round_prorated`` rounds that prorated total half up to a whole
    number instead: a configurable local convention, not part of CORE's rule,
    off by default (rounding can move a total across a band edge: CORE-10 5.56
    is "healthy", 6 is "low level").
    """

    __repr__ = record_repr

    code: str = attrs.field(validator=v.ref())
    name: str = attrs.field(validator=v.text(max_length=200))
    item_count: int = attrs.field(validator=v.integer(low=1, high=1000))
    item_min: int = attrs.field(validator=v.integer(low=-1000, high=1000))
    item_max: int = attrs.field(validator=v.integer(low=-1000, high=1000))
    direction: Direction = attrs.field(
        default=Direction.HIGHER_IS_WORSE, validator=v.enum(Direction)
    )
    bands: tuple[Band, ...] = attrs.field(
        default=(), converter=_bands, validator=v.items_of(Band, "bands", max_length=50)
    )
    caseness_cutoff: float | None = attrs.field(default=None, validator=v.number(optional=True))
    reliable_change: float | None = attrs.field(
        default=None, validator=v.number(low=0, optional=True)
    )
    reverse_items: tuple[int, ...] = attrs.field(
        default=(),
        converter=_ints,
        validator=v.items_of(int, "item numbers", max_length=1000, each=v.is_int, unique=True),
    )
    item_choices: tuple[ItemChoices, ...] = attrs.field(
        default=(),
        converter=_item_choices,
        validator=v.items_of(ItemChoices, "item choices", max_length=1000),
    )
    risk_items: tuple[RiskItem, ...] = attrs.field(
        default=(),
        converter=_risk_items,
        validator=v.items_of(RiskItem, "risk items", max_length=100),
    )
    max_missing: int = attrs.field(default=0, validator=v.integer(low=0, high=1000))
    round_prorated: bool = attrs.field(default=False, validator=v.boolean())
    loinc: str | None = attrs.field(default=None, validator=v.ref(optional=True))
    source: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=500))
    norms: Norms | None = attrs.field(
        default=None, validator=attrs.validators.optional(v.instance(Norms))
    )

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationIssue] = []
        if self.item_max < self.item_min:
            problems.append(ValidationIssue("$.item_max", "an integer not below item_min"))
        for name, numbers in (
            ("reverse_items", self.reverse_items),
            ("item_choices", tuple(c.item for c in self.item_choices)),
            ("risk_items", tuple(r.item for r in self.risk_items)),
        ):
            for i, n in enumerate(numbers):
                if not 1 <= n <= self.item_count:
                    problems.append(
                        ValidationIssue(
                            f"$.{name}[{i}]", f"an item number from 1 to {self.item_count}"
                        )
                    )
        for i, choice in enumerate(self.item_choices):
            if any(not self.item_min <= value <= self.item_max for value in choice.values):
                problems.append(
                    ValidationIssue(
                        f"$.item_choices[{i}].values",
                        f"responses from item_min {self.item_min} to item_max {self.item_max}",
                    )
                )
        if self.reliable_change is not None and self.reliable_change <= 0:
            problems.append(ValidationIssue("$.reliable_change", "a number above 0"))
        if self.max_missing >= self.item_count:
            problems.append(ValidationIssue("$.max_missing", "fewer than item_count"))
        if problems:
            raise ValidationError(problems)

    # -- derived -----------------------------------------------------------
    def allowed(self, item: int) -> tuple[int, ...]:
        """The responses item ``item`` (1-based) accepts."""
        if not v.is_int(item):
            raise ArgumentError("item", "an item number (an integer from 1)")
        responses = _responses(self).allowed
        if 1 <= item <= len(responses):
            return tuple(responses[item - 1])
        return tuple(range(self.item_min, self.item_max + 1))  # no such item: the range

    @property
    def total_min(self) -> int:
        return _responses(self).total_min

    @property
    def total_max(self) -> int:
        return _responses(self).total_max

    def response_problems(
        self, items: Sequence[int | None] | None, total: float | None
    ) -> list[ValidationIssue]:
        """Problems with a response to this instrument, with paths relative to the assessment."""
        if total is None and type(items) is tuple:
            responses = _responses(self)
            # One set test instead of a look at each item, when every item accepts the
            # same responses: exactly the detailed check's answer, as ``in`` a set and
            # ``in`` a tuple agree for the numbers responses are (True is 1 in both);
            # anything unhashable, or any problem at all, goes to the detailed check.
            uniform = responses.uniform
            if uniform is not None and len(items) == self.item_count:
                try:
                    if uniform.issuperset(items):
                        return []
                except TypeError:
                    pass
            if len(items) > _REMEMBERED_ITEMS:  # a long tuple is rare: not worth holding
                return self._response_problems(items, None)
            # Item tuples are immutable and shared (every version of a plan holds the
            # same assessment objects; a simulator draws from a fixed set of patterns):
            # check each tuple once per definition.
            known = _ITEM_PROBLEMS.get(self, items)
            if known is None:
                found = tuple(self._response_problems(items, None))
                known = _ITEM_PROBLEMS.put(found, self, items)
            return list(known)
        return self._response_problems(items, total)

    def _response_problems(
        self, items: Sequence[int | None] | None, total: float | None
    ) -> list[ValidationIssue]:
        problems: list[ValidationIssue] = []
        if items is None and total is None:
            return [ValidationIssue("$", "item responses or a total")]
        if items is not None:
            if len(items) != self.item_count:
                problems.append(
                    ValidationIssue("$.items", f"a list of {self.item_count} item responses")
                )
            else:
                allowed = _responses(self).allowed
                for i, value in enumerate(items):
                    if value is not None and value not in allowed[i]:
                        choices = allowed[i]
                        problems.append(
                            ValidationIssue(
                                f"$.items[{i}]",
                                f"null or an integer in {{{', '.join(map(str, choices))}}}"
                                if len(choices) < self.item_max - self.item_min + 1
                                else f"null or an integer from {self.item_min} to {self.item_max}",
                            )
                        )
        if total is not None:
            responses = _responses(self)
            if not responses.total_min <= total <= responses.total_max:
                problems.append(
                    ValidationIssue(
                        "$.total",
                        f"a number from {responses.total_min} to {responses.total_max}",
                    )
                )
            elif not problems and items is not None and _disagrees(self, items, total):
                # Scoring reads complete items, never a total beside them: one that
                # disagrees would be kept but never used (FHIR import refuses it too).
                problems.append(
                    ValidationIssue(
                        "$.total",
                        "the total of the item responses (reverse-scored items reflected), "
                        "or no total",
                    )
                )
        return problems


def _disagrees(instrument: Instrument, items: Sequence[int | None], total: float) -> bool:
    """Whether ``total`` is not the total of complete item responses (never, when one
    is missing: prorating is scoring's, and a total beside missing items is the
    recorder's own)."""
    computed = 0
    for n, response in enumerate(items, 1):
        if response is None:
            return False
        computed += scored_response(instrument, n, response)
    return total != computed


def scored_response(instrument: Instrument, item: int, response: int) -> int:
    """How ``response`` to item ``item`` (1-based) counts in the total: as it is, or
    reflected for a reverse-scored item (its lowest allowed response counts as its
    highest)."""
    if item not in instrument.reverse_items:
        return response
    choices = _responses(instrument).allowed[item - 1]
    if type(choices) is range:  # its ends, without walking it
        return choices[0] + choices[-1] - response
    return min(choices) + max(choices) - response


@attrs.frozen
class _Responses:
    """What an instrument definition accepts, worked out once per definition object."""

    __repr__ = record_repr

    # Per item, 1-based item n at index n - 1: the item's own choices, or one range
    # shared by every other item (a definition may have 1,000 items of 2,001
    # responses each: never a tuple of every response of every item).
    allowed: tuple[Sequence[int], ...]
    total_min: int
    total_max: int
    #: The responses every item accepts, and null (missing), when all items accept the
    #: same ones; None when some item has its own choices.
    uniform: frozenset[int | None] | None


#: Scoring checks every response of every assessment against its item's choices:
#: remember them per definition (definitions are immutable; a plan has a few).
_RESPONSES: IdentityCache[_Responses] = IdentityCache(256)


#: The problems of each item tuple, per definition object (see ``response_problems``).
_ITEM_PROBLEMS: IdentityCache[tuple[ValidationIssue, ...]] = IdentityCache(4096)
#: The longest item tuple remembered there (every built-in instrument's fits).
_REMEMBERED_ITEMS = 64


def uniform_responses(instrument: Instrument) -> frozenset[int | None] | None:
    """The responses every item of ``instrument`` accepts, and null (missing), when all
    items accept the same ones; ``None`` when some item has its own choices. Item
    responses of the right length within this set have no problem (see
    :meth:`Instrument.response_problems`)."""
    return _responses(instrument).uniform


def _responses(instrument: Instrument) -> _Responses:
    hit = _RESPONSES.get(instrument)
    if hit is not None:
        return hit
    full = range(instrument.item_min, instrument.item_max + 1)
    choices = {c.item: c.values for c in instrument.item_choices}
    allowed = tuple(choices.get(n, full) for n in range(1, instrument.item_count + 1))
    # Only a fast path's set: None (the detailed check) whenever any item has choices.
    uniform = None if choices else frozenset({*full, None})
    low = sum(min(c) for c in choices.values()) + full[0] * (len(allowed) - len(choices))
    high = sum(max(c) for c in choices.values()) + full[-1] * (len(allowed) - len(choices))
    found = _Responses(allowed, low, high, uniform)
    return _RESPONSES.put(found, instrument)


#: PHQ-9 (Kroenke, Spitzer & Williams 2001): 9 items 0-3, total 0-27; bands 0-4
#: minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe;
#: caseness >= 10; item 9 >= 1 flags thoughts of self-harm. Reliable change 6 is
#: the NHS Talking Therapies threshold (NHS Digital, IAPT manual). LOINC 44261-6.
PHQ9 = Instrument(
    code="PHQ-9",
    name="Patient Health Questionnaire-9",
    item_count=9,
    item_min=0,
    item_max=3,
    bands=(
        Band("minimal", 0, 4),
        Band("mild", 5, 9),
        Band("moderate", 10, 14),
        Band("moderately severe", 15, 19),
        Band("severe", 20, 27),
    ),
    caseness_cutoff=10,
    reliable_change=6,
    risk_items=(RiskItem(item=9, threshold=1, flag="self-harm-thoughts"),),
    loinc="44261-6",
    source="Kroenke, Spitzer & Williams 2001; NHS Talking Therapies manual",
)

#: GAD-7 (Spitzer et al. 2006): 7 items 0-3, total 0-21; bands 0-4 minimal,
#: 5-9 mild, 10-14 moderate, 15-21 severe. Caseness >= 8 is the NHS Talking
#: Therapies cut-off (screening cut-off 10); reliable change 4 (NHS Talking
#: Therapies). LOINC 70274-6.
GAD7 = Instrument(
    code="GAD-7",
    name="Generalized Anxiety Disorder-7",
    item_count=7,
    item_min=0,
    item_max=3,
    bands=(
        Band("minimal", 0, 4),
        Band("mild", 5, 9),
        Band("moderate", 10, 14),
        Band("severe", 15, 21),
    ),
    caseness_cutoff=8,
    reliable_change=4,
    loinc="70274-6",
    source="Spitzer et al. 2006; NHS Talking Therapies manual",
)

#: CORE-10 (Barkham et al. 2013; CORE System Trust): 10 items 0-4, total 0-40
#: (the "clinical score" is the item sum). Items 2 ("someone to turn to") and 3
#: ("able to cope") are positively worded and reverse-scored. Clinical cut-off
#: 11. One missing item may be prorated (CORE System Trust, "What's in a name
#: (1): scoring CORE measures": pro-rate when no more than 10% of items, i.e.
#: one CORE-10 item, are missing). Bands (unconfirmed, configurable: CORE
#: System Trust CORE-10 scoring guide as commonly reproduced): 0-5 healthy, 6-10
#: low level, 11-14 mild, 15-19 moderate, 20-24 moderate-to-severe, 25-40
#: severe. Item 6 ("I made plans to end my life") is the risk item; flagging
#: any response >= 1 is a configurable default (unconfirmed). No reliable-change
#: threshold is built in (source unconfirmed): supply one or ``norms``.
CORE10 = Instrument(
    code="CORE-10",
    name="Clinical Outcomes in Routine Evaluation-10",
    item_count=10,
    item_min=0,
    item_max=4,
    bands=(
        Band("healthy", 0, 5),
        Band("low level", 6, 10),
        Band("mild", 11, 14),
        Band("moderate", 15, 19),
        Band("moderate-to-severe", 20, 24),
        Band("severe", 25, 40),
    ),
    caseness_cutoff=11,
    reverse_items=(2, 3),
    risk_items=(RiskItem(item=6, threshold=1, flag="plans-to-end-life"),),
    max_missing=1,
    source="Barkham et al. 2013; CORE System Trust (bands and risk threshold unconfirmed)",
)

#: Outcome Rating Scale (Miller et al. 2003): 4 visual-analogue items 0-10,
#: total 0-40, higher is better. Adult clinical cut-off 25 (a total below 25 is
#: in the clinical range; 32 for children is not built in). Reliable change 5
#: is a configurable default (unconfirmed). No bands are published. Items are
#: whole centimetres here; record a decimal total directly when marks are finer.
ORS = Instrument(
    code="ORS",
    name="Outcome Rating Scale",
    item_count=4,
    item_min=0,
    item_max=10,
    direction=Direction.HIGHER_IS_BETTER,
    caseness_cutoff=25,
    reliable_change=5,
    source="Miller et al. 2003 (reliable change 5 unconfirmed)",
)

#: Session Rating Scale (Duncan et al. 2003): 4 visual-analogue items 0-10,
#: total 0-40, higher is better alliance. Cut-off 36 (a total below 36 flags a
#: possible alliance problem) is a configurable default (unconfirmed).
SRS = Instrument(
    code="SRS",
    name="Session Rating Scale",
    item_count=4,
    item_min=0,
    item_max=10,
    direction=Direction.HIGHER_IS_BETTER,
    caseness_cutoff=36,
    source="Duncan et al. 2003 (cut-off 36 unconfirmed)",
)

#: Work and Social Adjustment Scale (Mundt et al. 2002): 5 items 0-8, total
#: 0-40; < 10 subclinical, 10-20 significant functional impairment, > 20
#: moderately severe or worse (so the top band is open at 20: a recorded 20.5
#: is "moderately severe"). Mundt et al. define no caseness cut-off: caseness 10
#: (the lower edge of "significant") is a configurable default (unconfirmed).
WSAS = Instrument(
    code="WSAS",
    name="Work and Social Adjustment Scale",
    item_count=5,
    item_min=0,
    item_max=8,
    bands=(
        Band("subclinical", 0, 9),
        Band("significant impairment", 10, 20),
        Band("moderately severe impairment", 20, 40, low_open=True),
    ),
    caseness_cutoff=10,
    source="Mundt et al. 2002 (caseness 10 unconfirmed)",
)

#: PTSD Checklist for DSM-5 (Weathers et al. 2013): 20 items 0-4, total 0-80.
#: Provisional cut-off 31-33; 33 is the configurable default (unconfirmed).
#: LOINC 101698-9 (PCL-5 total score). No reliable-change threshold built in.
PCL5 = Instrument(
    code="PCL-5",
    name="PTSD Checklist for DSM-5",
    item_count=20,
    item_min=0,
    item_max=4,
    caseness_cutoff=33,
    loinc="101698-9",
    source="Weathers et al. 2013 (provisional cut-off 31-33; 33 used, unconfirmed)",
)

#: Kessler Psychological Distress Scale (ABS 4817.0.55.001): 10 items 1-5,
#: total 10-50; 10-15 low, 16-21 moderate, 22-29 high, 30-50 very high. No
#: caseness cut-off is built in (none in the cited source).
K10 = Instrument(
    code="K10",
    name="Kessler Psychological Distress Scale",
    item_count=10,
    item_min=1,
    item_max=5,
    bands=(
        Band("low", 10, 15),
        Band("moderate", 16, 21),
        Band("high", 22, 29),
        Band("very high", 30, 50),
    ),
    source="Kessler et al.; ABS 4817.0.55.001",
)

#: Alcohol Use Disorders Identification Test (Babor et al. 2001, WHO): items
#: 1-8 take 0-4, items 9 and 10 take 0, 2 or 4; total 0-40. Risk zones I 0-7,
#: II 8-15, III 16-19, IV 20-40; a total of 8 or more indicates hazardous or
#: harmful drinking (the caseness cut-off here).
AUDIT = Instrument(
    code="AUDIT",
    name="Alcohol Use Disorders Identification Test",
    item_count=10,
    item_min=0,
    item_max=4,
    bands=(
        Band("zone I: low risk", 0, 7),
        Band("zone II: hazardous", 8, 15),
        Band("zone III: harmful", 16, 19),
        Band("zone IV: possible dependence", 20, 40),
    ),
    caseness_cutoff=8,
    item_choices=(ItemChoices(9, (0, 2, 4)), ItemChoices(10, (0, 2, 4))),
    source="Babor et al. 2001 (WHO)",
)

#: The built-in catalogue by code. Prorating (``max_missing``): only CORE-10
#: has a published rule (one item); every other built-in defaults to 0 (no
#: total from incomplete responses), a configurable default because no
#: prorating rule was confirmed for it: ``attrs.evolve(PHQ9, max_missing=1)``
#: and a plan's ``custom_instruments`` adopt a local rule.
BUILTIN_INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType(
    {i.code: i for i in (PHQ9, GAD7, CORE10, ORS, SRS, WSAS, PCL5, K10, AUDIT)}
)


def instrument(code: str) -> Instrument:
    """The built-in instrument ``code`` (e.g. ``"PHQ-9"``).

    Raises :class:`UnknownReferenceError` (a :class:`KeyError`) if there is none.
    """
    found = BUILTIN_INSTRUMENTS.get(code) if isinstance(code, str) else None
    if found is None:
        raise UnknownReferenceError("code", "the code of a built-in instrument, e.g. 'PHQ-9'")
    return found


def instruments() -> tuple[Instrument, ...]:
    """The built-in catalogue, in a stable order."""
    return tuple(BUILTIN_INSTRUMENTS.values())
