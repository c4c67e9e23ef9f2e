"""duplicate: at least `min_distinct` different molecules from one medicine group."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    PATIENT_ID,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.rules.ir import Duplicate


def check(clause: Duplicate, view: PatientView) -> Outcome | None:
    """Enough distinct molecules in the group; involves every medicine of the group."""
    present = view.hits.get(clause.group, ())
    if len({medication.molecule for medication, _ in present}) < clause.min_distinct:
        return None
    return Outcome(involved=tuple(present))


def plan(
    clauses: Sequence[tuple[str, Duplicate]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs with enough distinct molecules in the group.

    Molecules are counted once per patient and group; the medicines are listed for the pairs
    that hold alone.
    """
    wanted = pl.DataFrame(
        [(rule_id, c.group, c.min_distinct) for rule_id, c in clauses],
        schema={
            "rule_id": population.rule_id_type,
            "group": population.group_type,
            "min_distinct": pl.UInt32,
        },
        orient="row",
    )
    # Most patients have one medicine in a group: too few to hold, dropped before counting
    # (the rows kept are every medicine of the groups that may hold).
    lowest = min((c.min_distinct for _, c in clauses), default=0)
    present = (
        population.hits.lazy()
        .select(PATIENT_ID, "ref", "group", "molecule")
        .filter(pl.col("group").is_in(wanted["group"].unique().implode()))
        .filter(pl.len().over(PATIENT_ID, "group") >= lowest)
    )
    held = (
        present.group_by(PATIENT_ID, "group")
        .agg(pl.col("molecule").n_unique().alias("molecules"))
        .join(wanted.lazy(), on="group")
        .filter(pl.col("molecules") >= pl.col("min_distinct"))
        .select(PATIENT_ID, "rule_id", "group")
    )
    return (
        held.join(present.select(PATIENT_ID, "group", "ref"), on=[PATIENT_ID, "group"])
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("ref").unique().alias("refs"))
        .with_columns(subject=pl.lit(""))
        .select(*KEY, "refs")
    )
