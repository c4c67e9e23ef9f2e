"""Resolve a request's codes once: each medicine's concept, groups and formulary status."""

from __future__ import annotations

from dataclasses import dataclass

from medsopt.dmd.concepts import Level, Resolved, Supersession, UnresolvedReason
from medsopt.engine.clauses.formulary import status_text
from medsopt.engine.findings import ResolvedMedication, UnresolvedMedication
from medsopt.engine.request import CheckRequest
from medsopt.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class Resolution:
    """A request's medicines split into resolved and unresolved, and the retired ids seen."""

    resolved: tuple[ResolvedMedication, ...]
    unresolved: tuple[UnresolvedMedication, ...]
    superseded: tuple[tuple[str, Supersession], ...]  # (ref, supersession)


NOT_PLACED = (
    "known by name only (no dm+d level, VMP or VTM) and in no medicine group of this rule set: "
    "not screened"
)


def not_placed(resolved: Resolved, ruleset: RuleSet) -> bool:
    """True for a concept nothing places: of unknown level, with no VMP or VTM, and named by no
    medicine group, biosimilar table or formulary entry. No rule could match it, so passing it
    as checked would be a silent 'no alerts'."""
    concept = resolved.concept
    if concept.level is not Level.UNCLASSIFIED or concept.vmp or concept.vtm:
        return False
    if ruleset.groups_of(concept.code):
        return False
    table = ruleset.biosimilars
    if table is not None and (concept.code in table.products or table.molecule_of(concept.code)):
        return False
    formulary = ruleset.formulary
    return formulary is None or formulary.entry_for(resolved.lineage) is None


def resolve_medications(request: CheckRequest, ruleset: RuleSet) -> Resolution:
    """Look up every code of the request in the rule set's dm+d index and groups."""
    resolved: list[ResolvedMedication] = []
    unresolved: list[UnresolvedMedication] = []
    superseded: list[tuple[str, Supersession]] = []
    formulary = ruleset.formulary
    for entry in request.medications:
        outcome = ruleset.dmd.resolve(entry.code)
        if (
            isinstance(outcome, Resolved)
            and outcome.concept.level is Level.UNCLASSIFIED  # only these can be unplaced
            and not_placed(outcome, ruleset)
        ):
            unresolved.append(UnresolvedMedication(entry, UnresolvedReason.NOT_PLACED, NOT_PLACED))
        elif isinstance(outcome, Resolved):
            listed = formulary.entry_for(outcome.lineage) if formulary else None
            status = status_text(listed) if formulary else ""
            groups = ruleset.groups_of(outcome.concept.code)
            resolved.append(ResolvedMedication(entry, outcome, groups, status, listed))
            if outcome.superseded is not None:
                superseded.append((entry.ref, outcome.superseded))
        else:
            unresolved.append(UnresolvedMedication(entry, outcome.reason, outcome.message))
    return Resolution(tuple(resolved), tuple(unresolved), tuple(superseded))
