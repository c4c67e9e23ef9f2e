"""The one intermediate form every evaluator reads: a rule as its clauses, text parsed once.

A committee `Rule` (medsopt.rules.models) compiles to a `RuleIR`: a flat tuple of clause
records, one per kind of test. Each clause kind's meaning lives in one module of
`medsopt.engine.clauses`, which holds its one-patient check and its columnar (polars) plan side
by side; the point-of-care and population evaluators only compose them.
"""

from __future__ import annotations

from dataclasses import dataclass

from medsopt.rules import models
from medsopt.rules.template import Template, parse_template


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every group has a medicine on the list."""

    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoneOf:
    """No group has a medicine on the list (an omission: 'X and no Y')."""

    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """At least `min_distinct` different molecules of one group."""

    group: str
    min_distinct: int


@dataclass(frozen=True, slots=True)
class Count:
    """At least `at_least` distinct molecules (in `group`, if given, less excluded groups)."""

    at_least: int
    group: str | None
    exclude_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Score:
    """The total on a scale (each molecule once, at its highest score) is at least `at_least`."""

    scale: str
    at_least: int


@dataclass(frozen=True, slots=True)
class Duration:
    """A medicine of `group` has been taken for at least `at_least_days`."""

    group: str
    at_least_days: int


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Age, eGFR, sex and pregnancy limits; an absent fact leaves the rule not evaluated."""

    age_at_least: int | None = None
    age_below: int | None = None
    egfr_below: float | None = None
    egfr_at_least: float | None = None
    sex: str | None = None
    pregnant: bool | None = None


@dataclass(frozen=True, slots=True)
class AppliesTo:
    """Whom the rule can apply to; a known sex or age outside it skips the rule silently."""

    sexes: tuple[str, ...]
    age_at_least: int | None
    age_below: int | None


@dataclass(frozen=True, slots=True)
class ConditionsPresent:
    """At least one of `any_of` and every one of `all_of` condition groups is recorded."""

    any_of: tuple[str, ...]
    all_of: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConditionsAbsent:
    """None of these condition groups is recorded."""

    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonitoringDue:
    """No result of the `tests` group within `within_days` before the as-of date."""

    tests: str
    within_days: int


@dataclass(frozen=True, slots=True)
class FormularyPosition:
    """A medicine's local-formulary position is `position` (one finding per medicine)."""

    position: str


@dataclass(frozen=True, slots=True)
class BiosimilarChoice:
    """A biologic's brand choice has this outcome (one finding per medicine)."""

    outcome: str
    declined_severity: str | None


Clause = (
    AppliesTo
    | AllOf
    | NoneOf
    | Duplicate
    | Count
    | Score
    | Duration
    | PatientFacts
    | ConditionsPresent
    | ConditionsAbsent
    | MonitoringDue
    | FormularyPosition
    | BiosimilarChoice
)
PER_MEDICINE = (FormularyPosition, BiosimilarChoice)


@dataclass(frozen=True, slots=True)
class RuleIR:
    """A rule as every evaluator sees it."""

    id: str
    title: str
    category: str
    severity: str
    evidence: str
    rationale: str
    citations: tuple[models.Citation, ...]
    detail: Template
    recommendation: Template
    supersedes: tuple[str, ...]
    clauses: tuple[Clause, ...]
    concern: str | None = None

    @property
    def per_medicine(self) -> bool:
        """True when the rule fires once per matching medicine (formulary, biosimilar)."""
        return any(isinstance(c, PER_MEDICINE) for c in self.clauses)

    @property
    def asserts_absence(self) -> bool:
        """True when the rule says a medicine is missing (cannot be confirmed while a code is
        unresolved: the unresolved code may be that medicine)."""
        return any(isinstance(c, NoneOf) for c in self.clauses)


def compile_rule(rule: models.Rule) -> RuleIR:
    """The clauses of a validated committee rule, in the order they are cheapest to test."""
    match = rule.match
    clauses: list[Clause] = []
    if match.applies_to is not None:
        who = match.applies_to
        clauses.append(AppliesTo(tuple(who.sex), who.age_at_least, who.age_below))
    if match.all_of:
        clauses.append(AllOf(tuple(dict.fromkeys(match.all_of))))
    if match.duplicate is not None:
        clauses.append(Duplicate(match.duplicate.group, match.duplicate.min_distinct))
    if match.count is not None:
        c = match.count
        clauses.append(Count(c.at_least, c.group, tuple(c.exclude_groups)))
    if match.score is not None:
        clauses.append(Score(match.score.scale, match.score.at_least))
    if match.duration is not None:
        clauses.append(Duration(match.duration.group, match.duration.at_least_days))
    if match.formulary is not None:
        clauses.append(FormularyPosition(match.formulary.position))
    if match.biosimilar is not None:
        b = match.biosimilar
        clauses.append(BiosimilarChoice(b.outcome, b.declined_severity))
    if match.none_of:
        clauses.append(NoneOf(tuple(dict.fromkeys(match.none_of))))
    patient = match.patient
    if patient is not None:
        facts = PatientFacts(
            patient.age_at_least,
            patient.age_below,
            patient.egfr_below,
            patient.egfr_at_least,
            patient.sex,
            patient.pregnant,
        )
        if facts != PatientFacts():
            clauses.append(facts)
        if patient.conditions_any or patient.conditions_all:
            clauses.append(
                ConditionsPresent(
                    tuple(dict.fromkeys(patient.conditions_any)),
                    tuple(dict.fromkeys(patient.conditions_all)),
                )
            )
        if patient.conditions_none:
            clauses.append(ConditionsAbsent(tuple(dict.fromkeys(patient.conditions_none))))
    # Last, as the columnar evaluator applies it (registry.FILTERS): both list what a rule lacks
    # in the same order (e.g. age_years before the results a rule with both asks for).
    if match.monitoring is not None:
        clauses.append(MonitoringDue(match.monitoring.tests, match.monitoring.within_days))
    return RuleIR(
        id=rule.id,
        title=rule.title,
        category=rule.category,
        severity=rule.severity,
        evidence=rule.evidence,
        rationale=rule.rationale,
        citations=rule.citations,
        detail=parse_template(rule.detail),
        recommendation=parse_template(rule.recommendation),
        supersedes=rule.supersedes,
        clauses=tuple(clauses),
        concern=rule.concern,
    )
