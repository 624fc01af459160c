"""Service policies: the decisions a simulated service takes about each client.

The engine (:func:`~treatplan.sim._engine.simulate_client`) plays the client (attendance,
symptom change, wishing to end, dropping out) and keeps the plan; a *service
policy* takes the service's decisions, at fixed points of every episode:

1. :meth:`ServicePolicy.start_step` once the baseline is scored: the stepped-care
   step the client starts at (``None``: no stepped care).
2. After each attended session, :meth:`~ServicePolicy.wants_alerts` (compute
   :func:`treatplan.alerts` now?), :meth:`~ServicePolicy.on_feedback` (act on
   routine outcome feedback: revise the plan, after which the client responds
   better by ``Response.feedback_gain``), :meth:`~ServicePolicy.review_due` (hold a
   review now?) and, at a review, :meth:`~ServicePolicy.decide` (what it decides,
   from the library's own :class:`treatplan.Findings`).
3. After every session, :meth:`~ServicePolicy.end`: whether the episode ends now,
   given the verdict of the scenario's ending rules on the plan.

:class:`DefaultPolicy` is the NICE / NHS Talking Therapies behaviour the
simulator has always had; subclass it and override one method to try another
policy. Decisions read a :class:`ClientState` (named fields, one per client).
A policy that needs randomness draws from :attr:`ClientState.rng`, the client's
own ``"policy"`` stream, so runs stay byte-reproducible and the clinical draws
stay common to every policy compared on the same seed.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from .. import _validation as v
from .._alerts import Alert, AlertKind
from .._evaluation import Verdict
from .._model import ReviewDecision, TreatmentPlan
from .._records import record_repr
from .._review import Findings, ReviewPolicy
from .._rules import RuleAction
from .._stepped import initial_step
from .._transitions import EpisodeOutcome
from ._dynamics import ClientTraits
from ._random import client_stream
from ._scenario import Scenario

__all__ = [
    "FEEDBACK_ALERTS",
    "NON_ATTENDANCE_RULES",
    "ClientState",
    "DefaultPolicy",
    "Ending",
    "ServicePolicy",
]

#: Alerts a clinician with feedback acts on (Lambert 2017).
FEEDBACK_ALERTS = frozenset({AlertKind.NOT_ON_TRACK, AlertKind.RELIABLE_DETERIORATION})
_DISCHARGE = RuleAction.DISCHARGE  # read after every session: an enum member looked up once
#: Rule kinds whose firing means the client stopped coming: the episode closes as dropped out.
NON_ATTENDANCE_RULES = frozenset(
    {"consecutive_missed", "missed_in_window", "missed_within_days", "inactivity"}
)


@attrs.define(eq=False)
class ClientState:
    """One client's episode so far, as a policy sees it (the engine keeps it current).

    Counts and scores are those of the episode up to the session just held;
    ``plan`` is the client's real :class:`treatplan.TreatmentPlan` at that point.
    Policies read these fields; the engine alone changes them.
    """

    __repr__ = record_repr

    #: The scenario being run (its ``policy`` holds the service's settings).
    scenario: Scenario
    #: The run seed and the client's index (together they name the client's streams).
    seed: int
    index: int
    #: The client's latent make-up (never written to the plan).
    traits: ClientTraits
    #: The plan as it stands now.
    plan: TreatmentPlan
    #: The :class:`treatplan.ReviewPolicy` the engine reviews with.
    review_policy: ReviewPolicy
    #: When the latest session (or event) took place.
    at: datetime
    #: Sessions booked, attended, and reviews held so far.
    offered: int = 0
    attended: int = 0
    reviews: int = 0
    #: The stepped-care step (``None`` without stepped care); low intensity is step 2.
    step: int | None = None
    #: (PHQ-9, GAD-7) at baseline, then at each attended session.
    scores: list[tuple[int, int]] = attrs.Factory(list)
    #: Whether the latest session was attended.
    attended_now: bool = False
    #: The client asks to end at this session (reliably improved and wishing to end).
    asks_to_end: bool = False
    #: Alerts raised at this session (empty unless :meth:`ServicePolicy.wants_alerts`).
    alerts: tuple[Alert, ...] = ()
    #: The service acts on feedback at this session.
    acting_on_feedback: bool = False
    #: The plan has been revised on feedback (the client then responds better).
    feedback_given: bool = False
    #: The client has stopped coming (every later session is missed).
    dropped: bool = False
    #: The client's chance of attending a booked session, and of deciding to stop
    #: coming after each attended one (both from the client's factors).
    attendance_chance: float = 0.0
    dropout_hazard: float = 0.0
    #: Treatment received so far, in attended-session equivalents (a low-intensity
    #: session counts ``Policy.low_intensity_response``), and the dose of the next one.
    dose: float = 0.0
    dose_per_session: float = 1.0
    #: The ids of the interventions each attended session delivers now.
    delivered: tuple[str, ...] = ()
    #: The client has reliably improved (either measure) at a session where they
    #: wished to end: from then on a wish to end is a request.
    reliably_improved: bool = False
    #: Extra response after a revision on feedback, and the dose it applies from.
    boost: float = 0.0
    boost_from: float = 0.0
    _rng: random.Random | None = attrs.field(default=None, init=False)

    @property
    def low_intensity(self) -> bool:
        """Whether the client is at step 2 (low intensity)."""
        return self.step == 2

    @property
    def rng(self) -> random.Random:
        """The policy's own random stream for this client (``"policy"``): drawing from it
        leaves the client's clinical draws, and so common random numbers, untouched."""
        if self._rng is None:
            self._rng = client_stream(self.seed, self.index, "policy")
        return self._rng


