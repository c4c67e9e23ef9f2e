"""Committee-entered prices per brand product (formulary/prices.yaml), dated.

A product may have several prices over time; their validity periods must not overlap, so a
dispensing date has at most one price. A product with no price on a date has an unknown price,
and a saving that needs it is unknown (null), never zero.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Annotated, Literal

import polars as pl
from pydantic import Field, model_validator

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError
from medsopt.authoring.fields import FileModel, SctIdText, Text
from medsopt.authoring.validate import validated_files

PRICE_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "gbp_per_unit": pl.Float64(),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),  # null: until changed
}


class ProductPrice(FileModel):
    """A price per dose unit of one AMP, from `valid_from` to `valid_to` (inclusive)."""

    code: SctIdText
    name: Text
    gbp_per_unit: Annotated[float, Field(ge=0)]
    valid_from: datetime.date
    valid_to: datetime.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ProductPrice:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class PriceFile(FileModel):
    """formulary/prices.yaml."""

    illustrative: bool  # true: made-up numbers, said on every report that uses them
    currency: Literal["GBP"]
    prices: tuple[ProductPrice, ...]


def compile_prices(sources: Mapping[str, str], known: frozenset[str]) -> tuple[pl.DataFrame, bool]:
    """(prices as `PRICE_SCHEMA`, illustrative) from {path: text}; RuleSetError on a problem.

    `known`: the brand products of the biosimilar table; a price for another code is an error.
    """
    problems: list[Diagnostic] = []
    rows = []
    illustrative = False
    for path, model, source_map in validated_files(sources, sources, PriceFile, problems):
        illustrative = illustrative or model.illustrative
        periods: dict[str, list[tuple[datetime.date, datetime.date]]] = {}
        for index, price in enumerate(model.prices):
            line, column = source_map.locate(("prices", index, "code"))
            end = price.valid_to or datetime.date.max
            if price.code not in known:
                problems.append(
                    Diagnostic(
                        path,
                        line,
                        column,
                        DiagnosticKind.UNKNOWN_CODE,
                        f"{price.code} is not a brand product of the biosimilar table",
                    )
                )
            for start, stop in periods.get(price.code, []):
                if price.valid_from <= stop and start <= end:
                    problems.append(
                        Diagnostic(
                            path,
                            line,
                            column,
                            DiagnosticKind.INVALID_VALUE,
                            f"{price.code} has two prices on {max(start, price.valid_from)}",
                            hint="end the earlier price (valid_to) before the next starts",
                        )
                    )
            periods.setdefault(price.code, []).append((price.valid_from, end))
            rows.append((price.code, price.gbp_per_unit, price.valid_from, price.valid_to))
    if problems:
        raise RuleSetError(problems)
    return pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row"), illustrative
