"""FHIR R4 and R5 export and import of treatment plans, as plain JSON-ready dicts.

:func:`to_fhir` writes a plan as a FHIR ``Bundle`` (type ``collection``, or
``transaction`` with conditional ``PUT`` requests for a server):

* one **EpisodeOfCare**: ``status`` from the phase, ``statusHistory`` with one entry
  per lifecycle transition (each carrying the treatplan event, who and why in the
  ``lifecycle-transition`` extension, since FHIR has no element for them);
* one **CarePlan**: ``status`` from the phase, the conditions it addresses, every
  goal, and the interventions as ``activity`` (R4: ``activity.detail``; R5, which
  dropped ``detail``: ``activity.plannedActivityReference`` to a ServiceRequest
  entry of the bundle);
* a **Condition** per presenting problem (``code.text`` is the client's words,
  ``code.coding`` the diagnosis, ``evidence`` the behavioural definitions);
* a **Goal** per long-term goal and per short-term objective; objectives are the
  long-term goal's milestones (standard ``goal-relationship`` extension) and carry
  ``target`` (measure, detail, ``dueDate``), ``lifecycleStatus`` and
  ``achievementStatus``;
* an **Observation** per assessment (LOINC code where the instrument has one, item
  responses as ``component`` with LOINC item and answer codes where they exist),
  ``basedOn`` the CarePlan, linked to the objectives it measures by the core
  ``resource-pertainsToGoal`` extension; optionally a **QuestionnaireResponse** too.

Other systems' FHIR is read by :func:`~treatplan.fhir.import_measures` (``_fhir_import``)
and :func:`~treatplan.fhir.plan_from_fhir` (``_fhir_plan``).

Status mappings follow docs/references.md#lifecycle-and-fhir (see :data:`EPISODE_STATUS` and
:data:`CARE_PLAN_STATUS`). The client is an identifier-only reference: no Patient
resource, no personal data. Codes and identifiers that FHIR has no system for use
the local namespace :data:`FHIR_NAMESPACE`.

:func:`from_fhir` reads such a bundle back. What survives the round trip is exactly
:func:`fhir_subset`: sessions, reviews, discharge criteria and client factors have
no place in these resources and are dropped; assessments taken at sessions come
back as standalone assessments. No FHIR library is used at run time.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import attrs

from ._errors import ArgumentError, UnknownReferenceError, ValidationError, ValidationIssue
from ._fhir_codes import LOINC_FORMS, LoincForm
from ._instruments import BUILTIN_INSTRUMENTS, Instrument
from ._json import from_dict, to_dict
from ._lifecycle import TRANSITIONS
from ._model import (
    AchievementStatus,
    Assessment,
    BehaviourTarget,
    ClientFactors,
    CodeSystem,
    Comparator,
    CountPeriod,
    DeliveryFormat,
    Diagnosis,
    EpisodeOutcome,
    GasTarget,
    Goal,
    GoalDomain,
    Intervention,
    MeasureTarget,
    Modality,
    Objective,
    ObjectiveStatus,
    ObjectiveTarget,
    Phase,
    PresentingProblem,
    Schedule,
    Transition,
    TreatmentPlan,
    check_plan,
)
from ._records import record_repr
from ._scoring import plan_score
from ._state import (
    TERMINAL_ACHIEVEMENT,
    AchievementSource,
    live_objectives,
    objective_achievement,
)
from ._validation import is_number

__all__ = [
    "CARE_PLAN_STATUS",
    "DIAGNOSIS_SYSTEMS",
    "EPISODE_STATUS",
    "FHIR_NAMESPACE",
    "FhirVersion",
    "care_plan_status",
    "episode_status",
    "fhir_subset",
    "from_fhir",
    "to_fhir",
]

T = TypeVar("T")
#: Marks a JSON text that did not parse (None is a valid JSON value).
_NOT_JSON = object()

#: The FHIR versions :func:`to_fhir` writes.
FhirVersion = Literal["R4", "R5"]
#: The Bundle types :func:`to_fhir` writes.
BundleType = Literal["collection", "transaction"]

#: Namespace of treatplan's local code systems, identifier systems and extensions.
#: A stable identifier, not necessarily a resolvable web page.
FHIR_NAMESPACE = "http://treatplan.dev/fhir"
_CS = FHIR_NAMESPACE + "/CodeSystem/"
_SD = FHIR_NAMESPACE + "/StructureDefinition/"
_PLAN_ID = FHIR_NAMESPACE + "/identifier/plan"
_PART_ID = FHIR_NAMESPACE + "/identifier/plan-part"
_CLIENT_ID = FHIR_NAMESPACE + "/identifier/client"
_CLINICIAN_ID = FHIR_NAMESPACE + "/identifier/clinician"
_EXT_TRANSITION = _SD + "lifecycle-transition"
_EXT_GAS_WEIGHT = _SD + "gas-weight"
_EXT_FORMAT = _SD + "intervention-format"
_EXT_INSTRUMENT = _SD + "instrument-definition"
_EXT_COMPUTED = _SD + "computed-total"
_EXT_DERIVED = _SD + "derived-achievement"
_EXT_RECORDED = _SD + "recorded-achievement"
_CS_EVENT = _CS + "lifecycle-event"
_CS_GOAL_LEVEL = _CS + "goal-level"
_CS_GOAL_DOMAIN = _CS + "goal-domain"
_CS_MODALITY = _CS + "modality"
_CS_INSTRUMENT = _CS + "instrument"
_CS_ITEM = _CS + "instrument-item"
_CS_TARGET = _CS + "target"
# Standard extensions: goal-relationship (FHIR R4 core, R5 extensions pack) and
# resource-pertainsToGoal (FHIR core extension).
# The core "Timezone Code" extension: an IANA zone name (valueCode).
_EXT_TIMEZONE = "http://hl7.org/fhir/StructureDefinition/timezone"
_EXT_GOAL_RELATIONSHIP = "http://hl7.org/fhir/StructureDefinition/goal-relationship"
_EXT_PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
_CS_GOAL_RELATIONSHIP = "http://hl7.org/fhir/goal-relationship-type"
_CS_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_CS_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CS_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CS_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CS_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"

#: Code system URIs of diagnosis codes. ICD-10-CM, ICD-10, SNOMED CT and ICD-11
#: (MMS linearization) are the URIs HL7 registers (terminology.hl7.org); DSM-5-TR
#: has none, so it gets a local system under :data:`FHIR_NAMESPACE` (DSM-5-TR codes
#: are ICD-10-CM codes in US practice; record them as ICD-10-CM where that suffices).
DIAGNOSIS_SYSTEMS: Mapping[CodeSystem, str] = MappingProxyType(
    {
        CodeSystem.ICD_10_CM: "http://hl7.org/fhir/sid/icd-10-cm",
        CodeSystem.ICD_10: "http://hl7.org/fhir/sid/icd-10",
        CodeSystem.ICD_11: "http://id.who.int/icd/release/11/mms",
        CodeSystem.SNOMED_CT: "http://snomed.info/sct",
        CodeSystem.DSM_5_TR: _CS + "dsm-5-tr",
    }
)
_SYSTEM_OF_URI = {uri: system for system, uri in DIAGNOSIS_SYSTEMS.items()}

#: EpisodeOfCare.status per open phase (docs/references.md#lifecycle-and-fhir). ``closed`` is
#: ``finished``, or ``cancelled`` when the episode never started (never reached
#: assessing): see :func:`episode_status`.
EPISODE_STATUS: Mapping[Phase, str] = MappingProxyType(
    {
        Phase.REFERRED: "planned",
        Phase.WAITLISTED: "waitlist",
        Phase.ASSESSING: "active",
        Phase.ACTIVE: "active",
        Phase.ON_HOLD: "onhold",
        Phase.ENDING: "active",
        Phase.FOLLOW_UP: "active",
    }
)

#: CarePlan.status per open phase (docs/references.md#lifecycle-and-fhir). ``closed`` is
#: ``completed``, or ``revoked`` when the outcome is not completed: see
#: :func:`care_plan_status`.
CARE_PLAN_STATUS: Mapping[Phase, str] = MappingProxyType(
    {
        Phase.REFERRED: "draft",
        Phase.WAITLISTED: "draft",
        Phase.ASSESSING: "draft",
        Phase.ACTIVE: "active",
        Phase.ON_HOLD: "on-hold",
        Phase.ENDING: "active",
        Phase.FOLLOW_UP: "active",
    }
)

# Phases in which an episode of care has started (EpisodeOfCare.status active or onhold).
_STARTED = frozenset({Phase.ASSESSING, Phase.ACTIVE, Phase.ON_HOLD, Phase.ENDING, Phase.FOLLOW_UP})
# Phases after the plan was agreed: interventions are under way.
_AGREED = frozenset({Phase.ACTIVE, Phase.ON_HOLD, Phase.ENDING, Phase.FOLLOW_UP})

_COMPARATOR_TO_FHIR = {
    Comparator.BELOW: "<",
    Comparator.AT_MOST: "<=",
    Comparator.AT_LEAST: ">=",
    Comparator.ABOVE: ">",
}
_COMPARATOR_FROM_FHIR = {v: k for k, v in _COMPARATOR_TO_FHIR.items()}
# UCUM units for "per period" (UCUM: d, wk, mo).
_PERIOD_TO_UCUM = {CountPeriod.DAY: "/d", CountPeriod.WEEK: "/wk", CountPeriod.MONTH: "/mo"}
_PERIOD_FROM_UCUM = {v: k for k, v in _PERIOD_TO_UCUM.items()}
_RRULE_FREQ_TO_UNIT = {"DAILY": "d", "WEEKLY": "wk", "MONTHLY": "mo", "YEARLY": "a"}

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, FHIR_NAMESPACE)


# --------------------------------------------------------------------------- statuses
def episode_status(plan: TreatmentPlan, upto: int | None = None) -> str:
    """EpisodeOfCare.status of ``plan`` (after history record ``upto``, default the last).

    docs/references.md#lifecycle-and-fhir: closed is ``finished``, or ``cancelled`` if the episode
    never started (no record up to then entered assessing or a later open phase).
    Raises :class:`~treatplan.UnknownReferenceError` (an ``IndexError``) when
    ``upto`` is not the index of a history record.
    """
    check_plan(plan)
    if upto is None:
        return _status_after(plan.history)
    if not isinstance(upto, int) or isinstance(upto, bool):
        raise ArgumentError("upto", "the index of a history record (an integer)")
    if not 0 <= upto < len(plan.history):
        raise UnknownReferenceError("upto", "the index of a history record")
    return _status_after(plan.history[: upto + 1])


def _status_after(history: Sequence[Transition]) -> str:
    phase = history[-1].target
    if phase is not Phase.CLOSED:
        return EPISODE_STATUS[phase]
    return "finished" if any(t.target in _STARTED for t in history) else "cancelled"


def _care_plan_status_of(history: Sequence[Transition]) -> str:
    last = history[-1]
    if last.target is not Phase.CLOSED:
        return CARE_PLAN_STATUS[last.target]
    return "completed" if last.outcome is EpisodeOutcome.COMPLETED else "revoked"


def care_plan_status(plan: TreatmentPlan) -> str:
    """CarePlan.status of ``plan``: closed is ``completed``, else ``revoked``.

    See docs/references.md#lifecycle-and-fhir.
    """
    check_plan(plan)
    return _care_plan_status_of(plan.history)


def _activity_status(plan: TreatmentPlan) -> str:
    """R4 CarePlan.activity.detail.status (care-plan-activity-status) for the plan's phase."""
    phase = plan.phase
    if phase is Phase.ON_HOLD:
        return "on-hold"
    if phase in _AGREED:
        return "in-progress"
    if phase is not Phase.CLOSED:
        return "not-started"
    if plan.outcome is EpisodeOutcome.COMPLETED:
        return "completed"
    agreed = any(t.target in _AGREED for t in plan.history)
    return "stopped" if agreed else "cancelled"


