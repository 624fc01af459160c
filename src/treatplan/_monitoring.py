"""Expected-response monitoring: is each new score on track for this client?

Feedback systems such as OQ-Analyst and the PCOMS tools compare every score with
the trajectory expected for clients who started at the same severity, and flag
clients who are not on track (docs/references.md#change; with feedback, deterioration
among at-risk clients fell from 21% to 13%, Lambert 2017). This module gives:

- :class:`LogLinearCurve`, the built-in expected response: the distance from the
  healthy end of the scale shrinks linearly in ``ln(1 + session)`` (fast early,
  slower later: Howard et al. 1986), with a band for individual variation plus
  measurement error. Its rates are configurable defaults derived from the
  published dose-response figures (Howard et al. 1986; see the class docstring).
- :class:`TabulatedCurve`, expected scores supplied by the user (for example a
  service's own norms), and :class:`ExpectedResponse`, which picks the curve
  for an instrument and an intake score.
- :class:`TrackSignal`: each score is green (on track), amber (less change than
  expected) or red (not on track).
- :func:`track`: a chart of one instrument's scored points against the
  expected response (the scored series come from the plan's derived state,
  :mod:`treatplan._state`).
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
from datetime import datetime
from typing import Any, cast

import attrs

from . import _validation as v
from ._errors import ArgumentError, ValidationError, ValidationIssue
from ._fast import frozen_maker
from ._instruments import Direction, Instrument
from ._memo import IdentityCache
from ._records import SlottedRecord, record_repr
from ._scoring import ScoredPoint, is_case

__all__ = [
    "DEFAULT_ALARM_Z",
    "DEFAULT_BAND_Z",
    "DEFAULT_RATE",
    "DEFAULT_RATE_SD",
    "ExpectedResponse",
    "ExpectedScore",
    "LogLinearCurve",
    "TabulatedCurve",
    "TrackPoint",
    "TrackSignal",
    "chart",
    "expected_signal",
    "expected_trajectory",
    "track",
]

# --------------------------------------------------------------------------- defaults
# Howard, Kopta, Krause & Orlinsky (1986): about 50% of clients improved by
# session 8 and 75% by session 26. Read "improved" as a reliable improvement on
# PHQ-9 (6 points, the NHS Talking Therapies threshold) from the typical intake
# of depressed clients (15.5, unconfirmed; docs/references.md#simulation-figures): the median
# client removes 6 / 15.5 of their intake severity by session 8, and the client
# at the 25th percentile of response does so by session 26.
_HOWARD_MEDIAN_SESSION = 8
_HOWARD_QUARTILE_SESSION = 26
_TYPICAL_INTAKE = 15.5
_TYPICAL_RELIABLE_CHANGE = 6.0
_IMPROVED_FRACTION = _TYPICAL_RELIABLE_CHANGE / _TYPICAL_INTAKE
_Z_QUARTILE = 0.6744897501960817  # standard normal 75th percentile
_Z_DECILE = 1.2815515655446004  # standard normal 90th percentile

#: Median fraction of intake severity removed per unit of ``ln(1 + session)``:
#: 0.176 (derived from Howard et al. 1986 as above; a configurable default).
#: Cross-check: the median client halves their severity by session 16, within the
#: 13-18 sessions in which 50% of trial clients recover (Hansen, Lambert & Forman 2002).
DEFAULT_RATE = _IMPROVED_FRACTION / math.log(1 + _HOWARD_MEDIAN_SESSION)
_QUARTILE_RATE = _IMPROVED_FRACTION / math.log(1 + _HOWARD_QUARTILE_SESSION)
#: Between-client SD of the rate, 0.087: puts the 25th percentile of response at
#: Howard's 75%-by-session-26 (a configurable default).
DEFAULT_RATE_SD = (DEFAULT_RATE - _QUARTILE_RATE) / _Z_QUARTILE
#: Half-width of the expected band in SDs: the middle 50% of observed scores.
DEFAULT_BAND_Z = _Z_QUARTILE
#: The not-on-track limit in SDs beyond the expected score: the worst 10% of
#: observed scores, like OQ-Analyst's red signal (a configurable default).
DEFAULT_ALARM_Z = _Z_DECILE
# RC = 1.96 * sqrt(2) * SEM (Jacobson & Truax 1991), so SEM = RC / (1.96 * sqrt 2).
_RC_PER_SEM = 1.96 * math.sqrt(2)


class TrackSignal(enum.StrEnum):
    """How a score compares with the expected response (OQ-Analyst style signals).

    green: on track (within or better than the expected band, or out of the
    clinical range); amber: less change than expected; red: not on track.
    """

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


# Enum members read for every charted score, looked up once: a class attribute access
# on an enum costs several times a module global's.
_GREEN, _AMBER, _RED = TrackSignal.GREEN, TrackSignal.AMBER, TrackSignal.RED
_HIGHER_IS_WORSE = Direction.HIGHER_IS_WORSE


@attrs.frozen
class ExpectedScore:
    """The expected total at a session, with its band and the not-on-track limit.

    ``lower`` and ``upper`` are the numeric edges of the expected band (the
    middle of observed scores); ``alarm`` lies beyond the edge on the worse side
    (above ``upper`` when higher is worse, below ``lower`` when higher is better).
    """

    __repr__ = record_repr

    session: int = attrs.field(validator=v.integer(low=0, high=100_000))
    expected: float = attrs.field(validator=v.number())
    lower: float = attrs.field(validator=v.number())
    upper: float = attrs.field(validator=v.number())
    alarm: float = attrs.field(validator=v.number())

    def __attrs_post_init__(self) -> None:
        if not self.lower <= self.expected <= self.upper:
            raise ValidationError.at("$", "lower <= expected <= upper")

    def signal(self, total: float, direction: Direction) -> TrackSignal:
        """Green within or better than the band, amber up to ``alarm``, red beyond it."""
        if direction is _HIGHER_IS_WORSE:
            if total <= self.upper:
                return _GREEN
            return _AMBER if total <= self.alarm else _RED
        if total >= self.lower:
            return _GREEN
        return _AMBER if total >= self.alarm else _RED


#: Each instrument definition's (total_min, total_max): computed from its items.
_RANGES: IdentityCache[tuple[float, float]] = IdentityCache(256)


def _total_range(instrument: Instrument) -> tuple[float, float]:
    """The instrument's (total_min, total_max), remembered per definition object."""
    hit = _RANGES.get_one(instrument)
    if hit is not None:
        return hit
    return _RANGES.put((float(instrument.total_min), float(instrument.total_max)), instrument)