def _ending_outcome(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not EpisodeOutcome.COMPLETED and value is not EpisodeOutcome.DROPPED_OUT:
        raise v.fail(attribute, "EpisodeOutcome.COMPLETED or EpisodeOutcome.DROPPED_OUT")


@attrs.frozen
class Ending:
    """A policy's decision to end an episode now.

    ``outcome`` is :attr:`treatplan.EpisodeOutcome.COMPLETED` (the engine fires
    ``begin_ending`` then ``complete``) or :attr:`treatplan.EpisodeOutcome.DROPPED_OUT`
    (``drop_out``); ``reason`` goes into the plan's history, ``ended_by`` into the
    clients table (rule kinds, ``;``-separated, or a label of the policy's own).
    A wrong value raises :class:`treatplan.ValidationError` at its field
    (``$.outcome``), never repeating the value.
    """

    __repr__ = record_repr

    outcome: EpisodeOutcome = attrs.field(validator=_ending_outcome)
    reason: str = attrs.field(validator=v.text())
    ended_by: str = attrs.field(validator=v.text())


@runtime_checkable
class ServicePolicy(Protocol):
    """What a service policy decides (see the module docstring for when each is asked).

    Subclass :class:`DefaultPolicy` to change one decision and keep the rest.
    """

    def start_step(self, state: ClientState) -> int | None:
        """The stepped-care step to start at, from the baseline in ``state.scores[0]``."""
        ...

    def wants_alerts(self, state: ClientState) -> bool:
        """Whether to compute :func:`treatplan.alerts` after this attended session."""
        ...

    def on_feedback(self, state: ClientState, alerts: tuple[Alert, ...]) -> bool:
        """Whether the service acts on this session's alerts (routine outcome feedback)."""
        ...

    def review_due(self, state: ClientState) -> bool:
        """Whether a review is held after this attended session."""
        ...

    def decide(self, state: ClientState, findings: Findings) -> ReviewDecision:
        """What the review decides (``step_up`` moves the client to high intensity)."""
        ...

    def end(self, state: ClientState, verdict: Verdict) -> Ending | None:
        """Whether the episode ends now, given the ending rules' ``verdict``."""
        ...


class DefaultPolicy:
    """NICE / NHS Talking Therapies practice, with the scenario's settings
    (:class:`treatplan.sim.Policy`):

    - stepped care (when ``stepped_care``): PHQ-9 below ``step_up_threshold`` starts
      at step 2 (NICE NG222, through :func:`treatplan.stepped.initial_step`);
    - alerts after every session with ``alerts_every_session`` or ``feedback``;
      with ``feedback``, the first not-on-track or reliable-deterioration alert is
      acted on once (Lambert 2017);
    - a review every ``review_every`` attended sessions, when the client asks to
      end, and when acting on feedback;
    - a review decides: begin ending when the client asks; at step 2, step up when
      the library's stepped-care advice says so or the low-intensity course
      (``low_intensity_sessions``, NICE CG90) is used up; else revise the plan
      when the findings suggest stepping up or referring on (the service steps up
      from step 2 only), or when acting on feedback; else the findings' suggestion;
    - the episode ends when the ending rules fire a discharge verdict: as dropped
      out when a non-attendance rule fired, else as a completed ending.
    """

    def start_step(self, state: ClientState) -> int | None:
        if not state.scenario.policy.stepped_care:
            return None
        return int(initial_step(state.scores[0][0], state.review_policy.stepped_care))

    def wants_alerts(self, state: ClientState) -> bool:
        settings = state.scenario.policy
        return settings.alerts_every_session or settings.feedback

    def on_feedback(self, state: ClientState, alerts: tuple[Alert, ...]) -> bool:
        return (
            state.scenario.policy.feedback
            and not state.feedback_given
            and any(x.kind in FEEDBACK_ALERTS for x in alerts)
        )

    def review_due(self, state: ClientState) -> bool:
        return (
            state.attended % state.scenario.policy.review_every == 0
            or state.asks_to_end
            or state.acting_on_feedback
        )

    def decide(self, state: ClientState, findings: Findings) -> ReviewDecision:
        decision = findings.suggestion.decision or ReviewDecision.CONTINUE
        if state.asks_to_end:
            return ReviewDecision.BEGIN_ENDING
        if state.low_intensity and (
            findings.step.step_up or state.attended >= state.scenario.policy.low_intensity_sessions
        ):
            # Not benefiting, or the low-intensity course is used up (NICE CG90).
            return ReviewDecision.STEP_UP
        if decision in (ReviewDecision.STEP_UP, ReviewDecision.REFER_ON) or (
            state.acting_on_feedback and decision is ReviewDecision.CONTINUE
        ):
            # The simulated service steps up from step 2 only; otherwise it revises
            # the plan at step 3.
            return ReviewDecision.REVISE_PLAN
        return decision

    def end(self, state: ClientState, verdict: Verdict) -> Ending | None:
        if not (verdict.fired and verdict.action is _DISCHARGE):
            return None
        kinds = [leaf.rule for leaf in verdict.fired_leaves()]
        dropped = not NON_ATTENDANCE_RULES.isdisjoint(kinds)
        return Ending(
            EpisodeOutcome.DROPPED_OUT if dropped else EpisodeOutcome.COMPLETED,
            verdict.reason,
            ";".join(kinds),
        )


#: The policy used when none is given.
DEFAULT_POLICY = DefaultPolicy()