def _long_term_goal_status(plan: TreatmentPlan, goal: Goal) -> str:
    return _long_term_goal_status_of(goal, plan.phase is Phase.CLOSED)


def _long_term_goal_status_of(goal: Goal, closed: bool) -> str:
    # The model keeps no status for a long-term goal: completed when every objective
    # is, cancelled when the episode closed without that, otherwise active.
    if goal.objectives and all(o.status is ObjectiveStatus.COMPLETED for o in goal.objectives):
        return "completed"
    return "cancelled" if closed else "active"


# --------------------------------------------------------------------------- times
def _fhir_instant(when: datetime) -> datetime:
    """``when`` as FHIR can write it: offsets of whole minutes within +-14:00, else UTC."""
    offset = when.utcoffset()
    whole_minutes = offset is not None and offset % timedelta(minutes=1) == timedelta(0)
    if whole_minutes and offset is not None and abs(offset) <= timedelta(hours=14):
        return when
    return when.astimezone(UTC)


def _datetime_text(when: datetime) -> str:
    return _fhir_instant(when).isoformat()


def _assessment_order(assessment: Assessment) -> tuple[datetime, str]:
    """Time order, then id: the same order whatever order the parts came in."""
    return assessment.administered_at.astimezone(UTC), assessment.id


def _observed_order(pair: tuple[Assessment, str]) -> tuple[datetime, str]:
    return _assessment_order(pair[0])


#: A plan path a problem of the plan a bundle makes may name: a record of one of the
#: plan's lists (an objective inside its goal).
_PLAN_PART = re.compile(
    r"\$\.(history|presenting_problems|goals|interventions|assessments)\[(\d+)\]"
    r"(?:\.objectives\[(\d+)\])?"
)
#: Where a field of a record is in the resource (or element) it came from, where the
#: bundle has one place for it; any other field is reported at the resource.
_FIELD_IN_BUNDLE = {
    ("assessments", ".administered_at"): ".effectiveDateTime",
    ("history", ".at"): ".period.start",
}


@attrs.frozen
class _Sources:
    """Where in the bundle each record of the plan it makes came from."""

    __repr__ = record_repr

    care_plan: str
    parts: dict[str, list[str]]  # plan list -> the path of each record's resource
    objectives: list[list[str]]  # for each goal, the path of each objective's Goal

    def of(self, part: re.Match[str]) -> str:
        kind, index, objective = part.group(1), int(part.group(2)), part.group(3)
        if objective is not None:
            return self.objectives[index][int(objective)]
        return self.parts[kind][index]

    def issue(self, issue: ValidationIssue) -> ValidationIssue:
        """``issue`` of the plan a bundle makes, at the bundle's own paths: the bundle
        has no ``$.goals`` or ``$.assessments`` for its reader to find."""
        found = _PLAN_PART.match(issue.path)
        if found is not None:
            rest = issue.path[found.end() :]
            field = "" if found.group(3) else _FIELD_IN_BUNDLE.get((found.group(1), rest), "")
            path = self.of(found) + field
        elif issue.path == "$.client_ref":
            path = f"{self.care_plan}.subject.identifier.value"
        else:  # the plan's own fields and instruments: from the CarePlan
            path = self.care_plan
        # A message may name another record too (where a repeated id was first used).
        return ValidationIssue(path, _PLAN_PART.sub(self.of, issue.expected))