#: Expected scores of recent (log-linear curve, instrument definition) pairs, each a
#: table by (intake, session) of at most _EXPECTED_PER_CURVE entries.
_EXPECTED: IdentityCache[dict[tuple[float, int], ExpectedScore]] = IdentityCache(64)
_EXPECTED_PER_CURVE = 4096


def _positive(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not v.is_number(value) or value <= 0:
        raise v.fail(attribute, "a finite number above 0")


@attrs.frozen
class LogLinearCurve:
    """The built-in expected response: log-linear in the session number.

    With ``best`` the healthy end of the scale (``floor`` if given, else the
    instrument's lowest total, or its highest when higher is better) and
    ``d0 = |intake - best|`` the intake severity, the expected distance from
    ``best`` after ``s`` sessions is ``d0 * max(0, 1 - rate * ln(1 + s))``.
    Clients vary in ``rate`` (SD ``rate_sd``) and scores carry measurement error
    (``measurement_error``, the SEM; default from the instrument's reliable
    change, ``RC / (1.96 * sqrt 2)``, else from its norms, ``SD * sqrt(1 - r)``,
    else 0). The band is ``expected +/- band_z * spread`` and the not-on-track
    limit ``expected + alarm_z * spread`` on the worse side, with
    ``spread = sqrt((d0 * ln(1 + s) * rate_sd)^2 + SEM^2)``.

    Every number is a configurable default. ``rate`` 0.176 and ``rate_sd`` 0.087
    make the expected PHQ-9 trajectory from a typical depressed intake (15.5, an
    *unconfirmed* figure) reach a reliable improvement by session 8 for half of
    clients and by session 26 for three quarters (Howard et al. 1986); the median
    client halves their severity by session 16 (Hansen, Lambert & Forman 2002: 13-18 sessions).
    """

    __repr__ = record_repr

    rate: float = attrs.field(default=DEFAULT_RATE, validator=_positive)
    rate_sd: float = attrs.field(default=DEFAULT_RATE_SD, validator=v.number(low=0))
    band_z: float = attrs.field(default=DEFAULT_BAND_Z, validator=v.number(low=0, high=10))
    alarm_z: float = attrs.field(default=DEFAULT_ALARM_Z, validator=v.number(low=0, high=10))
    measurement_error: float | None = attrs.field(
        default=None, validator=v.number(low=0, optional=True)
    )
    floor: float | None = attrs.field(default=None, validator=v.number(optional=True))

    def __attrs_post_init__(self) -> None:
        if self.alarm_z < self.band_z:
            raise ValidationError.at("$.alarm_z", "a number not below band_z")

    def sem(self, instrument: Instrument) -> float:
        """The standard error of measurement used for ``instrument``."""
        if self.measurement_error is not None:
            return self.measurement_error
        if instrument.reliable_change is not None:
            return instrument.reliable_change / _RC_PER_SEM
        norms = instrument.norms
        if norms is not None:
            return norms.clinical_sd * math.sqrt(1 - norms.reliability)
        return 0.0

    def expected(self, instrument: Instrument, intake: float, session: int) -> ExpectedScore:
        """The expected score ``session`` sessions after an intake score of ``intake``."""
        if type(intake) is not float or type(session) is not int:
            _check_expected_arguments(instrument, intake, session)
            return self._expected(instrument, intake, session)
        # Every review charts each score against the same expectations again: remember
        # them per (curve, definition) objects, by (intake, session).
        table = _EXPECTED.get_two(self, instrument)
        if table is None:
            table = _EXPECTED.put({}, self, instrument)
        key = (intake, session)
        point = table.get(key)
        if point is None:
            _check_expected_arguments(instrument, intake, session)
            point = self._expected(instrument, intake, session)
            if len(table) >= _EXPECTED_PER_CURVE:
                table.clear()
            table[key] = point
        return point

    def _expected(self, instrument: Instrument, intake: float, session: int) -> ExpectedScore:
        worse_up = instrument.direction is Direction.HIGHER_IS_WORSE
        low, high = _total_range(instrument)
        best = self.floor if self.floor is not None else (low if worse_up else high)
        sign = 1.0 if worse_up else -1.0  # score = best + sign * distance
        d0 = max(0.0, sign * (intake - best))
        log_s = math.log1p(session)
        distance = d0 * max(0.0, 1.0 - self.rate * log_s)
        spread = math.hypot(d0 * log_s * self.rate_sd, self.sem(instrument))

        def at(d: float) -> float:
            return min(high, max(low, best + sign * d))

        expected = at(distance)
        better, worse = (
            at(max(0.0, distance - self.band_z * spread)),
            at(distance + self.band_z * spread),
        )
        alarm = at(distance + self.alarm_z * spread)
        lower, upper = (better, worse) if worse_up else (worse, better)
        return ExpectedScore(session, expected, min(lower, expected), max(upper, expected), alarm)


def _check_expected_arguments(instrument: object, intake: object, session: object) -> None:
    if not isinstance(instrument, Instrument):
        raise ArgumentError("instrument", "an Instrument")
    if not v.is_number(intake):
        raise ArgumentError("intake", "a finite number")
    if not v.is_int(session) or session < 0:  # type: ignore[operator]
        raise ArgumentError("session", "an integer of at least 0")


# Converters typed on their inputs, so that type checkers see what each constructor
# takes (mypy's attrs plugin reads a converter's parameter type). At run time each
# accepts anything and leaves what is not a list or tuple to the field's validator.
def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _points(value: list[ExpectedScore] | tuple[ExpectedScore, ...]) -> tuple[ExpectedScore, ...]:
    return cast("tuple[ExpectedScore, ...]", _tuple(value))


def _curves(
    value: list[TabulatedCurve] | tuple[TabulatedCurve, ...],
) -> tuple[TabulatedCurve, ...]:
    return cast("tuple[TabulatedCurve, ...]", _tuple(value))


@attrs.frozen
class TabulatedCurve:
    """A user-supplied expected response for one instrument and an intake range.

    ``points`` give the expected score, band and alarm at increasing session
    numbers (0 is the intake); between points the values are interpolated
    linearly, after the last one they stay put. It applies to intake totals from
    ``intake_low`` to ``intake_high`` inclusive.
    """

    __repr__ = record_repr

    instrument: str = attrs.field(validator=v.ref())
    intake_low: float = attrs.field(validator=v.number())
    intake_high: float = attrs.field(validator=v.number())
    points: tuple[ExpectedScore, ...] = attrs.field(
        converter=_points,
        validator=v.items_of(ExpectedScore, "expected scores", min_length=1, max_length=1000),
    )

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationIssue] = []
        if self.intake_high < self.intake_low:
            problems.append(ValidationIssue("$.intake_high", "a number not below intake_low"))
        sessions = [p.session for p in self.points]
        if any(b <= a for a, b in itertools.pairwise(sessions)):
            problems.append(ValidationIssue("$.points", "points in increasing session order"))
        if problems:
            raise ValidationError(problems)

    def covers(self, code: str, intake: float) -> bool:
        """Whether this curve is for instrument ``code`` and intake ``intake``."""
        return code == self.instrument and self.intake_low <= intake <= self.intake_high

    def expected(self, instrument: Instrument, intake: float, session: int) -> ExpectedScore:
        """The tabulated expectation at ``session`` (interpolated between points)."""
        _check_expected_arguments(instrument, intake, session)
        pts = self.points
        sessions = [p.session for p in pts]
        i = bisect.bisect_left(sessions, session)
        if i < len(pts) and pts[i].session == session:
            p = pts[i]
        elif i == 0:
            p = pts[0]
        elif i == len(pts):
            p = pts[-1]
        else:
            a, b = pts[i - 1], pts[i]
            f = (session - a.session) / (b.session - a.session)

            def mix(x: float, y: float) -> float:
                return x + f * (y - x)

            return ExpectedScore(
                session,
                mix(a.expected, b.expected),
                mix(a.lower, b.lower),
                mix(a.upper, b.upper),
                mix(a.alarm, b.alarm),
            )
        return ExpectedScore(session, p.expected, p.lower, p.upper, p.alarm)


