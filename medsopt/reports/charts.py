"""Chart geometry for inline SVG: positions and sizes computed here, drawn by `charts.html.j2`.

Coordinates are rounded to 0.1 px; the templates print them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BELOW_COLOUR = "#ef8a62"  # bins under the adherence threshold
ABOVE_COLOUR = "#4393c3"
BINS = 10
NAME_CHARS = 40  # longer bar labels are cut; the full name stays in the tooltip


@dataclass(frozen=True, slots=True)
class Rect:
    """One filled bar with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    tooltip: str


@dataclass(frozen=True, slots=True)
class Label:
    """A text label at a point."""

    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Histogram:
    """PDC in ten bins, a dashed line at the adherence threshold, 0 / 0.5 / 1 ticks."""

    title: str
    n: int
    width: int
    height: int
    left: int
    baseline_y: int  # y of the plot's bottom edge
    bars: tuple[Rect, ...]
    threshold_x: float  # the dashed line at the adherence threshold
    threshold: Label
    ticks: tuple[Label, ...]  # x axis: 0, 0.5, 1
    axis: tuple[Label, ...]  # y axis: 0 and the tallest bin's count


@dataclass(frozen=True, slots=True)
class BarRow:
    """One horizontal bar: its name (cut to fit), bar and count label."""

    name: Label
    bar: Rect
    count: Label


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars, one row per name, longest first as given."""

    label: str
    width: int
    height: int
    rows: tuple[BarRow, ...]


def histogram(title: str, counted: Iterable[tuple[float, int]], threshold: float) -> Histogram:
    """PDC in ten bins from (value, patients) pairs; bars under `threshold` in orange."""
    bins = [0] * BINS
    for v, patients in counted:
        bins[min(int(v * BINS), BINS - 1)] += patients
    width, height, left, bottom = 340, 170, 36, 28
    plot_w, plot_h = width - left - 8, height - bottom - 24
    top = max(bins) or 1
    bar_w = plot_w / BINS
    bars = []
    for i, count in enumerate(bins):
        h = plot_h * count / top
        low, high = i / BINS, (i + 1) / BINS
        bars.append(
            Rect(
                x=round(left + i * bar_w + 1, 1),
                y=round(24 + plot_h - h, 1),
                width=round(bar_w - 2, 1),
                height=round(h, 1),
                colour=BELOW_COLOUR if high <= threshold else ABOVE_COLOUR,
                tooltip=f"PDC {low:.1f}-{high:.1f}: {count}",
            )
        )
    threshold_x = left + plot_w * threshold
    return Histogram(
        title=title,
        n=sum(bins),
        width=width,
        height=height,
        left=left,
        baseline_y=24 + plot_h,
        bars=tuple(bars),
        threshold_x=round(threshold_x, 1),
        threshold=Label(round(threshold_x + 3, 1), 34, f"{threshold:.2f}"),
        ticks=tuple(
            Label(round(left + plot_w * tick, 1), height - 10, f"{tick:g}")
            for tick in (0.0, 0.5, 1.0)
        ),
        axis=(Label(4, 24 + plot_h, "0"), Label(4, 34, str(top))),
    )


def bar_chart(rows: Sequence[tuple[str, int, str]], label: str) -> BarChart:
    """Horizontal bars from (name, count, colour) rows; no rows gives a chart with none."""
    name_w, bar_w, row_h = 260, 560, 20
    top = max((count for _, count, _ in rows), default=0) or 1
    drawn = []
    for i, (name, count, colour) in enumerate(rows):
        y = 4 + i * row_h
        w = bar_w * count / top
        drawn.append(
            BarRow(
                name=Label(name_w - 6, y + 14, name[:NAME_CHARS]),
                bar=Rect(name_w, y + 2, round(max(w, 1), 1), row_h - 5, colour, f"{name}: {count}"),
                count=Label(round(name_w + w + 6, 1), y + 14, f"{count:,}"),
            )
        )
    return BarChart(label, name_w + bar_w + 70, row_h * len(rows) + 8, tuple(drawn))
