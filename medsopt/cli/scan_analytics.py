"""`medsopt scan --indicators`: the analytics step run once every partition is scanned, its
report page, and the indicator gaps added to the worklist."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from medsopt.rules.ruleset import RuleSet
    from medsopt.scan.analytics_inputs import PatientTables
    from medsopt.scan.extras import Extras
    from medsopt.scan.files import Analytics
    from medsopt.scan.tables import ScanTables


def analytics_step(
    extras: Extras,
    tables: ScanTables,
    ruleset: RuleSet,
    as_of: datetime.date,
    progress: Callable[[str], None],
) -> Analytics | None:
    """The analytics for `files.scan_to_directory`; None when not asked for."""
    request = extras.analytics
    if request is None:
        return None

    def step(
        parts: PatientTables, results: dict[str, pl.DataFrame]
    ) -> tuple[dict[str, pl.DataFrame], dict[str, str], dict[str, Any]]:
        """(frames, pages, summary), as `publish` gives them."""
        from medsopt.scan.analytics_run import run_analytics

        progress("analytics: indicators and biosimilar uptake by month")
        frames, summary = run_analytics(parts, tables, ruleset, as_of, request)
        return publish(frames, summary, results)

    return step


def publish(
    frames: dict[str, pl.DataFrame], summary: dict[str, Any], results: dict[str, pl.DataFrame]
) -> tuple[dict[str, pl.DataFrame], dict[str, str], dict[str, Any]]:
    """(frames, pages, summary) of computed analytics; the worklist in `results` gains
    `indicator_gaps` (the active indicators' reasons for each patient) and
    `biosimilar_to_switch` (molecule, brand and exception of each originator still to switch)."""
    from medsopt.analytics.switching import worklist_reasons
    from medsopt.reports.analytics import render_analytics

    reasons = (
        frames["indicator_gaps"]
        .filter(pl.col("status") == "active")
        .group_by("patient_id")
        .agg(pl.col("reason").sort().str.join("; ").alias("indicator_gaps"))
    )
    switches = worklist_reasons(frames["biosimilar_to_switch"])
    results["worklist"] = (
        results["worklist"]
        .join(reasons, on="patient_id", how="left", maintain_order="left")
        .join(switches, on="patient_id", how="left", maintain_order="left")
    )
    return frames, {"analytics.html": render_analytics(frames, summary)}, summary
