"""The indicators equal an independent calculation in DuckDB SQL, per practice, on a generated
ICB population (seeded; conditions, events and 24 months of dispensing)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks.generate_population import AS_OF
from medsopt.analytics.indicators import evaluate, rates
from tests.analytics.conftest import Population

# Written from the indicator definitions in words (rules/indicators/*.yaml descriptions), not
# generated from the files: den = denominator after exclusions, num = numerator within it.
MACROS = """
CREATE MACRO med(g, n) AS TABLE
  SELECT DISTINCT d.patient_id FROM dispensed d JOIN membership m USING (concept_code)
  WHERE m."group" = g AND d.dispensed_on > $as_of - n AND d.dispensed_on <= $as_of;
CREATE MACRO listed(s, n) AS TABLE
  SELECT DISTINCT d.patient_id FROM dispensed d JOIN code_sets c ON c.set_id = s
    AND c.code IN (d.code, d.concept_code, d.vmp)
  WHERE d.dispensed_on > $as_of - n AND d.dispensed_on <= $as_of;
CREATE MACRO rec(s) AS TABLE
  SELECT DISTINCT r.patient_id FROM recorded r JOIN code_sets c ON c.code = r.code
  WHERE c.set_id = s AND (r.recorded_on IS NULL OR r.recorded_on <= $as_of);
CREATE MACRO rec_in(s, n) AS TABLE
  SELECT DISTINCT r.patient_id FROM recorded r JOIN code_sets c ON c.code = r.code
  WHERE c.set_id = s AND r.recorded_on > $as_of - n AND r.recorded_on <= $as_of;
CREATE MACRO latest_at_least(s, v) AS TABLE
  SELECT patient_id FROM (
    SELECT r.patient_id, arg_max(r.value, r.recorded_on) AS latest
    FROM recorded r JOIN code_sets c ON c.code = r.code
    WHERE c.set_id = s AND r.recorded_on <= $as_of GROUP BY r.patient_id)
  WHERE latest >= v;
