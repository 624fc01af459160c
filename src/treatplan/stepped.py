"""Stepped care: the step a client starts at and advice to step up, after NICE CG90 and
NG222 (the step mapping is a configurable service default)."""

from ._stepped import (
    DEFAULT_MODALITY_STEPS,
    NG222_MORE_SEVERE_PHQ9,
    CareStep,
    ModalityStep,
    StepAdvice,
    SteppedCarePolicy,
    current_step,
    initial_step,
    plan_step_advice,
    step_advice,
)

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
