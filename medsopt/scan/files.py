"""Scan I/O: read dispensing and patient files, build the scan's tables, shard, write outputs.

Outputs are written into a staging directory beside DIR and swapped in whole, so an interrupted
run leaves the previous result (or nothing), never a half-written one.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl

from medsopt.formulary.adherence import ADHERENCE_CLASSES
from medsopt.reports.spreadsheet import csv_safe, write_workbook
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import quarantine
from medsopt.scan import schema as s
from medsopt.scan.analytics_run import ANALYTICS_FILES
from medsopt.scan.classes import ClassDefinitionError
from medsopt.scan.core import ScanParams, partition, scan_partition
from medsopt.scan.events import (
    EVENTS_REQUIRED,
    ClinicalEvents,
    annotate_events,
    clean_events,
    quarantined_events,
)
from medsopt.scan.tables import ScanTables, build_tables
from medsopt.scan.worklist import rank
from medsopt.store.activate import Locations, build
from medsopt.store.adherence import load_adherence_classes

OUTPUT_FILES = (
    "adherence.parquet",
    "adherence.csv",
    "findings.parquet",
    "findings.csv",
    "not_evaluated.parquet",
    "not_evaluated.csv",
    "worklist.parquet",
    "worklist.csv",
    "worklist.xlsx",
    "quarantine.parquet",
    "patients_quarantine.parquet",
    "summary.json",
    "report.html",
    # With --events: the event rows quarantined; with --indicators: the analytics (as
    # .parquet and .csv) and their report (docs/scan.md, "Analytics outputs").
    "events_quarantine.parquet",
    *(f"{name}.{suffix}" for name in ANALYTICS_FILES for suffix in ("parquet", "csv")),
    "analytics.html",
)


class ScanInputError(Exception):
    """An input file cannot be scanned (missing, unreadable, wrong columns)."""


def _scan_file(path: Path) -> pl.LazyFrame:
    if not path.is_file():
        raise ScanInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.scan_parquet(path)
    if suffix in (".csv", ".txt"):
        # Every column as text: codes, ids and dates are parsed strictly by the scan itself.
        return pl.scan_csv(path, infer_schema=False)
    raise ScanInputError(f"{path}: expected a .parquet or .csv file")


def _check_columns(
    frame: pl.LazyFrame, path: Path, required: tuple[str, ...], codes: tuple[str, ...]
) -> pl.LazyFrame:
    try:
        schema = frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ScanInputError(f"{path}: cannot read: {error}") from error
    missing = [c for c in required if c not in schema]
    if missing:
        raise ScanInputError(
            f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(schema.names())})"
        )
    for column in codes:
        dtype = schema.get(column)
        if dtype is not None and (dtype.is_float() or dtype.is_decimal()):
            raise ScanInputError(
                f"{path}: column {column} is {dtype}: dm+d codes do not survive floating point; "
                "write them as text"
            )
    return frame


def read_dispensing(path: Path) -> pl.LazyFrame:
    """Dispensing rows with `source_row` (0-based position in the file)."""
    frame = _check_columns(_scan_file(path), path, s.DISPENSING_REQUIRED, (s.CODE, s.PATIENT_ID))
    return frame.with_row_index(s.SOURCE_ROW)


def read_patients(path: Path) -> pl.LazyFrame:
    """Patient rows as read."""
    return _check_columns(_scan_file(path), path, s.PATIENTS_REQUIRED, (s.PATIENT_ID,))


def read_events(path: Path) -> pl.LazyFrame:
    """Clinical event rows with `source_row` (0-based position in the file)."""
    frame = _check_columns(_scan_file(path), path, EVENTS_REQUIRED, (s.CODE, s.PATIENT_ID))
    return frame.with_row_index(s.SOURCE_ROW)


def load_tables(locations: Locations, as_of: datetime.date | None = None) -> ScanTables:
    """The rule set exactly as the server builds it, plus the adherence classes and doses."""
    return tables_for(build(locations).ruleset, locations, as_of)


def tables_for(
    ruleset: RuleSet, locations: Locations, as_of: datetime.date | None = None
) -> ScanTables:
    """Scan tables for an already built rule set (adherence classes from the formulary dir).

    Biosimilar choices are made for `as_of` (see `build_tables`).
    Raises RuleSetError for an invalid class file, ClassDefinitionError when there is none.
    """
    formulary = locations.formulary_dir
    definitions, _ = load_adherence_classes(formulary, ruleset)
    if definitions is None:
        raise ClassDefinitionError(f"{formulary / ADHERENCE_CLASSES}: no such file")

    def csv(relative: str) -> pl.DataFrame:
        path = formulary / relative
        try:
            return pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as error:
            raise ClassDefinitionError(f"{path}: {error}") from error

    codelists = {p: csv(p) for c in definitions.classes for p in c.codelists}
    doses = csv(definitions.default_doses) if definitions.default_doses else None
    try:
        superseded = pl.read_parquet(locations.dmd_dir / "superseded.parquet")["previous_code"]
    except (OSError, pl.exceptions.PolarsError) as error:
        raise ClassDefinitionError(f"superseded dm+d ids: {error}") from error
    return build_tables(ruleset, definitions, codelists, doses, superseded.to_list(), as_of)


@dataclass(frozen=True, slots=True)
class ShardJob:
    """What one worker process needs (picklable)."""

    dispensing: Path
    patients: Path | None
    tables: ScanTables
    params: ScanParams
    count: int
    index: int
    events: Path | None = None
    events_complete_from: datetime.date | None = None


def shard_events(job: ShardJob) -> tuple[ClinicalEvents | None, dict[str, pl.DataFrame]]:
    """This shard's clean events, and its event outcomes and quarantined rows (if any)."""
    if job.events is None:
        return None, {}
    raw = read_events(job.events)
    if job.count > 1:
        raw = raw.filter(partition(job.count, job.index))
    annotated = annotate_events(raw, job.params.period.as_of)
    clean, outcomes, held = pl.collect_all(
        [
            clean_events(annotated),
            quarantine.reason_counts(annotated),
            quarantined_events(annotated),
        ]
    )
    frames = {"events_outcomes": outcomes, "events_quarantine": held}
    return ClinicalEvents(clean, job.events_complete_from), frames


