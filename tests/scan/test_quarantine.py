"""Every dispensing row is used or quarantined with a reason; nothing becomes null silently."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsopt.dmd.codes import with_check_digit
from medsopt.scan import quarantine
from medsopt.scan.quarantine import REASONS, Reason
from medsopt.scan.tables import ScanTables

AS_OF = datetime.date(2026, 6, 30)
WARFARIN = "319733000"  # Warfarin 1mg tablets (VMP)
AMP = "34953211000001105"  # Rosuvastatin 10mg tablets (Aristo Pharma Ltd), 17 digits
PACK = "1002711000001101"  # a VMPP: dm+d, but a pack
# A GM-SDE pack ("Oxybutynin 5mg tablets 84 tablet") the bundled extract has at unknown level.
UNKNOWN_LEVEL_PACK = "1092011000001101"
INACTIVE = "10028511000001109"  # a VTM flagged invalid
UNKNOWN = with_check_digit("999999991000001" + "10")  # well formed, in no dm+d release
ROUNDED = "34953211000001100"  # AMP id after a spreadsheet rounded it: check digit fails
COLUMNS = ("patient_id", "code", "dispensed_on", "quantity", "days_supply")


def rows(*values: tuple[str | None, ...]) -> pl.LazyFrame:
    frame = pl.DataFrame(
        [list(v) for v in values], schema=dict.fromkeys(COLUMNS, pl.String), orient="row"
    )
    return frame.with_row_index("source_row").lazy()


def reasons(raw: pl.LazyFrame, tables: ScanTables) -> list[str | None]:
    annotated = quarantine.annotate(raw, AS_OF, tables.resolution.lazy())
    return annotated.sort("source_row").collect()["_reason"].to_list()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("p1", WARFARIN, "2026-01-05", "28", None), None),
        (("p1", AMP, "2026-01-05", "28", "28"), None),
        (("p1", UNKNOWN_LEVEL_PACK, "2026-01-05", "84", None), None),
        (("", WARFARIN, "2026-01-05", "28", None), Reason.MISSING_PATIENT_ID),
        ((None, WARFARIN, "2026-01-05", "28", None), Reason.MISSING_PATIENT_ID),
        (("p1", ROUNDED, "2026-01-05", "28", None), Reason.MALFORMED_CODE),
        (("p1", "3.4953211E+16", "2026-01-05", "28", None), Reason.MALFORMED_CODE),
        (("p1", None, "2026-01-05", "28", None), Reason.MALFORMED_CODE),
        (("p1", UNKNOWN, "2026-01-05", "28", None), Reason.UNKNOWN_CODE),
        (("p1", PACK, "2026-01-05", "28", None), Reason.UNUSABLE_CODE),
        (("p1", INACTIVE, "2026-01-05", "28", None), Reason.UNUSABLE_CODE),
        (("p1", WARFARIN, "05/01/2026", "28", None), Reason.BAD_DATE),
        (("p1", WARFARIN, "2026-02-30", "28", None), Reason.BAD_DATE),
        (("p1", WARFARIN, "2026-1-5", "28", None), Reason.BAD_DATE),
        (("p1", WARFARIN, None, "28", None), Reason.BAD_DATE),
        (("p1", WARFARIN, "2026-07-01", "28", None), Reason.FUTURE_DATE),
        (("p1", WARFARIN, "2026-01-05", "lots", None), Reason.BAD_QUANTITY),
        (("p1", WARFARIN, "2026-01-05", "inf", None), Reason.BAD_QUANTITY),
        (("p1", WARFARIN, "2026-01-05", None, None), Reason.BAD_QUANTITY),
        (("p1", WARFARIN, "2026-01-05", "0", None), Reason.NON_POSITIVE_QUANTITY),
        (("p1", WARFARIN, "2026-01-05", "-28", None), Reason.NON_POSITIVE_QUANTITY),
        (("p1", WARFARIN, "2026-01-05", "28", "0"), Reason.BAD_DAYS_SUPPLY),
        (("p1", WARFARIN, "2026-01-05", "28", "2.5"), Reason.BAD_DAYS_SUPPLY),
        (("p1", WARFARIN, "2026-01-05", "28", "400"), Reason.BAD_DAYS_SUPPLY),
        (("p1", WARFARIN, "2026-01-05", "28", "a month"), Reason.BAD_DAYS_SUPPLY),
    ],
)
def test_each_problem_has_its_reason(
    scan_tables: ScanTables, row: tuple[str | None, ...], reason: Reason | None
) -> None:
    assert reasons(rows(row), scan_tables) == [reason.value if reason else None]


def test_the_first_of_identical_rows_is_used_the_rest_are_duplicates(
    scan_tables: ScanTables,
) -> None:
    row = ("p1", WARFARIN, "2026-01-05", "28", None)
    other = ("p1", WARFARIN, "2026-01-05", "56", None)
    assert reasons(rows(row, other, row, row), scan_tables) == [
        None,
        None,
        "duplicate",
        "duplicate",
    ]


def test_a_superseded_code_is_used_not_quarantined(scan_tables: ScanTables) -> None:
    retired = scan_tables.resolution.filter(
        (pl.col("resolution") == "resolved") & (pl.col("code") != pl.col("concept_code"))
    )["code"][0]
    assert reasons(rows(("p1", retired, "2026-01-05", "28", None)), scan_tables) == [None]


settings.register_profile(
    "dirty",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
dirty_rows = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "", "  ", None]),
        st.sampled_from([WARFARIN, AMP, PACK, UNKNOWN, ROUNDED, "abc", "", None]),
        st.sampled_from(
            ["2026-01-05", "2025-07-01", "2026/01/05", "2026-02-30", "2027-01-01", "", None]
        ),
        st.sampled_from(["28", "56.0", "0", "-1", "x", "nan", "", None]),
        st.sampled_from([None, "", "28", "0", "999", "1.5", "y"]),
    ),
    min_size=1,
    max_size=60,
)


@settings.get_profile("dirty")
@given(values=dirty_rows)
def test_rows_in_equals_rows_used_plus_quarantined_per_reason(
    scan_tables: ScanTables, values: list[tuple[str | None, ...]]
) -> None:
    raw = rows(*values)
    annotated = quarantine.annotate(raw, AS_OF, scan_tables.resolution.lazy())
    clean, held, counts = pl.collect_all(
        [
            quarantine.clean_rows(annotated),
            quarantine.quarantined_rows(annotated, AS_OF, scan_tables.resolution.lazy()),
            quarantine.reason_counts(annotated),
        ]
    )
    by_outcome = dict(counts.iter_rows())
    assert sum(by_outcome.values()) == len(values)
    assert by_outcome.get("used", 0) == clean.height
    assert {k: v for k, v in by_outcome.items() if k != "used"} == dict(
        held.group_by("reason").len().iter_rows()
    )
    assert set(by_outcome) <= {"used", *REASONS}
    # Every row exactly once, and quarantined rows exactly as read.
    assert sorted([*clean["source_row"], *held["source_row"]]) == list(range(len(values)))
    original = raw.collect()
    assert (
        held.drop("reason", "detail")
        .sort("source_row")
        .equals(
            original.filter(pl.col("source_row").is_in(held["source_row"].to_list())).sort(
                "source_row"
            )
        )
    )
    # Nothing clean has a null in a required column.
    assert (
        clean.select(
            pl.col("patient_id", "code", "dispensed_on", "quantity").null_count()
        ).sum_horizontal()[0]
        == 0
    )


padded = st.sampled_from(["28", " 28", "28 ", "\u00a028", "\t5.5\n", " ", "", "x", " inf", None])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    values=st.lists(
        st.tuples(st.sampled_from([WARFARIN, AMP, PACK, UNKNOWN, "abc", "", None]), padded, padded),
        min_size=1,
        max_size=30,
    )
)
def test_a_frame_parses_as_its_rows_alone_and_as_plain_expressions(
    scan_tables: ScanTables, values: list[tuple[str | None, ...]]
) -> None:
    """Codes are checked per distinct code and numbers stripped only where they do not parse
    (fast paths that depend on the other rows): each row reads as it does alone, and the
    numbers as stripping and parsing every text reads them."""
    raw = rows(*[(f"p{i}", code, "2026-01-05", q, d) for i, (code, q, d) in enumerate(values)])
    annotated = quarantine.annotate(raw, AS_OF, scan_tables.resolution.lazy()).collect()
    text = {c: pl.col(c).str.strip_chars() for c in ("quantity", "days_supply")}
    plain = raw.collect().select(
        _quantity=text["quantity"].cast(pl.Float64, strict=False),
        _days_supply=text["days_supply"].cast(pl.Float64, strict=False),
        _supply_given=pl.col("days_supply").is_not_null() & (text["days_supply"] != ""),
    )
    assert annotated.sort("source_row").select(plain.columns).equals(plain)
    alone: dict[tuple[str | None, ...], list[str | None]] = {}
    for code, q, d in values:
        if (code, q, d) not in alone:
            alone[code, q, d] = reasons(rows(("p", code, "2026-01-05", q, d)), scan_tables)
    expected = [alone[value][0] for value in values]
    assert annotated.sort("source_row")["_reason"].to_list() == expected
