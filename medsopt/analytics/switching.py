"""Patients still to switch to a best-value biologic, each with the exception that explains it.

A patient is *still to switch* at a month's end while their latest item of the molecule, within
`uptake.CURRENT_DAYS`, is the originator (as `uptake.monthly_uptake` counts them). Each gets one
exception, the first that applies in `EXCEPTIONS` order, from what dispensing can show:

- `no-like-for-like`: no biosimilar shares the originator product's generic (VMP: the same
  strength and form), so there is no like-for-like switch to offer from the formulary table;
- `back-on-originator`: a biosimilar was dispensed before and the originator is back, which is
  what a failed switch looks like (the engine's `failed-switch` exception, recorded at the point
  of care; check the record before offering it again);
- `recently-started`: the first item of the molecule was within `RECENT_DAYS`; initiation is by
  the specialist team, so the switch is usually offered at the first review;
- `none-recorded`: no exception recorded.

A recorded decline or failed switch is not in the scan's inputs: /work/shared/snomed holds no
SNOMED CT cluster for either, so none is invented; the point of care carries them instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.analytics.criteria import PATIENT_ID, PRACTICE_ID
from medsopt.analytics.indicators import ICB
from medsopt.analytics.uptake import CURRENT_DAYS

RECENT_DAYS = 90
# exception -> what the worklist and the report say; in the order they are tried.
EXCEPTIONS = {
    "no-like-for-like": "no biosimilar of the same product (VMP): no like-for-like switch",
    "back-on-originator": "back on the originator after a biosimilar: possible failed switch, "
    "check the record",
    "recently-started": f"started within {RECENT_DAYS} days: offer the switch at the first review",
    "none-recorded": "no exception recorded",
}
COUNT_KEYS = ("molecule", "molecule_name", "month", "level", PRACTICE_ID, "exception")


def to_switch_by_month(items: pl.LazyFrame, months: Sequence[datetime.date]) -> pl.DataFrame:
    """One row per patient still to switch, molecule and month end, with their exception.

    `items`: `uptake.biologic_items`. Columns: patient_id, practice_id, molecule,
    molecule_name, month, brand, latest_on, first_on, exception, exception_text.
    """
    month_frame = pl.LazyFrame({"month": list(months)}, schema={"month": pl.Date})
    positions = (
        items.drop("month")
        .join(month_frame, how="cross")
        .filter(pl.col("dispensed_on") <= pl.col("month"))
        .sort("dispensed_on", "item")
        .group_by(PATIENT_ID, "molecule", "molecule_name", "month")
        .agg(
            pl.col(PRACTICE_ID, "brand", "role", "has_biosimilar").last(),
            pl.col("dispensed_on").last().alias("latest_on"),
            pl.col("dispensed_on").first().alias("first_on"),
            (pl.col("role") == "biosimilar").any().alias("had_biosimilar"),
        )
    )
    current = (pl.col("month") - pl.col("latest_on")).dt.total_days() < CURRENT_DAYS
    recent = (pl.col("month") - pl.col("first_on")).dt.total_days() < RECENT_DAYS
    exception = (
        pl.when(~pl.col("has_biosimilar"))
        .then(pl.lit("no-like-for-like"))
        .when(pl.col("had_biosimilar"))
        .then(pl.lit("back-on-originator"))
        .when(recent)
        .then(pl.lit("recently-started"))
        .otherwise(pl.lit("none-recorded"))
    )
    texts = pl.DataFrame(
        {"exception": list(EXCEPTIONS), "exception_text": list(EXCEPTIONS.values())}
    )
    return (
        positions.filter(current & (pl.col("role") == "originator"))
        .with_columns(exception=exception)
        .join(texts.lazy(), on="exception")
        .select(
            PATIENT_ID,
            PRACTICE_ID,
            "molecule",
            "molecule_name",
            "month",
            "brand",
            "latest_on",
            "first_on",
            "exception",
            "exception_text",
        )
        .sort("month", PATIENT_ID, "molecule")
        .collect()
    )


def to_switch_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """Patients still to switch per molecule, month, practice (and ICB) and exception."""
    levels = pl.concat(
        [
            rows.with_columns(level=pl.lit("practice")),
            rows.with_columns(level=pl.lit("icb"), **{PRACTICE_ID: pl.lit(ICB)}),
        ]
    )
    return (
        levels.group_by(COUNT_KEYS)
        .agg(pl.len().cast(pl.UInt32).alias("patients"))
        .select(*COUNT_KEYS, "patients")
        .sort("molecule_name", "month", "level", PRACTICE_ID, "exception")
    )


def worklist_reasons(rows: pl.DataFrame) -> pl.DataFrame:
    """patient_id, biosimilar_to_switch: "Adalimumab: Humira, no exception recorded; ..."."""
    return (
        rows.sort(PATIENT_ID, "molecule_name")
        .group_by(PATIENT_ID, maintain_order=True)
        .agg(
            (
                pl.col("molecule_name")
                + pl.lit(": ")
                + pl.col("brand")
                + pl.lit(", ")
                + pl.col("exception_text")
            )
            .str.join("; ")
            .alias("biosimilar_to_switch")
        )
    )
