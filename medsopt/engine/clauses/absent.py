"""none_of: no medicine of these groups is on the list (an omission: 'X and no Y').

"No Y" cannot be confirmed while a code is unresolved: it may be the Y. Advising to start Y
(a laxative with an opioid, a PPI with an NSAID) then risks duplicating it, so the rule is
not evaluated instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    NO_TEXTS,
    PATIENT_ID,
    TEXTS,
    Filter,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.rules.ir import NoneOf

UNRESOLVED = "resolvable codes for every medicine"


def check(clause: NoneOf, view: PatientView) -> Outcome | None:
    """Fails when a group is present; lacks data while any code is unresolved."""
    for group in clause.groups:
        if view.hits.get(group):
            return None
    return Outcome(
        missing=(UNRESOLVED,) if view.has_unresolved else (),
        facts=tuple(f"no medicine in group {group}" for group in clause.groups),
    )


def filter_plan(
    clauses: Sequence[tuple[str, NoneOf]], population: Population, lookups: Lookups
) -> Filter:
    """`fails` where a named group is present; `missing` for patients with unresolved codes."""
    groups = pl.DataFrame(
        [(rule_id, g) for rule_id, c in clauses for g in c.groups],
        schema={"rule_id": population.rule_id_type, "group": population.group_type},
        orient="row",
    ).lazy()
    blocked = (
        population.hits.lazy()
        .select(PATIENT_ID, "group")
        .join(groups, on="group")
        .select(PATIENT_ID, "rule_id")
    )
    asserting = pl.LazyFrame(
        {"rule_id": [rule_id for rule_id, _ in clauses]},
        schema={"rule_id": population.rule_id_type},
    ).with_columns(absent_asserts=pl.lit(True))
    unresolved = (
        population.unresolved.lazy()
        .select(PATIENT_ID)
        .unique()
        .with_columns(absent_unresolved=pl.lit(True))
    )
    lacks = pl.col("absent_asserts").fill_null(False) & pl.col("absent_unresolved").fill_null(False)
    return Filter(
        joins=((asserting, ("rule_id",)), (unresolved, (PATIENT_ID,))),
        fails=pl.lit(False),
        missing=pl.when(lacks).then(pl.lit([UNRESOLVED], dtype=TEXTS)).otherwise(NO_TEXTS),
        lacks=lacks,
        excluded=((blocked, (PATIENT_ID, "rule_id")),),
    )
