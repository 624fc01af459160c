"""Stepped care: steps 1 to 4 after NICE, and when to step up.

NICE CG90 (depression in adults, 2009) and CG113 (generalised anxiety disorder
and panic disorder, 2011) organise care in steps; NG222 (depression in adults,
2022) replaced CG90 and splits depression into less severe (PHQ-9 below 16) and
more severe (16 or more) (docs/references.md#stepped-care):

1. assessment and monitoring (recognition, active monitoring, psychoeducation);
2. low-intensity psychological interventions (guided self-help; 6-8 sessions
   over 9-12 weeks);
3. high-intensity psychological interventions (CBT, IPT, behavioural activation);
4. specialist care (complex and severe presentations, specialist services).

The default :class:`SteppedCarePolicy` starts less severe depression (PHQ-9
below 16, NG222's definition) at step 2 and more severe depression (16 or more)
at step 3, and steps up one step when a review finds the client not on track or
reliably deteriorated. The split is NICE's; mapping it to steps 2 and 3 is a
configurable service default after CG90's stepped-care model, not an NG222
rule: NG222 assigns no steps, and its menu for less severe depression also
holds high-intensity treatments (individual CBT, behavioural activation).
Which modalities belong to which step is service policy too, so it is
configurable; the defaults say which are NICE's and which are choices.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from . import _validation as v
from ._change import score_change
from ._errors import ArgumentError, ValidationError
from ._fast import frozen_maker
from ._memo import IdentityCache
from ._model import Modality, ObjectiveStatus, ReviewDecision, TreatmentPlan, check_plan
from ._monitoring import TrackSignal, track
from ._records import SlottedRecord, record_repr
from ._state import as_of_view, state_of

__all__ = [
    "DEFAULT_MODALITY_STEPS",
    "NG222_MORE_SEVERE_PHQ9",
    "CareStep",
    "ModalityStep",
    "StepAdvice",
    "SteppedCarePolicy",
    "current_step",
    "initial_step",
    "plan_step_advice",
    "step_advice",
]

#: NICE NG222 (2022), definitions of less and more severe depression ("Terms used in
#: this guideline"): less severe is a PHQ-9 score below 16, more severe 16 or more.
#: Cited without a recommendation number, which was not verified.
NG222_MORE_SEVERE_PHQ9 = 16


class CareStep(enum.IntEnum):
    """The steps of NICE stepped care (CG90, CG113)."""

    ASSESSMENT_AND_MONITORING = 1
    LOW_INTENSITY = 2
    HIGH_INTENSITY = 3
    SPECIALIST = 4


@attrs.frozen
class ModalityStep:
    """The step at which a service delivers a modality."""

    __repr__ = record_repr

    modality: Modality = attrs.field(validator=v.enum(Modality))
    step: int = attrs.field(validator=v.integer(low=1, high=4))


def _tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


#: Guided self-help is NICE's low-intensity intervention (CG90, CG113, NG222);
#: CBT, IPT, behavioural activation, counselling and short-term psychodynamic
#: therapy are NG222 treatments, placed at step 3 as NHS services deliver them at high
#: intensity (a service default: NG222 assigns no steps). DBT as specialist
#: care (step 4) is a default service choice, not a NICE rule; modalities not
#: listed count as step 3.
DEFAULT_MODALITY_STEPS: tuple[ModalityStep, ...] = (
    ModalityStep(Modality.GUIDED_SELF_HELP, 2),
    ModalityStep(Modality.CBT, 3),
    ModalityStep(Modality.IPT, 3),
    ModalityStep(Modality.BEHAVIOURAL_ACTIVATION, 3),
    ModalityStep(Modality.COUNSELLING, 3),
    ModalityStep(Modality.PSYCHODYNAMIC, 3),
    ModalityStep(Modality.DBT, 4),
)


@attrs.frozen
class SteppedCarePolicy:
    """When to start where, and when to step up.

    ``severity_instrument`` scores at or above ``more_severe_from`` start at
    ``more_severe_step``, below it at ``less_severe_step``. The threshold
    defaults to NG222's split (PHQ-9 16); the steps default to 3 and 2, a
    configurable service default after CG90's stepped-care model (NG222 itself
    assigns no steps). A review steps up one step (never above ``top_step``) when
    the latest score of a monitored measure is at ``step_up_signal`` or worse
    (default red: not on track; NICE: step up when the client is not benefiting)
    or, with ``step_up_on_deterioration``, reliably deteriorated. At the top step
    the advice is to refer on.
    """

    __repr__ = record_repr

    severity_instrument: str = attrs.field(default="PHQ-9", validator=v.ref())
    more_severe_from: float = attrs.field(default=NG222_MORE_SEVERE_PHQ9, validator=v.number())
    less_severe_step: int = attrs.field(default=2, validator=v.integer(low=1, high=4))
    more_severe_step: int = attrs.field(default=3, validator=v.integer(low=1, high=4))
    modality_steps: tuple[ModalityStep, ...] = attrs.field(
        default=DEFAULT_MODALITY_STEPS,
        converter=_tuple,
        validator=v.items_of(ModalityStep, "modality steps", max_length=100),
    )
    unlisted_step: int = attrs.field(default=3, validator=v.integer(low=1, high=4))
    step_up_signal: TrackSignal = attrs.field(
        default=TrackSignal.RED, validator=v.enum(TrackSignal)
    )
    step_up_on_deterioration: bool = attrs.field(default=True, validator=v.boolean())
    top_step: int = attrs.field(default=4, validator=v.integer(low=1, high=4))

    def step_of(self, modality: Modality) -> CareStep:
        """The step at which this policy delivers ``modality``."""
        if not isinstance(modality, Modality):
            raise ArgumentError("modality", "a Modality")
        for entry in self.modality_steps:
            if entry.modality is modality:
                return CareStep(entry.step)
        return CareStep(self.unlisted_step)


@attrs.frozen
class StepAdvice(SlottedRecord):
    """The current step, the step advised, and why."""

    __repr__ = record_repr

    current: CareStep
    advised: CareStep
    decision: ReviewDecision
    reason: str

    @property
    def step_up(self) -> bool:
        return self.advised > self.current


#: ``StepAdvice(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): every review advises a step.
_new_step_advice = frozen_maker(StepAdvice)


def initial_step(intake: float, policy: SteppedCarePolicy | None = None) -> CareStep:
    """The first step for an intake score on the policy's severity instrument.

    Default: PHQ-9 below 16 (less severe depression, NICE NG222) starts at
    step 2 (low intensity); 16 or more (more severe) at step 3 (high
    intensity). The split is NG222's; the steps are the policy's configurable
    service default after CG90's stepped care.
    """
    v.check_argument(policy, SteppedCarePolicy, "policy", "a SteppedCarePolicy")
    chosen = policy or _DEFAULT_POLICY
    if not v.is_number(intake):
        raise ValidationError.at("intake", "a finite number")
    if intake >= chosen.more_severe_from:
        return CareStep(chosen.more_severe_step)
    return CareStep(chosen.less_severe_step)


def current_step(plan: TreatmentPlan, policy: SteppedCarePolicy | None = None) -> CareStep:
    """The step the plan's interventions are at: the highest of their modalities.

    A plan with no interventions serving a live objective is at step 1
    (assessment and monitoring).
    """
    check_plan(plan)
    v.check_argument(policy, SteppedCarePolicy, "policy", "a SteppedCarePolicy")
    chosen = policy or _DEFAULT_POLICY
    live = {o.id for g in plan.goals for o in g.objectives if o.status not in _DEAD}
    step_of = _STEP_OF.get_one(chosen)
    if step_of is None:
        step_of = _STEP_OF.put({m: chosen.step_of(m) for m in Modality}, chosen)
    steps = [
        step_of[i.modality]  # a Modality: the plan's validators checked it
        for i in plan.interventions
        if not i.serves or not live.isdisjoint(i.serves)
    ]
    return max(steps, default=CareStep.ASSESSMENT_AND_MONITORING)


_DEAD = frozenset(
    {ObjectiveStatus.CANCELLED, ObjectiveStatus.ENTERED_IN_ERROR, ObjectiveStatus.REJECTED}
)
#: Each policy's :meth:`SteppedCarePolicy.step_of` of every modality, per policy object
#: (immutable): every review asks, and making a ``CareStep`` costs more than finding it.
_STEP_OF: IdentityCache[dict[Modality, CareStep]] = IdentityCache(64)


_SEVERITY = {TrackSignal.GREEN: 0, TrackSignal.AMBER: 1, TrackSignal.RED: 2}


def step_advice(
    current: CareStep,
    signal: TrackSignal | None,
    deteriorated: bool,
    policy: SteppedCarePolicy | None = None,
) -> StepAdvice:
    """Step up (or refer on at the top step) when not on track or reliably worse.

    ``signal`` is the worst signal among the latest scores of the monitored
    measures (``None`` when there are none); ``deteriorated`` whether any of them
    reliably deteriorated from baseline.
    """
    if not isinstance(current, CareStep):
        raise ArgumentError("current", "a CareStep")
    v.check_argument(signal, TrackSignal, "signal", "a TrackSignal or None")
    if not isinstance(deteriorated, bool):
        raise ArgumentError("deteriorated", "True or False")
    v.check_argument(policy, SteppedCarePolicy, "policy", "a SteppedCarePolicy")
    chosen = policy or _DEFAULT_POLICY
    off_track = signal is not None and _SEVERITY[signal] >= _SEVERITY[chosen.step_up_signal]
    worse = deteriorated and chosen.step_up_on_deterioration
    if not (off_track or worse):
        why = "on track" if signal is not None else "no scores to judge progress"
        return _new_step_advice(
            current, current, ReviewDecision.CONTINUE, f"{why}: stay at step {current}"
        )
    because = "reliable deterioration" if worse else f"not on track ({signal})"
    if current >= chosen.top_step:
        return _new_step_advice(
            current,
            current,
            ReviewDecision.REFER_ON,
            f"{because} at the top step ({current}): refer on",
        )
    advised = CareStep(current + 1)
    return _new_step_advice(
        current, advised, ReviewDecision.STEP_UP, f"{because}: step up from {current} to {advised}"
    )


def plan_step_advice(
    plan: TreatmentPlan,
    as_of: datetime,
    policy: SteppedCarePolicy | None = None,
    *,
    instruments: tuple[str, ...] = ("PHQ-9", "GAD-7"),
) -> StepAdvice:
    """Stepped-care advice for ``plan`` from its scores up to ``as_of``.

    Looks at the latest score of each of ``instruments`` the plan measures:
    its expected-response signal and whether it reliably deteriorated.
    """
    check_plan(plan)
    v.check_time_argument(as_of, "as_of")
    if isinstance(instruments, str) or not all(isinstance(c, str) for c in instruments):
        raise ArgumentError("instruments", "a tuple of instrument codes such as ('PHQ-9',)")
    signal, deteriorated = latest_status(plan, as_of, instruments)
    return step_advice(current_step(plan, policy), signal, deteriorated, policy)


_SIGNAL_ORDER = {TrackSignal.GREEN: 0, TrackSignal.AMBER: 1, TrackSignal.RED: 2}


def latest_status(
    plan: TreatmentPlan, as_of: datetime, instruments: tuple[str, ...]
) -> tuple[TrackSignal | None, bool]:
    """The worst latest signal among ``instruments`` and whether any reliably deteriorated."""
    view = as_of_view(plan, as_of)
    state = state_of(view)
    limit = v.instant(as_of)
    signals: list[TrackSignal] = []
    deteriorated = False
    for code in instruments:
        series = state.series(code).until(limit)
        base, last = series.first_scored(), series.latest_scored()
        if base is None or last is None:
            continue
        instrument = view.instrument(code)
        chart = track(instrument, (base, last) if last is not base else (base,))
        signal = chart[-1].signal
        assert signal is not None  # track gives every scored point a signal
        signals.append(signal)
        if last is not base:
            change = score_change(instrument, base.score, last.score)
            deteriorated |= change is not None and change.reliable_deterioration
    worst = max(signals, key=_SIGNAL_ORDER.__getitem__) if signals else None
    return worst, deteriorated


_DEFAULT_POLICY = SteppedCarePolicy()
