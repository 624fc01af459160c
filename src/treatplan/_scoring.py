"""Scoring one administration of an instrument: total, band, caseness and risk flags.

Reverse-scored items are reflected within the item's own response set
(``lowest + highest - response``: CORE-10 items 2 and 3 score 4 - response).
Missing items (``None``) are prorated when no more than the instrument's
``max_missing`` are missing: the total is the mean of the answered (reflected)
items times the item count, computed in exact fractions and not rounded (CORE
System Trust's pro-rating rule for CORE-10, whose clinical score is the item
mean times 10: 9 answered items summing to 5 give 5.56). An instrument with
``round_prorated`` rounds it half up to a whole number instead, a configurable
local convention that is not CORE's rule. Band and caseness are read from the
total as scored. Beyond that limit there is no total, and
:attr:`Score.reason` says why. When an assessment has item responses they
decide the total; a recorded ``total`` is used only when there are no items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import cast

import attrs

from . import _validation as v
from ._errors import ArgumentError, UnknownReferenceError, ValidationError
from ._fast import frozen_maker
from ._instruments import Band, Direction, Instrument, RiskItem, scored_response
from ._memo import IdentityCache
from ._model import Assessment, TreatmentPlan
from ._records import SlottedRecord, record_repr

__all__ = [
    "Score",
    "ScoredPoint",
    "band_of",
    "is_case",
    "new_score",
    "new_scored_point",
    "plan_score",
    "plan_scores",
    "score",
    "scored",
]


@attrs.frozen
class Score(SlottedRecord):
    """The scored result of one assessment.

    ``total`` is ``None`` when too many items are missing (``reason`` says so);
    then ``band`` and ``case`` are ``None`` too. ``prorated`` is true when the
    total was scaled up from the answered items. ``answered`` is the number of
    answered items (``None`` when only a total was recorded). ``risk_flags``
    lists the flags of the instrument's risk items that the responses reach, in
    item order; ``risk_assessed`` is false when a risk item could not be read
    (no item responses, or the risk item missing), so an empty ``risk_flags``
    then means "unknown", not "no risk".
    """

    __repr__ = record_repr

    instrument: str
    assessment_id: str
    administered_at: datetime
    total: float | None
    direction: Direction = Direction.HIGHER_IS_WORSE
    prorated: bool = False
    answered: int | None = None
    missing: int = 0
    band: str | None = None
    case: bool | None = None
    risk_flags: tuple[str, ...] = ()
    risk_assessed: bool = True
    reason: str | None = None

    @property
    def scored(self) -> bool:
        """Whether a total could be computed."""
        return self.total is not None


@attrs.frozen
class ScoredPoint(SlottedRecord):
    """One assessment, scored once, with the sessions attended by then.

    ``session`` counts attended sessions up to and including the one the
    assessment was taken at (0 for a measure taken before treatment); ``at`` is
    the assessment's instant in UTC.
    """

    __repr__ = record_repr

    score: Score
    session: int
    at: datetime

    @property
    def assessment_id(self) -> str:
        return self.score.assessment_id

    @property
    def total(self) -> float | None:
        return self.score.total


#: ``Score(...)`` and ``ScoredPoint(...)`` as their constructors build them, without
#: frozen attrs' store per field (see :func:`treatplan._fast.frozen_maker`): every
#: assessment recorded is scored once and placed in its series.
new_score = frozen_maker(Score)
new_scored_point = frozen_maker(ScoredPoint)


def _check_total(instrument: object, total: object) -> None:
    if not isinstance(instrument, Instrument):
        raise ArgumentError(
            "instrument", "an Instrument (for a code, use treatplan.builtin_instrument('PHQ-9'))"
        )
    if not v.is_number(total):
        raise ArgumentError("total", "a finite number")


def band_of(instrument: Instrument, total: float) -> Band | None:
    """The instrument's band for ``total``, or ``None`` when it has no bands.

    A band contains its inclusive edges. A fractional total between two
    integer-edged bands (a recorded or a prorated total) falls in the band whose
    lower edge it has reached, so bands read as contiguous: PHQ-9 9.5 is "mild"
    (caseness starts at 10), CORE-10 5.56 is "healthy". A band whose lower edge
    is open (:attr:`Band.low_open`, WSAS "> 20") is reached only past that edge:
    WSAS 20 is "significant impairment", 20.5 "moderately severe impairment".
    """
    _check_total(instrument, total)
    for band in instrument.bands:
        if band.contains(total):
            return band
    reached = [b for b in instrument.bands if b.reached(total)]
    return max(reached, key=lambda b: (b.low, b.low_open)) if reached else None


def is_case(instrument: Instrument, total: float) -> bool | None:
    """Whether ``total`` is in the clinical range; ``None`` without a caseness cut-off.

    Higher-is-worse: a case at or above the cut-off (PHQ-9 >= 10, Kroenke et al.
    2001). Higher-is-better (ORS, SRS): a case below it (ORS < 25, Miller et al.
    2003).
    """
    _check_total(instrument, total)
    cutoff = instrument.caseness_cutoff
    if cutoff is None:
        return None
    if instrument.direction is Direction.HIGHER_IS_BETTER:
        return total < cutoff
    return total >= cutoff


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def score(instrument: Instrument, assessment: Assessment) -> Score:
    """Score ``assessment`` against ``instrument``: total, band, caseness, risk flags.

    Raises :class:`~treatplan.ValidationError` when the assessment is of another
    instrument or its responses do not fit the definition.
    """
    if not isinstance(instrument, Instrument):
        raise ArgumentError(
            "instrument", "an Instrument (for a code, use treatplan.builtin_instrument('PHQ-9'))"
        )
    if not isinstance(assessment, Assessment):
        raise ArgumentError("assessment", "an Assessment")
    if assessment.instrument != instrument.code:
        raise ValidationError.at("$.instrument", "the code of the instrument being scored")
    return scored(instrument, assessment)


def scored(instrument: Instrument, assessment: Assessment) -> Score:
    """:func:`score` with its arguments checked: an :class:`Assessment` of
    ``instrument``'s code (the library's own callers, which read both from a plan)."""
    items = assessment.items
    # Parts are remembered only for item tuples that passed the checks below.
    parts = _ITEM_PARTS.get_two(instrument, items) if items is not None else None
    if parts is None:
        problems = assessment.problems_against(instrument)
        if problems:
            raise ValidationError(problems)
    if items is None:
        assert assessment.total is not None  # an Assessment has items or a total
        recorded = float(assessment.total)
        band, case = _band_and_case(instrument, recorded)
        return new_score(
            instrument=instrument.code,
            assessment_id=assessment.id,
            administered_at=assessment.administered_at,
            direction=instrument.direction,
            total=recorded,
            band=band,
            case=case,
            risk_assessed=not instrument.risk_items,
        )
    if parts is None:
        parts = _ITEM_PARTS.put(_item_parts(instrument, items), instrument, items)
    total, prorated, answered, missing, band, case, flags, risk_assessed, reason = parts
    # Positional, in field order (a score is made for every assessment recorded).
    return new_score(
        instrument.code,
        assessment.id,
        assessment.administered_at,
        total,
        instrument.direction,
        prorated,
        answered,
        missing,
        band,
        case,
        flags,
        risk_assessed,
        reason,
    )


_Parts = tuple[
    float | None, bool, int, int, str | None, bool | None, tuple[str, ...], bool, str | None
]
#: What a score reads from its item responses, per (definition, item tuple) object
#: pair: both are immutable and shared (plan versions share assessments; a simulator
#: draws from a fixed set of item patterns), so each tuple is read once.
_ITEM_PARTS: IdentityCache[_Parts] = IdentityCache(4096)


def _item_parts(instrument: Instrument, items: tuple[int | None, ...]) -> _Parts:
    """Total, prorating, answered and missing counts, band, caseness, risk flags,
    whether risk was assessed and why there is no total, from item responses."""
    # Every item answered (the usual case): the responses themselves are the answers,
    # without pairing each with its number.
    complete = None not in items
    answered: list[tuple[int, int]] = (
        [] if complete else [(n, r) for n, r in enumerate(items, start=1) if r is not None]
    )
    n_answered = len(items) if complete else len(answered)
    missing = len(items) - n_answered
    flags: list[str] = []
    risk_assessed = True
    risks = instrument.risk_items
    for risk in sorted(risks, key=_risk_item_number) if len(risks) > 1 else risks:
        response = items[risk.item - 1]
        if response is None:
            risk_assessed = False
        elif response >= risk.threshold:
            flags.append(risk.flag)
    total: float | None = None
    reason: str | None = None
    if missing > instrument.max_missing or not n_answered:
        reason = (
            f"{missing} of {instrument.item_count} items missing; "
            f"{instrument.code} allows at most {instrument.max_missing} missing"
        )
    else:
        # scored_response of each item; every response as it is when no item is
        # reverse-scored (what scored_response returns then).
        values: Sequence[int]
        if instrument.reverse_items:
            pairs = enumerate(cast("tuple[int, ...]", items), start=1) if complete else answered
            values = [scored_response(instrument, n, r) for n, r in pairs]
        elif complete:
            values = cast("tuple[int, ...]", items)
        else:
            values = [r for _, r in answered]
        if missing:
            prorated = Fraction(sum(values) * instrument.item_count, len(values))
            scaled = _round_half_up(prorated) if instrument.round_prorated else prorated
            # Scaling up assumes the missing items range like the answered ones; where
            # items differ (their own allowed responses) it could pass the instrument's
            # range, which no set of answers can reach: keep it inside.
            total = float(min(max(scaled, instrument.total_min), instrument.total_max))
        else:
            total = float(sum(values))
    band, case = _band_and_case(instrument, total)
    return (
        total,
        total is not None and missing > 0,
        n_answered,
        missing,
        band,
        case,
        tuple(flags),
        risk_assessed,
        reason,
    )


def _risk_item_number(risk: RiskItem) -> int:
    return risk.item


def _band_and_case(instrument: Instrument, total: float | None) -> tuple[str | None, bool | None]:
    """The band label and caseness of ``total`` (both ``None`` without a total),
    remembered per definition object and total (a few dozen totals recur)."""
    if total is None:
        return None, None
    table = _BANDS.get_one(instrument)
    if table is None:
        table = _BANDS.put({}, instrument)
    found = table.get(total)
    if found is None:
        band = band_of(instrument, total)
        if len(table) >= _BANDS_PER_INSTRUMENT:
            table.clear()
        found = table[total] = (
            (band.label if band is not None else None),
            is_case(instrument, total),
        )
    return found


#: :func:`_band_and_case` per instrument definition object: a table by total of at most
#: _BANDS_PER_INSTRUMENT entries (the answer depends on nothing else; both immutable).
_BANDS: IdentityCache[dict[float, tuple[str | None, bool | None]]] = IdentityCache(256)
_BANDS_PER_INSTRUMENT = 4096


#: Scores remembered per (assessment, instrument definition) object pair: successive
#: versions of a plan share their assessments, so each is scored once however often
#: the plan is reviewed, evaluated or summarised.
_SCORES: IdentityCache[Score] = IdentityCache(4096)


def plan_score(plan: TreatmentPlan, assessment: Assessment) -> Score:
    """Score ``assessment`` with the plan's definition of its instrument (custom first).

    The score is remembered for that assessment object and definition object (both
    immutable), so scoring the same assessment again costs a dict look-up.
    """
    if not isinstance(plan, TreatmentPlan):
        raise ArgumentError("plan", "a TreatmentPlan")
    if not isinstance(assessment, Assessment):
        raise ArgumentError("assessment", "an Assessment")
    try:
        instrument = plan.instrument(assessment.instrument)
    except KeyError:
        raise UnknownReferenceError(
            "assessment.instrument", "the code of a built-in or custom instrument"
        ) from None
    hit = _SCORES.get(assessment, instrument)
    if hit is not None:
        return hit
    return _SCORES.put(score(instrument, assessment), assessment, instrument)


def plan_scores(plan: TreatmentPlan, instrument: str) -> tuple[Score, ...]:
    """Every score of ``instrument`` in the plan, in time order (unscorable ones included).

    :class:`~treatplan.UnknownReferenceError` (a ``KeyError``) when the plan
    neither defines nor has a built-in ``instrument``.
    """
    if not isinstance(plan, TreatmentPlan):
        raise ArgumentError("plan", "a TreatmentPlan")
    if not isinstance(instrument, str):
        raise ArgumentError("instrument", "an instrument code such as 'PHQ-9'")
    plan.instrument(instrument)  # an error for an unknown instrument, even when unscored
    return tuple(plan_score(plan, a) for a in plan.assessments_of(instrument))
