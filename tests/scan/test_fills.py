"""Keyed fills: the per-medicine facts do not depend on the width of the grouping key."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from medsopt.scan import fills as keyed
from medsopt.scan import keys
from medsopt.scan.fills import Fills, latest_practices, medicines


def _fills(count: int) -> Fills:
    """`count` fills of 13 patients, 4 codes and 3 practices over 17 days."""
    first = datetime.date(2025, 1, 1)
    rows = pl.DataFrame(
        {
            "patient": [i * 7 % 13 for i in range(count)],
            "code": [i * 5 % 4 for i in range(count)],
            "practice": [i % 3 for i in range(count)],
            "dispensed_on": [first + datetime.timedelta(days=i * 11 % 17) for i in range(count)],
            "days_supply": [i * 3 % 56 + 1 for i in range(count)],
            "supply_method": [i % 4 for i in range(count)],
        },
        schema_overrides={
            "patient": pl.UInt32,
            "code": pl.UInt32,
            "practice": pl.UInt32,
            "days_supply": pl.Int32,
            "supply_method": pl.UInt8,
        },
    )
    return Fills(
        rows,
        pl.Series([f"p{i:02d}" for i in range(13)]),
        pl.DataFrame({"code": ["a", "b", "c", "d"]}),
        pl.Series(["X1", "X2", "X3"]),
    )


def test_medicines_grouped_on_32_bits_equal_the_64_bit_grouping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fills = _fills(500)
    narrow = medicines(fills).sort("key")
    monkeypatch.setattr(keyed, "_NARROW_KEYS", 0)  # every key too wide: the 64-bit path
    wide = medicines(fills).sort("key")
    assert narrow.equals(wide)
    assert narrow["key"].dtype == pl.UInt64 and narrow.height == 13 * 4
    assert latest_practices(fills, narrow).height == 13


@pytest.mark.parametrize("collide", [False, True])
def test_patients_encoded_by_hash_equal_the_exact_encoding(
    monkeypatch: pytest.MonkeyPatch, collide: bool
) -> None:
    """`keys.encoded` joins positions by hash; colliding hashes (forced here: every text of a
    length shares one) fall back to the exact encoding, with the same result."""
    ids = pl.Series(
        "_patient_id", [f"P{i * 7919 % 1000:05d}" for i in range(3000)] + [None, "", "Q1", None]
    )
    if collide:
        monkeypatch.setattr(keys, "_hashes", lambda v: v.str.len_bytes().cast(pl.UInt64))
    distinct, positions = keys.encoded(ids)
    assert distinct.equals(keys.distinct(ids))
    expected = ids.to_frame().select(keys.position(pl.col("_patient_id"), distinct))
    assert positions.equals(expected.to_series())
    assert positions.null_count() == 2