# --------------------------------------------------------------------------- the subset
def fhir_subset(plan: TreatmentPlan) -> TreatmentPlan:
    """The part of ``plan`` a FHIR Bundle carries: ``from_fhir(to_fhir(p)) == fhir_subset(p)``.

    Kept: plan and client references; the whole history (event, phases, time, who,
    why, outcome); presenting problems (description, behavioural definitions,
    diagnosis); goals with their objectives (every field, targets included);
    interventions (every field); every assessment; custom instrument definitions.
    Dropped: sessions, progress reviews, discharge criteria and client factors, and a
    recorded total beside item responses (scoring uses the items; the Observation
    reports their total).
    Assessments taken at sessions become standalone assessments, in time order (ties
    by id).
    Date-times keep their instant and offset (an offset FHIR cannot write, not a
    whole minute or beyond +-14:00, becomes UTC).
    """
    check_plan(plan)
    return attrs.evolve(
        plan,
        history=tuple(attrs.evolve(t, at=_fhir_instant(t.at)) for t in plan.history),
        interventions=tuple(
            i
            if i.schedule is None
            else attrs.evolve(
                i,
                schedule=Schedule(
                    _fhir_instant(i.schedule.start), i.schedule.rrule, i.schedule.timezone
                ),
            )
            for i in plan.interventions
        ),
        assessments=tuple(
            attrs.evolve(
                a,
                administered_at=_fhir_instant(a.administered_at),
                total=a.total if a.items is None else None,
            )
            for a in sorted(plan.all_assessments(), key=_assessment_order)
        ),
        sessions=(),
        reviews=(),
        discharge_criteria=None,
        client_factors=ClientFactors(),
    )


# --------------------------------------------------------------------------- export
def to_fhir(
    plan: TreatmentPlan,
    version: FhirVersion = "R4",
    *,
    bundle: BundleType = "collection",
    questionnaire_responses: bool = False,
) -> dict[str, Any]:
    """``plan`` as a FHIR ``Bundle`` of JSON-ready dicts.

    ``version`` is ``"R4"`` (also valid R4B for these resources) or ``"R5"``.
    ``bundle="transaction"`` gives a Bundle a FHIR server accepts at its base URL:
    every entry is a ``PUT`` on a conditional URL keyed by the part's stable
    identifier (``Goal?identifier=system|value``), so posting the same plan twice
    updates rather than duplicates; its resources carry no ``id`` (the server
    assigns them). ``questionnaire_responses=True`` adds a QuestionnaireResponse per
    assessment with item responses (LOINC item linkIds and answer codes where the
    instrument has them), linked from its Observation's ``derivedFrom``. In a
    collection, resource ids are name-based UUIDs of the plan and part ids, so the
    same plan always gives the same bundle. Raises :class:`ValidationError` for an
    unknown version or bundle type.
    """
    check_plan(plan)
    if version not in ("R4", "R5"):
        raise ValidationError.at("version", "'R4' or 'R5'")
    if bundle not in ("collection", "transaction"):
        raise ValidationError.at("bundle", "'collection' or 'transaction'")
    out = _Exporter(plan, version == "R5", questionnaire_responses).bundle()
    if bundle == "transaction":
        out["type"] = "transaction"
        for entry in out["entry"]:
            resource = entry["resource"]
            del resource["id"]
            entry["request"] = {"method": "PUT", "url": _conditional_url(resource)}
    return out


def _conditional_url(resource: dict[str, Any]) -> str:
    """``Type?identifier=system|value``: the conditional update URL of a resource."""
    identifier = resource["identifier"]
    if isinstance(identifier, list):
        identifier = identifier[0]
    value = f"{identifier['system']}|{identifier['value']}"
    return f"{resource['resourceType']}?identifier={quote(value, safe=':/|')}"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display is not None:
        out["display"] = display
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _identifier(system: str, value: str) -> list[dict[str, Any]]:
    return [{"system": system, "value": value}]


