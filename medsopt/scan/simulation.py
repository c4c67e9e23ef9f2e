"""Alert-volume simulation: how often each rule would fire under two rule sets, over one population.

Pure: findings frames in (`patient_id`, `rule_id`, `codes`), one comparison frame out. Every
count is Int64: polars counts (`pl.len`, `n_unique`) are UInt32, and an unsigned difference
wraps, so a rule firing for 2 fewer patients would read as +4294967294.
"""

from __future__ import annotations

import polars as pl

from medsopt.scan import schema as s

COUNT = pl.Int64  # signed, so that differences of counts can be negative


def rule_volumes(findings: pl.DataFrame) -> pl.DataFrame:
    """Per rule: patients with a finding, and prescriptions (patient, code pairs) it names."""
    frame = findings.lazy().select("rule_id", s.PATIENT_ID, "codes")
    patients = frame.group_by("rule_id").agg(
        pl.col(s.PATIENT_ID).n_unique().cast(COUNT).alias("patients")
    )
    prescriptions = (
        frame.explode("codes")
        .drop_nulls("codes")
        .unique()
        .group_by("rule_id")
        .agg(pl.len().cast(COUNT).alias("prescriptions"))
    )
    return (
        patients.join(prescriptions, on="rule_id", how="left")
        .with_columns(pl.col("prescriptions").fill_null(0))
        .collect()
    )


def compare(baseline: pl.DataFrame, proposed: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """One row per rule in either set: volumes under each, the change, and whether it is flagged.

    A rule is flagged when its patient count changes by more than `threshold` (a fraction, e.g.
    0.2 for 20%), or when it fires under only one of the two rule sets.
    """
    joined = rule_volumes(baseline).join(
        rule_volumes(proposed), on="rule_id", how="full", coalesce=True, suffix="_proposed"
    )
    base = pl.col("patients_baseline")
    new = pl.col("patients_proposed")
    return (
        joined.with_columns(
            pl.col(c).fill_null(0).cast(COUNT)
            for c in ("patients", "prescriptions", "patients_proposed", "prescriptions_proposed")
        )
        .rename({"patients": "patients_baseline", "prescriptions": "prescriptions_baseline"})
        .with_columns(
            patients_change=new - base,
            prescriptions_change=pl.col("prescriptions_proposed")
            - pl.col("prescriptions_baseline"),
            relative_change=pl.when(base > 0).then((new - base) / base).otherwise(None),
        )
        .with_columns(
            flagged=(pl.col("relative_change").abs() > threshold).fill_null(False)
            | ((base == 0) != (new == 0)),
        )
        .sort(pl.col("patients_change").abs(), "rule_id", descending=[True, False])
    )
