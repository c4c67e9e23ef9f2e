"""screen() keeps a patient's code once however many rows name it (the rows are made distinct
by one 64-bit key of the patient's number and the code's row in the resolution), and refuses
patient facts that name a patient twice."""

from __future__ import annotations

import polars as pl
import pytest

from medsopt.scan import schema as s
from medsopt.scan.screening import screen
from medsopt.scan.tables import ScanTables
from tests.scan.conftest import AS_OF

UNRESOLVED = pl.DataFrame(schema={s.PATIENT_ID: pl.String})


def current_medicines(tables: ScanTables) -> pl.DataFrame:
    """400 resolvable codes shared among 90 patients, p000 to p089."""
    codes = tables.resolution[s.CODE].head(400).to_list()
    return pl.DataFrame(
        [(f"p{n % 90:03d}", code, None) for n, code in enumerate(codes)],
        schema={s.PATIENT_ID: pl.String, s.CODE: pl.String, "start_date": pl.Date},
        orient="row",
    )


def patient_facts(rows: int) -> pl.DataFrame:
    """`rows` clean patient rows for p000 to p089 (in turn: past 90, a patient twice)."""
    return pl.DataFrame(
        [(f"p{n % 90:03d}", 70 + n % 20, "female", 40.0, None, [], "A1") for n in range(rows)],
        schema=s.CLEAN_PATIENTS,
        orient="row",
    )


def test_repeated_rows_of_a_code_read_as_one_medicine(scan_tables: ScanTables) -> None:
    current, patients = current_medicines(scan_tables), patient_facts(90)
    once = screen(current, patients, UNRESOLVED, scan_tables, AS_OF)
    repeated = screen(
        pl.concat([current, current.reverse(), current]), patients, UNRESOLVED, scan_tables, AS_OF
    )
    assert once.findings.height > 0
    assert repeated.findings.equals(once.findings)
    assert repeated.not_evaluated.equals(once.not_evaluated)


def test_a_patient_with_two_fact_rows_is_refused_not_misjudged(scan_tables: ScanTables) -> None:
    # The evaluator marks candidates by their row number: a second row of a patient's facts
    # would shift every number after it (the scan quarantines duplicate patient rows first).
    with pytest.raises(ValueError, match="one row per patient"):
        screen(current_medicines(scan_tables), patient_facts(91), UNRESOLVED, scan_tables, AS_OF)
