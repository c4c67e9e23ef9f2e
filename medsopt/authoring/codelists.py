"""Parse a `code,term` CSV codelist, validating every code and keeping line numbers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, Level, token
from medsopt.dmd.codes import code_problem


@dataclass(frozen=True, slots=True)
class CodelistEntry:
    """One row of a codelist."""

    code: str
    term: str
    line: int


def parse_codelist(
    text: str, file: str
) -> tuple[tuple[CodelistEntry, ...], tuple[Diagnostic, ...]]:
    """Entries and problems; a bad row is reported and left out, never silently fixed."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:2]] != ["code", "term"]:
        return (), (
            Diagnostic(
                file,
                1,
                1,
                DiagnosticKind.CSV_FORMAT,
                # Not the line itself: a file linked to a system file must not be echoed.
                "the first line is not the codelist header",
                expected="a header starting 'code,term'",
            ),
        )
    entries: list[CodelistEntry] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        code = row[0].strip()
        problem = code_problem(code)
        if problem is not None:
            problems.append(
                Diagnostic(
                    file,
                    line,
                    1,
                    DiagnosticKind.INVALID_CODE,
                    f"code {token(code)} {problem.value}",
                    expected="a SNOMED CT concept id",
                )
            )
            continue
        if len(row) < 2 or not row[1].strip():
            problems.append(
                Diagnostic(
                    file,
                    line,
                    len(code) + 2,
                    DiagnosticKind.CSV_FORMAT,
                    f"code {code} has no term",
                    hint="name every code so reviewers can read it",
                )
            )
            continue
        if code in seen:
            problems.append(
                Diagnostic(
                    file,
                    line,
                    1,
                    DiagnosticKind.DUPLICATE_ID,
                    f"code {code} is listed twice",
                    level=Level.WARNING,
                )
            )
            continue
        seen.add(code)
        entries.append(CodelistEntry(code, row[1].strip(), line))
    return tuple(entries), tuple(problems)
