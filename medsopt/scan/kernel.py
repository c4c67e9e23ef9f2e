"""The kernel both engines run on one patient partition (a `sharded` partition or a Spark
bucket): its rows of each input in, its share of every output out.

Pure (no I/O): `sharded` writes what it returns as parts, Spark ships it back through Arrow.
"""

from __future__ import annotations

import datetime

import polars as pl

from medsopt.scan.analytics_inputs import PatientTables
from medsopt.scan.analytics_parts import analytics_parts, with_worklist_columns
from medsopt.scan.analytics_run import AnalyticsPlan
from medsopt.scan.core import ANALYTICS_TABLES, ScanParams, scan_partition
from medsopt.scan.digest import digest
from medsopt.scan.events import ClinicalEvents
from medsopt.scan.extras import partition_events
from medsopt.scan.tables import ScanTables
from medsopt.scan.worklist import worklist_rows


def scan_share(
    dispensing: pl.LazyFrame,
    patients: pl.LazyFrame | None,
    events: pl.LazyFrame | None,
    tables: ScanTables,
    params: ScanParams,
    events_complete_from: datetime.date | None = None,
    analytics: AnalyticsPlan | None = None,
) -> dict[str, pl.DataFrame]:
    """One partition's outputs: `core.scan_partition`'s (but `current` and `practices`), the
    events' counts and quarantine, the digests (`digest.DIGESTS`), `scores` as each patient's
    worklist row with their practice and, with `analytics`, the analytics' shares
    (`analytics_parts.PARTS`) and what they add to the worklist rows.
    """
    as_of = params.period.as_of
    recorded: ClinicalEvents | None = None
    counted: dict[str, pl.DataFrame] = {}
    if events is not None:
        recorded, counted = partition_events(events, as_of, events_complete_from)
    asked = analytics is not None
    results = {**scan_partition(dispensing, patients, tables, params, recorded, asked), **counted}
    # (The analytics' tables of these patients, from the scan's own frames, when asked for.)
    given = [n for n in results if n.startswith(ANALYTICS_TABLES)]
    mine = {n.removeprefix(ANALYTICS_TABLES): results.pop(n) for n in given}
    # What the end of the scan reads of the per-patient frames are counts.
    results |= digest(results)
    results["scores"] = worklist_rows(results["scores"], results.pop("practices"))
    del results["current"]
    if analytics is None:
        return results
    shares = analytics_parts(PatientTables.from_frames(mine), tables, analytics)
    results["scores"] = with_worklist_columns(results["scores"], shares, as_of)
    return results | shares
