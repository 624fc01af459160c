"""Standardised measures: the instrument catalogue, scoring, bands and caseness.

The built-in instruments (PHQ-9, GAD-7, CORE-10, ORS, SRS, WSAS, PCL-5, K10, AUDIT)
and :class:`Instrument` for your own. :func:`score` scores one assessment;
:func:`plan_score`, :func:`plan_scores` and :func:`plan_series` do the same over a
whole plan (``plan_*`` is the pattern for whole-plan variants), sharing the plan's
derived state so each assessment is scored once.
"""

from ._display import measures_frame
from ._instruments import (
    AUDIT,
    BUILTIN_INSTRUMENTS,
    CORE10,
    GAD7,
    K10,
    ORS,
    PCL5,
    PHQ9,
    SRS,
    WSAS,
    Band,
    Direction,
    Instrument,
    ItemChoices,
    Norms,
    RiskItem,
)
from ._instruments import instrument as builtin_instrument
from ._instruments import instruments as builtin_instruments
from ._scoring import Score, ScoredPoint, band_of, is_case, plan_score, plan_scores, score
from ._state import plan_series

__all__ = [
    "AUDIT",
    "BUILTIN_INSTRUMENTS",
    "CORE10",
    "GAD7",
    "K10",
    "ORS",
    "PCL5",
    "PHQ9",
    "SRS",
    "WSAS",
    "Band",
    "Direction",
    "Instrument",
    "ItemChoices",
    "Norms",
    "RiskItem",
    "Score",
    "ScoredPoint",
    "band_of",
    "builtin_instrument",
    "builtin_instruments",
    "is_case",
    "measures_frame",
    "plan_score",
    "plan_scores",
    "plan_series",
    "score",
]
