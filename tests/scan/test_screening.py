"""screen() keeps a patient's code once however many rows name it (the rows are made distinct
by one 64-bit key of the patient's number and the code's row in the resolution)."""

from __future__ import annotations

import polars as pl
import pytest

from medsopt.scan import schema as s
from medsopt.scan.screening import screen
from medsopt.scan.tables import ScanTables
from tests.scan.conftest import AS_OF


def test_repeated_rows_of_a_code_read_as_one_medicine(scan_tables: ScanTables) -> None:
    codes = scan_tables.resolution[s.CODE].head(400).to_list()
    current = pl.DataFrame(
        [(f"p{n % 90:03d}", code, None) for n, code in enumerate(codes)],
        schema={s.PATIENT_ID: pl.String, s.CODE: pl.String, "start_date": pl.Date},
        orient="row",
    )
    patients = pl.DataFrame(
        [(f"p{n:03d}", 70 + n % 20, "female", 40.0, None, [], "A1") for n in range(90)],
        schema=s.CLEAN_PATIENTS,
        orient="row",
    )
    unresolved = pl.DataFrame(schema={s.PATIENT_ID: pl.String})
    once = screen(current, patients, unresolved, scan_tables, AS_OF)
    repeated = screen(
        pl.concat([current, current.reverse(), current]), patients, unresolved, scan_tables, AS_OF
    )
    assert once.findings.height > 0
    assert repeated.findings.equals(once.findings)
    assert repeated.not_evaluated.equals(once.not_evaluated)


def test_a_patient_with_two_fact_rows_is_refused_not_misjudged(scan_tables: ScanTables) -> None:
    # The evaluator marks candidates by their row number: a second row of a patient's facts
    # would shift every number after it (the scan quarantines duplicate patient rows first).
    codes = scan_tables.resolution[s.CODE].head(400).to_list()
    current = pl.DataFrame(
        [(f"p{n % 90:03d}", code, None) for n, code in enumerate(codes)],
        schema={s.PATIENT_ID: pl.String, s.CODE: pl.String, "start_date": pl.Date},
        orient="row",
    )
    patients = pl.DataFrame(
        [(f"p{n % 90:03d}", 70, "female", 40.0, None, [], "A1") for n in range(91)],
        schema=s.CLEAN_PATIENTS,
        orient="row",
    )
    unresolved = pl.DataFrame(schema={s.PATIENT_ID: pl.String})
    with pytest.raises(ValueError, match="one row per patient"):
        screen(current, patients, unresolved, scan_tables, AS_OF)
