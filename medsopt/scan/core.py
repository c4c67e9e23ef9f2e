"""The scan of one patient partition: raw rows in, every output out.

Each stage is a lazy plan (the modules of this package); `scan_partition` runs them in order
and materialises each stage's result once. That is deliberate: a polars plan that reuses an
intermediate frame in several branches is expanded per branch, so chaining the stages lazily
grows the plan exponentially (and `LazyFrame.cache()` panics in the CSE pass of polars 2.1).

A pure function of its inputs (no I/O), so the same code runs whole or hash-partitioned by
patient id (`partition`): in bounded memory on one machine (`sharded`), across processes, or
on a cluster; only the worklist rank needs every partition (`worklist.rank`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from medsopt.scan import patients as patient_facts
from medsopt.scan import quarantine
from medsopt.scan import schema as s
from medsopt.scan.analytics_inputs import clean_fills, tables_from
from medsopt.scan.current import CURRENT_DAYS
from medsopt.scan.events import ClinicalEvents, monitoring_results
from medsopt.scan.fills import class_fills, keyed_fills, latest_practices, medicines
from medsopt.scan.fills import current_medicines as keyed_current
from medsopt.scan.fills import supply_methods as supply_counts
from medsopt.scan.pdc import Period, keyed_pdc, named
from medsopt.scan.screening import screen
from medsopt.scan.tables import ScanTables
from medsopt.scan.worklist import Weights, patient_scores

# What every partition returns (frames with these names; see `scan_partition`).
OUTPUTS = (
    "outcomes",  # outcome ('used' or a quarantine reason), rows
    "quarantine",  # quarantined rows as read + reason, detail
    "supply_methods",  # supply_method, rows
    "adherence",  # per patient and class
    "current",  # per patient and current medicine
    "findings",  # per patient finding
    "not_evaluated",  # per patient rule lacking data
    "scores",  # worklist rows before ranking
    "patient_outcomes",  # outcome, rows (patient table)
    "patients_quarantine",  # quarantined patient rows as read + reason, detail
    "practices",  # patient_id, practice_id
)
# With `analytics`, `scan_partition` also gives the analytics' tables of its patients
# (`analytics_inputs.PatientTables`, from its own frames), each under this prefix.
ANALYTICS_TABLES = "analytics_"


@dataclass(frozen=True, slots=True)
class ScanParams:
    """What the user chose for this scan."""

    period: Period
    current_days: int = CURRENT_DAYS
    late_grace_days: int = 7
    horizon_days: int = 90
    weights: Weights = field(default_factory=Weights)


def partition_number(count: int) -> pl.Expr:
    """Each row's shard of `count` (0 to count - 1): a hash of the (trimmed) patient id."""
    key = pl.col(s.PATIENT_ID).cast(pl.String).str.strip_chars()
    return key.hash(seed=0) % count


def partition(count: int, index: int) -> pl.Expr:
    """Rows of shard `index` of `count`: a hash of the (trimmed) patient id."""
    return partition_number(count) == index


def unresolved_patients(annotated: pl.LazyFrame, as_of: date, current_days: int) -> pl.LazyFrame:
    """Patients with a recent dispensing whose code was quarantined as unidentifiable.

    A rule with none_of ("X and no Y") is not evaluated for them, as the engine does while a
    code is unresolved: the unidentified medicine may be the Y.
    """
    unidentified = [
        quarantine.Reason.MALFORMED_CODE.value,
        quarantine.Reason.UNKNOWN_CODE.value,
        quarantine.Reason.UNUSABLE_CODE.value,
    ]
    recent = pl.col("_dispensed_on").is_between(
        pl.lit(as_of - timedelta(days=current_days - 1)), pl.lit(as_of)
    )
    return (
        annotated.filter(pl.col("_reason").is_in(unidentified) & recent)
        .select(pl.col("_patient_id").alias(s.PATIENT_ID))
        .unique()
    )


