"""The worklist ranked inside Spark, exactly as `worklist.rank` ranks it on one machine.

Every patient's worklist row stays on the cluster: a range-partitioned sort (score descending,
then patient id), each row's index in its sorted partition fixed once on disk, and the rank
is that index plus the rows of the partitions before it (a count per partition: small). The
driver never holds the population's scores.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from medsopt.scan import schema as s
from medsopt.scan.spark_io import PLACE, POSITION, UNIT, placed_rows, within_partition


def ranked(rows: DataFrame, stage: Path) -> tuple[DataFrame, int]:
    """`rank` first (from 1), then `rows`' columns, in rank order (`stage` holds the sort); and
    the number of rows."""
    columns = [sf.col(f"`{name}`") for name in rows.columns]
    # polars sorts nulls first in both directions: so does this order.
    order = (sf.col("score").desc_nulls_first(), sf.col(f"`{s.PATIENT_ID}`").asc_nulls_first())
    unit, position = within_partition()
    rows.repartitionByRange(*order).sortWithinPartitions(*order).select(
        *columns, unit.alias(UNIT), position.alias(POSITION)
    ).write.parquet(str(stage))
    # Read back: the sort and every row's place are fixed, whatever Spark recomputes below.
    keyed = rows.sparkSession.read.parquet(str(stage))
    placed, total = placed_rows(keyed, "int")
    rank = (sf.col(PLACE) + 1).cast("long").alias("rank")
    return placed.select(rank, *columns).orderBy("rank"), total
