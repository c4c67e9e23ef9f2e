"""What a check produces: findings, rules not evaluated, codes not resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from medsopt.dmd.concepts import Resolved, Supersession, UnresolvedReason
from medsopt.engine.request import MedicationEntry
from medsopt.formulary.models import Product
from medsopt.rules.models import Citation
from medsopt.rules.ruleset import Membership, RuleSetIdentity

SEVERITY_ORDER = {"severe": 0, "moderate": 1, "mild": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class ResolvedMedication:
    """A medicine whose code resolved, with the medicine groups it belongs to."""

    entry: MedicationEntry
    resolved: Resolved
    groups: tuple[Membership, ...]
    # Its local formulary position, looked up once per request ("" without a formulary).
    formulary_status: str = ""
    # The most specific local-formulary entry for it (None: not listed, or no formulary).
    formulary_entry: Product | None = None
    # Key that is equal for packs and brands of one molecule: VTM, else VMP, else the code.
    # Derived once here: count, duplicate and scale clauses read it for every medicine.
    molecule: str = field(init=False)

    def __post_init__(self) -> None:
        concept = self.resolved.concept
        object.__setattr__(self, "molecule", concept.vtm or concept.vmp or concept.code)

    def matched(self, group: str, via: str, formulary_status: str = "") -> MatchedMedication:
        """This medicine as one step of an explanation: it matched `group` because of `via`."""
        concept = self.resolved.concept
        return MatchedMedication(
            ref=self.entry.ref,
            code=self.entry.code,
            concept_code=concept.code,
            concept_name=concept.name,
            level=concept.level.value,
            group=group,
            via=via,
            formulary_status=formulary_status,
        )


@dataclass(frozen=True, slots=True)
class UnresolvedMedication:
    """A medicine whose code could not be used."""

    entry: MedicationEntry
    reason: UnresolvedReason
    message: str


@dataclass(frozen=True, slots=True)
class MatchedMedication:
    """One step of an explanation: this medicine matched this group because `via` is listed."""

    ref: str
    code: str
    concept_code: str
    concept_name: str
    level: str
    group: str
    via: str
    formulary_status: str = ""


# (medicine ref, group): one line of a card's compact explanation.
MatchedGroup = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A replacement product proposed by a finding."""

    code: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class FindingSource:
    """One rule behind a finding (a card merging one concern lists each)."""

    rule_id: str
    title: str
    severity: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired for this patient, or one card for a concern several rules raised."""

    rule_id: str
    category: str
    severity: str
    evidence: str
    title: str
    detail: str
    recommendation: str
    rationale: str
    citations: tuple[Citation, ...]
    medication_refs: tuple[str, ...]
    matched: tuple[MatchedMedication, ...]
    conditions: tuple[str, ...]
    involves_proposed: bool
    suggestions: tuple[Suggestion, ...] = ()
    # The clinical concern raised ("" when the rule names none) and every rule behind this
    # finding, the one whose wording is shown (`rule_id`) first.
    concern: str = ""
    sources: tuple[FindingSource, ...] = ()
    # Which medicine (ref) matched which group, sorted: the compact explanation a card carries.
    # `matched` and `conditions` are the long one, made only when the check explains.
    matched_groups: tuple[MatchedGroup, ...] = ()
    # What the finding is about in every view (its identity for feedback and the audit): the
    # dm+d concepts involved, sorted, and the patient facts tested.
    concepts: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[int, str, tuple[str, ...]]:
        return (SEVERITY_ORDER[self.severity], self.rule_id, self.medication_refs)


class Raised(Protocol):
    """A rule that fired for one patient: a finding, or one whose text is not written yet
    (supersedes and concern merging read only this, so what they drop is never built)."""

    @property
    def rule_id(self) -> str: ...
    @property
    def medication_refs(self) -> tuple[str, ...]: ...
    @property
    def concern(self) -> str: ...
    @property
    def sort_key(self) -> tuple[int, str, tuple[str, ...]]: ...


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    """A rule whose medicines were present but whose patient data was missing."""

    rule_id: str
    title: str
    missing: tuple[str, ...]
    medication_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Everything a CheckMedications answer carries."""

    request_id: str
    identity: RuleSetIdentity
    resolved: tuple[ResolvedMedication, ...]
    unresolved: tuple[UnresolvedMedication, ...]
    superseded: tuple[tuple[str, Supersession], ...]  # (ref, supersession)
    findings: tuple[Finding, ...]
    not_evaluated: tuple[NotEvaluated, ...]
    # False when the check left out the long explanation (matched, conditions, citations).
    explained: bool = True

    @property
    def complete(self) -> bool:
        """True only when every code resolved and every relevant rule had its data."""
        return not self.unresolved and not self.not_evaluated
