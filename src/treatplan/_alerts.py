"""Alerts: what a clinician must know before the next session.

Feedback systems alert on risk items, on clients not on track against the
expected response, on reliable deterioration and on the alliance (OQ-Analyst,
PCOMS; Lambert 2017; docs/references.md#change), and services add data and administration alerts:
measures missing, a review overdue, a session authorisation nearly used.

Alerts are computed from the plan as it stood at ``as_of``; messages hold only
codes, ids and numbers, never the plan's free text.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

import attrs

from . import _validation as v
from ._cadence import REVIEW_PHASES, ReviewCadence, review_due_date
from ._change import score_change
from ._evaluation import crossed_fractions
from ._fast import frozen_maker
from ._memo import IdentityCache
from ._model import MeasureTarget, TreatmentPlan, check_plan
from ._monitoring import ExpectedResponse, TrackPoint, TrackSignal, chart
from ._records import SlottedRecord, record_repr
from ._rules import AllOf, AnyOf, AuthorisationUsed, SessionLimit
from ._scoring import ScoredPoint
from ._state import Series, as_of_view, live_objectives, state_of
from ._transitions import Phase

__all__ = [
    "DEFAULT_ALLIANCE_CUTOFF",
    "Alert",
    "AlertKind",
    "AlertLevel",
    "AlertPolicy",
    "alerts",
]

#: SRS alliance cut-off: a total below 36 signals a possible alliance problem
#: (Duncan et al. 2003; unconfirmed, so a configurable default). Used when the
#: alliance instrument defines no caseness cut-off of its own.
DEFAULT_ALLIANCE_CUTOFF = 36.0


class AlertKind(enum.StrEnum):
    """What an alert is about."""

    RISK_ITEM = "risk_item"
    RISK_NOT_ASSESSED = "risk_not_assessed"
    NOT_ON_TRACK = "not_on_track"
    LESS_CHANGE_THAN_EXPECTED = "less_change_than_expected"
    RELIABLE_DETERIORATION = "reliable_deterioration"
    ALLIANCE_LOW = "alliance_low"
    ALLIANCE_DROP = "alliance_drop"
    MEASURES_MISSING = "measures_missing"
    REVIEW_OVERDUE = "review_overdue"
    AUTHORISATION = "authorisation"


class AlertLevel(enum.StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


@attrs.frozen
class Alert(SlottedRecord):
    """One alert: its kind and level, a message (codes, ids and numbers only),
    the instrument it concerns, and the ids of the records it rests on."""

    __repr__ = record_repr

    kind: AlertKind
    level: AlertLevel
    message: str
    instrument: str | None = None
    evidence: tuple[str, ...] = ()
    at: datetime | None = None


#: ``Alert(...)`` as its constructor builds it, without frozen attrs' store per field
#: (see :func:`treatplan._fast.frozen_maker`): every review and alert check makes some.
_new_alert = frozen_maker(Alert)


# Converters typed on their inputs, so that type checkers see what AlertPolicy takes
# (mypy's attrs plugin reads a converter's parameter type). At run time each accepts
# anything and leaves what is not a list or tuple to the field's validator.
def _optional_codes(value: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(value) if isinstance(value, list | tuple) else value


def _fractions(value: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    return cast("tuple[float, ...]", v.floats(value))


@attrs.frozen
class AlertPolicy:
    """What raises an alert. Every number is a service's choice (configurable).

    - ``monitored``: instruments tracked for not-on-track, deterioration and
      missing data; ``None`` means those named in live objectives' measure
      targets plus any scored at two or more sessions.
    - ``alliance_instrument`` / ``alliance_cutoff`` / ``alliance_drop``: SRS
      below its cut-off (the instrument's own, else 36, Duncan et al. 2003,
      unconfirmed) or dropping by ``alliance_drop`` points or more from its
      previous score (the latest earlier session with an SRS score; 1 point, as
      PCOMS tools are reported to alert, *unconfirmed*).
    - ``amber_alerts``: also warn on less change than expected (amber).
    - ``missing_after_sessions``: attended sessions without a score before a
      monitored measure counts as missing (default 2).
    - ``authorised_sessions``: the authorised block; ``None`` takes it from the
      plan's ``AuthorisationUsed`` (or ``SessionLimit``) discharge rule.
      ``authorisation_warnings``: fractions used that warn (80% and 90%), unless
      the block comes from an ``AuthorisationUsed`` rule, whose ``warn_at`` applies.
    - ``response``: the expected-response curves.
    """

    __repr__ = record_repr

    monitored: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_optional_codes,
        validator=attrs.validators.optional(v.items_of(str, "instrument codes", max_length=100)),
    )
    alliance_instrument: str = attrs.field(default="SRS", validator=v.ref())
    alliance_cutoff: float | None = attrs.field(default=None, validator=v.number(optional=True))
    alliance_drop: float = attrs.field(default=1.0, validator=v.number(low=0))
    amber_alerts: bool = attrs.field(default=True, validator=v.boolean())
    missing_after_sessions: int = attrs.field(default=2, validator=v.integer(low=1, high=1000))
    authorised_sessions: int | None = attrs.field(
        default=None, validator=v.integer(low=1, high=10_000, optional=True)
    )
    authorisation_warnings: tuple[float, ...] = attrs.field(
        default=(0.8, 0.9), converter=_fractions, validator=v.increasing_fractions
    )
    response: ExpectedResponse = attrs.field(
        factory=ExpectedResponse, validator=v.instance(ExpectedResponse)
    )


_DEFAULT_POLICY = AlertPolicy()


def alerts(
    plan: TreatmentPlan,
    as_of: datetime,
    policy: AlertPolicy | None = None,
    *,
    cadence: ReviewCadence | None = None,
) -> tuple[Alert, ...]:
    """Every alert for ``plan`` as it stood at ``as_of``, most urgent first.

    A review is overdue after the date the last review set or, with ``cadence``,
    after the date the cadence sets (whichever is earlier).
    """
    check_plan(plan)
    v.check_time_argument(as_of, "as_of")
    v.check_argument(policy, AlertPolicy, "policy", "an AlertPolicy")
    v.check_argument(cadence, ReviewCadence, "cadence", "a ReviewCadence")
    view = as_of_view(plan, as_of)
    due = review_due_date(view, cadence) if cadence is not None else _stored_due(view)
    grace = cadence.grace_days if cadence is not None else 0
    return collect(view, as_of, policy or _DEFAULT_POLICY, due, grace)


def _stored_due(plan: TreatmentPlan) -> date | None:
    return plan.reviews[-1].next_review if plan.reviews else None


def monitored_instruments(
    plan: TreatmentPlan, series: Mapping[str, Series], policy: AlertPolicy
) -> tuple[str, ...]:
    """The instruments the policy monitors in ``plan`` (see :class:`AlertPolicy`),
    among those with points in ``series``."""
    if policy.monitored is not None:
        return tuple(c for c in policy.monitored if c in series)
    targeted = {
        o.target.instrument for o in live_objectives(plan) if isinstance(o.target, MeasureTarget)
    }
    # Session numbers never decrease along a series (time order), so a series spans
    # two or more sessions exactly when its first and last points differ.
    return tuple(
        code
        for code, points in series.items()
        if code in targeted or points[0].session != points[-1].session
    )


def series_until(plan: TreatmentPlan, as_of: datetime) -> dict[str, Series]:
    """Each measured instrument's series cut at ``as_of`` (those with points then)."""
    state = state_of(plan)
    limit = v.instant(as_of)
    cut: dict[str, Series] = {}
    for code in state.series_counts:  # a loop: every review asks
        series = state.series_until(code, limit)
        if series.n:
            cut[code] = series
    return cut


