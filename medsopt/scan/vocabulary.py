"""Lookup tables built once from a compiled RuleSet: how each code resolves and what it is in.

Built by iterating the vocabulary (dm+d concepts, group memberships), never the patients: the
scan then joins these tables against the data. Resolution calls `DmdIndex.resolve`, so a code
resolves in the scan exactly as in a CheckMedications request.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from medsopt.dmd.concepts import Resolved, UnresolvedReason
from medsopt.engine.resolve import not_placed
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
        if isinstance(outcome, Resolved) and not_placed(outcome, ruleset):
            rows.append((code, UnresolvedReason.NOT_PLACED.value, None, None, None, None, None))
        elif isinstance(outcome, Resolved):
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


def concepts_table(ruleset: RuleSet) -> pl.DataFrame:
    """Every concept with its parent links, for expanding codelists through the hierarchy."""
    return pl.DataFrame(
        [(c.code, c.level.value, c.vmp, c.vtm) for c in ruleset.dmd.concepts()],
        schema={"code": pl.String, "level": pl.String, "vmp": pl.String, "vtm": pl.String},
        orient="row",
    )
