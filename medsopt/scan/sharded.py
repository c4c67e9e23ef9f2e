"""A scan of any size in bounded memory: patient-hash partitions, outputs written as produced.

The input is split once (`split_inputs`, one streaming pass) into partitions of about
`partition_rows` dispensing rows by a hash of the patient id (`core.partition`), so every
patient's rows are in one partition. Each partition (`scan_split`) runs `kernel.scan_share`
(in this process `PARTITIONS_AT_ONCE` at a time, on threads: polars works outside the GIL; or
one in each of `workers` processes) and writes its share of every output file at once;
clinical events, when given, are split by the same hash and feed their patients' partition
(`extras`). Only counts and digests (`digest`: what the summary and the report read) stay in
memory while partitions run, and with the analytics their shares (`analytics_parts`: counts
per practice and month, and the few patients with a biosimilar to switch; the indicator gaps
are written as parts); the only per-patient frame the end needs, each patient's worklist
row, is written as parts and ranked from disk a slice at a time, so memory does not grow with
the population.
Output rows are grouped by partition, sorted by patient within each; the worklist is ranked
across all partitions. The partition count depends on the input size only, so neither threads
nor workers ever change a result.
"""

from __future__ import annotations

import datetime
import math
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import polars as pl

from medsopt.reports.spreadsheet import csv_safe
from medsopt.scan.analytics_run import AnalyticsPlan
from medsopt.scan.core import ScanParams, partition_number
from medsopt.scan.digest import DIGESTS, summed
from medsopt.scan.extras import Extras
from medsopt.scan.kernel import scan_share
from medsopt.scan.tables import ScanTables
from medsopt.scan.worklist import rank as worklist_rank

PARTITION_ROWS = 2_000_000  # dispensing rows per partition: bounds each partition's memory
# Partitions scanned at once in one process (so peak memory is about this many partitions').
PARTITIONS_AT_ONCE = 2
# Rows the split's partitions buffer before writing, all together (a row group each): bounds
# the split's memory whatever the partition count; each buffers 16k to 128k rows.
SPLIT_BUFFERED = 1_200_000
SPLIT_ROW_GROUP = (16_384, 131_072)
# Worklist rows ranked at once (about 200 MiB of them): the ranking's memory bound.
RANK_SLICE = 500_000
# Outputs written part by part (Parquet, and CSV where the contract has one).
WRITTEN = {
    "adherence": True,
    "findings": True,
    "not_evaluated": True,
    "quarantine": False,
    "patients_quarantine": False,
    "events_quarantine": False,  # only with clinical events
    "indicator_gaps": True,  # only with the analytics
}
_PART = "_partition"
# Written part by part for the end of the scan only (Parquet, never an output file): each
# patient's worklist row before ranking, with the patient's practice.
KEPT = ("scores",)


@dataclass(frozen=True, slots=True)
class PartitionJob:
    """One partition (picklable, for a worker process)."""

    dispensing: Path
    patients: Path | None
    tables: ScanTables
    params: ScanParams
    parts: Path  # where each output's part files go
    index: int
    events: Path | None = None  # this partition's clinical events, if any were given
    events_complete_from: datetime.date | None = None
    analytics: AnalyticsPlan | None = None  # evaluate this partition's share of the analytics


def partition_count(dispensing: pl.LazyFrame, partition_rows: int) -> int:
    """Partitions for this input: at most `partition_rows` dispensing rows each, in whole rounds
    of `PARTITIONS_AT_ONCE` when there are several."""
    rows: int = dispensing.select(pl.len()).collect(engine="streaming").item()
    count = max(1, math.ceil(rows / max(1, partition_rows)))
    if count == 1:
        return 1
    # A last partition alone keeps fewer cores busy (about 1.5 of 2) than two at once: nine
    # partitions take about as long as ten smaller ones.
    return math.ceil(count / PARTITIONS_AT_ONCE) * PARTITIONS_AT_ONCE


