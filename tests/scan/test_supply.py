"""Days' supply: explicit > dose instruction > formulary default > quantity, method recorded
(as the scan derives them, `fills.keyed_fills`)."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from medsopt.scan import schema as s
from medsopt.scan.fills import keyed_fills
from medsopt.scan.supply import LONGEST_SUPPLY_DAYS, method_name, units_per_day
from medsopt.scan.tables import ScanTables


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("one tablet twice a day", 2.0),
        ("take 2 daily", 2.0),
        ("Take ONE tablet daily", 1.0),
        ("one to be taken twice a day", 2.0),
        ("1 bd", 2.0),
        ("2 tds", 6.0),
        ("one capsule four times a day", 4.0),
        ("half a tablet daily", 0.5),
        ("one at night", 1.0),
        ("1 tablet every other day", 0.5),
        ("take one weekly", 1 / 7),
        ("one or two tablets up to four times a day", None),
        ("1-2 daily", None),
        ("one to two daily", None),
        ("take 1 tablet when required", None),
        ("as directed", None),
        ("take daily", None),
        (None, None),
    ],
)
def test_dose_instructions(text: str | None, units: float | None) -> None:
    frame = pl.DataFrame({"t": [text]}, schema={"t": pl.String})
    got = frame.select(units_per_day(pl.col("t")).alias("u"))["u"][0]
    assert got == (pytest.approx(units) if units is not None else None)


def derived(
    rows: dict[str, list[Any]], doses: pl.DataFrame, scan_tables: ScanTables
) -> tuple[list[int], list[str]]:
    """Days' supply and method of each row, as a scan derives them (`fills.keyed_fills`).

    `rows`: quantity, days_supply, dose_text, concept_code, vmp; each row its own code."""
    count = len(rows["quantity"])
    codes = [f"c{i}" for i in range(count)]
    resolution = pl.DataFrame(
        {
            "code": codes,
            "concept_code": rows["concept_code"],
            "vmp": rows["vmp"],
            "molecule": ["m"] * count,
        },
        schema_overrides={"vmp": pl.String},
    )
    annotated = pl.DataFrame(
        {
            "_patient_id": ["p"] * count,
            "_code": codes,
            s.DOSE_TEXT: rows["dose_text"],
            "_dispensed_on": [datetime.date(2026, 1, 1)] * count,
            "_days_supply": rows["days_supply"],
            "_quantity": rows["quantity"],
            "_reason": [None] * count,
        },
        schema_overrides={
            s.DOSE_TEXT: pl.String,
            "_days_supply": pl.Float64,
            "_reason": pl.String,
        },
    )
    tables = replace(scan_tables, resolution=resolution, doses=doses)
    used = keyed_fills(annotated, tables).rows
    methods = used.select(method_name(pl.col("supply_method")))
    return used["days_supply"].to_list(), methods.to_series().to_list()


def test_method_order_and_whole_days(scan_tables: ScanTables) -> None:
    rows: dict[str, list[Any]] = {
        "quantity": [56.0, 56.0, 56.0, 56.0, 25.0, 1.0],
        "days_supply": [30, None, None, None, None, None],
        "dose_text": ["one daily", "one tablet twice a day", None, None, "take 2 daily", None],
        "concept_code": ["a", "a", "a", "b", "a", "b"],
        "vmp": [None, None, "v", None, None, None],
    }
    doses = pl.DataFrame({"code": ["v"], "daily_units": [2.0], "basis": ["test"]})
    days, methods = derived(rows, doses, scan_tables)
    assert days == [30, 28, 28, 56, 12, 1]
    assert methods == [
        "explicit",
        "dose_text",
        "default_dose",  # an AMP uses its VMP's default
        "quantity_as_days",
        "dose_text",  # 12.5 days: a part-day does not cover a day
        "quantity_as_days",
    ]


def test_a_huge_quantity_lasts_the_longest_supply_not_an_overflow(
    scan_tables: ScanTables,
) -> None:
    rows: dict[str, list[Any]] = {
        "quantity": [1e12, 1e12, 3e9],
        "days_supply": [None, None, None],
        "dose_text": [None, "take one weekly", "one daily"],
        "concept_code": ["b", "a", "a"],
        "vmp": [None, None, None],
    }
    doses = pl.DataFrame(schema={"code": pl.String, "daily_units": pl.Float64, "basis": pl.String})
    days, methods = derived(rows, doses, scan_tables)
    assert days == [LONGEST_SUPPLY_DAYS] * 3
    assert methods == ["quantity_as_days", "dose_text", "dose_text"]
