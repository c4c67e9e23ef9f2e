"""An alert-volume comparison as a fixed-width text table and as a self-contained HTML page."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from medsopt.reports.render import render

_COLUMNS = (
    ("rule_id", "rule"),
    ("patients_baseline", "patients now"),
    ("patients_proposed", "patients proposed"),
    ("patients_change", "change"),
    ("prescriptions_baseline", "prescriptions now"),
    ("prescriptions_proposed", "prescriptions proposed"),
)


@dataclass(frozen=True, slots=True)
class SimulationRow:
    """One rule's counts, as the cells of a table row."""

    cells: tuple[str, ...]
    flagged: bool


@dataclass(frozen=True, slots=True)
class SimulationPage:
    """Everything the simulation template shows."""

    baseline: str
    proposed: str
    threshold: str
    compared: int
    flagged: int
    headers: tuple[str, ...]
    rows: tuple[SimulationRow, ...]


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


def simulation_page(
    comparison: pl.DataFrame, baseline: str, proposed: str, threshold: float
) -> SimulationPage:
    """The comparison as plain strings, flagged rows marked."""
    rows = tuple(
        SimulationRow(
            cells=(*(str(row[key]) for key, _ in _COLUMNS), _relative(row["relative_change"])),
            flagged=bool(row["flagged"]),
        )
        for row in comparison.iter_rows(named=True)
    )
    return SimulationPage(
        baseline=baseline,
        proposed=proposed,
        threshold=f"{threshold:.0%}",
        compared=comparison.height,
        flagged=sum(row.flagged for row in rows),
        headers=(*(label for _, label in _COLUMNS), "%"),
        rows=rows,
    )


def render_html(comparison: pl.DataFrame, baseline: str, proposed: str, threshold: float) -> str:
    """A self-contained page (no scripts, no network) with flagged rows highlighted."""
    return render(
        "simulation.html.j2", page=simulation_page(comparison, baseline, proposed, threshold)
    )
