"""Spreadsheets a pharmacist opens: every id and code a text cell, lists joined as text."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl


def joined_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns as ';'-joined text, for CSV and xlsx."""
    return frame.with_columns(
        pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)
    )


def write_workbook(path: Path, sheets: Mapping[str, pl.DataFrame]) -> None:
    """A workbook whose id and code columns are text cells (Excel would round 18-digit ids)."""
    import xlsxwriter  # type: ignore[import-untyped]

    with xlsxwriter.Workbook(path) as workbook:
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
