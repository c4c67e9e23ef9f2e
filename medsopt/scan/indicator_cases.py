"""Run the committee's indicator cases through the scan's own path: each case becomes rows of the
three scan inputs (dispensing, patients, events), read with the scan's quarantine and code
resolution, and the indicators are evaluated on the case's date exactly as `--indicators` does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from medsopt.analytics.cases import (
    TESTS_DIR,
    LocatedIndicatorCase,
    coverage,
    parse_indicator_cases,
)
from medsopt.analytics.compile import IndicatorSet, not_measurable
from medsopt.analytics.indicators import evaluate_all
from medsopt.authoring.diagnostics import Diagnostic
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import schema as s
from medsopt.scan.analytics_inputs import analytics_inputs
from medsopt.scan.events import ClinicalEvents, annotate_events, clean_events
from medsopt.scan.files import tables_for
from medsopt.store.locations import Locations

PRACTICE = "CASES"


@dataclass(frozen=True, slots=True)
class IndicatorCaseFailure:
    """A case whose outcome differed from what the committee expected."""

    case: LocatedIndicatorCase
    problems: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"{self.case.file}:{self.case.line}: FAIL {self.case.case.name}"]
        return "\n".join([*lines, *(f"    {problem}" for problem in self.problems)])


@dataclass(frozen=True, slots=True)
class IndicatorRunReport:
    """Outcome of an indicator test run."""

    passed: int
    failures: tuple[IndicatorCaseFailure, ...]
    coverage_problems: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.coverage_problems


def read_indicator_cases(
    indicators_dir: Path, label: str = ""
) -> tuple[tuple[LocatedIndicatorCase, ...], tuple[Diagnostic, ...]]:
    """Cases of `indicators_dir/tests/*.yaml`; paths in diagnostics start with `label`."""
    sources = {
        f"{label}{TESTS_DIR}{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((indicators_dir / TESTS_DIR).glob("*.yaml"))
    }
    return parse_indicator_cases(sources)


def _inputs(
    cases: list[tuple[str, LocatedIndicatorCase]],
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(dispensing, patients, events) as a CSV export gives them: text columns."""
    dispensing = [
        (pid, item.code, item.date.isoformat(), str(item.quantity), PRACTICE)
        for pid, c in cases
        for item in c.case.dispensed
    ]
    patients = [
        (
            pid,
            "" if c.case.patient.age is None else str(c.case.patient.age),
            "unknown",
            "" if c.case.patient.egfr is None else str(c.case.patient.egfr),
            ";".join(c.case.patient.conditions),
            PRACTICE,
        )
        for pid, c in cases
    ]
    events = [
        (pid, e.code, e.date.isoformat(), "" if e.value is None else str(e.value), "")
        for pid, c in cases
        for e in c.case.events
    ]
    text = pl.String
    dispensing_schema = [s.PATIENT_ID, s.CODE, s.DISPENSED_ON, s.QUANTITY, s.PRACTICE_ID]
    patient_schema = [s.PATIENT_ID, s.AGE_YEARS, s.SEX, s.EGFR, s.CONDITION_CODES, s.PRACTICE_ID]
    event_schema = [s.PATIENT_ID, s.CODE, "recorded_on", "value", "unit"]
    return (
        pl.LazyFrame(dispensing, schema=dict.fromkeys(dispensing_schema, text), orient="row")
        .with_row_index(s.SOURCE_ROW),
        pl.LazyFrame(patients, schema=dict.fromkeys(patient_schema, text), orient="row"),
        pl.LazyFrame(events, schema=dict.fromkeys(event_schema, text), orient="row")
        .with_row_index(s.SOURCE_ROW),
    )  # fmt: skip


def _outcomes(
    cases: list[tuple[str, LocatedIndicatorCase]],
    indicators: IndicatorSet,
    ruleset: RuleSet,
    locations: Locations,
    as_of: datetime.date,
) -> dict[str, dict[str, str]]:
    """patient id -> indicator id -> outcome, and "unread:<n>" for items the scan did not use."""
    dispensing, patients, raw_events = _inputs(cases)
    tables = tables_for(ruleset, locations, as_of)
    events = ClinicalEvents(clean_events(annotate_events(raw_events, as_of)).collect())
    inputs = analytics_inputs(dispensing, patients, events, tables, as_of, indicators)
    rows = evaluate_all(indicators, inputs.population, [as_of]).patient_rows
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows.iter_rows(named=True):
        outcome = "numerator" if row["numerator"] else "not-numerator"
        if row["excluded"] is not None:
            outcome = f"excluded:{row['excluded']}"
        found[row[s.PATIENT_ID]][row["indicator_id"]] = outcome
    used = inputs.fills.filter(pl.col("concept_code").is_not_null())[s.PATIENT_ID]
    counts = used.value_counts()
    read = dict(zip(counts[s.PATIENT_ID].to_list(), counts["count"].to_list(), strict=True))
    for pid, c in cases:
        unread = len(c.case.dispensed) - read.get(pid, 0)
        if unread:
            found[pid]["unread"] = str(unread)
    return found


def run_indicator_cases(
    cases: tuple[LocatedIndicatorCase, ...],
    indicators: IndicatorSet,
    ruleset: RuleSet,
    locations: Locations,
) -> IndicatorRunReport:
    """Run every case (grouped by date, one scan per date) and the coverage check."""
    by_date: dict[datetime.date, list[tuple[str, LocatedIndicatorCase]]] = defaultdict(list)
    for index, located in enumerate(cases):
        by_date[located.case.as_of].append((f"case-{index}", located))
    unmeasured = {i.id: not_measurable(i, indicators.codelists) for i in indicators.indicators}
    failures = []
    for as_of, group in sorted(by_date.items()):
        found = _outcomes(group, indicators, ruleset, locations, as_of)
        for pid, located in group:
            mine = found.get(pid, {})
            problems = []
            if "unread" in mine:
                problems.append(
                    f"{mine['unread']} dispensed item(s) quarantined or not resolved in dm+d "
                    "(check the codes and dates)"
                )
            for indicator_id, expected in located.case.expect.items():
                why = unmeasured.get(indicator_id)
                if why is not None:
                    problems.append(f"{indicator_id} is {why}")
                    continue
                outcome = mine.get(indicator_id, "outside")
                if outcome != expected:
                    problems.append(f"expected {indicator_id}: {expected}, got {outcome}")
            if problems:
                failures.append(IndicatorCaseFailure(located, tuple(problems)))
    return IndicatorRunReport(
        len(cases) - len(failures), tuple(failures), coverage(cases, indicators)
    )
