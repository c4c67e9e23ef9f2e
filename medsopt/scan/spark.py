"""`medsopt scan --engine spark`: the per-partition kernel on Apache Spark, through Arrow.

Spark reads the inputs (`spark_io`), hashes patient ids into buckets and hands each bucket's
dispensing, patient and clinical event rows to the polars engine's kernel as one Arrow table
(`groupBy(bucket).applyInArrow`, `spark_kernel`); the kernel is the only evaluation logic. Its
outputs come back as one Arrow table of tagged struct columns (one per output), staged once as
Parquet and split: the per-patient tables become Parquet (and CSV) datasets written by Spark;
the worklist is ranked inside Spark (`spark_rank`) and written the same way. The driver
collects only counts and digests (`digest`: whose size does not grow with the population) and
the top of the worklist, and finishes the summary, the report and the workbook exactly as the
polars engine does (`summary.summarise`, `files.workbook_sheets`). With indicators, each bucket
also returns its share of the analytics (counts per practice and month, its patients' gaps:
`analytics_parts`), summed on the driver, and adds its patients' gaps to their worklist rows.
"""

from __future__ import annotations

import datetime
import json
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StringType, StructField, StructType

from medsopt.reports.spreadsheet import csv_safe, write_workbook
from medsopt.scan import files
from medsopt.scan import schema as s
from medsopt.scan.analytics_parts import PARTS, combined
from medsopt.scan.analytics_run import AnalyticsPlan, analytics_summary
from medsopt.scan.core import ScanParams
from medsopt.scan.digest import DIGESTS, summed
from medsopt.scan.events import EVENTS_REQUIRED
from medsopt.scan.files import totals
from medsopt.scan.spark_io import (
    BUCKET,
    as_polars,
    bucket,
    empty_frame,
    numbered,
    read,
    session,
    spark_schema,
)
from medsopt.scan.spark_kernel import (
    DISPENSING,
    EVENTS,
    INPUT,
    NUMBERED,
    OUTPUT,
    PATIENTS,
    Kernel,
    Work,
    task,
)
from medsopt.scan.spark_rank import ranked
from medsopt.scan.summary import Stopwatch, summarise
from medsopt.scan.tables import ScanTables

CSV_TABLES = ("adherence", "findings", "not_evaluated", "worklist")  # also written as CSV
ROWS_PER_BUCKET = 1_000_000  # input rows one kernel call holds (~0.5 GiB of worker memory)
# Per-patient tables: written by Spark, never collected whole (events_quarantine: with events).
DATASETS = (
    "adherence",
    "findings",
    "not_evaluated",
    "quarantine",
    "patients_quarantine",
    "events_quarantine",
)
# Small whatever the population (counts and digests): collected and summed on the driver.
COLLECTED = (
    "outcomes",
    "supply_methods",
    "patient_outcomes",
    "events_outcomes",
    *DIGESTS,
)
WORKLIST = "scores"  # every patient's worklist row: ranked and written by Spark


@dataclass(frozen=True, slots=True)
class SparkJob:
    """A whole scan on Spark, as the command runs it."""

    dispensing: Path
    patients: Path | None
    tables: ScanTables
    params: ScanParams
    events: Path | None = None
    events_complete_from: datetime.date | None = None
    analytics: files.Analytics | None = None

    def inputs(self) -> dict[str, Path]:
        """Each given input's path (`spark_kernel` names)."""
        given = {DISPENSING: self.dispensing, PATIENTS: self.patients, EVENTS: self.events}
        return {name: path for name, path in given.items() if path is not None}

    def work(self) -> Work:
        """What every bucket's kernel call needs."""
        plan = self.analytics.plan if self.analytics is not None else None
        return Work(self.tables, self.params, self.events_complete_from, plan)


_READ = {
    DISPENSING: (s.DISPENSING_REQUIRED, (s.CODE, s.PATIENT_ID)),
    PATIENTS: (s.PATIENTS_REQUIRED, (s.PATIENT_ID,)),
    EVENTS: (EVENTS_REQUIRED, (s.CODE, s.PATIENT_ID)),
}