def _risk_item(code: str, point: ScoredPoint) -> Alert:
    score = point.score  # its assessment_id read directly (ScoredPoint's is a property)
    flags = ", ".join(score.risk_flags)
    ident = score.assessment_id
    return _new_alert(
        _KIND_RISK_ITEM,
        _LEVEL_URGENT,
        f"{code} risk item endorsed ({flags}) at {ident}",
        code,
        (ident,),
        point.at,
    )


_ORDER = {AlertLevel.URGENT: 0, AlertLevel.WARNING: 1, AlertLevel.INFO: 2}
# Enum members read at every alert check, looked up once: a class attribute access on
# an enum costs several times a module global's.
_KIND_AUTHORISATION = AlertKind.AUTHORISATION
_KIND_LESS_CHANGE_THAN_EXPECTED = AlertKind.LESS_CHANGE_THAN_EXPECTED
_KIND_NOT_ON_TRACK = AlertKind.NOT_ON_TRACK
_KIND_RELIABLE_DETERIORATION = AlertKind.RELIABLE_DETERIORATION
_KIND_REVIEW_OVERDUE = AlertKind.REVIEW_OVERDUE
_KIND_RISK_ITEM = AlertKind.RISK_ITEM
_KIND_RISK_NOT_ASSESSED = AlertKind.RISK_NOT_ASSESSED
_LEVEL_URGENT = AlertLevel.URGENT
_LEVEL_WARNING = AlertLevel.WARNING
_PHASE_CLOSED = Phase.CLOSED
_SIGNAL_AMBER = TrackSignal.AMBER
_SIGNAL_RED = TrackSignal.RED


