"""Scenarios: who is referred, what the service offers, how much capacity it has.

A :class:`Scenario` is plain data (frozen attrs classes) and round-trips through
JSON with the library's one cattrs converter (:func:`treatplan.to_dict` /
:func:`treatplan.from_dict`), so a bad scenario file gets the same errors as a
bad plan: every problem with its JSON path, no value echoed.

Defaults are calibrated so that the built-in :data:`DEFAULT_SCENARIO` reproduces
the figures in docs/references.md#simulation-figures. Every default marked *unconfirmed* is a
modelling assumption chosen for that calibration, not a published constant.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import attrs

from .. import _validation as v
from .._errors import ArgumentError, ValidationError
from .._json import from_dict, to_dict
from .._model import BarrierKind, Readiness, SupportLevel
from .._records import record_repr
from .._rules import (
    RULE_TYPES,
    AnyOf,
    ClientRequest,
    ConsecutiveMissed,
    Rule,
    SessionLimit,
    SustainedRecovery,
)
from . import _checks as checks

__all__ = [
    "CAPACITY_SCENARIO",
    "DEFAULT_SCENARIO",
    "Capacity",
    "Engagement",
    "Normal",
    "Patience",
    "Policy",
    "Population",
    "Response",
    "Scenario",
    "Service",
    "Team",
    "load_scenario",
]


class _ReadOnlyWeights(dict[str, float]):
    """A dict that refuses changes: the weights inside a frozen scenario (and so inside
    ``DEFAULT_SCENARIO``, every run's default) cannot be changed under a later run."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ArgumentError(
            "weights", "a new scenario built with attrs.evolve: scenario weights are read-only"
        )

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (to worker processes) as a plain copy
        return (type(self), (dict(self),))


def _read_only_weights(value: Any) -> Any:
    return _ReadOnlyWeights(value) if isinstance(value, dict) else value


def _weights(kind: type[Any]) -> v.Validator:
    """A mapping from the values of enum ``kind`` to non-negative weights, not all zero."""
    choices = v.enum_choices(kind)

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, dict) or not value:
            raise v.fail(attribute, f"an object with weights for {choices}")
        known = {m.value for m in kind}
        for key, weight in value.items():
            if key not in known:
                raise v.fail(attribute, f"keys among {choices}")
            if not v.is_number(weight) or weight < 0:
                raise v.fail(attribute, "non-negative numbers", f".{key}")
        if not sum(value.values()) > 0:
            raise v.fail(attribute, "weights that are not all zero")

    return check


def _probabilities(kind: type[Any]) -> v.Validator:
    choices = v.enum_choices(kind)

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, dict):
            raise v.fail(attribute, f"an object with probabilities for {choices}")
        known = {m.value for m in kind}
        for key, p in value.items():
            if key not in known:
                raise v.fail(attribute, f"keys among {choices}")
            if not v.is_number(p) or not 0 <= p <= 1:
                raise v.fail(attribute, "probabilities from 0 to 1", f".{key}")

    return check


def _probability() -> v.Validator:
    return v.number(low=0, high=1)


@attrs.frozen
class Normal:
    """A normal distribution, truncated to the instrument's range when sampled."""

    __repr__ = record_repr

    mean: float = attrs.field(validator=v.number())
    sd: float = attrs.field(validator=v.number(low=0))


@attrs.frozen
class Population:
    """Who is referred: intake severity and the client factors that drive success.

    ``phq9``: 15.5 (SD 4.3), typical of depressed clients in UK routine care (all
    comers average about 10.8, SD 6.2), *unconfirmed* (no single published source;
    docs/references.md#simulation-figures). ``gad7`` and its correlation with PHQ-9
    are *unconfirmed* defaults. Readiness, support and barrier shares,
    ``decline_at_referral`` and ``mean_patience_weeks`` (how long a client waits on
    the list before giving up, exponential) are *unconfirmed*.
    """

    __repr__ = record_repr

    phq9: Normal = attrs.field(default=Normal(15.5, 4.3), validator=v.instance(Normal))
    gad7: Normal = attrs.field(default=Normal(12.0, 4.5), validator=v.instance(Normal))
    phq9_gad7_correlation: float = attrs.field(default=0.65, validator=v.number(low=-1, high=1))
    readiness: dict[str, float] = attrs.field(
        converter=_read_only_weights,
        factory=lambda: {
            "precontemplation": 0.05,
            "contemplation": 0.25,
            "preparation": 0.35,
            "action": 0.30,
            "maintenance": 0.05,
        },
        validator=_weights(Readiness),
    )
    support: dict[str, float] = attrs.field(
        converter=_read_only_weights,
        factory=lambda: {"none": 0.10, "limited": 0.30, "adequate": 0.40, "strong": 0.20},
        validator=_weights(SupportLevel),
    )
    barriers: dict[str, float] = attrs.field(
        converter=_read_only_weights,
        factory=lambda: {"cost": 0.10, "transport": 0.15, "time": 0.25, "other": 0.05},
        validator=_probabilities(BarrierKind),
    )
    decline_at_referral: float = attrs.field(default=0.08, validator=_probability())
    mean_patience_weeks: float = attrs.field(default=26.0, validator=v.number(low=0.1))


