"""Plain-text and self-contained HTML renderings of an alert-volume comparison."""

from __future__ import annotations

from html import escape

import polars as pl

_COLUMNS = (
    ("rule_id", "rule"),
    ("patients_baseline", "patients now"),
    ("patients_proposed", "patients proposed"),
    ("patients_change", "change"),
    ("prescriptions_baseline", "prescriptions now"),
    ("prescriptions_proposed", "prescriptions proposed"),
)


def _relative(value: float | None) -> str:
    return "new" if value is None else f"{value:+.0%}"


def render_text(comparison: pl.DataFrame, baseline: str, proposed: str, threshold: float) -> str:
    """A fixed-width table, flagged rules marked with '!'."""
    lines = [
        f"baseline: {baseline}",
        f"proposed: {proposed}",
        f"flag: patient count changes by more than {threshold:.0%}, or a rule starts or stops",
        "",
        f"  {'rule':<34}{'now':>8}{'proposed':>10}{'change':>9}{'%':>8}{'rx now':>9}{'rx prop':>9}",
    ]
    for row in comparison.iter_rows(named=True):
        mark = "!" if row["flagged"] else " "
        lines.append(
            f"{mark} {row['rule_id']:<34}{row['patients_baseline']:>8}"
            f"{row['patients_proposed']:>10}{row['patients_change']:>+9}"
            f"{_relative(row['relative_change']):>8}{row['prescriptions_baseline']:>9}"
            f"{row['prescriptions_proposed']:>9}"
        )
    flagged = comparison.filter(pl.col("flagged")).height
    lines += ["", f"{comparison.height} rules compared, {flagged} flagged"]
    return "\n".join(lines)


def render_html(comparison: pl.DataFrame, baseline: str, proposed: str, threshold: float) -> str:
    """A self-contained page (no scripts, no network) with flagged rows highlighted."""
    header = "".join(f"<th>{escape(label)}</th>" for _, label in _COLUMNS) + "<th>%</th>"
    rows = []
    for row in comparison.iter_rows(named=True):
        cells = "".join(f"<td>{escape(str(row[key]))}</td>" for key, _ in _COLUMNS)
        style = ' class="flagged"' if row["flagged"] else ""
        rows.append(f"<tr{style}>{cells}<td>{_relative(row['relative_change'])}</td></tr>")
    flagged = comparison.filter(pl.col("flagged")).height
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Alert-volume simulation</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;"
        "padding:.3rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}"
        "th{background:#f3f4f6}.flagged{background:#fee4e2}</style></head><body>"
        "<h1>Alert-volume simulation</h1>"
        f"<p>Baseline: {escape(baseline)}<br>Proposed: {escape(proposed)}</p>"
        f"<p>{comparison.height} rules compared; {flagged} flagged (patient count changes by "
        f"more than {threshold:.0%}, or the rule starts or stops firing).</p>"
        f"<table><tr>{header}</tr>{''.join(rows)}</table></body></html>\n"
    )
