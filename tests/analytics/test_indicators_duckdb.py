"""The indicators equal an independent calculation in DuckDB SQL, per practice, on a generated
ICB population (seeded; conditions, events and 24 months of dispensing)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks.generate_population import AS_OF
from medsopt.analytics.indicators import evaluate, evaluate_all, rates
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import read_indicators
from medsopt.store.activate import BUNDLED_RULES
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
CREATE MACRO first_rec_in(s, n) AS TABLE
  SELECT patient_id FROM (
    SELECT r.patient_id, min(r.recorded_on) AS first, count(*) = count(r.recorded_on) AS dated
    FROM recorded r JOIN code_sets c ON c.code = r.code
    WHERE c.set_id = s AND (r.recorded_on IS NULL OR r.recorded_on <= $as_of)
    GROUP BY r.patient_id)
  WHERE dated AND first > $as_of - n;
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
PALLIATIVE = ("palliative-care", "SELECT * FROM rec('codelist:codelists/palliative-care.csv')")


def _new(*sets: str) -> tuple[str, str]:
    return "newly-diagnosed", " UNION ".join(f"SELECT * FROM first_rec_in('{s}', 91)" for s in sets)


# indicator -> exclusions in order: (reason, SQL set of patient_id); the first that holds counts.
EXCLUSIONS = {
    "AF2": [_new("condition:atrial-fibrillation"), PALLIATIVE],
    "VAS1": [
        _new(
            "condition:ischaemic-heart-disease",
            "codelist:codelists/stroke.csv",
            "codelist:codelists/tia.csv",
            "codelist:codelists/peripheral-arterial-disease.csv",
        ),
        PALLIATIVE,
    ],
    "HF1": [
        ("resolved", "SELECT * FROM rec('codelist:codelists/heart-failure-resolved.csv')"),
        _new("condition:heart-failure"),
        PALLIATIVE,
    ],
    "CKD1": [
        ("resolved", "SELECT * FROM rec('codelist:codelists/ckd-resolved.csv')"),
        _new("condition:chronic-kidney-disease"),
        PALLIATIVE,
    ],
}
# indicator -> (denominator before exclusions, numerator) as SQL sets of patient_id
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
        "SELECT * FROM rec('condition:heart-failure') INTERSECT "
        "SELECT * FROM rec('codelist:codelists/heart-failure-lvsd.csv') INTERSECT "
        "SELECT * FROM med('ras-blockers', 183)",
        "SELECT * FROM listed("
        "'codelist:codelists/beta-blockers-licensed-for-heart-failure.csv', 183)",
    ),
    "CKD1": (
        "SELECT * FROM rec('condition:chronic-kidney-disease') INTERSECT "
        "SELECT * FROM rec_in('codelist:codelists/urine-acr-or-pcr.csv', 365)",
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
    """practice_id, indicator_id, denominator, numerator, excluded, reason from SQL alone
    (one row per reason, null for the counted patients)."""
    data = population.inputs.population
    db = duckdb.connect()
    for name in ("patients", "dispensed", "recorded", "membership", "code_sets"):
        getattr(data, name).write_parquet(tmp / f"{name}.parquet")
        db.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tmp / name}.parquet')")
    db.execute(MACROS.replace("$as_of", f"DATE '{AS_OF.isoformat()}'"))
    parts = []
    for indicator, (denominator, numerator) in SQL.items():
        cases = " ".join(
            f"WHEN d.patient_id IN ({query}) THEN '{reason}'"
            for reason, query in EXCLUSIONS.get(indicator, [])
        )
        reason = f"CASE {cases} END" if cases else "CAST(NULL AS VARCHAR)"
        parts.append(
            f"SELECT p.practice_id, '{indicator}' AS indicator_id, {reason} AS reason, "
            f"n.patient_id IS NOT NULL AS numerator FROM patients p "
            f"JOIN ({denominator}) d USING (patient_id) "
            f"LEFT JOIN ({numerator}) n USING (patient_id)"
        )
    rows = db.sql(
        "SELECT practice_id, indicator_id, reason, "
        "count(*) FILTER (WHERE reason IS NULL) AS denominator, "
        "count(*) FILTER (WHERE reason IS NULL AND numerator) AS numerator, "
        "count(*) FILTER (WHERE reason IS NOT NULL) AS excluded "
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL"
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={
            "practice_id": pl.String,
            "indicator_id": pl.String,
            "reason": pl.String,
            "denominator": pl.UInt32,
            "numerator": pl.UInt32,
            "excluded": pl.UInt32,
        },
        orient="row",
    )


def test_every_indicator_checked_in_sql_is_defined(population: Population) -> None:
    defined = {i.id for i in population.indicators.indicators}
    assert set(SQL) <= defined


def test_indicators_equal_duckdb_per_practice(population: Population, tmp_path: Path) -> None:
    done = evaluate_all(population.indicators, population.inputs.population, [AS_OF])
    ours = done.rates.filter(pl.col("level") == "practice").select(
        "practice_id", "indicator_id", "denominator", "numerator", "excluded"
    )
    by_reason = duckdb_rates(population, tmp_path)
    theirs = by_reason.group_by("practice_id", "indicator_id").agg(
        pl.col("denominator", "numerator", "excluded").sum()
    )
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
    # The exclusions, reason by reason, and each of them happens somewhere.
    excluded = by_reason.filter(pl.col("reason").is_not_null()).select(
        "indicator_id", "practice_id", "reason", pl.col("excluded").alias("patients")
    )
    counted = done.exclusions.filter(pl.col("level") == "practice").select(excluded.columns)
    reason_key = [*key, "reason"]
    assert counted.sort(reason_key).equals(excluded.sort(reason_key))
    assert set(excluded["reason"]) == {"resolved", "newly-diagnosed", "palliative-care"}


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
            "excluded": pl.Series([None], dtype=pl.String),
        }
    )
    grid = pl.DataFrame({"indicator_id": ["VAS1", "PINCER-F"], "on": [day, day]})
    table = rates(rows.lazy(), grid.lazy()).collect()
    empty = table.filter(pl.col("indicator_id") == "PINCER-F").row(0, named=True)
    assert (empty["level"], empty["denominator"], empty["rate"]) == ("icb", 0, None)
    counted = table.filter(pl.col("indicator_id") == "VAS1", pl.col("level") == "practice")
    assert counted["rate"].to_list() == [0.0]  # one patient, not in the numerator: a real 0%


def test_a_draft_with_an_empty_codelist_is_not_measurable_never_zero(
    population: Population, bundled: RuleSet
) -> None:
    # The bundled files: AF2, CKD1 and G1 are drafts whose clusters are missing (empty files).
    indicators = read_indicators(BUNDLED_RULES / "indicators", bundled)
    done = evaluate_all(indicators, population.inputs.population, [AS_OF])
    rows = done.rates.filter(pl.col("indicator_id") == "AF2")
    practices = population.inputs.population.patients["practice_id"].n_unique()
    assert rows.height == practices + 1  # every practice and the ICB, none silently missing
    assert rows["rate"].is_null().all()
    assert rows["denominator"].is_null().all() and rows["numerator"].is_null().all()
    assert set(rows["not_measurable"]) == {
        "not measurable: codelist codelists/cha2ds2-vasc-score.csv holds no code"
    }
    measured = done.rates.filter(pl.col("indicator_id") == "VAS1")
    assert measured["not_measurable"].is_null().all()
    assert measured["rate"].is_not_null().any()
    assert done.patient_rows.filter(pl.col("indicator_id").is_in(["AF2", "CKD1", "G1"])).is_empty()
