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
from medsopt.analytics.switching import to_switch_by_month, to_switch_counts
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


# Patients still to switch per month end and their exception, the first that applies: no
# biosimilar of the latest item's generic; a biosimilar dispensed before; a first item within
# 90 days; else none recorded (medsopt/analytics/switching.py, in words).
TO_SWITCH_SQL = """
WITH items AS (
  SELECT f.patient_id, f.practice_id, f.dispensed_on, p.molecule, p.role,
    EXISTS (SELECT 1 FROM products b WHERE b.generic = p.generic AND b.role = 'biosimilar')
      AS like_for_like
  FROM fills f JOIN products p ON p.code = f.concept_code
),
positions AS (
  SELECT i.patient_id, i.molecule, m.month,
    arg_max(i.practice_id, i.dispensed_on) AS practice_id,
    arg_max(i.role, i.dispensed_on) AS latest_role,
    arg_max(i.like_for_like, i.dispensed_on) AS like_for_like,
    max(i.dispensed_on) AS latest_on, min(i.dispensed_on) AS first_on,
    bool_or(i.role = 'biosimilar') AS had_biosimilar
  FROM items i JOIN months m ON i.dispensed_on <= m.month GROUP BY ALL
)
SELECT molecule, month, practice_id,
  CASE WHEN NOT like_for_like THEN 'no-like-for-like'
       WHEN had_biosimilar THEN 'back-on-originator'
       WHEN month - first_on < 90 THEN 'recently-started'
       ELSE 'none-recorded' END AS exception,
  count(*) AS patients
FROM positions WHERE latest_role = 'originator' AND month - latest_on < 90 GROUP BY ALL
"""


def _with_exceptions(population: Population, products: pl.DataFrame) -> pl.DataFrame:
    """The generated fills, plus patients who reach the two exceptions the generator never
    makes: one back on the originator after a biosimilar, and (where the table has one) one
    on an originator product no biosimilar shares a generic with."""
    fills = population.inputs.fills.unique(["patient_id", "concept_code", "dispensed_on"])
    originators = products.filter(pl.col("role") == "originator")
    biosimilar_generics = products.filter(pl.col("role") == "biosimilar")["generic"].implode()
    paired = originators.filter(pl.col("generic").is_in(biosimilar_generics))
    unpaired = originators.filter(~pl.col("generic").is_in(biosimilar_generics))
    original = paired.row(0, named=True)
    biosimilar = products.filter(
        pl.col("role") == "biosimilar", pl.col("generic") == original["generic"]
    ).row(0, named=True)
    template = fills.row(0, named=True)
    rows = []
    history = ((-200, original["code"]), (-120, biosimilar["code"]), (-30, original["code"]))
    for day, code in history:
        on = AS_OF + datetime.timedelta(days=day)
        rows.append({**template, "patient_id": "SWITCHED-BACK", "concept_code": code,
                     "dispensed_on": on})  # fmt: skip
    if unpaired.height:
        on = AS_OF - datetime.timedelta(days=10)
        rows.append({**template, "patient_id": "NO-LIKE", "concept_code": unpaired["code"][0],
                     "dispensed_on": on})  # fmt: skip
    return pl.concat([fills, pl.DataFrame(rows, schema=fills.schema)])


def test_patients_to_switch_and_their_exceptions_equal_duckdb(
    population: Population, bundled: RuleSet, tmp_path: Path
) -> None:
    products = product_table(bundled)
    fills = _with_exceptions(population, products)
    prices, _ = read_prices(BUNDLED_FORMULARY / "prices.yaml", bundled)
    items = biologic_items(fills.lazy(), products, preferred_table(bundled), prices)
    rows = to_switch_by_month(items, MONTHS.to_list())
    ours = to_switch_counts(rows).filter(pl.col("level") == "practice")
    db = duckdb.connect()
    frames = {
        "fills": fills.select("patient_id", "practice_id", "concept_code", "dispensed_on"),
        "products": products,
        "months": pl.DataFrame({"month": MONTHS}),
    }
    for name, frame in frames.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tmp_path / name}.parquet')")
    key = ["molecule", "month", "practice_id", "exception"]
    theirs = pl.DataFrame(
        db.sql(TO_SWITCH_SQL).fetchall(),
        schema={"molecule": pl.String, "month": pl.Date, "practice_id": pl.String,
                "exception": pl.String, "patients": pl.UInt32},
        orient="row",
    ).sort(key)  # fmt: skip
    ours = ours.select(theirs.columns).sort(key)
    found = set(ours["exception"].to_list())
    assert {"back-on-originator", "recently-started", "none-recorded"} <= found
    assert ours.equals(theirs)
    # The exceptions partition exactly the patients the uptake counts as still to switch.
    uptake = monthly_uptake(items, MONTHS.to_list()).filter(pl.col("level") == "practice")
    totals = ours.group_by("molecule", "month", "practice_id").agg(pl.col("patients").sum())
    counted = uptake.filter(pl.col("patients_to_switch") > 0).select(
        "molecule", "month", "practice_id", pl.col("patients_to_switch").alias("patients")
    )
    assert totals.sort(key[:3]).equals(counted.sort(key[:3]).cast({"patients": pl.UInt32}))
    back = rows.filter(pl.col("patient_id") == "SWITCHED-BACK", pl.col("month") == AS_OF)
    assert back["exception"].to_list() == ["back-on-originator"]
    assert "possible failed switch" in back["exception_text"][0]
