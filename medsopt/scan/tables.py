"""Everything a scan looks up, built once from the compiled RuleSet and the adherence classes.

Plain DataFrames in a frozen dataclass: picklable, so `--workers` shards receive the same
tables the single-process scan uses.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from medsopt.engine.clauses.base import Lookups
from medsopt.engine.lookups import build_lookups
from medsopt.formulary.adherence import AdherenceFile
from medsopt.rules.ir import RuleIR
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import vocabulary
from medsopt.scan.classes import class_table, default_dose_table


@dataclass(frozen=True, slots=True)
class ScanTables:
    """Lookups for one rule set and one set of adherence classes."""

    resolution: pl.DataFrame  # code -> resolution, concept_code, vmp, molecule, names
    classes: pl.DataFrame  # concept_code -> drug_class
    labels: pl.DataFrame  # drug_class, title, label, measure
    doses: pl.DataFrame  # code, daily_units, basis
    rules: tuple[RuleIR, ...]  # the active rules, as the columnar evaluator reads them
    lookups: Lookups  # rule-set tables the clause plans join (biosimilar choices on as_of)
    ruleset: str  # "name version (hash12)", for the summary


def build_tables(
    ruleset: RuleSet,
    definitions: AdherenceFile,
    codelists: Mapping[str, pl.DataFrame],
    doses: pl.DataFrame | None,
    superseded_codes: Iterable[str],
    as_of: datetime.date | None = None,
) -> ScanTables:
    """Build every lookup; raises `ClassDefinitionError` for a bad class or dose table.

    Biosimilar choices depend on the formulary's preferred brands on `as_of` (None: the
    formulary's effective date, as at the point of care without an as-of date).
    """
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
        rules=tuple(compiled.ir for _, compiled in sorted(ruleset.rules.items())),
        lookups=build_lookups(ruleset, as_of),
        ruleset=f"{identity.name} {identity.version} ({identity.content_hash[:12]})",
    )
