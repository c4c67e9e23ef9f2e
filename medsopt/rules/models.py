"""Pydantic models of the committee files: rule-set identity, groups, rules and test cases.

`extra="forbid"` everywhere: pydantic's default would silently drop a committee's typo
(`severty:`), and a dropped field in a safety rule is a silent change of meaning.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from medsopt.authoring.fields import FileModel, Identifier, SctIdText, Text
from medsopt.rules.template import TemplateError, parse_template

RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", max_length=64)]
Category = Literal[
    "interaction",
    "condition",
    "polypharmacy",
    "biosimilar",
    "formulary",
    "duplication",
    "monitoring",
]
Severity = Literal["severe", "moderate", "mild", "info"]
Evidence = Literal["study", "anecdotal", "theoretical", "guideline"]
Status = Literal["draft", "active", "retired"]
# Placeholders any rule's detail and recommendation may use; filled per patient by the engine.
PLACEHOLDERS = frozenset({"medicines", "age", "egfr", "count", "total", "contributors"})
# Placeholders filled by a per-medicine clause, usable only by rules that have that clause.
FORMULARY_PLACEHOLDERS = frozenset({"formulary_status", "formulary_version", "restrictions"})
BIOSIMILAR_PLACEHOLDERS = frozenset(
    {
        "product",
        "preference",
        "suggested",
        "saving",
        "why",
        "prescribed_as",
        "molecule",
        "advice",
        "decline",
    }
)
# Lax validation on purpose: `egfr_below: 45` and a quoted "2026-01-01" are what a
# pharmacist writes. Pydantic v2 never turns a number into a string, so codes stay exact.
Date = datetime.date
Egfr = Annotated[float, Field(ge=0, le=250)]


class Code(FileModel):
    """One SNOMED CT code with the term that names it."""

    code: SctIdText
    term: Text


class RuleSetHeader(FileModel):
    """Identity of the rule set, in exactly one file (conventionally ruleset.yaml)."""

    name: Identifier
    version: Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d{1,2}\.\d+$")]
    effective_date: Date
    description: Text
    owner: Text


class Group(FileModel):
    """A named set of codes: dm+d medicines (`kind: medicine`) or SNOMED CT problems."""

    id: Identifier
    title: Text
    kind: Literal["medicine", "condition"] = "medicine"
    description: Text
    source: Text
    # A CSV with header `code,term`, relative to the rules directory.
    codelist: str | None = None
    codes: tuple[Code, ...] = ()
    include_groups: tuple[Identifier, ...] = ()
    exclude: tuple[Code, ...] = ()
    # `hierarchy` (default): a listed VMP also covers its AMPs, and a VTM prescription counts
    # when any of its products is listed. `exact`: only the listed codes, e.g. brand (AMP) groups
    # for biologics, where a generic VMP or VTM must not count as a brand.
    matching: Literal["hierarchy", "exact"] = "hierarchy"

    @model_validator(mode="after")
    def _has_members(self) -> Group:
        if not (self.codelist or self.codes or self.include_groups):
            raise ValueError("a group needs at least one of codelist, codes or include_groups")
        return self


class Citation(FileModel):
    """Where a rule's clinical content comes from."""

    source: Text
    reference: Text
    url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None


class Duplicate(FileModel):
    """At least `min_distinct` different molecules from one group."""

    group: Identifier
    min_distinct: Annotated[int, Field(ge=2, le=10)] = 2


class PatientCriteria(FileModel):
    """Patient facts a rule needs; absent facts make the rule 'not evaluated', never 'fired'."""

    age_at_least: Annotated[int, Field(ge=0, le=130)] | None = None
    age_below: Annotated[int, Field(ge=1, le=131)] | None = None
    egfr_below: Egfr | None = None
    egfr_at_least: Egfr | None = None
    sex: Literal["female", "male"] | None = None
    pregnant: bool | None = None
    # At least one of these condition groups recorded.
    conditions_any: tuple[Identifier, ...] = ()
    # Every one of these condition groups recorded (e.g. diabetes and chronic kidney disease).
    conditions_all: tuple[Identifier, ...] = ()
    # None of these condition groups recorded.
    conditions_none: tuple[Identifier, ...] = ()


class MedicineCount(FileModel):
    """At least `at_least` distinct molecules on the list (in `group`, if given).

    Molecules, not packs: two brands or strengths of one VTM count once.
    """

    at_least: Annotated[int, Field(ge=2, le=100)]
    group: Identifier | None = None
    exclude_groups: tuple[Identifier, ...] = ()


class ScoreTotal(FileModel):
    """The patient's total on a scale (e.g. anticholinergic burden) is at least `at_least`."""

    scale: Identifier
    at_least: Annotated[int, Field(ge=1, le=100)]


class Duration(FileModel):
    """A medicine of `group` has been taken for at least `at_least_days` (needs start_date)."""

    group: Identifier
    at_least_days: Annotated[int, Field(ge=1, le=3650)]


class FormularyPosition(FileModel):
    """A medicine's place in the local formulary; the rule fires once per such medicine.

    One position per medicine, in this order: non-formulary, hospital-only,
    specialist-initiation (proposed medicines only), second-line (a second- or third-line
    choice with no first-line medicine of its therapeutic class on the list).
    """

    position: Literal["non-formulary", "hospital-only", "specialist-initiation", "second-line"]


class BiosimilarChoice(FileModel):
    """A biologic's brand choice (formulary/biosimilars/); the rule fires once per medicine.

    `switch`: a best-value brand has a matching product; `no-equivalent`: a biosimilar exists
    for the route and strength but no preferred product can be suggested; `prescribe-by-brand`:
    a biologic prescribed as a generic VMP or a VTM.
    """

    outcome: Literal["switch", "no-equivalent", "prescribe-by-brand"]
    # The severity while a recorded patient decline is in force (the suggestion is softened).
    declined_severity: Severity | None = None


