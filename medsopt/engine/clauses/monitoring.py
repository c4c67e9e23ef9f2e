"""monitoring: a test is due for a medicine on the list.

The rule fires when no result of the test group is dated within `within_days` before the as-of
date and the request says its results are complete from a date at or before that window: only
then is the absence known. Without that date (or without an as-of date) the rule is not
evaluated and asks for the results, never passed silently.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    PATIENT_ID,
    TEXTS,
    Filter,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.rules.ir import MonitoringDue

NO_AS_OF = "as_of date"


def missing_results(title: str, since: datetime.date) -> str:
    """What a monitoring rule asks for when the request cannot show the test is missing."""
    return f"results of {title} since {since.isoformat()}"


def check(clause: MonitoringDue, view: PatientView) -> Outcome | None:
    """None when a recent result exists; else what is missing, or the due test as a fact."""
    as_of = view.request.as_of
    if as_of is None:
        return Outcome(missing=(NO_AS_OF,))
    group = view.ruleset.groups[clause.tests]
    since = as_of - datetime.timedelta(days=clause.within_days)
    patient = view.patient
    dates = [
        day
        for result in patient.monitoring
        if result.code in group.codes
        and since < (day := datetime.date.fromisoformat(result.date)) <= as_of
    ]
    if dates:
        return None
    complete_from = patient.monitoring_from
    if complete_from is None or datetime.date.fromisoformat(complete_from) > since:
        return Outcome(missing=(missing_results(group.title, since),))
    return Outcome(
        facts=(
            f"no result of {group.title} in the {clause.within_days} days to "
            f"{as_of.isoformat()} (results complete from {complete_from})",
        )
    )


def filter_plan(
    clauses: Sequence[tuple[str, MonitoringDue]], population: Population, lookups: Lookups
) -> Filter:
    """`fails` where a recent result exists; `missing` where completeness does not reach back."""
    as_of = population.as_of
    rows = []
    for rule_id, c in clauses:
        since = as_of - datetime.timedelta(days=c.within_days) if as_of else None
        title = lookups.test_titles.get(c.tests, c.tests)
        rows.append(
            {
                "rule_id": rule_id,
                "monitor_group": c.tests,
                "monitor_since": since,
                "monitor_missing": missing_results(title, since) if since else NO_AS_OF,
            }
        )
    params = pl.DataFrame(
        rows,
        schema={
            "rule_id": population.rule_id_type,
            "monitor_group": pl.String,
            "monitor_since": pl.Date,
            "monitor_missing": pl.String,
        },
    ).lazy()
    recent = (
        population.results.lazy()
        .join(lookups.tests.lazy(), on="code")
        .join(params, left_on="test_group", right_on="monitor_group")
        .filter(
            (pl.col("date") > pl.col("monitor_since"))
            & (pl.col("date") <= pl.lit(as_of, dtype=pl.Date))
        )
        .select(PATIENT_ID, "rule_id")
        .unique()
        .with_columns(monitor_recent=pl.lit(True))
    )
    window_start = pl.col("monitor_since")
    applies = pl.col("monitor_missing").is_not_null()
    complete_from = pl.col("monitoring_from")
    unknown = window_start.is_null() | complete_from.is_null() | (complete_from > window_start)
    recent_result = pl.col("monitor_recent").fill_null(False)
    lacks = applies & ~recent_result & unknown
    return Filter(
        joins=((params, ("rule_id",)), (recent, (PATIENT_ID, "rule_id"))),
        fails=applies & recent_result,
        missing=pl.when(lacks)
        .then(pl.concat_list(pl.col("monitor_missing")))
        .otherwise(pl.lit([], dtype=TEXTS)),
        lacks=lacks,
    )
