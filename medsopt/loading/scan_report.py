"""report.html: one self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import polars as pl

from medsopt.scan import schema as s
from medsopt.scan.pdc import ADHERENT_AT

SEVERITY_COLOUR = {
    "severe": "#b2182b",
    "moderate": "#ef8a62",
    "mild": "#f4c542",
    "info": "#67a9cf",
}
TOP_PATIENTS = 25
TOP_BARS = 20
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#1d2327;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.muted{color:#5f6b73}.grid{display:flex;flex-wrap:wrap;gap:16px}
.card{border:1px solid #dde3e8;border-radius:6px;padding:10px 14px;background:#fafbfc}
.card b{display:block;font-size:20px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff1;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:12px system-ui,sans-serif;fill:#1d2327}.legend span{margin-right:14px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
"""


def _cards(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="grid">'
        + "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in items)
        + "</div>"
    )


def _histogram(title: str, values: Sequence[float]) -> str:
    """PDC in ten bins; bars under the adherence threshold in orange."""
    bins = [0] * 10
    for v in values:
        bins[min(int(v * 10), 9)] += 1
    width, height, left, bottom = 340, 170, 36, 28
    plot_w, plot_h = width - left - 8, height - bottom - 24
    top = max(bins) or 1
    bar_w = plot_w / 10
    parts = [
        f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-weight="600">{escape(title)} (n={len(values)})</text>',
    ]
    for i, count in enumerate(bins):
        h = plot_h * count / top
        x = left + i * bar_w
        y = 24 + plot_h - h
        colour = "#ef8a62" if (i + 1) / 10 <= ADHERENT_AT else "#4393c3"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>PDC {i / 10:.1f}-{(i + 1) / 10:.1f}: {count}</title></rect>'
        )
    threshold_x = left + plot_w * ADHERENT_AT
    parts.append(
        f'<line x1="{threshold_x:.1f}" y1="22" x2="{threshold_x:.1f}" y2="{24 + plot_h}" '
        'stroke="#333" stroke-dasharray="3 3"/>'
    )
    parts.append(f'<text x="{threshold_x + 3:.1f}" y="34">0.80</text>')
    for tick in (0, 0.5, 1):
        parts.append(
            f'<text x="{left + plot_w * tick:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{tick:g}</text>"
        )
    parts.append(f'<text x="4" y="{24 + plot_h}">0</text><text x="4" y="34">{top}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bars(rows: Sequence[tuple[str, int, str]], label: str) -> str:
    """Horizontal bars: (name, count, colour)."""
    if not rows:
        return '<p class="muted">None.</p>'
    name_w, bar_w, row_h = 260, 560, 20
    top = max(count for _, count, _ in rows) or 1
    height = row_h * len(rows) + 8
    width = name_w + bar_w + 70
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(label)}">']
    for i, (name, count, colour) in enumerate(rows):
        y = 4 + i * row_h
        w = bar_w * count / top
        parts.append(
            f'<text x="{name_w - 6}" y="{y + 14}" text-anchor="end">{escape(name[:40])}</text>'
            f'<rect x="{name_w}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row_h - 5}" '
            f'fill="{colour}"><title>{escape(name)}: {count}</title></rect>'
            f'<text x="{name_w + w + 6:.1f}" y="{y + 14}">{count:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and column == "rows":
        return f"{value:,}"
    return str(value)


def _table(frame: pl.DataFrame, numeric: set[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            text = _cell(column, value)
            css = ' class="num"' if column in numeric else ""
            cells.append(f"<td{css}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_report(summary: Mapping[str, Any], results: Mapping[str, pl.DataFrame]) -> str:
    """The whole page for one scan."""
    adherence, findings = results["adherence"], results["findings"]
    worklist, practices = results["worklist"], results["practices"]
    rows_in = summary["rows_in"]
    cards = _cards(
        [
            ("rows in", f"{rows_in:,}"),
            ("rows used", f"{summary['rows_used']:,}"),
            ("rows quarantined", f"{summary['rows_quarantined']:,}"),
            ("patients", f"{summary['patients']:,}"),
            ("findings", f"{summary['findings']:,}"),
            ("worklist patients", f"{summary['worklist_patients']:,}"),
        ]
    )
    reasons = pl.DataFrame(
        {
            "reason": ["used", *summary["quarantined_by_reason"]],
            "rows": [summary["rows_used"], *summary["quarantined_by_reason"].values()],
        },
        schema={"reason": pl.String, "rows": pl.Int64},
    )
    supply = pl.DataFrame(
        {
            "method": list(summary["supply_methods"]),
            "rows": list(summary["supply_methods"].values()),
        },
        schema={"method": pl.String, "rows": pl.Int64},
    )
    histograms = (
        "".join(
            _histogram(str(cls), group["pdc"].drop_nulls().to_list())
            for (cls,), group in sorted(adherence.group_by("drug_class"), key=lambda g: str(g[0]))
        )
        or '<p class="muted">No patient had fills in an adherence class.</p>'
    )
    by_rule = (
        findings.group_by("rule_id", "severity")
        .len()
        .sort(["len", "rule_id"], descending=[True, False])
    )
    rule_bars = _bars(
        [
            (r, n, SEVERITY_COLOUR.get(sev, "#999"))
            for r, sev, n in by_rule.head(TOP_BARS).iter_rows()
        ],
        "findings by rule",
    )
    by_practice = (
        findings.join(practices, on=s.PATIENT_ID, how="left")
        .group_by(pl.col(s.PRACTICE_ID).fill_null("(no practice)"))
        .len()
        .sort(["len", s.PRACTICE_ID], descending=[True, False])
    )
    practice_bars = _bars(
        [(p, n, "#4393c3") for p, n in by_practice.head(TOP_BARS).iter_rows()],
        "findings by practice",
    )
    top = worklist.head(TOP_PATIENTS).select(
        "rank", s.PATIENT_ID, s.PRACTICE_ID, pl.col("score").round(3), "reasons"
    )
    legend = "".join(
        f'<span><i class="swatch" style="background:{c}"></i>{escape(sev)}</span>'
        for sev, c in SEVERITY_COLOUR.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medsopt scan {escape(summary["as_of"])}</title><style>{_CSS}</style></head>
<body>
<h1>Population scan as of {escape(summary["as_of"])}</h1>
<p class="muted">Measurement period {escape(summary["period_start"])} to {escape(summary["as_of"])}
({summary["period_days"]} days) · rule set {escape(summary["ruleset"])} ·
PDC threshold {ADHERENT_AT:.2f} (PQA)</p>
{cards}
<h2>Top {TOP_PATIENTS} patients to contact</h2>
{_table(top, {"rank", "score"})}
<h2>PDC distribution per class</h2>
<p class="muted">Eligible patients only (fills on 2+ dates, index date 91+ days before the end).
Orange: below 0.80.</p>
<div class="grid">{histograms}</div>
<h2>Findings by rule</h2><p class="legend">{legend}</p>
{rule_bars}
<h2>Findings by practice</h2>
{practice_bars}
<h2>Rows</h2>
<p class="muted">rows in = rows used + rows quarantined ({rows_in:,} =
{summary["rows_used"]:,} + {summary["rows_quarantined"]:,}); quarantined rows are in
quarantine.parquet with their reason.</p>
<div class="grid"><div>{_table(reasons, {"rows"})}</div><div>{_table(supply, {"rows"})}</div></div>
</body></html>
"""
