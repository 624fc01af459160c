"""The therapy lifecycle as data: phases, outcomes, events and the transition table.

This module is plan *data*: the model checks every stored history against
:data:`TABLE`, and :mod:`treatplan._lifecycle` attaches the guards (functions
that read a plan) and fires events. FHIR describes episode statuses but no
transition rules (HL7 FHIR EpisodeOfCare; see the references page), so the
table is treatplan's own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from ._records import record_repr

__all__ = [
    "OPEN_PHASES",
    "RECORDING_PHASES",
    "TABLE",
    "EpisodeOutcome",
    "Event",
    "Phase",
    "Row",
]


class Phase(enum.StrEnum):
    """Lifecycle phase of an episode of care (docs/references.md#lifecycle-and-fhir)."""

    REFERRED = "referred"
    WAITLISTED = "waitlisted"
    ASSESSING = "assessing"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    ENDING = "ending"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


class EpisodeOutcome(enum.StrEnum):
    """How a closed episode ended."""

    COMPLETED = "completed"
    DROPPED_OUT = "dropped_out"
    TRANSFERRED = "transferred"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Event(enum.StrEnum):
    """Lifecycle events. ``refer`` only ever opens a plan (:meth:`TreatmentPlan.refer`)."""

    REFER = "refer"
    WAITLIST = "waitlist"
    BEGIN_ASSESSMENT = "begin_assessment"
    AGREE_PLAN = "agree_plan"
    PAUSE = "pause"
    RESUME = "resume"
    BEGIN_ENDING = "begin_ending"
    RESUME_TREATMENT = "resume_treatment"
    START_FOLLOW_UP = "start_follow_up"
    COMPLETE = "complete"
    DROP_OUT = "drop_out"
    TRANSFER = "transfer"
    DECLINE = "decline"
    CANCEL = "cancel"
    REOPEN = "reopen"


@attrs.frozen
class Row:
    """One row of the transition table, without its guards: which phases an event
    leaves, where it goes, and the outcome it sets (events into ``closed`` only)."""

    __repr__ = record_repr

    event: Event
    sources: frozenset[Phase]
    target: Phase
    description: str
    outcome: EpisodeOutcome | None = None
    #: Whether the event needs a reason (the guard ``reason given``).
    needs_reason: bool = False


#: Phases in which an episode is still open.
OPEN_PHASES: frozenset[Phase] = frozenset(Phase) - {Phase.CLOSED}


def _row(
    event: Event,
    sources: Iterable[Phase],
    target: Phase,
    description: str,
    outcome: EpisodeOutcome | None = None,
    *,
    needs_reason: bool = False,
) -> tuple[Event, Row]:
    return event, Row(event, frozenset(sources), target, description, outcome, needs_reason)


P = Phase
#: The transition table: event -> which phases it leaves, where it goes, its outcome.
TABLE: Mapping[Event, Row] = MappingProxyType(
    dict(
        [
            _row(Event.REFER, (), P.REFERRED, "referral received; opens the plan"),
            _row(Event.WAITLIST, (P.REFERRED,), P.WAITLISTED, "accepted, waiting for a slot"),
            _row(
                Event.BEGIN_ASSESSMENT,
                (P.REFERRED, P.WAITLISTED),
                P.ASSESSING,
                "initial assessment and goal setting begins",
            ),
            _row(Event.AGREE_PLAN, (P.ASSESSING,), P.ACTIVE, "plan agreed with the client"),
            _row(Event.PAUSE, (P.ACTIVE,), P.ON_HOLD, "therapy paused", needs_reason=True),
            _row(Event.RESUME, (P.ON_HOLD,), P.ACTIVE, "therapy resumes"),
            _row(
                Event.BEGIN_ENDING,
                (P.ACTIVE, P.ON_HOLD),
                P.ENDING,
                "termination agreed: tapering, relapse prevention",
                needs_reason=True,
            ),
            _row(
                Event.RESUME_TREATMENT,
                (P.ENDING, P.FOLLOW_UP),
                P.ACTIVE,
                "ending reconsidered; regular sessions again",
                needs_reason=True,
            ),
            _row(
                Event.START_FOLLOW_UP,
                (P.ENDING,),
                P.FOLLOW_UP,
                "regular sessions over; post-therapy support",
            ),
            _row(
                Event.COMPLETE,
                (P.ENDING, P.FOLLOW_UP),
                P.CLOSED,
                "episode completed as planned",
                EpisodeOutcome.COMPLETED,
                needs_reason=True,
            ),
            _row(
                Event.DROP_OUT,
                (P.ASSESSING, P.ACTIVE, P.ON_HOLD, P.ENDING),
                P.CLOSED,
                "client stopped attending before a planned ending",
                EpisodeOutcome.DROPPED_OUT,
                needs_reason=True,
            ),
            _row(
                Event.TRANSFER,
                OPEN_PHASES,
                P.CLOSED,
                "care transferred to another service",
                EpisodeOutcome.TRANSFERRED,
                needs_reason=True,
            ),
            _row(
                Event.DECLINE,
                (P.REFERRED, P.WAITLISTED, P.ASSESSING),
                P.CLOSED,
                "client declined treatment",
                EpisodeOutcome.DECLINED,
                needs_reason=True,
            ),
            _row(
                Event.CANCEL,
                (P.REFERRED, P.WAITLISTED),
                P.CLOSED,
                "referral cancelled before treatment",
                EpisodeOutcome.CANCELLED,
                needs_reason=True,
            ),
            _row(
                Event.REOPEN,
                (P.CLOSED,),
                P.ASSESSING,
                "closed episode reopened for reassessment",
                needs_reason=True,
            ),
        ]
    )
)
#: The table keyed by the events' string values, as stored in a plan's history.
BY_NAME: Mapping[str, Row] = MappingProxyType({e.value: row for e, row in TABLE.items()})

#: Where each kind of record may be added to a plan, and so the phases in which a
#: stored record may be dated.
RECORDING_PHASES: Mapping[str, frozenset[Phase]] = MappingProxyType(
    {
        # Waiting-list and assessment measures are routine (NHS Talking Therapies).
        "assessment": OPEN_PHASES,
        "session": frozenset({P.ASSESSING, P.ACTIVE, P.ENDING, P.FOLLOW_UP}),
        "review": frozenset({P.ACTIVE, P.ON_HOLD, P.ENDING, P.FOLLOW_UP}),
        "revision": frozenset(
            {P.REFERRED, P.WAITLISTED, P.ASSESSING, P.ACTIVE, P.ON_HOLD, P.ENDING}
        ),
    }
)