@attrs.frozen
class Response:
    """Symptom dynamics: log-linear dose-response with individual variation.

    The expected proportional fall in the true score after ``s`` attended
    sessions is ``response * ln(1 + s) / ln(1 + reference_sessions)``, mostly
    log-linear (Howard et al. 1986); ``response`` varies by
    client (``response_sd``) and is shifted by readiness and support
    (``readiness_effect``, ``support_effect`` per step from the middle level).
    A share of clients make an early sudden gain, a share get worse before
    better, and a share deteriorate (Lambert: 5-10%). Observed scores add
    measurement error with SEM = SD * sqrt(1 - reliability): PHQ-9 alpha 0.89
    (Kroenke, Spitzer & Williams 2001), GAD-7 alpha 0.92 (Spitzer et al. 2006).
    The SDs in that formula, ``phq9_sd`` 5.5 and ``gad7_sd`` 5.0, have no cited
    source: they are configurable defaults (*unconfirmed*).
    ``feedback_gain`` is the extra response after a plan is revised on feedback
    (see :class:`Policy`); the default 0.12 cuts reliable deterioration by about
    the 38% Lambert 2017 reports (21% to 13% among at-risk clients with feedback).
    All rates and effect sizes here are *unconfirmed* calibration defaults.
    """

    __repr__ = record_repr

    response: float = attrs.field(default=0.50, validator=v.number(low=-1, high=1))
    response_sd: float = attrs.field(default=0.40, validator=v.number(low=0, high=2))
    reference_sessions: int = attrs.field(default=12, validator=v.integer(low=1, high=200))
    readiness_effect: float = attrs.field(default=0.06, validator=v.number(low=-1, high=1))
    support_effect: float = attrs.field(default=0.04, validator=v.number(low=-1, high=1))
    sudden_gain_rate: float = attrs.field(default=0.15, validator=_probability())
    sudden_gain_points: float = attrs.field(default=4.0, validator=v.number(low=0, high=27))
    worse_before_better_rate: float = attrs.field(default=0.08, validator=_probability())
    worse_before_better_points: float = attrs.field(default=3.0, validator=v.number(low=0))
    deterioration_rate: float = attrs.field(default=0.05, validator=_probability())
    deterioration: float = attrs.field(default=0.35, validator=v.number(low=0, high=2))
    feedback_gain: float = attrs.field(default=0.12, validator=v.number(low=0, high=2))
    phq9_reliability: float = attrs.field(default=0.89, validator=v.number(low=0, high=1))
    phq9_sd: float = attrs.field(default=5.5, validator=v.number(low=0))
    gad7_reliability: float = attrs.field(default=0.92, validator=v.number(low=0, high=1))
    gad7_sd: float = attrs.field(default=5.0, validator=v.number(low=0))


@attrs.frozen
class Engagement:
    """Attendance and drop-out, shaped by client factors.

    ``attendance`` is the chance of attending a booked session;
    ``dropout_hazard`` the chance, after each attended session, of deciding to
    stop coming (then the client misses every later appointment until an ending
    rule closes the episode). Each step of readiness below the middle level
    multiplies the hazard by ``readiness_hazard``; so does each practical
    barrier (``barrier_hazard``) and no or limited support (``support_hazard``).
    Calibrated to 19.7% drop-out (Swift & Greenberg 2012); *unconfirmed*.
    ``good_enough_rate``: once reliably improved and below caseness on both
    measures, the chance per session that the client asks to end (good-enough
    level: Barkham 2006; Stiles 2008); ``improved_ending_rate`` the same chance
    while reliably improved but still above caseness.
    """

    __repr__ = record_repr

    attendance: float = attrs.field(default=0.92, validator=_probability())
    barrier_attendance: float = attrs.field(default=0.03, validator=_probability())
    dropout_hazard: float = attrs.field(default=0.012, validator=_probability())
    readiness_hazard: float = attrs.field(default=1.4, validator=v.number(low=0, high=100))
    barrier_hazard: float = attrs.field(default=1.25, validator=v.number(low=0, high=100))
    support_hazard: float = attrs.field(default=1.2, validator=v.number(low=0, high=100))
    good_enough_rate: float = attrs.field(default=0.30, validator=_probability())
    improved_ending_rate: float = attrs.field(default=0.03, validator=_probability())


