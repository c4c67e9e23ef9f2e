"""The analytics partition by partition: what one partition's patients add to each analytics
output, and those parts combined into the outputs `analytics_run.run_analytics` gives for every
patient at once.

Every patient is in one partition and has one practice, so counts per practice and month add
up across partitions (indicator numerators and denominators, uptake items and patients), and
the per-patient rows (indicator gaps, patients to switch) are the partitions' rows together.
Indicators that cannot be measured get their rows for every practice any partition has.
Only these parts leave a partition (a Spark task); the comparisons across practices (series,
deciles, outliers) are made once from the sums.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

import polars as pl

from medsopt.analytics.criteria import PATIENT_ID, PRACTICE_ID
from medsopt.analytics.indicators import (
    date_grid,
    exclusion_practice_counts,
    exclusions_from_counts,
    gaps,
    patient_rows,
    practice_counts,
    rates_from_counts,
    with_unmeasured,
)
from medsopt.analytics.switching import to_switch_by_month, to_switch_counts, worklist_reasons
from medsopt.analytics.uptake import (
    biologic_items,
    summed_uptake_counts,
    uptake_counts,
    uptake_shares,
)
from medsopt.scan.analytics_inputs import PatientTables, population_inputs
from medsopt.scan.analytics_run import AnalyticsPlan, compared
from medsopt.scan.tables import ScanTables

# What each partition returns (frames with these names; see `analytics_parts`).
PARTS = (
    "indicator_counts",  # indicator_id, on, practice_id, denominator, numerator, excluded
    "indicator_exclusion_counts",  # indicator_id, on, reason, practice_id, patients
    "indicator_gaps",  # per patient and indicator (as indicator_gaps.parquet)
    "uptake_counts",  # per molecule, month and practice (and ICB): counts and priced sums
    "biosimilar_to_switch",  # per patient, molecule and month end, with the exception
    "indicator_practices",  # practice_id of the partition's patients (not the scan's `practices`)
)


def analytics_parts(
    parts: PatientTables, tables: ScanTables, plan: AnalyticsPlan
) -> dict[str, pl.DataFrame]:
    """One partition's share of every analytics output (`PARTS`), from its patients' tables."""
    inputs = population_inputs(parts, tables, plan.indicators)
    rows = patient_rows(plan.indicators, inputs.population, plan.months)
    as_of = max(plan.months)
    # Materialised once: uptake and the patients to switch both read the numbered items.
    items = (
        biologic_items(inputs.fills.lazy(), plan.products, plan.preferred, plan.prices)
        .collect()
        .lazy()
    )
    results = {
        "indicator_counts": practice_counts(rows.lazy()).collect(),
        "indicator_exclusion_counts": exclusion_practice_counts(rows.lazy()).collect(),
        "indicator_gaps": gaps(rows.filter(pl.col("on") == as_of), plan.indicators),
        "uptake_counts": uptake_counts(items, plan.months).collect(),
        "biosimilar_to_switch": to_switch_by_month(items, plan.months),
        "indicator_practices": inputs.population.patients.select(PRACTICE_ID).drop_nulls().unique(),
    }
    assert tuple(results) == PARTS
    return results


def combined(parts: Mapping[str, pl.DataFrame], plan: AnalyticsPlan) -> dict[str, pl.DataFrame]:
    """Every analytics output (`analytics_run.ANALYTICS_FILES`) from all partitions' parts;
    `indicator_gaps` only if its parts are given (the polars engine writes them as parts)."""
    measured = rates_from_counts(
        parts["indicator_counts"].lazy(), date_grid(plan.indicators, plan.months)
    ).collect()
    practices = parts["indicator_practices"][PRACTICE_ID]
    rates = with_unmeasured(measured, plan.indicators, practices, plan.months)
    uptake = uptake_shares(summed_uptake_counts(parts["uptake_counts"].lazy()))
    # In the order `to_switch_by_month` gives them.
    to_switch = parts["biosimilar_to_switch"].sort("month", PATIENT_ID, "molecule")
    return {
        "indicators": rates,
        "indicator_exclusions": exclusions_from_counts(
            parts["indicator_exclusion_counts"].lazy()
        ).collect(),
        # In the order `gaps` gives them.
        **(
            {"indicator_gaps": parts["indicator_gaps"].sort(PATIENT_ID, "indicator_id")}
            if "indicator_gaps" in parts
            else {}
        ),
        "uptake": uptake,
        "biosimilar_to_switch": to_switch.filter(pl.col("month") == max(plan.months)),
        "biosimilar_to_switch_counts": to_switch_counts(to_switch),
        **compared(rates, uptake, plan.indicators),
    }


def with_worklist_columns(
    scores: pl.DataFrame, parts: Mapping[str, pl.DataFrame], as_of: datetime.date
) -> pl.DataFrame:
    """Worklist rows (`worklist.worklist_rows`) with what the analytics add for each patient:
    `indicator_gaps` (the active indicators' reasons) and `biosimilar_to_switch` (molecule,
    brand and exception of each originator still to switch at `as_of`), from the parts of the
    same patients (a partition's, or every partition's combined)."""
    reasons = (
        parts["indicator_gaps"]
        .filter(pl.col("status") == "active")
        .group_by(PATIENT_ID)
        .agg(pl.col("reason").sort().str.join("; ").alias("indicator_gaps"))
    )
    switches = worklist_reasons(parts["biosimilar_to_switch"].filter(pl.col("month") == as_of))
    return scores.join(reasons, on=PATIENT_ID, how="left", maintain_order="left").join(
        switches, on=PATIENT_ID, how="left", maintain_order="left"
    )