def scan_partition(
    dispensing: pl.LazyFrame,
    patients: pl.LazyFrame | None,
    tables: ScanTables,
    params: ScanParams,
    events: ClinicalEvents | None = None,
    analytics: bool = False,
) -> dict[str, pl.DataFrame]:
    """Every output (`OUTPUTS`) for the patients in `dispensing` (which carries `source_row`),
    and with `analytics` the analytics' tables of the same patients (`ANALYTICS_TABLES`).

    `events` (clean, for the same patients) feed the monitoring rules and recorded conditions.
    """
    as_of = params.period.as_of
    codes = tables.resolution.lazy()
    # Materialised once (every branch below reads it); the detail text is made only for the
    # quarantined rows.
    annotated = quarantine.annotate(dispensing, as_of, codes)
    quarantined, outcomes, unresolved = pl.collect_all(
        [
            quarantine.quarantined_rows(annotated, as_of, codes),
            quarantine.reason_counts(annotated),
            unresolved_patients(annotated, as_of, params.current_days),
        ]
    )
    fills = keyed_fills(annotated.collect(), tables)
    clean = clean_fills(annotated, tables) if analytics else None
    del annotated  # the raw rows are no longer needed: release them before the next stages
    dispensed = medicines(fills)
    seen = latest_practices(fills, dispensed)
    if patients is None:
        people = patient_facts.empty_patients().collect()
        patient_outcomes = pl.DataFrame(schema={"outcome": pl.String, "rows": pl.UInt32})
        patients_quarantine = pl.DataFrame(schema={s.REASON: pl.String, s.DETAIL: pl.String})
    else:
        annotated_patients = (
            patient_facts.annotate_patients(patients).collect(engine="streaming").lazy()
        )
        people, patient_outcomes, patients_quarantine = pl.collect_all(
            [
                patient_facts.clean_patients(annotated_patients),
                quarantine.reason_counts(annotated_patients),
                patient_facts.quarantined_patients(annotated_patients),
            ]
        )
    in_classes, classes = class_fills(fills, tables)
    adherence = named(
        keyed_pdc(in_classes, params.period, params.late_grace_days, params.horizon_days),
        fills.patients,
        classes,
    )
    del in_classes
    current = keyed_current(fills, dispensed, as_of, params.current_days)
    del dispensed
    supply_methods = supply_counts(fills)
    del fills
    screened = screen(
        current,
        people,
        unresolved,
        tables,
        as_of,
        results=monitoring_results(events) if events is not None else None,
        monitoring_from=events.complete_from if events is not None else None,
    )
    findings, not_evaluated = screened.findings, screened.not_evaluated
    scores = patient_scores(
        adherence.lazy(),
        findings.lazy(),
        not_evaluated.lazy(),
        current.lazy(),
        tables.resolution.lazy().select("code", "molecule_name"),
        tables.labels.lazy().select("drug_class", "label"),
        params.weights,
    ).collect()
    practices = (
        seen.lazy()
        .join(people.lazy().select(s.PATIENT_ID, s.PRACTICE_ID), on=s.PATIENT_ID, how="left")
        .select(
            s.PATIENT_ID,
            pl.coalesce(s.PRACTICE_ID, "dispensing_practice").alias(s.PRACTICE_ID),
        )
        .collect()
    )
    results = {
        "outcomes": outcomes,
        "quarantine": quarantined,
        "supply_methods": supply_methods,
        "adherence": adherence,
        "current": current,
        "findings": findings,
        "not_evaluated": not_evaluated,
        "scores": scores,
        "patient_outcomes": patient_outcomes,
        "patients_quarantine": patients_quarantine,
        "practices": practices,
    }
    assert tuple(results) == OUTPUTS
    if clean is not None:
        mine = tables_from(clean, people, seen, events)
        results |= {ANALYTICS_TABLES + name: frame for name, frame in mine.frames().items()}
    return results