def _ending_rules(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, RULE_TYPES):
        raise v.fail(attribute, "a termination rule (treatplan.rules; AnyOf for several)")


def _default_rules() -> Rule:
    # docs/references.md#ending-therapy: reliable recovery sustained for 2 measurements; a session
    # limit (NHS Talking Therapies high-intensity courses are commonly capped at
    # 12-20, unconfirmed); the client's request; 2 consecutive no-shows. The limit of
    # 12 means Howard et al.'s (1986) "75% improved by session 26" cannot be observed
    # in the default scenario; it lives only in the expected-response curve.
    return AnyOf(
        (
            SustainedRecovery(consecutive=2),
            SessionLimit(max_sessions=12),
            ClientRequest(),
            ConsecutiveMissed(count=2),
        )
    )


@attrs.frozen
class Policy:
    """What the service offers: session spacing, review cadence, ending rules.

    ``ending_rules`` are real treatplan termination rules, evaluated after every
    session on the client's plan. A fired non-attendance or inactivity rule
    closes the episode as dropped out; any other discharge verdict starts a
    planned ending. Reviews (every ``review_every`` attended sessions, the
    illustrative default of :class:`treatplan.reviews.ReviewCadence`) use
    :func:`treatplan.review` and :func:`treatplan.record_findings`; their alerts,
    and with ``alerts_every_session`` those of :func:`treatplan.alerts` after every
    session (slower), go into the sessions table. With ``feedback`` (routine
    outcome feedback, Lambert 2017) alerts are computed after every session and
    the first not-on-track or reliable-deterioration alert prompts a review that
    revises the plan, after which the client responds better
    (``Response.feedback_gain``).

    ``stepped_care`` starts less severe clients (PHQ-9 below
    ``step_up_threshold``, NICE NG222, through :func:`treatplan.stepped.initial_step`) at
    step 2 (low intensity, NICE CG90: 6-8 sessions) and steps them up at a review
    when the library's stepped-care advice says so or after
    ``low_intensity_sessions``; ``low_intensity_response`` scales the dose of a
    low-intensity session (*unconfirmed*).

    The default ending rules include ``SessionLimit(12)``, so no simulated client
    attends more than 12 sessions: Howard et al.'s (1986) "about 75% improved by
    session 26" cannot be observed in the default scenario. It is encoded only in
    the expected-response curve (:func:`treatplan.monitoring.expected_trajectory`); raise the
    limit in a scenario of your own to look at longer courses.
    """

    __repr__ = record_repr

    session_interval_days: int = attrs.field(default=7, validator=v.integer(low=1, high=365))
    review_every: int = attrs.field(default=6, validator=v.integer(low=1, high=1000))
    ending_rules: Rule = attrs.field(factory=_default_rules, validator=_ending_rules)
    alerts_every_session: bool = attrs.field(default=False, validator=v.boolean())
    feedback: bool = attrs.field(default=False, validator=v.boolean())
    stepped_care: bool = attrs.field(default=False, validator=v.boolean())
    step_up_threshold: float = attrs.field(default=16, validator=v.number(low=0, high=27))
    low_intensity_sessions: int = attrs.field(default=8, validator=v.integer(low=1, high=100))
    low_intensity_response: float = attrs.field(default=0.8, validator=v.number(low=0, high=5))


@attrs.frozen
class Capacity:
    """Referral flow and therapist capacity: where a waiting list comes from.

    Therapists each hold ``caseload`` clients over a course of about
    ``course_weeks`` weeks, so the service can start
    ``therapists * caseload / course_weeks`` clients a week. When referrals
    arrive faster, a first-come-first-served waiting list forms; clients who
    wait longer than their patience decline. All defaults *unconfirmed*.
    """

    __repr__ = record_repr

    referrals_per_week: float = attrs.field(default=52.0, validator=v.number(low=0.001))
    therapists: int = attrs.field(default=18, validator=v.integer(low=1, high=1_000_000))
    caseload: int = attrs.field(default=25, validator=v.integer(low=1, high=10_000))
    course_weeks: float = attrs.field(default=10.0, validator=v.number(low=0.1, high=520))

    @property
    def starts_per_week(self) -> float:
        """How many clients the service can start each week."""
        return self.therapists * self.caseload / self.course_weeks