"""
ALL = "SELECT patient_id FROM patients"
LTC = " UNION ".join(
    f"SELECT * FROM rec('condition:{c}')"
    for c in (
        "atrial-fibrillation",
        "ischaemic-heart-disease",
        "heart-failure",
        "chronic-kidney-disease",
        "diabetes",
        "hypertension",
        "copd",
        "asthma",
        "epilepsy",
        "dementia",
    )
)
NO_GP = f"{ALL} EXCEPT SELECT * FROM med('gastroprotection', 90)"
# indicator -> (denominator, numerator) as SQL sets of patient_id
SQL = {
    "AF2": (
        "SELECT * FROM rec('condition:atrial-fibrillation') INTERSECT "
        "SELECT * FROM latest_at_least('codelist:codelists/cha2ds2-vasc-score.csv', 2)",
        "SELECT * FROM med('oral-anticoagulants', 183)",
    ),
    "VAS1": (
        "SELECT * FROM rec('condition:ischaemic-heart-disease') UNION "
        "SELECT * FROM rec('codelist:codelists/stroke.csv') UNION "
        "SELECT * FROM rec('codelist:codelists/tia.csv') UNION "
        "SELECT * FROM rec('codelist:codelists/peripheral-arterial-disease.csv')",
        "SELECT * FROM med('antiplatelets', 365) UNION "
        "SELECT * FROM med('oral-anticoagulants', 365)",
    ),
    "HF1": (
        "(SELECT * FROM rec('condition:heart-failure') INTERSECT "
        "SELECT * FROM rec('codelist:codelists/heart-failure-lvsd.csv') INTERSECT "
        "SELECT * FROM med('ras-blockers', 183)) EXCEPT "
        "SELECT * FROM rec('codelist:codelists/heart-failure-resolved.csv')",
        "SELECT * FROM listed("
        "'codelist:codelists/beta-blockers-licensed-for-heart-failure.csv', 183)",
    ),
    "CKD1": (
        "(SELECT * FROM rec('condition:chronic-kidney-disease') INTERSECT "
        "SELECT * FROM rec_in('codelist:codelists/urine-acr-or-pcr.csv', 365)) EXCEPT "
        "SELECT * FROM rec('codelist:codelists/ckd-resolved.csv')",
        "SELECT * FROM med('ras-blockers', 183)",
    ),
    "G1": (LTC, "SELECT * FROM rec_in('codelist:codelists/medication-review.csv', 365)"),
    "PINCER-A": (
        "SELECT patient_id FROM patients WHERE age >= 65 INTERSECT "
        "SELECT * FROM med('oral-nsaids', 90)",
        NO_GP,
    ),
    "PINCER-D": (
        "SELECT * FROM med('oral-anticoagulants', 90)",
        "SELECT * FROM med('oral-nsaids', 90)",
    ),
    "PINCER-G": (
        "SELECT * FROM rec('condition:asthma')",
        "SELECT * FROM med('non-selective-beta-blockers', 90)",
    ),
    "PINCER-K": (
        "SELECT patient_id FROM patients WHERE egfr < 45",
        "SELECT * FROM med('oral-nsaids', 90)",
    ),
    "PINCER-AC": (
        "SELECT patient_id FROM patients WHERE age >= 75 INTERSECT "
        "SELECT * FROM med('ace-inhibitors-or-loop-diuretics', 183)",
        f"{ALL} EXCEPT (SELECT * FROM rec_in('test:renal-function-tests', 456) UNION "
        "SELECT * FROM rec_in('test:electrolyte-tests', 456))",
    ),
    "PINCER-ME": (
        "SELECT * FROM med('methotrexate', 90)",
        f"({ALL} EXCEPT SELECT * FROM rec_in('test:full-blood-count-tests', 90)) UNION "
        f"({ALL} EXCEPT SELECT * FROM rec_in('test:liver-function-tests', 90))",
    ),
}


def duckdb_rates(population: Population, tmp: Path) -> pl.DataFrame:
    """practice_id, indicator_id, denominator, numerator from SQL alone."""
    data = population.inputs.population
    db = duckdb.connect()
    for name in ("patients", "dispensed", "recorded", "membership", "code_sets"):
        getattr(data, name).write_parquet(tmp / f"{name}.parquet")
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tmp / name}.parquet')")
    db.execute(MACROS.replace("$as_of", f"DATE '{AS_OF.isoformat()}'"))
    parts = []
    for indicator, (denominator, numerator) in SQL.items():
        parts.append(
            f"SELECT p.practice_id, '{indicator}' AS indicator_id, count(*) AS denominator, "
            f"count(n.patient_id) AS numerator FROM patients p "
            f"JOIN ({denominator}) d USING (patient_id) "
            f"LEFT JOIN ({numerator}) n USING (patient_id) GROUP BY p.practice_id"
        )
    rows = db.sql(" UNION ALL ".join(parts)).fetchall()
    return pl.DataFrame(
        rows,
        schema={
            "practice_id": pl.String,
            "indicator_id": pl.String,
            "denominator": pl.UInt32,
            "numerator": pl.UInt32,
        },
        orient="row",
    )


def test_every_indicator_checked_in_sql_is_defined(population: Population) -> None:
    defined = {i.id for i in population.indicators.indicators}
    assert set(SQL) <= defined


def test_indicators_equal_duckdb_per_practice(population: Population, tmp_path: Path) -> None:
    rates, _ = evaluate(population.indicators, population.inputs.population, [AS_OF])
    ours = rates.filter(pl.col("level") == "practice").select(
        "practice_id", "indicator_id", "denominator", "numerator"
    )
    theirs = duckdb_rates(population, tmp_path)
    key = ["indicator_id", "practice_id"]
    ours = ours.filter(pl.col("indicator_id").is_in(list(SQL))).sort(key)
    theirs = theirs.sort(key).select(ours.columns)
    assert ours.height > 0
    # Every indicator has patients in the numerator and outside it somewhere in the ICB,
    # so the comparison can fail on either side.
    totals = theirs.group_by("indicator_id").agg(pl.col("denominator", "numerator").sum())
    assert (totals["numerator"] > 0).all(), totals
    assert (totals["numerator"] < totals["denominator"]).all(), totals
    assert ours.equals(theirs)


@pytest.mark.parametrize("indicator", ["VAS1", "HF1"])
def test_icb_row_is_the_sum_of_its_practices(population: Population, indicator: str) -> None:
    rates, _ = evaluate(population.indicators, population.inputs.population, [AS_OF])
    rows = rates.filter(pl.col("indicator_id") == indicator)
    practices = rows.filter(pl.col("level") == "practice")
    icb = rows.filter(pl.col("level") == "icb").row(0, named=True)
    assert icb["denominator"] == practices["denominator"].sum()
    assert icb["numerator"] == practices["numerator"].sum()
    assert icb["rate"] == pytest.approx(100 * icb["numerator"] / icb["denominator"])


def test_an_empty_denominator_has_no_rate_never_zero() -> None:
    day = AS_OF
    rows = pl.DataFrame(
        {
            "indicator_id": ["VAS1"],
            "on": [day],
            "patient_id": ["P1"],
            "practice_id": ["Y1"],
            "numerator": [False],
        }
    )
    grid = pl.DataFrame({"indicator_id": ["VAS1", "PINCER-F"], "on": [day, day]})
    table = rates(rows.lazy(), grid.lazy()).collect()
    empty = table.filter(pl.col("indicator_id") == "PINCER-F").row(0, named=True)
    assert (empty["level"], empty["denominator"], empty["rate"]) == ("icb", 0, None)
    counted = table.filter(pl.col("indicator_id") == "VAS1", pl.col("level") == "practice")
    assert counted["rate"].to_list() == [0.0]  # one patient, not in the numerator: a real 0%
