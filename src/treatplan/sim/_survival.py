"""Survival statistics of a simulated caseload: Kaplan-Meier, Aalen-Johansen
cumulative incidence with competing endings, time to recovery, and exact
Student t quantiles. Pure Python (no numpy or scipy at run time).

- :func:`kaplan_meier`: the product-limit estimate (Kaplan & Meier 1958) with
  Greenwood's variance and a 95% interval on the log(-log S) scale (the
  "exponential Greenwood" interval, as lifelines' ``KaplanMeierFitter``).
- :func:`cumulative_incidence`: the Aalen-Johansen estimate (Aalen & Johansen
  1978) of the probability of ending by one cause in the presence of the others,
  with the delta-method (Greenwood-type) variance given by Collett, *Modelling
  Survival Data in Medical Research*, and a 95% interval on the log(-log F) scale
  (as lifelines' ``AalenJohansenFitter``).
- :func:`episode_endings` and :func:`recovery_times`: the durations and causes
  read from a run's clients (and sessions) table, by sessions attended or by
  weeks since the first appointment.
- :func:`t_quantile`: Student's t quantile, through the regularised incomplete
  beta function.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from statistics import NormalDist
from typing import Any, Literal

import attrs

from .. import _validation as v
from .._errors import ArgumentError, ValidationError
from .._records import record_repr
from . import _checks as checks

__all__ = [
    "ENDING_CAUSES",
    "CumulativeIncidence",
    "Durations",
    "SurvivalCurve",
    "competing_risks",
    "cumulative_incidence",
    "ending_cause",
    "episode_endings",
    "kaplan_meier",
    "recovery_times",
    "t_quantile",
]

Scale = Literal["sessions", "weeks"]

#: The causes an episode can end by, in :func:`episode_endings`: ``dropout`` (a
#: non-attendance rule closed it as dropped out), ``recovery_discharge`` (a
#: recovery rule, ``sustained_recovery`` or ``goals_met``, fired) and
#: ``planned_ending`` (any other completed ending: the session limit, the
#: client's request after reliable improvement, a time limit). Episodes still
#: open at the horizon are censored.
ENDING_CAUSES = ("dropout", "recovery_discharge", "planned_ending")
_RECOVERY_RULES = frozenset({"sustained_recovery", "goals_met"})


def _z(confidence: float) -> float:
    if not v.is_number(confidence) or not 0 < confidence < 1:
        raise ArgumentError("confidence", "a number between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _time(time: Any) -> float:
    # Any real time, infinities included (at(math.inf) is the last value); not NaN,
    # which would sort nowhere.
    if not isinstance(time, int | float) or isinstance(time, bool) or time != time:
        raise ArgumentError("time", "a number (not NaN)")
    return time


def _number_at_risk(times: tuple[float, ...], at_risk: tuple[int, ...], time: float) -> int:
    i = bisect.bisect_left(times, _time(time))
    return at_risk[i] if i < len(times) else 0


def _censoring_times(times: tuple[float, ...], censored: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(t for t, c in zip(times, censored, strict=True) if c)


@attrs.frozen
class SurvivalCurve:
    """A Kaplan-Meier estimate: one entry per distinct time (events or censorings).

    ``estimates[i]`` is S(t) just after ``times[i]``; ``lower``/``upper`` its
    confidence interval (log(-log S) scale); ``variance`` Greenwood's variance of
    S; ``at_risk[i]`` the number still followed just before ``times[i]``;
    ``events`` and ``censored`` the counts at each time.
    """

    __repr__ = record_repr

    times: tuple[float, ...]
    estimates: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    variance: tuple[float, ...]
    at_risk: tuple[int, ...]
    events: tuple[int, ...]
    censored: tuple[int, ...]
    confidence: float = 0.95

    def at(self, time: float) -> float:
        """S(time): the step function, 1 before the first time."""
        i = bisect.bisect_right(self.times, _time(time))
        return self.estimates[i - 1] if i else 1.0

    def number_at_risk(self, time: float) -> int:
        """How many are still followed at ``time`` (their time is ``time`` or later)."""
        return _number_at_risk(self.times, self.at_risk, time)

    @property
    def censoring_times(self) -> tuple[float, ...]:
        """The times at which someone was censored (where to draw censoring marks)."""
        return _censoring_times(self.times, self.censored)


@attrs.frozen
class CumulativeIncidence:
    """An Aalen-Johansen estimate of ending by ``cause`` with competing causes.

    ``estimates[i]`` is F(t), the probability of having ended by ``cause`` by
    ``times[i]``; ``lower``/``upper`` its confidence interval (log(-log F)
    scale); ``variance`` the delta-method variance of F; ``at_risk[i]`` the number
    still followed just before ``times[i]``; ``events`` the endings by this cause,
    ``all_events`` by any cause and ``censored`` the censorings at each time.
    """

    __repr__ = record_repr

    cause: str
    times: tuple[float, ...]
    estimates: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    variance: tuple[float, ...]
    at_risk: tuple[int, ...]
    events: tuple[int, ...]
    all_events: tuple[int, ...]
    censored: tuple[int, ...]
    confidence: float = 0.95

    def at(self, time: float) -> float:
        """F(time): the step function, 0 before the first time."""
        i = bisect.bisect_right(self.times, _time(time))
        return self.estimates[i - 1] if i else 0.0

    def number_at_risk(self, time: float) -> int:
        """How many are still followed at ``time`` (their time is ``time`` or later)."""
        return _number_at_risk(self.times, self.at_risk, time)

    @property
    def censoring_times(self) -> tuple[float, ...]:
        """The times at which someone was censored (where to draw censoring marks)."""
        return _censoring_times(self.times, self.censored)


def _event_table(
    durations: Sequence[float], causes: Sequence[str | None]
) -> tuple[list[float], list[int], list[dict[str, int]], list[int]]:
    """Distinct times, the number at risk before each, events by cause, censorings."""
    checks.sequence("durations", durations, "a list of finite numbers, not negative")
    _check_causes(causes)
    if len(durations) != len(causes):
        raise ArgumentError("causes", "one cause (or None) per duration")
    table: dict[float, tuple[dict[str, int], list[int]]] = {}
    for time, cause in zip(durations, causes, strict=True):
        if not v.is_number(time) or time < 0:
            raise ArgumentError("durations", "finite numbers, not negative")
        time = float(time)
        by_cause, censored = table.setdefault(time, ({}, [0]))
        if cause is None:
            censored[0] += 1
        else:
            by_cause[cause] = by_cause.get(cause, 0) + 1
    times = sorted(table)
    at_risk, events, censored_counts = [], [], []
    remaining = len(durations)
    for time in times:
        by_cause, censored = table[time]
        at_risk.append(remaining)
        events.append(by_cause)
        censored_counts.append(censored[0])
        remaining -= sum(by_cause.values()) + censored[0]
    return times, at_risk, events, censored_counts


def _check_causes(causes: Any) -> None:
    expected = "a list of causes (str, or None for a censoring), one per duration"
    checks.sequence("causes", causes, expected)
    if not all(c is None or isinstance(c, str) for c in causes):
        raise ArgumentError("causes", expected)


def _log_log_interval(value: float, se: float, z: float) -> tuple[float, float]:
    """The interval value**exp(+-z se / (value |log value|)), kept inside [0, 1]."""
    if value <= 0.0 or value >= 1.0 or not math.isfinite(se):
        # A sum of incidences can round a hair past 1 (1.0000000000000002): the band
        # stays inside [0, 1] all the same.
        edge = min(1.0, max(0.0, value))
        return (edge, edge) if math.isfinite(se) else (math.nan, math.nan)
    log_value = math.log(value)
    spread = z * se / (value * abs(log_value))
    a, b = value ** math.exp(spread), value ** math.exp(-spread)
    return min(a, b), max(a, b)


def kaplan_meier(
    durations: Sequence[float], observed: Sequence[bool], *, confidence: float = 0.95
) -> SurvivalCurve:
    """The Kaplan-Meier estimate of S(t) = P(T > t), with Greenwood's variance.

    ``observed[i]`` is true for an event at ``durations[i]`` and false for a
    censoring there (censorings at an event time count as still at risk at it).
    The interval is exp(-exp(log(-log S) +- z sqrt(G) / log S)), G the Greenwood
    sum of d / (n (n - d)): it stays inside [0, 1]. Where S is 1 or 0 the interval
    collapses onto it.
    """
    z = _z(confidence)
    checks.sequence("durations", durations, "a list of finite numbers, not negative")
    checks.sequence("observed", observed, "a list of booleans, one flag per duration")
    if len(durations) != len(observed) or not all(isinstance(o, bool) for o in observed):
        raise ArgumentError("observed", "a list of booleans, one flag per duration")
    causes = ["event" if o else None for o in observed]
    times, at_risk, events, censored = _event_table(durations, causes)
    survival, greenwood = 1.0, 0.0
    estimates, lower, upper, variance, deaths = [], [], [], [], []
    for n, by_cause in zip(at_risk, events, strict=True):
        d = by_cause.get("event", 0)
        if d:
            survival *= 1.0 - d / n
            if d < n:
                greenwood += d / (n * (n - d))
        estimates.append(survival)
        variance.append(survival * survival * greenwood)
        low, high = _log_log_interval(survival, survival * math.sqrt(greenwood), z)
        lower.append(low)
        upper.append(high)
        deaths.append(d)
    return SurvivalCurve(
        tuple(times),
        tuple(estimates),
        tuple(lower),
        tuple(upper),
        tuple(variance),
        tuple(at_risk),
        tuple(deaths),
        tuple(censored),
        confidence,
    )


def cumulative_incidence(
    durations: Sequence[float],
    causes: Sequence[str | None],
    cause: str,
    *,
    confidence: float = 0.95,
) -> CumulativeIncidence:
    """The Aalen-Johansen cumulative incidence of ``cause`` with competing causes.

    ``causes[i]`` is the cause that ended follow-up at ``durations[i]``, or
    ``None`` for a censoring. F(t) = sum over event times t_i <= t of
    S(t_i-) d_i / n_i, S the all-cause Kaplan-Meier estimate and d_i the endings
    by ``cause``. Tied times need no jitter. The variance is the delta-method
    estimate (Collett; as lifelines):

        sum (F(t) - F(t_i))^2 D_i / (n_i (n_i - D_i))
        + sum S(t_i-)^2 d_i (n_i - d_i) / n_i^3
        - 2 sum (F(t) - F(t_i)) S(t_i-) d_i / n_i^2

    with D_i the endings by any cause; the interval is F**exp(+-z se / (F |log F|)).
    """
    z = _z(confidence)
    if not isinstance(cause, str):
        raise ArgumentError("cause", "the name of a cause (a str)")
    times, at_risk, events, censored = _event_table(durations, causes)
    survival = 1.0  # all-cause Kaplan-Meier just before the current time
    incidence = 0.0
    # Running sums that make the variance O(1) per time: with c_i the first-term
    # coefficient, sum c_i (F - F_i)^2 = F^2 sum c_i - 2 F sum c_i F_i + sum c_i F_i^2.
    c_sum = c_f = c_ff = 0.0
    second = 0.0
    l_sum = l_f = 0.0
    estimates, lower, upper, variance, mine, every = [], [], [], [], [], []
    for n, by_cause in zip(at_risk, events, strict=True):
        d_all = sum(by_cause.values())
        d = by_cause.get(cause, 0)
        lagged = survival
        if d:
            incidence += lagged * d / n
        if d_all:
            survival *= 1.0 - d_all / n
        f = incidence
        if d_all and d_all < n:
            c = d_all / (n * (n - d_all))
            c_sum += c
            c_f += c * f
            c_ff += c * f * f
        if d:
            second += lagged * lagged * d * (n - d) / n**3
            coefficient = lagged * d / (n * n)
            l_sum += coefficient
            l_f += coefficient * f
        var = (f * f * c_sum - 2 * f * c_f + c_ff) + second - 2 * (f * l_sum - l_f)
        var = max(var, 0.0)  # rounding can leave -1e-18 where the variance is 0
        estimates.append(f)
        variance.append(var)
        low, high = _log_log_interval(f, math.sqrt(var), z)
        lower.append(low)
        upper.append(high)
        mine.append(d)
        every.append(d_all)
    return CumulativeIncidence(
        cause,
        tuple(times),
        tuple(estimates),
        tuple(lower),
        tuple(upper),
        tuple(variance),
        tuple(at_risk),
        tuple(mine),
        tuple(every),
        tuple(censored),
        confidence,
    )


def competing_risks(
    durations: Sequence[float],
    causes: Sequence[str | None],
    *,
    confidence: float = 0.95,
) -> dict[str, CumulativeIncidence]:
    """The cumulative incidence of every cause present, sorted by cause name.

    At every time the estimates add up to 1 - S(t), S the all-cause Kaplan-Meier.
    """
    _check_causes(causes)
    present = sorted({c for c in causes if c is not None})
    return {c: cumulative_incidence(durations, causes, c, confidence=confidence) for c in present}


@attrs.frozen
class Durations:
    """Follow-up times and how each ended (``None``: censored), with the client refs.

    ``scale`` is ``"sessions"`` (sessions attended) or ``"weeks"`` (since the
    first appointment). Pass ``durations`` and ``causes`` to
    :func:`cumulative_incidence` or :func:`competing_risks`; for
    :func:`kaplan_meier`, ``observed`` marks the ends that were not censored.
    """

    __repr__ = record_repr

    scale: str
    clients: tuple[str, ...]
    durations: tuple[float, ...]
    causes: tuple[str | None, ...]

    @property
    def observed(self) -> tuple[bool, ...]:
        """True where follow-up ended by a cause (not censored)."""
        return tuple(c is not None for c in self.causes)


class _Row:
    """One table row; a bad or missing cell is an error naming its JSON path (never its text)."""

    def __init__(self, index: int, cells: Mapping[str, Any]) -> None:
        if not isinstance(cells, Mapping):
            raise ValidationError.at(f"$[{index}]", "an object (a table row)")
        self.index, self.cells = index, cells

    def text(self, column: str) -> str:
        try:
            value = self.cells[column]
        except KeyError:
            raise ValidationError.at(f"$[{self.index}]", f"a {column!r} column") from None
        return "" if value is None else str(value)

    def flag(self, column: str) -> bool:
        return self.text(column).lower() == "true"

    def integer(self, column: str) -> int | None:
        text = self.text(column)
        try:
            return int(text) if text else None
        except ValueError:
            raise ValidationError.at(f"$[{self.index}].{column}", "a whole number") from None

    def day(self, column: str) -> date:
        text = self.text(column)
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise ValidationError.at(f"$[{self.index}].{column}", "an ISO 8601 date") from None

    def started(self) -> date:
        """The first appointment: referral + ``waited_days``."""
        waited = self.integer("waited_days") or 0
        return date.fromordinal(self.day("referred").toordinal() + waited)


def ending_cause(row: Mapping[str, Any]) -> str | None:
    """How a started episode ended (one of :data:`ENDING_CAUSES`), ``None`` if still open."""
    return _ending_cause(_Row(0, row))


def _ending_cause(row: _Row) -> str | None:
    outcome = row.text("outcome")
    if outcome == "dropped_out":
        return "dropout"
    if not outcome:
        return None
    rules = set(row.text("ended_by").split(";"))
    return "recovery_discharge" if rules & _RECOVERY_RULES else "planned_ending"


def _check_scale(scale: str) -> None:
    if scale not in ("sessions", "weeks"):
        raise ArgumentError("scale", "'sessions' or 'weeks'")


def _table(name: str, rows: Any) -> Iterable[Mapping[str, Any]]:
    """``rows`` if they can be a table's rows (an iterable, not a text or a single row)."""
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise ArgumentError(name, "the rows of a table (a list of mappings)")
    return rows