@attrs.frozen
class ExpectedResponse:
    """Which expected-response curve applies, and how scores are signalled.

    The first of ``curves`` that covers the instrument and intake wins; otherwise
    ``default`` (the log-linear curve). With ``non_case_is_green`` a score out of
    the instrument's clinical range is green whatever the curve says (OQ-Analyst
    treats functioning in the normal range as no alarm); reliable deterioration
    has its own alert.
    """

    __repr__ = record_repr

    curves: tuple[TabulatedCurve, ...] = attrs.field(
        default=(),
        converter=_curves,
        validator=v.items_of(TabulatedCurve, "tabulated curves", max_length=1000),
    )
    default: LogLinearCurve = attrs.field(
        factory=LogLinearCurve, validator=v.instance(LogLinearCurve)
    )
    non_case_is_green: bool = attrs.field(default=True, validator=v.boolean())

    def curve_for(self, code: str, intake: float) -> TabulatedCurve | LogLinearCurve:
        """The curve for instrument ``code`` and an intake total."""
        for curve in self.curves:
            if curve.covers(code, intake):
                return curve
        return self.default

    def expected(self, instrument: Instrument, intake: float, session: int) -> ExpectedScore:
        """The expected score ``session`` sessions after the intake score."""
        if not v.is_int(session) or session < 0:
            raise ValidationError.at("session", "an integer of at least 0")
        return self.curve_for(instrument.code, intake).expected(instrument, intake, session)

    def classify(
        self,
        instrument: Instrument,
        intake: float,
        session: int,
        total: float,
        *,
        case: bool | None = None,
    ) -> tuple[ExpectedScore, TrackSignal]:
        """The expectation at ``session`` and the signal for an observed ``total``.

        ``case`` is whether ``total`` is in the clinical range (``None``: unknown).
        The intake itself (session 0) is always green.
        """
        if not v.is_number(total):
            raise ArgumentError("total", "a finite number")
        if case is not None and not isinstance(case, bool):
            raise ArgumentError("case", "True, False or None")
        if not v.is_int(session) or session < 0:
            raise ValidationError.at("session", "an integer of at least 0")
        return self._classified(instrument, intake, session, total, case)

    def _classified(
        self, instrument: Instrument, intake: float, session: int, total: float, case: bool | None
    ) -> tuple[ExpectedScore, TrackSignal]:
        """:meth:`classify` with its arguments checked (the library's own charts)."""
        point = self.curve_for(instrument.code, intake).expected(instrument, intake, session)
        if session == 0 or (self.non_case_is_green and case is False):
            return point, _GREEN
        return point, point.signal(total, instrument.direction)