def run_shard(job: ShardJob) -> dict[str, pl.DataFrame]:
    """Scan one hash partition of the patients (runs in a worker process, or inline)."""
    dispensing = read_dispensing(job.dispensing)
    patients = read_patients(job.patients) if job.patients is not None else None
    if job.count > 1:
        dispensing = dispensing.filter(partition(job.count, job.index))
        patients = (
            patients.filter(partition(job.count, job.index)) if patients is not None else None
        )
    events, event_frames = shard_events(job)
    results = scan_partition(dispensing, patients, job.tables, job.params, events)
    return {**results, **event_frames}


def run_scan(
    dispensing: Path,
    patients: Path | None,
    tables: ScanTables,
    params: ScanParams,
    workers: int,
    progress: Callable[[str], None],
    events: Path | None = None,
    events_complete_from: datetime.date | None = None,
) -> dict[str, pl.DataFrame]:
    """The scan over every partition, combined; the worklist is ranked across all of them."""
    jobs = [
        ShardJob(dispensing, patients, tables, params, workers, i, events, events_complete_from)
        for i in range(workers)
    ]
    if workers == 1:
        progress("scanning")
        parts = [run_shard(jobs[0])]
    else:
        # Each process gets its share of the cores; spawn, because polars' threads do not
        # survive fork.
        previous = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
        try:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                parts = []
                for done, part in enumerate(pool.map(run_shard, jobs), start=1):
                    parts.append(part)
                    progress(f"scanned partition {done}/{workers}")
        finally:
            if previous is None:
                os.environ.pop("POLARS_MAX_THREADS", None)
            else:
                os.environ["POLARS_MAX_THREADS"] = previous
    combined = {
        name: pl.concat([p[name] for p in parts], how="vertical_relaxed") for name in parts[0]
    }
    counted = ("outcomes", "supply_methods", "patient_outcomes", "events_outcomes")
    for name in (n for n in counted if n in combined):
        key = combined[name].columns[0]
        combined[name] = combined[name].group_by(key).agg(pl.col("rows").sum()).sort(key)
    combined["adherence"] = combined["adherence"].sort(s.PATIENT_ID, "drug_class")
    combined["findings"] = combined["findings"].sort(s.PATIENT_ID, "rule_id", "codes")
    combined["not_evaluated"] = combined["not_evaluated"].sort(s.PATIENT_ID, "rule_id")
    combined["worklist"] = (
        rank(combined.pop("scores").lazy())
        .join(combined["practices"].lazy(), on=s.PATIENT_ID, how="left", maintain_order="left")
        .collect()
    )
    return combined


