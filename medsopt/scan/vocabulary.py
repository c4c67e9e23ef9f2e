"""Lookup tables built once from a compiled RuleSet: how each code resolves and what it is in.

Built by iterating the vocabulary (dm+d concepts, group memberships), never the patients: the
scan then joins these tables against the data. Resolution calls `DmdIndex.resolve`, so a code
resolves in the scan exactly as in a CheckMedications request.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from medsopt.dmd.concepts import Level, Resolved, UnresolvedReason
from medsopt.engine.lookups import build_lookups
from medsopt.engine.resolve import not_placed
from medsopt.rules.ruleset import RuleSet

RESOLVED_OK = "resolved"


def resolution_table(ruleset: RuleSet, superseded_codes: Iterable[str] = ()) -> pl.DataFrame:
    """code -> status ('resolved' or the engine's unresolved reason), concept, molecule, names.

    `superseded_codes` are retired ids (dm+d VPIDPREV) that the index resolves to current codes.
    `molecule` is the key the engine's duplicate rules count: VTM, else VMP, else the concept.
    A concept resolves to itself: its status is read from its own columns, as `resolve` reads
    them; the rest (retired ids, and concepts of unknown level and no parent, which only a
    group, biosimilar table or formulary entry places) go through `DmdIndex.resolve`.
    """
    dmd = ruleset.dmd
    table = dmd.table()
    live = set(table["code"].to_list())
    retired = sorted({code for code in superseded_codes if code not in live})
    codes = pl.concat(
        [
            table.select("code", current="code"),
            pl.DataFrame(
                {"code": retired, "current": [dmd.current_code(c) for c in retired]},
                schema={"code": pl.String, "current": pl.String},
            ),
        ]
    )
    level = pl.col("level")
    status = (
        pl.when(level.is_null())  # no such concept
        .then(pl.lit(UnresolvedReason.UNKNOWN.value))
        .when(pl.col("invalid"))
        .then(pl.lit(UnresolvedReason.INACTIVE.value))
        .when(level == Level.NON_DMD.value)
        .then(pl.lit(UnresolvedReason.NOT_MEDICINAL_PRODUCT.value))
        .when(level.is_in([Level.VMPP.value, Level.AMPP.value]))
        .then(pl.lit(UnresolvedReason.PACK_LEVEL.value))
        .otherwise(pl.lit(RESOLVED_OK))
    )
    # A product of unknown level and no parent is used only when something places it.
    orphan = (level == Level.UNCLASSIFIED.value) & _blank("vmp") & _blank("vtm")
    named = (
        codes.join(table.rename({"code": "current"}), on="current", how="left")
        .with_columns(resolution=status)
        .with_columns(
            resolution=pl.when((pl.col("resolution") == RESOLVED_OK) & orphan)
            .then(pl.lit(None))
            .otherwise("resolution")
        )
    )
    # A concept a medicine group lists is placed (`not_placed` asks that first); the others
    # are asked one by one.
    grouped = build_lookups(ruleset, None).membership.select(code="concept_code").unique()
    named = named.with_columns(
        resolution=pl.when(
            pl.col("resolution").is_null() & pl.col("code").is_in(grouped["code"].implode())
        )
        .then(pl.lit(RESOLVED_OK))
        .otherwise("resolution")
    )
    unplaced = named.filter(pl.col("resolution").is_null())["code"].to_list()
    dmd.preload(unplaced)
    placed = {code: _placed(code, ruleset) for code in unplaced}
    names = table.select(vtm="code", vtm_name="name")
    ok = pl.col("resolution") == RESOLVED_OK
    return (
        named.with_columns(
            resolution=pl.col("resolution").fill_null(
                pl.col("code").replace_strict(placed, default=None)
            )
        )
        .join(names, on="vtm", how="left")
        .select(
            "code",
            "resolution",
            concept_code=pl.when(ok).then("current"),
            vmp=pl.when(ok).then("vmp"),
            molecule=pl.when(ok).then(
                pl.coalesce(
                    pl.when(~_blank("vtm")).then("vtm"),
                    pl.when(~_blank("vmp")).then("vmp"),
                    "current",
                )
            ),
            concept_name=pl.when(ok).then("name"),
            molecule_name=pl.when(ok).then(
                pl.when(~_blank("vtm")).then(pl.coalesce("vtm_name", "name")).otherwise("name")
            ),
        )
        .sort("code")
    )


def _blank(column: str) -> pl.Expr:
    """Null or empty: what a concept's `vmp or vtm` reads as false."""
    return pl.col(column).is_null() | (pl.col(column) == "")


def _placed(code: str, ruleset: RuleSet) -> str:
    """'resolved', or 'not placed' when nothing places the concept (as a request's code)."""
    outcome = ruleset.dmd.resolve(code)
    placed = isinstance(outcome, Resolved) and not not_placed(outcome, ruleset)
    return RESOLVED_OK if placed else UnresolvedReason.NOT_PLACED.value


def concepts_table(ruleset: RuleSet) -> pl.DataFrame:
    """Every concept with its parent links, for expanding codelists through the hierarchy."""
    return ruleset.dmd.table().select("code", "level", "vmp", "vtm")
