"""Patient facts: age, eGFR, sex and pregnancy limits.

An absent fact leaves the rule not evaluated (never fired, never passed); a known fact that
fails wins over a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    TEXTS,
    Filter,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.engine.request import Sex
from medsopt.rules.ir import PatientFacts

_PARAMS = {
    "facts_age_at_least": pl.Int64,
    "facts_age_below": pl.Int64,
    "facts_egfr_below": pl.Float64,
    "facts_egfr_at_least": pl.Float64,
    "facts_sex": pl.String,
    "facts_pregnant": pl.Boolean,
}


def check(clause: PatientFacts, view: PatientView) -> Outcome | None:
    """None when a known fact fails; else what is missing and the facts tested."""
    patient = view.patient
    missing: list[str] = []
    facts: list[str] = []
    age, egfr = patient.age_years, patient.egfr
    if clause.age_at_least is not None or clause.age_below is not None:
        if age is None:
            missing.append("age_years")
        else:
            if clause.age_at_least is not None:
                if age < clause.age_at_least:
                    return None
                facts.append(f"age {age} >= {clause.age_at_least}")
            if clause.age_below is not None:
                if age >= clause.age_below:
                    return None
                facts.append(f"age {age} < {clause.age_below}")
    if clause.egfr_below is not None or clause.egfr_at_least is not None:
        if egfr is None:
            missing.append("egfr")
        else:
            if clause.egfr_below is not None:
                if egfr >= clause.egfr_below:
                    return None
                facts.append(f"eGFR {egfr:g} < {clause.egfr_below:g}")
            if clause.egfr_at_least is not None:
                if egfr < clause.egfr_at_least:
                    return None
                facts.append(f"eGFR {egfr:g} >= {clause.egfr_at_least:g}")
    if clause.sex is not None:
        if patient.sex is Sex.UNKNOWN:
            missing.append("sex")
        elif patient.sex.value != clause.sex:
            return None
        else:
            facts.append(f"sex {clause.sex}")
    if clause.pregnant is not None:
        if patient.pregnant is None:
            missing.append("pregnancy")
        elif patient.pregnant != clause.pregnant:
            return None
        else:
            facts.append("pregnant" if clause.pregnant else "not pregnant")
    return Outcome(missing=tuple(missing), facts=tuple(facts))


def filter_plan(
    clauses: Sequence[tuple[str, PatientFacts]], population: Population, lookups: Lookups
) -> Filter:
    """Expressions over the candidates joined with the patient's facts (age, sex, egfr,
    pregnant) and the rule's limits."""
    limits = pl.DataFrame(
        [
            {
                "rule_id": rule_id,
                "facts_age_at_least": c.age_at_least,
                "facts_age_below": c.age_below,
                "facts_egfr_below": c.egfr_below,
                "facts_egfr_at_least": c.egfr_at_least,
                "facts_sex": c.sex,
                "facts_pregnant": c.pregnant,
            }
            for rule_id, c in clauses
        ],
        schema={"rule_id": population.rule_id_type, **_PARAMS},
    ).lazy()
    age, egfr, pregnant = pl.col("age"), pl.col("egfr"), pl.col("pregnant")
    sex = pl.col("sex").fill_null(Sex.UNKNOWN.value)
    at_least, below = pl.col("facts_age_at_least"), pl.col("facts_age_below")
    egfr_below, egfr_at_least = pl.col("facts_egfr_below"), pl.col("facts_egfr_at_least")
    need_sex, need_pregnant = pl.col("facts_sex"), pl.col("facts_pregnant")
    needs_age = at_least.is_not_null() | below.is_not_null()
    needs_egfr = egfr_below.is_not_null() | egfr_at_least.is_not_null()
    unknown_sex = sex == Sex.UNKNOWN.value
    fails = (
        (age < at_least).fill_null(False)
        | (age >= below).fill_null(False)
        | (egfr >= egfr_below).fill_null(False)
        | (egfr < egfr_at_least).fill_null(False)
        | (need_sex.is_not_null() & ~unknown_sex & (sex != need_sex)).fill_null(False)
        | (pregnant != need_pregnant).fill_null(False)
    )
    lacking = {
        "age_years": needs_age & age.is_null(),
        "egfr": needs_egfr & egfr.is_null(),
        "sex": need_sex.is_not_null() & unknown_sex,
        "pregnancy": need_pregnant.is_not_null() & pregnant.is_null(),
    }
    missing = pl.concat_list(
        *(pl.when(lacks).then(pl.lit(name)) for name, lacks in lacking.items())
    ).list.drop_nulls()
    return Filter(
        joins=((limits, ("rule_id",)),),
        fails=fails,
        missing=missing.cast(TEXTS),
        lacks=pl.any_horizontal(*lacking.values()).fill_null(False),
    )
