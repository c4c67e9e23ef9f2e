"""Dictionary encoding: text keys as small integers, and values looked up per distinct key.

A join on a text column gathers every column of the big side; a lookup by position in the
distinct keys (an Enum cast) touches only the key column, several times faster per row.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import polars as pl


def distinct(values: pl.Series) -> pl.Series:
    """The distinct non-null values, sorted: positions then follow text order."""
    # unique in order of first sight is about twice as fast as plain unique on text.
    return values.drop_nulls().unique(maintain_order=True).sort()


def encoded(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`distinct(values)` and each value's `position` in it, at once: for many distinct
    values (patient ids), where building an Enum of them costs more than hashing.

    Each distinct hash stands for one text and positions are joined by hash; any collision
    (two texts, one hash) shows as a row whose text is not its key's and is then encoded
    exactly (`distinct`, `position`), so the result never depends on the hash.
    """
    hashes = _hashes(values)
    keys = values.gather(hashes.arg_unique()).drop_nulls().sort()
    table = pl.DataFrame({"h": _hashes(keys), "p": pl.int_range(len(keys), eager=True)})
    found = hashes.to_frame("h").join(table, on="h", how="left", maintain_order="left")
    positions = found.select(
        pl.when(values.is_not_null()).then(pl.col("p").cast(pl.UInt32))
    ).to_series()
    if keys.gather(positions).eq_missing(values).all():
        return keys, positions.alias(values.name)
    keys = distinct(values)
    return keys, values.to_frame().select(position(pl.col(values.name), keys)).to_series()


def _hashes(values: pl.Series) -> pl.Series:
    return values.hash(seed=0)


def position(column: pl.Expr, keys: pl.Series) -> pl.Expr:
    """Each value's position in `keys` (distinct, non-null text holding every value; UInt32);
    null stays null."""
    return column.cast(pl.Enum(keys)).to_physical().cast(pl.UInt32)


def lookup(column: pl.Expr, keys: pl.Series, values: pl.Series) -> pl.Expr:
    """`values[i]` where `keys[i]` is the row's value (null for null); `keys` as `position`."""
    return pl.lit(values).gather(position(column, keys))


def lookup_position(column: pl.Expr, keys: pl.Series) -> pl.Expr:
    """The key at each position (the inverse of `position`)."""
    return pl.lit(keys).gather(column)


def first_position(
    checks: Sequence[tuple[pl.Expr, enum.Enum | pl.Expr]], values: Sequence[enum.Enum]
) -> pl.Expr:
    """The position in `values` of the first check's value whose condition holds (UInt32; null
    when none holds); a check may give its position as an expression. Positions, named once
    afterwards (`lookup_position`), cost several times less than text built at every step."""
    chain: pl.Expr = pl.lit(None, dtype=pl.UInt32)
    for condition, value in reversed(checks):
        if isinstance(value, enum.Enum):
            value = pl.lit(values.index(value), dtype=pl.UInt32)
        chain = pl.when(condition).then(value).otherwise(chain)
    return chain