def collect(
    plan: TreatmentPlan,
    as_of: datetime,
    policy: AlertPolicy,
    review_due: date | None,
    grace_days: int = 0,
    risk_since: datetime | None = None,
    upto: dict[str, Series] | None = None,
    charts: dict[str, tuple[TrackPoint, ...]] | None = None,
    monitored_out: list[str] | None = None,
) -> tuple[Alert, ...]:
    """The alerts of a plan already cut to ``as_of``, from its scored series.

    The review is overdue more than ``grace_days`` after ``review_due``. Risk items
    are read on each instrument's latest score and, with ``risk_since``, on every
    score after that instant too. ``upto`` is :func:`series_until` of the plan at
    ``as_of`` when the caller has it already; ``charts``, when given, receives the
    chart of the first and latest scores of each outcome measure tracked here (a
    review reports the same chart, and need not draw it again); ``monitored_out``
    receives :func:`monitored_instruments` of the plan (a review reads them too).
    """
    out: list[Alert] = []
    add = out.append
    if upto is None:
        upto = series_until(plan, as_of)

    # Risk items on the latest score of each instrument (PHQ-9 item 9 >= 1), and with
    # ``risk_since`` on every earlier score after it (endorsements between reviews).
    since = v.instant(risk_since) if risk_since is not None else None
    for code, points in upto.items():
        latest = points[-1]
        if since is not None:
            for p in points.risky_after(since):  # a loop, not a generator: every review
                if p is not latest:
                    add(_risk_item(code, p))
        if latest.score.risk_flags:
            add(_risk_item(code, latest))
        elif not latest.score.risk_assessed and plan.instrument(code).risk_items:
            # An empty risk_flags here means unknown, not no risk (item missing or total only).
            add(
                _new_alert(
                    _KIND_RISK_NOT_ASSESSED,
                    _LEVEL_WARNING,
                    f"{code} risk item not assessed at {latest.assessment_id}",
                    code,
                    (latest.assessment_id,),
                    latest.at,
                )
            )

    monitored = monitored_instruments(plan, upto, policy)
    if monitored_out is not None:
        monitored_out.extend(monitored)
    for code in monitored:
        if code == policy.alliance_instrument:
            continue
        series = upto[code]
        newest, baseline = series.latest_scored(), series.first_scored()
        if newest is None or baseline is None:
            continue
        instrument = plan.instrument(code)
        tp = chart(
            instrument, (newest,) if newest is baseline else (baseline, newest), policy.response
        )
        if charts is not None:
            charts[code] = tp
        signal = tp[-1].signal
        expected = tp[-1].expected
        if signal is _SIGNAL_RED and expected is not None:
            add(
                _new_alert(
                    _KIND_NOT_ON_TRACK,
                    _LEVEL_URGENT,
                    f"{code} {newest.total:g} at session {tp[-1].session} is beyond the "
                    f"not-on-track limit {expected.alarm:.1f} (expected {expected.expected:.1f})",
                    code,
                    (baseline.assessment_id, newest.assessment_id),
                    newest.at,
                )
            )
        elif signal is _SIGNAL_AMBER and policy.amber_alerts and expected is not None:
            add(
                _new_alert(
                    _KIND_LESS_CHANGE_THAN_EXPECTED,
                    _LEVEL_WARNING,
                    f"{code} {newest.total:g} at session {tp[-1].session} is outside the "
                    f"expected band {expected.lower:.1f}-{expected.upper:.1f}",
                    code,
                    (baseline.assessment_id, newest.assessment_id),
                    newest.at,
                )
            )
        # (score.total: ScoredPoint.total is a property)
        if (
            newest is not baseline
            and baseline.score.total is not None
            and newest.score.total is not None
        ):
            change = score_change(instrument, baseline.score, newest.score)
            if change is not None and change.reliable_deterioration:
                add(
                    _new_alert(
                        _KIND_RELIABLE_DETERIORATION,
                        _LEVEL_URGENT,
                        f"{code} reliably worse: {baseline.total:g} -> {newest.total:g}",
                        code,
                        (baseline.assessment_id, newest.assessment_id),
                        newest.at,
                    )
                )

    alliance = upto.get(policy.alliance_instrument)
    if alliance is not None:
        out.extend(_alliance(plan, alliance, policy))
    out.extend(_missing(plan, as_of, upto, monitored, policy))
    if (
        review_due is not None
        and plan.phase in REVIEW_PHASES
        and (as_of.date() - review_due).days > grace_days
    ):
        days = (as_of.date() - review_due).days
        last = (plan.reviews[-1].id,) if plan.reviews else ()
        add(
            _new_alert(
                _KIND_REVIEW_OVERDUE,
                _LEVEL_WARNING,
                f"review overdue by {days} day{'s' if days != 1 else ''} (due {review_due})",
                None,
                last,
            )
        )
    auth = _authorisation(plan, as_of, policy)
    if auth is not None:
        add(auth)
    if len(out) > 1:  # (sorting fewer is a no-op)
        out.sort(key=_urgency)
    return tuple(out)


