"""Scan inputs as the analytics read them: the clean rows (after the scan's own quarantine),
resolved, with each patient's practice, and the rule set's code sets. Also the indicator files'
reader (the analytics package itself does no I/O).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from medsopt.analytics.compile import IndicatorSet, compile_indicators
from medsopt.analytics.criteria import PopulationData
from medsopt.analytics.prices import compile_prices
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import patients as patient_facts
from medsopt.scan import quarantine
from medsopt.scan import schema as s
from medsopt.scan.events import RECORDED_ON, VALUE, ClinicalEvents, empty_events
from medsopt.scan.fills import keyed_fills, latest_practices, medicines
from medsopt.scan.tables import ScanTables

FILLS_COLUMNS = (
    s.PATIENT_ID,
    s.PRACTICE_ID,
    s.CODE,
    "concept_code",
    "vmp",
    "molecule",
    s.DISPENSED_ON,
    s.QUANTITY,
)


@dataclass(frozen=True, slots=True)
class AnalyticsInputs:
    """The population the indicators read and every clean dispensing row (for uptake)."""

    population: PopulationData
    fills: pl.DataFrame  # FILLS_COLUMNS; practice_id is the patient's practice


def read_indicators(directory: Path, ruleset: RuleSet, label: str = "") -> IndicatorSet:
    """Indicator files (*.yaml) and their codelists (codelists/*.csv); RuleSetError if invalid.

    Files are named `label` + their name (diagnostics, `IndicatorSet.files`).
    """
    sources = {
        f"{label}{p.name}": p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))
    }
    codelists = {
        f"codelists/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((directory / "codelists").glob("*.csv"))
    }
    kinds = {group.id: group.kind for group in ruleset.groups.values()}
    return compile_indicators(sources, codelists, kinds)


def code_sets(tables: ScanTables, indicators: IndicatorSet) -> pl.DataFrame:
    """set_id, code: the rule set's condition and test groups and the indicator codelists."""
    lookups = tables.lookups
    frames = [
        lookups.conditions.select(
            (pl.lit("condition:") + pl.col("condition_group")).alias("set_id"),
            pl.col("condition_code").alias("code"),
        ),
        lookups.tests.select(
            (pl.lit("test:") + pl.col("test_group")).alias("set_id"), pl.col("code")
        ),
        pl.DataFrame(
            [(f"codelist:{p}", c) for p, codes in indicators.codelists.items() for c in codes],
            schema={"set_id": pl.String, "code": pl.String},
            orient="row",
        ),
    ]
    return pl.concat(frames).unique().sort("set_id", "code")


@dataclass(frozen=True, slots=True)
class PatientTables:
    """Per-patient tables the analytics read, for some patients (a partition, or all of them).

    Tables of disjoint patients concatenate into the tables of all of them.
    """

    patients: pl.DataFrame  # patient_id, practice_id, age, egfr
    fills: pl.DataFrame  # FILLS_COLUMNS; practice_id is the patient's practice
    recorded: pl.DataFrame  # patient_id, code, recorded_on, value: events and conditions

    def frames(self) -> dict[str, pl.DataFrame]:
        """By name (`from_frames` reads them back)."""
        return {"patients": self.patients, "fills": self.fills, "recorded": self.recorded}

    @classmethod
    def from_frames(cls, frames: Mapping[str, pl.DataFrame]) -> PatientTables:
        """The tables `frames` gave."""
        return cls(frames["patients"], frames["fills"], frames["recorded"])


def patient_tables(
    dispensing: pl.LazyFrame,
    patients: pl.LazyFrame | None,
    events: ClinicalEvents | None,
    tables: ScanTables,
    as_of: datetime.date,
) -> PatientTables:
    """Clean, resolved inputs; `dispensing` carries `source_row`, as for `scan_partition` (which
    gives the same tables from its own frames when asked: `core.ANALYTICS_TABLES`)."""
    annotated = quarantine.annotate(dispensing, as_of, tables.resolution.lazy())
    people = (
        patient_facts.clean_patients(patient_facts.annotate_patients(patients))
        if patients is not None
        else patient_facts.empty_patients()
    ).collect()
    keyed = keyed_fills(annotated.collect(), tables)
    seen = latest_practices(keyed, medicines(keyed))
    return tables_from(clean_fills(annotated, tables), people, seen, events)


def clean_fills(annotated: pl.LazyFrame, tables: ScanTables) -> pl.DataFrame:
    """The rows of `quarantine.annotate` a scan uses, resolved (FILLS_COLUMNS but the
    practice, which is the patient's: `tables_from`)."""
    resolution = tables.resolution.lazy().select(s.CODE, "concept_code", "vmp", "molecule")
    return quarantine.clean_rows(annotated).join(resolution, on=s.CODE, how="left").collect()


def tables_from(
    clean: pl.DataFrame,
    people: pl.DataFrame,
    seen: pl.DataFrame,
    events: ClinicalEvents | None,
) -> PatientTables:
    """The analytics' tables from the scan's frames: `clean_fills`, the clean patient facts and
    each dispensing patient's latest practice (`fills.latest_practices`)."""
    practice = seen.join(
        people.select(s.PATIENT_ID, s.PRACTICE_ID), on=s.PATIENT_ID, how="full", coalesce=True
    ).select(
        s.PATIENT_ID,
        pl.coalesce(s.PRACTICE_ID, "dispensing_practice").alias(s.PRACTICE_ID),
    )
    facts = practice.join(
        people.select(s.PATIENT_ID, pl.col(s.AGE_YEARS).alias("age"), pl.col(s.EGFR).alias("egfr")),
        on=s.PATIENT_ID,
        how="left",
    )
    fills = (
        clean.lazy()
        .drop(s.PRACTICE_ID)
        .join(practice.lazy(), on=s.PATIENT_ID, how="left")
        .select(FILLS_COLUMNS)
        .collect()
    )
    clean_events = events.rows if events is not None else empty_events()
    recorded = pl.concat(
        [
            clean_events.select(s.PATIENT_ID, s.CODE, RECORDED_ON, VALUE),
            people.select(s.PATIENT_ID, pl.col(s.CONDITION_CODES).alias(s.CODE))
            .explode(s.CODE)
            .drop_nulls(s.CODE)
            .with_columns(
                pl.lit(None, dtype=pl.Date).alias(RECORDED_ON),
                pl.lit(None, dtype=pl.Float64).alias(VALUE),
            ),
        ]
    )
    return PatientTables(facts, fills, recorded)


def population_inputs(
    parts: PatientTables, tables: ScanTables, indicators: IndicatorSet
) -> AnalyticsInputs:
    """The indicators' population from every patient's tables and the code sets."""
    fills = parts.fills
    population = PopulationData(
        patients=parts.patients,
        dispensed=fills.select(s.PATIENT_ID, s.CODE, "concept_code", "vmp", s.DISPENSED_ON),
        recorded=parts.recorded,
        membership=tables.lookups.membership.select("concept_code", "group"),
        code_sets=code_sets(tables, indicators),
    )
    return AnalyticsInputs(population, fills)


def analytics_inputs(
    dispensing: pl.LazyFrame,
    patients: pl.LazyFrame | None,
    events: ClinicalEvents | None,
    tables: ScanTables,
    as_of: datetime.date,
    indicators: IndicatorSet,
) -> AnalyticsInputs:
    """Clean, resolved inputs of every patient at once (small inputs and tests)."""
    parts = patient_tables(dispensing, patients, events, tables, as_of)
    return population_inputs(parts, tables, indicators)


def read_prices(path: Path, ruleset: RuleSet) -> tuple[pl.DataFrame, bool]:
    """(prices, illustrative) from formulary/prices.yaml; RuleSetError if invalid."""
    known = frozenset(ruleset.biosimilars.products) if ruleset.biosimilars else frozenset()
    return compile_prices({path.name: path.read_text(encoding="utf-8")}, known)
