"""Digests: the counts the summary and the report read sum across partitions to the whole
scan's, and the median from counts is polars' median of the repeated values, to the bit."""

from __future__ import annotations

import datetime

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.generate_dispensing import generate, pools
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import schema as s
from medsopt.scan.core import ScanParams, partition, scan_partition
from medsopt.scan.digest import DIGESTS, digest, summed, weighted_median
from medsopt.scan.pdc import Period
from medsopt.scan.summary import summarise
from medsopt.scan.tables import ScanTables

AS_OF = datetime.date(2026, 6, 30)


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.floats(0, 1, allow_nan=False)), st.integers(1, 5)),
        max_size=30,
    )
)
def test_the_median_of_counted_values_is_the_median_of_the_values(
    counted: list[tuple[float | None, int]],
) -> None:
    values = pl.Series([v for v, _ in counted], dtype=pl.Float64)
    counts = pl.Series([n for _, n in counted], dtype=pl.Int64)
    repeated = pl.Series([v for v, n in counted for _ in range(n)], dtype=pl.Float64)
    assert weighted_median(values, counts) == repeated.median()


def test_partition_digests_sum_to_the_whole_scans_digest_and_summary(
    bundled: RuleSet, scan_tables: ScanTables
) -> None:
    dispensing, people = generate(300, seed=11, pool=pools(bundled))
    params = ScanParams(Period(AS_OF, 365))

    def scanned(part: pl.Expr | None) -> dict[str, pl.DataFrame]:
        rows = dispensing.with_row_index(s.SOURCE_ROW).lazy()
        facts = people.lazy()
        if part is not None:
            rows, facts = rows.filter(part), facts.filter(part)
        return scan_partition(rows, facts, scan_tables, params)

    whole = scanned(None)
    parts = [digest(scanned(partition(4, i))) for i in range(4)]
    combined = {name: summed(name, [p[name] for p in parts]) for name in DIGESTS}
    alone = {name: summed(name, [frame]) for name, frame in digest(whole).items()}
    for name in DIGESTS:
        assert combined[name].equals(alone[name]), name
    # The summary from the digests says what the per-patient frames say.
    counts = {n: whole[n] for n in ("outcomes", "patient_outcomes", "supply_methods")}
    summary = summarise({**counts, **combined, "worklist": whole["scores"]}, scan_tables,
                        params, {}, {})  # fmt: skip
    adherence = whole["adherence"]
    for (cls,), group in adherence.group_by("drug_class"):
        assert summary["classes"][cls]["median_pdc"] == group["pdc"].median()
        assert summary["classes"][cls]["adherent"] == group["adherent"].sum()
        assert summary["classes"][cls]["eligible"] == group["pdc"].is_not_null().sum()
    assert summary["findings"] == whole["findings"].height > 0
    assert summary["not_evaluated"] == whole["not_evaluated"].height
    assert summary["patients"] == whole["practices"].height
    assert summary["patients_with_current_medicines"] == whole["current"][s.PATIENT_ID].n_unique()
