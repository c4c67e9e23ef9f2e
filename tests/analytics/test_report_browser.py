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
from medsopt.store.activate import BUNDLED_RULES
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


def test_the_worklist_lists_patients_still_to_switch_with_their_exception(report: Path) -> None:
    worklist = pl.read_parquet(report / "worklist.parquet")
    to_switch = pl.read_parquet(report / "biosimilar_to_switch.parquet")
    assert to_switch.height > 0
    flagged = worklist.filter(pl.col("biosimilar_to_switch").is_not_null())
    assert set(flagged["patient_id"]) == set(to_switch["patient_id"])
    row = to_switch.sort("patient_id").row(0, named=True)
    text = worklist.filter(pl.col("patient_id") == row["patient_id"])["biosimilar_to_switch"][0]
    assert f"{row['molecule_name']}: {row['brand']}, {row['exception_text']}" in text
    counts = pl.read_csv(report / "biosimilar_to_switch_counts.csv", try_parse_dates=True)
    icb = counts.filter(pl.col("level") == "icb", pl.col("month") == counts["month"].max())
    assert icb["patients"].sum() == to_switch.height
    uptake = pl.read_parquet(report / "uptake.parquet")
    latest = uptake.filter(pl.col("level") == "icb", pl.col("month") == uptake["month"].max())
    assert latest["patients_to_switch"].sum() == to_switch.height


def test_exclusions_are_counted_apart_in_the_outputs_and_the_page(report: Path) -> None:
    rates = pl.read_parquet(report / "indicators.parquet")
    exclusions = pl.read_parquet(report / "indicator_exclusions.parquet")
    icb = rates.filter(pl.col("level") == "icb", pl.col("indicator_id") == "HF1")
    last = icb.filter(pl.col("on") == icb["on"].max()).row(0, named=True)
    mine = exclusions.filter(
        pl.col("level") == "icb", pl.col("indicator_id") == "HF1", pl.col("on") == last["on"]
    )
    assert last["excluded"] == mine["patients"].sum() > 0
    assert last["rate"] == pytest.approx(100 * last["numerator"] / last["denominator"])
    page = (report / "analytics.html").read_text()
    assert 'id="exclusions-table"' in page and "palliative-care" in page
    assert 'id="to-switch-table"' in page and "recently-started" in page


@pytest.fixture(scope="module")
def drafts(population: Population, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scan of the bundled indicators with --include-drafts: AF2, CKD1 and G1 have empty
    codelists (their clusters are missing)."""
    out = tmp_path_factory.mktemp("drafts") / "scan"
    return run_scan(
        population, out, "--include-drafts", indicators=BUNDLED_RULES / "indicators", timeout=600
    )


def test_a_draft_with_an_empty_codelist_reads_not_measurable_never_zero(drafts: Path) -> None:
    rates = pl.read_csv(drafts / "indicators.csv", infer_schema=False)
    af2 = rates.filter(pl.col("indicator_id") == "AF2")
    assert af2.height > 0
    reason = "not measurable: codelist codelists/cha2ds2-vasc-score.csv holds no code"
    assert set(af2["not_measurable"]) == {reason}
    assert af2["rate"].is_null().all() and af2["denominator"].is_null().all()
    assert rates.filter(pl.col("indicator_id") == "VAS1")["not_measurable"].is_null().all()
    page = (drafts / "analytics.html").read_text()
    row = page[page.index('<tr data-measure="AF2" class="not-measurable">') :]
    assert reason in row[: row.index("</tr>")]
    gaps = pl.read_parquet(drafts / "indicator_gaps.parquet")
    assert gaps.filter(pl.col("indicator_id").is_in(["AF2", "CKD1", "G1"])).is_empty()
