"""The analytics report in a real browser (headless Chromium through Playwright): it opens with
no network, runs without a script error, draws the expected series, and every number in every
chart is the number of the Parquet outputs.

Chromium comes from `scripts/install_browser.sh` (called by `.ci/run`): Debian's package, else
Playwright's own build. Set MEDSOPT_SCREENSHOT=docs/analytics-report.png to save a screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from medsopt.analytics.measures import DECILES
from tests.analytics.conftest import Population, run_scan

sync_api = pytest.importorskip("playwright.sync_api")


def chromium_path() -> str | None:
    """Debian's chromium if installed, else None (Playwright's own build is then tried)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(population: Population, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `medsopt scan` run with events and indicators, as a user would start it."""
    return run_scan(population, tmp_path_factory.mktemp("report") / "scan", timeout=600)


@pytest.fixture(scope="module")
def charts(report: Path) -> dict[str, Any]:
    """Every chart's element attributes and plotly traces, read from the rendered page."""
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium_path())
        except sync_api.Error as error:
            pytest.skip(f"no headless Chromium: run scripts/install_browser.sh ({error})")
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def refuse(route: Any) -> None:  # offline: a request leaving the file is an error
            errors.append(route.request.url)
            route.abort()

        context.route("http*://**", refuse)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto((report / "analytics.html").as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.chart')].every(c => c.data && c._fullLayout)"
        )
        found = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('.chart')].map(c => [
                c.id, {measure: c.dataset.measure, kind: c.dataset.kind,
                       practice: c.dataset.practice, svg: c.querySelectorAll('svg').length,
                       traces: c.data.map(t => ({name: t.name, x: Array.from(t.x),
                                                 y: Array.from(t.y), meta: t.meta}))}]))"""
        )
        if shot := os.environ.get("MEDSOPT_SCREENSHOT"):
            page.screenshot(path=shot, full_page=False)
        browser.close()
    assert not errors, errors
    return {"charts": found}


def test_every_measure_has_its_two_charts_drawn(charts: dict[str, Any], report: Path) -> None:
    measures = pl.read_parquet(report / "measure_deciles.parquet")["measure_id"].unique()
    drawn = charts["charts"]
    assert {c["measure"] for c in drawn.values()} == set(measures.to_list())
    assert all(c["svg"] > 0 for c in drawn.values())
    for chart in drawn.values():
        expected = len(DECILES) + 1 if chart["kind"] == "line" else 1
        assert len(chart["traces"]) == expected, chart["measure"]


def test_every_number_in_a_chart_equals_the_parquet_output(
    charts: dict[str, Any], report: Path
) -> None:
    series = pl.read_parquet(report / "measures.parquet").filter(pl.col("level") == "practice")
    bands = pl.read_parquet(report / "measure_deciles.parquet")
    checked = 0
    for chart in charts["charts"].values():
        measure = chart["measure"]
        mine = series.filter(pl.col("measure_id") == measure, pl.col("value").is_not_null())
        if chart["kind"] == "ranked":
            last = mine["month"].max()
            expected = dict(
                mine.filter(pl.col("month") == last).select("practice_id", "value").iter_rows()
            )
            (bars,) = chart["traces"]
            assert dict(zip(bars["x"], bars["y"], strict=True)) == pytest.approx(expected)
            assert bars["y"] == sorted(bars["y"])
            checked += len(bars["y"])
            continue
        decile_rows = bands.filter(pl.col("measure_id") == measure).sort("month")
        months = [d.isoformat() for d in decile_rows["month"].to_list()]
        for trace in chart["traces"]:
            if trace["meta"]["role"] == "decile":
                assert trace["x"] == months
                column = f"p{trace['meta']['decile']}"
                assert trace["y"] == pytest.approx(decile_rows[column].to_list())
            else:
                practice = mine.filter(pl.col("practice_id") == trace["meta"]["practice_id"])
                practice = practice.sort("month")
                assert trace["x"] == [d.isoformat() for d in practice["month"].to_list()]
                assert trace["y"] == pytest.approx(practice["value"].to_list())
            checked += len(trace["y"])
    assert checked > 1000


def test_the_scan_counts_every_event_row_and_feeds_gaps_to_the_worklist(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())
    by_reason = summary["event_rows_quarantined_by_reason"]
    assert summary["event_rows_in"] == summary["event_rows_used"] + sum(by_reason.values())
    assert {"bad_date", "malformed_code"} <= set(by_reason)
    held = pl.read_parquet(report / "events_quarantine.parquet")
    assert held.height == sum(by_reason.values())
    assert summary["analytics"]["prices_illustrative"] is True
    worklist = pl.read_parquet(report / "worklist.parquet")
    gaps = pl.read_parquet(report / "indicator_gaps.parquet")
    flagged = worklist.filter(pl.col("indicator_gaps").is_not_null())
    assert flagged.height > 0
    row = flagged.row(0, named=True)
    reasons = gaps.filter(pl.col("patient_id") == row["patient_id"], pl.col("status") == "active")
    assert row["indicator_gaps"] == "; ".join(sorted(reasons["reason"].to_list()))
