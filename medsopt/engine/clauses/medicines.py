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
    """(patient, rule) pairs with a medicine in every group, and the medicines involved.

    A rule of one group holds wherever the group has a medicine: its medicines are listed
    straight from the hits. Rules of several groups are found from each patient's distinct
    groups (counts, no lists); the medicines are listed for the pairs that hold alone.
    """
    wanted = pl.DataFrame(
        [(rule_id, group, len(c.groups)) for rule_id, c in clauses for group in c.groups],
        schema={
            "rule_id": population.rule_id_type,
            "group": population.group_type,
            "n_groups": pl.UInt32,
        },
        orient="row",
    ).lazy()
    hits = population.hits.lazy().select(PATIENT_ID, "ref", "group")
    single = hits.join(wanted.filter(pl.col("n_groups") == 1), on="group")
    several = wanted.filter(pl.col("n_groups") > 1)
    held = (
        hits.select(PATIENT_ID, "group")
        .join(several.select("group").unique(), on="group", how="semi")
        .unique()
        .join(several, on="group")
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.len().alias("found"), pl.col("n_groups").first())
        .filter(pl.col("found") == pl.col("n_groups"))
        .select(PATIENT_ID, "rule_id")
        .join(several.select("rule_id", "group"), on="rule_id")
        .join(hits, on=[PATIENT_ID, "group"])
    )
    return (
        pl.concat(
            [single.select(PATIENT_ID, "rule_id", "ref"), held.select(PATIENT_ID, "rule_id", "ref")]
        )
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("ref").unique().alias("refs"))
        .with_columns(subject=pl.lit(""))
        .select(*KEY, "refs")
    )