class _Exporter:
    def __init__(self, plan: TreatmentPlan, r5: bool, responses: bool = False) -> None:
        self.plan = plan
        self.r5 = r5
        self.responses = responses
        self.patient = {
            "type": "Patient",
            "identifier": {"system": _CLIENT_ID, "value": plan.client_ref},
        }

    def url(self, kind: str, local: str) -> str:
        name = f"{self.plan.plan_id}\x00{kind}\x00{local}"
        return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, name)}"

    def part_identifier(self, local: str) -> list[dict[str, Any]]:
        """The identifier of a plan part: part ids are unique only within their plan,
        so the value is ``<plan id>/<part id>``, and conditional URLs of two plans
        never meet."""
        return _identifier(_PART_ID, f"{self.plan.plan_id}/{local}")

    def ref(self, kind: str, local: str) -> dict[str, Any]:
        return {"reference": self.url(kind, local)}

    def resource(self, kind: str, local: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.url(kind, local)
        return {"fullUrl": url, "resource": {"resourceType": kind, "id": url[9:], **body}}

    def bundle(self) -> dict[str, Any]:
        plan = self.plan
        entries = [self.episode(), self.care_plan()]
        entries += [self.condition(p) for p in plan.presenting_problems]
        for goal in plan.goals:
            entries.append(self.long_term_goal(goal))
            entries += [self.objective(goal, o) for o in goal.objectives]
        if self.r5:
            entries += [self.service_request(i) for i in plan.interventions]
        for a in sorted(plan.all_assessments(), key=_assessment_order):
            entries.append(self.observation(a))
            if self.responses and a.items is not None:
                entries.append(self.questionnaire_response(a))
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}

    # -- episode and care plan -------------------------------------------
    def episode(self) -> dict[str, Any]:
        plan = self.plan
        history = []
        for i, t in enumerate(plan.history):
            period = {"start": _datetime_text(t.at)}
            if i + 1 < len(plan.history):
                period["end"] = _datetime_text(plan.history[i + 1].at)
            parts = [
                {"url": "event", "valueCoding": _coding(_CS_EVENT, t.event)},
                {"url": "by", "valueString": t.by},
            ]
            if t.reason is not None:
                parts.append({"url": "reason", "valueString": t.reason})
            history.append(
                {
                    "extension": [{"url": _EXT_TRANSITION, "extension": parts}],
                    "status": episode_status(plan, i),
                    "period": period,
                }
            )
        period = {"start": _datetime_text(plan.history[0].at)}
        if plan.phase is Phase.CLOSED:
            period["end"] = _datetime_text(plan.last_event_at)
        body: dict[str, Any] = {
            "identifier": _identifier(_PLAN_ID, plan.plan_id),
            "status": episode_status(plan),
            "statusHistory": history,
            "patient": self.patient,
            "period": period,
        }
        diagnosed = [p for p in plan.presenting_problems if p.diagnosis is not None]
        if diagnosed:
            if self.r5:
                body["diagnosis"] = [
                    {"condition": [{"reference": self.ref("Condition", p.id)}]} for p in diagnosed
                ]
            else:
                body["diagnosis"] = [
                    {"condition": self.ref("Condition", p.id), "rank": rank}
                    for rank, p in enumerate(diagnosed, 1)
                ]
        return self.resource("EpisodeOfCare", plan.plan_id, body)

    def care_plan(self) -> dict[str, Any]:
        plan = self.plan
        body: dict[str, Any] = {}
        if plan.custom_instruments:
            # FHIR has no element for a scoring rule; the definition travels as
            # treatplan JSON so that assessments of it re-import.
            body["extension"] = [
                {
                    "url": _EXT_INSTRUMENT,
                    "valueString": json.dumps(to_dict(i), ensure_ascii=False, allow_nan=False),
                }
                for i in plan.custom_instruments
            ]
        body["identifier"] = _identifier(_PLAN_ID, plan.plan_id)
        body["status"] = care_plan_status(plan)
        body["intent"] = "plan"
        body["subject"] = self.patient
        if plan.presenting_problems:
            refs = [self.ref("Condition", p.id) for p in plan.presenting_problems]
            body["addresses"] = [{"reference": r} for r in refs] if self.r5 else refs
        goals = [self.ref("Goal", g.id) for g in plan.goals]
        goals += [self.ref("Goal", o.id) for o in plan.objectives]
        if goals:
            body["goal"] = goals
        if plan.interventions:
            body["activity"] = [self.activity(i) for i in plan.interventions]
        body["supportingInfo"] = [self.ref("EpisodeOfCare", plan.plan_id)]
        return self.resource("CarePlan", plan.plan_id, body)

    # -- interventions ---------------------------------------------------
    def activity(self, intervention: Intervention) -> dict[str, Any]:
        if self.r5:
            return {"plannedActivityReference": self.ref("ServiceRequest", intervention.id)}
        detail: dict[str, Any] = {
            "extension": [{"url": _EXT_FORMAT, "valueCode": intervention.format.value}],
            "kind": "ServiceRequest",
            "code": self.intervention_code(intervention),
        }
        if intervention.serves:
            detail["goal"] = [self.ref("Goal", oid) for oid in intervention.serves]
        detail["status"] = _activity_status(self.plan)
        if intervention.schedule is not None:
            detail["scheduledTiming"] = _timing(intervention.schedule)
        if intervention.delivered_by is not None:
            detail["performer"] = [_clinician(intervention.delivered_by)]
        # Element ids carry the intervention id: activity.detail has no identifier.
        return {"id": intervention.id, "detail": detail}

    def intervention_code(self, intervention: Intervention) -> dict[str, Any]:
        concept = _concept(_CS_MODALITY, intervention.modality.value)
        concept["text"] = intervention.technique
        return concept

    def service_request(self, intervention: Intervention) -> dict[str, Any]:
        extensions = [
            {"url": _EXT_PERTAINS_TO_GOAL, "valueReference": self.ref("Goal", oid)}
            for oid in intervention.serves
        ]
        extensions.append({"url": _EXT_FORMAT, "valueCode": intervention.format.value})
        body: dict[str, Any] = {
            "extension": extensions,
            "identifier": self.part_identifier(intervention.id),
            "status": care_plan_status(self.plan),
            "intent": "plan",
            "code": {"concept": self.intervention_code(intervention)},
            "subject": self.patient,
        }
        if intervention.schedule is not None:
            body["occurrenceTiming"] = _timing(intervention.schedule)
        if intervention.delivered_by is not None:
            body["performer"] = [_clinician(intervention.delivered_by)]
        return self.resource("ServiceRequest", intervention.id, body)

    # -- problems, goals --------------------------------------------------
    def condition(self, problem: PresentingProblem) -> dict[str, Any]:
        code: dict[str, Any] = {}
        if problem.diagnosis is not None:
            dx = problem.diagnosis
            code["coding"] = [_coding(DIAGNOSIS_SYSTEMS[dx.system], dx.code)]
        code["text"] = problem.description
        body: dict[str, Any] = {
            "identifier": self.part_identifier(problem.id),
            # The plan records no clinical status: a problem it addresses is active.
            "clinicalStatus": _concept(_CS_CONDITION_CLINICAL, "active"),
            "category": [_concept(_CS_CONDITION_CATEGORY, "problem-list-item")],
            "code": code,
            "subject": self.patient,
        }
        if problem.behavioural_definitions:
            # How the problem shows: its manifestations, Condition.evidence.
            body["evidence"] = [
                {"concept": {"text": d}} if self.r5 else {"code": [{"text": d}]}
                for d in problem.behavioural_definitions
            ]
        return self.resource("Condition", problem.id, body)

    def long_term_goal(self, goal: Goal) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if goal.objectives:
            body["extension"] = [
                {
                    "url": _EXT_GOAL_RELATIONSHIP,
                    "extension": [
                        {
                            "url": "type",
                            "valueCodeableConcept": _concept(_CS_GOAL_RELATIONSHIP, "milestone"),
                        },
                        {"url": "target", "valueReference": self.ref("Goal", o.id)},
                    ],
                }
                for o in goal.objectives
            ]
        body["identifier"] = self.part_identifier(goal.id)
        body["lifecycleStatus"] = _long_term_goal_status(self.plan, goal)
        body["category"] = [
            _concept(_CS_GOAL_LEVEL, "long-term-goal"),
            _concept(_CS_GOAL_DOMAIN, goal.domain.value),
        ]
        body["description"] = {"text": goal.statement}
        body["subject"] = self.patient
        if goal.addresses:
            body["addresses"] = [self.ref("Condition", pid) for pid in goal.addresses]
        return self.resource("Goal", goal.id, body)

    def objective(self, goal: Goal, objective: Objective) -> dict[str, Any]:
        body: dict[str, Any] = {
            "identifier": self.part_identifier(objective.id),
            "lifecycleStatus": objective.status.value,
        }
        # The recorded achievement, unless it is only a progress note (improving, ...)
        # and the plan's data say the objective is achieved: then that answer, which
        # every other reader gives, with the note kept beside it for the round trip.
        recorded = objective.achievement
        derived = None if recorded in TERMINAL_ACHIEVEMENT else self.derived_achievement(objective)
        if derived is not None and (recorded is None or derived[1]):
            concept = derived[0]
            if recorded is not None:
                concept["extension"].append({"url": _EXT_RECORDED, "valueCode": recorded.value})
            body["achievementStatus"] = concept
        elif recorded is not None:
            body["achievementStatus"] = _concept(_CS_ACHIEVEMENT, recorded.value)
        body["category"] = [_concept(_CS_GOAL_LEVEL, "short-term-objective")]
        body["description"] = {"text": objective.description}
        body["subject"] = self.patient
        target = self.target(objective.target)
        target["dueDate"] = objective.target_date.isoformat()
        body["target"] = [target]
        return self.resource("Goal", objective.id, body)

    def derived_achievement(self, objective: Objective) -> tuple[dict[str, Any], bool] | None:
        """The achievement the plan gives ``objective`` (the one answer review
        findings, ``GoalsMet`` and the summary read: from a completed status, its
        scores, GAS levels or reviewed progress), for systems that read
        ``achievementStatus``; flagged ``derived-achievement`` so that importing the
        bundle does not record it, and whether it is achieved. ``None`` when the plan
        has no answer yet."""
        if objective not in live_objectives(self.plan):
            return None  # cancelled, rejected or entered in error: no reader judges it
        found = objective_achievement(self.plan, objective)
        if found.source is AchievementSource.NONE:
            return None
        if found.achieved:
            code = AchievementStatus.ACHIEVED
        elif self.plan.phase is Phase.CLOSED:
            code = AchievementStatus.NOT_ACHIEVED
        else:
            code = AchievementStatus.IN_PROGRESS
        concept = _concept(_CS_ACHIEVEMENT, code.value)
        concept["extension"] = [{"url": _EXT_DERIVED, "valueBoolean": True}]
        return concept, found.achieved

    def target(self, target: ObjectiveTarget) -> dict[str, Any]:
        if isinstance(target, MeasureTarget):
            return {
                "measure": self.instrument_concept(target.instrument),
                "detailQuantity": {
                    "value": target.threshold,
                    "comparator": _COMPARATOR_TO_FHIR[target.comparator],
                    "unit": "{score}",
                    "system": _UCUM,
                    "code": "{score}",
                },
            }
        if isinstance(target, GasTarget):
            return {
                "extension": [{"url": _EXT_GAS_WEIGHT, "valueDecimal": target.weight}],
                "measure": _concept(_CS_TARGET, "gas-level", "Goal Attainment Scaling level"),
                "detailInteger": target.level,
            }
        return {
            "measure": {"text": target.behaviour},
            "detailQuantity": {
                "value": target.count,
                "comparator": _COMPARATOR_TO_FHIR[target.comparator],
                "unit": target.unit,
                "system": _UCUM,
                "code": _PERIOD_TO_UCUM[target.period],
            },
        }

    # -- assessments -----------------------------------------------------
    def instrument_concept(self, code: str) -> dict[str, Any]:
        instrument = self.plan.instrument(code)
        codings = []
        if instrument.loinc is not None:
            codings.append(_coding(_LOINC, instrument.loinc))
        codings.append(_coding(_CS_INSTRUMENT, instrument.code, instrument.name))
        return {"coding": codings, "text": instrument.name}

    def observation(self, assessment: Assessment) -> dict[str, Any]:
        instrument = self.plan.instrument(assessment.instrument)
        form = _loinc_form(instrument)
        body: dict[str, Any] = {}
        # The objectives this assessment measures: the core pertainsToGoal extension
        # (FHIR R4 and R5 Observation have no Goal element; focus means another subject).
        goals = [
            o.id
            for o in self.plan.objectives
            if isinstance(o.target, MeasureTarget) and o.target.instrument == instrument.code
        ]
        if goals:
            body["extension"] = [
                {"url": _EXT_PERTAINS_TO_GOAL, "valueReference": self.ref("Goal", oid)}
                for oid in goals
            ]
        body["identifier"] = self.part_identifier(assessment.id)
        body["basedOn"] = [self.ref("CarePlan", self.plan.plan_id)]  # R4 and R5 allow it
        body["status"] = "final"
        body["category"] = [_concept(_CS_OBSERVATION_CATEGORY, "survey")]
        body["code"] = self.instrument_concept(assessment.instrument)
        body["subject"] = self.patient
        body["effectiveDateTime"] = _datetime_text(assessment.administered_at)
        if self.responses and assessment.items is not None:
            body["derivedFrom"] = [self.ref("QuestionnaireResponse", assessment.id)]
        total, computed = _observation_total(self.plan, assessment)
        if total is not None:
            quantity: dict[str, Any] = {}
            if computed:
                quantity["extension"] = [{"url": _EXT_COMPUTED, "valueBoolean": True}]
            quantity.update(
                {"value": total, "unit": "{score}", "system": _UCUM, "code": "{score}"}
            )
            body["valueQuantity"] = quantity
        if assessment.items is not None:
            components = []
            for n, response in enumerate(assessment.items, 1):
                code = _concept(_CS_ITEM, f"item-{n}", f"{instrument.name} item {n}")
                if form is not None:
                    code["coding"].insert(0, _coding(_LOINC, form.items[n - 1]))
                component: dict[str, Any] = {"code": code}
                answer = None if form is None or response is None else form.answer_code(response)
                if response is None:
                    component["dataAbsentReason"] = _concept(_CS_DATA_ABSENT, "unknown")
                elif answer is not None:
                    component["valueCodeableConcept"] = {
                        "coding": [_coding(_LOINC, answer)],
                        "text": str(response),
                    }
                else:
                    component["valueInteger"] = response
                components.append(component)
            body["component"] = components
        return self.resource("Observation", assessment.id, body)

    def questionnaire_response(self, assessment: Assessment) -> dict[str, Any]:
        instrument = self.plan.instrument(assessment.instrument)
        form = _loinc_form(instrument)
        questionnaire = (
            f"http://loinc.org/q/{form.panel}"
            if form is not None
            else f"{FHIR_NAMESPACE}/Questionnaire/{quote(instrument.code, safe='')}"
        )
        identifier = self.part_identifier(assessment.id)[0]
        items = []
        for n, response in enumerate(assessment.items or (), 1):
            item: dict[str, Any] = {
                "linkId": form.items[n - 1] if form is not None else f"item-{n}"
            }
            if response is not None:
                answer = None if form is None else form.answer_code(response)
                item["answer"] = [
                    {"valueCoding": _coding(_LOINC, answer)}
                    if answer is not None
                    else {"valueInteger": response}
                ]
            items.append(item)
        body: dict[str, Any] = {
            # R4 allows one identifier, R5 a list.
            "identifier": [identifier] if self.r5 else identifier,
            "basedOn": [self.ref("CarePlan", self.plan.plan_id)],
            "questionnaire": questionnaire,
            "status": "completed",
            "subject": self.patient,
            "authored": _datetime_text(assessment.administered_at),
            "item": items,
        }
        return self.resource("QuestionnaireResponse", assessment.id, body)


