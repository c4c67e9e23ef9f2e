"""Spark's side of a scan's inputs: a session, the rows read and numbered as polars numbers them.

The kernel (`core.scan_partition`) sees exactly what the polars engine gives it: the input's
columns as read, `source_row` first (the row's position in the input: a CSV file's line order,
a Parquet dataset's files in path order, as `pl.scan_parquet` lists them), so "the first of
identical rows" and quarantine.parquet's `source_row` are the same on both engines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.pandas.types import from_arrow_type, to_arrow_schema
from pyspark.sql.types import StructField, StructType

from medsopt.scan import schema as s
from medsopt.scan.inputs import ScanInputError, check_columns

BUCKET = "_bucket"
UNIT, POSITION, _OFFSET, PLACE = "_unit", "_position", "_offset", "_place"
# monotonically_increasing_id() holds the Spark partition index above bit 33, the row below.
_PARTITION_SHIFT = 33
_CSV = (".csv", ".txt")
_NULL = "\u0000null"  # what Spark's CSV reader calls null: only an empty, unquoted field


def session() -> tuple[SparkSession, bool]:
    """The active Spark session, else a new one; True when this scan started it (and stops it).

    Under spark-submit or on Databricks the platform's configuration applies. A plain
    `medsopt scan --engine spark` runs Spark in local mode on every core, its Python workers in
    this interpreter (the one that has medsopt and polars), one polars thread per Spark task.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("medsopt scan")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master("local[*]").config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.executorEnv.POLARS_MAX_THREADS", "1")
    return builder.getOrCreate(), True


def read(
    spark: SparkSession, path: Path, required: tuple[str, ...], codes: tuple[str, ...]
) -> DataFrame:
    """Rows as read: Parquet (a file or a dataset directory, hive-partitioned) or a CSV file.

    Raises ScanInputError as `inputs.read_dispensing` does: unreadable, missing columns, codes as
    floating point.
    """
    is_csv = path.suffix.lower() in _CSV
    if is_csv and not path.is_file():
        raise ScanInputError(f"{path}: no such file")
    if not is_csv and path.suffix.lower() != ".parquet" and not path.is_dir():
        raise ScanInputError(f"{path}: expected a .parquet or .csv file, or a Parquet directory")
    try:
        if is_csv:
            # Every column as text, RFC 4180 quoting, as polars reads it: an empty field is
            # null but a quoted "" is an empty string (Spark's default makes both null).
            options: dict[str, bool | str] = {"header": True, "inferSchema": False}
            options |= {"escape": '"', "nullValue": _NULL}
            frame = spark.read.options(**options).csv(str(path))
        else:
            frame = spark.read.parquet(str(path))
        empty = empty_frame(frame.schema)
    except AnalysisException as error:
        raise ScanInputError(f"{path}: cannot read: {error}") from error
    check_columns(empty.lazy(), path, required, codes)
    return frame


def numbered(frame: DataFrame, path: Path) -> tuple[DataFrame, int]:
    """`source_row` first, then the columns as read; and the number of rows.

    A row's position is its index within its unit (a Parquet file, or a split of one CSV file)
    plus the rows of the units before it; the units are counted once (a small aggregate).
    """
    columns = [sf.col(f"`{name}`") for name in frame.columns]
    if path.suffix.lower() in _CSV:
        unit, position = within_partition()
        unit_type = "int"
    else:
        unit = sf.col("_metadata.file_path")
        position = sf.col("_metadata.row_index")
        unit_type = "string"
    keyed = frame.select(*columns, unit.alias(UNIT), position.alias(POSITION))
    placed, total = placed_rows(keyed, unit_type)
    return placed.select(sf.col(PLACE).alias(s.SOURCE_ROW), *columns), total


def within_partition() -> tuple[Column, Column]:
    """(unit, position): a row's Spark partition and its index there, in the partition's order."""
    unit = sf.spark_partition_id()
    position = sf.monotonically_increasing_id() - sf.shiftleft(unit.cast("long"), _PARTITION_SHIFT)
    return unit, position


def placed_rows(keyed: DataFrame, unit_type: str) -> tuple[DataFrame, int]:
    """Rows keyed by `_unit` and `_position` with `_place`: the position plus the rows of the
    units before (in unit order); and the number of rows. The units are counted once."""
    offsets, total = [], 0
    for unit_value, rows in sorted(keyed.groupBy(UNIT).count().collect()):
        offsets.append((unit_value, total))
        total += int(rows)
    spark = keyed.sparkSession
    starts = spark.createDataFrame(offsets, f"{UNIT} {unit_type}, {_OFFSET} long")
    place = (sf.col(_OFFSET) + sf.col(POSITION)).alias(PLACE)
    return keyed.join(sf.broadcast(starts), UNIT).select(place, "*"), total


def bucket(count: int) -> Column:
    """One of `count` buckets by patient id; rows the kernel sees as one patient share a bucket.

    The kernel trims the id (`str.strip_chars`, Unicode white space); dropping every white-space
    character is coarser, so an id's copies always land together.
    """
    key = sf.regexp_replace(sf.col(s.PATIENT_ID).cast("string"), r"(?U)\s+", "")
    return sf.pmod(sf.xxhash64(key), sf.lit(count)).alias(BUCKET)


def empty_frame(schema: StructType) -> pl.DataFrame:
    """A polars frame with no rows and the columns Spark's Arrow batches will carry."""
    return as_polars(to_arrow_schema(schema).empty_table())


def as_polars(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a polars frame."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def carried(kind: pa.DataType) -> pa.DataType:
    """The Arrow type Spark can carry for `kind` (Spark has no unsigned or large types)."""
    if pa.types.is_unsigned_integer(kind):
        return {8: pa.int16(), 16: pa.int32()}.get(kind.bit_width, pa.int64())
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return pa.binary()
    if pa.types.is_dictionary(kind):
        return carried(kind.value_type)
    if pa.types.is_null(kind):
        return pa.string()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        return pa.list_(carried(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, carried(f.type)) for f in kind])
    return kind


def spark_schema(frame: pl.DataFrame) -> StructType:
    """The Spark schema a polars frame's columns travel in."""
    arrow = frame.to_arrow().schema
    return StructType(
        [StructField(f.name, from_arrow_type(carried(f.type)), nullable=True) for f in arrow]
    )
