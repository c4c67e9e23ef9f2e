"""The analytics page (analytics.html): indicators and biosimilar uptake across the ICB's
practices, as charts a person reads at a glance, with plotly.js inlined (opens with no network).

Per measure: the worst-placed practice's monthly line over the ICB's decile bands, and this
month's practices ranked against the target band. Every number drawn is a number of the
Parquet outputs (measures, measure_deciles); tests/analytics/test_report_browser.py checks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import polars as pl
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from medsopt.analytics.measures import DECILES
from medsopt.reports.render import render

MEDIAN_COLOUR = "#08519c"
DECILE_COLOUR = "#6baed6"
PRACTICE_COLOUR = "#d62728"
TARGET_COLOUR = "rgba(44, 160, 44, 0.15)"


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its element id, what it shows and its plotly figure as JSON text."""

    id: str
    measure_id: str
    kind: str  # line | ranked
    practice_id: str
    figure: str


@dataclass(frozen=True, slots=True)
class MeasureView:
    """One measure's section: title, ICB figures this month, target, its two charts."""

    measure_id: str
    title: str
    kind: str
    better: str
    target: tuple[float, float] | None
    status: str
    icb: dict[str, Any]
    charts: tuple[Chart, ...]


def line_chart(measure: str, practice: str, series: pl.DataFrame, bands: pl.DataFrame) -> Chart:
    """The practice's monthly values over the ICB's deciles (9 lines) of the same months."""
    figure = go.Figure()
    months = [d.isoformat() for d in bands["month"].to_list()]
    for decile in DECILES:
        median = decile == 50
        figure.add_trace(
            go.Scatter(
                x=months,
                y=bands[f"p{decile}"].to_list(),
                name=f"{decile}th percentile",
                mode="lines",
                line={
                    "color": MEDIAN_COLOUR if median else DECILE_COLOUR,
                    "dash": "solid" if median else "dash",
                    "width": 2 if median else 1,
                },
                meta={"role": "decile", "decile": decile},
            )
        )
    mine = series.filter(pl.col("practice_id") == practice).sort("month")
    figure.add_trace(
        go.Scatter(
            x=[d.isoformat() for d in mine["month"].to_list()],
            y=mine["value"].to_list(),
            name=f"practice {practice}",
            mode="lines+markers",
            line={"color": PRACTICE_COLOUR, "width": 3},
            meta={"role": "practice", "practice_id": practice},
        )
    )
    figure.update_layout(
        title=f"{measure}: practice {practice} against the ICB's deciles",
        yaxis={"title": "%", "rangemode": "tozero"},
        margin={"t": 40, "l": 50, "r": 10, "b": 40},
        height=340,
        legend={"font": {"size": 10}},
    )
    return Chart(f"line-{measure}", measure, "line", practice, figure.to_json())


def ranked_chart(measure: str, latest: pl.DataFrame, target: tuple[float, float] | None) -> Chart:
    """This month's practices ranked by value, with the target band shaded."""
    ranked = latest.sort("value", "practice_id")
    figure = go.Figure(
        go.Bar(
            x=ranked["practice_id"].to_list(),
            y=ranked["value"].to_list(),
            marker={"color": DECILE_COLOUR},
            name="practices this month",
            meta={"role": "ranked"},
        )
    )
    if target is not None:
        figure.add_hrect(y0=target[0], y1=target[1], fillcolor=TARGET_COLOUR, line_width=0)
    figure.update_layout(
        title=f"{measure}: practices this month"
        + (f" (target {target[0]:g}-{target[1]:g}%)" if target else ""),
        yaxis={"title": "%", "rangemode": "tozero"},
        xaxis={"type": "category"},
        margin={"t": 40, "l": 50, "r": 10, "b": 60},
        height=300,
    )
    return Chart(f"ranked-{measure}", measure, "ranked", "", figure.to_json())