def _check_horizon(horizon_weeks: Any) -> None:
    if horizon_weeks is not None:
        checks.integer("horizon_weeks", horizon_weeks, 1, 100_000)


def _endings(rows: Iterable[_Row], scale: Scale, horizon_weeks: int | None) -> Durations:
    refs: list[str] = []
    durations: list[float] = []
    causes: list[str | None] = []
    for row in rows:
        cause = _ending_cause(row)
        if scale == "sessions":
            time = float(row.integer("sessions_attended") or 0)
        elif cause is None:
            if horizon_weeks is None:
                raise ArgumentError(
                    "horizon_weeks", "the scenario's horizon (an episode is still open)"
                )
            time = (horizon_weeks * 7 - (row.integer("waited_days") or 0)) / 7
        else:
            time = (row.day("closed").toordinal() - row.started().toordinal()) / 7
        refs.append(row.text("client"))
        durations.append(time)
        causes.append(cause)
    return Durations(scale, tuple(refs), tuple(durations), tuple(causes))


def episode_endings(
    clients: Iterable[Mapping[str, Any]],
    scale: Scale = "sessions",
    *,
    horizon_weeks: int | None = None,
) -> Durations:
    """Durations and ending causes of the started episodes in a clients table.

    ``clients`` are rows of ``clients.csv`` or ``clients.jsonl`` (as
    :func:`~treatplan.sim.read_table` returns them). Declined referrals never
    start and are left out. By ``"sessions"`` the time is the sessions attended
    when the episode closed; by ``"weeks"`` it is the days from the first
    appointment (referral + ``waited_days``) to the ``closed`` date, over 7. An
    episode still open at the horizon is censored there: at its sessions
    attended, or ``horizon_weeks`` (the scenario's) after referral, which is then
    required. A missing or malformed cell raises :class:`treatplan.ValidationError`
    naming its row and column.
    """
    _check_scale(scale)
    _check_horizon(horizon_weeks)
    rows = (_Row(i, cells) for i, cells in enumerate(_table("clients", clients)))
    return _endings((row for row in rows if row.flag("started")), scale, horizon_weeks)


