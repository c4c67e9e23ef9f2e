"""PDC hand-worked cases (PQA method). Period: 2025-01-01 to 2025-12-31 (365 days).

Day counts are worked by hand in each docstring; July 1 to December 31 is 184 days.
"""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from medsopt.scan.pdc import Period, pdc

AS_OF = datetime.date(2025, 12, 31)
D = datetime.date


def run(*fills: tuple[str, str, datetime.date, int]) -> dict[str, object]:
    """PDC row for patient p1, class c, from (molecule, _, date, days) fills."""
    frame = pl.DataFrame(
        {
            "patient_id": ["p1"] * len(fills),
            "drug_class": ["c"] * len(fills),
            "molecule": [f[0] for f in fills],
            "dispensed_on": [f[2] for f in fills],
            "days_supply": [f[3] for f in fills],
        },
        schema_overrides={"days_supply": pl.Int32},
    )
    rows = pdc(frame.lazy(), Period(AS_OF, 365)).collect().to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_same_molecule_early_refill_is_shifted() -> None:
    """Jul 1 (30 d) covers Jul 1-30; the Jul 21 refill starts Jul 31 (to Aug 29); Aug 30 (30 d)
    covers Aug 30-Sep 28: 90 days of 184. Without the shift it would be 80."""
    row = run(
        ("m1", "", D(2025, 7, 1), 30),
        ("m1", "", D(2025, 7, 21), 30),
        ("m1", "", D(2025, 8, 30), 30),
    )
    assert row["index_date"] == D(2025, 7, 1)
    assert row["period_days"] == 184
    assert row["covered_days"] == 90
    assert row["pdc"] == pytest.approx(90 / 184)
    assert row["adherent"] is False
    assert row["fills"] == 3
    assert row["late_refills"] == 0


def test_switch_within_class_counts_overlap_once() -> None:
    """m1 Jul 1-30, m2 Jul 21-Aug 19 then Aug 20-Sep 18: the union Jul 1-Sep 18 is 80 days; a
    different molecule is not shifted behind the first."""
    row = run(
        ("m1", "", D(2025, 7, 1), 30),
        ("m2", "", D(2025, 7, 21), 30),
        ("m2", "", D(2025, 8, 20), 30),
    )
    assert row["covered_days"] == 80
    assert row["pdc"] == pytest.approx(80 / 184)


def test_supply_beyond_the_period_is_truncated() -> None:
    """Oct 1 (60 d) covers Oct 1-Nov 29; Nov 30 (60 d) runs to Jan 28 but only Nov 30-Dec 31
    (32 days) is inside: 92 of 92 days, PDC 1.0. Index Oct 1 is exactly 91 days before the end."""
    row = run(("m1", "", D(2025, 10, 1), 60), ("m1", "", D(2025, 11, 30), 60))
    assert row["period_days"] == 92
    assert row["covered_days"] == 92
    assert row["pdc"] == 1.0
    assert row["adherent"] is True


def test_index_date_too_late_keeps_the_row_without_pdc() -> None:
    """Index Oct 2 is 90 days before Dec 31: not eligible."""
    row = run(("m1", "", D(2025, 10, 2), 30), ("m1", "", D(2025, 11, 1), 30))
    assert row["pdc"] is None
    assert row["adherent"] is None
    assert row["ineligible_reason"] == "index date under 91 days before the end"


@pytest.mark.parametrize(
    "fills",
    [
        [("m1", "", D(2025, 3, 1), 90)],
        [("m1", "", D(2025, 3, 1), 30), ("m2", "", D(2025, 3, 1), 30)],
    ],
    ids=["one fill", "two fills one date"],
)
def test_single_fill_date_is_not_eligible(fills: list[tuple[str, str, datetime.date, int]]) -> None:
    row = run(*fills)
    assert row["pdc"] is None
    assert row["ineligible_reason"] == "fills on one date only"


def test_fills_before_the_period_do_not_count() -> None:
    """The Dec 2024 fill (and the supply it carries into 2025) is outside the period: index
    Jun 1, 214 days to Dec 31, 60 covered."""
    row = run(
        ("m1", "", D(2024, 12, 1), 90), ("m1", "", D(2025, 6, 1), 30), ("m1", "", D(2025, 7, 1), 30)
    )
    assert row["index_date"] == D(2025, 6, 1)
    assert row["period_days"] == 214
    assert row["covered_days"] == 60
    assert row["fills"] == 2


def test_same_molecule_same_day_counts_the_longest_supply() -> None:
    """Jun 1: 28 and 56 days -> 56 (Jun 1-Jul 26); Sep 1 adds 28: 84 days."""
    row = run(
        ("m1", "", D(2025, 6, 1), 28), ("m1", "", D(2025, 6, 1), 56), ("m1", "", D(2025, 9, 1), 28)
    )
    assert row["covered_days"] == 84
    assert row["fills"] == 2


def test_late_refills_are_gaps_over_seven_days() -> None:
    """Jul 1-30, then Aug 15 (15 days uncovered: late), then Sep 14 (on time)."""
    row = run(
        ("m1", "", D(2025, 7, 1), 30),
        ("m1", "", D(2025, 8, 15), 30),
        ("m1", "", D(2025, 9, 14), 30),
    )
    assert row["late_refills"] == 1


def test_best_pdc_next_review_assumes_full_cover_from_now() -> None:
    """First case, 90 days ahead: the window starts Apr 1 2025 (before the index), so 90
    covered + 90 future days over 184 + 90 days."""
    row = run(
        ("m1", "", D(2025, 7, 1), 30),
        ("m1", "", D(2025, 7, 21), 30),
        ("m1", "", D(2025, 8, 30), 30),
    )
    assert row["best_pdc_next_review"] == pytest.approx(180 / 274)


@pytest.mark.parametrize("stated_first", [True, False])
def test_a_same_day_tie_keeps_the_stated_supply_whatever_the_row_order(
    stated_first: bool,
) -> None:
    """Jun 1: 28 days stated and 28 days taken from the quantity: one fill, not a guessed one."""
    rows = [("stated", "days_supply"), ("guessed", "quantity_as_days")]
    if not stated_first:
        rows.reverse()
    frame = pl.DataFrame(
        {
            "patient_id": ["p1"] * 3,
            "drug_class": ["c"] * 3,
            "molecule": ["m1"] * 3,
            "dispensed_on": [D(2025, 6, 1), D(2025, 6, 1), D(2025, 9, 1)],
            "days_supply": [28, 28, 28],
            "supply_method": [rows[0][1], rows[1][1], "days_supply"],
        },
        schema_overrides={"days_supply": pl.Int32},
    )
    row = pdc(frame.lazy(), Period(AS_OF, 365)).collect().row(0, named=True)
    assert row["fills"] == 2
    assert row["fills_quantity_as_days"] == 0
