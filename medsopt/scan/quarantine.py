"""Every dispensing row is used or quarantined with a reason: strict parsing, nothing silent.

Casts are non-strict only so that a failure can be *seen*: wherever a present value does not
parse, the row gets an explicit reason instead of a silent null. A row with several problems
gets the first reason in `REASONS` order; `duplicate` applies to otherwise valid rows.
"""

from __future__ import annotations

import datetime
import enum

import polars as pl

from medsopt.scan import keys
from medsopt.scan import schema as s
from medsopt.scan.sctid import code_problem_expr
from medsopt.scan.vocabulary import RESOLVED_OK

MAX_DAYS_SUPPLY = 366
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
BAD_DAYS_SUPPLY_DETAIL = f"days_supply must be a whole number from 1 to {MAX_DAYS_SUPPLY}"


class Reason(enum.Enum):
    """Why a dispensing row was quarantined (values are what quarantine.parquet holds)."""

    MISSING_PATIENT_ID = "missing_patient_id"
    MALFORMED_CODE = "malformed_code"  # not a SNOMED CT concept id (digits, length, Verhoeff)
    UNKNOWN_CODE = "unknown_code"  # well formed, not in the dm+d index
    UNUSABLE_CODE = "unusable_code"  # in dm+d but inactive, a pack, or not a medicinal product
    BAD_DATE = "bad_date"  # missing or not an ISO 8601 date (YYYY-MM-DD)
    FUTURE_DATE = "future_date"  # after --as-of
    BAD_QUANTITY = "bad_quantity"  # missing or not a finite number
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    BAD_DAYS_SUPPLY = "bad_days_supply"  # present but not a whole number 1-366
    DUPLICATE = "duplicate"  # identical to an earlier row in every input column


REASONS = tuple(r.value for r in Reason)
_REASON_NAMES = pl.Series("reason", REASONS)


def _as_string(column: str, dtype: pl.DataType) -> pl.Expr:
    """An identifier column as text; integers convert exactly, text is kept byte for byte."""
    if dtype == pl.String:
        return pl.col(column)
    return pl.col(column).cast(pl.String)


