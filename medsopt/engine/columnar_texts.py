"""The columnar evaluator's finding texts: each fired row with its rule's category, severity,
title and concern, and its detail and recommendation filled with the patient's values, in the
words `medsopt.engine.text` gives the point of care.

Every rule's columns are read by the row's rule number (the rule id is an Enum of the sorted
ids), so the findings are neither joined with a rule table nor split by rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import KEY, PATIENT_ID, Population
from medsopt.engine.text import (
    NO_CONTRIBUTORS,
    NO_MEDICINES,
    NOT_SCORED,
    age_expr,
    by_number,
    egfr_expr,
    medicines_expr,
    render_each,
)
from medsopt.rules.ir import RuleIR

# Placeholder values some generating clauses fill (the rest come from the patient).
VALUE_COLUMNS = ("count", "total", "contributors", "severity_override")
TEXT_COLUMNS = (
    PATIENT_ID,
    "rule_id",
    "subject",
    "category",
    "severity",
    "title",
    "refs",
    "detail",
    "recommendation",
    "involves_proposed",
    "concern",
)
# The involved medicines' columns, named apart from the placeholder values (e.g. {molecule}).
_REF, _NAME, _MOLECULE, _PROPOSED = (
    "involved_ref",
    "involved_name",
    "involved_molecule",
    "involved_proposed",
)
_ROW = "finding"
# Placeholders worked out from the row's columns (for the rows whose templates use them).
_FILLED = {
    "age": age_expr(pl.col("age")),
    "egfr": egfr_expr(pl.col("egfr")),
    "count": pl.coalesce("count", pl.col("molecules").cast(pl.String)),
    "total": pl.col("total").fill_null(NOT_SCORED),
    "contributors": pl.col("contributors").fill_null(NO_CONTRIBUTORS),
}


def finding_texts(
    fired: pl.DataFrame, population: Population, rules: Sequence[RuleIR]
) -> pl.DataFrame:
    """Each fired row (key, refs, facts and the generators' values) as `TEXT_COLUMNS`."""
    rule_type = population.rule_id_type
    assert isinstance(rule_type, pl.Enum), "the columnar evaluator numbers its rules"
    by_id = {rule.id: rule for rule in rules}
    numbered = [by_id.get(rule_id) for rule_id in rule_type.categories.to_list()]
    if fired.is_empty():
        return pl.DataFrame(
            schema=dict.fromkeys(TEXT_COLUMNS, pl.String)
            | {
                PATIENT_ID: fired.schema[PATIENT_ID],
                "rule_id": rule_type,
                "refs": pl.List(pl.String),
                "involves_proposed": pl.Boolean,
            }
        )
    placeholders = {n for r in rules for t in (r.detail, r.recommendation) for n in t.placeholders}
    columns = dict.fromkeys(
        [*KEY, "refs", "age", "egfr", *(c for c in fired.columns if c in placeholders)]
    )
    values = fired.select(
        *columns, *(c for c in VALUE_COLUMNS if c in fired.columns and c not in columns)
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in VALUE_COLUMNS if c not in fired.columns
    )
    ready = _involved(values, population)
    # A placeholder no fired rule fills (its generator found nothing) is an empty column.
    ready = ready.with_columns(
        pl.lit(None, dtype=pl.String).alias(name)
        for name in sorted(placeholders - set(ready.columns) - set(_FILLED))
    )
    number = pl.col("rule_id").to_physical()
    rendered = render_each(
        ready,
        {
            "detail": [r.detail if r else None for r in numbered],
            "recommendation": [r.recommendation if r else None for r in numbered],
        },
        number,
        _FILLED,
    )
    return rendered.select(
        PATIENT_ID,
        "rule_id",
        "subject",
        category=by_number([r.category if r else None for r in numbered], number),
        severity=pl.coalesce(
            "severity_override", by_number([r.severity if r else None for r in numbered], number)
        ),
        title=by_number([r.title if r else None for r in numbered], number),
        refs="refs",
        detail="detail",
        recommendation="recommendation",
        involves_proposed="involves_proposed",
        concern=by_number([r.concern if r else None for r in numbered], number),
    )


def _involved(fired: pl.DataFrame, population: Population) -> pl.DataFrame:
    """The rows with {medicines} (the involved medicines' names), the number of their molecules
    and whether one is proposed.

    A finding naming one medicine (most of the rest) reads it with a join (a patient's refs are
    distinct); one naming several gathers their names.
    """
    meds = population.meds.select(
        PATIENT_ID,
        pl.col("ref").alias(_REF),
        pl.col("name").alias(_NAME),
        pl.col("molecule").alias(_MOLECULE),
        pl.col("proposed").alias(_PROPOSED),
    )
    named = pl.col("refs").list.len()
    # (Omissions name none: about half the findings.)
    none = fired.filter(named == 0).with_columns(
        medicines=pl.lit(NO_MEDICINES),
        molecules=pl.lit(0, dtype=pl.UInt32),
        involves_proposed=pl.lit(False),
    )
    one = (
        fired.filter(named == 1)
        .with_columns(pl.col("refs").list.first().alias(_REF))
        .join(meds, on=[PATIENT_ID, _REF], how="left")
        .with_columns(
            medicines=pl.col(_NAME).fill_null(NO_MEDICINES),
            molecules=pl.col(_MOLECULE).is_not_null().cast(pl.UInt32),
            involves_proposed=pl.col(_PROPOSED).fill_null(False),
        )
        .drop(_REF, _NAME, _MOLECULE, _PROPOSED)
    )
    several = fired.filter(named > 1).with_row_index(_ROW)
    gathered = (
        several.select(_ROW, PATIENT_ID, pl.col("refs").alias(_REF))
        .explode(_REF)
        .join(meds, on=[PATIENT_ID, _REF], how="left")
        .group_by(_ROW)
        .agg(
            pl.col(_NAME).drop_nulls().alias("names"),
            pl.col(_MOLECULE).drop_nulls().n_unique().alias("molecules"),
            pl.col(_PROPOSED).fill_null(False).any().alias("involves_proposed"),
        )
    )
    several = (
        several.join(gathered, on=_ROW, how="left")
        .with_columns(medicines=medicines_expr(pl.col("names")), refs=pl.col("refs").list.sort())
        .select(one.columns)
    )
    return pl.concat([none, one, several])
