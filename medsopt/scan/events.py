"""Clinical events: dated coded entries per patient (diagnoses, test results, reviews).

The third, optional scan input. Parsed as strictly as dispensing: every row is used or
quarantined with a reason (the first that applies, in `EventReason` order), codes stay text.
Events feed the monitoring rules (as the point-of-care request's `monitoring_results`), the
patient's recorded conditions, and the outcome indicators (`medsopt.analytics`).
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

import polars as pl

from medsopt.scan import schema as s
from medsopt.scan.quarantine import parsed_date
from medsopt.scan.sctid import code_problem_expr

# Input columns (docs/scan.md, "Clinical events").
RECORDED_ON = "recorded_on"
VALUE = "value"
UNIT = "unit"
EVENTS_REQUIRED = (s.PATIENT_ID, s.CODE, RECORDED_ON)
EVENTS_OPTIONAL = (VALUE, UNIT)

# Clean events: what monitoring rules and indicators read.
CLEAN_EVENTS: dict[str, pl.DataType] = {
    s.PATIENT_ID: pl.String(),
    s.CODE: pl.String(),
    RECORDED_ON: pl.Date(),
    VALUE: pl.Float64(),
    UNIT: pl.String(),
    s.SOURCE_ROW: pl.UInt32(),
}


class EventReason(enum.Enum):
    """Why an event row was quarantined (values are what events_quarantine.parquet holds)."""

    MISSING_PATIENT_ID = "missing_patient_id"
    MALFORMED_CODE = "malformed_code"  # not a SNOMED CT concept id (digits, length, Verhoeff)
    BAD_DATE = "bad_date"  # missing or not an ISO 8601 date (YYYY-MM-DD)
    FUTURE_DATE = "future_date"  # after --as-of
    BAD_VALUE = "bad_value"  # present but not a finite number
    UNIT_WITHOUT_VALUE = "unit_without_value"  # a unit says a value was meant; none is given
    DUPLICATE = "duplicate"  # identical to an earlier row in every input column


@dataclass(frozen=True, slots=True)
class ClinicalEvents:
    """Clean events (`CLEAN_EVENTS`) and the date from which they are complete (None: unknown).

    Monitoring rules fire only where the absence of a result is known, so without
    `complete_from` they ask for results, exactly as at the point of care.
    """

    rows: pl.DataFrame
    complete_from: datetime.date | None = None


def _text(column: str, names: list[str]) -> pl.Expr:
    if column not in names:
        return pl.lit(None, dtype=pl.String)
    return pl.col(column).cast(pl.String).str.strip_chars()


def annotate_events(raw: pl.LazyFrame, as_of: datetime.date) -> pl.LazyFrame:
    """Raw event rows (input columns + `source_row`) with parsed `_` columns and `_reason`."""
    schema = raw.collect_schema()
    names = schema.names()
    original = [c for c in names if c != s.SOURCE_ROW]
    value_text = _text(VALUE, names)
    unit_text = _text(UNIT, names)
    parsed = raw.with_columns(
        _patient_id=_text(s.PATIENT_ID, names),
        _code=_text(s.CODE, names),
        _recorded_on=parsed_date(RECORDED_ON, schema.get(RECORDED_ON)),
        _value=value_text.cast(pl.Float64, strict=False),
        _value_given=value_text.is_not_null() & (value_text != ""),
        _unit=pl.when(unit_text != "").then(unit_text),
    ).with_columns(_code_problem=code_problem_expr(pl.col("_code")))
    checks = [
        (
            pl.col("_patient_id").is_null() | (pl.col("_patient_id") == ""),
            EventReason.MISSING_PATIENT_ID,
            pl.lit("patient_id is empty"),
        ),
        (
            pl.col("_code_problem").is_not_null(),
            EventReason.MALFORMED_CODE,
            pl.lit("code ") + pl.col("_code_problem"),
        ),
        (
            pl.col("_recorded_on").is_null(),
            EventReason.BAD_DATE,
            pl.lit("recorded_on is not an ISO 8601 date (YYYY-MM-DD)"),
        ),
        (
            pl.col("_recorded_on") > pl.lit(as_of),
            EventReason.FUTURE_DATE,
            pl.lit(f"recorded_on is after the as-of date {as_of.isoformat()}"),
        ),
        (
            pl.col("_value_given") & (pl.col("_value").is_null() | ~pl.col("_value").is_finite()),
            EventReason.BAD_VALUE,
            pl.lit("value is not a number"),
        ),
        (
            ~pl.col("_value_given") & pl.col("_unit").is_not_null(),
            EventReason.UNIT_WITHOUT_VALUE,
            pl.lit("unit is given but value is empty"),
        ),
    ]
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    detail: pl.Expr = pl.lit(None, dtype=pl.String)
    for condition, why, text in reversed(checks):
        reason = pl.when(condition).then(pl.lit(why.value)).otherwise(reason)
        detail = pl.when(condition).then(text).otherwise(detail)
    with_reason = parsed.with_columns(_reason=reason, _detail=detail)
    # As for dispensing: identical rows are equally valid, so of valid ones the first (lowest
    # source_row) is used and later copies are quarantined.
    first = pl.col(s.SOURCE_ROW) == pl.col(s.SOURCE_ROW).min().over(original)
    duplicate = pl.col("_reason").is_null() & ~first
    return with_reason.with_columns(
        _reason=pl.when(duplicate)
        .then(pl.lit(EventReason.DUPLICATE.value))
        .otherwise(pl.col("_reason")),
        _detail=pl.when(duplicate)
        .then(pl.lit("identical to an earlier row"))
        .otherwise(pl.col("_detail")),
    )


def clean_events(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """The events a scan uses, in the `CLEAN_EVENTS` shape."""
    return annotated.filter(pl.col("_reason").is_null()).select(
        pl.col("_patient_id").alias(s.PATIENT_ID),
        pl.col("_code").alias(s.CODE),
        pl.col("_recorded_on").alias(RECORDED_ON),
        pl.col("_value").alias(VALUE),
        pl.col("_unit").alias(UNIT),
        pl.col(s.SOURCE_ROW).cast(pl.UInt32),
    )


def quarantined_events(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """Quarantined event rows exactly as read, plus `reason` and `detail`."""
    original = [c for c in annotated.collect_schema().names() if not c.startswith("_")]
    return annotated.filter(pl.col("_reason").is_not_null()).select(
        *original, pl.col("_reason").alias(s.REASON), pl.col("_detail").alias(s.DETAIL)
    )


def monitoring_results(events: ClinicalEvents) -> pl.DataFrame:
    """Events as the engine's dated results (patient_id, code, date)."""
    return events.rows.select(s.PATIENT_ID, s.CODE, pl.col(RECORDED_ON).alias("date"))


def empty_events() -> pl.DataFrame:
    """No events input."""
    return pl.DataFrame(schema=CLEAN_EVENTS)
