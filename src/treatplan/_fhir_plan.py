"""Plans from another system's CarePlan, Goals and Conditions (+ EpisodeOfCare).

:func:`plan_from_fhir` builds a plan in phase ``referred`` from the parts FHIR can
carry faithfully (the table in docs/concepts/fhir.md, "Reading another system's
plan") and reports every element it could not carry. The lifecycle is not guessed
from ``CarePlan.status``: the clinician agrees the plan with treatplan's events.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from ._errors import ValidationError, ValidationIssue
from ._fhir import _Sources
from ._fhir_import import (
    FhirImportNote,
    FhirImportReport,
    _Found,
    _loinc_codes,
    _Refusal,
    measures_for,
    resources_of,
    subject_names,
    when,
)
from ._instruments import BUILTIN_INSTRUMENTS
from ._model import (
    CodeSystem,
    Comparator,
    Diagnosis,
    Goal,
    GoalDomain,
    MeasureTarget,
    Objective,
    ObjectiveStatus,
    PresentingProblem,
    TreatmentPlan,
)
from ._validation import is_blank, is_number

__all__ = ["IMPORTED_BY", "plan_from_fhir"]

#: Who the referral record of an imported plan names (``Transition.by``).
IMPORTED_BY = "fhir-import"

_REF = re.compile(r"[A-Za-z0-9._:/#-]{1,128}")
_PATIENT = re.compile(r"Patient/[A-Za-z0-9\-.]{1,64}")
_CLIENT_ID = "http://treatplan.dev/fhir/identifier/client"
_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": CodeSystem.ICD_10_CM,
    "http://hl7.org/fhir/sid/icd-10": CodeSystem.ICD_10,
    "http://id.who.int/icd/release/11/mms": CodeSystem.ICD_11,
    "http://snomed.info/sct": CodeSystem.SNOMED_CT,
}
_COMPARATORS = {
    "<": Comparator.BELOW,
    "<=": Comparator.AT_MOST,
    ">=": Comparator.AT_LEAST,
    ">": Comparator.ABOVE,
}
#: Condition.verificationStatus codes (condition-ver-status) that make no problem.
_NOT_A_PROBLEM = frozenset({"entered-in-error", "refuted"})
_PLAN_KINDS = frozenset({"CarePlan", "EpisodeOfCare", "Condition", "Goal"})
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "http://treatplan.dev/fhir/import-plan")


def plan_from_fhir(source: Any) -> tuple[TreatmentPlan, FhirImportReport]:
    """A plan from another system's CarePlan with its Goals and Conditions.

    ``source`` is a Bundle (any type) or a JSON array of resources holding exactly
    one CarePlan. The plan is in phase ``referred`` at the episode's start; its
    measures (Observations, QuestionnaireResponses) are then added as by
    :func:`import_measures`, those whose subject names the patient as the CarePlan
    does. Returns the plan and a report whose ``skipped`` lists
    every element not carried. Raises :class:`~treatplan.ValidationError`, naming a
    path, when an essential is missing: the CarePlan, an opaque subject reference,
    a plan identifier, or a start time.
    """
    notes: list[FhirImportNote] = []
    found = resources_of(source, notes)
    by_ref: dict[str, _Found] = {}
    for f in found:
        if f.rid is not None:
            by_ref[f"{f.kind}/{f.rid}"] = f
    if isinstance(source, Mapping) and source.get("resourceType") == "Bundle":
        for i, entry in enumerate(source.get("entry") or []):  # a list: resources_of checked
            url = entry.get("fullUrl") if isinstance(entry, Mapping) else None
            hit = next((f for f in found if f.path == f"$.entry[{i}].resource"), None)
            if isinstance(url, str) and hit is not None:
                by_ref[url] = hit
    plans = [f for f in found if f.kind == "CarePlan"]
    if len(plans) != 1:
        raise ValidationError.at("$", "exactly one CarePlan")
    care_plan = plans[0]
    return _Builder(care_plan, found, by_ref, notes).build(source)


def _resolve(by_ref: Mapping[str, _Found], ref: Any) -> _Found | None:
    text = ref.get("reference") if isinstance(ref, Mapping) else None
    if not isinstance(text, str):
        return None
    return by_ref.get(text) or by_ref.get("/".join(text.rstrip("/").split("/")[-2:]))


def _array(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """``obj[key]``, a JSON array, or [] when absent; another type is refused at its path."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError.at(f"{path}.{key}", "a JSON array")
    return value


