"""Routine outcome monitoring: expected-response curves, not-on-track signals and alerts.

:func:`track` charts one instrument's scores against the expected response;
:func:`expected_signal` classifies one score; :func:`alerts` lists what a clinician
must know before the next session (risk items, not on track, reliable
deterioration, the alliance, missing measures, an overdue review, the
authorisation).
"""

from ._alerts import DEFAULT_ALLIANCE_CUTOFF, Alert, AlertKind, AlertLevel, AlertPolicy, alerts
from ._monitoring import (
    DEFAULT_ALARM_Z,
    DEFAULT_BAND_Z,
    DEFAULT_RATE,
    DEFAULT_RATE_SD,
    ExpectedResponse,
    ExpectedScore,
    LogLinearCurve,
    TabulatedCurve,
    TrackPoint,
    TrackSignal,
    expected_signal,
    expected_trajectory,
    track,
)

__all__ = [
    "DEFAULT_ALARM_Z",
    "DEFAULT_ALLIANCE_CUTOFF",
    "DEFAULT_BAND_Z",
    "DEFAULT_RATE",
    "DEFAULT_RATE_SD",
    "Alert",
    "AlertKind",
    "AlertLevel",
    "AlertPolicy",
    "ExpectedResponse",
    "ExpectedScore",
    "LogLinearCurve",
    "TabulatedCurve",
    "TrackPoint",
    "TrackSignal",
    "alerts",
    "expected_signal",
    "expected_trajectory",
    "track",
]