def measure_views(frames: dict[str, pl.DataFrame], summary: dict[str, Any]) -> list[MeasureView]:
    """One view per measure with data, in the order indicators then uptake."""
    info = {i["id"]: i for i in summary.get("indicators", [])}
    series, bands = frames["measures"], frames["measure_deciles"]
    outliers = frames["measure_outliers"]
    views = []
    for (measure,), rows in series.group_by("measure_id", maintain_order=True):
        measure = str(measure)
        practices = rows.filter((pl.col("level") == "practice") & pl.col("value").is_not_null())
        mine = bands.filter(pl.col("measure_id") == measure).sort("month")
        if practices.is_empty() or mine.is_empty():
            continue
        last = mine["month"].max()
        worst = outliers.filter(pl.col("measure_id") == measure)["practice_id"].to_list()
        practice = worst[0] if worst else practices["practice_id"].sort()[0]
        icb_rows = rows.filter((pl.col("level") == "icb") & (pl.col("month") == last))
        meta = info.get(measure, {})
        target = (meta["target"][0], meta["target"][1]) if meta.get("target") else None
        first = rows.row(0, named=True)
        latest = practices.filter(pl.col("month") == last)
        views.append(
            MeasureView(
                measure_id=measure,
                title=first["title"],
                kind=first["kind"],
                better=first["better"],
                target=target,
                status=meta.get("status", "active"),
                icb=icb_rows.row(0, named=True) if icb_rows.height else {},
                charts=(
                    line_chart(measure, practice, practices, mine),
                    ranked_chart(measure, latest, target),
                ),
            )
        )
    return sorted(views, key=lambda v: (v.kind != "indicator", v.measure_id))


def render_analytics(frames: dict[str, pl.DataFrame], summary: dict[str, Any]) -> str:
    """analytics.html: every measure's charts, the ICB table, outliers, movers and savings."""
    views = measure_views(frames, summary)
    outliers = frames["measure_outliers"].filter(pl.col("worse_outlier"))
    movers = (
        frames["measure_outliers"]
        .filter(pl.col("percentile_change").is_not_null())
        .sort(pl.col("percentile_change").abs(), descending=True)
        .head(15)
    )
    uptake = frames["uptake"]
    savings = (
        uptake.filter((pl.col("level") == "icb") & (pl.col("month") == uptake["month"].max()))
        .sort("molecule_name")
        .to_dicts()
        if uptake.height
        else []
    )
    specs = {c.id: json.loads(c.figure) for v in views for c in v.charts}
    return render(
        "analytics.html.j2",
        views=views,
        unmeasured=[i for i in summary.get("indicators", []) if i.get("not_measurable")],
        excluded_total=_excluded_total(frames),
        exclusions=_this_month_icb(frames, "indicator_exclusions", "on", summary),
        to_switch=_this_month_icb(frames, "biosimilar_to_switch_counts", "month", summary),
        summary=summary,
        outliers=outliers.to_dicts(),
        movers=movers.to_dicts(),
        savings=savings,
        specs=specs,
        # plotly.js as the installed package ships it (ADR 17): library code, no user data.
        plotly_js=Markup(get_plotlyjs()),  # nosec B704
    )


def _this_month_icb(
    frames: dict[str, pl.DataFrame], name: str, month: str, summary: dict[str, Any]
) -> list[dict[str, Any]]:
    """The ICB rows of `name` in the last month (empty when the frame is absent)."""
    frame = frames.get(name)
    if frame is None or frame.is_empty():
        return []
    last = frame[month].max()
    rows = frame.filter((pl.col("level") == "icb") & (pl.col(month) == last)).to_dicts()
    explained = {
        (i["id"], e["reason"]): e["explanation"]
        for i in summary.get("indicators", [])
        for e in i.get("exclusions", [])
    }
    for row in rows:
        row["explanation"] = explained.get((row.get("indicator_id"), row.get("reason")), "")
    return rows


def _excluded_total(frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """indicator id -> patients excluded for the ICB in the last month."""
    rates = frames["indicators"]
    if rates.is_empty():
        return {}
    latest = rates.filter((pl.col("level") == "icb") & (pl.col("on") == rates["on"].max()))
    return {
        str(row["indicator_id"]): int(row["excluded"])
        for row in latest.iter_rows(named=True)
        if row["excluded"] is not None
    }