def _loinc_form(instrument: Instrument) -> LoincForm | None:
    """The LOINC item and answer codes of a built-in definition (not a plan's own)."""

    form = LOINC_FORMS.get(instrument.code)
    return form if BUILTIN_INSTRUMENTS.get(instrument.code) is instrument else None


def _observation_total(plan: TreatmentPlan, assessment: Assessment) -> tuple[float | None, bool]:
    """The score an Observation reports: the recorded total, else the computed one (flagged).

    With item responses the computed total is reported even beside a recorded one:
    scoring uses the items, so a recorded total there is never what treatplan scores.
    """
    if assessment.items is None:
        return assessment.total, False
    total = plan_score(plan, assessment).total
    if total is None:  # too many items missing to score
        return None, False
    return (int(total) if float(total).is_integer() else total), True


def _clinician(ref: str) -> dict[str, Any]:
    return {"identifier": {"system": _CLINICIAN_ID, "value": ref}}


def _timing(schedule: Schedule) -> dict[str, Any]:
    """A Timing: the RFC 5545 rule verbatim in ``code.text``, its simple part in ``repeat``."""
    repeat: dict[str, Any] = {"boundsPeriod": {"start": _datetime_text(schedule.start)}}
    parts = dict(
        p.split("=", 1)
        for p in schedule.rrule.removeprefix("RRULE:").upper().split(";")
        if "=" in p
    )
    unit = _RRULE_FREQ_TO_UNIT.get(parts.get("FREQ", ""))
    if unit is not None and set(parts) <= {"FREQ", "INTERVAL", "COUNT"}:
        # INTERVAL and COUNT are whole numbers from 1 (Schedule checks its rule).
        interval = int(parts.get("INTERVAL", "1"))
        repeat.update({"frequency": 1, "period": interval, "periodUnit": unit})
        count = parts.get("COUNT")
        if count is not None:
            repeat["count"] = int(count)
    timing: dict[str, Any] = {"repeat": repeat, "code": {"text": schedule.rrule}}
    if schedule.timezone is not None:
        timing["extension"] = [{"url": _EXT_TIMEZONE, "valueCode": schedule.timezone}]
    return timing


# --------------------------------------------------------------------------- import
def from_fhir(bundle: Any) -> TreatmentPlan:
    """The plan in a Bundle written by :func:`to_fhir` (R4 or R5): the :func:`fhir_subset`.

    Reads the mapped subset back (see the module docs); elements it does not map are
    ignored. Raises :class:`ValidationError` listing problems with their paths in
    the bundle (``$.entry[3].resource.target[0]...``); no value is ever echoed.
    """
    return _Importer(bundle).plan()