def _urgency(alert: Alert) -> int:
    return _ORDER[alert.level]


def _alliance(plan: TreatmentPlan, series: Series, policy: AlertPolicy) -> list[Alert]:
    points = series.last_scored(2)
    if not points:
        return []
    code = policy.alliance_instrument
    cutoff = policy.alliance_cutoff
    if cutoff is None:
        own = plan.instrument(code).caseness_cutoff
        cutoff = DEFAULT_ALLIANCE_CUTOFF if own is None else own
    latest = points[-1]
    assert latest.total is not None
    out: list[Alert] = []
    if latest.total < cutoff:
        out.append(
            _new_alert(
                AlertKind.ALLIANCE_LOW,
                AlertLevel.WARNING,
                f"{code} {latest.total:g} is below the alliance cut-off {cutoff:g}",
                code,
                (latest.assessment_id,),
                latest.at,
            )
        )
    if len(points) >= 2:
        previous = points[-2]
        assert previous.total is not None
        drop = previous.total - latest.total
        if policy.alliance_drop > 0 and drop >= policy.alliance_drop:
            out.append(
                _new_alert(
                    AlertKind.ALLIANCE_DROP,
                    AlertLevel.WARNING,
                    f"{code} dropped {drop:g} point{'s' if drop != 1 else ''} since its "
                    f"previous score ({previous.total:g} -> {latest.total:g})",
                    code,
                    (previous.assessment_id, latest.assessment_id),
                    latest.at,
                )
            )
    return out


