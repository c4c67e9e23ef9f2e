"""Adherence classes as tables: which concept is in which class, and default daily doses.

The file format and its validation (file:line:column) are in `medsopt.formulary.adherence`;
the checks here are a guard for files that bypassed it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from medsopt.engine.lookups import build_lookups
from medsopt.formulary.adherence import AdherenceFile
from medsopt.rules.ruleset import RuleSet


class ClassDefinitionError(ValueError):
    """The adherence-class file, one of its codelists or the dose table cannot be used."""


def class_table(
    definitions: AdherenceFile,
    codelists: Mapping[str, pl.DataFrame],
    ruleset: RuleSet,
    concepts: pl.DataFrame,
) -> pl.DataFrame:
    """concept_code -> drug_class, expanding listed codes through the dm+d hierarchy.

    `codelists` maps each path named in the file to its frame (a String `code` column);
    `concepts` is `vocabulary.concepts_table(ruleset)`.
    """
    listed: list[pl.DataFrame] = []
    grouped: list[pl.DataFrame] = []
    membership = build_lookups(ruleset, None).membership
    for definition in definitions.classes:
        for path in definition.codelists:
            if path not in codelists:
                raise ClassDefinitionError(f"class {definition.id}: codelist {path} not loaded")
            listed.append(
                codelists[path].select(pl.col("code"), pl.lit(definition.id).alias("drug_class"))
            )
        for group in definition.groups:
            info = ruleset.groups.get(group)
            if info is None or info.kind != "medicine":
                raise ClassDefinitionError(
                    f"class {definition.id}: {group!r} is not a medicine group of the rule set"
                )
            # The group's members, in code order (`membership` is sorted by code, group).
            grouped.append(
                membership.filter(pl.col("group") == group).select(
                    "concept_code", drug_class=pl.lit(definition.id)
                )
            )
    schema = {"concept_code": pl.String, "drug_class": pl.String}
    frames: list[pl.DataFrame] = [pl.DataFrame(schema=schema), *grouped]
    if listed:
        codes = pl.concat(listed).unique()
        direct = codes.rename({"code": "concept_code"})
        via_parent = pl.concat(
            [
                concepts.join(codes, left_on=parent, right_on="code").select(
                    pl.col("code").alias("concept_code"), "drug_class"
                )
                for parent in ("vmp", "vtm")
            ]
        )
        # A VTM is in the class when any of its listed products is (a molecule-level record).
        vtm_of_listed = concepts.join(codes, on="code").select(
            pl.col("vtm").alias("concept_code"), "drug_class"
        )
        frames += [direct, via_parent, vtm_of_listed.drop_nulls()]
    return pl.concat(frames).unique().sort("concept_code", "drug_class")


def default_dose_table(doses: pl.DataFrame) -> pl.DataFrame:
    """Check the default-dose CSV (code, daily_units > 0, basis) and keep what supply needs."""
    required = {"code", "daily_units", "basis"}
    if not required <= set(doses.columns):
        raise ClassDefinitionError(f"default doses need columns {sorted(required)}")
    units = doses["daily_units"].cast(pl.Float64, strict=False)
    bad = doses.filter(units.is_null() | (units <= 0) | doses["basis"].is_null())
    if bad.height:
        raise ClassDefinitionError(f"default doses: bad rows {bad.head(3).rows()}")
    if doses["code"].n_unique() != doses.height:
        raise ClassDefinitionError("default doses: a code is listed twice")
    return doses.select(
        pl.col("code").cast(pl.String),
        units.alias("daily_units"),
        pl.col("basis").cast(pl.String),
    )
