"""The membership index as one sorted table: each code's groups made into a tuple on first use.

A rule set maps every dm+d code placed in a medicine group (tens of thousands, each in several
groups) to its memberships. Building all of those tuples at load costs a fifth of a second
and most are never asked for: a check asks for a handful of codes, and the population scan
joins the table itself.
"""

from __future__ import annotations

import polars as pl

from medsopt.dmd.columnar import SortedCodes
from medsopt.rules.ruleset import Membership


class MembershipIndex(SortedCodes[tuple[Membership, ...]]):
    """concept_code -> (Membership(group, via), ...) in group order, read from `table`."""

    __slots__ = ("_built", "_codes", "_groups", "_starts", "_vias", "table")

    def __init__(self, table: pl.DataFrame) -> None:
        """`table`: concept_code, group, via; one row per (code, group), sorted by both."""
        self.table = table
        runs = table.group_by("concept_code", maintain_order=True).len()
        self._codes: list[str] = runs["concept_code"].to_list()
        self._starts: list[int] = [0, *runs["len"].cum_sum().to_list()]
        self._groups = table["group"]
        self._vias = table["via"]
        self._built: dict[str, tuple[Membership, ...]] = {}

    def __getitem__(self, code: str) -> tuple[Membership, ...]:
        found = self._built.get(code)
        if found is None:
            row = self._row(code)
            if row is None:
                raise KeyError(code)
            start, end = self._starts[row], self._starts[row + 1]
            groups = self._groups.slice(start, end - start).to_list()
            vias = self._vias.slice(start, end - start).to_list()
            found = tuple(Membership(g, via) for g, via in zip(groups, vias, strict=True))
            self._built[code] = found
        return found

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._row(code) is not None
