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
from medsopt.rules.match import PLACEHOLDERS, Match, Severity
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
Evidence = Literal["study", "anecdotal", "theoretical", "guideline"]
Status = Literal["draft", "active", "retired"]
# Lax validation on purpose: `egfr_below: 45` and a quoted "2026-01-01" are what a
# pharmacist writes. Pydantic v2 never turns a number into a string, so codes stay exact.
Date = datetime.date


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
    # medicine: dm+d products; condition: SNOMED CT problems; test: SNOMED CT monitoring tests
    # (procedures and observables whose dated results a request may carry).
    kind: Literal["medicine", "condition", "test"] = "medicine"
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


def check_review_order(date_reviewed: Date, next_review: Date) -> None:
    """Governed content is reviewed again after it was last reviewed, never before."""
    if next_review <= date_reviewed:
        raise ValueError("next_review must be after date_reviewed")


class Citation(FileModel):
    """Where a rule's clinical content comes from."""

    source: Text
    reference: Text
    url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None


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
        check_review_order(self.date_reviewed, self.next_review)
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
