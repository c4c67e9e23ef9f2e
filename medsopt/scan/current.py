"""Which dispensed medicines a patient is on now, from dispensing recency.

A code is current on `as_of` when it was last dispensed within `current_days` days (default
90: a 28- or 56-day repeat plus slack), or when its last supply still runs on `as_of`. Its
start date is the first dispensing seen, which is what duration rules measure from.
"""

from __future__ import annotations

import datetime

import polars as pl

from medsopt.scan import schema as s

CURRENT_DAYS = 90


def current_medicines(
    fills: pl.LazyFrame, as_of: datetime.date, current_days: int = CURRENT_DAYS
) -> pl.LazyFrame:
    """patient_id, code, start_date, last_dispensed_on for every current medicine.

    `fills`: clean fills with `days_supply` derived (`supply.with_days_supply`).
    """
    return (
        fills.group_by(s.PATIENT_ID, s.CODE)
        .agg(
            pl.col(s.DISPENSED_ON).min().alias("start_date"),
            pl.col(s.DISPENSED_ON).max().alias("last_dispensed_on"),
            pl.col(s.DAYS_SUPPLY)
            .sort_by([s.DISPENSED_ON, s.DAYS_SUPPLY])
            .last()
            .alias("last_days_supply"),
        )
        .filter(current_filter(as_of, current_days))
        .select(s.PATIENT_ID, s.CODE, "start_date", "last_dispensed_on")
    )


def current_filter(as_of: datetime.date, current_days: int) -> pl.Expr:
    """Whether a medicine is current, from its last_dispensed_on and last_days_supply."""
    recent_from = as_of - datetime.timedelta(days=current_days - 1)
    last = pl.col("last_dispensed_on")
    return (last >= pl.lit(recent_from)) | (
        (last + pl.duration(days=pl.col("last_days_supply"))) > pl.lit(as_of)
    )
