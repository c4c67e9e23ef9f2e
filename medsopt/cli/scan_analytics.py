"""`medsopt scan` with --events and --indicators: the events' row counts, the analytics run
and its report page, and the indicator gaps added to the worklist."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from medsopt.cli.scan import Extras
    from medsopt.rules.ruleset import RuleSet
    from medsopt.scan.tables import ScanTables


def event_summary(results: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """summary.json's event counts: rows in = used + quarantined, per reason (if events given)."""
    if "events_outcomes" not in results:
        return {}
    outcomes = {k: int(v) for k, v in results["events_outcomes"].iter_rows()}
    used = outcomes.pop("used", 0)
    return {
        "event_rows_in": used + sum(outcomes.values()),
        "event_rows_used": used,
        "event_rows_quarantined_by_reason": dict(sorted(outcomes.items())),
    }


def _analytics(
    dispensing: Path,
    patients: Path | None,
    extras: Extras,
    results: dict[str, pl.DataFrame],
    tables: ScanTables,
    ruleset: RuleSet,
    as_of: datetime.date,
    progress: Callable[[str], None],
) -> tuple[dict[str, pl.DataFrame], dict[str, str], dict[str, Any]]:
    """(frames, pages, summary) of the analytics; empty when not asked for.

    The worklist gains `indicator_gaps`: the active indicators' reasons for each patient.
    """
    if extras.analytics is None:
        return {}, {}, {}
    from medsopt.reports.analytics import render_analytics
    from medsopt.scan import files
    from medsopt.scan.analytics_run import run_analytics
    from medsopt.scan.events import ClinicalEvents, annotate_events, clean_events

    progress("analytics: indicators and biosimilar uptake by month")
    events = None
    if extras.events is not None:
        annotated = annotate_events(files.read_events(extras.events), as_of)
        events = ClinicalEvents(clean_events(annotated).collect(), extras.events_complete_from)
    frames, summary = run_analytics(
        files.read_dispensing(dispensing),
        files.read_patients(patients) if patients is not None else None,
        events,
        tables,
        ruleset,
        as_of,
        extras.analytics,
    )
    reasons = (
        frames["indicator_gaps"]
        .filter(pl.col("status") == "active")
        .group_by("patient_id")
        .agg(pl.col("reason").sort().str.join("; ").alias("indicator_gaps"))
    )
    results["worklist"] = results["worklist"].join(
        reasons, on="patient_id", how="left", maintain_order="left"
    )
    page = render_analytics(frames, summary)
    return frames, {"analytics.html": page}, summary