T = TypeVar("T")


def _made(
    fields: Mapping[str, str], path: str, make: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """``make(*args, **kwargs)``, its validation problems named at the input's paths:
    ``fields`` maps a model path to the element it came from, anything else is at ``path``."""
    try:
        return make(*args, **kwargs)
    except ValidationError as exc:
        raise ValidationError(
            [ValidationIssue(fields.get(p.path, path), p.expected) for p in exc.problems],
            "the CarePlan does not make a valid plan",
        ) from None


def _text(concept: Any, path: str) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    text = concept.get("text")
    if isinstance(text, str) and not is_blank(text):
        return text
    for coding in _array(concept, "coding", path):
        if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    return None


class _Builder:
    def __init__(
        self,
        care_plan: _Found,
        found: list[_Found],
        by_ref: dict[str, _Found],
        notes: list[FhirImportNote],
    ) -> None:
        self.cp = care_plan
        self.found = found
        self.by_ref = by_ref
        self.refused = notes
        self.skipped: list[FhirImportNote] = []
        self.used: set[int] = {care_plan.order}
        # Where each problem, goal and objective came from (for error paths).
        self.problem_paths: list[str] = []
        self.goal_paths: list[str] = []
        self.objective_paths: list[list[str]] = []
        self.start_path = care_plan.path

    def skip(self, found: _Found, path: str, reason: str) -> None:
        self.skipped.append(FhirImportNote(found.kind, found.rid, path, reason))

    def part_id(self, found: _Found) -> str:
        if found.rid is not None:
            return f"{found.kind}/{found.rid}"
        return f"{found.kind}-{uuid.uuid5(_UUID_NAMESPACE, found.path)}"

    def build(self, source: Any) -> tuple[TreatmentPlan, FhirImportReport]:
        cp, path = self.cp.resource, self.cp.path
        client_ref = self.client_ref(cp.get("subject"), f"{path}.subject")
        plan_id = None
        for ident in _array(cp, "identifier", path):
            value = ident.get("value") if isinstance(ident, Mapping) else None
            if isinstance(value, str) and _REF.fullmatch(value):
                plan_id = value
                break
        if plan_id is None and self.cp.rid is not None:
            plan_id = f"CarePlan/{self.cp.rid}"
        if plan_id is None:
            raise ValidationError.at(f"{path}.identifier", "an identifier usable as a plan id")
        start = self.start(cp, path)
        problems = self.conditions(cp, path)
        goals = self.goals(cp, path, {p.id for p in problems})
        for i, _ in enumerate(_array(cp, "activity", path)):
            self.skip(
                self.cp,
                f"{path}.activity[{i}]",
                "not carried: an activity has no treatplan modality; add interventions",
            )
        self.skip(
            self.cp, f"{path}.status", "not carried: the plan starts at referral (phase referred)"
        )
        for f in self.found:
            if f.order not in self.used and f.kind not in ("Observation", "QuestionnaireResponse"):
                self.skip(f, f.path, "not carried: not a part of the CarePlan")
        try:
            plan = TreatmentPlan.refer(
                plan_id, client_ref, start, IMPORTED_BY, presenting_problems=problems, goals=goals
            )
        except ValidationError as exc:  # at the input's paths, not the plan's
            sources = _Sources(
                path,
                {"presenting_problems": self.problem_paths, "goals": self.goal_paths},
                self.objective_paths,
            )
            raise ValidationError(
                [
                    ValidationIssue(self.start_path, p.expected)
                    if p.path == "$.at" or p.path.startswith("$.history")
                    else sources.issue(p)
                    for p in exc.problems
                ],
                "the CarePlan does not make a valid plan",
            ) from None
        # Measures are the client's when they name the patient as the CarePlan does.
        plan, measures = measures_for(plan, source, subject_names(cp.get("subject")))
        return plan, FhirImportReport(
            imported=(
                plan.plan_id,
                *(p.id for p in problems),
                *(g.id for g in goals),
                *(o.id for g in goals for o in g.objectives),
                *measures.imported,
            ),
            skipped=(
                *self.skipped,
                *(n for n in measures.skipped if n.resource_type not in _PLAN_KINDS),
            ),
            refused=(*self.refused, *measures.refused),
        )

    def client_ref(self, subject: Any, path: str) -> str:
        """treatplan's own opaque client identifier, else a plain ``Patient/<id>``.

        Another system's identifier (a national patient number, an MRN) is a
        personal identifier, never an opaque reference: it is not carried."""
        if isinstance(subject, Mapping):
            ident = subject.get("identifier")
            system = ident.get("system") if isinstance(ident, Mapping) else None
            value = ident.get("value") if isinstance(ident, Mapping) else None
            if system == _CLIENT_ID and isinstance(value, str) and _REF.fullmatch(value):
                return value
            if ident is not None:
                self.skip(
                    self.cp,
                    f"{path}.identifier",
                    "not carried: only treatplan's client identifier (an opaque value) "
                    "is a client reference",
                )
            ref = subject.get("reference")
            if isinstance(ref, str) and _PATIENT.fullmatch(ref):
                return ref
        raise ValidationError.at(
            path,
            "a subject naming the client opaquely: treatplan's client identifier or a "
            "Patient/<id> reference (another system's identifier is not carried)",
        )

    def start(self, cp: Mapping[str, Any], path: str) -> Any:
        candidates: list[tuple[str, Any]] = []
        for f in self.found:
            if f.kind == "EpisodeOfCare":
                self.used.add(f.order)
                period = f.resource.get("period")
                if isinstance(period, Mapping) and "start" in period:
                    candidates.append((f"{f.path}.period.start", period["start"]))
        period = cp.get("period")
        if isinstance(period, Mapping) and "start" in period:
            candidates.append((f"{path}.period.start", period["start"]))
        if "created" in cp:
            candidates.append((f"{path}.created", cp["created"]))
        if not candidates:
            raise ValidationError.at(
                path, "a start time: EpisodeOfCare.period.start, period.start or created"
            )
        where, text = candidates[0]
        self.start_path = where
        try:
            return when(text, where)
        except _Refusal as refusal:
            raise ValidationError.at(refusal.path, refusal.reason) from None

    def conditions(self, cp: Mapping[str, Any], path: str) -> list[PresentingProblem]:
        out = []
        for i, ref in enumerate(_array(cp, "addresses", path)):
            rpath = f"{path}.addresses[{i}]"
            inner = ref.get("reference") if isinstance(ref, Mapping) else None
            # R5 CarePlan.addresses is a CodeableReference: the Reference is inside.
            target = _resolve(self.by_ref, inner if isinstance(inner, Mapping) else ref)
            if target is None or target.kind != "Condition":
                self.skip(self.cp, rpath, "not carried: no Condition in the input")
                continue
            self.used.add(target.order)
            if self.not_a_problem(target):
                continue
            code = target.resource.get("code")
            description = _text(code, f"{target.path}.code")
            if description is None:
                self.skip(target, f"{target.path}.code", "not carried: expected code.text")
                continue
            assert isinstance(code, Mapping)  # _text found a description in it
            diagnosis = None
            for coding in _array(code, "coding", f"{target.path}.code"):
                system = (
                    _SYSTEMS.get(str(coding.get("system")))
                    if isinstance(coding, Mapping)
                    else None
                )
                value = coding.get("code") if system is not None else None
                if system is not None and isinstance(value, str) and _REF.fullmatch(value):
                    diagnosis = Diagnosis(value, system)
                    break
            out.append(
                _made(
                    {},
                    f"{target.path}.code",  # every field of a problem comes from its code
                    PresentingProblem,
                    self.part_id(target),
                    description,
                    diagnosis=diagnosis,
                )
            )
            self.problem_paths.append(target.path)
        return out

    def not_a_problem(self, condition: _Found) -> bool:
        """A Condition recorded in error, or ruled out, is no presenting problem."""
        vpath = f"{condition.path}.verificationStatus"
        status = condition.resource.get("verificationStatus")
        if not isinstance(status, Mapping):
            return False
        for i, coding in enumerate(_array(status, "coding", vpath)):
            code = coding.get("code") if isinstance(coding, Mapping) else None
            if isinstance(code, str) and code in _NOT_A_PROBLEM:
                self.skip(
                    condition,
                    f"{vpath}.coding[{i}]",
                    f"not carried: the Condition's verification status is {code}",
                )
                return True
        return False

    def goals(self, cp: Mapping[str, Any], path: str, problems: set[str]) -> list[Goal]:
        out = []
        for i, ref in enumerate(_array(cp, "goal", path)):
            target = _resolve(self.by_ref, ref)
            if target is None or target.kind != "Goal":
                self.skip(self.cp, f"{path}.goal[{i}]", "not carried: no Goal in the input")
                continue
            self.used.add(target.order)
            goal, gpath = target.resource, target.path
            statement = _text(goal.get("description"), f"{gpath}.description")
            if statement is None:
                self.skip(target, f"{gpath}.description", "not carried: expected a description")
                continue
            objectives = []
            objective_paths = []
            for j, tgt in enumerate(_array(goal, "target", gpath)):
                objective = self.objective(target, tgt, f"{gpath}.target[{j}]", statement, j)
                if objective is not None:
                    objectives.append(objective)
                    objective_paths.append(f"{gpath}.target[{j}]")
            addresses = []
            for j, aref in enumerate(_array(goal, "addresses", gpath)):
                hit = _resolve(self.by_ref, aref)
                if hit is not None and self.part_id(hit) in problems:
                    addresses.append(self.part_id(hit))
                else:
                    self.skip(target, f"{gpath}.addresses[{j}]", "not carried: no such problem")
            out.append(
                _made(
                    {"$.statement": f"{gpath}.description"},
                    gpath,
                    Goal,
                    self.part_id(target),
                    statement,
                    GoalDomain.OTHER,
                    objectives=objectives,
                    addresses=addresses,
                )
            )
            self.goal_paths.append(gpath)
            self.objective_paths.append(objective_paths)
        return out

    def objective(
        self, goal: _Found, target: Any, path: str, statement: str, index: int
    ) -> Objective | None:
        if not isinstance(target, Mapping):
            self.skip(goal, path, "not carried: expected a target object")
            return None
        instrument = None
        for code in _loinc_codes(target.get("measure")):
            instrument = next(
                (i.code for i in BUILTIN_INSTRUMENTS.values() if i.loinc == code), None
            )
            if instrument is not None:
                break
        quantity = target.get("detailQuantity")
        comparator = (
            _COMPARATORS.get(str(quantity.get("comparator")))
            if isinstance(quantity, Mapping)
            else None
        )
        value = quantity.get("value") if isinstance(quantity, Mapping) else None
        due = target.get("dueDate")
        if (
            instrument is None
            or comparator is None
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not isinstance(due, str)
        ):
            self.skip(
                goal,
                path,
                "not carried: expected a LOINC instrument measure, detailQuantity with a "
                "comparator, and a dueDate",
            )
            return None
        if not is_number(value):  # 10**400 or 1e300: refused here, not as $.threshold
            raise ValidationError.at(f"{path}.detailQuantity.value", "a finite number")
        try:
            due_date = date.fromisoformat(due)
        except ValueError:
            self.skip(goal, f"{path}.dueDate", "not carried: expected a date")
            return None
        status = goal.resource.get("lifecycleStatus")
        if status is not None and not isinstance(status, str):
            raise ValidationError.at(f"{goal.path}.lifecycleStatus", "a status code (a string)")
        return _made(
            {"$.description": f"{goal.path}.description"},
            path,
            Objective,
            f"{self.part_id(goal)}#target-{index + 1}",
            statement,
            MeasureTarget(instrument, comparator, float(value)),
            due_date,
            status=ObjectiveStatus(status)
            if status in set(ObjectiveStatus)
            else ObjectiveStatus.ACTIVE,
        )
