"""Committee test files (rules/tests/*.yaml): a patient and the rules expected to fire, or not."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from medsopt.authoring.fields import FileModel, SctIdText, Text
from medsopt.rules.match import Egfr
from medsopt.rules.models import Date, RuleId


class CaseBiologicException(FileModel):
    """A recorded exception to biosimilar switching: a failed switch or a decline."""

    molecule_code: SctIdText  # the VTM, e.g. "398728003" adalimumab
    kind: Literal["failed-switch", "declined"]
    expires_on: Date | None = None  # the day it stops applying
    note: str = ""


class CaseResult(FileModel):
    """A dated monitoring result of the test patient."""

    code: SctIdText
    date: Date
    note: str = ""


class CasePatient(FileModel):
    """The test patient's context."""

    age: Annotated[int, Field(ge=0, le=130)] | None = None
    sex: Literal["female", "male", "other"] | None = None
    egfr: Egfr | None = None
    pregnant: bool | None = None
    conditions: tuple[str, ...] = ()
    biologic_exceptions: tuple[CaseBiologicException, ...] = ()
    monitoring: tuple[CaseResult, ...] = ()
    # The date from which `monitoring` holds every result (None: completeness not known).
    monitoring_complete_from: Date | None = None


class CaseMedication(FileModel):
    """A medicine on the test patient's list."""

    code: str
    status: Literal["current", "proposed"] = "current"
    start_date: Date | None = None
    note: str = ""


class TestCase(FileModel):
    """A committee test: a patient and the rules expected to fire, or not."""

    name: Text
    patient: CasePatient = CasePatient()
    medications: Annotated[tuple[CaseMedication, ...], Field(min_length=1)]
    # The date durations are measured to; cases without it leave duration rules not evaluated.
    as_of: Date | None = None
    expect_fired: tuple[RuleId, ...] = ()
    expect_not_fired: tuple[RuleId, ...] = ()
    # Rules that must neither fire nor ask for data: they cannot apply to this patient.
    expect_skipped: tuple[RuleId, ...] = ()

    @model_validator(mode="after")
    def _expects_something(self) -> TestCase:
        if not (self.expect_fired or self.expect_not_fired or self.expect_skipped):
            raise ValueError("a case needs expect_fired, expect_not_fired or expect_skipped")
        both = set(self.expect_fired) & {*self.expect_not_fired, *self.expect_skipped}
        if both:
            raise ValueError(f"rules both expected and not expected: {sorted(both)}")
        return self


class TestFile(FileModel):
    """A YAML file under rules/tests/."""

    cases: Annotated[tuple[TestCase, ...], Field(min_length=1)]
