"""all_of: every named medicine group has a medicine on the list."""

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
from medsopt.engine.findings import ResolvedMedication
from medsopt.rules.ir import AllOf
from medsopt.rules.ruleset import Membership


def check(clause: AllOf, view: PatientView) -> Outcome | None:
    """Every group present; involves every medicine of those groups."""
    involved: list[tuple[ResolvedMedication, Membership]] = []
    for group in clause.groups:
        present = view.hits.get(group)
        if not present:
            return None
        involved.extend(present)
    return Outcome(involved=tuple(involved))


def plan(
    clauses: Sequence[tuple[str, AllOf]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs with a medicine in every group, and the medicines involved."""
    wanted = pl.DataFrame(
        [(rule_id, group, len(c.groups)) for rule_id, c in clauses for group in c.groups],
        schema={"rule_id": pl.String, "group": pl.String, "n_groups": pl.UInt32},
        orient="row",
    )
    return (
        population.hits.lazy()
        .select(PATIENT_ID, "ref", "group")
        .join(wanted.lazy(), on="group")
        .group_by(PATIENT_ID, "rule_id")
        .agg(
            pl.col("group").n_unique().alias("found"),
            pl.col("n_groups").first(),
            pl.col("ref").unique().alias("refs"),
        )
        .filter(pl.col("found") == pl.col("n_groups"))
        .with_columns(subject=pl.lit(""))
        .select(*KEY, "refs")
    )
