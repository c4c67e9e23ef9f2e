"""`medsopt scan --engine spark` equals the polars engine on the same input, file for file.

One local Spark session (`local[2]`, small memory) serves every test in this module; each scan
runs in-process through the CLI, so the Spark engine is exercised exactly as a user calls it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from benchmarks.generate_dispensing import dirty, generate, pools
from benchmarks.generate_population import codes_for
from benchmarks.generate_population import generate as generate_population
from benchmarks.generate_population import write as write_population
from medsopt.cli import app
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_run import ANALYTICS_FILES
from medsopt.scan.spark import CSV_TABLES
from tests.analytics.conftest import EVENTS_COMPLETE_FROM, _stand_in_events, _stand_in_indicators

AS_OF = "2026-06-30"
TABLES = (*CSV_TABLES, "quarantine", "patients_quarantine")


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """A small local Spark, started once; the scans find it as the active session."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("medsopt tests")
        .config("spark.driver.memory", "768m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.executorEnv.POLARS_MAX_THREADS", "1")
        .getOrCreate()
    )
    yield session
    session.stop()


def scan(out: Path, dispensing: Path, patients: Path, *options: str) -> Path:
    """A scan through the CLI, in this process; outputs written with quarantined rows (exit 3)."""
    args = ["scan", "--dispensing", str(dispensing), "--patients", str(patients)]
    done = CliRunner().invoke(app, [*args, "--as-of", AS_OF, "--out", str(out), *options])
    assert done.exit_code == 3, done.output
    return out


def table(path: Path) -> pl.DataFrame:
    """A Parquet or CSV output: one file (polars engine) or a Spark dataset directory."""
    if path.suffix == ".csv":
        parts = sorted(path.glob("part-*.csv")) if path.is_dir() else [path]
        return pl.concat([pl.read_csv(p, infer_schema_length=None) for p in parts])
    return pl.read_parquet(path / "*.parquet" if path.is_dir() else path)


def same_rows(single: pl.DataFrame, spark: pl.DataFrame) -> None:
    """Equal as sets of rows with the same columns; Spark's signed integers cast back exactly."""
    assert spark.columns == single.columns
    spark = spark.cast(single.schema)  # strict: a value that does not fit fails
    assert sorted(map(repr, spark.rows())) == sorted(map(repr, single.rows()))


