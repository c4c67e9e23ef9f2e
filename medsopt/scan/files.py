"""Scan I/O: build the scan's tables, shard, write outputs (inputs are read by `inputs`).

Outputs are written into a staging directory beside DIR and swapped in whole, so an interrupted
run leaves the previous result (or nothing), never a half-written one.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from medsopt.formulary.adherence import ADHERENCE_CLASSES
from medsopt.reports.spreadsheet import csv_safe, write_workbook
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import analytics_parts
from medsopt.scan import schema as s
from medsopt.scan.analytics_run import ANALYTICS_FILES, AnalyticsPlan, analytics_summary
from medsopt.scan.classes import ClassDefinitionError
from medsopt.scan.core import ScanParams, partition, scan_partition
from medsopt.scan.extras import Extras
from medsopt.scan.inputs import ScanInputError, read_dispensing, read_events, read_patients
from medsopt.scan.sharded import (
    PARTITION_ROWS,
    assemble,
    pool,
    rank_parts,
    scan_split,
    score_parts,
    split_inputs,
)
from medsopt.scan.summary import Stopwatch, summarise
from medsopt.scan.tables import ScanTables, build_tables
from medsopt.scan.worklist import rank, worklist_rows
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


def run_shard(job: ShardJob) -> dict[str, pl.DataFrame]:
    """Scan one hash partition of the patients (runs in a worker process, or inline)."""
    dispensing = read_dispensing(job.dispensing)
    patients = read_patients(job.patients) if job.patients is not None else None
    if job.count > 1:
        dispensing = dispensing.filter(partition(job.count, job.index))
        patients = (
            patients.filter(partition(job.count, job.index)) if patients is not None else None
        )
    return scan_partition(dispensing, patients, job.tables, job.params)


def run_scan(
    dispensing: Path,
    patients: Path | None,
    tables: ScanTables,
    params: ScanParams,
    workers: int,
    progress: Callable[[str], None],
) -> dict[str, pl.DataFrame]:
    """The scan in memory, over `workers` hash partitions combined (the worklist is ranked across
    all of them); for small inputs (`medsopt rules simulate`). `scan_to_directory` is bounded."""
    jobs = [ShardJob(dispensing, patients, tables, params, workers, i) for i in range(workers)]
    progress("scanning")
    with pool(workers) as run:
        parts = list(run(run_shard, jobs))
    return combine(parts)


def combine(parts: list[dict[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """Partitions' results as one: counts summed, the worklist ranked across all patients."""
    combined = {
        name: pl.concat([p[name] for p in parts], how="vertical_relaxed") for name in parts[0]
    }
    return finish(combined)


