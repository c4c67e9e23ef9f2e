"""Hypothesis properties of PDC, and agreement with the naive day-set reference."""

from __future__ import annotations

import datetime

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsopt.scan.pdc import Period, _longest, pdc
from tests.scan.pdc_reference import Fill, reference_pdc

AS_OF = datetime.date(2025, 12, 31)
PERIOD = 365
FIRST_DAY = AS_OF - datetime.timedelta(days=PERIOD + 60)  # some fills fall before the period

settings.register_profile(
    "pdc", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

fills_strategy = st.lists(
    st.builds(
        Fill,
        patient_id=st.sampled_from(["p1", "p2", "p3"]),
        drug_class=st.sampled_from(["statins", "ras"]),
        molecule=st.sampled_from(["a", "b", "c"]),
        dispensed_on=st.integers(0, PERIOD + 60).map(
            lambda d: FIRST_DAY + datetime.timedelta(days=d)
        ),
        days_supply=st.integers(1, 120),
    ),
    min_size=1,
    max_size=40,
)


def frame(fills: list[Fill]) -> pl.LazyFrame:
    return pl.DataFrame(
        [(f.patient_id, f.drug_class, f.molecule, f.dispensed_on, f.days_supply) for f in fills],
        schema={
            "patient_id": pl.String,
            "drug_class": pl.String,
            "molecule": pl.String,
            "dispensed_on": pl.Date,
            "days_supply": pl.Int32,
        },
        orient="row",
    ).lazy()


def batch_pdc(fills: list[Fill]) -> dict[tuple[str, str], float | None]:
    result = pdc(frame(fills), Period(AS_OF, PERIOD)).collect()
    return {(p, c): v for p, c, v in result.select("patient_id", "drug_class", "pdc").iter_rows()}


@settings.get_profile("pdc")
@given(fills=fills_strategy)
def test_interval_arithmetic_equals_the_day_set_reference(fills: list[Fill]) -> None:
    batch = batch_pdc(fills)
    reference = reference_pdc(fills, AS_OF, PERIOD)
    assert batch.keys() == reference.keys()
    for key, value in reference.items():
        if value is None:
            assert batch[key] is None
        else:
            assert batch[key] is not None
            assert abs(batch[key] - value) < 1e-12  # type: ignore[operator]


@settings.get_profile("pdc")
@given(fills=fills_strategy)
def test_pdc_is_a_proportion(fills: list[Fill]) -> None:
    assert all(v is None or 0.0 <= v <= 1.0 for v in batch_pdc(fills).values())


@settings.get_profile("pdc")
@given(fills=fills_strategy, data=st.data())
def test_row_order_does_not_change_pdc(fills: list[Fill], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(fills))
    assert batch_pdc(fills) == batch_pdc(list(shuffled))


@settings.get_profile("pdc")
@given(fills=fills_strategy, data=st.data())
def test_adding_a_fill_never_lowers_pdc(fills: list[Fill], data: st.DataObject) -> None:
    """A fill on or after the index date only adds cover. (An *earlier* fill moves the index
    date and so the denominator: PQA's definition, not a property of the arithmetic.)"""
    before = batch_pdc(fills)
    eligible = [key for key, value in before.items() if value is not None]
    if not eligible:
        return
    patient_id, drug_class = data.draw(st.sampled_from(sorted(eligible)))
    result = pdc(frame(fills), Period(AS_OF, PERIOD)).collect()
    index = result.filter(
        (pl.col("patient_id") == patient_id) & (pl.col("drug_class") == drug_class)
    )["index_date"][0]
    extra = Fill(
        patient_id,
        drug_class,
        data.draw(st.sampled_from(["a", "b", "c"])),
        index + datetime.timedelta(days=data.draw(st.integers(0, (AS_OF - index).days))),
        data.draw(st.integers(1, 120)),
    )
    after = batch_pdc([*fills, extra])
    assert after[(patient_id, drug_class)] >= before[(patient_id, drug_class)]  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(-2, 80)), max_size=50),
    st.sampled_from([0, 1 << 40, 1 << 58]),
)
def test_longest_per_key_packed_equals_a_sort_by_both_columns(
    rows: list[tuple[int, int]], offset: int
) -> None:
    """`_longest` packs key and best into one integer when they fit (keys from 2**58 with
    a best of 7 bits, or a negative best, take the two-column sort instead)."""
    by_key = pl.DataFrame(
        {"key": [k + offset for k, _ in rows], "best": [b for _, b in rows]},
        schema={"key": pl.Int64, "best": pl.Int64},
    )
    plain = by_key.sort("key", "best").filter(
        (pl.col("key") != pl.col("key").shift(-1)).fill_null(True)
    )
    assert _longest(by_key).equals(plain)