def recovery_times(
    clients: Iterable[Mapping[str, Any]],
    sessions: Iterable[Mapping[str, Any]],
    scale: Scale = "sessions",
    *,
    horizon_weeks: int | None = None,
    depression_caseness: int = 10,
    anxiety_caseness: int = 8,
    ending_competes: bool = False,
) -> Durations:
    """Time to recovery: the first attended session scoring below caseness on both measures.

    Only episodes that were a case at the first score (``intake_phq9`` >=
    ``depression_caseness`` or ``intake_gad7`` >= ``anxiety_caseness``: the
    screen at referral, the plan's first scores, which the run's
    ``case_at_start`` also uses; the NHS Talking Therapies thresholds by
    default) can recover, so only those are included. The event ("recovered")
    is at the first attended session whose PHQ-9 and GAD-7 are both below
    caseness, counted in sessions attended or in weeks from the first
    appointment to that session's date; an episode that ended or reached the
    horizon without one is censored at its end (as :func:`episode_endings`).
    This is recovery at a session, not the episode's NHS outcome, which looks
    at the last scores only.

    Censoring at the ending treats ending as uninformative, so 1 - Kaplan-Meier
    is recovery as if every episode went on. With ``ending_competes`` an episode
    that closed without recovering ends by ``"ended_unrecovered"`` instead (open
    episodes stay censored), for :func:`cumulative_incidence` of ``"recovered"``:
    the share that recovered while in treatment.
    """
    _check_scale(scale)
    _check_horizon(horizon_weeks)
    checks.integer("depression_caseness", depression_caseness, 0, 27)
    checks.integer("anxiety_caseness", anxiety_caseness, 0, 21)
    _table("clients", clients)
    first: dict[str, tuple[int, date]] = {}
    attended: dict[str, int] = {}
    for i, cells in enumerate(_table("sessions", sessions)):
        session = _Row(i, cells)
        phq, gad = session.integer("phq9"), session.integer("gad7")
        if phq is None or gad is None:
            continue
        ref = session.text("client")
        attended[ref] = attended.get(ref, 0) + 1
        if ref not in first and phq < depression_caseness and gad < anxiety_caseness:
            first[ref] = (attended[ref], session.day("at"))
    rows = [
        row
        for row in (_Row(i, cells) for i, cells in enumerate(clients))
        if row.flag("started")
        and (
            (row.integer("intake_phq9") or 0) >= depression_caseness
            or (row.integer("intake_gad7") or 0) >= anxiety_caseness
        )
    ]
    endings = _endings(rows, scale, horizon_weeks)
    durations = list(endings.durations)
    causes: list[str | None] = [
        "ended_unrecovered" if ending_competes and cause is not None else None
        for cause in endings.causes
    ]
    for i, row in enumerate(rows):
        found = first.get(row.text("client"))
        if found is None:
            continue
        causes[i] = "recovered"
        if scale == "sessions":
            durations[i] = float(found[0])
        else:
            durations[i] = (found[1].toordinal() - row.started().toordinal()) / 7
    return Durations(scale, endings.clients, tuple(durations), tuple(causes))


