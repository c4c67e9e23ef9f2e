"""Build a `Population` (many patients as frames) and read one patient back as a request."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import polars as pl

from medsopt.engine.clauses.base import PATIENT_ID, Lookups, Population
from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    CheckRequest,
    MedicationEntry,
    MedicationStatus,
    MonitoringResult,
    PatientContext,
    Sex,
)
from medsopt.rules.ruleset import RuleSet

MEDS_SCHEMA = {
    PATIENT_ID: pl.String,
    "ref": pl.String,
    "code": pl.String,
    "concept_code": pl.String,
    "molecule": pl.String,
    "name": pl.String,
    "start_date": pl.Date,
    "proposed": pl.Boolean,
}
FACTS_SCHEMA = {
    PATIENT_ID: pl.String,
    "age": pl.Int64,
    "sex": pl.String,
    "egfr": pl.Float64,
    "pregnant": pl.Boolean,
    "monitoring_from": pl.Date,
}
RESULTS_SCHEMA = {PATIENT_ID: pl.String, "code": pl.String, "date": pl.Date}
CONDITIONS_SCHEMA = {PATIENT_ID: pl.String, "condition_code": pl.String}
EXCEPTIONS_SCHEMA = {
    PATIENT_ID: pl.String,
    "molecule_code": pl.String,
    "kind": pl.String,
    "expires_on": pl.String,
}
UNRESOLVED_SCHEMA = {PATIENT_ID: pl.String}


def build_population(
    meds: pl.DataFrame,
    lookups: Lookups,
    as_of: datetime.date | None,
    facts: pl.DataFrame | None = None,
    condition_codes: pl.DataFrame | None = None,
    unresolved: pl.DataFrame | None = None,
    exceptions: pl.DataFrame | None = None,
    ruleset: RuleSet | None = None,
    results: pl.DataFrame | None = None,
) -> Population:
    """Resolved medicines (`MEDS_SCHEMA`) and the patients' context, with group hits and
    condition groups looked up once.

    Patient ids keep the type `meds` gives them (text, or an integer key a scan encodes them
    to: joins and groupings on it are cheaper); every other frame must use the same type.
    """
    patient = meds.schema[PATIENT_ID]
    meds = meds.select(*_cast(MEDS_SCHEMA))
    codes = (
        condition_codes.select(*_cast(CONDITIONS_SCHEMA))
        if condition_codes is not None
        else _empty(CONDITIONS_SCHEMA, patient)
    )
    return Population(
        meds=meds,
        hits=meds.join(
            lookups.membership.with_columns(pl.col("group").cast(pl.Categorical)), on="concept_code"
        ).select(PATIENT_ID, "ref", "group", "molecule", "start_date"),
        facts=(
            _empty(FACTS_SCHEMA, patient)
            if facts is None
            else facts.with_columns(
                *(
                    pl.lit(None, dtype=t).alias(c)
                    for c, t in FACTS_SCHEMA.items()
                    if c not in facts.columns
                )
            )
        ),
        condition_codes=codes,
        recorded=_distinct(
            codes.join(
                lookups.conditions.with_columns(pl.col("condition_group").cast(pl.Categorical)),
                on="condition_code",
            ).select(PATIENT_ID, "condition_group")
        ),
        unresolved=unresolved if unresolved is not None else _empty(UNRESOLVED_SCHEMA, patient),
        exceptions=exceptions if exceptions is not None else _empty(EXCEPTIONS_SCHEMA, patient),
        results=results if results is not None else _empty(RESULTS_SCHEMA, patient),
        as_of=as_of,
        ruleset=ruleset,
    )


def _distinct(pairs: pl.DataFrame) -> pl.DataFrame:
    """The distinct (patient, condition group) rows: for integer patient keys, by the group's
    categorical number (`first_of_each_pair`)."""
    if pairs.schema[PATIENT_ID] not in (pl.UInt32, pl.UInt16, pl.UInt8):
        return pairs.unique()
    return pairs.filter(
        first_of_each_pair(pl.col(PATIENT_ID), pl.col("condition_group").to_physical())
    )


def first_of_each_pair(patient: pl.Expr, number: pl.Expr) -> pl.Expr:
    """True at the first row of each (patient, number) pair, both below 2**32: one 64-bit key,
    much cheaper than `unique` on the columns."""
    return (patient.cast(pl.UInt64) * 2**32 + number.cast(pl.UInt64)).is_first_distinct()


def _cast(schema: Mapping[str, type[pl.DataType]]) -> list[pl.Expr]:
    """The schema's columns in its types, the patient id as it is."""
    return [pl.col(c) if c == PATIENT_ID else pl.col(c).cast(t) for c, t in schema.items()]


def _empty(schema: Mapping[str, type[pl.DataType]], patient: pl.DataType) -> pl.DataFrame:
    """No rows of the schema, with the population's patient id type."""
    return pl.DataFrame(schema={**schema, PATIENT_ID: patient})


def requests_for(population: Population, patient_ids: Sequence[str]) -> list[CheckRequest]:
    """Each patient as the request the point-of-care engine would receive (id = patient id)."""
    wanted = pl.DataFrame({PATIENT_ID: list(patient_ids)}, schema={PATIENT_ID: pl.String})
    meds = population.meds.join(wanted, on=PATIENT_ID).partition_by(PATIENT_ID, as_dict=True)
    facts = {r[PATIENT_ID]: r for r in population.facts.join(wanted, on=PATIENT_ID).to_dicts()}
    conditions: dict[str, list[str]] = {}
    for row in population.condition_codes.join(wanted, on=PATIENT_ID).iter_rows():
        conditions.setdefault(row[0], []).append(row[1])
    exceptions: dict[str, list[BiologicException]] = {}
    for exception in population.exceptions.join(wanted, on=PATIENT_ID).to_dicts():
        exceptions.setdefault(exception[PATIENT_ID], []).append(
            BiologicException(
                exception["molecule_code"],
                BiologicExceptionKind(exception["kind"]),
                exception["expires_on"],
            )
        )
    results: dict[str, list[MonitoringResult]] = {}
    for patient_id_, code, day in population.results.join(wanted, on=PATIENT_ID).iter_rows():
        results.setdefault(patient_id_, []).append(MonitoringResult(code, day.isoformat()))
    requests = []
    for patient_id in patient_ids:
        rows = meds.get((patient_id,))
        fact = facts.get(patient_id, {})
        requests.append(
            CheckRequest(
                request_id=patient_id,
                as_of=population.as_of,
                patient=PatientContext(
                    age_years=fact.get("age"),
                    sex=Sex(fact.get("sex") or Sex.UNKNOWN.value),
                    egfr=fact.get("egfr"),
                    pregnant=fact.get("pregnant"),
                    condition_codes=tuple(conditions.get(patient_id, ())),
                    biologic_exceptions=tuple(exceptions.get(patient_id, ())),
                    monitoring=tuple(results.get(patient_id, ())),
                    monitoring_from=fact["monitoring_from"].isoformat()
                    if fact.get("monitoring_from")
                    else None,
                ),
                medications=tuple(
                    MedicationEntry(
                        ref=row["ref"],
                        code=row["code"],
                        status=MedicationStatus.PROPOSED
                        if row["proposed"]
                        else MedicationStatus.CURRENT,
                        start_date=row["start_date"].isoformat() if row["start_date"] else None,
                    )
                    for row in (rows.to_dicts() if rows is not None else ())
                ),
            )
        )
    return requests
