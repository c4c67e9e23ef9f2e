"""Patient facts: parsed strictly; a row that cannot be trusted is quarantined, not guessed.

A quarantined patient is scanned with no facts, so every rule that needs one is reported as
not evaluated (ADR 3) rather than fired or skipped on a guess. Duplicate ids quarantine every
copy: choosing one would be a guess.
"""

from __future__ import annotations

import enum

import polars as pl

from medsopt.engine.validation import MAX_AGE, MAX_EGFR
from medsopt.scan import keys
from medsopt.scan import schema as s
from medsopt.scan.sctid import code_problem_expr

_SEXES = {"female": "female", "f": "female", "male": "male", "m": "male", "other": "other"}
_SEXES |= {"unknown": "unknown", "u": "unknown", "": "unknown"}
_BOOLEANS = {"true": True, "yes": True, "y": True, "1": True}
_BOOLEANS |= {"false": False, "no": False, "n": False, "0": False}


class PatientReason(enum.Enum):
    """Why a patient row was quarantined."""

    MISSING_PATIENT_ID = "missing_patient_id"
    DUPLICATE_PATIENT = "duplicate_patient"
    BAD_AGE = "bad_age"  # present but not a whole number 0-130
    BAD_SEX = "bad_sex"  # not female/male/other/unknown (or f/m/u)
    BAD_EGFR = "bad_egfr"  # present but not a number 0-250
    BAD_PREGNANT = "bad_pregnant"  # present but not true/false/yes/no/1/0
    MALFORMED_CONDITION_CODE = "malformed_condition_code"


_MISSING_ID, _DUPLICATE = PatientReason.MISSING_PATIENT_ID, PatientReason.DUPLICATE_PATIENT
_BAD_AGE, _BAD_SEX, _BAD_EGFR = PatientReason.BAD_AGE, PatientReason.BAD_SEX, PatientReason.BAD_EGFR
_BAD_PREGNANT, _BAD_CODES = PatientReason.BAD_PREGNANT, PatientReason.MALFORMED_CONDITION_CODE
_ORDER = list(PatientReason)
_REASON_NAMES = pl.Series("reason", [r.value for r in _ORDER])
_FIXED_DETAILS = {
    _MISSING_ID: "patient_id is empty",
    _DUPLICATE: "patient_id appears more than once",
    _BAD_AGE: f"age_years must be a whole number 0-{MAX_AGE}",
    _BAD_SEX: "sex must be female, male, other or unknown",
    _BAD_EGFR: f"egfr must be a number 0-{MAX_EGFR:g}",
    _BAD_PREGNANT: "pregnant must be true/false, yes/no or 1/0",
}
_DETAILS = pl.Series("detail", [_FIXED_DETAILS.get(r) for r in _ORDER], dtype=pl.String)


def _text(column: str, names: list[str]) -> pl.Expr:
    if column not in names:
        return pl.lit(None, dtype=pl.String)
    return pl.col(column).cast(pl.String).str.strip_chars()


def _conditions(schema: pl.Schema) -> pl.Expr:
    if s.CONDITION_CODES not in schema:
        return pl.lit([], dtype=pl.List(pl.String))
    column = pl.col(s.CONDITION_CODES)
    if isinstance(schema[s.CONDITION_CODES], pl.List):
        codes = column.cast(pl.List(pl.String))
    else:
        codes = column.cast(pl.String).str.split(";")
    return codes.list.eval(pl.element().str.strip_chars().filter(pl.element() != "")).fill_null(
        pl.lit([], dtype=pl.List(pl.String))
    )


