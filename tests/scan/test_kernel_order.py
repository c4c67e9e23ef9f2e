"""The per-partition kernel gives the same outputs, to the last bit, whatever the order of its
input rows and however patients are split into partitions.

Spark hands a bucket's rows to the kernel in shuffle order (which map output arrives first), and
the polars engine in file order: any output that depends on row order, or on how polars happens
to run a step (polars divides a column by a literal one way for one row, another for more),
makes the engines differ now and then. These seeds once put a patient's score 1 ulp apart.
"""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from benchmarks.generate_dispensing import dirty, generate, pools
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.core import OUTPUTS, ScanParams, partition, scan_partition
from medsopt.scan.files import combine
from medsopt.scan.pdc import Period
from medsopt.scan.tables import ScanTables

AS_OF = datetime.date(2026, 6, 30)


def outputs(
    dispensing: pl.DataFrame, patients: pl.DataFrame, tables: ScanTables, parts: int = 1
) -> dict[str, pl.DataFrame]:
    """Every output of the kernel over `parts` patient-hash partitions, combined."""
    params = ScanParams(Period(AS_OF, 365))
    results = [
        scan_partition(
            dispensing.lazy().filter(partition(parts, index)),
            patients.lazy().filter(partition(parts, index)),
            tables,
            params,
        )
        for index in range(parts)
    ]
    return combine(results)


def as_set(frame: pl.DataFrame) -> list[str]:
    """The rows, order aside; floats in full (repr is the shortest exact form)."""
    return sorted(map(repr, frame.rows()))


@pytest.mark.parametrize("seed", [11, 14, 22, 29])
def test_the_kernel_does_not_depend_on_row_order_or_partitions(
    bundled: RuleSet, scan_tables: ScanTables, seed: int
) -> None:
    dispensing, people = generate(100, seed=seed, pool=pools(bundled))
    rows = dirty(dispensing, 0.05, seed=seed).with_row_index("source_row")
    expected = outputs(rows, people, scan_tables)
    variants = {
        "shuffled": outputs(
            rows.sample(fraction=1.0, shuffle=True, seed=2),
            people.sample(fraction=1.0, shuffle=True, seed=2),
            scan_tables,
        ),
        "three partitions": outputs(rows, people, scan_tables, parts=3),
    }
    assert expected["worklist"].height > 0
    for name, found in variants.items():
        assert found["worklist"].equals(expected["worklist"]), name  # rank order, bit for bit
        for output in (*(o for o in OUTPUTS if o != "scores"), "worklist"):
            assert as_set(found[output]) == as_set(expected[output]), (name, output)
