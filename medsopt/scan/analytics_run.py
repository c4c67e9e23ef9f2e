"""The analytics of a scan: indicators and biosimilar uptake month by month, compared across
practices. Reads every patient's tables (`analytics_inputs.patient_tables`, made partition by
partition through the scan's own quarantine); returns frames written beside the scan's outputs
(names in `ANALYTICS_FILES`) and a summary for summary.json.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from medsopt.analytics.biologics import preferred_table, product_table
from medsopt.analytics.compile import IndicatorSet, not_measurable
from medsopt.analytics.indicators import evaluate_all, gaps
from medsopt.analytics.measures import (
    deciles,
    indicator_series,
    outliers_and_movers,
    uptake_series,
)
from medsopt.analytics.prices import PRICE_SCHEMA
from medsopt.analytics.switching import to_switch_by_month, to_switch_counts
from medsopt.analytics.uptake import biologic_items, monthly_uptake
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import (
    PatientTables,
    population_inputs,
    read_indicators,
    read_prices,
)
from medsopt.scan.tables import ScanTables

# Written as <name>.parquet and <name>.csv (docs/scan.md, "Analytics outputs").
ANALYTICS_FILES = (
    "indicators",
    "indicator_exclusions",
    "indicator_gaps",
    "uptake",
    "biosimilar_to_switch",
    "biosimilar_to_switch_counts",
    "measures",
    "measure_deciles",
    "measure_outliers",
)


@dataclass(frozen=True, slots=True)
class AnalyticsRequest:
    """What the user asked the analytics for."""

    indicators_dir: Path
    prices: Path | None
    months: int = 24
    include_drafts: bool = False


def month_ends(as_of: datetime.date, months: int) -> list[datetime.date]:
    """The ends of the `months - 1` months before `as_of`'s month, then `as_of` itself."""
    ends: list[datetime.date] = []
    first_of_month = as_of.replace(day=1)
    for _ in range(months - 1):
        end = first_of_month - datetime.timedelta(days=1)
        ends.append(end)
        first_of_month = end.replace(day=1)
    return [*reversed(ends), as_of]


@dataclass(frozen=True, slots=True)
class AnalyticsPlan:
    """What the analytics read besides the patients (picklable: a worker can evaluate a
    partition with it): the indicators, the month ends, the biosimilar tables and prices."""

    indicators: IndicatorSet
    months: tuple[datetime.date, ...]
    products: pl.DataFrame
    preferred: pl.DataFrame
    prices: pl.DataFrame
    prices_illustrative: bool
    prices_file: str | None


def plan_analytics(
    ruleset: RuleSet, as_of: datetime.date, request: AnalyticsRequest
) -> AnalyticsPlan:
    """The indicator and price files read and checked; RuleSetError for an invalid one."""
    indicator_set = read_indicators(request.indicators_dir, ruleset)
    if not request.include_drafts:
        active = tuple(i for i in indicator_set.indicators if i.status == "active")
        indicator_set = dataclasses.replace(indicator_set, indicators=active)
    if request.prices is not None:
        prices, illustrative = read_prices(request.prices, ruleset)
    else:
        prices, illustrative = pl.DataFrame(schema=PRICE_SCHEMA), False
    return AnalyticsPlan(
        indicator_set,
        tuple(month_ends(as_of, request.months)),
        product_table(ruleset),
        preferred_table(ruleset),
        prices,
        illustrative,
        str(request.prices) if request.prices else None,
    )


def compared(
    rates: pl.DataFrame, uptake: pl.DataFrame, indicators: IndicatorSet
) -> dict[str, pl.DataFrame]:
    """The practices compared: every measure's monthly series, deciles, outliers and movers."""
    titles = pl.DataFrame(
        [(i.id, i.title, i.better) for i in indicators.indicators],
        schema={"measure_id": pl.String, "title": pl.String, "better": pl.String},
        orient="row",
    )
    series = pl.concat([indicator_series(rates, titles), uptake_series(uptake)])
    bands = deciles(series)
    return {
        "measures": series,
        "measure_deciles": bands,
        "measure_outliers": outliers_and_movers(series, bands),
    }


def analytics_summary(plan: AnalyticsPlan) -> dict[str, Any]:
    """The analytics' part of summary.json."""
    indicator_set = plan.indicators
    return {
        "indicators": [
            {
                "id": i.id,
                "title": i.title,
                "status": i.status,
                "target": [i.target.lower, i.target.upper] if i.target else None,
                "file": indicator_set.files[i.id],
                "not_measurable": not_measurable(i, indicator_set.codelists),
                "exclusions": [
                    {"reason": e.reason, "explanation": e.explanation} for e in i.exclusions
                ],
            }
            for i in indicator_set.indicators
        ],
        "months": [plan.months[0].isoformat(), plan.months[-1].isoformat()],
        "prices_illustrative": plan.prices_illustrative,
        "prices": plan.prices_file,
    }


def run_analytics(
    parts: PatientTables,
    tables: ScanTables,
    ruleset: RuleSet,
    as_of: datetime.date,
    request: AnalyticsRequest,
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Every analytics output and its summary, from every patient's tables (all partitions).

    RuleSetError for an invalid indicator or price file.
    """
    plan = plan_analytics(ruleset, as_of, request)
    inputs = population_inputs(parts, tables, plan.indicators)
    evaluated = evaluate_all(plan.indicators, inputs.population, plan.months)
    items = biologic_items(inputs.fills.lazy(), plan.products, plan.preferred, plan.prices)
    uptake = monthly_uptake(items, plan.months)
    to_switch = to_switch_by_month(items, plan.months)
    frames = {
        "indicators": evaluated.rates,
        "indicator_exclusions": evaluated.exclusions,
        "indicator_gaps": gaps(evaluated.patient_rows, plan.indicators),
        "uptake": uptake,
        "biosimilar_to_switch": to_switch.filter(pl.col("month") == as_of),
        "biosimilar_to_switch_counts": to_switch_counts(to_switch),
        **compared(evaluated.rates, uptake, plan.indicators),
    }
    return frames, analytics_summary(plan)
