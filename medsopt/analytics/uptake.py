"""Biosimilar uptake and savings from dispensing: per molecule, practice (and ICB) and month.

An item is on a *best-value* brand when its brand is one the formulary prefers on the
dispensing date; where the formulary prefers none for the molecule then, any biosimilar is best
value. A patient *switched* when their first item of the molecule was the originator and their
latest item (to the month's end) is a biosimilar; a patient is *still to switch* while their
latest item, within `CURRENT_DAYS` of the month's end, is the originator.

Savings use committee prices per unit on the dispensing date (`prices.py`), against the
products of the same generic (VMP): realised on biosimilar items (originator price - own price),
still available on originator items (own price - the cheapest best-value price). An item whose
saving needs a missing price has an unknown (null) saving, never 0; totals (`*_priced_gbp`) sum
the items with a price and `items_price_unknown` counts the others (null when none has one).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.analytics.criteria import PATIENT_ID, PRACTICE_ID
from medsopt.analytics.indicators import ICB

CURRENT_DAYS = 90
PRODUCT_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),  # AMP
    "molecule": pl.String(),  # VTM
    "molecule_name": pl.String(),
    "brand": pl.String(),
    "role": pl.String(),  # originator | biosimilar
    "generic": pl.String(),  # VMP
}
PREFERRED_SCHEMA: dict[str, pl.DataType] = {
    "molecule": pl.String(),
    "brand": pl.String(),
    "effective_from": pl.Date(),
    "effective_to": pl.Date(),
}
KEYS = ("molecule", "molecule_name", "month", "level", PRACTICE_ID)


def _in_force(start: str, end: str) -> pl.Expr:
    """The dispensing date falls in [start, end]; a null end is open."""
    day = pl.col("dispensed_on")
    return (pl.col(start) <= day) & (pl.col(end).is_null() | (day <= pl.col(end)))


def _price_on_date(pairs: pl.LazyFrame, prices: pl.LazyFrame, code: str, name: str) -> pl.LazyFrame:
    """item -> the lowest price per unit of product `code` on the item's dispensing date."""
    return (
        pairs.join(prices, left_on=code, right_on="code")
        .filter(_in_force("valid_from", "valid_to"))
        .group_by("item")
        .agg(pl.col("gbp_per_unit").min().alias(name))
    )


def biologic_items(
    fills: pl.LazyFrame,
    products: pl.DataFrame,
    preferred: pl.DataFrame,
    prices: pl.DataFrame,
) -> pl.LazyFrame:
    """One row per biologic item with its role, best-value flag and savings (null: unknown).

    `fills`: patient_id, practice_id, concept_code, dispensed_on, quantity.
    """
    # Materialised once: an item's number must be the same in every branch that reads it
    # (a join's output order is not fixed between runs of the same plan).
    items = (
        fills.select(PATIENT_ID, PRACTICE_ID, "concept_code", "dispensed_on", "quantity")
        .join(products.lazy(), left_on="concept_code", right_on="code")
        .sort(PATIENT_ID, "dispensed_on", "concept_code")
        .with_row_index("item")
        .with_columns(month=pl.col("dispensed_on").dt.month_end())
        .collect()
        .lazy()
    )
    in_force = (
        items.select("item", "molecule", "dispensed_on")
        .join(preferred.lazy(), on="molecule")
        .filter(_in_force("effective_from", "effective_to"))
        .group_by("item")
        .agg(pl.col("brand").alias("preferred"))
    )
    items = items.join(in_force, on="item", how="left").with_columns(
        best_value=pl.when(pl.col("preferred").is_null())
        .then(pl.col("role") == "biosimilar")
        .otherwise(pl.col("preferred").list.contains(pl.col("brand"))),
        # A like-for-like switch needs a biosimilar of the same generic (VMP).
        has_biosimilar=pl.col("generic").is_in(
            products.filter(pl.col("role") == "biosimilar")["generic"].unique().implode()
        ),
    )
    # The products an item is valued against, of its generic: the originator, and the brands
    # that were best value on its date (the preferred ones, else every biosimilar).
    originators = products.filter(pl.col("role") == "originator").select(
        "generic", pl.col("code").alias("originator_code")
    )
    biosimilars = products.filter(pl.col("role") == "biosimilar").select(
        "generic", pl.col("code").alias("best_code"), pl.col("brand").alias("best_brand")
    )
    listed = prices.lazy()
    pairs = items.select("item", "concept_code", "generic", "dispensed_on", "preferred")
    best = pairs.join(biosimilars.lazy(), on="generic").filter(
        pl.col("preferred").is_null() | pl.col("preferred").list.contains(pl.col("best_brand"))
    )
    own = _price_on_date(pairs, listed, "concept_code", "own_price")
    reference = _price_on_date(
        pairs.join(originators.lazy(), on="generic"), listed, "originator_code", "originator_price"
    )
    cheapest = _price_on_date(best, listed, "best_code", "best_price")
    originator = pl.col("role") == "originator"
    return (
        items.join(own, on="item", how="left")
        .join(reference, on="item", how="left")
        .join(cheapest, on="item", how="left")
        .with_columns(
            saving_realised=pl.when(~originator).then(
                (pl.col("originator_price") - pl.col("own_price")) * pl.col("quantity")
            ),
            saving_available=pl.when(originator).then(
                (pl.col("own_price") - pl.col("best_price")) * pl.col("quantity")
            ),
        )
        .with_columns(
            price_unknown=pl.when(originator)
            .then(pl.col("saving_available").is_null())
            .otherwise(pl.col("saving_realised").is_null())
        )
    )


