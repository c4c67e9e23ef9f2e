"""Resolve a request's codes once: each medicine's concept, groups and formulary status."""

from __future__ import annotations

from dataclasses import dataclass

from medsopt.dmd.concepts import Level, Resolved, Supersession, UnresolvedReason
from medsopt.engine.clauses.formulary import status_text
from medsopt.engine.findings import ResolvedMedication, UnresolvedMedication
from medsopt.engine.prepared import NotUsable, Placed, prepared
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
    codes = prepared(ruleset).codes
    for entry in request.medications:
        known = codes.get(entry.code)
        if known is None:
            known = resolve_code(entry.code, ruleset)
            # Only dm+d concepts are kept: a finite set, whatever codes requests send.
            if isinstance(known, Placed) or known.reason is not UnresolvedReason.UNKNOWN:
                codes[entry.code] = known
        if isinstance(known, NotUsable):
            unresolved.append(UnresolvedMedication(entry, known.reason, known.message))
            continue
        outcome = known.resolved
        resolved.append(
            ResolvedMedication(
                entry, outcome, known.groups, known.formulary_status, known.formulary_entry
            )
        )
        if outcome.superseded is not None:
            superseded.append((entry.ref, outcome.superseded))
    return Resolution(tuple(resolved), tuple(unresolved), tuple(superseded))


def resolve_code(code: str, ruleset: RuleSet) -> Placed | NotUsable:
    """One code's concept, groups and formulary position, or why it cannot be used."""
    outcome = ruleset.dmd.resolve(code)
    if not isinstance(outcome, Resolved):
        return NotUsable(outcome.reason, outcome.message)
    if outcome.concept.level is Level.UNCLASSIFIED and not_placed(outcome, ruleset):
        return NotUsable(UnresolvedReason.NOT_PLACED, NOT_PLACED)
    formulary = ruleset.formulary
    listed = formulary.entry_for(outcome.lineage) if formulary else None
    status = status_text(listed) if formulary else ""
    return Placed(outcome, ruleset.groups_of(outcome.concept.code), status, listed)
