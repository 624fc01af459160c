"""Measures from other systems' FHIR (R4, R4B, R5) into an existing plan.

:func:`import_measures` reads LOINC-coded Observations and QuestionnaireResponses
of the built-in instruments that have LOINC codes (and custom instruments that
declare one) and records them with :func:`~treatplan.record_assessment`, so the
plan it returns is valid. Rules (docs/concepts/fhir.md, "Reading measures"):

* an Observation is a measure when its ``code`` carries the LOINC total or panel
  code of an instrument; the total is ``valueInteger`` or ``valueQuantity.value``;
  items come from ``component`` or from ``hasMember`` Observations in the same
  input, coded with the LOINC item codes (values: ``valueInteger``, a LOINC answer
  code, or ``valueQuantity``);
* a QuestionnaireResponse is a measure when its items' linkIds (last ``/`` part)
  are LOINC item or total codes of an instrument; answers as above;
* a date-only time becomes 12:00 UTC of that day (that instant falls on the same
  calendar date at every offset from -12:00 to +11:59); a period maps to its
  ``end``, else its ``start``; a year or month alone is refused;
* the same instrument at the same instant as an assessment already in the plan, or
  earlier in the input, is a duplicate and skipped;
* a total that disagrees with complete item responses is refused, as is a total
  that is not a finite whole number;
* a measure is the plan's client's only when its ``subject`` names the client:
  treatplan's own client identifier, the plan's ``Patient/<id>`` client reference,
  or the reference or ``system|value`` identifier given as ``subject=``. A subject
  naming another patient in one of those schemes is skipped; a measure without a
  subject, or with one the plan cannot match, is refused (it may be anyone's);
* anything else is skipped. Every skipped or refused resource is reported with its
  type, id (when a valid FHIR id) and JSON path, and the reason; never its content.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from ._errors import ArgumentError, TreatplanError, ValidationError
from ._fhir_codes import LOINC, LOINC_FORMS
from ._instruments import BUILTIN_INSTRUMENTS, Instrument
from ._lifecycle import record_assessment
from ._model import Assessment, TreatmentPlan, check_plan
from ._records import record_repr
from ._scoring import score
from ._validation import MAX_NUMBER

__all__ = ["FhirImportNote", "FhirImportReport", "import_measures"]

_NAMESPACE = "http://treatplan.dev/fhir"
_PART_ID = _NAMESPACE + "/identifier/plan-part"
_CLIENT_ID = _NAMESPACE + "/identifier/client"
_CS_ITEM = _NAMESPACE + "/CodeSystem/instrument-item"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, _NAMESPACE + "/import")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_UCUM = "http://unitsofmeasure.org"
_SCORE_UNITS = frozenset({"{score}", "{Score}", "1"})
_ORDINAL_EXTENSIONS = frozenset(
    {
        "http://hl7.org/fhir/StructureDefinition/ordinalValue",  # R4
        "http://hl7.org/fhir/StructureDefinition/itemWeight",  # R5
    }
)
_OBSERVATION_RESULTS = frozenset({"final", "amended", "corrected"})
_RESPONSE_RESULTS = frozenset({"completed", "amended"})


@attrs.frozen
class FhirImportNote:
    """One resource (or element) not carried: where it is and why, never its content.

    ``resource_id`` is the resource's ``id`` when it is a valid FHIR id, else ``None``.
    """

    __repr__ = record_repr

    resource_type: str | None
    resource_id: str | None
    path: str
    reason: str

    def __str__(self) -> str:
        kind = self.resource_type or "entry"
        where = f"{kind}/{self.resource_id}" if self.resource_id else kind
        return f"{self.path} ({where}): {self.reason}"


@attrs.frozen
class FhirImportReport:
    """What an import carried (``imported``: plan part ids), skipped and refused.

    ``skipped``: resources that are not a supported measure or are duplicates;
    ``refused``: supported measures with a fault (a path and what was expected).
    """

    __repr__ = record_repr

    imported: tuple[str, ...] = ()
    skipped: tuple[FhirImportNote, ...] = ()
    refused: tuple[FhirImportNote, ...] = ()


class _Refusal(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


@attrs.frozen
class _Found:
    __repr__ = record_repr

    path: str
    kind: str
    rid: str | None
    resource: Mapping[str, Any]
    order: int


@attrs.define
class _Measure:
    __repr__ = record_repr

    found: _Found
    instrument: str
    at: datetime
    at_path: str
    items: list[int | None] | None
    item_paths: dict[int, str]
    total: int | None
    total_path: str
    aid: str


# --------------------------------------------------------------------------- public
def import_measures(
    plan: TreatmentPlan, source: Any, *, subject: str | None = None
) -> tuple[TreatmentPlan, FhirImportReport]:
    """Record the measures in ``source`` as assessments of ``plan``, in time order.

    ``source`` is a FHIR Bundle (any type: collection, searchset, transaction...), a
    single resource, or a JSON array of resources, as parsed JSON. Only measures
    whose ``subject`` names the plan's client are recorded: by treatplan's client
    identifier, by the plan's own ``Patient/<id>`` client reference, or by
    ``subject``, the reference (``Patient/123``) or ``system|value`` identifier by
    which ``source`` names this client. Returns the new plan and a
    :class:`FhirImportReport`; ``plan`` itself is untouched. Raises
    :class:`~treatplan.ValidationError` only when ``source`` is none of those shapes,
    and :class:`~treatplan.ArgumentError` for a ``subject`` that is not such a text.
    """
    check_plan(plan)
    names: set[tuple[str, str]] = set()
    if subject is not None:
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise ArgumentError(
                "subject", "a reference (Patient/123) or an identifier (system|value)"
            )
        names.add(_name_of(subject))
    return measures_for(plan, source, names)


def measures_for(
    plan: TreatmentPlan, source: Any, names: set[tuple[str, str]]
) -> tuple[TreatmentPlan, FhirImportReport]:
    """:func:`import_measures` for a checked plan, ``names`` naming its client too."""
    return _Reader(plan, source, names).run()


# --------------------------------------------------------------------------- subjects
_SUBJECT = re.compile(r"[^\x00-\x20|]{1,512}(\|[^\x00-\x20|]{1,512})?")


def _reference_token(text: str) -> str:
    """A reference as ``Type/id``: an absolute URL names what its last two segments do."""
    return "/".join(text.rstrip("/").split("/")[-2:])


def _name_of(text: str) -> tuple[str, str]:
    """``("identifier", "system|value")`` or ``("reference", "Type/id")``."""
    return ("identifier", text) if "|" in text else ("reference", _reference_token(text))


def subject_names(subject: Any) -> set[tuple[str, str]]:
    """The ways a FHIR ``subject`` Reference names its patient (see :func:`_name_of`)."""
    names: set[tuple[str, str]] = set()
    if not isinstance(subject, Mapping):
        return names
    ref = subject.get("reference")
    if isinstance(ref, str):
        names.add(("reference", _reference_token(ref)))
    ident = subject.get("identifier")
    if isinstance(ident, Mapping):
        system, value = ident.get("system"), ident.get("value")
        if isinstance(system, str) and isinstance(value, str):
            names.add(("identifier", f"{system}|{value}"))
    return names


def _scheme(name: tuple[str, str]) -> tuple[str, str]:
    """Where a name comes from: the identifier system, or the referenced type."""
    kind, token = name
    return kind, token.rsplit("|" if kind == "identifier" else "/", 1)[0]


# --------------------------------------------------------------------------- reading
def resources_of(source: Any, notes: list[FhirImportNote]) -> list[_Found]:
    """The resources of ``source`` with their paths; unusable entries go to ``notes``."""
    found: list[_Found] = []
    if isinstance(source, Mapping) and source.get("resourceType") == "Bundle":
        entries = source.get("entry", [])
        if not isinstance(entries, list):
            raise ValidationError.at("$.entry", "a JSON array of entries")
        items: Iterator[tuple[str, Any]] = (
            (f"$.entry[{i}].resource", e.get("resource") if isinstance(e, Mapping) else None)
            for i, e in enumerate(entries)
        )
    elif isinstance(source, Mapping) and isinstance(source.get("resourceType"), str):
        items = iter([("$", source)])
    elif isinstance(source, list):
        items = ((f"$[{i}]", r) for i, r in enumerate(source))
    else:
        raise ValidationError.at("$", "a FHIR Bundle, a resource or a JSON array of resources")
    for path, resource in items:
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if not isinstance(kind, str) or not isinstance(resource, Mapping):
            notes.append(FhirImportNote(None, None, path, "expected a resource object"))
            continue
        rid = resource.get("id")
        valid_id = rid if isinstance(rid, str) and _FHIR_ID.fullmatch(rid) else None
        found.append(_Found(path, kind, valid_id, resource, len(found)))
    return found


def _note(found: _Found, path: str, reason: str) -> FhirImportNote:
    return FhirImportNote(found.kind, found.rid, path, reason)


def _loinc_codes(concept: Any) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return [
        c["code"]
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, Mapping) and c.get("system") == LOINC and isinstance(c.get("code"), str)
    ]


def _local_item(concept: Any) -> int | None:
    """The item number of treatplan's own item code (``item-3``), for its own exports."""
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for c in codings if isinstance(codings, list) else []:
        if isinstance(c, Mapping) and c.get("system") == _CS_ITEM:
            code = c.get("code")
            if isinstance(code, str) and code.startswith("item-") and code[5:].isdigit():
                return int(code[5:])
    return None


