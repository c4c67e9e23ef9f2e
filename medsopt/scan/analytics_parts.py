"""The analytics partition by partition: what one partition's patients add to each analytics
output, and those parts combined into the outputs `analytics_run.run_analytics` gives for every
patient at once.

Every patient is in one partition and has one practice, so counts per practice and month add
up across partitions (indicator numerators and denominators, uptake items and patients), and
the per-patient rows (indicator gaps, patients to switch) are the partitions' rows together.
Only these parts leave a partition (a Spark task); the comparisons across practices (series,
deciles, outliers) are made once from the sums.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from medsopt.analytics.indicators import (
    PATIENT_ID,
    date_grid,
    gaps,
    patient_rows,
    practice_counts,
    rates_from_counts,
)
from medsopt.analytics.uptake import (
    biologic_items,
    patients_to_switch,
    summed_uptake_counts,
    uptake_counts,
    uptake_shares,
)
from medsopt.scan.analytics_inputs import PatientTables, population_inputs
from medsopt.scan.analytics_run import AnalyticsPlan, compared
from medsopt.scan.tables import ScanTables

# What each partition returns (frames with these names; see `analytics_parts`).
PARTS = (
    "indicator_counts",  # indicator_id, on, practice_id, denominator, numerator
    "indicator_gaps",  # per patient and indicator (as indicator_gaps.parquet)
    "uptake_counts",  # per molecule, month and practice (and ICB): counts and priced sums
    "biosimilar_to_switch",  # per patient and molecule (as biosimilar_to_switch.parquet)
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
        "indicator_gaps": gaps(rows.filter(pl.col("on") == as_of), plan.indicators),
        "uptake_counts": uptake_counts(items, plan.months).collect(),
        "biosimilar_to_switch": patients_to_switch(items, as_of),
    }
    assert tuple(results) == PARTS
    return results


def combined(parts: Mapping[str, pl.DataFrame], plan: AnalyticsPlan) -> dict[str, pl.DataFrame]:
    """Every analytics output (`analytics_run.ANALYTICS_FILES`) from all partitions' parts."""
    rates = rates_from_counts(
        parts["indicator_counts"].lazy(), date_grid(plan.indicators, plan.months)
    ).collect()
    uptake = uptake_shares(summed_uptake_counts(parts["uptake_counts"].lazy()))
    return {
        "indicators": rates,
        # In the order `gaps` and `patients_to_switch` give them.
        "indicator_gaps": parts["indicator_gaps"].sort(PATIENT_ID, "indicator_id"),
        "uptake": uptake,
        "biosimilar_to_switch": parts["biosimilar_to_switch"].sort(PATIENT_ID, "molecule"),
        **compared(rates, uptake, plan.indicators),
    }
