"""Scoring one administration of an instrument: total, band, caseness and risk flags.

Reverse-scored items are reflected within the item's own response set
(``min + max - response``). Missing items (``None``) are prorated when no more
than the instrument's ``max_missing`` are missing: the total is the mean of the
answered items times the item count, rounded half up to a whole number (totals
of the built-in instruments are integers). Beyond that limit there is no total,
and :attr:`Score.reason` says why.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ._instruments import Band, Direction, Instrument
from ._model import Assessment, TreatmentPlan

__all__ = ["Score", "band_of", "is_case", "plan_scores", "score", "score_in"]


@attrs.frozen
class Score:
    """The scored result of one assessment.

    ``total`` is ``None`` when too many items are missing (``reason`` says so);
    then ``band`` and ``case`` are ``None`` too. ``prorated`` is true when the
    total was scaled up from the answered items. ``risk_flags`` lists the flags
    of the instrument's risk items that the responses reach (in item order).
    """

    instrument: str
    assessment_id: str
    administered_at: datetime
    total: float | None
    prorated: bool = False
    answered: int | None = None
    missing: int = 0
    band: str | None = None
    case: bool | None = None
    risk_flags: tuple[str, ...] = ()
    reason: str | None = None
    direction: Direction = Direction.HIGHER_IS_WORSE

    @property
    def scored(self) -> bool:
        """Whether a total could be computed."""
        return self.total is not None


def band_of(instrument: Instrument, total: float) -> Band | None:
    """The instrument's band containing ``total`` (inclusive edges), or ``None``."""
    raise NotImplementedError


def is_case(instrument: Instrument, total: float) -> bool | None:
    """Whether ``total`` is in the clinical range; ``None`` without a caseness cut-off.

    Higher-is-worse: a case at or above the cut-off. Higher-is-better (ORS, SRS):
    a case below it.
    """
    raise NotImplementedError


def score(instrument: Instrument, assessment: Assessment) -> Score:
    """Score ``assessment`` against ``instrument``: total, band, caseness, risk flags.

    Raises :class:`~treatplan.ValidationError` when the assessment is of another
    instrument or its responses do not fit the definition.
    """
    raise NotImplementedError


def score_in(plan: TreatmentPlan, assessment: Assessment) -> Score:
    """Score ``assessment`` with the plan's definition of its instrument (custom first)."""
    raise NotImplementedError


def plan_scores(plan: TreatmentPlan, instrument: str) -> tuple[Score, ...]:
    """Every score of ``instrument`` in the plan, in time order (unscorable ones included)."""
    raise NotImplementedError
