"""HL7 FHIR R4 and R5: export a plan as a Bundle, read one back."""

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
