"""Lazy, columnar views of an extract for DmdIndex: concepts built on first lookup.

Building every Concept of a full release (~380k) up front takes seconds; a check touches a
handful and a rule compile a few thousand. These mappings keep the extract's columns and build
(then cache) a Concept only when it is asked for.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

import polars as pl

from medsopt.dmd.concepts import Concept, Level

V = TypeVar("V")
_LEVELS = {level.value: level for level in Level}
# A concept's fields, in the order of Concept's.
COLUMNS = ("code", "name", "level", "vmp", "vtm", "bnf_code", "invalid")
SCHEMA = {
    "code": pl.String,
    "name": pl.String,
    "level": pl.String,
    "vmp": pl.String,
    "vtm": pl.String,
    "bnf_code": pl.String,
    "invalid": pl.Boolean,
}


def concepts_frame(concepts: Iterable[Concept]) -> pl.DataFrame:
    """Concepts as rows of `COLUMNS` (the extract's columns), in the order given."""
    return pl.DataFrame(
        [(c.code, c.name, c.level.value, c.vmp, c.vtm, c.bnf_code, c.invalid) for c in concepts],
        schema=SCHEMA,
        orient="row",
    )


class SortedCodes(Mapping[str, V]):
    """A mapping over `_codes` (sorted, distinct): iteration, size and a code's row by bisection.

    Subclasses set `_codes` (in their own `__slots__`) and look values up by `_row(code)`.
    """

    __slots__ = ()
    _codes: list[str]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def _row(self, code: str) -> int | None:
        row = bisect.bisect_left(self._codes, code)
        return row if row < len(self._codes) and self._codes[row] == code else None


class LazyConcepts(SortedCodes[Concept]):
    """Concepts of an extract, each built from its row on first lookup and then cached.

    Building all ~380k Concept objects of a full release up front takes seconds; a check
    touches a handful and a rule compile a few thousand. Lookups bisect the sorted codes.
    """

    __slots__ = ("_cache", "_codes", "_columns", "frame")

    def __init__(self, concepts: pl.DataFrame) -> None:
        frame = concepts if concepts["code"].is_sorted() else concepts.sort("code")
        self.frame = frame.select(list(COLUMNS))  # the concepts in code order (shares the buffers)
        self._codes: list[str] = frame["code"].to_list()
        # Indexing a polars Series is ~0.4 µs: cheaper than converting every column to lists.
        self._columns = tuple(frame[name] for name in COLUMNS[1:])
        self._cache: dict[str, Concept] = {}

    def __getitem__(self, code: str) -> Concept:
        concept = self._cache.get(code)
        if concept is None:
            row = self._row(code)
            if row is None:
                raise KeyError(code)
            name, level, vmp, vtm, bnf_code, invalid = (column[row] for column in self._columns)
            concept = Concept(code, name, _LEVELS[level], vmp, vtm, bnf_code, invalid)
            self._cache[code] = concept
        return concept

    def preload(self, codes: Iterable[str]) -> None:
        """Build the concepts of `codes` and of their VMPs and VTMs in one pass over the
        columns (a lookup one by one costs several Series reads per concept)."""
        code = pl.col("code")
        wanted = [c for c in codes if c not in self._cache]
        rows = self.frame.filter(code.is_in(wanted))
        parents = pl.concat([rows["vmp"], rows["vtm"]]).drop_nulls().unique().to_list()
        rows = pl.concat([rows, self.frame.filter(code.is_in(parents) & ~code.is_in(wanted))])
        for code_, name, level, vmp, vtm, bnf_code, invalid in rows.iter_rows():
            if code_ not in self._cache:
                self._cache[code_] = Concept(
                    code_, name, _LEVELS[level], vmp, vtm, bnf_code, invalid
                )

    def __contains__(self, code: object) -> bool:
        return code in self._cache or (isinstance(code, str) and self._row(code) is not None)


class LazyDescendants(Mapping[str, tuple[str, ...]]):
    """Children by parent, exactly as DmdIndex computes them; each sorted on first use."""

    __slots__ = ("_children", "_known", "_sorted")

    def __init__(self, concepts: pl.DataFrame, known: LazyConcepts) -> None:
        linked = concepts.filter(pl.col("vmp").is_not_null() | pl.col("vtm").is_not_null())
        children: defaultdict[str, list[str]] = defaultdict(list)
        for code, vmp, vtm in zip(
            *(linked[c].to_list() for c in ("code", "vmp", "vtm")), strict=True
        ):
            if vmp is not None:
                children[vmp].append(code)
            if vtm is not None and vtm != vmp:
                children[vtm].append(code)
        self._children = children
        self._known = known
        self._sorted: dict[str, tuple[str, ...]] = {}

    def __getitem__(self, parent: str) -> tuple[str, ...]:
        found = self._sorted.get(parent)
        if found is None:
            if parent not in self._children or parent not in self._known:
                raise KeyError(parent)
            found = self._sorted[parent] = tuple(sorted(self._children[parent]))
        return found

    def __iter__(self) -> Iterator[str]:
        return (parent for parent in self._children if parent in self._known)

    def __len__(self) -> int:
        return sum(1 for _ in self)
