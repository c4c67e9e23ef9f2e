"""Scan inputs: the dispensing, patient and clinical event files, opened lazily and checked for
their columns (rows are parsed strictly by the scan itself)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from medsopt.scan import schema as s
from medsopt.scan.events import EVENTS_REQUIRED


class ScanInputError(Exception):
    """An input file cannot be scanned (missing, unreadable, wrong columns)."""


def _scan_file(path: Path) -> pl.LazyFrame:
    if path.is_dir():
        # A Parquet dataset (hive-partitioned allowed): rows numbered file by file in path
        # order. Only *.parquet: a dataset Spark wrote also holds _SUCCESS and .crc files.
        return pl.scan_parquet(path / "**" / "*.parquet", hive_partitioning=True)
    if not path.is_file():
        raise ScanInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.scan_parquet(path)
    if suffix in (".csv", ".txt"):
        # Every column as text: codes, ids and dates are parsed strictly by the scan itself.
        return pl.scan_csv(path, infer_schema=False)
    raise ScanInputError(f"{path}: expected a .parquet or .csv file")


def check_columns(
    frame: pl.LazyFrame, path: Path, required: tuple[str, ...], codes: tuple[str, ...]
) -> pl.LazyFrame:
    try:
        schema = frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ScanInputError(f"{path}: cannot read: {error}") from error
    missing = [c for c in required if c not in schema]
    if missing:
        raise ScanInputError(
            f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(schema.names())})"
        )
    for column in codes:
        dtype = schema.get(column)
        if dtype is not None and (dtype.is_float() or dtype.is_decimal()):
            raise ScanInputError(
                f"{path}: column {column} is {dtype}: dm+d codes do not survive floating point; "
                "write them as text"
            )
    return frame


def read_dispensing(path: Path) -> pl.LazyFrame:
    """Dispensing rows with `source_row` (0-based position in the file)."""
    frame = check_columns(_scan_file(path), path, s.DISPENSING_REQUIRED, (s.CODE, s.PATIENT_ID))
    return frame.with_row_index(s.SOURCE_ROW)


def read_patients(path: Path) -> pl.LazyFrame:
    """Patient rows as read."""
    return check_columns(_scan_file(path), path, s.PATIENTS_REQUIRED, (s.PATIENT_ID,))


def read_events(path: Path) -> pl.LazyFrame:
    """Clinical event rows with `source_row` (0-based position in the file)."""
    frame = check_columns(_scan_file(path), path, EVENTS_REQUIRED, (s.CODE, s.PATIENT_ID))
    return frame.with_row_index(s.SOURCE_ROW)
