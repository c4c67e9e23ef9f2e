"""The committee format of outcome indicators (rules/indicators/*.yaml).

An indicator counts patients: the denominator (every entry holds), minus exclusions (any
holds), and the numerator among them (every entry holds). Criteria name the rule set's own
groups (medicines, conditions, monitoring tests) or a `code,term` codelist beside the file, so an
indicator and the safety rules read the same code lists.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from medsopt.authoring.fields import FileModel, Identifier, Text
from medsopt.rules.models import Citation

IndicatorId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]*$", max_length=32)]
CodelistPath = Annotated[str, StringConstraints(pattern=r"^codelists/[a-z0-9-]+\.csv$")]
Days = Annotated[int, Field(ge=1, le=3660)]
# What a criterion tests; exactly one per criterion (`any_of`/`none_of` combine criteria).
KINDS = ("medicine", "dispensed", "condition", "codelist", "test", "age_at_least", "egfr_below")


class Criterion(FileModel):
    """One test on a patient at a date; `within_days` counts back from that date."""

    medicine: Identifier | None = None  # a rule-set medicine group, dispensed
    dispensed: CodelistPath | None = None  # a dm+d codelist: the code, its concept or VMP
    condition: Identifier | None = None  # a rule-set condition group, recorded
    codelist: CodelistPath | None = None  # an event code in this codelist, recorded
    test: Identifier | None = None  # a rule-set monitoring-test group, recorded
    age_at_least: Annotated[int, Field(ge=0, le=130)] | None = None
    egfr_below: Annotated[float, Field(gt=0, le=250)] | None = None
    within_days: Days | None = None
    # On the latest matching event (in the window): its value must reach this.
    latest_value_at_least: float | None = None
    # The first record of the condition or codelist is this recent, and none is undated
    # (newly diagnosed; a problem-list code with no date is not known to be new).
    first_recorded_within_days: Days | None = None
    any_of: tuple[Criterion, ...] = ()
    none_of: tuple[Criterion, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        given = [k for k in KINDS if getattr(self, k) is not None]
        given += [k for k in ("any_of", "none_of") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                f"a criterion tests exactly one of {', '.join((*KINDS, 'any_of', 'none_of'))}"
                f" (found {', '.join(given) or 'none'})"
            )
        dispensing = self.medicine or self.dispensed
        dated = dispensing or self.condition or self.codelist or self.test
        if self.within_days is not None and not dated:
            raise ValueError("within_days applies to medicine, condition, codelist or test")
        if self.latest_value_at_least is not None and not (self.codelist or self.test):
            raise ValueError("latest_value_at_least applies to a codelist or test")
        if self.first_recorded_within_days is not None:
            if not (self.condition or self.codelist):
                raise ValueError("first_recorded_within_days applies to a condition or codelist")
            if self.within_days is not None or self.latest_value_at_least is not None:
                raise ValueError(
                    "first_recorded_within_days stands alone (no within_days or "
                    "latest_value_at_least)"
                )
        if dispensing and self.within_days is None:
            raise ValueError("a medicine criterion needs within_days (how recent a dispensing)")
        return self


class Exclusion(Criterion):
    """A denominator exclusion: a QOF personalised care adjustment or register rule, and why.

    Excluded patients are counted apart (`excluded`), never in the denominator or on the
    worklist; the first exclusion that holds names the reason.
    """

    reason: Identifier  # e.g. palliative-care; the column value in the exclusion counts
    explanation: Text  # what the report says about the reason


class Target(FileModel):
    """The achievement band the committee aims at, in percent."""

    lower: Annotated[float, Field(ge=0, le=100)]
    upper: Annotated[float, Field(ge=0, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> Target:
        if self.lower > self.upper:
            raise ValueError("target.lower is above target.upper")
        return self


class Indicator(FileModel):
    """One governed indicator."""

    id: IndicatorId
    title: Text
    description: Text
    family: Literal["QOF", "PINCER", "local"]
    status: Literal["active", "draft", "retired"]
    draft_reason: str = ""  # what is missing before it can be active
    # higher: the numerator is the goal (QOF); lower: the numerator is the hazard (PINCER).
    better: Literal["higher", "lower"]
    target: Target | None = None
    denominator: Annotated[tuple[Criterion, ...], Field(min_length=1)]
    exclusions: tuple[Exclusion, ...] = ()
    numerator: Annotated[tuple[Criterion, ...], Field(min_length=1)]
    # What a pharmacist reads on the worklist for a patient the indicator flags.
    gap: Text
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    authored_by: Text
    checked_by: Text
    date_reviewed: datetime.date
    next_review: datetime.date

    @model_validator(mode="after")
    def _governed(self) -> Indicator:
        if self.status == "draft" and not self.draft_reason.strip():
            raise ValueError("a draft indicator says what is missing (draft_reason)")
        if self.next_review <= self.date_reviewed:
            raise ValueError("next_review must be after date_reviewed")
        reasons = [e.reason for e in self.exclusions]
        if len(set(reasons)) != len(reasons):
            raise ValueError("two exclusions give the same reason; combine them with any_of")
        return self


class IndicatorFile(FileModel):
    """A YAML file in rules/indicators/."""

    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]
