"""report.html for one scan: a self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from medsopt.reports.charts import ABOVE_COLOUR, BarChart, Histogram, bar_chart, histogram
from medsopt.reports.render import render
from medsopt.scan import schema as s
from medsopt.scan.pdc import ADHERENT_AT

SEVERITY_COLOUR = {
    "severe": "#b2182b",
    "moderate": "#ef8a62",
    "mild": "#f4c542",
    "info": "#67a9cf",
}
UNKNOWN_SEVERITY_COLOUR = "#999"
TOP_PATIENTS = 25
TOP_BARS = 20


@dataclass(frozen=True, slots=True)
class Table:
    """A table as text cells; `numeric` marks the right-aligned columns."""

    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class ScanPage:
    """Everything `scan.html.j2` shows."""

    as_of: str
    period_start: str
    period_days: int
    ruleset: str
    threshold: str
    cards: tuple[tuple[str, int], ...]
    top_patients: int
    worklist: Table
    histograms: tuple[Histogram, ...]
    legend: tuple[tuple[str, str], ...]  # (severity, colour)
    by_rule: BarChart
    by_practice: BarChart
    rows_in: int
    rows_used: int
    rows_quarantined: int
    reasons: Table
    supply: Table


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and column == "rows":
        return f"{value:,}"
    return str(value)


def table(frame: pl.DataFrame, numeric: set[str]) -> Table:
    """A frame's rows as text: floats to 3 places, row counts with thousands separators."""
    return Table(
        columns=tuple(frame.columns),
        numeric=tuple(column in numeric for column in frame.columns),
        rows=tuple(
            tuple(_cell(c, v) for c, v in zip(frame.columns, row, strict=True))
            for row in frame.iter_rows()
        ),
    )


def _counts(label: str, counts: Mapping[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {label: list(counts), "rows": list(counts.values())},
        schema={label: pl.String, "rows": pl.Int64},
    )


def _histograms(adherence_counts: pl.DataFrame) -> tuple[Histogram, ...]:
    counted = adherence_counts.drop_nulls("pdc")
    groups = sorted(counted.group_by("drug_class"), key=lambda g: str(g[0]))
    return tuple(
        histogram(str(cls), group.select("pdc", "patients").iter_rows(), ADHERENT_AT)
        for (cls,), group in groups
    )


def _by_rule(finding_counts: pl.DataFrame) -> BarChart:
    counts = finding_counts.group_by("rule_id", "severity").agg(
        pl.col("findings").sum().alias("len")
    )
    counts = counts.sort(["len", "rule_id"], descending=[True, False]).head(TOP_BARS)
    rows = [
        (rule, n, SEVERITY_COLOUR.get(severity, UNKNOWN_SEVERITY_COLOUR))
        for rule, severity, n in counts.iter_rows()
    ]
    return bar_chart(rows, "findings by rule")


def _by_practice(finding_counts: pl.DataFrame) -> BarChart:
    counts = (
        finding_counts.group_by(pl.col(s.PRACTICE_ID).fill_null("(no practice)"))
        .agg(pl.col("findings").sum().alias("len"))
        .sort(["len", s.PRACTICE_ID], descending=[True, False])
        .head(TOP_BARS)
    )
    return bar_chart([(p, n, ABOVE_COLOUR) for p, n in counts.iter_rows()], "findings by practice")


def scan_page(summary: Mapping[str, Any], results: Mapping[str, pl.DataFrame]) -> ScanPage:
    """The page's content from summary.json's dict, the scan's digests (`digest.DIGESTS`) and
    the top of its worklist."""
    top = (
        results["worklist"]
        .head(TOP_PATIENTS)
        .select("rank", s.PATIENT_ID, s.PRACTICE_ID, pl.col("score").round(3), "reasons")
    )
    used = {"used": summary["rows_used"], **summary["quarantined_by_reason"]}
    return ScanPage(
        as_of=summary["as_of"],
        period_start=summary["period_start"],
        period_days=summary["period_days"],
        ruleset=summary["ruleset"],
        threshold=f"{ADHERENT_AT:.2f}",
        cards=tuple(
            (label.replace("_", " "), summary[label])
            for label in (
                "rows_in",
                "rows_used",
                "rows_quarantined",
                "patients",
                "findings",
                "worklist_patients",
            )
        ),
        top_patients=TOP_PATIENTS,
        worklist=table(top, {"rank", "score"}),
        histograms=_histograms(results["adherence_counts"]),
        legend=tuple(SEVERITY_COLOUR.items()),
        by_rule=_by_rule(results["finding_counts"]),
        by_practice=_by_practice(results["finding_counts"]),
        rows_in=summary["rows_in"],
        rows_used=summary["rows_used"],
        rows_quarantined=summary["rows_quarantined"],
        reasons=table(_counts("reason", used), {"rows"}),
        supply=table(_counts("method", summary["supply_methods"]), {"rows"}),
    )


def render_report(summary: Mapping[str, Any], results: Mapping[str, pl.DataFrame]) -> str:
    """The whole page for one scan."""
    return render("scan.html.j2", page=scan_page(summary, results))