class _Importer:
    def __init__(self, bundle: Any) -> None:
        if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
            raise ValidationError.at("$", "a FHIR Bundle (resourceType 'Bundle')")
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise ValidationError.at("$.entry", "a JSON array of entries")
        self.by_url: dict[str, tuple[str, dict[str, Any]]] = {}
        self.by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for i, entry in enumerate(entries):
            path = f"$.entry[{i}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
                raise ValidationError.at(path, "an entry with a resource object")
            resource = dict(entry["resource"])
            kind = resource.get("resourceType")
            if not isinstance(kind, str):
                raise ValidationError.at(f"{path}.resource.resourceType", "a resource type")
            rpath = f"{path}.resource"
            self.by_type.setdefault(kind, []).append((rpath, resource))
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                self.by_url[full_url] = (rpath, resource)
            if isinstance(resource.get("id"), str):
                self.by_url[f"{kind}/{resource['id']}"] = (rpath, resource)
        self.custom: dict[str, Instrument] = {}
        # Where each goal, objective and intervention came from (for error paths).
        self.goal_paths: list[str] = []
        self.objective_paths: list[list[str]] = []
        self.intervention_paths: list[str] = []
        self.plan_id = ""  # set first thing by plan(): part identifiers are qualified by it

    # -- helpers ---------------------------------------------------------
    def one(self, kind: str) -> tuple[str, dict[str, Any]]:
        found = self.by_type.get(kind, [])
        if len(found) != 1:
            raise ValidationError.at("$.entry", f"exactly one {kind} resource")
        return found[0]

    def resolve(self, value: Any, path: str, kind: str) -> tuple[str, dict[str, Any]]:
        ref = _get(value, "reference", path, str)
        target = self.by_url.get(ref)
        if target is None or target[1].get("resourceType") != kind:
            raise ValidationError.at(f"{path}.reference", f"a reference to a {kind} in the bundle")
        return target

    def part_id(self, path: str, resource: dict[str, Any]) -> str:
        value = _identifier_value(resource, path, _PART_ID)
        # ``<plan id>/<part id>``; bundles written before that change carry the part id alone.
        return value.removeprefix(f"{self.plan_id}/")

    # -- the plan --------------------------------------------------------
    def plan(self) -> TreatmentPlan:
        cp_path, care_plan = self.one("CarePlan")
        eoc_path, episode = self.one("EpisodeOfCare")
        for i, ext in _extensions(care_plan, cp_path, _EXT_INSTRUMENT):
            vpath = f"{cp_path}.extension[{i}].valueString"
            text = _get(ext, "valueString", f"{cp_path}.extension[{i}]", str)
            data: Any = _NOT_JSON
            with contextlib.suppress(ValueError, RecursionError):
                data = json.loads(text)
            if data is _NOT_JSON:  # raised outside the handler: no __context__ quoting text
                raise ValidationError.at(vpath, "a treatplan instrument definition in JSON")
            try:
                instrument = from_dict(data, Instrument)
            except ValidationError as exc:
                raise ValidationError(
                    [
                        ValidationIssue(vpath, f"an instrument definition ({p})")
                        for p in exc.problems
                    ]
                ) from None
            self.custom.setdefault(instrument.code, instrument)
        subject = _get(care_plan, "subject", cp_path, Mapping)
        client_ref = _get(
            _get(subject, "identifier", f"{cp_path}.subject", Mapping),
            "value",
            f"{cp_path}.subject.identifier",
            str,
        )
        plan_id = _identifier_value(care_plan, cp_path, _PLAN_ID)
        self.plan_id = plan_id
        if _identifier_value(episode, eoc_path, _PLAN_ID) != plan_id:
            raise ValidationError.at(
                f"{eoc_path}.identifier", "the plan identifier of the CarePlan"
            )
        history = self.history(episode, eoc_path)
        # The statuses are derived from the lifecycle: one that disagrees (or is not a
        # status at all) means the bundle was edited by hand or mangled in transit.
        if _get(episode, "status", eoc_path, str) != _status_after(history):
            raise ValidationError.at(
                f"{eoc_path}.status", "the EpisodeOfCare status of the plan's phase"
            )
        if _get(care_plan, "status", cp_path, str) != _care_plan_status_of(history):
            raise ValidationError.at(
                f"{cp_path}.status", "the CarePlan status of the plan's phase"
            )
        problems = tuple(self.condition(p, r) for p, r in self.by_type.get("Condition", []))
        goals = self.goals(history[-1].target is Phase.CLOSED)
        interventions = self.interventions(care_plan, cp_path)
        observed = sorted(
            ((self.observation(p, r), p) for p, r in self.by_type.get("Observation", [])),
            key=_observed_order,
        )
        try:
            return TreatmentPlan(
                plan_id=plan_id,
                client_ref=client_ref,
                history=history,
                presenting_problems=problems,
                goals=goals,
                interventions=interventions,
                assessments=tuple(a for a, _ in observed),
                custom_instruments=tuple(self.custom.values()),
            )
        except ValidationError as exc:
            parts = {
                "history": [f"{eoc_path}.statusHistory[{i}]" for i in range(len(history))],
                "presenting_problems": [p for p, _ in self.by_type.get("Condition", [])],
                "goals": self.goal_paths,
                "interventions": self.intervention_paths,
                "assessments": [p for _, p in observed],
            }
            sources = _Sources(cp_path, parts, self.objective_paths)
            raise ValidationError(
                [sources.issue(issue) for issue in exc.problems],
                "the bundle does not make a valid plan",
            ) from None

    def history(self, episode: dict[str, Any], path: str) -> tuple[Transition, ...]:
        entries = _get(episode, "statusHistory", path, list)
        records: list[Transition] = []
        for i, entry in enumerate(entries):
            epath = f"{path}.statusHistory[{i}]"
            if not isinstance(entry, Mapping):
                raise ValidationError.at(epath, "a status history entry")
            found = list(_extensions(entry, epath, _EXT_TRANSITION))
            if len(found) != 1:
                raise ValidationError.at(
                    f"{epath}.extension", "one lifecycle-transition extension"
                )
            xi, ext = found[0]
            xpath = f"{epath}.extension[{xi}]"
            parts = _sub_extensions(ext, xpath)
            event_coding = _required(parts, "event", xpath)
            event = _code_of(event_coding[1], event_coding[0], _CS_EVENT, "valueCoding")
            spec = TRANSITIONS.get(event)
            if spec is None:
                raise ValidationError.at(
                    f"{event_coding[0]}.valueCoding.code", "a lifecycle event"
                )
            by_path, by_ext = _required(parts, "by", xpath)
            by = _get(by_ext, "valueString", by_path, str)
            reason = None
            if "reason" in parts:
                reason = _get(parts["reason"][1], "valueString", parts["reason"][0], str)
            period = _get(entry, "period", epath, Mapping)
            at = _datetime(_get(period, "start", f"{epath}.period", str), f"{epath}.period.start")
            source = records[-1].target if records else None
            records.append(
                _build(
                    epath,
                    Transition,
                    event=event,
                    source=source,
                    target=spec.target,
                    at=at,
                    by=by,
                    reason=reason,
                    outcome=spec.outcome,
                )
            )
        if not records:
            raise ValidationError.at(f"{path}.statusHistory", "at least one entry (the referral)")
        for i in range(len(records)):
            status = _get(entries[i], "status", f"{path}.statusHistory[{i}]", str)
            if status != _status_after(records[: i + 1]):
                raise ValidationError.at(
                    f"{path}.statusHistory[{i}].status", "the EpisodeOfCare status of the phase"
                )
        return tuple(records)

    def condition(self, path: str, resource: dict[str, Any]) -> PresentingProblem:
        code = _get(resource, "code", path, Mapping)
        description = _get(code, "text", f"{path}.code", str)
        diagnosis = None
        for i, coding in enumerate(_optional(code, "coding", f"{path}.code", list) or []):
            cpath = f"{path}.code.coding[{i}]"
            system = _SYSTEM_OF_URI.get(_get(coding, "system", cpath, str))
            if system is not None and diagnosis is None:
                diagnosis = _build(
                    cpath, Diagnosis, code=_get(coding, "code", cpath, str), system=system
                )
        definitions = []
        for i, evidence in enumerate(_optional(resource, "evidence", path, list) or []):
            epath = f"{path}.evidence[{i}]"
            if isinstance(evidence, Mapping) and "concept" in evidence:  # R5 CodeableReference
                definitions.append(
                    _get(
                        _get(evidence, "concept", epath, Mapping), "text", f"{epath}.concept", str
                    )
                )
            else:  # R4: evidence.code
                for j, concept in enumerate(_get(evidence, "code", epath, list)):
                    definitions.append(_get(concept, "text", f"{epath}.code[{j}]", str))
        return _build(
            path,
            PresentingProblem,
            id=self.part_id(path, resource),
            description=description,
            behavioural_definitions=tuple(definitions),
            diagnosis=diagnosis,
        )

    def goals(self, closed: bool) -> tuple[Goal, ...]:
        goals = []
        for path, resource in self.by_type.get("Goal", []):
            if _goal_level(resource, path) != "long-term-goal":
                continue
            domain_code = None
            for i, category in enumerate(_get(resource, "category", path, list)):
                for j, coding in enumerate(
                    _optional(category, "coding", f"{path}.category[{i}]", list) or []
                ):
                    if isinstance(coding, Mapping) and coding.get("system") == _CS_GOAL_DOMAIN:
                        domain_code = _get(
                            coding, "code", f"{path}.category[{i}].coding[{j}]", str
                        )
            domain = _enum(GoalDomain, domain_code, f"{path}.category")
            objectives = []
            objective_paths = []
            for i, ext in _extensions(resource, path, _EXT_GOAL_RELATIONSHIP):
                xpath = f"{path}.extension[{i}]"
                parts = _sub_extensions(ext, xpath)
                kind_path, kind = _required(parts, "type", xpath)
                kind_concept = _get(kind, "valueCodeableConcept", kind_path, Mapping)
                if _first_code(kind_concept, _CS_GOAL_RELATIONSHIP) != "milestone":
                    continue
                target_path, target = _required(parts, "target", xpath)
                opath, objective = self.resolve(
                    _get(target, "valueReference", target_path, Mapping),
                    f"{target_path}.valueReference",
                    "Goal",
                )
                objectives.append(self.objective(opath, objective))
                objective_paths.append(opath)
            addresses = [
                self.part_id(*self.resolve(ref, f"{path}.addresses[{i}]", "Condition"))
                for i, ref in enumerate(_optional(resource, "addresses", path, list) or [])
            ]
            goal = _build(
                path,
                Goal,
                id=self.part_id(path, resource),
                statement=_get(
                    _get(resource, "description", path, Mapping),
                    "text",
                    f"{path}.description",
                    str,
                ),
                domain=domain,
                objectives=tuple(objectives),
                addresses=tuple(addresses),
            )
            # Derived on export (see _long_term_goal_status): it must agree.
            status = _get(resource, "lifecycleStatus", path, str)
            if status != _long_term_goal_status_of(goal, closed):
                raise ValidationError.at(
                    f"{path}.lifecycleStatus", "the status of the goal's objectives and phase"
                )
            goals.append(goal)
            self.goal_paths.append(path)
            self.objective_paths.append(objective_paths)
        return tuple(goals)

    def objective(self, path: str, resource: dict[str, Any]) -> Objective:
        if _goal_level(resource, path) != "short-term-objective":
            raise ValidationError.at(f"{path}.category", "the short-term-objective goal level")
        achievement = None
        if "achievementStatus" in resource:
            concept = _get(resource, "achievementStatus", path, Mapping)
            code = _first_code(concept, _CS_ACHIEVEMENT)
            achievement = _enum(AchievementStatus, code, f"{path}.achievementStatus")
            cpath = f"{path}.achievementStatus"
            derived = _extensions(concept, cpath, _EXT_DERIVED)
            if any(isinstance(e, Mapping) and e.get("valueBoolean") is True for _, e in derived):
                # Exported from the plan's data, not recorded by a clinician: the
                # imported plan derives it again from the same data, and keeps the
                # progress note recorded beside it, if any.
                achievement = None
                for i, ext in _extensions(concept, cpath, _EXT_RECORDED):
                    epath = f"{cpath}.extension[{i}].valueCode"
                    code = _get(ext, "valueCode", f"{cpath}.extension[{i}]", str)
                    achievement = _enum(AchievementStatus, code, epath)
        targets = _get(resource, "target", path, list)
        if len(targets) != 1 or not isinstance(targets[0], Mapping):
            raise ValidationError.at(f"{path}.target", "exactly one goal target")
        tpath = f"{path}.target[0]"
        due = _date(_get(targets[0], "dueDate", tpath, str), f"{tpath}.dueDate")
        return _build(
            path,
            Objective,
            id=self.part_id(path, resource),
            description=_get(
                _get(resource, "description", path, Mapping), "text", f"{path}.description", str
            ),
            target=self.target(targets[0], tpath),
            target_date=due,
            status=_enum(
                ObjectiveStatus,
                _get(resource, "lifecycleStatus", path, str),
                f"{path}.lifecycleStatus",
            ),
            achievement=achievement,
        )

    def target(self, target: Mapping[str, Any], path: str) -> ObjectiveTarget:
        measure = _get(target, "measure", path, Mapping)
        if _first_code(measure, _CS_TARGET) == "gas-level":
            weight = 1.0
            for i, ext in _extensions(target, path, _EXT_GAS_WEIGHT):
                weight = _get(ext, "valueDecimal", f"{path}.extension[{i}]", float)
            level = _get(target, "detailInteger", path, int)
            return _build(path, GasTarget, level=level, weight=weight)
        quantity = _get(target, "detailQuantity", path, Mapping)
        qpath = f"{path}.detailQuantity"
        comparator = _COMPARATOR_FROM_FHIR.get(_get(quantity, "comparator", qpath, str))
        if comparator is None:
            raise ValidationError.at(f"{qpath}.comparator", "one of '<', '<=', '>=', '>'")
        value = _get(quantity, "value", qpath, float)
        instrument = self.instrument_code(measure, f"{path}.measure", required=False)
        if instrument is not None:
            return _build(
                path, MeasureTarget, instrument=instrument, comparator=comparator, threshold=value
            )
        period = _PERIOD_FROM_UCUM.get(_get(quantity, "code", qpath, str))
        if period is None:
            raise ValidationError.at(f"{qpath}.code", "one of the UCUM units /d, /wk, /mo")
        return _build(
            path,
            BehaviourTarget,
            behaviour=_get(measure, "text", f"{path}.measure", str),
            comparator=comparator,
            count=value,
            unit=_get(quantity, "unit", qpath, str),
            period=period,
        )

    def instrument_code(
        self, concept: Mapping[str, Any], path: str, *, required: bool
    ) -> str | None:
        local = _first_code(concept, _CS_INSTRUMENT)
        if local is not None:
            return local
        loinc = _first_code(concept, _LOINC)
        if loinc is not None:
            for instrument in (*self.custom.values(), *BUILTIN_INSTRUMENTS.values()):
                if instrument.loinc == loinc:
                    return instrument.code
        if required:
            raise ValidationError.at(f"{path}.coding", "an instrument code or a known LOINC code")
        return None

    def interventions(self, care_plan: dict[str, Any], path: str) -> tuple[Intervention, ...]:
        out = []
        for i, activity in enumerate(_optional(care_plan, "activity", path, list) or []):
            apath = f"{path}.activity[{i}]"
            if not isinstance(activity, Mapping):
                raise ValidationError.at(apath, "an activity object")
            if "detail" in activity:  # R4
                detail = _get(activity, "detail", apath, Mapping)
                dpath = f"{apath}.detail"
                out.append(
                    self.intervention(
                        dpath,
                        detail,
                        ident=_get(activity, "id", apath, str),
                        code=_get(detail, "code", dpath, Mapping),
                        code_path=f"{dpath}.code",
                        serves=[
                            (f"{dpath}.goal[{j}]", ref)
                            for j, ref in enumerate(_optional(detail, "goal", dpath, list) or [])
                        ],
                        timing_key="scheduledTiming",
                    )
                )
            else:  # R5
                rpath, request = self.resolve(
                    _get(activity, "plannedActivityReference", apath, Mapping),
                    f"{apath}.plannedActivityReference",
                    "ServiceRequest",
                )
                code = _get(
                    _get(request, "code", rpath, Mapping), "concept", f"{rpath}.code", Mapping
                )
                out.append(
                    self.intervention(
                        rpath,
                        request,
                        ident=self.part_id(rpath, request),
                        code=code,
                        code_path=f"{rpath}.code.concept",
                        serves=[
                            (
                                f"{rpath}.extension[{j}].valueReference",
                                _get(ext, "valueReference", f"{rpath}.extension[{j}]", Mapping),
                            )
                            for j, ext in _extensions(request, rpath, _EXT_PERTAINS_TO_GOAL)
                        ],
                        timing_key="occurrenceTiming",
                    )
                )
        return tuple(out)

    def intervention(
        self,
        path: str,
        element: Mapping[str, Any],
        *,
        ident: str,
        code: Mapping[str, Any],
        code_path: str,
        serves: list[tuple[str, Any]],
        timing_key: str,
    ) -> Intervention:
        self.intervention_paths.append(path)
        modality = _enum(Modality, _first_code(code, _CS_MODALITY), f"{code_path}.coding")
        fmt = DeliveryFormat.INDIVIDUAL
        for j, ext in _extensions(element, path, _EXT_FORMAT):
            fmt = _enum(
                DeliveryFormat,
                _get(ext, "valueCode", f"{path}.extension[{j}]", str),
                f"{path}.extension[{j}].valueCode",
            )
        schedule = None
        if timing_key in element:
            tpath = f"{path}.{timing_key}"
            timing = _get(element, timing_key, path, Mapping)
            rrule = _get(_get(timing, "code", tpath, Mapping), "text", f"{tpath}.code", str)
            bounds = _get(
                _get(timing, "repeat", tpath, Mapping), "boundsPeriod", f"{tpath}.repeat", Mapping
            )
            bpath = f"{tpath}.repeat.boundsPeriod"
            start = _datetime(_get(bounds, "start", bpath, str), f"{bpath}.start")
            zone = None
            for j, ext in _extensions(timing, tpath, _EXT_TIMEZONE):
                zone = _get(ext, "valueCode", f"{tpath}.extension[{j}]", str)
            schedule = _build(tpath, Schedule, start=start, rrule=rrule, timezone=zone)
        delivered_by = None
        performers = _optional(element, "performer", path, list) or []
        if performers:
            ppath = f"{path}.performer[0]"
            identifier = _get(performers[0], "identifier", ppath, Mapping)
            delivered_by = _get(identifier, "value", f"{ppath}.identifier", str)
        return _build(
            path,
            Intervention,
            id=ident,
            modality=modality,
            technique=_get(code, "text", code_path, str),
            format=fmt,
            serves=tuple(self.part_id(*self.resolve(ref, p, "Goal")) for p, ref in serves),
            schedule=schedule,
            delivered_by=delivered_by,
        )

    def observation(self, path: str, resource: dict[str, Any]) -> Assessment:
        instrument = self.instrument_code(
            _get(resource, "code", path, Mapping), f"{path}.code", required=True
        )
        assert instrument is not None  # required=True raises instead
        definition = self.custom.get(instrument) or _builtin_definition(instrument, path)
        answers = form.answers if (form := _loinc_form(definition)) is not None else {}
        at = _datetime(_get(resource, "effectiveDateTime", path, str), f"{path}.effectiveDateTime")
        total = None
        total_path = f"{path}.valueQuantity.value"
        if "valueQuantity" in resource:
            quantity = _get(resource, "valueQuantity", path, Mapping)
            computed = any(
                isinstance(e, Mapping) and e.get("valueBoolean") is True
                for _, e in _extensions(quantity, f"{path}.valueQuantity", _EXT_COMPUTED)
            )
            total = _get(quantity, "value", f"{path}.valueQuantity", float)
            if not is_number(total):
                raise ValidationError.at(total_path, "a finite number")
            if not definition.total_min <= total <= definition.total_max:
                raise ValidationError.at(
                    total_path,
                    f"a number from {definition.total_min} to {definition.total_max}",
                )
            if computed:
                total = None  # derived from the items, which come back instead
        items: tuple[int | None, ...] | None = None
        if "component" in resource:
            values: list[int | None] = []
            for i, component in enumerate(_get(resource, "component", path, list)):
                cpath = f"{path}.component[{i}]"
                if isinstance(component, Mapping) and "dataAbsentReason" in component:
                    values.append(None)
                elif isinstance(component, Mapping) and "valueCodeableConcept" in component:
                    concept = _get(component, "valueCodeableConcept", cpath, Mapping)
                    code = _first_code(concept, _LOINC)
                    if code is None or code not in answers:
                        raise ValidationError.at(
                            f"{cpath}.valueCodeableConcept.coding", "a LOINC answer code"
                        )
                    values.append(answers[code])
                else:
                    values.append(_get(component, "valueInteger", cpath, int))
            items = tuple(values)
        assessment = _build(
            path,
            Assessment,
            id=self.part_id(path, resource),
            instrument=instrument,
            administered_at=at,
            items=items,
            total=total,
        )
        for problem in assessment.problems_against(definition):
            where = problem.path.replace("$.items", f"{path}.component").replace(
                "$.total", total_path
            )
            # (a total that disagrees with complete items is one of these problems)
            raise ValidationError.at(where, problem.expected)
        return assessment


