"""summary.json: what a scan read, used and quarantined, what it found, and how long it took."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import polars as pl

from medsopt.scan.core import ScanParams
from medsopt.scan.digest import weighted_median
from medsopt.scan.tables import ScanTables


def summarise(
    results: Mapping[str, pl.DataFrame],
    tables: ScanTables,
    params: ScanParams,
    inputs: Mapping[str, str | None],
    timings: Mapping[str, float],
) -> dict[str, Any]:
    """summary.json: the row invariant, patients, classes, findings, timings (from the counts
    and the digests, `digest.DIGESTS`)."""
    outcomes = dict(results["outcomes"].iter_rows())
    rows_used = int(outcomes.pop("used", 0))
    by_reason = {reason: int(outcomes.get(reason, 0)) for reason in sorted(outcomes)}
    rows_quarantined = sum(by_reason.values())
    patient_outcomes = dict(results["patient_outcomes"].iter_rows())
    patients_used = int(patient_outcomes.pop("used", 0))
    adherence = results["adherence_counts"]
    classes = {
        cls: {
            "patients": int(group["patients"].sum()),
            "eligible": int(group.filter(pl.col("pdc").is_not_null())["patients"].sum()),
            "adherent": int(group.filter(pl.col("adherent"))["patients"].sum()),
            "median_pdc": weighted_median(group["pdc"], group["patients"]),
        }
        for (cls,), group in sorted(adherence.group_by("drug_class"), key=lambda g: str(g[0]))
    }
    findings = results["finding_counts"]
    counts = results["patient_counts"].row(0, named=True)
    return {
        "inputs": dict(inputs),
        "ruleset": tables.ruleset,
        "as_of": params.period.as_of.isoformat(),
        "period_days": params.period.days,
        "period_start": params.period.start.isoformat(),
        "rows_in": rows_used + rows_quarantined,
        "rows_used": rows_used,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_reason": by_reason,
        "patient_rows_in": patients_used + sum(patient_outcomes.values()),
        "patient_rows_used": patients_used,
        "patient_rows_quarantined_by_reason": {
            k: int(v) for k, v in sorted(patient_outcomes.items())
        },
        "supply_methods": {k: int(v) for k, v in results["supply_methods"].iter_rows()},
        "patients": int(counts["patients"]),
        "patients_with_current_medicines": int(counts["patients_with_current_medicines"]),
        "classes": classes,
        "findings": int(findings["findings"].sum()),
        "findings_by_rule": dict(
            sorted(
                (k, int(v))
                for k, v in findings.group_by("rule_id").agg(pl.col("findings").sum()).iter_rows()
            )
        ),
        "not_evaluated": int(counts["not_evaluated"]),
        "worklist_patients": int(results["worklist"].height),
        "weights": {
            "safety": params.weights.safety,
            "adherence": params.weights.adherence,
            "recoverability": params.weights.recoverability,
        },
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        **event_summary(results),
    }


def event_summary(results: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """The event counts: rows in = used + quarantined, per reason (only if events were given)."""
    if "events_outcomes" not in results:
        return {}
    outcomes = {k: int(v) for k, v in results["events_outcomes"].iter_rows()}
    used = outcomes.pop("used", 0)
    return {
        "event_rows_in": used + sum(outcomes.values()),
        "event_rows_used": used,
        "event_rows_quarantined_by_reason": dict(sorted(outcomes.items())),
    }


class Stopwatch:
    """Named wall-clock timings for summary.json."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self._started
        self._started = now
