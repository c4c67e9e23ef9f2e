"""`medsopt scan --engine spark`: the per-partition kernel on Apache Spark, through Arrow.

Spark reads the inputs (`spark_io`), hashes patient ids into buckets and hands each bucket's
dispensing and patient rows to `core.scan_partition` as Arrow tables (`cogroup(...)
.applyInArrow`); the kernel is the only evaluation logic. Its outputs come back as one Arrow
table of tagged struct columns (one per output), staged once as Parquet and split: the
per-patient tables become Parquet (and CSV) datasets written by Spark; what the summary, the
worklist rank and the report read is collected, and the driver finishes them exactly as the
polars engine does (`files.finish`, `summary.summarise`, `files.workbook_sheets`).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StringType, StructField, StructType

from medsopt.reports.spreadsheet import csv_safe, write_workbook
from medsopt.scan import files
from medsopt.scan import schema as s
from medsopt.scan.core import OUTPUTS, ScanParams, scan_partition
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
from medsopt.scan.summary import Stopwatch, summarise
from medsopt.scan.tables import ScanTables

TAG = "_output"
CSV_TABLES = ("adherence", "findings", "not_evaluated", "worklist")  # also written as CSV
ROWS_PER_BUCKET = 1_000_000  # dispensing rows one kernel call holds (~0.5 GiB of worker memory)
# Per-patient tables: written by Spark, never collected whole.
DATASETS = ("adherence", "findings", "not_evaluated", "quarantine", "patients_quarantine")
# Of those, the columns the summary, the report and the ordering read (the driver holds these).
DIGEST = {
    "adherence": (s.PATIENT_ID, "drug_class", "pdc", "adherent"),
    "findings": (s.PATIENT_ID, "rule_id", "codes", "severity"),
    "not_evaluated": (s.PATIENT_ID, "rule_id"),
    "current": (s.PATIENT_ID,),  # the summary counts patients with a current medicine
}
# Small or needed whole by the worklist rank: collected.
COLLECTED = ("outcomes", "supply_methods", "patient_outcomes", "scores", "practices")

Report = Callable[[Mapping[str, Any], Mapping[str, pl.DataFrame]], str]


@dataclass(frozen=True, slots=True)
class Kernel:
    """What every Spark task needs to run `scan_partition` (the tables are broadcast once)."""

    tables: Broadcast[ScanTables]
    params: ScanParams
    shape: pa.Schema  # the tagged table Spark expects back

    def run(self, dispensing: pa.Table, patients: pa.Table | None) -> pa.Table:
        """One bucket's outputs as tagged rows."""
        rows = as_polars(dispensing).drop(BUCKET)
        rows = rows.with_columns(pl.col(s.SOURCE_ROW).cast(pl.get_index_type()))
        people = as_polars(patients).drop(BUCKET).lazy() if patients is not None else None
        results = scan_partition(rows.lazy(), people, self.tables.value, self.params)
        return tagged(results, self.shape)


def tagged(results: Mapping[str, pl.DataFrame], shape: pa.Schema) -> pa.Table:
    """Every output's rows in one table: `_output` names the output, its struct column holds it."""
    pieces = []
    for name, frame in results.items():
        if frame.height == 0:
            continue
        kind = shape.field(name).type
        values = frame.to_arrow().cast(pa.schema(list(kind))).combine_chunks().to_struct_array()
        columns = [pa.repeat(pa.scalar(name), frame.height)]
        columns += [
            values if other == name else pa.nulls(frame.height, shape.field(other).type)
            for other in OUTPUTS
        ]
        pieces.append(pa.Table.from_arrays(columns, schema=shape))
    return pa.concat_tables(pieces) if pieces else shape.empty_table()


def _with_patients(kernel: Kernel) -> Callable[[pa.Table, pa.Table], pa.Table]:
    def evaluate(dispensing: pa.Table, patients: pa.Table) -> pa.Table:
        return kernel.run(dispensing, patients)

    return evaluate


def _dispensing_only(kernel: Kernel) -> Callable[[pa.Table], pa.Table]:
    def evaluate(dispensing: pa.Table) -> pa.Table:
        return kernel.run(dispensing, None)

    return evaluate


