"""Progress reviews: findings, recording them, objective achievement and review cadence.

:func:`review` computes :class:`Findings` for a plan as it stood at a moment;
:func:`record_findings` records a review built from them (through
:func:`~treatplan.record_review`, which adds a review you built yourself);
:func:`objective_achievement` is the one answer to "is this objective achieved?";
the cadence functions say when a review is due, for one plan or many.
"""

from ._cadence import (
    ReviewCadence,
    ReviewDue,
    ReviewStatus,
    due_reviews,
    next_review_date,
    review_due_date,
    review_status,
)
from ._review import (
    AttendanceSummary,
    Findings,
    MeasureFinding,
    ObjectiveFinding,
    ObjectiveState,
    ReviewPolicy,
    Suggestion,
    record_findings,
    review,
)
from ._state import Achievement, AchievementSource, objective_achievement

__all__ = [
    "Achievement",
    "AchievementSource",
    "AttendanceSummary",
    "Findings",
    "MeasureFinding",
    "ObjectiveFinding",
    "ObjectiveState",
    "ReviewCadence",
    "ReviewDue",
    "ReviewPolicy",
    "ReviewStatus",
    "Suggestion",
    "due_reviews",
    "next_review_date",
    "objective_achievement",
    "record_findings",
    "review",
    "review_due_date",
    "review_status",
]
