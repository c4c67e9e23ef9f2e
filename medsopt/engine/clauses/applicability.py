"""applies_to: whom a rule can apply to. Outside it the rule is skipped, never asked about.

Only a known fact excludes: a patient whose sex or age is not recorded is included, so a rule
that could apply still asks for what it needs (ADR 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    HOLDS,
    NO_TEXTS,
    Filter,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.engine.request import Sex
from medsopt.rules.ir import AppliesTo

# Sexes that can exclude a patient; "other" and "unknown" never do.
_KNOWN_SEXES = (Sex.FEMALE.value, Sex.MALE.value)


def check(clause: AppliesTo, view: PatientView) -> Outcome | None:
    """None when a recorded sex or age puts the patient outside the rule's population."""
    patient = view.patient
    if clause.sexes and patient.sex.value in _KNOWN_SEXES and patient.sex.value not in clause.sexes:
        return None
    age = patient.age_years
    if age is not None:
        if clause.age_at_least is not None and age < clause.age_at_least:
            return None
        if clause.age_below is not None and age >= clause.age_below:
            return None
    return HOLDS


def filter_plan(
    clauses: Sequence[tuple[str, AppliesTo]], population: Population, lookups: Lookups
) -> Filter:
    """`fails` where the candidate's recorded sex or age is outside the rule's population."""
    limits = pl.DataFrame(
        [
            {
                "rule_id": rule_id,
                "applies_sexes": list(c.sexes) or None,
                "applies_age_at_least": c.age_at_least,
                "applies_age_below": c.age_below,
            }
            for rule_id, c in clauses
        ],
        schema={
            "rule_id": population.rule_id_type,
            "applies_sexes": pl.List(pl.String),
            "applies_age_at_least": pl.Int64,
            "applies_age_below": pl.Int64,
        },
    ).lazy()
    sex, age = pl.col("sex"), pl.col("age")
    outside_sex = (
        pl.col("applies_sexes").is_not_null()
        & sex.is_in(list(_KNOWN_SEXES))
        & ~pl.col("applies_sexes").list.contains(sex)
    ).fill_null(False)
    fails = (
        outside_sex
        | (age < pl.col("applies_age_at_least")).fill_null(False)
        | (age >= pl.col("applies_age_below")).fill_null(False)
    )
    return Filter(
        joins=((limits, ("rule_id",)),), fails=fails, missing=NO_TEXTS, lacks=pl.lit(False)
    )