def split(frame: pl.LazyFrame, count: int, folder: Path) -> Path:
    """Write `frame` as `count` patient-hash partitions (one streaming pass); their folder."""
    # Read back once, soon: neither compression nor statistics pays for itself (about 15% of
    # the pass's CPU at 16 M rows). Every partition buffers a row group until it is written:
    # a fixed total keeps the pass's memory from growing with the partition count (at 33
    # partitions, 1.54 GiB with polars' default and 1.09 GiB with 16k rows each), while few
    # partitions write larger groups (128k rows rather than 16k: 6% less CPU at 9).
    smallest, largest = SPLIT_ROW_GROUP
    frame.with_columns(partition_number(count).alias(_PART)).sink_parquet(
        pl.PartitionBy(folder, key=_PART, include_key=False),
        mkdir=True,
        compression="uncompressed",
        statistics=False,
        row_group_size=min(largest, max(smallest, SPLIT_BUFFERED // count)),
    )
    return folder


def _partition_files(folder: Path, index: int) -> Path | None:
    part = folder / f"{_PART}={index}"
    return part / "*.parquet" if part.is_dir() else None


def run_partition(job: PartitionJob) -> dict[str, pl.DataFrame]:
    """Scan one partition (`kernel.scan_share`), write its part of each output and of each
    per-patient frame the end of the scan reads (`KEPT`); return the rest: counts, and the
    analytics' other shares (counts per practice and month, and the few patients with a
    biosimilar to switch)."""

    def read(path: Path | None) -> pl.LazyFrame | None:
        return pl.scan_parquet(path, hive_partitioning=False) if path is not None else None

    dispensing = pl.scan_parquet(job.dispensing, hive_partitioning=False)
    results = scan_share(
        dispensing,
        read(job.patients),
        read(job.events),
        job.tables,
        job.params,
        job.events_complete_from,
        job.analytics,
    )
    for name, with_csv in WRITTEN.items():
        if name not in results:
            continue
        frame = results.pop(name)
        folder = job.parts / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"{job.index:06d}.parquet")
        if with_csv:
            csv_safe(frame).write_csv(folder / f"{job.index:06d}.csv", include_header=False)
        del frame
    # Only the worklist needs every patient: its rows go to disk too, so nothing grows in
    # memory with the number of partitions.
    for name in KEPT:
        folder = job.parts / name
        folder.mkdir(parents=True, exist_ok=True)
        results.pop(name).write_parquet(folder / f"{job.index:06d}.parquet")
    return results


def score_parts(parts: Path) -> list[Path]:
    """Every partition's worklist scores (before ranking), in partition order."""
    return sorted((parts / "scores").glob("*.parquet"))


def rank_parts(scores: list[Path], folder: Path, slice_rows: int = RANK_SLICE) -> list[Path]:
    """The worklist (`worklist.rank` of rows with their practice) as files in rank order.

    An external sort in bounded memory: the distinct scores are counted and cut into slices of
    about `slice_rows` patients, highest first; each slice is read from every part, sorted and
    numbered after the slices above it. A score's ties stay in one slice, so the order is
    exactly that of one sort (score descending, then patient id).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = pl.scan_parquet(scores)
    counts = rows.group_by("score").len().sort("score", descending=True).collect()
    starts = counts["len"].cum_sum() - counts["len"]
    slices = (
        counts.with_columns(slice=starts // slice_rows)
        .group_by("slice", maintain_order=True)
        .agg(pl.col("score").max().alias("high"), pl.col("score").min().alias("low"))
    )
    bounds: list[tuple[float, float] | None] = [(row[1], row[2]) for row in slices.iter_rows()]
    del counts, starts, slices
    written, rank = [], 1
    for index, bound in enumerate(bounds or [None]):
        chosen = (
            rows if bound is None else rows.filter(pl.col("score").is_between(bound[1], bound[0]))
        )
        ranked = worklist_rank(chosen, rank).collect()
        written.append(folder / f"{index:06d}.parquet")
        ranked.write_parquet(written[-1])
        rank += ranked.height
    return written


@dataclass(frozen=True, slots=True)
class PartitionInputs:
    """One partition's share of each input (an empty file of its columns where it has none)."""

    index: int
    dispensing: Path
    patients: Path | None
    events: Path | None


@dataclass(frozen=True, slots=True)
class Split:
    """The inputs split by patient hash (`split_inputs`), in `folder`."""

    partitions: tuple[PartitionInputs, ...]
    folder: Path


def split_inputs(
    dispensing: pl.LazyFrame,
    patients: pl.LazyFrame | None,
    events: pl.LazyFrame | None,
    folder: Path,
    partition_rows: int = PARTITION_ROWS,
) -> Split:
    """Every input split into `folder` by patient hash (`split`), a partition per about
    `partition_rows` dispensing rows; partitions with no row of any input are left out."""
    count = partition_count(dispensing, partition_rows)
    split(dispensing, count, folder / "dispensing")
    if patients is not None:
        split(patients, count, folder / "patients")
    if events is not None:
        split(events, count, folder / "events")
    no_dispensing = _empty(dispensing, folder / "dispensing-empty.parquet")
    no_patients = (
        _empty(patients, folder / "patients-empty.parquet") if patients is not None else None
    )
    no_events = _empty(events, folder / "events-empty.parquet") if events is not None else None
    partitions = []
    for index in range(count):
        mine = _partition_files(folder / "dispensing", index)
        theirs = _partition_files(folder / "patients", index) if patients is not None else None
        recorded = _partition_files(folder / "events", index) if events is not None else None
        if mine is None and theirs is None and recorded is None:
            continue
        partitions.append(
            PartitionInputs(
                index, mine or no_dispensing, theirs or no_patients, recorded or no_events
            )
        )
    return Split(tuple(partitions), folder)


def scan_split(
    inputs: Split,
    tables: ScanTables,
    params: ScanParams,
    work: Path,
    workers: int = 1,
    progress: Callable[[str], None] = lambda _: None,
    extras: Extras | None = None,
    analytics: AnalyticsPlan | None = None,
) -> dict[str, pl.DataFrame]:
    """Every partition of the split inputs scanned into `work` (parts of each output); the
    counts and digests `run_partition` keeps, combined. The split inputs are removed.

    With `analytics`, each partition also evaluates its share of the analytics: the results
    then hold every partition's `analytics_parts.PARTS`, for `analytics_parts.combined`.
    """
    extras = extras or Extras()
    jobs = [
        PartitionJob(
            mine.dispensing,
            mine.patients,
            tables,
            params,
            work / "parts",
            mine.index,
            events=mine.events,
            events_complete_from=extras.events_complete_from,
            analytics=analytics,
        )
        for mine in inputs.partitions
    ]
    parts = []
    with pool(workers, PARTITIONS_AT_ONCE) as run:
        for done, part in enumerate(run(run_partition, jobs), start=1):
            parts.append(part)
            progress(f"scanned partition {done}/{len(jobs)}")
    shutil.rmtree(inputs.folder, ignore_errors=True)
    return {
        n: summed(n, [p[n] for p in parts])
        if n in DIGESTS
        else pl.concat([p[n] for p in parts], how="vertical_relaxed")
        for n in parts[0]
    }


def _empty(frame: pl.LazyFrame, path: Path) -> Path:
    """An empty file of the frame's columns, for a partition with no rows of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.clear().collect().write_parquet(path)
    return path


@contextmanager
def pool(
    workers: int, threads: int = 1
) -> Iterator[Callable[..., Iterator[dict[str, pl.DataFrame]]]]:
    """`map` in this process (over `threads` threads), or over `workers` spawned processes
    sharing the cores; results in the order of the inputs either way."""
    if workers == 1:
        if threads == 1:
            yield map
            return
        with ThreadPoolExecutor(threads, thread_name_prefix="partition") as executor:
            yield executor.map
        return
    previous = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    try:
        # Spawn, because polars' threads do not survive fork.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as executor:
            yield executor.map
    finally:
        if previous is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = previous


def assemble(parts: Path, staging: Path) -> None:
    """Each output from its parts, in partition order (streamed; CSV parts concatenated)."""
    for name, with_csv in WRITTEN.items():
        folder = parts / name
        files = sorted(folder.glob("*.parquet"))
        if not files:  # an optional output (events_quarantine without events)
            continue
        pl.scan_parquet(files).sink_parquet(staging / f"{name}.parquet")
        if with_csv:
            header = csv_safe(pl.read_parquet(files[0]).clear()).write_csv()
            with (staging / f"{name}.csv").open("wb") as out:
                out.write(header.encode())
                for piece in sorted(folder.glob("*.csv")):
                    with piece.open("rb") as source:
                        shutil.copyfileobj(source, out)
