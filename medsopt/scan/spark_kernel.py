"""What every Spark task runs: one bucket's input rows through the polars engine's kernel.

A bucket's rows of every input travel together as one Arrow table: `_input` names the input
(dispensing, patients, events), its struct column holds the row as read. The outputs travel
back the same way (`_output` and a struct column per output), so any number of inputs and
outputs is one `groupBy(bucket).applyInArrow` and one staged table.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import Broadcast

from medsopt.scan import schema as s
from medsopt.scan.analytics_run import AnalyticsPlan
from medsopt.scan.core import ScanParams
from medsopt.scan.kernel import scan_share
from medsopt.scan.spark_io import as_polars
from medsopt.scan.tables import ScanTables

INPUT = "_input"
OUTPUT = "_output"
DISPENSING, PATIENTS, EVENTS = "dispensing", "patients", "events"
NUMBERED = (DISPENSING, EVENTS)  # inputs that carry `source_row`


@dataclass(frozen=True, slots=True)
class Work:
    """The scan of one bucket, as the polars engine scans one partition (`sharded`)."""

    tables: ScanTables
    params: ScanParams
    events_complete_from: datetime.date | None = None
    analytics: AnalyticsPlan | None = None

    def outputs(self, inputs: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        """Every output for the bucket's rows of each given input (`DISPENSING` always)."""
        rows = {
            name: frame.with_columns(pl.col(s.SOURCE_ROW).cast(pl.get_index_type()))
            if name in NUMBERED
            else frame
            for name, frame in inputs.items()
        }
        return scan_share(
            rows[DISPENSING].lazy(),
            rows[PATIENTS].lazy() if PATIENTS in rows else None,
            rows[EVENTS].lazy() if EVENTS in rows else None,
            self.tables,
            self.params,
            self.events_complete_from,
            self.analytics,
        )


@dataclass(frozen=True, slots=True)
class Kernel:
    """A Spark task's function: tagged input rows of one bucket in, tagged output rows out."""

    work: Broadcast[Work]  # sent to each executor once
    inputs: tuple[str, ...]  # the inputs given (`DISPENSING` first)
    shape: pa.Schema  # the tagged table Spark expects back

    def run(self, table: pa.Table) -> pa.Table:
        """One bucket's outputs as tagged rows."""
        given = {name: unpacked(table, name) for name in self.inputs}
        return tagged(self.work.value.outputs(given), self.shape)


def task(kernel: Kernel) -> Callable[[pa.Table], pa.Table]:
    """`kernel.run` as a plain function (Spark reads a bound method's `self` as the group key)."""

    def evaluate(table: pa.Table) -> pa.Table:
        return kernel.run(table)

    return evaluate


def unpacked(table: pa.Table, name: str) -> pl.DataFrame:
    """The rows of input `name` in a tagged table, in its own columns."""
    rows = table.filter(pc.equal(table[INPUT], name))[name].combine_chunks()
    assert isinstance(rows, pa.StructArray)
    names = [field.name for field in rows.type]
    return as_polars(pa.Table.from_arrays(rows.flatten(), names=names))


def tagged(results: Mapping[str, pl.DataFrame], shape: pa.Schema) -> pa.Table:
    """Every output's rows in one table: `_output` names the output, its struct column holds it."""
    names = [field.name for field in shape if field.name != OUTPUT]
    pieces = []
    for name, frame in results.items():
        if frame.height == 0:
            continue
        kind = shape.field(name).type
        values = frame.to_arrow().cast(pa.schema(list(kind))).combine_chunks().to_struct_array()
        columns = [pa.repeat(pa.scalar(name), frame.height)]
        columns += [
            values if other == name else pa.nulls(frame.height, shape.field(other).type)
            for other in names
        ]
        pieces.append(pa.Table.from_arrays(columns, schema=shape))
    return pa.concat_tables(pieces) if pieces else shape.empty_table()