class Match(FileModel):
    """What must be true of the patient's medicines and context for the rule to fire."""

    all_of: tuple[Identifier, ...] = ()
    none_of: tuple[Identifier, ...] = ()
    duplicate: Duplicate | None = None
    count: MedicineCount | None = None
    score: ScoreTotal | None = None
    duration: Duration | None = None
    patient: PatientCriteria | None = None
    formulary: FormularyPosition | None = None
    biosimilar: BiosimilarChoice | None = None

    @property
    def per_medicine(self) -> bool:
        """True when the rule fires once per matching medicine (formulary, biosimilar)."""
        return self.formulary is not None or self.biosimilar is not None

    @property
    def has_medicine_trigger(self) -> bool:
        """True when the rule needs some medicine on the list to fire."""
        return bool(
            self.all_of
            or self.duplicate
            or self.count
            or self.score
            or self.duration
            or self.per_medicine
        )

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders a rule with this match may use in its text."""
        extra = frozenset[str]()
        if self.formulary is not None:
            extra |= FORMULARY_PLACEHOLDERS
        if self.biosimilar is not None:
            extra |= BIOSIMILAR_PLACEHOLDERS
        return PLACEHOLDERS | extra

    @model_validator(mode="after")
    def _needs_something(self) -> Match:
        if self.per_medicine:
            others = [
                name
                for name in ("all_of", "none_of", "duplicate", "count", "score", "duration")
                if getattr(self, name)
            ]
            if self.formulary is not None and self.biosimilar is not None:
                others.append("formulary")
            if others:
                raise ValueError(
                    f"a formulary or biosimilar match stands alone; remove {', '.join(others)}"
                )
            return self
        if not (self.has_medicine_trigger or self.patient):
            raise ValueError(
                "match needs all_of, duplicate, count, score, duration or patient criteria"
            )
        if not self.has_medicine_trigger and not self.none_of:
            raise ValueError("a rule without a medicine trigger needs none_of (an omission)")
        return self


class Rule(FileModel):
    """One governed clinical rule."""

    id: RuleId
    title: Text
    category: Category
    severity: Severity
    evidence: Evidence
    status: Status
    match: Match
    detail: Text
    recommendation: Text
    rationale: Text
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    authored_by: Text
    checked_by: Text
    date_reviewed: Date
    next_review: Date
    supersedes: tuple[RuleId, ...] = ()
    # The clinical concern this rule raises (declared under `concerns:`); rules raising the same
    # concern about overlapping medicines give one card.
    concern: Identifier | None = None

    @field_validator("detail", "recommendation")
    @classmethod
    def _valid_template(cls, value: str, info: ValidationInfo) -> str:
        try:
            names = parse_template(value).placeholders
        except TemplateError as error:
            raise ValueError(str(error)) from error
        match = info.data.get("match")  # absent when the match itself was invalid
        allowed = match.placeholders if isinstance(match, Match) else PLACEHOLDERS
        unknown = names - allowed
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use {sorted(allowed)}")
        return value

    @model_validator(mode="after")
    def _review_order(self) -> Rule:
        if self.next_review <= self.date_reviewed:
            raise ValueError("next_review must be after date_reviewed")
        return self


class Concern(FileModel):
    """A clinical concern several rules may raise; the answer shows one card for it.

    Rules that name the same concern and fire on overlapping medicines are merged into one
    finding listing every source (e.g. PINCER-D and STOPP C10: anticoagulant with an NSAID).
    """

    id: Identifier
    title: Text
    description: Text


class ScaleEntry(FileModel):
    """A molecule's score on a scale; a VTM code covers all its products."""

    code: SctIdText
    name: Text
    score: Annotated[int, Field(ge=0, le=10)]


class Scale(FileModel):
    """A per-molecule scoring table, e.g. the Anticholinergic Burden (ACB) scale."""

    id: Identifier
    title: Text
    description: Text
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    entries: Annotated[tuple[ScaleEntry, ...], Field(min_length=1)]


class RuleFile(FileModel):
    """A YAML file under rules/ (tests/ excepted): any of a header, scales, groups and rules."""

    ruleset: RuleSetHeader | None = None
    concerns: tuple[Concern, ...] = ()
    scales: tuple[Scale, ...] = ()
    groups: tuple[Group, ...] = ()
    rules: tuple[Rule, ...] = ()


class CaseBiologicException(FileModel):
    """A recorded exception to biosimilar switching: a failed switch or a decline."""

    molecule_code: SctIdText  # the VTM, e.g. "398728003" adalimumab
    kind: Literal["failed-switch", "declined"]
    expires_on: Date | None = None  # the day it stops applying
    note: str = ""


class CasePatient(FileModel):
    """The test patient's context."""

    age: Annotated[int, Field(ge=0, le=130)] | None = None
    sex: Literal["female", "male", "other"] | None = None
    egfr: Egfr | None = None
    pregnant: bool | None = None
    conditions: tuple[str, ...] = ()
    biologic_exceptions: tuple[CaseBiologicException, ...] = ()


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

    @model_validator(mode="after")
    def _expects_something(self) -> TestCase:
        if not (self.expect_fired or self.expect_not_fired):
            raise ValueError("a case needs expect_fired or expect_not_fired")
        both = set(self.expect_fired) & set(self.expect_not_fired)
        if both:
            raise ValueError(f"rules both expected and not expected: {sorted(both)}")
        return self


class TestFile(FileModel):
    """A YAML file under rules/tests/."""

    cases: Annotated[tuple[TestCase, ...], Field(min_length=1)]