# --- Student's t quantile -------------------------------------------------------

_LOG_SQRT_PI = 0.5 * math.log(math.pi)


def _log_gamma_ratio_half(z: float) -> float:
    """log(Gamma(z + 1/2) / Gamma(z)), accurate for large z where lgamma cancels."""
    if z < 40:
        return math.lgamma(z + 0.5) - math.lgamma(z)

    def series(x: float) -> float:  # Stirling's series for log Gamma, beyond its leading terms
        x2 = x * x
        return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * x2)) / x2) / x2) / x

    return z * math.log1p(0.5 / z) - 0.5 + 0.5 * math.log(z) + series(z + 0.5) - series(z)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(  # pragma: no cover - modified Lentz converges for 0 < x < 1
        "incomplete beta fraction did not converge"
    )


def _t_tail(t: float, df: float) -> float:
    """P(T > t) for t > 0: half the regularised incomplete beta I_x(df/2, 1/2)."""
    a, b = df / 2, 0.5
    # x = df / (df + t^2) and y = 1 - x, each computed without cancellation, and
    # log(1 + t^2 / df) = -log x without overflow for huge t.
    if t < 1e100:
        t2 = t * t
        x, y = df / (df + t2), t2 / (df + t2)
        log_x, log_y = -math.log1p(t2 / df), math.log(y)
    else:
        x = df / t / t
        y, log_x, log_y = 1.0 - x, math.log(df) - 2 * math.log(t), -x
    log_front = a * log_x + b * log_y - (_LOG_SQRT_PI - _log_gamma_ratio_half(a))
    if x < (a + 1) / (a + b + 2):
        return 0.5 * math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 0.5 * (1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b)