_DEFAULT_RESPONSE = ExpectedResponse()


def expected_trajectory(
    instrument: Instrument,
    intake: float,
    sessions: int = 20,
    response: ExpectedResponse | None = None,
) -> tuple[ExpectedScore, ...]:
    """The expected score with its band at sessions 0 to ``sessions`` after intake."""
    if not v.is_int(sessions) or not 0 <= sessions <= 10_000:
        raise ValidationError.at("sessions", "an integer from 0 to 10000")
    if not v.is_number(intake):
        raise ValidationError.at("intake", "a finite number")
    if not isinstance(instrument, Instrument):
        raise ArgumentError("instrument", "an Instrument")
    v.check_argument(response, ExpectedResponse, "response", "an ExpectedResponse")
    chosen = response or _DEFAULT_RESPONSE
    return tuple(chosen.expected(instrument, intake, s) for s in range(sessions + 1))


def expected_signal(
    instrument: Instrument,
    intake: float,
    session: int,
    total: float,
    response: ExpectedResponse | None = None,
) -> TrackSignal:
    """Green, amber or red for ``total`` at ``session`` sessions after ``intake``."""
    _check_expected_arguments(instrument, intake, session)
    if not v.is_number(total):
        raise ArgumentError("total", "a finite number")
    v.check_argument(response, ExpectedResponse, "response", "an ExpectedResponse")
    chosen = response or _DEFAULT_RESPONSE
    return chosen.classify(instrument, intake, session, total, case=is_case(instrument, total))[1]


