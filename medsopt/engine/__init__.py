"""Point-of-care evaluation: pure functions from a patient and a compiled RuleSet to findings."""

from medsopt.engine.point_of_care import check
from medsopt.engine.request import CheckRequest, MedicationEntry, PatientContext
from medsopt.engine.validation import FieldViolation, validate_request

__all__ = [
    "CheckRequest",
    "FieldViolation",
    "MedicationEntry",
    "PatientContext",
    "check",
    "validate_request",
]
