"""The scan's optional inputs and steps (`Extras`), and the clinical events partition by
partition: every row used or quarantined, and counted."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from medsopt.scan import quarantine
from medsopt.scan.events import (
    ClinicalEvents,
    annotate_events,
    clean_events,
    quarantined_events,
)

if TYPE_CHECKING:
    from medsopt.scan.analytics_run import AnalyticsRequest


@dataclass(frozen=True, slots=True)
class Extras:
    """The optional clinical events input and the analytics, when asked for."""

    events: Path | None = None
    events_complete_from: datetime.date | None = None
    analytics: AnalyticsRequest | None = None


def partition_events(
    events: pl.LazyFrame, as_of: datetime.date, complete_from: datetime.date | None
) -> tuple[ClinicalEvents, dict[str, pl.DataFrame]]:
    """A partition's clean events, and its `events_outcomes` counts and `events_quarantine`."""
    annotated = annotate_events(events, as_of)
    clean, outcomes, held = pl.collect_all(
        [
            clean_events(annotated),
            quarantine.reason_counts(annotated),
            quarantined_events(annotated),
        ]
    )
    counted = {"events_outcomes": outcomes, "events_quarantine": held}
    return ClinicalEvents(clean, complete_from), counted