# --------------------------------------------------------------------------- reading helpers
_KIND_NAMES: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    list: "a JSON array",
    Mapping: "a JSON object",
}


def _get(obj: Any, key: str, path: str, kind: Any) -> Any:
    if not isinstance(obj, Mapping):
        raise ValidationError.at(path, "a JSON object")
    if key not in obj:
        raise ValidationError.at(f"{path}.{key}", f"a required element ({_KIND_NAMES[kind]})")
    return _check(obj[key], f"{path}.{key}", kind)


def _optional(obj: Any, key: str, path: str, kind: Any) -> Any:
    if not isinstance(obj, Mapping):
        raise ValidationError.at(path, "a JSON object")
    if key not in obj:
        return None
    return _check(obj[key], f"{path}.{key}", kind)


def _check(value: Any, path: str, kind: Any) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise ValidationError.at(path, _KIND_NAMES[kind])
    if kind is float:
        if isinstance(value, int | float):
            return value
        raise ValidationError.at(path, "a number")
    if not isinstance(value, kind):
        raise ValidationError.at(path, _KIND_NAMES[kind])
    return value


def _extensions(
    obj: Mapping[str, Any], path: str, url: str
) -> list[tuple[int, Mapping[str, Any]]]:
    """The extensions of ``obj`` with ``url``, with their indexes."""
    found = []
    for i, ext in enumerate(_optional(obj, "extension", path, list) or []):
        if not isinstance(ext, Mapping):
            raise ValidationError.at(f"{path}.extension[{i}]", "an extension object")
        if ext.get("url") == url:
            found.append((i, ext))
    return found


