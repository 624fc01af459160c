"""HL7 FHIR R4 and R5: export a plan as a collection or transaction Bundle, read it
back, read other systems' measures into a plan (:func:`import_measures`) and build a
plan from another system's CarePlan (:func:`plan_from_fhir`)."""

from ._fhir import (
    CARE_PLAN_STATUS,
    DIAGNOSIS_SYSTEMS,
    EPISODE_STATUS,
    FHIR_NAMESPACE,
    FhirVersion,
    care_plan_status,
    episode_status,
    fhir_subset,
    from_fhir,
    to_fhir,
)
from ._fhir_import import FhirImportNote, FhirImportReport, import_measures
from ._fhir_plan import plan_from_fhir

__all__ = [
    "CARE_PLAN_STATUS",
    "DIAGNOSIS_SYSTEMS",
    "EPISODE_STATUS",
    "FHIR_NAMESPACE",
    "FhirImportNote",
    "FhirImportReport",
    "FhirVersion",
    "care_plan_status",
    "episode_status",
    "fhir_subset",
    "from_fhir",
    "import_measures",
    "plan_from_fhir",
    "to_fhir",
]