def _levels(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows once per practice and once for the ICB (practice_id = ICB)."""
    return pl.concat(
        [
            frame.with_columns(level=pl.lit("practice")),
            frame.with_columns(level=pl.lit("icb"), **{PRACTICE_ID: pl.lit(ICB)}),
        ]
    )


def _priced_sum(column: str) -> pl.Expr:
    """The sum over items with a known value; null (unknown), not 0, when none has one."""
    return pl.when(pl.col(column).is_not_null().any()).then(pl.col(column).sum())


def monthly_uptake(items: pl.LazyFrame, months: Sequence[datetime.date]) -> pl.DataFrame:
    """Per molecule, month, practice and ICB: items and patients by brand kind, switches and
    savings (see the module docstring)."""
    return uptake_shares(uptake_counts(items, months))


def uptake_counts(items: pl.LazyFrame, months: Sequence[datetime.date]) -> pl.LazyFrame:
    """`monthly_uptake` before its shares: counts and priced sums per `KEYS`.

    Those of disjoint sets of patients add up (`summed_uptake_counts`).
    """
    month_frame = pl.LazyFrame({"month": list(months)}, schema={"month": pl.Date})
    per_item = (
        _levels(items)
        .group_by(KEYS)
        .agg(
            pl.len().alias("items"),
            pl.col("best_value").sum().alias("items_best_value"),
            (pl.col("role") == "originator").sum().alias("items_originator"),
            pl.col("price_unknown").sum().alias("items_price_unknown"),
            _priced_sum("saving_realised").alias("saving_realised_priced_gbp"),
            _priced_sum("saving_available").alias("saving_available_priced_gbp"),
        )
    )
    # Each patient's position at each month's end: their first and latest item to that date.
    history = (
        items.drop("month")  # the item's own month; here each month's end comes from the list
        .join(month_frame, how="cross")
        .filter(pl.col("dispensed_on") <= pl.col("month"))
        .sort("dispensed_on", "item")
        .group_by(PATIENT_ID, "molecule", "molecule_name", "month")
        .agg(
            pl.col(PRACTICE_ID).last(),
            pl.col("role").first().alias("first_role"),
            pl.col("role").last().alias("latest_role"),
            pl.col("best_value").last().alias("latest_best_value"),
            pl.col("dispensed_on").last().alias("latest_on"),
            (pl.col("month").first() == pl.col("dispensed_on").dt.month_end().last()).alias(
                "dispensed_this_month"
            ),
        )
    )
    current = (pl.col("month") - pl.col("latest_on")).dt.total_days() < CURRENT_DAYS
    per_patient = (
        _levels(history)
        .group_by(KEYS)
        .agg(
            pl.col("dispensed_this_month").sum().alias("patients"),
            (pl.col("dispensed_this_month") & pl.col("latest_best_value"))
            .sum()
            .alias("patients_best_value"),
            (pl.col("dispensed_this_month") & (pl.col("latest_role") == "originator"))
            .sum()
            .alias("patients_originator"),
            ((pl.col("first_role") == "originator") & (pl.col("latest_role") == "biosimilar"))
            .sum()
            .alias("patients_switched"),
            (current & (pl.col("latest_role") == "originator")).sum().alias("patients_to_switch"),
        )
    )
    counts = ["items", "items_best_value", "items_originator", "items_price_unknown"]
    return per_patient.join(per_item, on=list(KEYS), how="left", nulls_equal=True).with_columns(
        pl.col(counts).fill_null(0).cast(pl.UInt32)
    )


def summed_uptake_counts(parts: pl.LazyFrame) -> pl.LazyFrame:
    """`uptake_counts` of disjoint sets of patients (e.g. partitions) as those of all of them."""
    names = parts.collect_schema().names()
    priced = [n for n in names if n.endswith("_priced_gbp")]
    counted = [n for n in names if n not in (*KEYS, *priced)]
    summed = parts.group_by(KEYS).agg(
        pl.col(counted).sum().cast(pl.UInt32), *(_priced_sum(n).alias(n) for n in priced)
    )
    return summed.select(names)


def uptake_shares(counts: pl.LazyFrame) -> pl.DataFrame:
    """`uptake_counts` with the best-value shares of items and of patients, sorted."""
    share = pl.when(pl.col("items") > 0).then(100.0 * pl.col("items_best_value") / pl.col("items"))
    patient_share = pl.when(pl.col("patients") > 0).then(
        100.0 * pl.col("patients_best_value") / pl.col("patients")
    )
    return (
        counts.with_columns(share_items_best_value=share, share_patients_best_value=patient_share)
        .sort("molecule_name", "month", "level", PRACTICE_ID)
        .collect()
    )
