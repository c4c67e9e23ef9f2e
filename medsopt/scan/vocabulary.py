"""Lookup tables built once from a compiled RuleSet: how each code resolves and what it is in.

Built by iterating the vocabulary (dm+d concepts, group memberships), never the patients: the
scan then joins these tables against the data. Resolution calls `DmdIndex.resolve`, so a code
resolves in the scan exactly as in a CheckMedications request.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from medsopt.dmd.concepts import Resolved
from medsopt.rules.ruleset import RuleSet

RESOLVED_OK = "resolved"


def resolution_table(ruleset: RuleSet, superseded_codes: Iterable[str] = ()) -> pl.DataFrame:
    """code -> status ('resolved' or the engine's unresolved reason), concept, molecule, names.

    `superseded_codes` are retired ids (dm+d VPIDPREV) that the index resolves to current codes.
    `molecule` is the key the engine's duplicate rules count: VTM, else VMP, else the concept.
    """
    dmd = ruleset.dmd
    codes = sorted({c.code for c in dmd.concepts()} | set(superseded_codes))
    rows: list[tuple[str, str, str | None, str | None, str | None, str | None, str | None]] = []
    for code in codes:
        outcome = dmd.resolve(code)
        if isinstance(outcome, Resolved):
            concept = outcome.concept
            molecule = concept.vtm or concept.vmp or concept.code
            vtm = dmd.concept(concept.vtm) if concept.vtm else None
            rows.append(
                (
                    code,
                    RESOLVED_OK,
                    concept.code,
                    concept.vmp,
                    molecule,
                    concept.name,
                    vtm.name if vtm is not None else concept.name,
                )
            )
        else:
            rows.append((code, outcome.reason.value, None, None, None, None, None))
    return pl.DataFrame(
        rows,
        schema={
            "code": pl.String,
            "resolution": pl.String,
            "concept_code": pl.String,
            "vmp": pl.String,
            "molecule": pl.String,
            "concept_name": pl.String,
            "molecule_name": pl.String,
        },
        orient="row",
    )


def membership_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> medicine group, exactly `RuleSet.groups_of` as a table."""
    pairs = [(code, m.group) for code, ms in ruleset.membership.items() for m in ms]
    return pl.DataFrame(
        pairs, schema={"concept_code": pl.String, "group": pl.String}, orient="row"
    ).sort("concept_code", "group")


def condition_table(ruleset: RuleSet) -> pl.DataFrame:
    """SNOMED CT problem code -> condition group (exact codes, as the engine matches them)."""
    pairs = [
        (code, group.id)
        for group in ruleset.groups.values()
        if group.kind == "condition"
        for code in group.codes
    ]
    return pl.DataFrame(
        pairs, schema={"condition_code": pl.String, "condition_group": pl.String}, orient="row"
    ).sort("condition_code", "condition_group")


def concepts_table(ruleset: RuleSet) -> pl.DataFrame:
    """Every concept with its parent links, for expanding codelists through the hierarchy."""
    return pl.DataFrame(
        [(c.code, c.level.value, c.vmp, c.vtm) for c in ruleset.dmd.concepts()],
        schema={"code": pl.String, "level": pl.String, "vmp": pl.String, "vtm": pl.String},
        orient="row",
    )


def _resolved_lineages(ruleset: RuleSet) -> list[Resolved]:
    """Every concept that resolves, with its lineage (concept, VMP, VTM) as the engine sees it."""
    outcomes = (ruleset.dmd.resolve(c.code) for c in ruleset.dmd.concepts())
    return [o for o in outcomes if isinstance(o, Resolved)]


def scale_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> scale, score: the first lineage concept each scale lists (as the engine)."""
    rows: list[tuple[str, str, int]] = []
    for resolved in _resolved_lineages(ruleset):
        for scale in ruleset.scales.values():
            for concept in resolved.lineage:
                entry = scale.scores.get(concept.code)
                if entry is not None:
                    rows.append((resolved.concept.code, scale.id, entry[0]))
                    break
    return pl.DataFrame(
        rows,
        schema={"concept_code": pl.String, "scale": pl.String, "score": pl.Int32},
        orient="row",
    )


def formulary_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> the most specific local-formulary entry's status, line and class."""
    rows: list[tuple[str, str, str | None, str | None]] = []
    formulary = ruleset.formulary
    if formulary is not None:
        for resolved in _resolved_lineages(ruleset):
            entry = formulary.entry_for(resolved.lineage)
            if entry is not None:
                rows.append(
                    (resolved.concept.code, entry.status, entry.line, entry.therapeutic_class)
                )
    return pl.DataFrame(
        rows,
        schema={
            "concept_code": pl.String,
            "formulary_status": pl.String,
            "formulary_line": pl.String,
            "formulary_class": pl.String,
        },
        orient="row",
    )