def _sub_extensions(ext: Mapping[str, Any], path: str) -> dict[str, tuple[str, Mapping[str, Any]]]:
    parts: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for i, sub in enumerate(_get(ext, "extension", path, list)):
        spath = f"{path}.extension[{i}]"
        url = _get(sub, "url", spath, str)
        parts.setdefault(url, (spath, sub))
    return parts


def _required(
    parts: dict[str, tuple[str, Mapping[str, Any]]], name: str, path: str
) -> tuple[str, Mapping[str, Any]]:
    if name not in parts:
        raise ValidationError.at(f"{path}.extension", f"a {name} sub-extension")
    return parts[name]


def _code_of(ext: Mapping[str, Any], path: str, system: str, key: str) -> str:
    coding = _get(ext, key, path, Mapping)
    cpath = f"{path}.{key}"
    if _get(coding, "system", cpath, str) != system:
        raise ValidationError.at(f"{cpath}.system", f"the code system {system}")
    return str(_get(coding, "code", cpath, str))


def _first_code(concept: Mapping[str, Any], system: str) -> str | None:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, Mapping) and coding.get("system") == system:
            code = coding.get("code")
            if isinstance(code, str):
                return code
    return None


def _goal_level(resource: Mapping[str, Any], path: str) -> str | None:
    for category in _optional(resource, "category", path, list) or []:
        code = _first_code(category, _CS_GOAL_LEVEL)
        if code is not None:
            return code
    return None


def _identifier_value(resource: Mapping[str, Any], path: str, system: str) -> str:
    for identifier in _optional(resource, "identifier", path, list) or []:
        if isinstance(identifier, Mapping) and identifier.get("system") == system:
            value = identifier.get("value")
            if isinstance(value, str):
                return value
    raise ValidationError.at(f"{path}.identifier", f"an identifier with system {system}")


E = TypeVar("E", bound=Any)


def _enum(kind: type[E], value: Any, path: str) -> E:
    member: E | None = None
    with contextlib.suppress(ValueError, TypeError):
        member = kind(value)
    if member is None:  # raised outside the handler: no __context__ quoting the value
        choices = ", ".join(repr(m.value) for m in kind)
        raise ValidationError.at(path, f"a code, one of {choices}")
    return member


def _datetime(text: str, path: str) -> datetime:
    # FHIR dateTime: a time needs an offset; treatplan keeps only full date-times.
    try:
        when = datetime.fromisoformat(text) if 10 < len(text) <= 40 else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise ValidationError.at(path, "a FHIR dateTime with a time and a UTC offset")
    return when


def _date(text: str, path: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValidationError.at(path, "a FHIR date, YYYY-MM-DD")


def _builtin_definition(code: str, path: str) -> Instrument:
    if code not in BUILTIN_INSTRUMENTS:
        raise ValidationError.at(f"{path}.code", "a built-in or custom instrument")
    return BUILTIN_INSTRUMENTS[code]


def _build(path: str, cls: Callable[..., T], **kwargs: Any) -> T:
    """Construct a plan part; its validation problems are located at ``path`` in the bundle."""
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        raise exc.prefixed(path) from None
