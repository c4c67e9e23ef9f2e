"""Days' supply: explicit > dose instruction > formulary default > quantity, method recorded."""

from __future__ import annotations

import polars as pl
import pytest

from medsopt.scan.supply import LONGEST_SUPPLY_DAYS, units_per_day, with_days_supply


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


def test_method_order_and_whole_days() -> None:
    fills = pl.DataFrame(
        {
            "quantity": [56.0, 56.0, 56.0, 56.0, 25.0, 1.0],
            "days_supply": [30, None, None, None, None, None],
            "dose_text": ["one daily", "one tablet twice a day", None, None, "take 2 daily", None],
            "concept_code": ["a", "a", "a", "b", "a", "b"],
            "vmp": [None, None, "v", None, None, None],
            "row": range(6),
        },
        schema_overrides={"days_supply": pl.Int32},
    )
    doses = pl.DataFrame({"code": ["v"], "daily_units": [2.0], "basis": ["test"]})
    out = with_days_supply(fills.lazy(), doses.lazy()).collect().sort("row")
    assert out["days_supply"].to_list() == [30, 28, 28, 56, 12, 1]
    assert out["supply_method"].to_list() == [
        "explicit",
        "dose_text",
        "default_dose",  # an AMP uses its VMP's default
        "quantity_as_days",
        "dose_text",  # 12.5 days: a part-day does not cover a day
        "quantity_as_days",
    ]


def test_a_huge_quantity_lasts_the_longest_supply_not_an_overflow() -> None:
    fills = pl.DataFrame(
        {
            "quantity": [1e12, 1e12, 3e9],
            "days_supply": [None, None, None],
            "dose_text": [None, "take one weekly", "one daily"],
            "concept_code": ["b", "a", "a"],
            "vmp": [None, None, None],
            "row": range(3),
        },
        schema_overrides={"days_supply": pl.Int32, "vmp": pl.String},
    )
    doses = pl.DataFrame(schema={"code": pl.String, "daily_units": pl.Float64, "basis": pl.String})
    out = with_days_supply(fills.lazy(), doses.lazy()).collect().sort("row")
    assert out["days_supply"].to_list() == [LONGEST_SUPPLY_DAYS] * 3
    assert out["supply_method"].to_list() == ["quantity_as_days", "dose_text", "dose_text"]
