"""Check a default-dose table (code, term, daily_units, basis CSV), keeping line numbers.

The scan falls back on these doses when a fill says neither how long it lasts nor how it is
taken, so every row must be usable and say where its dose comes from. Pure: text in.
"""

from __future__ import annotations

import csv
import io
import math

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind
from medsopt.dmd.codes import code_problem

COLUMNS = ("code", "daily_units", "basis")


def dose_problems(text: str, file: str) -> list[Diagnostic]:
    """Every problem in the table: missing columns, bad codes or doses, no basis, repeats."""
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    absent = [name for name in COLUMNS if name not in header]
    if absent:
        return [
            Diagnostic(
                file,
                1,
                1,
                DiagnosticKind.CSV_FORMAT,
                f"header has no {', '.join(absent)} column",
                expected="a header naming code, daily_units and basis",
            )
        ]
    at = {name: header.index(name) for name in COLUMNS}
    problems: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        code, units, basis = (row[at[n]].strip() if at[n] < len(row) else "" for n in COLUMNS)
        invalid = code_problem(code)
        if invalid is not None:
            message = f"code {code!r} {invalid.value}"
            problems.append(Diagnostic(file, line, 1, DiagnosticKind.INVALID_CODE, message))
            continue
        if code in seen:
            message = f"code {code} is already listed on line {seen[code]}"
            problems.append(Diagnostic(file, line, 1, DiagnosticKind.DUPLICATE_ID, message))
            continue
        seen[code] = line
        if not _positive(units):
            message = f"code {code} has daily_units {units!r}"
            expected = "a number of units a day above 0"
            problems.append(
                Diagnostic(file, line, 1, DiagnosticKind.INVALID_VALUE, message, expected)
            )
        if not basis:
            message = f"code {code} has no basis"
            expected = "its source, or 'assumption: ...' for the committee to review"
            problems.append(
                Diagnostic(file, line, 1, DiagnosticKind.MISSING_FIELD, message, expected)
            )
    return problems


def _positive(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0
