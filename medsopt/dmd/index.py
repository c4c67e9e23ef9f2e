"""The dm+d index: resolves any VTM/VMP/AMP code to its concept and ancestors by lookup."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import polars as pl

from medsopt.dmd.columnar import LazyConcepts, LazyDescendants, concepts_frame
from medsopt.dmd.concepts import (
    Concept,
    Level,
    Resolved,
    Supersession,
    Unresolved,
    UnresolvedReason,
)

# Longest chain of superseded ids we follow; real chains are 1-2 long, this guards against cycles.
_MAX_SUPERSESSION_HOPS = 8


class DmdIndex:
    """Immutable lookup over one dm+d release (or bundled extract)."""

    __slots__ = ("_by_code", "_descendants", "_superseded", "_table", "release")

    def __init__(
        self, concepts: Iterable[Concept], supersessions: Iterable[Supersession], release: str
    ) -> None:
        self.release = release
        self._table: pl.DataFrame | None = None
        by_code = {concept.code: concept for concept in concepts}
        descendants: defaultdict[str, list[str]] = defaultdict(list)
        for concept in by_code.values():
            for parent in {concept.vmp, concept.vtm} - {None}:
                if parent in by_code:
                    descendants[parent].append(concept.code)
        self._by_code: Mapping[str, Concept] = MappingProxyType(by_code)
        self._descendants: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {code: tuple(sorted(children)) for code, children in descendants.items()}
        )
        # A supersession is useful only when the previous id is not itself a live concept.
        self._superseded: Mapping[str, Supersession] = MappingProxyType(
            {s.previous_code: s for s in supersessions if s.previous_code not in by_code}
        )

    @classmethod
    def from_tables(
        cls, concepts: pl.DataFrame, superseded: pl.DataFrame, release: str
    ) -> DmdIndex:
        """An index over an extract's tables that builds each Concept on first lookup.

        `concepts` has the columns code, name, level, vmp, vtm, bnf_code, invalid;
        `superseded` has previous_code, current_code, changed_on. Loads a full release in a
        fraction of a second, where building every Concept up front takes seconds.
        """
        by_code = LazyConcepts(concepts)
        live = superseded.join(
            concepts.select(previous_code="code"), on="previous_code", how="anti"
        )
        index = cls.__new__(cls)
        index.release = release
        index._table = by_code.frame
        index._by_code = by_code
        index._descendants = LazyDescendants(concepts, by_code)
        index._superseded = MappingProxyType(
            {
                previous: Supersession(previous, current, changed_on)
                for previous, current, changed_on in live.select(
                    "previous_code", "current_code", "changed_on"
                ).iter_rows()
            }
        )
        return index

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def concept(self, code: str) -> Concept | None:
        """The concept with exactly this id, without following supersessions."""
        return self._by_code.get(code)

    def concepts(self) -> Iterable[Concept]:
        """Every concept in the index."""
        return self._by_code.values()

    def codes(self) -> Iterable[str]:
        """Every concept's code, in the order of `concepts()` (no Concept is built)."""
        return iter(self._by_code)

    def table(self) -> pl.DataFrame:
        """Every concept as a row (`columnar.COLUMNS`), in the order of `concepts()`."""
        if self._table is None:
            self._table = concepts_frame(self._by_code.values())
        return self._table

    def preload(self, codes: Iterable[str]) -> None:
        """Build these concepts and their parents at once before resolving many of them
        (an index over an extract builds each on first lookup; others hold them all)."""
        if isinstance(self._by_code, LazyConcepts):
            self._by_code.preload(codes)

    def descendants(self, code: str) -> tuple[str, ...]:
        """Codes directly below `code`: the VMPs and AMPs of a VTM, the AMPs of a VMP."""
        return self._descendants.get(code, ())

    def resolve(self, code: str) -> Resolved | Unresolved:
        """Resolve a well-formed code to its current concept and ancestors, or say why not."""
        current, supersession = self._successor(code)
        concept = self._by_code.get(current)
        if concept is None:
            return Unresolved(code, UnresolvedReason.UNKNOWN, f"not in dm+d extract {self.release}")
        if concept.invalid:
            return Unresolved(
                code, UnresolvedReason.INACTIVE, f"{concept.name!r} is flagged invalid in dm+d"
            )
        if concept.level is Level.NON_DMD:
            return Unresolved(
                code,
                UnresolvedReason.NOT_MEDICINAL_PRODUCT,
                f"{concept.name!r} is a SNOMED CT concept outside dm+d; send its VMP or AMP",
            )
        if concept.level in (Level.VMPP, Level.AMPP):
            return Unresolved(
                code,
                UnresolvedReason.PACK_LEVEL,
                f"{concept.name!r} is a dm+d pack ({concept.level.value}); send the VMP or AMP",
            )
        return Resolved(code, concept, self._ancestors(concept), supersession)

    def current_code(self, code: str) -> str:
        """The id a retired code was replaced by (followed as `resolve` does), else the code."""
        return self._successor(code)[0]

    def _successor(self, code: str) -> tuple[str, Supersession | None]:
        supersession = None
        current = code
        for _ in range(_MAX_SUPERSESSION_HOPS):
            if current in self._by_code:
                break
            step = self._superseded.get(current)
            if step is None:
                break
            supersession = Supersession(code, step.current_code, step.changed_on)
            current = step.current_code
        return current, supersession

    def _ancestors(self, concept: Concept) -> tuple[Concept, ...]:
        ancestors: list[Concept] = []
        for parent_code in (concept.vmp, concept.vtm):
            parent = self._by_code.get(parent_code) if parent_code else None
            if parent is not None and parent not in ancestors:
                ancestors.append(parent)
        return tuple(ancestors)