def _t_log_density(t: float, df: float) -> float:
    log_norm = _log_gamma_ratio_half(df / 2) - 0.5 * math.log(df) - _LOG_SQRT_PI
    # log(1 + t^2 / df), without overflow for huge t
    log_ratio = math.log1p(t * t / df) if t < 1e100 else 2 * math.log(t) - math.log(df)
    return log_norm - (df + 1) / 2 * log_ratio


#: The fewest degrees of freedom :func:`t_quantile` takes: below, the iteration
#: cannot be trusted (and no interval here has less than 1).
_MIN_DF = 0.5
#: The most: any larger is a mistake (a float's range ends near 1.8e308).
_MAX_DF = 1e300
#: From here the Cornish-Fisher start is the answer: its next term is below
#: 1e-16 of it for the tails used, where the Newton iteration on the beta
#: function loses digits to the large df.
_EXPANSION_DF = 1e6


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom.

    Solves P(T > t) = min(p, 1 - p) by safeguarded Newton steps on log t, the
    tail being the regularised incomplete beta function (continued fraction, as
    in Press et al., *Numerical Recipes*). Agrees with ``scipy.stats.t.ppf`` to
    about 1e-12 for df from 1 to 10^6 (tests/test_sim_survival.py); from 10^6
    the Cornish-Fisher expansion is the answer. ``p`` and ``df`` are numbers (not
    bools), ``df`` from 0.5 to 1e300; otherwise :class:`treatplan.ArgumentError`.
    """
    if not _is_real(p) or not 0.0 < p < 1.0:
        raise ArgumentError("p", "a probability strictly between 0 and 1")
    if not _is_real(df) or not _MIN_DF <= df <= _MAX_DF:
        raise ArgumentError("df", f"a number of degrees of freedom from {_MIN_DF} to 1e300")
    df = float(df)
    if p == 0.5:
        return 0.0
    tail = min(p, 1.0 - p)
    sign = 1.0 if p > 0.5 else -1.0
    if df == 1.0:  # Cauchy: exact
        return sign / math.tan(math.pi * tail)
    if df == 2.0:  # exact: t = (1 - 2q) / sqrt(2 q (1 - q))
        return sign * (1.0 - 2.0 * tail) / math.sqrt(2.0 * tail * (1.0 - tail))
    # Start from the Cornish-Fisher expansion about the normal quantile.
    z = -NormalDist().inv_cdf(tail)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    expansion = z + g1 / df + g2 / df / df + g3 / df / df / df
    if df >= _EXPANSION_DF:  # the expansion is exact to rounding here; Newton is not
        return sign * expansion
    t = max(expansion, 1e-300)
    low, high = 0.0, math.inf
    target = math.log(tail)
    for _ in range(200):
        current = _t_tail(t, df)
        if current > tail:
            low = t
        else:
            high = t
        # Newton on u = log t for g(u) = log P(T > e^u) - log q, g'(u) = -t f(t) / P
        # (in logs: f underflows far out); where the tail underflows, bisect instead.
        proposal = math.inf
        if current > 0.0:
            log_current = math.log(current)
            scale = math.exp(log_current - math.log(t) - _t_log_density(t, df))
            step = (log_current - target) * scale
            proposal = t * math.exp(max(min(step, 50.0), -50.0))
        if math.isinf(high) and t > 1e300:
            return sign * math.inf  # the quantile is beyond the largest float
        if not low < proposal < high:
            proposal = (low + high) / 2 if math.isfinite(high) else 2 * t
        if abs(proposal - t) <= 1e-15 * t:
            return sign * proposal
        t = proposal
    raise ArithmeticError(  # pragma: no cover - Newton steps guarded by bisection converge
        "t quantile did not converge"
    )