#: Distributions of patience on a waiting list (see :class:`Patience`).
PATIENCE_DISTRIBUTIONS = ("exponential", "fixed", "never")
#: Waiting-list orders (see :class:`Service`).
QUEUE_ORDERS = ("fcfs", "priority")


def _one_of(choices: tuple[str, ...]) -> v.Validator:
    listed = ", ".join(repr(c) for c in choices)

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise v.fail(attribute, f"one of {listed}")

    return check


@attrs.frozen
class Patience:
    """How long a client stays on a waiting list before leaving it, from referral.

    ``distribution``: ``"exponential"`` with mean ``mean_weeks``, ``"fixed"``
    (everyone leaves after exactly ``mean_weeks``), or ``"never"`` (nobody
    leaves). Murch et al. (2021) model reneging from the waiting lists of a UK
    mental-health system this way; the default mean of 26 weeks is
    *unconfirmed*.
    """

    __repr__ = record_repr

    distribution: str = attrs.field(
        default="exponential", validator=_one_of(PATIENCE_DISTRIBUTIONS)
    )
    mean_weeks: float = attrs.field(default=26.0, validator=v.number(low=0.01, high=5200))

    def draw_days(self, u: float) -> float:
        """The patience in days for a uniform draw ``u`` in [0, 1)."""
        if not v.is_number(u) or not 0 <= u < 1:
            raise ArgumentError("u", "a number from 0 up to (not including) 1")
        if self.distribution == "never":
            return math.inf
        if self.distribution == "fixed":
            return self.mean_weeks * 7.0
        return -math.log(1.0 - u) * self.mean_weeks * 7.0


@attrs.frozen
class Team:
    """The therapists of one step: how many clients they can have in treatment at once.

    Each of ``therapists`` holds at most ``caseload`` clients and has
    ``contacts_per_week`` contact slots a week; a client in treatment uses one
    contact per session interval, so the team has :meth:`places` treatment
    places. A place frees when an episode ends (completed, dropped out or
    discharged) or the client steps up. Defaults *unconfirmed*.
    """

    __repr__ = record_repr

    therapists: int = attrs.field(default=4, validator=v.integer(low=0, high=1_000_000))
    caseload: int = attrs.field(default=20, validator=v.integer(low=1, high=10_000))
    contacts_per_week: int = attrs.field(default=20, validator=v.integer(low=1, high=10_000))

    def places(self, session_interval_days: int = 7) -> int:
        """Clients the team can have in treatment at once."""
        if not v.is_int(session_interval_days) or not 1 <= session_interval_days <= 365:
            raise ArgumentError("session_interval_days", "an integer from 1 to 365")
        per_contact = max(1, math.floor(self.contacts_per_week * session_interval_days / 7))
        return self.therapists * min(self.caseload, per_contact)


@attrs.frozen
class Service:
    """A service whose waiting lists emerge from its capacity (docs/concepts/service-model.md).

    Referrals arrive as a Poisson process at ``Capacity.referrals_per_week``.
    With ``assessment_slots_per_week`` above 0 every referral first waits for
    an assessment appointment (slots offered evenly through the week; a slot
    nobody waits for is lost); the assessment counts as the first treatment
    appointment, as NHS Talking Therapies waiting-time reporting allows. Then
    the client waits for a treatment place at their step: ``step2`` (low
    intensity) or ``step3`` (high intensity; every client when
    ``Policy.stepped_care`` is off). A client who steps up leaves their step-2
    place and waits for a step-3 place. ``order``: ``"fcfs"`` or
    ``"priority"`` (most severe screening PHQ-9 first, then first come).
    Clients leave a waiting list when their ``patience`` runs out;
    ``wait_dropout_per_week`` is the chance, per week waited, that a client
    offered a place no longer takes it up (*unconfirmed*: longer waits are
    linked with more non-attendance, the size of the effect is not).
    Waiting-time shares in the service summary count only clients referred
    after ``warmup_weeks``, when the lists have filled (the simulation starts
    with empty lists).
    """

    __repr__ = record_repr

    step2: Team = attrs.field(factory=Team, validator=v.instance(Team))
    step3: Team = attrs.field(factory=Team, validator=v.instance(Team))
    assessment_slots_per_week: float = attrs.field(
        default=0.0, validator=v.number(low=0, high=1_000_000)
    )
    order: str = attrs.field(default="fcfs", validator=_one_of(QUEUE_ORDERS))
    patience: Patience = attrs.field(factory=Patience, validator=v.instance(Patience))
    wait_dropout_per_week: float = attrs.field(default=0.0, validator=_probability())
    warmup_weeks: float = attrs.field(default=0.0, validator=v.number(low=0, high=5200))