def annotate_patients(raw: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """Raw patient rows with parsed `_` columns and `_reason`/`_detail` (null when clean).

    Materialised here, once (every later branch reads it).
    """
    frame = (raw.collect() if isinstance(raw, pl.LazyFrame) else raw).rechunk()
    schema = frame.schema
    names = schema.names()
    patient = _text(s.PATIENT_ID, names)
    age_text, sex_text = _text(s.AGE_YEARS, names), _text(s.SEX, names)
    egfr_text, pregnant_text = _text(s.EGFR, names), _text(s.PREGNANT, names)
    age = age_text.cast(pl.Float64, strict=False)
    egfr = egfr_text.cast(pl.Float64, strict=False)
    given = {
        "age": age_text.is_not_null() & (age_text != ""),
        "egfr": egfr_text.is_not_null() & (egfr_text != ""),
        "pregnant": pregnant_text.is_not_null() & (pregnant_text != ""),
    }
    parsed = frame.with_columns(
        _patient_id=patient,
        _age=age,
        _sex=sex_text.fill_null("").str.to_lowercase(),
        _egfr=egfr,
        _pregnant=pregnant_text.str.to_lowercase(),
        _conditions=_conditions(schema),
        _age_given=given["age"],
        _egfr_given=given["egfr"],
        _pregnant_given=given["pregnant"],
    )
    parsed = parsed.with_columns(_bad_codes=_bad_codes(parsed.get_column("_conditions")))
    bad_age = pl.col("_age_given") & (
        pl.col("_age").is_null()
        | (pl.col("_age") != pl.col("_age").floor())
        | ~pl.col("_age").is_between(0, MAX_AGE)
    )
    bad_egfr = pl.col("_egfr_given") & (
        pl.col("_egfr").is_null()
        | ~pl.col("_egfr").is_finite()
        | ~pl.col("_egfr").is_between(0, MAX_EGFR)
    )
    checks = [
        (pl.col("_patient_id").is_null() | (pl.col("_patient_id") == ""), _MISSING_ID),
        (pl.col("_patient_id").is_duplicated(), _DUPLICATE),
        (bad_age, _BAD_AGE),
        (~pl.col("_sex").is_in(list(_SEXES)), _BAD_SEX),
        (bad_egfr, _BAD_EGFR),
        (pl.col("_pregnant_given") & ~pl.col("_pregnant").is_in(list(_BOOLEANS)), _BAD_PREGNANT),
        (pl.col("_bad_codes").list.len() > 0, _BAD_CODES),
    ]
    # The reason as its position in PatientReason; reason and detail are named once at the end.
    parsed = parsed.with_columns(_reason=keys.first_position(checks, _ORDER))
    listed = pl.lit("malformed condition code(s): ") + pl.col("_bad_codes").list.join(";")
    return parsed.with_columns(
        _reason=keys.lookup_position(pl.col("_reason"), _REASON_NAMES),
        _detail=pl.when(pl.col("_reason") == _ORDER.index(_BAD_CODES))
        .then(listed)
        .otherwise(keys.lookup_position(pl.col("_reason"), _DETAILS)),
    ).lazy()


def _bad_codes(conditions: pl.Series) -> pl.Expr:
    """Each row's malformed condition codes, in order; each distinct code checked once."""
    distinct = keys.distinct(conditions.explode())
    problems = distinct.to_frame("_code").filter(code_problem_expr(pl.col("_code")).is_not_null())
    bad = problems.get_column("_code")
    if bad.is_empty():
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.col("_conditions").list.eval(pl.element().filter(pl.element().is_in(bad.implode())))


def clean_patients(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """Trusted patient facts in the `schema.CLEAN_PATIENTS` shape."""
    names = annotated.collect_schema().names()
    practice = _text(s.PRACTICE_ID, names)
    return annotated.filter(pl.col("_reason").is_null()).select(
        pl.col("_patient_id").alias(s.PATIENT_ID),
        pl.col("_age").cast(pl.Int32).alias(s.AGE_YEARS),
        pl.col("_sex").replace_strict(_SEXES, return_dtype=pl.String).alias(s.SEX),
        pl.col("_egfr").alias(s.EGFR),
        pl.col("_pregnant")
        .replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)
        .alias(s.PREGNANT),
        pl.col("_conditions").alias(s.CONDITION_CODES),
        practice.alias(s.PRACTICE_ID),
    )


def quarantined_patients(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """Quarantined patient rows as read, plus `reason` and `detail`."""
    original = [c for c in annotated.collect_schema().names() if not c.startswith("_")]
    return annotated.filter(pl.col("_reason").is_not_null()).select(
        *original, pl.col("_reason").alias(s.REASON), pl.col("_detail").alias(s.DETAIL)
    )


def empty_patients() -> pl.LazyFrame:
    """No patient table: every patient has no facts."""
    return pl.LazyFrame(schema=s.CLEAN_PATIENTS)
