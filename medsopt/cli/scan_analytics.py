"""`medsopt scan --indicators`: the analytics plan every partition evaluates its share of, and
the report page of the combined outputs."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from medsopt.rules.ruleset import RuleSet
    from medsopt.scan.extras import Extras
    from medsopt.scan.files import Analytics


def analytics_step(extras: Extras, ruleset: RuleSet, as_of: datetime.date) -> Analytics | None:
    """The analytics for `files.scan_to_directory`; None when not asked for.

    RuleSetError for an invalid indicator or price file (before any partition is scanned).
    """
    from medsopt.scan.analytics_run import plan_analytics
    from medsopt.scan.files import Analytics

    request = extras.analytics
    if request is None:
        return None
    return Analytics(plan_analytics(ruleset, as_of, request), pages)


def pages(frames: dict[str, pl.DataFrame], summary: dict[str, Any]) -> dict[str, str]:
    """The analytics' HTML page of its outputs, by file name."""
    from medsopt.reports.analytics import render_analytics

    return {"analytics.html": render_analytics(frames, summary)}
