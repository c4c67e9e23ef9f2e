"""Proportion of days covered (PQA method) by interval arithmetic, never one row per day.

Per patient and class, over fills dispensed in the measurement period (`period_days` days
ending on `as_of`, inclusive):

1. Same molecule, same day: the fill with the longest supply counts (PQA).
2. Same-molecule early refills start when the previous supply ends. With S = running sum of
   supply and d = dispense day, the shifted end is E_i = S_i + max_{j<=i}(d_j - S_{j-1}),
   one cumulative sum and one cumulative max per molecule.
3. Supplies of different molecules in the class overlap freely (a switch is counted once):
   sorted by start, each interval adds the part beyond the running max of earlier ends.
4. Supply beyond `as_of` is truncated; PDC = covered days / days from index date to `as_of`.

Eligibility: fills on at least 2 different dates, index date at least 91 days before the end.
Ineligible patient-classes keep their row with `pdc` null and the reason.

Segmented cumulative operations run on one sorted frame: a group number times a large offset
is added before a global `cum_max`, so one pass serves every group.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import polars as pl

from medsopt.scan import keys
from medsopt.scan import schema as s

ADHERENT_AT = 0.80  # PQA threshold: PDC below 0.80 is non-adherent
MIN_DAYS_BEFORE_END = 91  # PQA: index date at least 91 days before the end of the period
_OFFSET = 1 << 32  # larger than any day number or running supply sum in one group


@dataclass(frozen=True, slots=True)
class Period:
    """The measurement period: `days` days ending on `as_of` (inclusive)."""

    as_of: datetime.date
    days: int = 365

    def __post_init__(self) -> None:
        if self.days < MIN_DAYS_BEFORE_END + 1:
            raise ValueError(f"period_days must be at least {MIN_DAYS_BEFORE_END + 1}")

    @property
    def start(self) -> datetime.date:
        return self.as_of - datetime.timedelta(days=self.days - 1)


def _day(date: datetime.date) -> int:
    return (date - datetime.date(1970, 1, 1)).days


def _segmented_cum_max(values: pl.Expr, group: pl.Expr) -> pl.Expr:
    """Cumulative max restarting at each group, for rows sorted by group (ascending)."""
    shift = group.cast(pl.Int64) * _OFFSET
    return (values.cast(pl.Int64) + shift).cum_max() - shift


def pdc(
    fills: pl.LazyFrame,
    period: Period,
    late_grace_days: int = 7,
    horizon_days: int = 90,
) -> pl.LazyFrame:
    """One row per patient and class: PDC, eligibility and what a pharmacist needs to act.

    `fills`: patient_id, drug_class, molecule, dispensed_on (Date), days_supply (Int) and
    optionally supply_method. `horizon_days` sets the look-ahead of `best_pdc_next_review`.
    Text keys are dictionary-encoded here and the work done by `keyed_pdc`.
    """
    names = fills.collect_schema().names()
    guessed = (
        (pl.col("supply_method") == "quantity_as_days")
        if "supply_method" in names
        else pl.lit(False)
    )
    frame = fills.select(
        s.PATIENT_ID, "drug_class", "molecule", s.DISPENSED_ON, s.DAYS_SUPPLY, guessed=guessed
    ).collect()
    patients, classes = (keys.distinct(frame[c]) for c in (s.PATIENT_ID, "drug_class"))
    molecules = keys.distinct(frame["molecule"])
    keyed = frame.select(
        patient=keys.position(pl.col(s.PATIENT_ID), patients),
        drug_class=keys.position(pl.col("drug_class"), classes),
        molecule=keys.position(pl.col("molecule"), molecules).fill_null(len(molecules)),
        d=pl.col(s.DISPENSED_ON).cast(pl.Int32),
        ds=pl.col(s.DAYS_SUPPLY).cast(pl.Int64),
        guessed="guessed",
    )
    return named(keyed_pdc(keyed, period, late_grace_days, horizon_days), patients, classes).lazy()


def named(result: pl.DataFrame, patients: pl.Series, classes: pl.Series) -> pl.DataFrame:
    """`keyed_pdc`'s result with patient_id and drug_class instead of their positions."""
    return result.with_columns(
        keys.lookup_position(pl.col("patient"), patients).alias("patient"),
        keys.lookup_position(pl.col("drug_class"), classes),
    ).rename({"patient": s.PATIENT_ID})


