"""Outputs a pharmacist opens never run formulas from the data (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl

from medsopt.reports.spreadsheet import csv_safe, write_workbook

HOSTILE = [
    '=HYPERLINK("http://example.invalid","click")',
    "  =1+1",
    "+SUM(A1:A2)",
    "-2+3",
    "@cmd",
    "\t=1",
    "=cmd|' /C calc'!A0",
    "P00000001",
]


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": HOSTILE,
            "codes": [[value, "319733000"] for value in HOSTILE],
            "score": [0.5] * len(HOSTILE),
        }
    )


def test_no_workbook_cell_is_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_workbook(path, {"worklist": frame()})
    sheet = openpyxl.load_workbook(path)["worklist"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert set(HOSTILE) <= texts  # kept exactly, as text


def test_csv_cells_a_spreadsheet_would_evaluate_are_neutralised(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    csv_safe(frame()).write_csv(path)
    rows = pl.read_csv(path, infer_schema=False)
    for value in rows["patient_id"].to_list() + rows["codes"].to_list():
        assert not value.lstrip(" \t\r\n").startswith(("=", "+", "-", "@")), value
    assert "P00000001" in rows["patient_id"].to_list()  # ordinary values unchanged
    assert rows["codes"][7] == "P00000001;319733000"
