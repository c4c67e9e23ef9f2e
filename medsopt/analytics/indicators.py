"""Outcome indicators evaluated over a population at a date: polars plans, no I/O.

Each criterion becomes a plan of the patient ids it holds for; entries of a denominator or
numerator are intersected (semi joins), `any_of` is a union, `none_of` a complement within the
population. Exclusions are counted apart (`excluded`, the first exclusion's reason per patient).
Rates are numerator / denominator per practice and for the whole ICB; a practice with an empty
denominator has no rate (null), never 0%, and an indicator with an empty codelist is not
measurable: its counts and rate are null and `not_measurable` says why.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from medsopt.analytics.compile import IndicatorSet, not_measurable
from medsopt.analytics.models import Criterion, Indicator

PATIENT_ID = "patient_id"
PRACTICE_ID = "practice_id"
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


@dataclass(frozen=True, slots=True)
class PopulationData:
    """What indicators read, already cleaned (the scan's quarantine has run).

    patients: patient_id, practice_id, age (Int), egfr (Float) - one row per patient;
    dispensed: patient_id, code, concept_code, vmp, dispensed_on (Date);
    recorded: patient_id, code, recorded_on (Date; null = undated, e.g. a problem-list code),
      value (Float);
    membership: concept_code, group (rule-set medicine groups);
    code_sets: set_id, code - "condition:<id>", "test:<id>", "codelist:<path>".
    """

    patients: pl.DataFrame
    dispensed: pl.DataFrame
    recorded: pl.DataFrame
    membership: pl.DataFrame
    code_sets: pl.DataFrame


def set_id(criterion: Criterion) -> str:
    """The code set a dated criterion reads."""
    if criterion.medicine is not None:
        return f"group:{criterion.medicine}"
    if criterion.dispensed is not None:
        return f"codelist:{criterion.dispensed}"
    if criterion.condition is not None:
        return f"condition:{criterion.condition}"
    if criterion.test is not None:
        return f"test:{criterion.test}"
    return f"codelist:{criterion.codelist}"


class Evaluator:
    """Indicator plans over one population; frames joined once, reused for every date."""

    def __init__(self, data: PopulationData) -> None:
        self.patients = data.patients.lazy().select(PATIENT_ID, PRACTICE_ID, "age", "egfr")
        by_group = data.dispensed.lazy().join(data.membership.lazy(), on="concept_code")
        by_group = by_group.select(
            PATIENT_ID, (pl.lit("group:") + pl.col("group")).alias("set_id"), "dispensed_on"
        )
        listed = data.code_sets.lazy().filter(pl.col("set_id").str.starts_with("codelist:"))
        by_list = pl.concat(
            [
                data.dispensed.lazy()
                .select(PATIENT_ID, pl.col(column).alias("code"), "dispensed_on")
                .join(listed, on="code")
                for column in ("code", "concept_code", "vmp")
            ]
        ).select(PATIENT_ID, "set_id", "dispensed_on")
        self.medicine_hits = (
            pl.concat([by_group, by_list]).unique().collect().lazy()
        )  # one pass, read by every criterion
        self.event_hits = (
            data.recorded.lazy()
            .join(data.code_sets.lazy(), on="code")
            .select(PATIENT_ID, "set_id", "recorded_on", "value")
            .collect()
            .lazy()
        )

    def holds(self, criterion: Criterion, on: datetime.date) -> pl.LazyFrame:
        """Patient ids for whom `criterion` holds on `on`."""
        day = pl.lit(on, dtype=pl.Date)
        if criterion.any_of:
            return pl.concat([self.holds(c, on) for c in criterion.any_of]).unique()
        if criterion.none_of:
            hit = pl.concat([self.holds(c, on) for c in criterion.none_of])
            return self.patients.select(PATIENT_ID).join(hit, on=PATIENT_ID, how="anti")
        if criterion.age_at_least is not None:
            return self.patients.filter(pl.col("age") >= criterion.age_at_least).select(PATIENT_ID)
        if criterion.egfr_below is not None:
            return self.patients.filter(pl.col("egfr") < criterion.egfr_below).select(PATIENT_ID)
        since = (
            day - pl.duration(days=criterion.within_days)
            if criterion.within_days is not None
            else None
        )
        if criterion.medicine is not None or criterion.dispensed is not None:
            assert since is not None  # the model requires a window for dispensing
            return (
                self.medicine_hits.filter(
                    (pl.col("set_id") == set_id(criterion))
                    & (pl.col("dispensed_on") > since)
                    & (pl.col("dispensed_on") <= day)
                )
                .select(PATIENT_ID)
                .unique()
            )
        # Undated codes (the patient file's condition list) hold at any date, in no window.
        hits = self.event_hits.filter(
            (pl.col("set_id") == set_id(criterion))
            & (pl.col("recorded_on").is_null() | (pl.col("recorded_on") <= day))
        )
        if since is not None:
            hits = hits.filter(pl.col("recorded_on") > since)
        if criterion.first_recorded_within_days is not None:
            cutoff = day - pl.duration(days=criterion.first_recorded_within_days)
            first = hits.group_by(PATIENT_ID).agg(
                pl.col("recorded_on").min().alias("first"),
                pl.col("recorded_on").is_null().any().alias("undated"),
            )
            return first.filter(~pl.col("undated") & (pl.col("first") > cutoff)).select(PATIENT_ID)
        if criterion.latest_value_at_least is not None:
            latest = hits.filter(pl.col("recorded_on").is_not_null()).sort("recorded_on")
            return (
                latest.group_by(PATIENT_ID)
                .agg(pl.col("value").last())
                .filter(pl.col("value") >= criterion.latest_value_at_least)
                .select(PATIENT_ID)
            )
        return hits.select(PATIENT_ID).unique()

    def all_hold(self, criteria: Sequence[Criterion], on: datetime.date) -> pl.LazyFrame:
        """Patients (id, practice) for whom every criterion holds."""
        plan = self.patients.select(PATIENT_ID, PRACTICE_ID)
        for criterion in criteria:
            plan = plan.join(self.holds(criterion, on), on=PATIENT_ID, how="semi")
        return plan

    def patients_plan(self, indicator: Indicator, on: datetime.date) -> pl.LazyFrame:
        """Denominator patients with `numerator` true or false and `excluded`: the reason of
        the first exclusion that holds (null: counted). Excluded patients are never in the
        numerator."""
        eligible = self.all_hold(indicator.denominator, on)
        reasons = [
            self.holds(e, on).with_columns(reason=pl.lit(e.reason), order=pl.lit(index))
            for index, e in enumerate(indicator.exclusions)
        ]
        if reasons:
            first = (
                pl.concat(reasons)
                .sort("order")
                .group_by(PATIENT_ID)
                .agg(pl.col("reason").first().alias("excluded"))
            )
            eligible = eligible.join(first, on=PATIENT_ID, how="left")
        else:
            eligible = eligible.with_columns(excluded=pl.lit(None, dtype=pl.String))
        numerator = self.all_hold(indicator.numerator, on).select(
            PATIENT_ID, numerator=pl.lit(True)
        )
        return eligible.join(numerator, on=PATIENT_ID, how="left").select(
            pl.lit(indicator.id).alias("indicator_id"),
            pl.lit(on, dtype=pl.Date).alias("on"),
            PATIENT_ID,
            PRACTICE_ID,
            (pl.col("numerator").fill_null(False) & pl.col("excluded").is_null()).alias(
                "numerator"
            ),
            "excluded",
        )


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
    evaluator = Evaluator(data)
    plans = [evaluator.patients_plan(i, on) for i in _measured(indicators) for on in dates]
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