@attrs.frozen
class Scenario:
    """A whole simulation set-up: population, dynamics, engagement, policy, capacity.

    ``horizon_weeks`` is how long each client is followed after referral;
    episodes still open then are censored (left open in the output).
    ``start`` is the date of the first referral. ``service`` (default
    ``None``: intake slots only, clients independent) makes waits emerge from
    therapist capacity (:class:`Service`, :func:`treatplan.sim.simulate_service`).
    """

    __repr__ = record_repr

    name: str = attrs.field(default="default", validator=v.ref())
    population: Population = attrs.field(factory=Population, validator=v.instance(Population))
    response: Response = attrs.field(factory=Response, validator=v.instance(Response))
    engagement: Engagement = attrs.field(factory=Engagement, validator=v.instance(Engagement))
    policy: Policy = attrs.field(factory=Policy, validator=v.instance(Policy))
    capacity: Capacity = attrs.field(factory=Capacity, validator=v.instance(Capacity))
    horizon_weeks: int = attrs.field(default=104, validator=v.integer(low=1, high=5200))
    start: date = attrs.field(default=date(2026, 1, 5), validator=v.a_date())
    service: Service | None = attrs.field(
        default=None, validator=attrs.validators.optional(v.instance(Service))
    )

    def to_dict(self) -> dict[str, Any]:
        """The scenario as JSON-ready data (without ``service`` when it is ``None``)."""

        data: dict[str, Any] = to_dict(self)
        if data.get("service") is None:
            data.pop("service", None)
        return data

    def to_json(self) -> str:
        """The scenario as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Build a scenario from JSON-ready data; missing keys take their defaults.

        Raises :class:`treatplan.ValidationError` naming every problem's JSON path.
        """

        if not isinstance(data, dict):
            raise ValidationError.at("$", "a JSON object (a scenario)")
        return from_dict(data, cls)

    @classmethod
    def from_json(cls, text: str | bytes) -> Scenario:
        """Parse scenario JSON text (see :meth:`from_dict`)."""
        if not isinstance(text, str | bytes):
            raise ArgumentError("text", "scenario JSON text (a str or bytes)")
        where: str | None = None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            where = (
                f" (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
        if where is not None:  # raised outside the handler: no __context__ quoting the text
            raise ValidationError.at("$", f"well-formed JSON{where}")
        return cls.from_dict(data)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario JSON file.

    Raises :class:`treatplan.ArgumentError` for a file that cannot be read (its
    reason, not its name, in the message) and :class:`treatplan.ValidationError`
    for one that is not a valid scenario.
    """
    file = checks.folder("path", path, "a file path (a str or os.PathLike)")
    try:
        data = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    else:
        return Scenario.from_json(data)
    raise ArgumentError("path", f"a readable scenario file ({reason})")


#: The built-in scenario, calibrated to the figures in docs/references.md#simulation-figures.
DEFAULT_SCENARIO = Scenario()

#: A capacity-limited service (docs/concepts/service-model.md): a small stepped-care
#: team whose waits emerge from its places, tuned so that about 90% of those who start
#: treatment start within 6 weeks of referral and all within 18 (NHS England, April
#: 2025: 90.3% and 98.5%; the standards are 75% and 95%), with a hidden wait of some
#: weeks between assessment and the course. All capacity figures *unconfirmed*.
CAPACITY_SCENARIO = Scenario(
    name="capacity-limited",
    policy=Policy(stepped_care=True),
    capacity=Capacity(referrals_per_week=12.0),
    service=Service(
        step2=Team(therapists=2, caseload=16, contacts_per_week=20),
        step3=Team(therapists=3, caseload=16, contacts_per_week=20),
        assessment_slots_per_week=11.3,
        warmup_weeks=26.0,
    ),
    horizon_weeks=156,
)
