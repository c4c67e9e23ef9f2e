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


def _guarded_cell_by_cell(frame: pl.DataFrame) -> pl.DataFrame:
    """The plain guard `csv_safe` must equal: every text cell matched, every column rewritten."""
    table = frame.with_columns(
        pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)
    )
    start = r"^[\s]*[=+\-@\t\r]"
    return table.with_columns(
        pl.when(pl.col(c).str.contains(start))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in table.schema.items()
        if t == pl.String
    )


def test_csv_safe_skips_only_columns_that_cannot_hold_a_formula() -> None:
    # Cells at the edges of the first-byte pre-check (digits, ':;<', 'A'..'~', DEL, other
    # ASCII, blanks including Unicode ones, non-ASCII letters, empty), one per column too.
    edges = ["0x", "9", ":", ";x", "<", "<=1", "=", ">", "?=", "@", "A", "Z=", "[", "`", "~",
             "\x7f=1", "\x7f", "!", "(", "/", "*", " ", "  -1", "\t", "\r=", "\n=1", "\u00a0=1",
             "\u2003+1", "\u3000@x", "É=", "", "P0001", "319733000"]  # fmt: skip
    columns = {f"c{i}": [value, "plain", None] for i, value in enumerate(edges)}
    frame = pl.DataFrame(
        {
            "mixed": edges,
            "listed": [[value, "1"] for value in edges],
            "score": [1.0] * len(edges),
        }
    )
    for table in (frame, pl.DataFrame(columns), frame.clear()):
        assert csv_safe(table).equals(_guarded_cell_by_cell(table))
    assert csv_safe(frame)["mixed"].to_list()[edges.index("\u00a0=1")] == "'\u00a0=1"
