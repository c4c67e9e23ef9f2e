"""Everything a scan looks up, built once from the compiled RuleSet and the adherence classes.

Plain DataFrames in a frozen dataclass: picklable, so `--workers` shards receive the same
tables the single-process scan uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl

from medsopt.formulary.adherence import AdherenceFile
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import vocabulary
from medsopt.scan.biosimilars import SCHEMA
from medsopt.scan.classes import class_table, default_dose_table
from medsopt.scan.safety import BatchRules, compile_batch


@dataclass(frozen=True, slots=True)
class ScanTables:
    """Lookups for one rule set and one set of adherence classes."""

    resolution: pl.DataFrame  # code -> resolution, concept_code, vmp, molecule, names
    classes: pl.DataFrame  # concept_code -> drug_class
    labels: pl.DataFrame  # drug_class, title, label, measure
    doses: pl.DataFrame  # code, daily_units, basis
    rules: BatchRules
    ruleset: str  # "name version (hash12)", for the summary
    # concept_code -> biosimilar findings on the as-of date (scan.biosimilars); empty: none.
    biosimilar: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SCHEMA))


def build_tables(
    ruleset: RuleSet,
    definitions: AdherenceFile,
    codelists: Mapping[str, pl.DataFrame],
    doses: pl.DataFrame | None,
    superseded_codes: Iterable[str],
) -> ScanTables:
    """Build every lookup; raises `ClassDefinitionError` for a bad class or dose table."""
    identity = ruleset.identity
    return ScanTables(
        resolution=vocabulary.resolution_table(ruleset, superseded_codes),
        classes=class_table(definitions, codelists, ruleset, vocabulary.concepts_table(ruleset)),
        labels=pl.DataFrame(
            [(c.id, c.title, c.label, c.measure) for c in definitions.classes],
            schema={
                "drug_class": pl.String,
                "title": pl.String,
                "label": pl.String,
                "measure": pl.String,
            },
            orient="row",
        ),
        doses=(
            default_dose_table(doses)
            if doses is not None
            else pl.DataFrame(
                schema={"code": pl.String, "daily_units": pl.Float64, "basis": pl.String}
            )
        ),
        rules=compile_batch(
            ruleset,
            vocabulary.membership_table(ruleset),
            vocabulary.condition_table(ruleset),
            vocabulary.scale_table(ruleset),
            vocabulary.formulary_table(ruleset),
        ),
        ruleset=f"{identity.name} {identity.version} ({identity.content_hash[:12]})",
    )
