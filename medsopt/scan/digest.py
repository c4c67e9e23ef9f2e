"""What summary.json and report.html read of a scan's per-patient frames, as counts.

Each partition (or Spark bucket) digests its own frames; digests sum across partitions, so the
end of a scan holds counts whose size depends on the rule set, the classes and the practices,
never on the number of patients. A patient is in one partition only, so per-patient counts add.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from medsopt.scan import schema as s

DIGESTS = ("adherence_counts", "finding_counts", "patient_counts")
_KEYS = {
    "adherence_counts": ("drug_class", "pdc", "adherent"),
    "finding_counts": ("rule_id", "severity", s.PRACTICE_ID),
    "patient_counts": (),
}


def digest(results: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """One partition's (or a whole scan's) per-patient frames as counts (`DIGESTS`)."""
    findings = results["findings"].select("rule_id", "severity", s.PATIENT_ID)
    practices = results["practices"].select(s.PATIENT_ID, s.PRACTICE_ID)
    return {
        "adherence_counts": results["adherence"]
        .group_by(_KEYS["adherence_counts"])
        .agg(pl.len().cast(pl.Int64).alias("patients")),
        "finding_counts": findings.join(practices, on=s.PATIENT_ID, how="left")
        .group_by(_KEYS["finding_counts"])
        .agg(pl.len().cast(pl.Int64).alias("findings")),
        "patient_counts": pl.DataFrame(
            {
                "patients": [practices.height],
                "patients_with_current_medicines": [results["current"][s.PATIENT_ID].n_unique()],
                "not_evaluated": [results["not_evaluated"].height],
            },
            schema=dict.fromkeys(
                ("patients", "patients_with_current_medicines", "not_evaluated"), pl.Int64
            ),
        ),
    }


def summed(name: str, parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Digest `name` of several partitions as one, in key order."""
    frame = pl.concat(parts, how="vertical_relaxed")
    keys = list(_KEYS[name])
    if not keys:
        return frame.sum()
    return frame.group_by(keys).agg(pl.exclude(keys).sum()).sort(keys, nulls_last=True)


def weighted_median(values: pl.Series, counts: pl.Series) -> float | None:
    """The median of `values` each repeated `counts` times, as polars' `Series.median` computes
    it over the repeated values (nulls left out; None when none is left)."""
    frame = pl.DataFrame({"value": values, "count": counts}).drop_nulls("value").sort("value")
    total = int(frame["count"].sum())
    if total == 0:
        return None
    ends = frame["count"].cum_sum()
    # The middle value(s) of the repeated series: one for an odd total, two for an even one.
    middle = [(total - 1) // 2, total // 2]
    picked = [frame["value"][int(ends.search_sorted(i + 1, side="left"))] for i in middle]
    median = pl.Series(picked, dtype=values.dtype).median()
    return None if median is None else float(median)  # type: ignore[arg-type]