def _missing(
    plan: TreatmentPlan,
    as_of: datetime,
    upto: Mapping[str, Series],
    monitored: tuple[str, ...],
    policy: AlertPolicy,
) -> list[Alert]:
    state = state_of(plan)
    attended = state.attended_positions(state.sessions_until(v.instant(as_of)))
    out: list[Alert] = []
    for code in monitored:
        last = upto[code][-1]
        # (Counted first: the sessions themselves are listed only for an alert.)
        if len(attended) - last.session >= policy.missing_after_sessions:
            since = [plan.sessions[i] for i in attended[last.session :]]
            out.append(
                _new_alert(
                    AlertKind.MEASURES_MISSING,
                    AlertLevel.WARNING,
                    f"no {code} score at the last {len(since)} attended sessions",
                    code,
                    tuple(s.id for s in since),
                    since[-1].at,
                )
            )
    return out


def authorised_block(
    plan: TreatmentPlan, policy: AlertPolicy
) -> tuple[int, bool, tuple[float, ...]] | None:
    """The authorised number of sessions, whether missed ones count, and the fractions
    used that warn, if known: an :class:`AuthorisationUsed` rule's own ``warn_at``
    (so its verdict and the alert agree), else the policy's ``authorisation_warnings``."""
    warnings = policy.authorisation_warnings
    if policy.authorised_sessions is not None:
        return policy.authorised_sessions, False, warnings
    found: list[tuple[int, bool, tuple[float, ...]]] = []
    limits: list[tuple[int, bool, tuple[float, ...]]] = []
    stack: list[Any] = [plan.discharge_criteria] if plan.discharge_criteria is not None else []
    while stack:
        rule = stack.pop()
        if isinstance(rule, AnyOf | AllOf):
            stack.extend(rule.rules)
        elif isinstance(rule, AuthorisationUsed):
            found.append((rule.authorised_sessions, rule.count_missed, rule.warn_at))
        elif isinstance(rule, SessionLimit):
            limits.append((rule.max_sessions, rule.count_missed, warnings))
    chosen = found or limits
    return min(chosen) if chosen else None


#: :func:`authorised_block` per (discharge criteria, policy) objects, the only parts of a
#: plan and policy it reads (both immutable): every review and alert check asks, and
#: many plans share one rule (a service's, a simulated scenario's).
_BLOCKS: IdentityCache[tuple[tuple[int, bool, tuple[float, ...]] | None]] = IdentityCache(256)


def _authorisation(plan: TreatmentPlan, as_of: datetime, policy: AlertPolicy) -> Alert | None:
    if plan.phase is _PHASE_CLOSED:
        return None
    criteria = plan.discharge_criteria
    found = _BLOCKS.get_two(criteria, policy)
    if found is None:
        found = _BLOCKS.put((authorised_block(plan, policy),), criteria, policy)
    block = found[0]
    if block is None:
        return None
    authorised, count_missed, warnings = block
    used = sessions_used(plan, as_of, count_missed)
    if used >= authorised:
        return _new_alert(
            _KIND_AUTHORISATION,
            _LEVEL_URGENT,
            f"authorisation used up: {used} of {authorised} sessions",
        )
    crossed = crossed_fractions(used, authorised, warnings)
    if not crossed:
        return None
    return _new_alert(
        _KIND_AUTHORISATION,
        _LEVEL_WARNING,
        f"{used} of {authorised} authorised sessions used "
        f"({used / authorised:.0%}; warning at {crossed[-1]:.0%})",
    )


def sessions_used(plan: TreatmentPlan, as_of: datetime, count_missed: bool) -> int:
    """How many sessions count against an authorisation up to ``as_of``."""
    state = state_of(plan)
    k = state.sessions_until(v.instant(as_of))
    return state.offered(k) if count_missed else state.attended(k)