def _csv_safe(
    shape: pl.Schema, out: pa.Schema
) -> Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]:
    """Batches made safe for a spreadsheet exactly as the polars engine's CSV (`csv_safe`)."""

    def safe(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = csv_safe(as_polars(pa.Table.from_batches([batch])).cast(shape))
            yield from frame.to_arrow().cast(out).to_batches()

    return safe


class SparkScan:
    """A scan on Spark: evaluate every bucket, write the datasets, collect what the driver needs."""

    def __init__(
        self, spark: SparkSession, tables: ScanTables, params: ScanParams, work: Path
    ) -> None:
        self.spark = spark
        self.tables = tables
        self.params = params
        self.work = work  # the staged kernel outputs (removed by `scan_to`)
        self.shapes: dict[str, pl.DataFrame] = {}  # each output's columns, no rows

    def evaluate(self, dispensing: Path, patients: Path | None) -> None:
        """Run the kernel over every bucket; its tagged outputs are staged in `work`."""
        raw = read(self.spark, dispensing, s.DISPENSING_REQUIRED, (s.CODE, s.PATIENT_ID))
        rows, count = numbered(raw, dispensing)
        people = (
            read(self.spark, patients, s.PATIENTS_REQUIRED, (s.PATIENT_ID,))
            if patients is not None
            else None
        )
        self.shapes = self._shapes(rows, people)
        spark_types = StructType(
            [
                StructField(TAG, StringType()),
                *(
                    StructField(n, StructType(list(spark_schema(f))))
                    for n, f in self.shapes.items()
                ),
            ]
        )
        kernel = Kernel(
            self.spark.sparkContext.broadcast(self.tables),
            self.params,
            to_arrow_schema(spark_types),
        )
        buckets = max(
            self.spark.sparkContext.defaultParallelism, math.ceil(count / ROWS_PER_BUCKET)
        )
        grouped = rows.withColumn(BUCKET, bucket(buckets)).groupBy(BUCKET)
        if people is None:
            result = grouped.applyInArrow(_dispensing_only(kernel), spark_types)
        else:
            other = people.withColumn(BUCKET, bucket(buckets)).groupBy(BUCKET)
            result = grouped.cogroup(other).applyInArrow(_with_patients(kernel), spark_types)
        # About one bucket per shuffle partition; the session's own setting is put back.
        previous = self.spark.conf.get("spark.sql.shuffle.partitions")
        self.spark.conf.set("spark.sql.shuffle.partitions", str(buckets))
        try:
            result.write.partitionBy(TAG).parquet(str(self.work))
        finally:
            self.spark.conf.set("spark.sql.shuffle.partitions", str(previous))

    def _shapes(self, rows: DataFrame, people: DataFrame | None) -> dict[str, pl.DataFrame]:
        """Each output's columns: the kernel run on no rows with the inputs' columns."""
        dispensing = empty_frame(rows.schema).with_columns(
            pl.col(s.SOURCE_ROW).cast(pl.get_index_type())
        )
        patients = empty_frame(people.schema).lazy() if people is not None else None
        return scan_partition(dispensing.lazy(), patients, self.tables, self.params)

    def output(self, name: str) -> DataFrame:
        """One output, as Spark reads it back from the staged kernel outputs."""
        staged = self.spark.read.parquet(str(self.work))
        return staged.where(sf.col(TAG) == name).select(f"{name}.*")

    def collect(
        self, wanted: Mapping[str, tuple[str, ...] | None], patients: pl.Series | None = None
    ) -> dict[str, pl.DataFrame]:
        """Outputs (all columns, or those named; of `patients` only) in the kernel's types.

        One Spark job for all of them.
        """
        staged = self.spark.read.parquet(str(self.work)).where(sf.col(TAG).isin(list(wanted)))
        if patients is not None:
            ids = pa.table({s.PATIENT_ID: patients.cast(pl.String).to_arrow().cast(pa.string())})
            key = sf.coalesce(*(sf.col(f"{name}.{s.PATIENT_ID}") for name in wanted))
            staged = staged.withColumn(s.PATIENT_ID, key).join(
                sf.broadcast(self.spark.createDataFrame(ids)), s.PATIENT_ID, "left_semi"
            )
        picked = [
            sf.struct(*(sf.col(f"{name}.{c}") for c in columns)).alias(name) if columns else name
            for name, columns in wanted.items()
        ]
        both = as_polars(staged.select(TAG, *picked).toArrow())
        frames = {}
        for name in wanted:
            columns = wanted[name]
            shape = self.shapes[name].select(columns or self.shapes[name].columns)
            rows = both.filter(pl.col(TAG) == name).select(pl.col(name).struct.unnest())
            frames[name] = rows.cast(shape.schema) if rows.height else shape
        return frames

    def write_datasets(self, staging: Path) -> None:
        """The per-patient tables as Parquet datasets (and CSV ones, for spreadsheets)."""
        for name in DATASETS:
            frame = self.output(name)
            frame.write.parquet(str(staging / f"{name}.parquet"))
            if name in CSV_TABLES:
                shape = self.shapes[name]
                safe = spark_schema(csv_safe(shape))
                frame.mapInArrow(
                    _csv_safe(shape.schema, to_arrow_schema(safe)), safe
                ).write.options(header=True, escape='"').csv(str(staging / f"{name}.csv"))

    def population(self) -> dict[str, pl.DataFrame]:
        """What summary.json and report.html read, finished as the polars engine finishes."""
        return files.finish(self.collect({**dict.fromkeys(COLLECTED), **DIGEST}))

    def workbook(self, worklist: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """The workbook's sheets: the top of the worklist, those patients' findings, adherence."""
        top = worklist[s.PATIENT_ID].head(files.XLSX_PATIENTS)
        details = self.collect({"findings": None, "adherence": None}, top)
        details["findings"] = details["findings"].sort(s.PATIENT_ID, "rule_id", "codes")
        details["adherence"] = details["adherence"].sort(s.PATIENT_ID, "drug_class")
        return files.workbook_sheets({"worklist": worklist, **details})


def scan_to(
    out: Path,
    dispensing: Path,
    patients: Path | None,
    tables: ScanTables,
    params: ScanParams,
    inputs: Mapping[str, str | None],
    watch: Stopwatch,
    report: Report,
) -> dict[str, Any]:
    """Scan on Spark and publish every output in OUT as `files.scan_to_directory` does."""
    spark, started = session()
    try:
        with files.staged(out) as staging:
            work = staging / "kernel"  # a name Spark reads (it skips names starting . or _)
            scan = SparkScan(spark, tables, params, work)
            try:
                scan.evaluate(dispensing, patients)
                scan.write_datasets(staging)
                population = scan.population()
                sheets = scan.workbook(population["worklist"])
            finally:
                shutil.rmtree(work, ignore_errors=True)
            watch.lap("scan")
            worklist = population["worklist"]
            worklist.write_parquet(staging / "worklist.parquet")
            csv_safe(worklist).write_csv(staging / "worklist.csv")
            write_workbook(staging / "worklist.xlsx", sheets)
            watch.lap("write")
            summary = summarise(population, tables, params, inputs, watch.timings)
            (staging / "report.html").write_text(report(summary, population), encoding="utf-8")
            (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        if started:
            spark.stop()
    return summary