XLSX_PATIENTS = 10_000  # the top of the worklist; the full lists are in Parquet and CSV


def workbook_sheets(results: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The pharmacists' workbook: the top of the worklist and those patients' details."""
    top = results["worklist"].head(XLSX_PATIENTS)
    chosen = top.select(s.PATIENT_ID)
    return {
        "worklist": top,
        "findings": results["findings"].join(chosen, on=s.PATIENT_ID, how="semi"),
        "adherence": results["adherence"].join(chosen, on=s.PATIENT_ID, how="semi"),
    }


def check_output_dir(out: Path) -> None:
    """Refuse, before any work, a path that is a file or a directory holding other files."""
    if out.exists():
        if not out.is_dir():
            raise ScanInputError(f"{out}: exists and is not a directory")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if foreign:
            raise ScanInputError(
                f"{out}: holds files a scan did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new directory"
            )


def write_outputs(
    out: Path,
    results: Mapping[str, pl.DataFrame],
    summary: Mapping[str, Any],
    html: str,
    extra: Mapping[str, pl.DataFrame] | None = None,
    extra_html: Mapping[str, str] | None = None,
) -> None:
    """Write every output aside, then swap the directory in; raise ScanInputError on refusal."""
    out = out.resolve()
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for name in ("adherence", "findings", "not_evaluated", "worklist"):
            results[name].write_parquet(staging / f"{name}.parquet")
            csv_safe(results[name]).write_csv(staging / f"{name}.csv")
        results["quarantine"].write_parquet(staging / "quarantine.parquet")
        results["patients_quarantine"].write_parquet(staging / "patients_quarantine.parquet")
        if "events_quarantine" in results:
            results["events_quarantine"].write_parquet(staging / "events_quarantine.parquet")
        for name, frame in (extra or {}).items():
            frame.write_parquet(staging / f"{name}.parquet")
            csv_safe(frame).write_csv(staging / f"{name}.csv")
        for name, page in (extra_html or {}).items():
            (staging / name).write_text(page, encoding="utf-8")
        write_workbook(staging / "worklist.xlsx", workbook_sheets(results))
        (staging / "report.html").write_text(html, encoding="utf-8")
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def summarise(
    results: Mapping[str, pl.DataFrame],
    tables: ScanTables,
    params: ScanParams,
    inputs: Mapping[str, str | None],
    timings: Mapping[str, float],
) -> dict[str, Any]:
    """summary.json: the row invariant, patients, classes, findings, timings."""
    outcomes = dict(results["outcomes"].iter_rows())
    rows_used = int(outcomes.pop("used", 0))
    by_reason = {reason: int(outcomes.get(reason, 0)) for reason in sorted(outcomes)}
    rows_quarantined = sum(by_reason.values())
    patient_outcomes = dict(results["patient_outcomes"].iter_rows())
    patients_used = int(patient_outcomes.pop("used", 0))
    adherence = results["adherence"]
    classes = {
        cls: {
            "patients": int(group.height),
            "eligible": int(group["pdc"].is_not_null().sum()),
            "adherent": int(group["adherent"].sum() or 0),
            "median_pdc": group["pdc"].median(),
        }
        for (cls,), group in sorted(adherence.group_by("drug_class"), key=lambda g: str(g[0]))
    }
    findings = results["findings"]
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
        "patients": int(results["practices"].height),
        "patients_with_current_medicines": int(results["current"][s.PATIENT_ID].n_unique()),
        "classes": classes,
        "findings": int(findings.height),
        "findings_by_rule": dict(
            sorted((k, int(v)) for k, v in findings.group_by("rule_id").len().iter_rows())
        ),
        "not_evaluated": int(results["not_evaluated"].height),
        "worklist_patients": int(results["worklist"].height),
        "weights": {
            "safety": params.weights.safety,
            "adherence": params.weights.adherence,
            "recoverability": params.weights.recoverability,
        },
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
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
