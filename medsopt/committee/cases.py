"""Parse committee test files, keeping each case's file and line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.authoring.validate import validated_files
from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    CheckRequest,
    MedicationEntry,
    MedicationStatus,
    MonitoringResult,
    PatientContext,
    Sex,
)
from medsopt.rules.cases import TestCase, TestFile
from medsopt.rules.compile import TESTS_DIR


@dataclass(frozen=True, slots=True)
class LocatedCase:
    """A committee test case and where it is written."""

    case: TestCase
    file: str
    line: int

    def request(self) -> CheckRequest:
        """The CheckRequest this case describes (refs m1, m2, ... in list order)."""
        patient = self.case.patient
        return CheckRequest(
            request_id=f"{self.file}:{self.line}",
            as_of=self.case.as_of,
            patient=PatientContext(
                age_years=patient.age,
                sex=Sex(patient.sex) if patient.sex else Sex.UNKNOWN,
                egfr=patient.egfr,
                pregnant=patient.pregnant,
                condition_codes=patient.conditions,
                biologic_exceptions=tuple(
                    BiologicException(
                        molecule_code=exception.molecule_code,
                        kind=BiologicExceptionKind(exception.kind),
                        expires_on=exception.expires_on.isoformat()
                        if exception.expires_on
                        else None,
                    )
                    for exception in patient.biologic_exceptions
                ),
                monitoring=tuple(
                    MonitoringResult(r.code, r.date.isoformat()) for r in patient.monitoring
                ),
                monitoring_from=patient.monitoring_complete_from.isoformat()
                if patient.monitoring_complete_from
                else None,
            ),
            medications=tuple(
                MedicationEntry(
                    ref=f"m{index}",
                    code=medication.code,
                    status=MedicationStatus(medication.status),
                    start_date=medication.start_date.isoformat() if medication.start_date else None,
                    display=medication.note,
                )
                for index, medication in enumerate(self.case.medications, start=1)
            ),
        )


def parse_cases(
    sources: Mapping[str, str],
) -> tuple[tuple[LocatedCase, ...], tuple[Diagnostic, ...]]:
    """Every case in tests/*.yaml, and every problem in those files."""
    cases: list[LocatedCase] = []
    problems: list[Diagnostic] = []
    test_files = (p for p in sources if p.startswith(TESTS_DIR) and p.endswith((".yaml", ".yml")))
    for path, model, source_map in validated_files(sources, test_files, TestFile, problems):
        for index, case in enumerate(model.cases):
            line, _ = source_map.locate(("cases", index))
            cases.append(LocatedCase(case, path, line))
    return tuple(cases), tuple(problems)