def totals(combined: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Counts summed per outcome (the other frames as they are)."""
    counted = ("outcomes", "supply_methods", "patient_outcomes", "events_outcomes")
    for name in (n for n in counted if n in combined):
        key = combined[name].columns[0]
        combined[name] = combined[name].group_by(key).agg(pl.col("rows").sum()).sort(key)
    return combined


def finish(combined: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Counts summed per outcome; frames in patient order; the worklist ranked."""
    combined = totals(combined)
    combined["adherence"] = combined["adherence"].sort(s.PATIENT_ID, "drug_class")
    sort = [c for c in (s.PATIENT_ID, "rule_id", "codes") if c in combined["findings"].columns]
    combined["findings"] = combined["findings"].sort(sort)
    combined["not_evaluated"] = combined["not_evaluated"].sort(s.PATIENT_ID)
    if "scores" in combined:  # else ranked on disk (`sharded.rank_parts`)
        rows = worklist_rows(combined.pop("scores"), combined["practices"])
        combined["worklist"] = rank(rows.lazy()).collect()
    return combined


# The top of the worklist, more than a pharmacist works through between scans; the full
# lists are in Parquet and CSV (an xlsx cell costs ~15 µs to write, 10,000 patients ~10 s).
XLSX_PATIENTS = 1_000
# The workbook's detail sheets, in patient order whatever order their rows were read in (a
# semi join keeps no order; partitions and Spark buckets give rows in their own order).
SHEET_ORDER = {
    "findings": (s.PATIENT_ID, "rule_id", "codes"),
    "adherence": (s.PATIENT_ID, "drug_class"),
}


def workbook_sheets(results: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The pharmacists' workbook: the top of the worklist and those patients' details."""
    top = results["worklist"].head(XLSX_PATIENTS)
    chosen = top.select(s.PATIENT_ID)
    return {
        "worklist": top,
        **{
            name: results[name].join(chosen, on=s.PATIENT_ID, how="semi").sort(order)
            for name, order in SHEET_ORDER.items()
        },
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


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging directory beside `out`, swapped in whole when the block ends without error."""
    out = out.resolve()
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        check_output_dir(out)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_worklist(ranked: list[Path], staging: Path) -> None:
    """worklist.parquet and .csv from the ranked files, in rank order (streamed)."""
    if len(ranked) == 1:  # already the file wanted: not decoded and encoded again
        shutil.copyfile(ranked[0], staging / "worklist.parquet")
    else:
        pl.scan_parquet(ranked).sink_parquet(staging / "worklist.parquet")
    with (staging / "worklist.csv").open("wb") as out:
        for index, path in enumerate(ranked):
            csv_safe(pl.read_parquet(path)).write_csv(out, include_header=index == 0)


def write_top(ranked: list[Path], parts: Path, path: Path) -> pl.DataFrame:
    """The workbook (`workbook_sheets`) from the ranked worklist and the partitions' parts of
    the detail sheets' outputs; the worklist's top it holds."""
    top = pl.scan_parquet(ranked).head(XLSX_PATIENTS).collect()
    chosen = top.select(s.PATIENT_ID).lazy()
    details = {
        name: pl.scan_parquet(sorted((parts / name).glob("*.parquet")))
        .join(chosen, on=s.PATIENT_ID, how="semi")
        .collect()
        for name in SHEET_ORDER
    }
    write_workbook(path, workbook_sheets({"worklist": top, **details}))
    return top


def worklist_patients(ranked: list[Path]) -> int:
    """How many patients the ranked files hold (from the Parquet footers)."""
    return int(pl.scan_parquet(ranked).select(pl.len()).collect().item())


Report = Callable[[Mapping[str, Any], Mapping[str, pl.DataFrame]], str]
# The HTML pages of the analytics' outputs and summary, by file name.
Pages = Callable[[dict[str, pl.DataFrame], dict[str, Any]], dict[str, str]]


@dataclass(frozen=True, slots=True)
class Analytics:
    """The analytics of a scan: the plan each partition evaluates its share of (adding its
    patients' indicator gaps and biosimilar switches to their worklist rows), and the pages
    written from the combined outputs."""

    plan: AnalyticsPlan
    pages: Pages


# The rule set's part of a scan: its tables, and the analytics when asked for.
Rules = tuple[ScanTables, Analytics | None]


@dataclass(frozen=True, slots=True)
class ScanJob:
    """A whole scan as the command runs it."""

    dispensing: Path
    patients: Path | None
    rules: Callable[[], Rules]  # called while the inputs are split (see `scan_to_directory`)
    params: ScanParams
    workers: int = 1
    partition_rows: int = PARTITION_ROWS
    extras: Extras | None = None  # clinical events and the analytics, when asked for


def scan_to_directory(
    job: ScanJob,
    out: Path,
    report: Report,
    inputs: Mapping[str, str | None],
    watch: Stopwatch,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Scan in bounded memory (`sharded`), every output written as produced; summary.json.

    The rule set is built (`job.rules`) while the inputs are split: the building is Python,
    the split polars outside the GIL. With `job.extras.analytics`, each partition evaluates
    its share of the analytics, combined once every partition is scanned.
    """
    extras = job.extras or Extras()
    with staged(out) as staging:
        work = staging / ".work"
        patients = read_patients(job.patients) if job.patients is not None else None
        events = read_events(extras.events) if extras.events is not None else None
        with ThreadPoolExecutor(1, thread_name_prefix="split") as aside:
            splitting = aside.submit(
                split_inputs,
                read_dispensing(job.dispensing),
                patients,
                events,
                work / "inputs",
                job.partition_rows,
            )
            tables, analytics = job.rules()
            watch.lap("load_rules")
            split = splitting.result()
        progress(f"scanning {len(split.partitions)} partition(s)")
        plan = analytics.plan if analytics is not None else None
        # Counts only: the summary and the report read the per-patient frames in any order
        # (sorting them would copy them), and the outputs are assembled from the parts.
        results = totals(
            scan_split(split, tables, job.params, work, job.workers, progress, extras, plan)
        )
        frames: dict[str, pl.DataFrame] = {}
        pages: dict[str, str] = {}
        analysed: dict[str, Any] = {}
        # Side by side: the outputs assembled from their parts while the worklist is ranked,
        # then its files and the workbook (polars works outside the GIL; the workbook is
        # written cell by cell in Python).
        with ThreadPoolExecutor(2, thread_name_prefix="outputs") as aside:
            assembled = aside.submit(assemble, work / "parts", staging)
            # Ranked a slice at a time from disk: memory does not grow with the population.
            ranked = rank_parts(score_parts(work / "parts"), work / "worklist")
            watch.lap("scan")
            if analytics is not None:
                progress("analytics: indicators and biosimilar uptake by month")
                # (The indicator gaps were written as parts, as the other per-patient outputs.)
                given = [name for name in analytics_parts.PARTS if name in results]
                shares = {name: results.pop(name) for name in given}
                frames = analytics_parts.combined(shares, analytics.plan)
                analysed = analytics_summary(analytics.plan)
                pages = analytics.pages(frames, analysed)
                watch.lap("analytics")
            progress("writing outputs")
            workbook = aside.submit(write_top, ranked, work / "parts", staging / "worklist.xlsx")
            write_worklist(ranked, staging)
            assembled.result()
            results["worklist"] = workbook.result()  # the top: what the report reads
        on_worklist = worklist_patients(ranked)
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet")
            csv_safe(frame).write_csv(staging / f"{name}.csv")
        for name, page in pages.items():
            (staging / name).write_text(page, encoding="utf-8")
        shutil.rmtree(work)
        watch.lap("write")
        summary = summarise(results, tables, job.params, inputs, watch.timings)
        summary["worklist_patients"] = on_worklist
        if analysed:
            summary["analytics"] = analysed
        (staging / "report.html").write_text(report(summary, results), encoding="utf-8")
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
