"""The therapy lifecycle: the transition table, its guards, and the operations that
make a new plan version (:func:`fire`, ``record_*``, :func:`revise`)."""

from ._lifecycle import (
    TRANSITIONS,
    EventCheck,
    Guard,
    TransitionSpec,
    allowed_events,
    check_event,
    fire,
    latest_time,
    mermaid,
    record_assessment,
    record_review,
    record_session,
    revise,
)
from ._transitions import OPEN_PHASES, RECORDING_PHASES, Event

__all__ = [
    "OPEN_PHASES",
    "RECORDING_PHASES",
    "TRANSITIONS",
    "Event",
    "EventCheck",
    "Guard",
    "TransitionSpec",
    "allowed_events",
    "check_event",
    "fire",
    "latest_time",
    "mermaid",
    "record_assessment",
    "record_review",
    "record_session",
    "revise",
]
