"""Codes stay text: the vectorised SCTID check agrees with `code_problem`, and 17-18 digit ids
survive Parquet, CSV and xlsx byte for byte."""

from __future__ import annotations

from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from medsopt.dmd.codes import code_problem, with_check_digit
from medsopt.reports.spreadsheet import write_workbook
from medsopt.scan.inputs import _scan_file
from medsopt.scan.sctid import code_problem_expr

# Real ids (dm+d AMPs are 17 digits; an 18-digit id made valid with its check digit) and the
# float-rounded form a spreadsheet produces.
CODES = [
    "319733000",
    "34953211000001105",
    "10028511000001109",
    with_check_digit("123456781000001" + "10"),
    "34953211000001100",
    "0319733000",
]


def problems(codes: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"code": codes}, schema={"code": pl.String})
    return frame.select(code_problem_expr(pl.col("code")).alias("problem"))["problem"].to_list()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789", max_size=20),
            st.text(alphabet="0123456789", min_size=5, max_size=16).map(
                lambda p: with_check_digit(p + "10")
            ),
            st.text(max_size=6),
        ),
        max_size=50,
    )
)
def test_vectorised_check_equals_code_problem(codes: list[str]) -> None:
    expected = [None if (p := code_problem(c)) is None else p.value for c in codes]
    assert problems(list(codes)) == expected


def test_the_check_agrees_on_real_codes() -> None:
    expected = [None if (p := code_problem(c)) is None else p.value for c in CODES]
    assert problems(list(CODES)) == expected
    assert expected[0] is None and expected[4] is not None


def test_codes_round_trip_parquet_csv_and_xlsx(tmp_path: Path) -> None:
    assert len(CODES[3]) == 18
    frame = pl.DataFrame({"patient_id": ["007"] * len(CODES), "code": CODES})
    frame.write_parquet(tmp_path / "c.parquet")
    frame.write_csv(tmp_path / "c.csv")
    assert pl.read_parquet(tmp_path / "c.parquet")["code"].to_list() == CODES
    # The scan reads CSV columns as text, so "007" stays "007" and ids stay exact.
    from_csv = _scan_file(tmp_path / "c.csv").collect()
    assert from_csv["code"].to_list() == CODES
    assert from_csv["patient_id"].to_list() == ["007"] * len(CODES)
    listed = frame.group_by("patient_id").agg(pl.col("code").alias("codes"))
    write_workbook(tmp_path / "c.xlsx", {"codes": frame, "listed": listed})
    book = openpyxl.load_workbook(tmp_path / "c.xlsx")
    sheet = book["codes"]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == CODES
    assert all(c.data_type == "s" and c.number_format == "@" for c in cells)
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["007"] * len(CODES)
    assert book["listed"]["B2"].value == ";".join(CODES)
