"""Request validation: every problem, each tied to the field path an integrator sent."""

from __future__ import annotations

import datetime
import functools
import math
import re
from dataclasses import dataclass

from medsopt.dmd.codes import MAX_LENGTH, CodeProblem
from medsopt.dmd.codes import code_problem as _check_code
from medsopt.engine.request import BiologicExceptionKind, CheckRequest, PatientContext

MAX_MEDICATIONS = 100
MAX_CONDITIONS = 500
MAX_BIOLOGIC_EXCEPTIONS = 50
MAX_MONITORING_RESULTS = 500
MAX_REF_LENGTH = 64
MAX_REQUEST_ID_LENGTH = 128
MAX_AGE = 130
MAX_EGFR = 250.0
MAX_SHOWN = 24  # characters of an offending value an error message repeats


# Codes already checked: a request checks every code's Verhoeff digit, and the same few
# thousand codes arrive again and again. Only code-length strings are kept (bounded memory).
_checked_code = functools.lru_cache(maxsize=1 << 16)(_check_code)


def code_problem(value: str) -> CodeProblem | None:
    """`dmd.codes.code_problem`, remembered for the codes requests send."""
    return _checked_code(value) if len(value) <= MAX_LENGTH else _check_code(value)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """A bad field, named as in the API (`medications[2].code`)."""

    field: str
    description: str


def validate_request(request: CheckRequest) -> tuple[FieldViolation, ...]:
    """Every violation in the request; empty when it can be checked."""
    found: list[FieldViolation] = []
    if len(request.request_id) > MAX_REQUEST_ID_LENGTH:
        found.append(
            FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
        )
    if request.as_of_text is not None and not _iso_date(request.as_of_text):
        found.append(
            FieldViolation(
                "as_of_date", f"{shown(request.as_of_text)} is not an ISO 8601 date (YYYY-MM-DD)"
            )
        )
    patient = request.patient
    if patient.age_years is not None and not 0 <= patient.age_years <= MAX_AGE:
        found.append(
            FieldViolation("patient.age_years", f"{patient.age_years} is outside 0 to {MAX_AGE}")
        )
    if patient.egfr is not None and not (
        math.isfinite(patient.egfr) and 0 <= patient.egfr <= MAX_EGFR
    ):
        found.append(FieldViolation("patient.egfr", f"{patient.egfr} is outside 0 to {MAX_EGFR:g}"))
    if len(patient.condition_codes) > MAX_CONDITIONS:
        found.append(FieldViolation("patient.condition_codes", f"more than {MAX_CONDITIONS} codes"))
    for index, code in enumerate(patient.condition_codes):
        problem = code_problem(code)
        if problem is not None:
            found.append(
                FieldViolation(
                    f"patient.condition_codes[{index}]", f"{shown(code)} {problem.value}"
                )
            )
    found.extend(_biologic_exception_violations(patient))
    found.extend(_monitoring_violations(patient))
    if not request.medications:
        found.append(FieldViolation("medications", "at least one medication is required"))
    if len(request.medications) > MAX_MEDICATIONS:
        found.append(
            FieldViolation(
                "medications",
                f"{len(request.medications)} medications; at most {MAX_MEDICATIONS} per request",
            )
        )
    first_index: dict[str, int] = {}
    for index, medication in enumerate(request.medications):
        where = f"medications[{index}]"
        if not medication.ref or len(medication.ref) > MAX_REF_LENGTH:
            found.append(
                FieldViolation(f"{where}.ref", f"must be 1 to {MAX_REF_LENGTH} characters")
            )
        elif medication.ref in first_index:
            first = first_index[medication.ref]
            found.append(
                FieldViolation(
                    f"{where}.ref",
                    f"duplicate ref {shown(medication.ref)} (also medications[{first}])",
                )
            )
        else:
            first_index[medication.ref] = index
        problem = code_problem(medication.code)
        if problem is not None:
            found.append(
                FieldViolation(f"{where}.code", f"{shown(medication.code)} {problem.value}")
            )
        if medication.start_date is not None and not _iso_date(medication.start_date):
            found.append(
                FieldViolation(
                    f"{where}.start_date",
                    f"{shown(medication.start_date)} is not an ISO 8601 date (YYYY-MM-DD)",
                )
            )
    return tuple(found)


def _biologic_exception_violations(patient: PatientContext) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if len(patient.biologic_exceptions) > MAX_BIOLOGIC_EXCEPTIONS:
        found.append(
            FieldViolation(
                "patient.biologic_exceptions", f"more than {MAX_BIOLOGIC_EXCEPTIONS} exceptions"
            )
        )
    for index, exception in enumerate(patient.biologic_exceptions):
        where = f"patient.biologic_exceptions[{index}]"
        problem = code_problem(exception.molecule_code)
        if problem is not None:
            found.append(
                FieldViolation(
                    f"{where}.molecule_code", f"{shown(exception.molecule_code)} {problem.value}"
                )
            )
        if exception.kind is BiologicExceptionKind.UNSPECIFIED:
            found.append(FieldViolation(f"{where}.kind", "must be FAILED_SWITCH or DECLINED"))
        if exception.expires_on is not None and not _iso_date(exception.expires_on):
            found.append(
                FieldViolation(
                    f"{where}.expires_on",
                    f"{shown(exception.expires_on)} is not an ISO 8601 date (YYYY-MM-DD)",
                )
            )
    return found


def _monitoring_violations(patient: PatientContext) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if len(patient.monitoring) > MAX_MONITORING_RESULTS:
        found.append(
            FieldViolation(
                "patient.monitoring_results", f"more than {MAX_MONITORING_RESULTS} results"
            )
        )
    for index, result in enumerate(patient.monitoring):
        where = f"patient.monitoring_results[{index}]"
        problem = code_problem(result.code)
        if problem is not None:
            found.append(FieldViolation(f"{where}.code", f"{shown(result.code)} {problem.value}"))
        if not _iso_date(result.date):
            found.append(
                FieldViolation(f"{where}.date", f"{shown(result.date)} is not an ISO 8601 date")
            )
        if result.value is not None and not math.isfinite(result.value):
            found.append(FieldViolation(f"{where}.value", "must be a finite number"))
    if patient.monitoring_from is not None and not _iso_date(patient.monitoring_from):
        found.append(
            FieldViolation(
                "patient.monitoring_complete_from",
                f"{shown(patient.monitoring_from)} is not an ISO 8601 date (YYYY-MM-DD)",
            )
        )
    return found


_YYYY_MM_DD = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(text: str) -> bool:
    """Strictly YYYY-MM-DD: Python also reads 20260101 and 2026-W01, the contract does not."""
    if not _YYYY_MM_DD.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def shown(value: str) -> str:
    """A value as an error names it: quoted, and cut short so an error never echoes a long
    input back (nor grows past what a client can read)."""
    return (
        repr(value)
        if len(value) <= MAX_SHOWN
        else f"{value[:MAX_SHOWN]!r}... ({len(value)} characters)"
    )