def when(text: Any, path: str) -> datetime:
    """A FHIR date or dateTime as an aware datetime: a date alone is 12:00 UTC."""
    if isinstance(text, str) and len(text) == 10:
        try:
            day = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            pass
        else:
            return day.replace(hour=12, tzinfo=UTC)
    if isinstance(text, str) and 10 < len(text) <= 40:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None and moment.utcoffset() is not None:
            return moment
    raise _Refusal(path, "expected a full date (YYYY-MM-DD) or a dateTime with a UTC offset")


def _whole(value: Any, path: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refusal(path, f"expected {what}: a number")
    # The bound first: math.isfinite raises OverflowError on ints beyond float range.
    if abs(value) > MAX_NUMBER or not math.isfinite(value) or value != int(value):
        raise _Refusal(path, f"expected {what}: a finite whole number")
    return int(value)


def _same_result(
    prior: Assessment, measure: _Measure, items: tuple[int | None, ...] | None, total: float | None
) -> bool:
    """Whether ``measure`` says what the assessment recorded from it says: instrument,
    instant, items, and the total when there are no items (a total beside items is
    theirs, and treatplan's own export may leave a recorded one out)."""
    return (
        prior.instrument == measure.instrument
        and prior.administered_at == measure.at
        and prior.items == items
        and (items is not None or prior.total == total)
    )


def _one_of(value: Any, codes: frozenset[str]) -> bool:
    """``value in codes`` for any JSON value (a list or object is in no set of codes)."""
    return isinstance(value, str) and value in codes


def _quantity_value(quantity: Any, path: str, what: str) -> int:
    if not isinstance(quantity, Mapping) or "value" not in quantity:
        raise _Refusal(f"{path}.value", f"expected {what}: a quantity with a value")
    if quantity.get("system") == _UCUM and not _one_of(quantity.get("code"), _SCORE_UNITS):
        raise _Refusal(f"{path}.code", "expected the UCUM unit {score} or 1")
    return _whole(quantity["value"], f"{path}.value", what)


def _coded_answer(coding: Any, path: str, answers: Mapping[str, int]) -> int:
    if isinstance(coding, Mapping):
        code = coding.get("code")
        if coding.get("system") == LOINC and isinstance(code, str) and code in answers:
            return answers[code]
        extensions = coding.get("extension")
        for i, ext in enumerate(extensions if isinstance(extensions, list) else []):
            if isinstance(ext, Mapping) and _one_of(ext.get("url"), _ORDINAL_EXTENSIONS):
                return _whole(
                    ext.get("valueDecimal", ext.get("valueInteger")),
                    f"{path}.extension[{i}].valueDecimal",
                    "an item response",
                )
    raise _Refusal(path, "expected a LOINC answer code of the item, or an ordinal value")


class _Reader:
    def __init__(self, plan: TreatmentPlan, source: Any, names: set[tuple[str, str]]) -> None:
        self.plan = plan
        # How the input may name the plan's client.
        self.client = {("identifier", f"{_CLIENT_ID}|{plan.client_ref}"), *names}
        if "/" in plan.client_ref:  # a Patient/<id> reference, from plan_from_fhir
            self.client.add(("reference", _reference_token(plan.client_ref)))
        self.schemes = {_scheme(name) for name in self.client}
        self.skipped: list[FhirImportNote] = []
        self.refused: list[FhirImportNote] = []
        self.found = resources_of(source, self.refused)
        self.by_ref: dict[str, _Found] = {}
        for f in self.found:
            if f.rid is not None:
                self.by_ref[f"{f.kind}/{f.rid}"] = f
            entry_url = self.full_url(source, f)
            if entry_url is not None:
                self.by_ref[entry_url] = f
        # Total or panel LOINC code -> instrument code; the plan's own definitions win.
        self.by_code: dict[str, str] = {}
        self.item_of: dict[str, tuple[str, int]] = {}
        definitions: list[Instrument] = [
            *BUILTIN_INSTRUMENTS.values(),
            *plan.custom_instruments,
        ]
        for instrument in definitions:
            if instrument.loinc is not None:
                self.by_code[instrument.loinc] = instrument.code
        for code, form in LOINC_FORMS.items():
            if plan.instrument(code) is BUILTIN_INSTRUMENTS[code]:
                self.by_code.setdefault(form.panel, code)
                for n, item in enumerate(form.items):
                    self.item_of[item] = (code, n)
        self.consumed: set[int] = set()

    @staticmethod
    def full_url(source: Any, found: _Found) -> str | None:
        match = re.fullmatch(r"\$\.entry\[(\d+)\]\.resource", found.path)
        if match is None:
            return None
        entry = source["entry"][int(match.group(1))]
        url = entry.get("fullUrl")
        return url if isinstance(url, str) else None

    def resolve(self, ref: Any) -> _Found | None:
        text = ref.get("reference") if isinstance(ref, Mapping) else None
        if not isinstance(text, str):
            return None
        hit = self.by_ref.get(text)
        if hit is None:  # an absolute URL: match its last two segments (Type/id)
            hit = self.by_ref.get("/".join(text.rstrip("/").split("/")[-2:]))
        return hit

    # -- the run -----------------------------------------------------------
    def run(self) -> tuple[TreatmentPlan, FhirImportReport]:
        measures: list[_Measure] = []
        # Panels first: the members they consume are not measures of their own.
        ordered = sorted(self.found, key=lambda f: not self.is_panel(f))
        for found in ordered:
            if found.order in self.consumed:
                continue
            try:
                measures += self.measures(found)
            except _Refusal as refusal:
                self.refused.append(_note(found, refusal.path, refusal.reason))
        measures.sort(key=lambda m: (m.at.astimezone(UTC), m.found.order))
        plan = self.plan
        seen = {(a.instrument, a.administered_at.astimezone(UTC)) for a in plan.all_assessments()}
        known = {a.id: a for a in plan.all_assessments()}
        imported: list[str] = []
        for m in measures:
            key = (m.instrument, m.at.astimezone(UTC))
            items = None if m.items is None else tuple(m.items)
            total = None if m.total is None else float(m.total)
            prior = known.get(m.aid)
            if prior is not None and not _same_result(prior, m, items, total):
                # Recorded assessments are never changed (plans are append-only): an
                # amended or corrected result of the same resource is not applied.
                self.refused.append(
                    _note(
                        m.found,
                        m.found.path,
                        "expected a new result: this resource was recorded before with "
                        "another time or value; a recorded assessment is not changed "
                        "(amend the plan by hand)",
                    )
                )
                continue
            if prior is not None or key in seen:
                reason = (
                    "a duplicate: already recorded from this resource"
                    if prior is not None
                    else "a duplicate: this instrument at this time"
                )
                self.skipped.append(_note(m.found, m.found.path, reason))
                continue
            try:
                assessment = Assessment(
                    id=m.aid,
                    instrument=m.instrument,
                    administered_at=m.at,
                    items=items,
                    total=total,
                )
                plan = record_assessment(plan, assessment)
            except ValidationError as exc:
                for problem in exc.problems:
                    reason = problem.expected
                    if not reason.startswith("expected"):
                        reason = f"expected {reason}"
                    self.refused.append(_note(m.found, self.source_path(m, problem.path), reason))
                continue
            except TreatplanError as exc:  # the plan takes no assessments in its phase
                self.refused.append(_note(m.found, m.found.path, str(exc)))
                continue
            seen.add(key)
            known[m.aid] = assessment
            imported.append(m.aid)
        self.refused.sort(key=lambda n: n.path)
        return plan, FhirImportReport(tuple(imported), tuple(self.skipped), tuple(self.refused))

    @staticmethod
    def source_path(m: _Measure, path: str) -> str:
        if path == "$.total":
            return m.total_path
        if path == "$.administered_at":
            return m.at_path
        return m.found.path  # item responses were checked at their elements already

    def is_panel(self, found: _Found) -> bool:
        return found.kind == "Observation" and isinstance(found.resource.get("hasMember"), list)

    def measures(self, found: _Found) -> list[_Measure]:
        if found.kind == "Observation":
            return self.observation(found)
        if found.kind == "QuestionnaireResponse":
            return self.questionnaire_response(found)
        self.skipped.append(_note(found, found.path, "not a supported measure resource"))
        return []

    def for_client(self, found: _Found, resource: Mapping[str, Any], path: str) -> bool:
        """Whether the measure is the plan's client's: False (skipped) for another
        patient; a refusal when there is no subject or one the plan cannot match."""
        if "subject" not in resource:
            raise _Refusal(
                f"{path}.subject",
                "expected a subject naming the plan's client: without one the measure "
                "may be another patient's",
            )
        names = subject_names(resource["subject"])
        if names & self.client:
            return True
        if any(_scheme(name) in self.schemes for name in names):
            self.skipped.append(
                _note(found, f"{path}.subject", "another subject: not the plan's client")
            )
            return False
        raise _Refusal(
            f"{path}.subject",
            "expected a subject this plan can match: treatplan's client identifier, the "
            "plan's client reference, or the reference given as subject",
        )

    def assessment_id(self, found: _Found, instrument: str) -> str:
        identifiers = found.resource.get("identifier")
        for ident in identifiers if isinstance(identifiers, list) else []:
            if isinstance(ident, Mapping) and ident.get("system") == _PART_ID:
                value = ident.get("value")
                if not isinstance(value, str):
                    continue
                # This plan's own export says ``<plan id>/<part id>``: the part id.
                value = value.removeprefix(f"{self.plan.plan_id}/")
                if re.fullmatch(r"[A-Za-z0-9._:/#-]{1,128}", value):
                    return value
        if found.rid is not None:
            key = f"{found.kind}/{found.rid}"
        else:  # the content names it: a deep, circular or oddly keyed object cannot
            key = None
            with contextlib.suppress(RecursionError, TypeError, ValueError):
                key = json.dumps(found.resource, sort_keys=True, default=str)
            if key is None:  # raised outside the handler: no __context__ quoting it
                raise _Refusal(found.path, "expected an id, or a resource JSON can write")
        return f"fhir-{uuid.uuid5(_UUID_NAMESPACE, f'{key}#{instrument}')}"

    # -- Observations --------------------------------------------------------
    def observation(self, found: _Found) -> list[_Measure]:
        resource, path = found.resource, found.path
        codes = _loinc_codes(resource.get("code"))
        instrument = next((self.by_code[c] for c in codes if c in self.by_code), None)
        if instrument is None:
            reason = (
                "an item observation outside a panel"
                if any(c in self.item_of for c in codes)
                else "not a supported measure: no LOINC total or panel code of an instrument"
            )
            self.skipped.append(_note(found, f"{path}.code", reason))
            return []
        status = resource.get("status")
        if not isinstance(status, str):
            raise _Refusal(f"{path}.status", "expected a status code (a string)")
        if status not in _OBSERVATION_RESULTS:
            self.skipped.append(
                _note(found, f"{path}.status", "not a result: status is not final")
            )
            return []
        if not self.for_client(found, resource, path):
            return []
        at, at_path = self.effective(resource, path)
        definition = self.plan.instrument(instrument)
        measure = _Measure(
            found, instrument, at, at_path, None, {}, None, path, self.assessment_id(found, "")
        )
        total_code = definition.loinc
        self.take_total(measure, resource, path)
        parts: list[tuple[str, Mapping[str, Any]]] = []
        components = resource.get("component")
        for j, component in enumerate(components if isinstance(components, list) else []):
            parts.append((f"{path}.component[{j}]", component))
        members = resource.get("hasMember")
        for j, ref in enumerate(members if isinstance(members, list) else []):
            member = self.resolve(ref)
            if member is None or member.kind != "Observation":
                raise _Refusal(
                    f"{path}.hasMember[{j}].reference",
                    "expected a reference to an Observation in the same input",
                )
            if "subject" in member.resource and not (
                subject_names(member.resource["subject"]) & self.client
            ):
                raise _Refusal(f"{member.path}.subject", "expected the plan's client as subject")
            parts.append((member.path, member.resource))
            self.consumed.add(member.order)
        for ppath, part in parts:
            if not isinstance(part, Mapping):
                raise _Refusal(ppath, "expected an object")
            pcodes = _loinc_codes(part.get("code"))
            if total_code is not None and total_code in pcodes:
                self.take_total(measure, part, ppath)
                continue
            number = self.item_number(instrument, pcodes, part.get("code"))
            if number is None:
                continue  # an element the instrument does not score (e.g. PHQ-9 difficulty)
            self.take_item(measure, definition, number, part, ppath)
        self.check(measure, definition)
        return [measure]

    def item_number(self, instrument: str, codes: list[str], concept: Any) -> int | None:
        for code in codes:
            hit = self.item_of.get(code)
            if hit is not None and hit[0] == instrument:
                return hit[1]
        local = _local_item(concept)
        return None if local is None else local - 1

    def effective(self, resource: Mapping[str, Any], path: str) -> tuple[datetime, str]:
        for key in ("effectiveDateTime", "effectiveInstant"):
            if key in resource:
                return when(resource[key], f"{path}.{key}"), f"{path}.{key}"
        if "effectivePeriod" in resource:
            period = resource["effectivePeriod"]
            ppath = f"{path}.effectivePeriod"
            if isinstance(period, Mapping):
                for key in ("end", "start"):
                    if key in period:
                        return when(period[key], f"{ppath}.{key}"), f"{ppath}.{key}"
            raise _Refusal(ppath, "expected a period with an end or a start")
        raise _Refusal(
            path, "expected an effective time (effectiveDateTime, effectivePeriod or -Instant)"
        )

    def take_total(self, measure: _Measure, element: Mapping[str, Any], path: str) -> None:
        if "valueInteger" in element:
            value, vpath = element["valueInteger"], f"{path}.valueInteger"
            total = _whole(value, vpath, "a total score")
            if isinstance(value, float):
                raise _Refusal(vpath, "expected a total score: an integer")
        elif "valueQuantity" in element:
            vpath = f"{path}.valueQuantity.value"
            total = _quantity_value(element["valueQuantity"], f"{path}.valueQuantity", "a total")
        elif "valueDecimal" in element:  # QuestionnaireResponse answers
            vpath = f"{path}.valueDecimal"
            total = _whole(element["valueDecimal"], vpath, "a total score")
        else:
            return
        if measure.total is not None and measure.total != total:
            raise _Refusal(vpath, "expected one total: another element states a different one")
        measure.total, measure.total_path = total, vpath

    def take_item(
        self,
        measure: _Measure,
        definition: Instrument,
        number: int,
        element: Mapping[str, Any],
        path: str,
    ) -> None:
        if not 0 <= number < definition.item_count:
            raise _Refusal(path, f"expected an item from 1 to {definition.item_count}")
        if measure.items is None:
            measure.items = [None] * definition.item_count
        if number in measure.item_paths:
            raise _Refusal(path, "expected each item once")
        form = LOINC_FORMS.get(definition.code)
        answers = form.answers if form is not None else {}
        value: int | None
        if "valueInteger" in element:
            value = _whole(element["valueInteger"], f"{path}.valueInteger", "an item response")
            vpath = f"{path}.valueInteger"
        elif "valueCodeableConcept" in element:
            concept = element["valueCodeableConcept"]
            codings = concept.get("coding") if isinstance(concept, Mapping) else None
            vpath = f"{path}.valueCodeableConcept.coding"
            value = self.first_answer(codings, vpath, answers)
        elif "valueCoding" in element:
            vpath = f"{path}.valueCoding"
            value = _coded_answer(element["valueCoding"], vpath, answers)
        elif "valueQuantity" in element:
            vpath = f"{path}.valueQuantity.value"
            value = _quantity_value(
                element["valueQuantity"], f"{path}.valueQuantity", "an item response"
            )
        elif "dataAbsentReason" in element:
            vpath, value = path, None
        else:
            raise _Refusal(
                path, "expected an item response: valueInteger, a LOINC answer code or a quantity"
            )
        measure.items[number] = value
        measure.item_paths[number] = vpath

    @staticmethod
    def first_answer(codings: Any, path: str, answers: Mapping[str, int]) -> int:
        last: _Refusal | None = None
        for i, coding in enumerate(codings if isinstance(codings, list) else []):
            try:
                return _coded_answer(coding, f"{path}[{i}]", answers)
            except _Refusal as refusal:
                last = last or refusal
        raise last or _Refusal(path, "expected a coding")

    def check(self, measure: _Measure, definition: Instrument) -> None:
        if measure.items is None and measure.total is None:
            raise _Refusal(measure.found.path, "expected a total score or item responses")
        if measure.items is None:
            return
        problems = definition.response_problems(measure.items, None)
        if problems:
            match = re.fullmatch(r"\$\.items\[(\d+)\]", problems[0].path)
            where = measure.item_paths.get(int(match.group(1))) if match else None
            raise _Refusal(where or measure.found.path, problems[0].expected)
        if measure.total is None or None in measure.items:
            return
        probe = Assessment("probe", definition.code, measure.at, items=tuple(measure.items))
        if score(definition, probe).total != measure.total:
            raise _Refusal(measure.total_path, "expected the total of the item responses")
        measure.total = None  # the items carry it

    # -- QuestionnaireResponses ------------------------------------------------
    def questionnaire_response(self, found: _Found) -> list[_Measure]:
        resource, path = found.resource, found.path
        # The item number travels beside the answer, never inside it: the answer is
        # the sender's object, and none of its keys may steer the mapping.
        answered: dict[str, list[tuple[str, int, Mapping[str, Any]]]] = {}
        totals: dict[str, tuple[str, Mapping[str, Any]]] = {}
        total_of = {
            self.plan.instrument(code).loinc: code
            for code in set(self.by_code.values())
            if self.plan.instrument(code).loinc is not None
        }
        for ipath, item in _items(resource, path):
            link = item.get("linkId")
            key = link.rstrip("/").split("/")[-1] if isinstance(link, str) else ""
            answers = item.get("answer")
            if not isinstance(answers, list) or not answers:
                continue
            element = answers[0]
            epath = f"{ipath}.answer[0]"
            if not isinstance(element, Mapping):
                raise _Refusal(epath, "expected an answer object")
            if key in total_of:
                totals[total_of[key]] = (epath, element)
            elif key in self.item_of:
                code, number = self.item_of[key]
                answered.setdefault(code, []).append((epath, number, element))
        instruments = sorted(set(answered) | set(totals))
        if not instruments:
            self.skipped.append(
                _note(found, f"{path}.item", "not a supported measure: no LOINC item codes")
            )
            return []
        status = resource.get("status")
        if not isinstance(status, str):
            raise _Refusal(f"{path}.status", "expected a status code (a string)")
        if status not in _RESPONSE_RESULTS:
            self.skipped.append(
                _note(found, f"{path}.status", "not a result: status is not completed")
            )
            return []
        if not self.for_client(found, resource, path):
            return []
        if "authored" not in resource:
            raise _Refusal(f"{path}.authored", "expected the time the answers were given")
        at = when(resource["authored"], f"{path}.authored")
        out = []
        for code in instruments:
            definition = self.plan.instrument(code)
            measure = _Measure(
                found, code, at, f"{path}.authored", None, {}, None, path,
                self.assessment_id(found, code if len(instruments) > 1 else ""),
            )  # fmt: skip
            if code in totals:
                self.take_total(measure, totals[code][1], totals[code][0])
            for epath, number, element in answered.get(code, []):
                self.take_item(measure, definition, number, element, epath)
            self.check(measure, definition)
            out.append(measure)
        return out


#: How deep QuestionnaireResponse items may nest (groups in groups, items under
#: answers); real forms nest a few levels. Deeper input is refused at its path.
MAX_NESTING = 64


def _items(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every item of a QuestionnaireResponse, groups and answers' nested items included,
    in document order. Iterative, so no nesting raises RecursionError."""
    # (an item to yield?, its path, the object, its nesting depth), last first
    stack: list[tuple[bool, str, Mapping[str, Any], int]] = [(False, path, node, 0)]
    while stack:
        is_item, here, obj, depth = stack.pop()
        if is_item:
            yield here, obj
            continue
        pending: list[tuple[bool, str, Mapping[str, Any], int]] = []
        items = obj.get("item")
        if items and depth > MAX_NESTING:
            raise _Refusal(here, f"expected items nested at most {MAX_NESTING} levels deep")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, Mapping):
                continue
            ipath = f"{here}.item[{i}]"
            pending += [(True, ipath, item, depth), (False, ipath, item, depth + 1)]
            answers = item.get("answer")
            for j, answer in enumerate(answers if isinstance(answers, list) else []):
                if isinstance(answer, Mapping):
                    pending.append((False, f"{ipath}.answer[{j}]", answer, depth + 1))
        stack += reversed(pending)
