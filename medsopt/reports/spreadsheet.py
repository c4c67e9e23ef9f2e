"""Spreadsheets a pharmacist opens: every id and code a text cell, lists joined as text, and
nothing from the data ever evaluated as a formula (OWASP CSV injection)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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
    return table.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in table.schema.items()
        if t == pl.String
    )


def write_workbook(path: Path, sheets: Mapping[str, pl.DataFrame]) -> None:
    """A workbook whose id and code columns are text cells (Excel would round 18-digit ids)."""
    import xlsxwriter  # type: ignore[import-untyped]

    # Every string a string cell: xlsxwriter would otherwise write "=..." as a live formula and
    # "http..." as a link (the data are pharmacy extracts, not trusted content).
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(path, options) as workbook:
        for name, frame in sheets.items():
            table = joined_codes(frame)
            text = {c: "@" for c, t in table.schema.items() if t == pl.String}
            table.write_excel(
                workbook,
                worksheet=name,
                column_formats=text,  # type: ignore[arg-type]
                autofit=True,
                freeze_panes=(1, 0),
                float_precision=3,
            )
