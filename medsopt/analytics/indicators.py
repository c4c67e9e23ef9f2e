"""Outcome indicators evaluated over a population at a date: polars plans, no I/O.

Which patients each criterion holds for is `criteria`'s. Exclusions are counted apart
(`excluded`, the first exclusion's reason per patient). Rates are numerator / denominator per
practice and for the whole ICB; a practice with an empty denominator has no rate (null), never
0%, and an indicator with an empty codelist is not measurable: its counts and rate are null and
`not_measurable` says why.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from medsopt.analytics.compile import IndicatorSet, not_measurable
from medsopt.analytics.criteria import (
    PATIENT_ID,
    PRACTICE_ID,
    Evaluator,
    PopulationData,
    read_sets,
)
from medsopt.analytics.models import Indicator

ICB = "ICB"  # the practice_id of the ICB-level row
RATE_SCHEMA: dict[str, pl.DataType] = {
    "indicator_id": pl.String(),
    "on": pl.Date(),
    "level": pl.String(),  # practice | icb
    PRACTICE_ID: pl.String(),
    "denominator": pl.UInt32(),  # after exclusions
    "numerator": pl.UInt32(),
    "excluded": pl.UInt32(),  # met the denominator but an exclusion holds (PCA, resolved...)
    "rate": pl.Float64(),  # percent; null where the denominator is 0 or not measurable
    "not_measurable": pl.String(),  # why no count is given (a codelist is empty); else null
}
EXCLUSION_SCHEMA: dict[str, pl.DataType] = {
    "indicator_id": pl.String(),
    "on": pl.Date(),
    "level": pl.String(),
    PRACTICE_ID: pl.String(),
    "reason": pl.String(),
    "patients": pl.UInt32(),
}


def practice_counts(patient_rows: pl.LazyFrame) -> pl.LazyFrame:
    """Denominator (after exclusions), numerator and excluded per indicator, date and practice.

    Counts of disjoint sets of patients add up (`rates_from_counts` takes their sum), so
    partitions of the population can be counted apart.
    """
    counted = pl.col("excluded").is_null()
    return patient_rows.group_by("indicator_id", "on", PRACTICE_ID).agg(
        counted.sum().cast(pl.UInt32).alias("denominator"),
        pl.col("numerator").sum().cast(pl.UInt32).alias("numerator"),
        (~counted).sum().cast(pl.UInt32).alias("excluded"),
    )


def rates_from_counts(practice: pl.LazyFrame, grid: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Rates per indicator, date and practice, and for the ICB, from `practice_counts` (summed
    over every practice's rows, e.g. several partitions' counts of the same practice).

    `grid` (indicator_id, on): the ICB row of each is kept even when nobody is counted
    (denominator 0, rate null).
    """
    summed = [pl.col("denominator", "numerator", "excluded").sum().cast(pl.UInt32)]
    practice = practice.group_by("indicator_id", "on", PRACTICE_ID).agg(summed)
    icb = practice.group_by("indicator_id", "on").agg(summed)
    if grid is not None:
        icb = grid.join(icb, on=["indicator_id", "on"], how="left").with_columns(
            pl.col("denominator", "numerator", "excluded").fill_null(0)
        )
    frames = [
        practice.with_columns(level=pl.lit("practice")),
        icb.with_columns(level=pl.lit("icb"), **{PRACTICE_ID: pl.lit(ICB)}),
    ]
    rate = pl.when(pl.col("denominator") > 0).then(
        100.0 * pl.col("numerator") / pl.col("denominator")
    )
    return (
        pl.concat(frames, how="diagonal")
        .with_columns(rate=rate, not_measurable=pl.lit(None, dtype=pl.String))
        .select(list(RATE_SCHEMA))
        .sort("indicator_id", "on", "level", PRACTICE_ID)
    )


