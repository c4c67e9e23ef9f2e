"""The scan's report.html shows ids, classes and reasons as text, however they are spelt."""

from __future__ import annotations

from typing import Any

import polars as pl

from medsopt.reports.scan import render_report
from medsopt.scan import schema as s
from tests.reports.markup import HOSTILE, assert_inert, parse


def hostile_scan() -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """A one-patient scan whose patient, practice, class, rule and reason are all HOSTILE (its
    digests, `digest.DIGESTS`, and the top of its worklist)."""
    summary = {
        "as_of": "2026-06-30",
        "period_start": "2025-07-01",
        "period_days": 365,
        "ruleset": HOSTILE,
        "rows_in": 1234,
        "rows_used": 1200,
        "rows_quarantined": 34,
        "quarantined_by_reason": {HOSTILE: 34},
        "supply_methods": {"days_supply": 1200},
        "patients": 1,
        "findings": 1,
        "worklist_patients": 1,
    }
    results = {
        "adherence_counts": pl.DataFrame(
            {"drug_class": [HOSTILE, HOSTILE], "pdc": [0.5, 0.95], "patients": [1, 1]}
        ),
        "finding_counts": pl.DataFrame(
            {
                "rule_id": [HOSTILE],
                "severity": ["severe"],
                s.PRACTICE_ID: [HOSTILE],
                "findings": [1],
            }
        ),
        "worklist": pl.DataFrame(
            {
                "rank": [1],
                s.PATIENT_ID: [HOSTILE],
                s.PRACTICE_ID: [HOSTILE],
                "score": [0.87654],
                "reasons": [HOSTILE],
            }
        ),
    }
    return summary, results


def test_hostile_ids_are_escaped_in_tables_and_charts() -> None:
    summary, results = hostile_scan()
    html = render_report(summary, results)
    assert_inert(html, in_attribute=True)  # the histogram's aria-label carries the class name
    page = parse(html)
    assert {"svg", "rect", "table"} <= page.elements
    assert "://" not in html.replace("http://www.w3.org", "")
    text = "".join(page.text)
    assert "1,234 = 1,200 + 34" in " ".join(text.split())
    assert "0.877" in text  # score to three places


def test_an_empty_scan_says_so_instead_of_drawing_charts() -> None:
    summary, results = hostile_scan()
    results = {name: frame.clear() for name, frame in results.items()}
    text = " ".join("".join(parse(render_report(summary, results)).text).split())
    assert "No patient had fills in an adherence class." in text
    assert text.count("None.") == 2  # findings by rule, findings by practice
