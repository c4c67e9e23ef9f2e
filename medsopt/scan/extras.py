"""The scan's optional parts, partition by partition: the clinical events (every row used or
quarantined, and counted) and the per-patient tables the analytics read once every partition
is scanned (they compare all patients, so they run after the partitions, on these small tables).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from medsopt.scan import quarantine
from medsopt.scan.analytics_inputs import PatientTables
from medsopt.scan.events import (
    ClinicalEvents,
    annotate_events,
    clean_events,
    quarantined_events,
)

if TYPE_CHECKING:
    from medsopt.scan.analytics_run import AnalyticsRequest

# Where each partition writes its share of the analytics' per-patient tables.
PATIENT_TABLES = "analytics-inputs"


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


def write_patient_tables(tables: PatientTables, parts: Path, index: int) -> None:
    """Write a partition's share of the analytics' per-patient tables under `parts`."""
    for name, frame in tables.frames().items():
        folder = parts / PATIENT_TABLES / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"{index:06d}.parquet")


def read_patient_tables(parts: Path) -> PatientTables:
    """Every partition's share of the per-patient tables, as one (patients are disjoint)."""

    def whole(name: str) -> pl.DataFrame:
        files = sorted((parts / PATIENT_TABLES / name).glob("*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")

    return PatientTables(whole("patients"), whole("fills"), whole("recorded"))
