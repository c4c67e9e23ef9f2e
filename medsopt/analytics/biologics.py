"""The biosimilar table and the formulary's preferred brands as frames the uptake reads."""

from __future__ import annotations

import polars as pl

from medsopt.analytics.uptake import PREFERRED_SCHEMA, PRODUCT_SCHEMA
from medsopt.rules.ruleset import RuleSet


def product_table(ruleset: RuleSet) -> pl.DataFrame:
    """Every brand product of the biosimilar table (`PRODUCT_SCHEMA`); empty without one."""
    table = ruleset.biosimilars
    rows = (
        [
            (p.code, p.molecule, p.molecule_name, p.entry.brand, p.role, p.entry.generic)
            for p in table.products.values()
        ]
        if table is not None
        else []
    )
    return pl.DataFrame(rows, schema=PRODUCT_SCHEMA, orient="row").sort("code")


def preferred_table(ruleset: RuleSet) -> pl.DataFrame:
    """The formulary's preferred brands with their dates (`PREFERRED_SCHEMA`)."""
    formulary = ruleset.formulary
    rows = (
        [
            (molecule, p.brand, p.effective_from, p.effective_to)
            for molecule, preference in formulary.biosimilars.items()
            for p in preference.preferred
        ]
        if formulary is not None
        else []
    )
    return pl.DataFrame(rows, schema=PREFERRED_SCHEMA, orient="row").sort("molecule", "brand")
