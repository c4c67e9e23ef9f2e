"""Biosimilar uptake equals an independent DuckDB SQL calculation on the generated ICB;
savings are unknown, never zero, where a price is missing."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks.generate_population import AS_OF
from medsopt.analytics.biologics import preferred_table, product_table
from medsopt.analytics.uptake import biologic_items, monthly_uptake
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import read_prices
from medsopt.store.activate import BUNDLED_FORMULARY
from tests.analytics.conftest import Population

MONTHS = pl.date_range(datetime.date(2025, 1, 1), AS_OF, "1mo", eager=True).dt.month_end()
COUNTS = (
    "items",
    "items_best_value",
    "items_originator",
    "patients",
    "patients_best_value",
    "patients_switched",
    "patients_to_switch",
)
# Per item: its brand's role, and best value = a brand preferred on the date, or any biosimilar
# where none is preferred then. Per patient and month end: first and latest item so far.
SQL = """
WITH items AS (
  SELECT f.patient_id, f.practice_id, f.dispensed_on, p.molecule, p.role,
    CASE WHEN EXISTS (SELECT 1 FROM preferred r WHERE r.molecule = p.molecule
                      AND r.effective_from <= f.dispensed_on
                      AND (r.effective_to IS NULL OR f.dispensed_on <= r.effective_to))
         THEN EXISTS (SELECT 1 FROM preferred r WHERE r.molecule = p.molecule
                      AND r.brand = p.brand AND r.effective_from <= f.dispensed_on
                      AND (r.effective_to IS NULL OR f.dispensed_on <= r.effective_to))
         ELSE p.role = 'biosimilar' END AS best_value
  FROM fills f JOIN products p ON p.code = f.concept_code
),
item_counts AS (
  SELECT molecule, last_day(dispensed_on) AS month, practice_id, count(*) AS items,
    count(*) FILTER (WHERE best_value) AS items_best_value,
    count(*) FILTER (WHERE role = 'originator') AS items_originator
  FROM items GROUP BY ALL
),
positions AS (
  SELECT i.patient_id, i.molecule, m.month,
    arg_max(i.practice_id, i.dispensed_on) AS practice_id,
    arg_min(i.role, i.dispensed_on) AS first_role,
    arg_max(i.role, i.dispensed_on) AS latest_role,
    arg_max(i.best_value, i.dispensed_on) AS latest_best_value,
    max(i.dispensed_on) AS latest_on
  FROM items i JOIN months m ON i.dispensed_on <= m.month GROUP BY ALL
),
patient_counts AS (
  SELECT molecule, month, practice_id,
    count(*) FILTER (WHERE last_day(latest_on) = month) AS patients,
    count(*) FILTER (WHERE last_day(latest_on) = month AND latest_best_value)
      AS patients_best_value,
    count(*) FILTER (WHERE first_role = 'originator' AND latest_role = 'biosimilar')
      AS patients_switched,
    count(*) FILTER (WHERE latest_role = 'originator' AND month - latest_on < 90)
      AS patients_to_switch
  FROM positions GROUP BY ALL
)
SELECT p.molecule, p.month, p.practice_id,
  coalesce(i.items, 0), coalesce(i.items_best_value, 0), coalesce(i.items_originator, 0),
  p.patients, p.patients_best_value, p.patients_switched, p.patients_to_switch
FROM patient_counts p LEFT JOIN item_counts i USING (molecule, month, practice_id)
"""


@pytest.fixture(scope="module")
def uptake(population: Population, bundled: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    prices, _ = read_prices(BUNDLED_FORMULARY / "prices.yaml", bundled)
    items = biologic_items(
        population.inputs.fills.lazy(), product_table(bundled), preferred_table(bundled), prices
    ).collect()
    return items, monthly_uptake(items.lazy(), MONTHS.to_list())


def test_uptake_equals_duckdb_per_practice_and_month(
    population: Population,
    bundled: RuleSet,
    uptake: tuple[pl.DataFrame, pl.DataFrame],
    tmp_path: Path,
) -> None:
    # Ties (two items on one day) would make "first" and "latest" ambiguous in both engines.
    fills = population.inputs.fills.unique([*("patient_id", "concept_code", "dispensed_on")])
    frames = {
        "fills": fills.select("patient_id", "practice_id", "concept_code", "dispensed_on"),
        "products": product_table(bundled),
        "preferred": preferred_table(bundled),
        "months": pl.DataFrame({"month": MONTHS}),
    }
    db = duckdb.connect()
    for name, frame in frames.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tmp_path / name}.parquet')")
    theirs = pl.DataFrame(
        db.sql(SQL).fetchall(),
        schema={"molecule": pl.String, "month": pl.Date, "practice_id": pl.String}
        | dict.fromkeys(COUNTS, pl.UInt32),
        orient="row",
    )
    key = ["molecule", "month", "practice_id"]
    ours = uptake[1].filter(pl.col("level") == "practice").select(*key, *COUNTS).sort(key)
    theirs = theirs.select(ours.columns).sort(key)
    assert ours.height > 100
    assert ours["patients_switched"].sum() > 0
    assert ours["patients_to_switch"].sum() > 0
    assert 0 < ours["items_best_value"].sum() < ours["items"].sum()
    assert ours.equals(theirs)


def test_no_price_means_an_unknown_saving_never_zero(
    population: Population, bundled: RuleSet
) -> None:
    prices, _ = read_prices(BUNDLED_FORMULARY / "prices.yaml", bundled)
    products = product_table(bundled)
    adalimumab = products.filter(pl.col("molecule_name") == "Adalimumab")["code"]
    unpriced = prices.filter(~pl.col("code").is_in(adalimumab.implode()))
    items = biologic_items(
        population.inputs.fills.lazy(), products, preferred_table(bundled), unpriced
    ).collect()
    rows = items.filter(pl.col("molecule_name") == "Adalimumab")
    assert rows.height > 0
    assert rows["price_unknown"].all()
    assert rows["saving_realised"].is_null().all()
    assert rows["saving_available"].is_null().all()
    monthly = monthly_uptake(items.lazy(), MONTHS.to_list())
    rows = monthly.filter(pl.col("molecule_name") == "Adalimumab")
    assert rows["saving_available_priced_gbp"].is_null().all()
    assert rows["saving_realised_priced_gbp"].is_null().all()
    assert (rows["items_price_unknown"] == rows["items"]).all()
    others = monthly.filter(pl.col("molecule_name") != "Adalimumab", pl.col("items") > 0)
    assert others["saving_available_priced_gbp"].is_not_null().any()


def test_a_saving_is_the_price_difference_times_the_quantity(
    uptake: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    items, _ = uptake
    priced = items.filter(pl.col("role") == "originator", pl.col("saving_available").is_not_null())
    row = priced.row(0, named=True)
    expected = (row["own_price"] - row["best_price"]) * row["quantity"]
    assert row["saving_available"] == pytest.approx(expected)
    assert row["saving_available"] > 0
