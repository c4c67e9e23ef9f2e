"""Which dispensed medicines a patient is on now, from dispensing recency (`fills` applies it).

A code is current on `as_of` when it was last dispensed within `current_days` days (default
90: a 28- or 56-day repeat plus slack), or when its last supply still runs on `as_of`. Its
start date is the first dispensing seen, which is what duration rules measure from.
"""

from __future__ import annotations

import datetime

import polars as pl

CURRENT_DAYS = 90


def current_filter(as_of: datetime.date, current_days: int = CURRENT_DAYS) -> pl.Expr:
    """Whether a medicine is current, from its last_dispensed_on and last_days_supply (the
    supply of its latest day's longest fill)."""
    recent_from = as_of - datetime.timedelta(days=current_days - 1)
    last = pl.col("last_dispensed_on")
    return (last >= pl.lit(recent_from)) | (
        (last + pl.duration(days=pl.col("last_days_supply"))) > pl.lit(as_of)
    )