def _csv_safe(
    shape: pl.Schema, out: pa.Schema
) -> Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]:
    """Batches made safe for a spreadsheet exactly as the polars engine's CSV (`csv_safe`)."""

    def safe(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = csv_safe(as_polars(pa.Table.from_batches([batch])).cast(shape))
            yield from frame.to_arrow().cast(out).to_batches()

    return safe


def _write_dataset(frame: DataFrame, shape: pl.DataFrame, staging: Path, name: str) -> None:
    """Output `name` as a Parquet dataset (and a CSV one, for spreadsheets, if it has one)."""
    frame.write.parquet(str(staging / f"{name}.parquet"))
    if name in CSV_TABLES:
        safe = spark_schema(csv_safe(shape))
        frame.mapInArrow(_csv_safe(shape.schema, to_arrow_schema(safe)), safe).write.options(
            header=True, escape='"'
        ).csv(str(staging / f"{name}.csv"))


class SparkScan:
    """A scan on Spark: evaluate every bucket, write the datasets, collect what the driver needs."""

    def __init__(self, spark: SparkSession, job: SparkJob, work: Path) -> None:
        self.spark = spark
        self.job = job
        self.work = work  # the staged kernel outputs (removed by `scan_to`)
        self.shapes: dict[str, pl.DataFrame] = {}  # each output's columns, no rows

    def evaluate(self) -> None:
        """Run the kernel over every bucket; its tagged outputs are staged in `work`."""
        frames: dict[str, DataFrame] = {}
        rows = 0
        for name, path in self.job.inputs().items():
            frame = read(self.spark, path, *_READ[name])
            if name in NUMBERED:
                frame, count = numbered(frame, path)
                rows += count
            frames[name] = frame
        work = self.job.work()
        self.shapes = work.outputs({n: empty_frame(f.schema) for n, f in frames.items()})
        spark_types = StructType(
            [
                StructField(OUTPUT, StringType()),
                *(
                    StructField(n, StructType(list(spark_schema(f))))
                    for n, f in self.shapes.items()
                ),
            ]
        )
        kernel = Kernel(
            self.spark.sparkContext.broadcast(work), tuple(frames), to_arrow_schema(spark_types)
        )
        buckets = max(self.spark.sparkContext.defaultParallelism, math.ceil(rows / ROWS_PER_BUCKET))
        tagged: DataFrame | None = None
        for name, frame in frames.items():
            one = frame.select(
                bucket(buckets),
                sf.lit(name).alias(INPUT),
                sf.struct(*(sf.col(f"`{c}`") for c in frame.columns)).alias(name),
            )
            tagged = one if tagged is None else tagged.unionByName(one, allowMissingColumns=True)
        assert tagged is not None
        result = tagged.groupBy(BUCKET).applyInArrow(task(kernel), spark_types)
        # About one bucket per shuffle partition; the session's own setting is put back.
        previous = self.spark.conf.get("spark.sql.shuffle.partitions")
        self.spark.conf.set("spark.sql.shuffle.partitions", str(buckets))
        try:
            result.write.partitionBy(OUTPUT).parquet(str(self.work))
        finally:
            self.spark.conf.set("spark.sql.shuffle.partitions", str(previous))

    def output(self, name: str) -> DataFrame:
        """One output, as Spark reads it back from the staged kernel outputs."""
        staged = self.spark.read.parquet(str(self.work))
        return staged.where(sf.col(OUTPUT) == name).select(f"{name}.*")

    def collect(
        self, wanted: Mapping[str, tuple[str, ...] | None], patients: pl.Series | None = None
    ) -> dict[str, pl.DataFrame]:
        """Outputs (all columns, or those named; of `patients` only) in the kernel's types.

        One Spark job per output, so the driver's JVM holds one output's rows at a time.
        """
        ids = (
            sf.broadcast(
                self.spark.createDataFrame(
                    pa.table({s.PATIENT_ID: patients.cast(pl.String).to_arrow().cast(pa.string())})
                )
            )
            if patients is not None
            else None
        )
        frames = {}
        for name, columns in wanted.items():
            shape = self.shapes[name].select(columns or self.shapes[name].columns)
            rows = self.output(name).select(*(f"`{c}`" for c in shape.columns))
            if ids is not None:
                rows = rows.join(ids, s.PATIENT_ID, "left_semi")
            found = as_polars(rows.toArrow())
            frames[name] = found.cast(shape.schema) if found.height else shape
        return frames

    def write_datasets(self, staging: Path) -> None:
        """The per-patient tables as Parquet datasets (and CSV ones, for spreadsheets)."""
        for name in (n for n in DATASETS if n in self.shapes):
            _write_dataset(self.output(name), self.shapes[name], staging, name)

    def population(self) -> dict[str, pl.DataFrame]:
        """What summary.json and report.html read (counts, digests), summed on the driver."""
        found = self.collect({n: None for n in COLLECTED if n in self.shapes})
        return totals({n: summed(n, [f]) if n in DIGESTS else f for n, f in found.items()})

    def worklist(self, stage: Path) -> tuple[DataFrame, int]:
        """The worklist, ranked inside Spark (`stage` holds its sort); its number of patients."""
        rows = self.output(WORKLIST)
        shape = self.shapes[WORKLIST]
        return ranked(rows.select(*(f"`{c}`" for c in shape.columns)), stage)

    def collected(self, worklist: DataFrame, limit: int | None = None) -> pl.DataFrame:
        """The ranked worklist (its top `limit` rows) on the driver, in the kernel's types."""
        rows = worklist if limit is None else worklist.where(sf.col("rank") <= limit)
        found = as_polars(rows.orderBy("rank").toArrow())
        shape = self.ranked_shape()
        return found.cast(shape.schema) if found.height else shape

    def ranked_shape(self) -> pl.DataFrame:
        """The ranked worklist's columns, no rows."""
        return pl.DataFrame(schema={"rank": pl.Int64, **self.shapes[WORKLIST].schema})

    def write_worklist(self, worklist: DataFrame, staging: Path) -> None:
        """worklist.parquet and .csv as datasets, in rank order."""
        _write_dataset(worklist, self.ranked_shape(), staging, "worklist")

    def analytics(self, plan: AnalyticsPlan) -> dict[str, pl.DataFrame]:
        """The analytics outputs: every bucket's parts, combined."""
        return combined(self.collect(dict.fromkeys(PARTS)), plan)

    def workbook(self, worklist: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """The workbook's sheets: the top of the worklist, those patients' findings, adherence."""
        top = worklist[s.PATIENT_ID].head(files.XLSX_PATIENTS)
        details = self.collect(dict.fromkeys(files.SHEET_ORDER), top)
        return files.workbook_sheets({"worklist": worklist, **details})


def scan_to(
    out: Path,
    job: SparkJob,
    inputs: Mapping[str, str | None],
    watch: Stopwatch,
    report: files.Report,
) -> dict[str, Any]:
    """Scan on Spark and publish every output in OUT as `files.scan_to_directory` does
    (with `job.analytics`, the analytics' outputs and pages too)."""
    spark, started = session()
    try:
        with files.staged(out) as staging:
            work = staging / "kernel"  # a name Spark reads (it skips names starting . or _)
            scan = SparkScan(spark, job, work)
            frames: dict[str, pl.DataFrame] = {}
            pages: dict[str, str] = {}
            analysed: dict[str, Any] = {}
            try:
                scan.evaluate()
                scan.write_datasets(staging)
                population = scan.population()
                ranked_rows, on_worklist = scan.worklist(work.with_name("ranking"))
                scan.write_worklist(ranked_rows, staging)
                population["worklist"] = scan.collected(ranked_rows, files.XLSX_PATIENTS)
                if job.analytics is not None:
                    frames = scan.analytics(job.analytics.plan)
                    analysed = analytics_summary(job.analytics.plan)
                    pages = job.analytics.pages(frames, analysed)
                sheets = scan.workbook(population["worklist"])
            finally:
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(work.with_name("ranking"), ignore_errors=True)
            watch.lap("scan")
            write_workbook(staging / "worklist.xlsx", sheets)
            for name, frame in frames.items():
                frame.write_parquet(staging / f"{name}.parquet")
                csv_safe(frame).write_csv(staging / f"{name}.csv")
            for name, page in pages.items():
                (staging / name).write_text(page, encoding="utf-8")
            watch.lap("write")
            summary = summarise(population, job.tables, job.params, inputs, watch.timings)
            summary["worklist_patients"] = on_worklist
            if analysed:
                summary["analytics"] = analysed
            (staging / "report.html").write_text(report(summary, population), encoding="utf-8")
            (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        if started:
            spark.stop()
    return summary
