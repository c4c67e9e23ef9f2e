"""Days' supply per fill: explicit column > dose instruction > formulary default > quantity.

UK dispensing data rarely carry days' supply. The method used is recorded on every row
(`supply_method`) so a PDC built on guesses can be seen as such.
"""

from __future__ import annotations

import enum

import polars as pl


class SupplyMethod(enum.Enum):
    """How a fill's days' supply was obtained, most trustworthy first."""

    EXPLICIT = "explicit"  # the days_supply column
    DOSE_TEXT = "dose_text"  # quantity / units a day read from the dose instruction
    DEFAULT_DOSE = "default_dose"  # quantity / the product's default daily dose (formulary)
    QUANTITY_AS_DAYS = "quantity_as_days"  # fallback: one unit a day (flagged)


METHODS = tuple(m.value for m in SupplyMethod)  # in `derived_method`'s order


_COUNT_WORDS = {"half": 0.5, "a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0}
_COUNT_WORDS |= {"four": 4.0, "five": 5.0, "six": 6.0}
# "take 2", "one tablet", "1 capsule", "half a tablet": a count at the start of the instruction.
_COUNT = r"^(?:take\s+|apply\s+|use\s+)?(\d+(?:\.\d+)?|half|a|an|one|two|three|four|five|six)\b"
# Frequencies in the order they are tried: specific phrases before the generic "daily".
_FREQUENCIES: tuple[tuple[str, float], ...] = (
    (r"\b(once a week|once weekly|weekly|every week)\b", 1 / 7),
    (r"\b(every other day|alternate days|on alternate days)\b", 0.5),
    (r"\b(four times a day|four times daily|qds|qid|q\.d\.s\.)\b", 4.0),
    (r"\b(three times a day|three times daily|tds|tid|t\.d\.s\.)\b", 3.0),
    (r"\b(twice a day|twice daily|two times a day|bd|bid|b\.d\.)\b", 2.0),
    (
        r"\b(once a day|once daily|daily|every day|each day|od|o\.d\.|in the morning|"
        r"every morning|each morning|at night|every night|at bedtime|nocte|mane)\b",
        1.0,
    ),
)
# Ranges and as-needed instructions do not give one number of units a day.
_NUMBER = r"(\d+(?:\.\d+)?|half|one|two|three|four|five|six)"
_AMBIGUOUS = (
    r"\b(when required|as required|as needed|prn|as directed|up to|or)\b"
    rf"|\d\s*-\s*\d|\b{_NUMBER}\s+to\s+{_NUMBER}\b"
)


# Ten times the longest period a scan measures (3,660 days): a supply this long covers any
# period whole, so a larger quantity (a typo such as 1e12 tablets) changes no result, and the
# day count and the supply's end date stay in range.
LONGEST_SUPPLY_DAYS = 36_600


def units_per_day(dose_text: pl.Expr) -> pl.Expr:
    """Units a day from an instruction such as "one tablet twice a day"; null when unclear."""
    text = dose_text.str.to_lowercase().str.strip_chars()
    count_text = text.str.extract(_COUNT, 1)
    count = (
        pl.when(count_text.is_in(list(_COUNT_WORDS)))
        .then(count_text.replace_strict(_COUNT_WORDS, default=None, return_dtype=pl.Float64))
        .otherwise(count_text.cast(pl.Float64, strict=False))
    )
    frequency: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for pattern, per_day in reversed(_FREQUENCIES):
        frequency = pl.when(text.str.contains(pattern)).then(pl.lit(per_day)).otherwise(frequency)
    per_day_units = count * frequency
    return (
        pl.when(text.str.contains(_AMBIGUOUS) | (per_day_units <= 0))
        .then(pl.lit(None, dtype=pl.Float64))
        .otherwise(per_day_units)
    )


def _days(quantity: pl.Expr, per_day: pl.Expr) -> pl.Expr:
    """Whole days a quantity lasts (at least 1, at most `LONGEST_SUPPLY_DAYS`): a part-day's
    supply does not cover a day."""
    days = (quantity / per_day).floor()
    return days.clip(lower_bound=1, upper_bound=LONGEST_SUPPLY_DAYS).cast(pl.Int32)


def derived_days(
    explicit: pl.Expr, per_day: pl.Expr, default: pl.Expr, quantity: pl.Expr
) -> pl.Expr:
    """Days' supply (Int32): explicit, else from the instruction's units a day, else from the
    formulary's default daily dose, else one unit a day."""
    units = pl.coalesce(per_day, default, pl.lit(1.0))
    return pl.when(explicit.is_not_null()).then(explicit).otherwise(_days(quantity, units))


def derived_method(explicit: pl.Expr, per_day: pl.Expr, default: pl.Expr) -> pl.Expr:
    """How `derived_days` found the days' supply: its position in `METHODS` (UInt8)."""
    return (
        pl.when(explicit.is_not_null())
        .then(pl.lit(0, dtype=pl.UInt8))
        .when(per_day.is_not_null())
        .then(pl.lit(1, dtype=pl.UInt8))
        .when(default.is_not_null())
        .then(pl.lit(2, dtype=pl.UInt8))
        .otherwise(pl.lit(3, dtype=pl.UInt8))
    )


def method_name(position: pl.Expr) -> pl.Expr:
    """The `SupplyMethod` value at a `derived_method` position."""
    return pl.lit(pl.Series("supply_method", list(METHODS))).gather(position)
