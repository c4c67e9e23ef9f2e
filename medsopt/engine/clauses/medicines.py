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

    A rule of one group holds wherever the group has a medicine: each patient's medicines in
    such a group are listed once, for every rule of that group. A rule of several groups is
    looked up by the group that fewest medicines of this population are in, then its other
    groups are checked (counts, no lists); the medicines are listed for the pairs that hold
    alone.
    """
    rule_type, group_type = population.rule_id_type, population.group_type
    single = pl.DataFrame(
        [(rule_id, c.groups[0]) for rule_id, c in clauses if len(c.groups) == 1],
        schema={"rule_id": rule_type, "group": group_type},
        orient="row",
    )
    several = [(rule_id, c.groups) for rule_id, c in clauses if len(c.groups) > 1]
    sizes = dict(population.hits.group_by("group").len().iter_rows())
    drivers: list[tuple[str, str]] = []
    others: list[tuple[str, str, int]] = []
    for rule_id, groups in several:
        driver = min(groups, key=lambda group: sizes.get(group, 0))
        rest = list(groups)
        rest.remove(driver)
        drivers.append((rule_id, driver))
        others.extend((rule_id, group, len(rest)) for group in rest)
    hits = population.hits.lazy().select(PATIENT_ID, "ref", "group")
    needed = pl.Series(
        list(dict.fromkeys(group for _, groups in several for group in groups)), dtype=group_type
    )
    in_needed = hits.filter(pl.col("group").is_in(needed.implode()))
    # A patient's medicines of one group may repeat (patient, group): the groups found are
    # counted distinct.
    present = in_needed.select(PATIENT_ID, "group")
    other = pl.LazyFrame(
        others,
        schema={"rule_id": rule_type, "group": group_type, "n_others": pl.UInt32},
        orient="row",
    )
    held = (
        present.join(
            pl.LazyFrame(drivers, schema={"rule_id": rule_type, "group": group_type}, orient="row"),
            on="group",
        )
        .select(PATIENT_ID, "rule_id")
        .join(other, on="rule_id")
        .join(present, on=[PATIENT_ID, "group"], how="semi")
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("group").n_unique().alias("found"), pl.col("n_others").first())
        .filter(pl.col("found") == pl.col("n_others"))
        .select(PATIENT_ID, "rule_id")
        .join(
            pl.LazyFrame(
                [(rule_id, group) for rule_id, groups in several for group in groups],
                schema={"rule_id": rule_type, "group": group_type},
                orient="row",
            ),
            on="rule_id",
        )
        .join(in_needed, on=[PATIENT_ID, "group"])
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("ref").unique().alias("refs"))
    )
    listed = (
        hits.filter(pl.col("group").is_in(single["group"].unique().implode()))
        .group_by(PATIENT_ID, "group")
        .agg(pl.col("ref").unique().alias("refs"))
        .join(single.lazy(), on="group")
        .select(PATIENT_ID, "rule_id", "refs")
    )
    return pl.concat([listed, held]).select(*KEY[:2], subject=pl.lit(""), refs="refs")
