"""duration: a medicine of `group` has been taken for at least `at_least_days` by the as-of date.

None taken long enough but some undated (or no as-of date): not evaluated, naming what is
missing, rather than silently passed.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    PATIENT_ID,
    TEXTS,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.rules.ir import Duration

NO_AS_OF = "as_of date"
NO_START = "start_date"


def check(clause: Duration, view: PatientView) -> Outcome | None:
    """Medicines taken long enough; else all of the group's, with what is missing."""
    present = view.hits.get(clause.group, ())
    as_of = view.request.as_of
    long_enough = []
    undated = False
    for medication, membership in present:
        start = medication.entry.start_date
        if start is None or as_of is None:
            undated = True
            continue
        if (as_of - datetime.date.fromisoformat(start)).days >= clause.at_least_days:
            long_enough.append((medication, membership))
    if long_enough:
        days = f"taken for at least {clause.at_least_days} days"
        return Outcome(involved=tuple(long_enough), facts=(f"{clause.group} {days}",))
    if undated:
        return Outcome(involved=tuple(present), missing=(NO_AS_OF if as_of is None else NO_START,))
    return None


def plan(
    clauses: Sequence[tuple[str, Duration]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs with a medicine taken long enough, or undated ones (missing)."""
    wanted = pl.DataFrame(
        [(rule_id, c.group, c.at_least_days) for rule_id, c in clauses],
        schema={
            "rule_id": population.rule_id_type,
            "group": population.group_type,
            "at_least_days": pl.Int64,
        },
        orient="row",
    ).lazy()
    as_of = population.as_of
    start = pl.col("start_date")
    if as_of is None:
        long_enough = pl.lit(False)
        undated = pl.lit(True)
    else:
        long_enough = (
            (pl.lit(as_of) - start).dt.total_days() >= pl.col("at_least_days")
        ).fill_null(False)
        undated = start.is_null()
    missing = NO_AS_OF if as_of is None else NO_START
    named = (
        population.hits.lazy()
        .select(PATIENT_ID, "ref", "group", "start_date")
        .join(wanted, on="group")
        .with_columns(long_enough=long_enough, undated=undated)
    )
    # A pair with a medicine taken long enough names those medicines; one with none but some
    # undated names all of the group's and lacks the dates. Every other pair is dropped.
    taken = (
        named.filter(pl.col("long_enough"))
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("ref").unique().alias("refs"))
    )
    undated_pairs = (
        named.filter(pl.col("undated"))
        .select(PATIENT_ID, "rule_id")
        .join(taken, on=[PATIENT_ID, "rule_id"], how="anti")
    )
    lacking = (
        named.join(undated_pairs, on=[PATIENT_ID, "rule_id"], how="semi")
        .group_by(PATIENT_ID, "rule_id")
        .agg(pl.col("ref").unique().alias("refs"))
    )
    return pl.concat(
        [
            taken.with_columns(missing=pl.lit([], dtype=TEXTS)),
            lacking.with_columns(missing=pl.lit([missing], dtype=TEXTS)),
        ]
    ).select(*KEY[:2], subject=pl.lit(""), refs="refs", missing="missing")
