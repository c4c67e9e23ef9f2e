"""The analytics through the bounded scan: clinical events split by the same patient hash as
the dispensing, and the analytics evaluated partition by partition and combined, give the same
outputs whether the scan runs as one partition or several (and with worker processes), and
the same as the analytics of every patient at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.generate_population import AS_OF
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import PatientTables
from medsopt.scan.analytics_parts import with_worklist_columns
from medsopt.scan.analytics_run import ANALYTICS_FILES, AnalyticsRequest, run_analytics
from medsopt.store.activate import BUNDLED_FORMULARY
from tests.analytics.conftest import Population, run_scan


def scan(population: Population, out: Path, *options: str) -> dict[str, Any]:
    """The scan's summary.json, timings aside."""
    summary: dict[str, Any] = json.loads(
        (run_scan(population, out, *options) / "summary.json").read_text()
    )
    summary.pop("timings_seconds")
    return summary


@pytest.fixture(scope="module")
def runs(population: Population, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One partition, then about seven (two worker processes)."""
    root = tmp_path_factory.mktemp("partitions")
    rows = pl.scan_csv(population.paths["dispensing"]).select(pl.len()).collect().item()
    whole, parts = root / "whole", root / "parts"
    scan(population, whole)
    scan(population, parts, "--partition-rows", str(rows // 7), "--workers", "2")
    return whole, parts


def test_partitions_do_not_change_the_analytics(runs: tuple[Path, Path]) -> None:
    whole, parts = runs
    for name in ANALYTICS_FILES:
        one, many = (pl.read_parquet(d / f"{name}.parquet") for d in runs)
        assert one.height > 0 or name == "measure_outliers", name
        assert_frame_equal(one, many, check_row_order=False)
    # Same patients in the same order; scores equal to the last bit or two (a sum's order
    # follows polars' threads, which the worker count sets).
    assert_frame_equal(
        pl.read_parquet(whole / "worklist.parquet"), pl.read_parquet(parts / "worklist.parquet")
    )
    assert (parts / "analytics.html").stat().st_size > 0


def test_every_event_row_is_counted_once_across_partitions(
    population: Population, runs: tuple[Path, Path]
) -> None:
    one, many = (json.loads((d / "summary.json").read_text()) for d in runs)
    for summary in (one, many):
        summary.pop("timings_seconds")
    assert one == many
    rows = pl.scan_csv(population.paths["events"]).select(pl.len()).collect().item()
    assert many["event_rows_in"] == rows
    held = [pl.read_parquet(d / "events_quarantine.parquet").sort("source_row") for d in runs]
    assert held[0].equals(held[1])
    assert held[1].height == rows - many["event_rows_used"]


def test_the_monitoring_rules_see_each_partitions_events(runs: tuple[Path, Path]) -> None:
    keys = ["patient_id", "rule_id"]
    one, many = (pl.read_parquet(d / "findings.parquet").select(keys).sort(keys) for d in runs)
    assert one.equals(many)
    assert one.filter(pl.col("rule_id").str.starts_with("MON-")).height > 0


def test_the_bounded_analytics_equal_the_in_memory_ones(
    population: Population, bundled: RuleSet, runs: tuple[Path, Path]
) -> None:
    """Every analytics output of the partitioned scan, each partition evaluating its share, is
    the analytics of every patient's inputs at once; so are the gaps its worklist rows gained."""
    # (The command's default prices: the formulary's.)
    request = AnalyticsRequest(population.indicators_dir, BUNDLED_FORMULARY / "prices.yaml")
    frames, _ = run_analytics(every_patient(population), population.tables, bundled, AS_OF, request)
    for name in ANALYTICS_FILES:
        written = pl.read_parquet(runs[1] / f"{name}.parquet")
        assert_frame_equal(written, frames[name], check_row_order=False, check_column_order=False)
    worklist = pl.read_parquet(runs[1] / "worklist.parquet")
    assert worklist["indicator_gaps"].drop_nulls().len() > 0
    assert worklist["biosimilar_to_switch"].drop_nulls().len() > 0
    plain = worklist.drop("indicator_gaps", "biosimilar_to_switch")
    assert_frame_equal(worklist, with_worklist_columns(plain, frames, AS_OF))


def test_without_a_prices_file_every_saving_is_unknown(
    population: Population, bundled: RuleSet
) -> None:
    """A formulary with no prices.yaml: the uptake is counted, and no saving is ever 0."""
    request = AnalyticsRequest(population.indicators_dir, prices=None)
    frames, _ = run_analytics(every_patient(population), population.tables, bundled, AS_OF, request)
    uptake = frames["uptake"]
    assert uptake.height > 0
    assert (uptake["items_price_unknown"] == uptake["items"]).all()
    for saving in ("saving_realised_priced_gbp", "saving_available_priced_gbp"):
        assert uptake[saving].null_count() == uptake.height


def every_patient(population: Population) -> PatientTables:
    """The per-patient tables of the whole population at once."""
    inputs = population.inputs
    return PatientTables(inputs.population.patients, inputs.fills, inputs.population.recorded)
