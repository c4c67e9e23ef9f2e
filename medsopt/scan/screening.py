"""The safety rules over a scan's patients: their current medicines as a `Population`, through
the same columnar evaluator the committee cases prove equal to the point-of-care engine.

A dispensed medicine is one entry per distinct code (ref = code), current, started on its first
dispensing seen; a patient without a patient row has no facts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import polars as pl

from medsopt.engine.clauses.base import Lookups
from medsopt.engine.columnar import evaluate
from medsopt.engine.population import build_population, first_of_each_pair
from medsopt.rules.ir import RuleIR
from medsopt.scan import schema as s
from medsopt.scan.tables import ScanTables

FINDING_COLUMNS = (
    s.PATIENT_ID,
    "rule_id",
    "category",
    "severity",
    "title",
    "codes",
    "detail",
    "recommendation",
    "concern",
    "sources",
)
NOT_EVALUATED_COLUMNS = (s.PATIENT_ID, "rule_id", "title", "missing", "codes")


@dataclass(frozen=True, slots=True)
class Screening:
    """What screening reads of the scan tables (`ScanTables` has the same fields)."""

    resolution: pl.DataFrame
    rules: tuple[RuleIR, ...]
    lookups: Lookups


@dataclass(frozen=True, slots=True)
class Screened:
    """Fired findings and rules not evaluated, one row per patient and rule (and medicine, for
    per-medicine rules)."""

    findings: pl.DataFrame
    not_evaluated: pl.DataFrame


def screen(
    current: pl.DataFrame,
    patients: pl.DataFrame,
    unresolved: pl.DataFrame,
    tables: ScanTables | Screening,
    as_of: datetime.date,
    results: pl.DataFrame | None = None,
    monitoring_from: datetime.date | None = None,
) -> Screened:
    """Findings for every patient with a current medicine.

    `current`: patient_id, code, start_date (Date or null); `patients`: clean patient facts
    (`schema.CLEAN_PATIENTS`); `unresolved`: patient_id of patients with a recent dispensing
    whose code did not resolve (rules with none_of are then not evaluated, as at the point of
    care); `results`: dated coded events (patient_id, code, date) that monitoring rules read and
    that add to the recorded conditions, complete from `monitoring_from` (None: not known).
    """
    # Patient ids are numbered in their sorted order once: the evaluator joins and groups on
    # the numbers, and its sorted output reads back in the same order.
    ids = pl.concat(
        [f[s.PATIENT_ID] for f in (current, patients, unresolved, results) if f is not None]
    )
    key = _Key.of(ids)
    current, patients, unresolved = (key.encode(f) for f in (current, patients, unresolved))
    results = key.encode(results) if results is not None else None
    conditions = patients.select(
        s.PATIENT_ID, pl.col(s.CONDITION_CODES).alias("condition_code")
    ).explode("condition_code")
    if results is not None:
        conditions = pl.concat(
            [conditions, results.select(s.PATIENT_ID, pl.col(s.CODE).alias("condition_code"))]
        ).unique()
    # A patient's code is kept once: the code's row in the resolution, with
    # the patient's number, makes one 64-bit key (cheaper than `unique` on a text column).
    resolved = current.select(s.PATIENT_ID, s.CODE, "start_date").join(
        tables.resolution.select(
            s.CODE, "concept_code", "molecule", pl.col("concept_name").alias("name")
        ).with_row_index("resolved"),
        on=s.CODE,
    )
    meds = resolved.filter(first_of_each_pair(pl.col(s.PATIENT_ID), pl.col("resolved"))).select(
        pl.exclude("resolved"), ref=pl.col(s.CODE), proposed=pl.lit(False)
    )
    population = build_population(
        meds,
        tables.lookups,
        as_of,
        facts=patients.select(
            s.PATIENT_ID,
            pl.col(s.AGE_YEARS).cast(pl.Int64).alias("age"),
            pl.col(s.SEX).alias("sex"),
            pl.col(s.EGFR).alias("egfr"),
            pl.col(s.PREGNANT).alias("pregnant"),
            pl.lit(monitoring_from, dtype=pl.Date).alias("monitoring_from"),
        ),
        condition_codes=conditions.drop_nulls("condition_code"),
        unresolved=unresolved.select(s.PATIENT_ID),
        results=results,
    )
    evaluated = evaluate(population, tables.rules, tables.lookups)
    return Screened(
        findings=key.decode(
            evaluated.findings.rename({"refs": "codes"})
            .select(FINDING_COLUMNS)
            .sort(s.PATIENT_ID, "rule_id", "codes")
        ),
        not_evaluated=key.decode(
            evaluated.not_evaluated.rename({"refs": "codes"})
            .select(NOT_EVALUATED_COLUMNS)
            .sort(s.PATIENT_ID, "rule_id")
        ),
    )


@dataclass(frozen=True, slots=True)
class _Key:
    """Patient ids (sorted, distinct) and their numbers (positions)."""

    numbers: pl.DataFrame

    @classmethod
    def of(cls, ids: pl.Series) -> _Key:
        ids = ids.unique().sort()
        number = pl.int_range(0, len(ids), dtype=pl.UInt32, eager=True).alias("number")
        return cls(pl.DataFrame([ids, number]))

    def encode(self, frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.join(self.numbers, on=s.PATIENT_ID, how="left", maintain_order="left")
            .with_columns(pl.col("number").alias(s.PATIENT_ID))
            .drop("number")
        )

    def decode(self, frame: pl.DataFrame) -> pl.DataFrame:
        ids = self.numbers[s.PATIENT_ID]
        return frame.with_columns(ids.gather(frame[s.PATIENT_ID]).alias(s.PATIENT_ID))