def keyed_pdc(
    fills: pl.DataFrame, period: Period, late_grace_days: int = 7, horizon_days: int = 90
) -> pl.DataFrame:
    """`pdc` over integer keys: `fills` has patient, drug_class, molecule (positions, UInt32;
    a molecule's position is unique across classes or within its class), d (day number),
    ds (days' supply, Int64) and guessed (quantity taken as days). One row per patient and
    class, sorted by patient then class (positions: text order when the keys are sorted)."""
    start, end = _day(period.start), _day(period.as_of) + 1  # end is exclusive
    days = end - start
    in_period = fills.filter(pl.col("d").is_between(start, end - 1))
    # One integer key per (patient, class, molecule, day): sorts and groups at integer speed.
    n_patient, n_class, n_molecule = (
        _count(in_period[c]) for c in ("patient", "drug_class", "molecule")
    )
    if n_patient * n_class * n_molecule * days >= 1 << 63:
        raise ValueError("too many patients, classes and molecules for one partition")
    molecule_key = (
        pl.col("patient").cast(pl.Int64) * n_class + pl.col("drug_class")
    ) * n_molecule + pl.col("molecule")
    # 1. Same molecule, same day: the longest supply; at equal supply a stated one is kept
    # rather than a quantity taken as days, whatever order the rows arrived in.
    by_key = in_period.select(
        key=molecule_key * days + (pl.col("d") - start),
        best=pl.col("ds") * 2 + (~pl.col("guessed")).cast(pl.Int64),
    )
    ordered = _longest(by_key).select(
        (pl.col("key") // days // n_molecule).alias("class_key"),
        (pl.col("key") // days).alias("molecule_no"),
        d=(pl.col("key") % days + start).cast(pl.Int32),
        ds=pl.col("best") // 2,
        guessed=pl.col("best") % 2 == 0,
    )
    new_class = (pl.col("class_key") != pl.col("class_key").shift(1)).fill_null(True)
    new_molecule = (pl.col("molecule_no") != pl.col("molecule_no").shift(1)).fill_null(True)
    # 2. Early refills of one molecule: shifted end E_i = S_i + cummax(d_j - S_{j-1}).
    running = pl.col("ds").cum_sum()
    shifted = (
        ordered.lazy()
        .with_columns(
            class_no=new_class.cum_sum(),
            molecule_no=new_molecule.cum_sum(),
            total=running,
            first=new_molecule,
        )
        .with_columns(
            supplied=pl.col("total")
            - pl.when(pl.col("first")).then(pl.col("total") - pl.col("ds")).forward_fill()
        )
        .with_columns(
            e=pl.col("supplied")
            + _segmented_cum_max(
                pl.col("d") - (pl.col("supplied") - pl.col("ds")), pl.col("molecule_no")
            )
        )
        .with_columns(b=pl.col("e") - pl.col("ds"))
    )
    # 3-4. Union of the class's intervals, truncated at the end of the period.
    window = start + horizon_days  # the period's start at the next review
    covered = (
        shifted.select(
            "class_key",
            "class_no",
            "d",
            "guessed",
            pl.col("b").clip(upper_bound=end).alias("b"),
            pl.col("e").clip(upper_bound=end).alias("e"),
        )
        # b runs from the fill's day (at least `start`) to `end`: one key sorts by class, b.
        .sort(
            pl.col("class_no").cast(pl.Int64) * (days + 1) + (pl.col("b") - start),
            multithreaded=False,
        )
        .with_columns(
            before=pl.when(pl.col("class_no") == pl.col("class_no").shift(1))
            .then(_segmented_cum_max(pl.col("e"), pl.col("class_no")).shift(1))
            .otherwise(pl.lit(None, dtype=pl.Int64))
        )
        .with_columns(
            add=(pl.col("e") - pl.max_horizontal("b", "before")).clip(lower_bound=0),
            add_recent=(pl.col("e") - pl.max_horizontal("b", "before", pl.lit(window))).clip(
                lower_bound=0
            ),
            late=(pl.col("b") - pl.col("before")) > late_grace_days,
        )
    )
    per_class = covered.group_by("class_key").agg(
        pl.col("d").min().alias("index_day"),
        pl.col("d").max().alias("last_day"),
        pl.len().alias("fills"),
        pl.col("add").sum().alias("covered_days"),
        pl.col("add_recent").sum().alias("covered_recent"),
        pl.col("late").sum().alias("late_refills"),
        pl.col("guessed").sum().alias("fills_quantity_as_days"),
    )
    per_class = per_class.sort("class_key", multithreaded=False).with_columns(
        patient=(pl.col("class_key") // n_class).cast(pl.UInt32),
        drug_class=(pl.col("class_key") % n_class).cast(pl.UInt32),
    )
    return _finish(per_class, end, window, horizon_days).collect()


def _longest(by_key: pl.DataFrame) -> pl.DataFrame:
    """key, best: each key once, with its largest best, sorted by key (keys are >= 0)."""
    low, high, top = by_key["best"].min(), by_key["best"].max(), by_key["key"].max()
    if isinstance(low, int) and isinstance(high, int) and isinstance(top, int) and low >= 0:
        shift = 1 << high.bit_length()  # best < shift
        if (top + 1) * shift < 1 << 63:
            # One packed integer sorts several times faster than a frame by two columns.
            packed = by_key.select(packed=pl.col("key") * shift + pl.col("best")).sort(
                "packed", multithreaded=False
            )
            key = pl.col("packed") // shift
            return packed.filter((key != key.shift(-1)).fill_null(True)).select(
                key=key, best=pl.col("packed") % shift
            )
    # Sorted by key, then best: the last row of each key's run has the largest best.
    by_key = by_key.sort("key", "best")
    return by_key.filter((pl.col("key") != pl.col("key").shift(-1)).fill_null(True))


def _count(positions: pl.Series) -> int:
    """How many positions a key column can hold (its largest value + 1; 1 when empty)."""
    largest = positions.max()
    return int(largest) + 1 if isinstance(largest, int) else 1


def _finish(per_class: pl.LazyFrame, end: int, window: int, horizon: int) -> pl.LazyFrame:
    period_days = pl.lit(end) - pl.col("index_day")
    too_late = (end - 1 - pl.col("index_day")) < MIN_DAYS_BEFORE_END
    one_date = pl.col("last_day") == pl.col("index_day")
    reason = (
        pl.when(one_date & too_late)
        .then(pl.lit("fills on one date only; index date under 91 days before the end"))
        .when(one_date)
        .then(pl.lit("fills on one date only"))
        .when(too_late)
        .then(pl.lit("index date under 91 days before the end"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    eligible = reason.is_null()
    pdc_value = pl.col("covered_days") / period_days
    best_days = pl.lit(end + horizon) - pl.max_horizontal("index_day", pl.lit(window))
    best = (pl.col("covered_recent") + horizon) / best_days
    return per_class.select(
        "patient",
        "drug_class",
        pl.col("index_day").cast(pl.Date).alias("index_date"),
        period_days.cast(pl.Int32).alias("period_days"),
        pl.col("covered_days").cast(pl.Int32),
        pl.when(eligible).then(pdc_value).otherwise(None).alias("pdc"),
        pl.when(eligible).then(pdc_value >= ADHERENT_AT).otherwise(None).alias("adherent"),
        pl.col("fills").cast(pl.Int32),
        reason.alias("ineligible_reason"),
        pl.col("late_refills").cast(pl.Int32),
        pl.when(eligible)
        .then(best.clip(upper_bound=1.0))
        .otherwise(None)
        .alias("best_pdc_next_review"),
        pl.col("fills_quantity_as_days").cast(pl.Int32),
    )
