"""Spreadsheets a pharmacist opens: every id and code a text cell, lists joined as text, and
nothing from the data ever evaluated as a formula (OWASP CSV injection)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl


def joined_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns as ';'-joined text, for CSV and xlsx."""
    return frame.with_columns(
        pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)
    )


# A cell a spreadsheet evaluates when it starts with one of these, after leading blanks.
_FORMULA_START = r"^[\s]*[=+\-@\t\r]"


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """`joined_codes`, and every text cell that a spreadsheet would evaluate prefixed with a
    single quote, as OWASP recommends for CSV (the value stays readable, never runs)."""
    table = joined_codes(frame)
    texts = [c for c, t in table.schema.items() if t == pl.String]
    if not texts or table.is_empty():
        return table
    # Only a column with a cell that may start a formula is matched cell by cell and rewritten
    # (rare in real data); the others are neither searched nor copied.
    suspect = table.select(_may_start_a_formula(pl.col(c)).any() for c in texts).row(0)
    return table.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, maybe in zip(texts, suspect, strict=True)
        if maybe
    )


def _may_start_a_formula(text: pl.Expr) -> pl.Expr:
    """False where the text surely does not match `_FORMULA_START`: its first byte is a digit,
    one of `:;<`, or an ASCII character from `A` to `~` (none is a blank or a formula start).

    Text compares byte by byte, so two range tests read the first byte only (a regular
    expression per cell costs about twice as much); anything else goes to the full match.
    """
    return ~(text.is_between(pl.lit("0"), pl.lit("<")) | ((text >= "A") & (text < "\x7f")))


def write_workbook(path: Path, sheets: Mapping[str, pl.DataFrame]) -> None:
    """A workbook whose id and code columns are text cells (Excel would round 18-digit ids).

    Written row by row in xlsxwriter's constant-memory mode, every cell by its column's type
    (a table object and autofit cost seconds per 10,000 rows; widths come from the data).
    """
    import xlsxwriter  # type: ignore[import-untyped]

    # Every string a string cell: xlsxwriter would otherwise write "=..." as a live formula and
    # "http..." as a link (the data are pharmacy extracts, not trusted content).
    options = {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "constant_memory": True,
    }
    with xlsxwriter.Workbook(path, options) as workbook:
        formats = {
            "header": workbook.add_format({"bold": True}),
            "text": workbook.add_format({"num_format": "@"}),
            "float": workbook.add_format({"num_format": "0.000"}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "other": None,
        }
        for name, frame in sheets.items():
            table = joined_codes(frame)
            sheet = workbook.add_worksheet(name)
            kinds = [_kind(t) for t in table.dtypes]
            writers = [_WRITERS[k](sheet) for k in kinds]
            cell_formats = [formats[k] for k in kinds]
            for column, (title, width) in enumerate(_widths(table).items()):
                sheet.set_column(column, column, width, cell_formats[column])
                sheet.write_string(0, column, title, formats["header"])
            sheet.freeze_panes(1, 0)
            if table.width:
                sheet.autofilter(0, 0, table.height, table.width - 1)
            cells = list(zip(writers, cell_formats, strict=True))
            for row, values in enumerate(table.iter_rows(), start=1):
                for column, value in enumerate(values):
                    if value is not None:
                        write, cell_format = cells[column]
                        write(row, column, value, cell_format)


def _kind(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "text"
    if dtype.is_float():
        return "float"
    if dtype == pl.Date:
        return "date"
    return "other"


# Each column kind's cell writer (strings are never parsed as formulas, links or numbers).
_WRITERS: dict[str, Any] = {
    "text": lambda sheet: sheet.write_string,
    "float": lambda sheet: sheet.write_number,
    "date": lambda sheet: sheet.write_datetime,
    "other": lambda sheet: sheet.write,
}


def _widths(table: pl.DataFrame, widest: int = 60) -> dict[str, int]:
    """Column widths in characters: the longest of the header and the first 1,000 values."""
    lengths = table.head(1000).select(pl.all().cast(pl.String).str.len_chars().max().fill_null(0))
    longest = lengths.row(0) if lengths.height else (0,) * table.width
    return {
        name: min(widest, 2 + max(len(name), int(length)))
        for name, length in zip(table.columns, longest, strict=True)
    }
