"""Practices compared over time, as OpenPrescribing shows measures: every indicator and uptake
measure as a monthly value per practice, the ICB's deciles of those values each month, who is
an outlier this month and who moved since the month before.

Deciles are over practices with a non-empty denominator that month (linear interpolation, so
the 50th is the median). A practice with an empty denominator has no value, never 0%.
"""

from __future__ import annotations

import polars as pl

from medsopt.analytics.criteria import PRACTICE_ID

DECILES = tuple(range(10, 100, 10))
SERIES_SCHEMA: dict[str, pl.DataType] = {
    "measure_id": pl.String(),
    "title": pl.String(),
    "kind": pl.String(),  # indicator | uptake
    "better": pl.String(),  # higher | lower
    "month": pl.Date(),
    "level": pl.String(),
    PRACTICE_ID: pl.String(),
    "numerator": pl.UInt32(),
    "denominator": pl.UInt32(),
    "value": pl.Float64(),  # percent; null where the denominator is 0
    "not_measurable": pl.String(),  # why an indicator has no value at all (empty codelist)
}


def indicator_series(rates: pl.DataFrame, titles: pl.DataFrame) -> pl.DataFrame:
    """Indicator rates (`indicators.RATE_SCHEMA`) as measure rows.

    `titles`: measure_id, title, better (one row per indicator).
    """
    return (
        rates.rename({"indicator_id": "measure_id", "on": "month", "rate": "value"})
        .join(titles, on="measure_id")
        .with_columns(kind=pl.lit("indicator"))
        .select(list(SERIES_SCHEMA))
    )


def uptake_series(uptake: pl.DataFrame) -> pl.DataFrame:
    """Best-value share of items per molecule as measure rows (id `BIO-<molecule name>`)."""
    return uptake.select(
        (
            pl.lit("BIO-") + pl.col("molecule_name").str.to_lowercase().str.replace_all(" ", "-")
        ).alias("measure_id"),
        (pl.col("molecule_name") + pl.lit(": items on a best-value brand")).alias("title"),
        pl.lit("uptake").alias("kind"),
        pl.lit("higher").alias("better"),
        "month",
        "level",
        PRACTICE_ID,
        pl.col("items_best_value").cast(pl.UInt32).alias("numerator"),
        pl.col("items").cast(pl.UInt32).alias("denominator"),
        pl.col("share_items_best_value").alias("value"),
        pl.lit(None, dtype=pl.String).alias("not_measurable"),
    )


def deciles(series: pl.DataFrame) -> pl.DataFrame:
    """measure_id, month, p10 ... p90 over the practices with a value that month."""
    practices = series.filter((pl.col("level") == "practice") & pl.col("value").is_not_null())
    return (
        practices.group_by("measure_id", "month")
        .agg(
            pl.len().alias("practices"),
            *(
                pl.col("value").quantile(d / 100, interpolation="linear").alias(f"p{d}")
                for d in DECILES
            ),
        )
        .sort("measure_id", "month")
    )


def with_percentiles(series: pl.DataFrame) -> pl.DataFrame:
    """Practice rows with their percentile among the ICB's practices that month (0-100)."""
    practices = series.filter((pl.col("level") == "practice") & pl.col("value").is_not_null())
    group = ("measure_id", "month")
    rank = pl.col("value").rank("average").over(group)
    count = pl.len().over(group)
    percentile = pl.when(count > 1).then(100.0 * (rank - 1) / (count - 1)).otherwise(50.0)
    return practices.with_columns(percentile=percentile).sort("measure_id", PRACTICE_ID, "month")


def outliers_and_movers(series: pl.DataFrame, bands: pl.DataFrame) -> pl.DataFrame:
    """Each practice's latest month per measure: its value, percentile, change since the month
    before, whether it is outside the ICB's 10th-90th band and whether it is on the worse side.

    Sorted worst first (for lower-is-better measures a high value is worse).
    """
    ranked = with_percentiles(series)
    ranked = ranked.with_columns(
        previous_percentile=pl.col("percentile").shift(1).over("measure_id", PRACTICE_ID),
        previous_value=pl.col("value").shift(1).over("measure_id", PRACTICE_ID),
    )
    latest = ranked.filter(pl.col("month") == pl.col("month").max().over("measure_id"))
    worse = (
        pl.when(pl.col("better") == "higher")
        .then(pl.col("value") < pl.col("p10"))
        .otherwise(pl.col("value") > pl.col("p90"))
    )
    outside = (pl.col("value") < pl.col("p10")) | (pl.col("value") > pl.col("p90"))
    badness = pl.when(pl.col("better") == "higher").then(-pl.col("percentile"))
    return (
        latest.join(bands.select("measure_id", "month", "p10", "p90"), on=["measure_id", "month"])
        .with_columns(
            outlier=outside,
            worse_outlier=worse,
            percentile_change=pl.col("percentile") - pl.col("previous_percentile"),
            value_change=pl.col("value") - pl.col("previous_value"),
        )
        .with_columns(badness=badness.otherwise(pl.col("percentile")))
        .sort("measure_id", "badness", descending=[False, True])
        .drop("badness")
    )
