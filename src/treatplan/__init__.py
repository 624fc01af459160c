"""treatplan: typed, immutable psychotherapy treatment plans.

The everyday path is here: the plan model and its vocabularies, the lifecycle
operations, JSON, review and ending rules, scoring. Everything else lives in public
submodules named after their concepts:

- :mod:`treatplan.instruments`: the instrument catalogue and scoring;
- :mod:`treatplan.change`: reliable and clinically significant change;
- :mod:`treatplan.monitoring`: expected-response curves, signals and alerts;
- :mod:`treatplan.rules`: ending rules and their evaluation;
- :mod:`treatplan.lifecycle`: the transition table and its guards;
- :mod:`treatplan.reviews`: findings, objective achievement, review cadence;
- :mod:`treatplan.stepped`: stepped care;
- :mod:`treatplan.outcomes`: NHS Talking Therapies outcomes and GAS;
- :mod:`treatplan.document`: the JSON Schema and schema migrations;
- :mod:`treatplan.fhir`: HL7 FHIR R4/R5 export and import;
- :mod:`treatplan.sim`: the caseload simulator;
- :mod:`treatplan.strategies`: hypothesis strategies (the ``test`` extra).

Submodules load on first use (``treatplan.fhir`` and friends need no import of
their own), so ``import treatplan`` stays cheap. Implementation modules are
private (``treatplan._*``).
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from ._errors import (
    ArgumentError,
    LimitError,
    TransitionError,
    TreatplanError,
    UnknownReferenceError,
    ValidationError,
    ValidationIssue,
)
from ._instruments import Instrument
from ._instruments import instrument as builtin_instrument
from ._model import (
    SCHEMA_VERSION,
    AchievementStatus,
    Assessment,
    Attendance,
    Barrier,
    BarrierKind,
    BehaviourTarget,
    ClientFactors,
    CodeSystem,
    Comparator,
    CountPeriod,
    DeliveryFormat,
    Diagnosis,
    GasTarget,
    Goal,
    GoalDomain,
    Intervention,
    MeasureTarget,
    Modality,
    Objective,
    ObjectiveProgress,
    ObjectiveStatus,
    ObjectiveTarget,
    PresentingProblem,
    ProgressReview,
    Readiness,
    ReferralParts,
    ReviewDecision,
    RevisionParts,
    Schedule,
    Session,
    SupportLevel,
    Transition,
    TreatmentPlan,
)
from ._transitions import EpisodeOutcome, Event, Phase
from ._version import __version__

if TYPE_CHECKING:  # loaded on first use at run time (see __getattr__)
    from . import change as change
    from . import document as document
    from . import fhir as fhir
    from . import instruments as instruments
    from . import lifecycle as lifecycle
    from . import monitoring as monitoring
    from . import outcomes as outcomes
    from . import reviews as reviews
    from . import rules as rules
    from . import sim as sim
    from . import stepped as stepped
    from . import strategies as strategies
    from ._alerts import Alert, alerts
    from ._evaluation import Verdict, evaluate
    from ._json import dumps, from_dict, loads, to_dict
    from ._lifecycle import (
        EventCheck,
        allowed_events,
        check_event,
        fire,
        latest_time,
        record_assessment,
        record_review,
        record_session,
        revise,
    )
    from ._review import Findings, ReviewPolicy, record_findings, review
    from ._scoring import Score, score
    from ._state import Achievement, AchievementSource, objective_achievement
    from ._summary import summary as describe

__all__ = [
    "SCHEMA_VERSION",
    "Achievement",
    "AchievementSource",
    "AchievementStatus",
    "Alert",
    "ArgumentError",
    "Assessment",
    "Attendance",
    "Barrier",
    "BarrierKind",
    "BehaviourTarget",
    "ClientFactors",
    "CodeSystem",
    "Comparator",
    "CountPeriod",
    "DeliveryFormat",
    "Diagnosis",
    "EpisodeOutcome",
    "Event",
    "EventCheck",
    "Findings",
    "GasTarget",
    "Goal",
    "GoalDomain",
    "Instrument",
    "Intervention",
    "LimitError",
    "MeasureTarget",
    "Modality",
    "Objective",
    "ObjectiveProgress",
    "ObjectiveStatus",
    "ObjectiveTarget",
    "Phase",
    "PresentingProblem",
    "ProgressReview",
    "Readiness",
    "ReferralParts",
    "ReviewDecision",
    "ReviewPolicy",
    "RevisionParts",
    "Schedule",
    "Score",
    "Session",
    "SupportLevel",
    "Transition",
    "TransitionError",
    "TreatmentPlan",
    "TreatplanError",
    "UnknownReferenceError",
    "ValidationError",
    "ValidationIssue",
    "Verdict",
    "__version__",
    "alerts",
    "allowed_events",
    "builtin_instrument",
    "check_event",
    "describe",
    "dumps",
    "evaluate",
    "fire",
    "from_dict",
    "latest_time",
    "loads",
    "objective_achievement",
    "record_assessment",
    "record_findings",
    "record_review",
    "record_session",
    "review",
    "revise",
    "score",
    "to_dict",
]

#: Public submodules, loaded on first attribute access (``treatplan.fhir.to_fhir``).
_SUBMODULES = frozenset(
    {
        "change",
        "document",
        "fhir",
        "instruments",
        "lifecycle",
        "monitoring",
        "outcomes",
        "reviews",
        "rules",
        "sim",
        "stepped",
        "strategies",
    }
)

#: Names of the 0.1 top level that moved or were renamed before 1.0: old name ->
#: (module, new name).
#: They still resolve, with a DeprecationWarning, until 1.0 (see CHANGELOG.md). One
#: could not stay: ``treatplan.instruments`` is now the submodule, so the function that
#: listed the catalogue is ``treatplan.instruments.builtin_instruments``.
MOVED: dict[str, tuple[str, str]] = {
    "Problem": ("treatplan", "ValidationIssue"),
    "GoalStatus": ("treatplan", "ObjectiveStatus"),
    "Outcome": ("treatplan", "EpisodeOutcome"),
    "Format": ("treatplan", "DeliveryFormat"),
    "Period": ("treatplan", "CountPeriod"),
    "Target": ("treatplan", "ObjectiveTarget"),
    "summary": ("treatplan", "describe"),
    "conduct_review": ("treatplan", "record_findings"),
    "instrument": ("treatplan", "builtin_instrument"),
    "score_in": ("treatplan.instruments", "plan_score"),
    "measure_series": ("treatplan.instruments", "plan_series"),
    "track_signal": ("treatplan.monitoring", "expected_signal"),
    "Action": ("treatplan.rules", "RuleAction"),
    "Step": ("treatplan.stepped", "CareStep"),
    "advise_step": ("treatplan.stepped", "plan_step_advice"),
    **{
        name: (module, name)
        for module, names in {
            "treatplan.instruments": (
                "AUDIT BUILTIN_INSTRUMENTS CORE10 GAD7 K10 ORS PCL5 PHQ9 SRS WSAS Band "
                "Direction ItemChoices Norms RiskItem ScoredPoint band_of is_case plan_scores"
            ),
            "treatplan.change": (
                "DEFAULT_Z HAGEMAN_ARRINDELL_Z ChangeCategory ChangeMethod ClinicalChange "
                "CutoffChoice Cutoffs HagemanArrindell change_category classify_change "
                "clinical_cutoffs fixed_threshold_change hageman_arrindell_change "
                "hageman_arrindell_cs_index hageman_arrindell_cutoffs hageman_arrindell_rc "
                "in_clinical_range jacobson_truax_change reliable_change_index "
                "reliable_difference standard_error_of_difference"
            ),
            "treatplan.monitoring": (
                "DEFAULT_ALARM_Z DEFAULT_ALLIANCE_CUTOFF DEFAULT_BAND_Z DEFAULT_RATE "
                "DEFAULT_RATE_SD AlertKind AlertLevel AlertPolicy ExpectedResponse "
                "ExpectedScore LogLinearCurve TabulatedCurve TrackPoint TrackSignal "
                "expected_trajectory track"
            ),
            "treatplan.rules": (
                "AllOf AnyOf AuthorisationUsed ClientRequest ConsecutiveMissed GoalsMet "
                "Inactivity MissedInWindow MissedWithinDays Plateau ReliableDeterioration "
                "Rule SessionLimit SustainedRecovery TimeLimit"
            ),
            "treatplan.lifecycle": (
                "OPEN_PHASES RECORDING_PHASES TRANSITIONS TransitionSpec mermaid"
            ),
            "treatplan.reviews": (
                "AttendanceSummary MeasureFinding ObjectiveFinding ObjectiveState "
                "ReviewCadence ReviewDue ReviewStatus Suggestion due_reviews "
                "next_review_date review_due_date review_status"
            ),
            "treatplan.stepped": (
                "DEFAULT_MODALITY_STEPS NG222_MORE_SEVERE_PHQ9 ModalityStep StepAdvice "
                "SteppedCarePolicy current_step initial_step step_advice"
            ),
            "treatplan.outcomes": (
                "DEFAULT_GAS_RHO TalkingTherapiesOutcome TalkingTherapiesPolicy "
                "TreatmentSessionRule gas_t_score plan_gas_t_score talking_therapies_outcome"
            ),
            "treatplan.document": "json_schema migrate",
            "treatplan.fhir": (
                "CARE_PLAN_STATUS DIAGNOSIS_SYSTEMS EPISODE_STATUS FHIR_NAMESPACE FhirVersion "
                "care_plan_status episode_status fhir_subset from_fhir to_fhir"
            ),
        }.items()
        for name in names.split()
    },
}


#: Methods renamed before 1.0: old -> new. The old name still works, with a
#: DeprecationWarning, until 1.0 (see CHANGELOG.md).
MOVED_METHODS: dict[str, str] = {
    "TreatmentPlan.scores": "TreatmentPlan.assessments_of",
}


#: Top-level names whose modules (judgement: review, alerts, rule evaluation) load on
#: first use, with the notebook views, so ``import treatplan`` stays cheap.
_LAZY: dict[str, str] = {
    "Alert": "treatplan._alerts",
    "alerts": "treatplan._alerts",
    "Verdict": "treatplan._evaluation",
    "evaluate": "treatplan._evaluation",
    "Findings": "treatplan._review",
    "ReviewPolicy": "treatplan._review",
    "record_findings": "treatplan._review",
    "review": "treatplan._review",
}


def _plan_html(plan: TreatmentPlan) -> str:
    # The notebook view needs review logic: loaded when a notebook first asks.
    display = importlib.import_module("treatplan._display")
    html: str = display.plan_html(plan)
    return html


TreatmentPlan._repr_html_ = _plan_html  # type: ignore[attr-defined]


#: The lifecycle operations and the plan state they keep, and JSON reading and writing
#: (with cattrs): loaded on first use. A caller that only reads plan data, or builds
#: plans in code and never writes JSON, pays for neither. Name -> (module, attribute).
_LAZY_CORE: dict[str, tuple[str, str]] = {
    **{
        name: ("treatplan._lifecycle", name)
        for name in (
            "EventCheck",
            "allowed_events",
            "check_event",
            "fire",
            "latest_time",
            "record_assessment",
            "record_review",
            "record_session",
            "revise",
        )
    },
    "Score": ("treatplan._scoring", "Score"),
    "score": ("treatplan._scoring", "score"),
    "Achievement": ("treatplan._state", "Achievement"),
    "AchievementSource": ("treatplan._state", "AchievementSource"),
    "objective_achievement": ("treatplan._state", "objective_achievement"),
    "describe": ("treatplan._summary", "summary"),
    **{name: ("treatplan._json", name) for name in ("dumps", "from_dict", "loads", "to_dict")},
}


def __getattr__(name: str) -> Any:
    # Loading on first use keeps ``import treatplan`` to the plan data (PEP 562): the
    # lifecycle, JSON, FHIR, schema, simulation and strategy modules, and the judgement
    # modules, load only when asked for. A name, once loaded, is cached in this module.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    core = _LAZY_CORE.get(name)
    if core is not None:
        module, attribute = core
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    lazy = _LAZY.get(name)
    if lazy is not None:
        importlib.import_module("treatplan._display")  # attaches the findings' view too
        value = getattr(importlib.import_module(lazy), name)
        globals()[name] = value
        return value
    moved = MOVED.get(name)
    if moved is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    module, new = moved
    warnings.warn(
        f"treatplan.{name} is now {module}.{new}; the old name goes in 1.0",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), new)


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES})
