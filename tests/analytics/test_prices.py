"""formulary/prices.yaml validates like every committee file; periods never overlap."""

from __future__ import annotations

import datetime

import pytest

from medsopt.analytics.prices import compile_prices
from medsopt.authoring.diagnostics import RuleSetError
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import read_prices
from medsopt.store.activate import BUNDLED_FORMULARY

HUMIRA = (
    "11188011000001105"  # Humira 40mg/0.8ml pre-filled pens (formulary/biosimilars/adalimumab.yaml)
)
PRICES = """\
illustrative: true
currency: GBP
prices:
  - {{code: "{code}", name: Humira, gbp_per_unit: 300, valid_from: 2025-01-01, valid_to: {end}}}
  - {{code: "{code}", name: Humira, gbp_per_unit: 280, valid_from: 2025-07-01}}
"""


def test_the_bundled_prices_are_illustrative_and_valid(bundled: RuleSet) -> None:
    prices, illustrative = read_prices(BUNDLED_FORMULARY / "prices.yaml", bundled)
    assert illustrative  # made-up numbers: every page using them says so
    assert prices.height > 0
    assert prices["code"].is_unique().all()


def test_consecutive_periods_give_one_price_per_day() -> None:
    prices, _ = compile_prices(
        {"p.yaml": PRICES.format(code=HUMIRA, end="2025-06-30")}, frozenset({HUMIRA})
    )
    assert prices["valid_to"].to_list() == [datetime.date(2025, 6, 30), None]


def test_overlapping_periods_are_refused_at_their_line() -> None:
    with pytest.raises(RuleSetError) as error:
        compile_prices(
            {"p.yaml": PRICES.format(code=HUMIRA, end="2025-07-01")}, frozenset({HUMIRA})
        )
    (problem,) = error.value.diagnostics
    assert str(problem).startswith("p.yaml:5:")
    assert "two prices on 2025-07-01" in str(problem)


def test_a_price_for_a_product_outside_the_table_is_refused() -> None:
    with pytest.raises(RuleSetError) as error:
        compile_prices({"p.yaml": PRICES.format(code=HUMIRA, end="2025-06-30")}, frozenset())
    assert all("not a brand product" in str(d) for d in error.value.diagnostics)
    assert len(error.value.diagnostics) == 2