# --------------------------------------------------------------------------- tracking
@attrs.frozen
class TrackPoint(SlottedRecord):
    """One score on the expected-response chart.

    ``expected`` and ``signal`` are ``None`` for a score without a total (too
    many missing items). ``session`` counts from the baseline score (0).
    """

    __repr__ = record_repr

    assessment_id: str
    at: datetime
    session: int
    total: float | None
    expected: ExpectedScore | None
    signal: TrackSignal | None
    risk_flags: tuple[str, ...] = ()


def track(
    instrument: Instrument,
    points: tuple[ScoredPoint, ...],
    response: ExpectedResponse | None = None,
    *,
    expected: bool = True,
) -> tuple[TrackPoint, ...]:
    """The expected-response chart of one instrument's scores, the first scored one the intake.

    With ``expected=False`` (a process measure such as the alliance) the points
    carry no expectation and no signal.
    """
    if not isinstance(instrument, Instrument):
        raise ArgumentError("instrument", "an Instrument")
    v.check_argument(response, ExpectedResponse, "response", "an ExpectedResponse")
    if not isinstance(points, tuple | list) or not all(
        isinstance(p, ScoredPoint) and p.score.instrument == instrument.code for p in points
    ):
        raise ArgumentError(
            "points", "a sequence of ScoredPoints of that instrument (see plan_series)"
        )
    return chart(instrument, points, response or _DEFAULT_RESPONSE, expected)


#: ``TrackPoint(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): every review and alert check
#: charts the scores.
_new_track_point = frozen_maker(TrackPoint)


def chart(
    instrument: Instrument,
    points: tuple[ScoredPoint, ...] | list[ScoredPoint],
    response: ExpectedResponse,
    expected: bool = True,
) -> tuple[TrackPoint, ...]:
    """:func:`track` with its arguments already checked (scored points of
    ``instrument``, a response): for the library's own callers (alerts, reviews)."""
    # The first scored point (a loop: next() over a generator closes it with an
    # exception, which costs more than the search).
    baseline = None
    for p in points:
        if p.score.total is not None:
            baseline = p
            break
    out: list[TrackPoint] = []
    for p in points:
        score = p.score
        total = score.total
        if not expected and baseline is not None:
            session = p.session - baseline.session
            session = session if session > 0 else 0  # max(0, ...), without its call
            out.append(
                _new_track_point(
                    p.assessment_id, p.at, session, total, None, None, score.risk_flags
                )
            )
            continue
        if baseline is None or total is None or baseline.score.total is None:
            out.append(
                _new_track_point(p.assessment_id, p.at, 0, total, None, None, score.risk_flags)
            )
            continue
        session = p.session - baseline.session
        session = session if session > 0 else 0  # max(0, ...), without its call
        # A score's total (a finite number) and caseness, a session number >= 0.
        point, signal = response._classified(
            instrument, baseline.score.total, session, total, score.case
        )
        flags = score.risk_flags
        out.append(_new_track_point(p.assessment_id, p.at, session, total, point, signal, flags))
    return tuple(out)