def rates(patient_rows: pl.LazyFrame, grid: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Numerator, denominator (after exclusions), excluded and rate per indicator, date and
    practice, and for the ICB (`grid`: see `rates_from_counts`)."""
    return rates_from_counts(practice_counts(patient_rows), grid)


def exclusion_practice_counts(patient_rows: pl.LazyFrame) -> pl.LazyFrame:
    """Excluded patients per indicator, date, reason and practice (they add up as counts)."""
    excluded = patient_rows.filter(pl.col("excluded").is_not_null()).rename({"excluded": "reason"})
    return excluded.group_by("indicator_id", "on", "reason", PRACTICE_ID).agg(
        pl.len().cast(pl.UInt32).alias("patients")
    )


def exclusions_from_counts(practice: pl.LazyFrame) -> pl.LazyFrame:
    """Excluded patients per indicator, date, practice (and ICB) and reason, from
    `exclusion_practice_counts` (summed over every practice's rows)."""
    keys = ("indicator_id", "on", "reason")
    summed = pl.col("patients").sum().cast(pl.UInt32)
    practice = practice.group_by(*keys, PRACTICE_ID).agg(summed)
    icb = practice.group_by(*keys).agg(summed)
    return (
        pl.concat(
            [
                practice.with_columns(level=pl.lit("practice")),
                icb.with_columns(level=pl.lit("icb"), **{PRACTICE_ID: pl.lit(ICB)}),
            ],
            how="diagonal",
        )
        .select(list(EXCLUSION_SCHEMA))
        .sort("indicator_id", "on", "level", PRACTICE_ID, "reason")
    )


def unmeasured_rates(
    unmeasured: Sequence[tuple[str, str]], practices: pl.Series, dates: Sequence[datetime.date]
) -> pl.DataFrame:
    """Rows (`RATE_SCHEMA`) for indicators that cannot be measured: every count null and why.

    `unmeasured`: (indicator id, reason); one row per date for every practice and the ICB.
    """
    places = [("practice", str(p)) for p in practices.unique().sort().to_list()]
    rows = [
        (indicator, on, level, place, None, None, None, None, why)
        for indicator, why in unmeasured
        for on in dates
        for level, place in [*places, ("icb", ICB)]
    ]
    return pl.DataFrame(rows, schema=RATE_SCHEMA, orient="row")


def unmeasurable(indicators: IndicatorSet) -> list[tuple[str, str]]:
    """(indicator id, why) of each indicator that cannot be measured (an empty codelist)."""
    why = {i.id: not_measurable(i, indicators.codelists) for i in indicators.indicators}
    return [(i, reason) for i, reason in why.items() if reason is not None]


def _measured(indicators: IndicatorSet) -> list[Indicator]:
    return [i for i in indicators.indicators if not_measurable(i, indicators.codelists) is None]


PATIENT_ROW_SCHEMA: dict[str, pl.DataType] = {
    "indicator_id": pl.String(),
    "on": pl.Date(),
    PATIENT_ID: pl.String(),
    PRACTICE_ID: pl.String(),
    "numerator": pl.Boolean(),
    "excluded": pl.String(),
}


def patient_rows(
    indicators: IndicatorSet, data: PopulationData, dates: Sequence[datetime.date]
) -> pl.DataFrame:
    """Every measurable indicator's denominator patients at every date: numerator true or
    false, and the exclusion that removes them (null: counted)."""
    measured = _measured(indicators)
    read = read_sets(c for i in measured for c in (*i.denominator, *i.numerator, *i.exclusions))
    evaluator = Evaluator(data, read, dates)
    plans = [evaluator.patients_plan(i, on) for i in measured for on in dates]
    frames = pl.collect_all(plans) if plans else []
    return pl.concat(frames) if frames else pl.DataFrame(schema=PATIENT_ROW_SCHEMA)


def date_grid(indicators: IndicatorSet, dates: Sequence[datetime.date]) -> pl.LazyFrame:
    """indicator_id, on: every measurable indicator at every date (each has an ICB row)."""
    return pl.LazyFrame(
        [(i.id, on) for i in _measured(indicators) for on in dates],
        schema={"indicator_id": pl.String, "on": pl.Date},
        orient="row",
    )


def with_unmeasured(
    rated: pl.DataFrame,
    indicators: IndicatorSet,
    practices: pl.Series,
    dates: Sequence[datetime.date],
) -> pl.DataFrame:
    """The measured rates with a not-measurable row for every other indicator."""
    unmeasured = unmeasured_rates(unmeasurable(indicators), practices, dates)
    return pl.concat([rated, unmeasured]).sort("indicator_id", "on", "level", PRACTICE_ID)


@dataclass(frozen=True, slots=True)
class Evaluated:
    """What `evaluate` gives: rates and exclusion counts at every date, patient rows at the
    last date."""

    rates: pl.DataFrame  # RATE_SCHEMA
    exclusions: pl.DataFrame  # EXCLUSION_SCHEMA
    patient_rows: pl.DataFrame  # indicator_id, on, patient_id, practice_id, numerator, excluded


def evaluate(
    indicators: IndicatorSet, data: PopulationData, dates: Sequence[datetime.date]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rates at every date, patient rows at the last date) for every indicator."""
    done = evaluate_all(indicators, data, dates)
    return done.rates, done.patient_rows


def evaluate_all(
    indicators: IndicatorSet, data: PopulationData, dates: Sequence[datetime.date]
) -> Evaluated:
    """Every indicator at every date; those with an empty codelist are reported not measurable
    (null counts, a reason), never as a rate of 0%."""
    rows = patient_rows(indicators, data, dates)
    rated = rates(rows.lazy(), date_grid(indicators, dates)).collect()
    practices = data.patients[PRACTICE_ID].drop_nulls()
    return Evaluated(
        with_unmeasured(rated, indicators, practices, dates),
        exclusions_from_counts(exclusion_practice_counts(rows.lazy())).collect(),
        rows.filter(pl.col("on") == max(dates)),
    )


def gaps(patient_rows: pl.DataFrame, indicators: IndicatorSet) -> pl.DataFrame:
    """Patients an indicator flags, with its worklist reason.

    Higher-is-better: in the denominator and not the numerator; lower-is-better (PINCER): in
    the numerator.
    """
    table = pl.DataFrame(
        [(i.id, i.better == "higher", i.gap, i.status) for i in indicators.indicators],
        schema={
            "indicator_id": pl.String,
            "higher": pl.Boolean,
            "reason": pl.String,
            "status": pl.String,
        },
        orient="row",
    )
    return (
        patient_rows.join(table, on="indicator_id")
        .filter(pl.col("excluded").is_null(), pl.col("numerator") != pl.col("higher"))
        .select(PATIENT_ID, PRACTICE_ID, "indicator_id", "reason", "status")
        .sort(PATIENT_ID, "indicator_id")
    )