def parsed_date(name: str, dtype: pl.DataType | None) -> pl.Expr:
    """Column `name` as a Date: a date column as it is, a datetime's date, text only in ISO
    form (YYYY-MM-DD, a real date); anything else null (the row is then quarantined)."""
    column = pl.col(name)
    if dtype == pl.Date:
        return column
    if isinstance(dtype, pl.Datetime):
        return column.dt.date()
    text = column.cast(pl.String).str.strip_chars()
    return (
        pl.when(text.str.contains(ISO_DATE))
        .then(text.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(pl.lit(None, dtype=pl.Date))
    )


def _number(frame: pl.DataFrame, name: str) -> tuple[pl.Expr, pl.Expr]:
    """Column `name` as a number (null where it does not parse; blanks around it allowed),
    and whether a value was given (present and not blank)."""
    if frame.schema[name] != pl.String:
        column = pl.col(name)
        present = column.is_not_null() & (column.cast(pl.String).str.strip_chars() != "")
        return column.cast(pl.Float64, strict=False), present
    text = frame.get_column(name)
    number = text.cast(pl.Float64, strict=False)
    # A number parses only without blanks around it (so a parsed text is not blank): only
    # the texts that did not parse are stripped and parsed again (stripping every text
    # costs about as much again as parsing it).
    given = text.is_not_null()
    failed = (number.is_null() & given).arg_true()
    if len(failed):
        stripped = text.gather(failed).str.strip_chars()
        number = number.scatter(failed, stripped.cast(pl.Float64, strict=False))
        given = given.scatter(failed, stripped != "")
    return pl.lit(number), pl.lit(given)


def annotate(
    raw: pl.LazyFrame | pl.DataFrame, as_of: datetime.date, codes: pl.LazyFrame
) -> pl.LazyFrame:
    """Raw rows (input columns + `source_row`) with parsed columns and `_reason` (null: used).

    `codes` is `vocabulary.resolution_table` (code, resolution, ...). Parsed columns are
    prefixed `_`. Materialised here, once: every later branch reads the result, and the
    duplicates are found on the parsed rows (a lazy plan would parse them once per branch).
    """
    frame = raw.collect() if isinstance(raw, pl.LazyFrame) else raw
    # One chunk: columns looked up by position come out whole, and every later step would
    # otherwise re-align (copy) the input's row-group chunks to them.
    frame = frame.rechunk()
    schema = frame.schema
    original = [c for c in schema.names() if c != s.SOURCE_ROW]
    patient = _as_string(s.PATIENT_ID, schema[s.PATIENT_ID])
    quantity, _ = _number(frame, s.QUANTITY)
    if s.DAYS_SUPPLY in schema:
        supply, supply_given = _number(frame, s.DAYS_SUPPLY)
    else:
        supply = pl.lit(None, dtype=pl.Float64)
        supply_given = pl.lit(False)
    # Each distinct code is checked once; only rows with an unusable code are looked up.
    code = _as_string(s.CODE, schema[s.CODE])
    problems = _code_problems(
        keys.distinct(frame.select(code).to_series()).to_frame("_code").lazy(), codes
    ).collect()
    parsed = frame.with_columns(
        _patient_id=patient.str.strip_chars(),
        _code=code,
        _dispensed_on=_distinct_dates(frame, s.DISPENSED_ON),
        _quantity=quantity,
        _days_supply=supply,
        _supply_given=supply_given,
        _code_reason=_code_reasons(frame.select(code).to_series(), problems),
    )
    code_reason = pl.col("_code_reason")
    # Reasons as positions in REASONS (a text column built at every step of the chain costs
    # several times more), named once at the end.
    checks: list[tuple[pl.Expr, Reason | pl.Expr]] = [
        (
            pl.col("_patient_id").is_null() | (pl.col("_patient_id") == ""),
            Reason.MISSING_PATIENT_ID,
        ),
        (code_reason.is_not_null(), code_reason),
        (pl.col("_dispensed_on").is_null(), Reason.BAD_DATE),
        (pl.col("_dispensed_on") > pl.lit(as_of), Reason.FUTURE_DATE),
        (pl.col("_quantity").is_null() | ~pl.col("_quantity").is_finite(), Reason.BAD_QUANTITY),
        (pl.col("_quantity") <= 0, Reason.NON_POSITIVE_QUANTITY),
        (
            pl.col("_supply_given")
            & (
                pl.col("_days_supply").is_null()
                | (pl.col("_days_supply") != pl.col("_days_supply").floor())
                | (pl.col("_days_supply") < 1)
                | (pl.col("_days_supply") > MAX_DAYS_SUPPLY)
            ),
            Reason.BAD_DAYS_SUPPLY,
        ),
    ]
    parsed = parsed.with_columns(_reason=keys.first_position(checks, list(Reason)))
    reason = pl.col("_reason")
    repeated = _repeated_rows(parsed.drop("_code_reason"), original)
    if not repeated.is_empty():
        duplicate = pl.lit(REASONS.index(Reason.DUPLICATE.value), dtype=pl.UInt32)
        reason = (
            pl.when(pl.col(s.SOURCE_ROW).is_in(repeated.implode()))
            .then(duplicate)
            .otherwise(reason)
        )
    return (
        parsed.with_columns(_reason=keys.lookup_position(reason, _REASON_NAMES))
        .drop("_code_reason")
        .lazy()
    )


def _repeated_rows(parsed: pl.DataFrame, original: list[str]) -> pl.Series:
    """`source_row` of each otherwise valid row identical to an earlier one (input columns).

    Identical rows are equally valid or invalid, so "first of its kind" only matters for
    valid rows; the first is the lowest source_row. One hash per column, combined (a struct
    hash of every column is several times slower); rows are compared in full only where
    their hash repeats, which is rare and cheap.
    """
    row_hash = pl.col(original[0]).hash(seed=0)
    for seed, column in enumerate(original[1:], start=1):
        row_hash = row_hash.xor(pl.col(column).hash(seed=seed))
    hashes = parsed.select(row_hash.alias("_row_hash"), valid=pl.col("_reason").is_null())
    # One thread: a sort of plain integers gains little from more, for much more CPU time.
    ordered = hashes.filter("valid").select("_row_hash").sort("_row_hash", multithreaded=False)
    valid = ordered.get_column("_row_hash")
    repeats = valid.filter(valid == valid.shift(1)).unique()
    if repeats.is_empty():
        return pl.Series(s.SOURCE_ROW, [], dtype=parsed.schema[s.SOURCE_ROW])
    candidates = hashes.select(pl.col("valid") & pl.col("_row_hash").is_in(repeats.implode()))
    return (
        parsed.filter(candidates.to_series())
        .filter(pl.col(s.SOURCE_ROW) != pl.col(s.SOURCE_ROW).min().over(original))
        .get_column(s.SOURCE_ROW)
    )


def _code_reasons(codes: pl.Series, problems: pl.DataFrame) -> pl.Expr:
    """Each row's code reason as a position in REASONS (null when the code is usable); an
    empty code is malformed. `problems` is `_code_problems` of the distinct codes."""
    unusable = problems.filter(pl.col("_code_reason").is_not_null())
    # Few rows have an unusable code: they are found by a set test and looked up alone (a
    # lookup of every row costs several times more).
    held = codes.to_frame("_code").select(
        pl.col("_code").is_in(unusable["_code"].implode()) | pl.col("_code").is_null()
    )
    rows = held.to_series().arg_true()
    malformed = REASONS.index(Reason.MALFORMED_CODE.value)
    reasons = (
        codes.gather(rows)
        .replace_strict(unusable["_code"], _reason_positions(unusable), default=None)
        .fill_null(malformed)
        .cast(pl.UInt32)
    )
    empty = pl.repeat(None, len(codes), dtype=pl.UInt32, eager=True)
    return pl.lit(empty.scatter(rows, reasons))


def _reason_positions(problems: pl.DataFrame) -> pl.Series:
    """`_code_reason` of `_code_problems` as positions in REASONS."""
    return problems.get_column("_code_reason").replace_strict(
        REASONS, range(len(REASONS)), default=None, return_dtype=pl.UInt32
    )


def _distinct_dates(frame: pl.DataFrame, name: str) -> pl.Expr:
    """`parsed_date` of column `name`, parsed once per distinct text (dates repeat)."""
    dtype = frame.schema[name]
    if dtype != pl.String:
        return parsed_date(name, dtype)
    texts = keys.distinct(frame.get_column(name))
    dates = texts.to_frame(name).select(parsed_date(name, dtype)).to_series()
    return keys.lookup(pl.col(name), texts, dates)


def _code_problems(distinct: pl.LazyFrame, codes: pl.LazyFrame) -> pl.LazyFrame:
    """Each distinct code (`_code`) with its quarantine reason and detail (null when usable)."""
    checked = codes.select(pl.col("code").alias("_code"), pl.col("resolution").alias("_resolution"))
    problem, resolution = pl.col("_code_problem"), pl.col("_resolution")
    malformed = problem.is_not_null() | pl.col("_code").is_null()
    return (
        distinct.with_columns(_code_problem=code_problem_expr(pl.col("_code")))
        .join(checked, on="_code", how="left")
        .select(
            "_code",
            _code_reason=pl.when(malformed)
            .then(pl.lit(Reason.MALFORMED_CODE.value))
            .when(resolution.is_null())
            .then(pl.lit(Reason.UNKNOWN_CODE.value))
            .when(resolution != RESOLVED_OK)
            .then(pl.lit(Reason.UNUSABLE_CODE.value)),
            _code_detail=pl.when(malformed)
            .then(pl.lit("code ") + problem.fill_null("is empty"))
            .when(resolution.is_null())
            .then(pl.lit("not in the dm+d index"))
            .when(resolution != RESOLVED_OK)
            .then(pl.lit("dm+d code is ") + resolution),
        )
    )


def clean_rows(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """The rows a scan uses, in the `schema.CLEAN_DISPENSING` shape."""
    names = annotated.collect_schema().names()

    def optional(column: str) -> pl.Expr:
        if column in names:
            return pl.col(column).cast(pl.String)
        return pl.lit(None, dtype=pl.String)

    return annotated.filter(pl.col("_reason").is_null()).select(
        pl.col("_patient_id").alias(s.PATIENT_ID),
        pl.col("_code").alias(s.CODE),
        pl.col("_dispensed_on").alias(s.DISPENSED_ON),
        pl.col("_quantity").alias(s.QUANTITY),
        pl.col("_days_supply").cast(pl.Int32).alias(s.DAYS_SUPPLY),
        optional(s.DOSE_TEXT).alias(s.DOSE_TEXT),
        optional(s.PRACTICE_ID).alias(s.PRACTICE_ID),
        pl.col(s.SOURCE_ROW).cast(pl.UInt32),
    )


def quarantined_rows(
    annotated: pl.LazyFrame, as_of: datetime.date, codes: pl.LazyFrame
) -> pl.LazyFrame:
    """Quarantined rows exactly as read, plus `reason` and `detail` (in input order).

    The detail text is made here, for the quarantined rows only; `codes` as for `annotate`.
    """
    names = annotated.collect_schema().names()
    original = [c for c in names if not c.startswith("_")]
    held = annotated.filter(pl.col("_reason").is_not_null())
    problems = _code_problems(held.select("_code").unique(), codes).select("_code", "_code_detail")
    fixed = {
        Reason.MISSING_PATIENT_ID.value: "patient_id is empty",
        Reason.BAD_DATE.value: "dispensed_on is not an ISO 8601 date (YYYY-MM-DD)",
        Reason.FUTURE_DATE.value: f"dispensed_on is after the as-of date {as_of.isoformat()}",
        Reason.BAD_QUANTITY.value: "quantity is missing or not a number",
        Reason.NON_POSITIVE_QUANTITY.value: "quantity must be above 0",
        Reason.BAD_DAYS_SUPPLY.value: BAD_DAYS_SUPPLY_DETAIL,
        Reason.DUPLICATE.value: "identical to an earlier row",
    }
    reason = pl.col("_reason")
    return (
        held.join(problems, on="_code", how="left", nulls_equal=True)
        .select(
            *original,
            reason.alias(s.REASON),
            pl.when(reason.is_in(list(fixed)))
            .then(reason.replace_strict(fixed, default=None, return_dtype=pl.String))
            .otherwise(pl.col("_code_detail"))
            .alias(s.DETAIL),
        )
        .sort(s.SOURCE_ROW)
    )


def reason_counts(annotated: pl.LazyFrame) -> pl.LazyFrame:
    """Rows per outcome: `used` or a quarantine reason (the summary's invariant source)."""
    # Grouped as it is, named after (filling every used row's null first costs twice as much).
    return (
        annotated.group_by("_reason")
        .agg(pl.len().alias("rows"))
        .select(pl.col("_reason").fill_null("used").alias("outcome"), "rows")
    )