def workbook(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def assert_same_scan(single: Path, spark: Path) -> dict[str, Any]:
    """Every output of the two engines holds the same rows; the summary of both."""
    for name in TABLES:
        same_rows(table(single / f"{name}.parquet"), table(spark / f"{name}.parquet"))
    for name in CSV_TABLES:
        same_rows(table(single / f"{name}.csv"), table(spark / f"{name}.csv"))
    # Ranked inside Spark, in rank order across the dataset's files.
    assert table(spark / "worklist.parquet").equals(table(single / "worklist.parquet"))
    assert workbook(spark / "worklist.xlsx") == workbook(single / "worklist.xlsx")
    assert (spark / "report.html").read_text() == (single / "report.html").read_text()
    summaries: list[dict[str, Any]] = [
        json.loads((out / "summary.json").read_text()) for out in (single, spark)
    ]
    for each in summaries:
        del each["timings_seconds"]
    assert summaries[0] == summaries[1]
    return summaries[0]


def assert_every_row_is_used_or_quarantined(out: Path, summary: dict[str, Any], rows: int) -> None:
    quarantined = table(out / "quarantine.parquet")
    assert summary["rows_in"] == rows == summary["rows_used"] + quarantined.height
    assert (
        dict(quarantined.group_by("reason").len().iter_rows()) == (summary["quarantined_by_reason"])
    )
    assert quarantined["source_row"].n_unique() == quarantined.height


@pytest.fixture(scope="module")
def text_inputs(bundled: RuleSet, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """CSV dispensing with 3% broken rows, and CSV patients with broken and duplicated rows."""
    folder = tmp_path_factory.mktemp("spark-inputs")
    dispensing, people = generate(200, seed=23, pool=pools(bundled))
    dirty(dispensing, 0.03, seed=23).write_csv(folder / "dispensing.csv")
    text = people.with_columns(pl.all().cast(pl.String))
    broken = text.head(3).with_columns(
        patient_id=pl.Series(["Q1", "Q2", "Q3"]),
        age_years=pl.Series(["old", None, "41"]),
        sex=pl.Series(["female", "x", "male"]),
        egfr=pl.Series([None, None, "minus"]),
    )
    pl.concat([text, broken, text.slice(10, 1)]).write_csv(folder / "patients.csv")
    return folder / "dispensing.csv", folder / "patients.csv"


@pytest.mark.timeout(900)  # two whole scans; Spark jobs are slow on a busy 2-core machine
def test_spark_results_equal_the_single_machine_results(
    spark: SparkSession, text_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    dispensing, patients = text_inputs
    single = scan(tmp_path / "polars", dispensing, patients)
    on_spark = scan(tmp_path / "spark", dispensing, patients, "--engine", "spark")
    assert (on_spark / "adherence.parquet").is_dir()  # a dataset Spark wrote, not a copy
    summary = assert_same_scan(single, on_spark)
    rows = pl.read_csv(dispensing, infer_schema=False).height
    for out in (single, on_spark):
        assert_every_row_is_used_or_quarantined(out, summary, rows)
    assert {"malformed_code", "unknown_code", "bad_date", "duplicate"} <= set(
        summary["quarantined_by_reason"]
    )
    assert {"duplicate_patient", "bad_age", "bad_sex", "bad_egfr"} <= set(
        summary["patient_rows_quarantined_by_reason"]
    )
    assert summary["findings"] > 0 and summary["worklist_patients"] > 0


@pytest.mark.timeout(900)
def test_spark_reads_a_hive_partitioned_parquet_dataset(
    spark: SparkSession, bundled: RuleSet, tmp_path: Path
) -> None:
    dispensing, people = generate(100, seed=29, pool=pools(bundled))
    folder = tmp_path / "dispensing"
    rows = dirty(dispensing, 0.05, seed=29).with_columns(
        month=pl.col("dispensed_on").str.slice(0, 7)
    )
    rows.write_parquet(folder, partition_by="month")  # month=2026-01/....parquet
    people.write_parquet(tmp_path / "patients.parquet")
    single = scan(tmp_path / "polars", folder, tmp_path / "patients.parquet")
    on_spark = scan(tmp_path / "spark", folder, tmp_path / "patients.parquet", "--engine", "spark")
    summary = assert_same_scan(single, on_spark)
    assert "month" in table(on_spark / "quarantine.parquet").columns
    for out in (single, on_spark):
        assert_every_row_is_used_or_quarantined(out, summary, rows.height)


@pytest.fixture(scope="module")
def icb(bundled: RuleSet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated ICB with clinical events (as CSV, with broken rows) and indicators whose
    missing clusters are filled with stand-in codes (as tests/analytics does)."""
    root = tmp_path_factory.mktemp("spark-icb")
    codes = _stand_in_indicators(root / "indicators")
    # G1 a draft again with its codelist empty: not measurable (under --include-drafts).
    (root / "indicators/codelists/medication-review.csv").write_text("code,term,source\n")
    qof = root / "indicators/qof.yaml"
    before, g1, after = qof.read_text().partition("- id: G1")
    qof.write_text(before + g1 + after.replace("status: active", "status: draft", 1))
    frames = generate_population(800, 6, 31, codes_for(bundled))
    frames["events"] = _stand_in_events(frames, codes, 31)
    return {**write_population(frames, root / "data"), "indicators": root / "indicators"}


def analytics_scan(out: Path, icb: dict[str, Path], *options: str) -> Path:
    """A scan with clinical events and the analytics, through the CLI in this process."""
    return scan(
        out,
        icb["dispensing"],
        icb["patients"],
        "--events",
        str(icb["events"]),
        "--events-complete-from",
        EVENTS_COMPLETE_FROM.isoformat(),
        "--indicators",
        str(icb["indicators"]),
        *options,
    )


@pytest.mark.timeout(900)
def test_spark_indicator_and_uptake_tables_equal_the_single_machine_ones(
    spark: SparkSession, icb: dict[str, Path], tmp_path: Path
) -> None:
    single = analytics_scan(tmp_path / "polars", icb, "--include-drafts")
    on_spark = analytics_scan(tmp_path / "spark", icb, "--include-drafts", "--engine", "spark")
    summary = assert_same_scan(single, on_spark)  # the worklist with its indicator gaps too
    for name in ANALYTICS_FILES:
        one, other = (pl.read_parquet(out / f"{name}.parquet") for out in (single, on_spark))
        assert one.height > 0 or name == "measure_outliers", name
        # Row for row; the savings are sums of the same items in another order (float).
        assert_frame_equal(other, one, check_row_order=name != "measure_outliers")
        assert (on_spark / f"{name}.csv").read_text() or name == "measure_outliers"
    indicators = pl.read_parquet(on_spark / "indicators.parquet")
    assert indicators.filter(pl.col("numerator") > 0)["indicator_id"].n_unique() >= 5
    g1 = indicators.filter(pl.col("indicator_id") == "G1")
    assert g1.height > 1 and g1["not_measurable"].is_not_null().all()  # every practice and ICB
    assert pl.read_parquet(on_spark / "uptake.parquet")["items"].sum() > 0
    # Every event row is used or quarantined, once, on both engines.
    rows = pl.read_csv(icb["events"], infer_schema=False).height
    assert summary["event_rows_in"] == rows
    for out in (single, on_spark):
        held = table(out / "events_quarantine.parquet")
        assert held.height == rows - summary["event_rows_used"] > 0
        assert held["source_row"].n_unique() == held.height
        assert (
            dict(held.group_by("reason").len().iter_rows())
            == (summary["event_rows_quarantined_by_reason"])
        )
    same_rows(
        table(single / "events_quarantine.parquet"), table(on_spark / "events_quarantine.parquet")
    )
    dispensing = pl.read_csv(icb["dispensing"], infer_schema=False).height
    assert_every_row_is_used_or_quarantined(on_spark, summary, dispensing)
    assert (on_spark / "analytics.html").read_text() == (single / "analytics.html").read_text()
