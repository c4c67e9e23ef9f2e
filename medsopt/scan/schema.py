"""Input and output columns of a scan: the contract other tools read (docs/scan.md).

Codes and identifiers are `pl.String` end to end: 17-18 digit dm+d ids do not survive float64.
"""

from __future__ import annotations

import polars as pl

# Dispensing (one row per dispensed item).
PATIENT_ID = "patient_id"
CODE = "code"
DISPENSED_ON = "dispensed_on"
QUANTITY = "quantity"
DAYS_SUPPLY = "days_supply"
DOSE_TEXT = "dose_text"
PRACTICE_ID = "practice_id"
DISPENSING_REQUIRED = (PATIENT_ID, CODE, DISPENSED_ON, QUANTITY)
DISPENSING_OPTIONAL = (DAYS_SUPPLY, DOSE_TEXT, PRACTICE_ID)

# Patients (one row per patient).
AGE_YEARS = "age_years"
SEX = "sex"
EGFR = "egfr"
CONDITION_CODES = "condition_codes"
PREGNANT = "pregnant"
PATIENTS_REQUIRED = (PATIENT_ID, AGE_YEARS, SEX)
PATIENTS_OPTIONAL = (EGFR, CONDITION_CODES, PREGNANT, PRACTICE_ID)

# Added by the scan to every input row: its 0-based position in the input file.
SOURCE_ROW = "source_row"
REASON = "reason"
DETAIL = "detail"

# Output columns fixed by issue 5 (more may follow them).
ADHERENCE_COLUMNS = (
    "patient_id",
    "drug_class",
    "index_date",
    "period_days",
    "covered_days",
    "pdc",
    "adherent",
    "fills",
)
FINDINGS_COLUMNS = ("patient_id", "rule_id", "category", "severity", "codes")
WORKLIST_COLUMNS = ("rank", "patient_id", "score", "reasons")

# Clean dispensing rows after quarantine: what supply, PDC and safety read.
CLEAN_DISPENSING: dict[str, pl.DataType] = {
    PATIENT_ID: pl.String(),
    CODE: pl.String(),
    DISPENSED_ON: pl.Date(),
    QUANTITY: pl.Float64(),
    DAYS_SUPPLY: pl.Int32(),
    DOSE_TEXT: pl.String(),
    PRACTICE_ID: pl.String(),
    SOURCE_ROW: pl.UInt32(),
}

# Clean patient facts: None means "not supplied", never "normal" (ADR 3).
CLEAN_PATIENTS: dict[str, pl.DataType] = {
    PATIENT_ID: pl.String(),
    AGE_YEARS: pl.Int32(),
    SEX: pl.String(),  # female | male | other | unknown
    EGFR: pl.Float64(),
    PREGNANT: pl.Boolean(),
    CONDITION_CODES: pl.List(pl.String()),
    PRACTICE_ID: pl.String(),
}
