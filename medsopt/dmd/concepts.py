"""dm+d concepts: the VTM → VMP → AMP hierarchy and how a code resolved."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    """dm+d level of a concept."""

    VTM = "VTM"  # Virtual Therapeutic Moiety: the molecule, e.g. "Warfarin".
    VMP = "VMP"  # Virtual Medicinal Product: generic product, e.g. "Warfarin 1mg tablets".
    AMP = "AMP"  # Actual Medicinal Product: a brand/supplier's product.
    VMPP = "VMPP"  # Pack of a VMP.
    AMPP = "AMPP"  # Pack of an AMP.
    # Level unknown: a real code from a published medicines codelist whose dm+d level no source
    # gave. A VTM, VMP or AMP, or a pack that a code set lists under its product's name; it
    # resolves as a product. Full dm+d releases have none.
    UNCLASSIFIED = "UNCLASSIFIED"
    # A SNOMED CT concept that is not in dm+d (e.g. an international "... in oral dosage form").
    NON_DMD = "NON_DMD"

    @property
    def is_product(self) -> bool:
        """True for the levels a prescription names: VTM, VMP, AMP (and unclassified products)."""
        return self in (Level.VTM, Level.VMP, Level.AMP, Level.UNCLASSIFIED)

    @property
    def label(self) -> str:
        """The level as an explanation names it, e.g. "VMP", "UNCLASSIFIED (dm+d level unknown)"."""
        return _LABELS[self]


# Looked up per explanation step on the hot path, so built once.
_LABELS = {
    level: f"{level.value} (dm+d level unknown)" if level is Level.UNCLASSIFIED else level.value
    for level in Level
}


@dataclass(frozen=True, slots=True)
class Concept:
    """One dm+d concept with its parent links (None where no source gives the link)."""

    code: str
    name: str
    level: Level
    vmp: str | None = None  # parent VMP of an AMP
    vtm: str | None = None  # VTM of a VMP (or of an AMP, through its VMP)
    bnf_code: str | None = None
    invalid: bool = False


@dataclass(frozen=True, slots=True)
class Supersession:
    """A retired dm+d id and the id that replaced it."""

    previous_code: str
    current_code: str
    changed_on: str | None


class UnresolvedReason(enum.Enum):
    """Why a well-formed code could not be used."""

    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    NOT_MEDICINAL_PRODUCT = "not a medicinal product"
    PACK_LEVEL = "pack level"
    # Known by name only (no dm+d level, no parent) and listed by no group: it cannot be
    # screened, so it is reported rather than passed as checked.
    NOT_PLACED = "not placed"


@dataclass(frozen=True, slots=True)
class Resolved:
    """A code resolved to a concept, with its ancestors (AMP → VMP → VTM), nearest first."""

    code: str
    concept: Concept
    ancestors: tuple[Concept, ...]
    superseded: Supersession | None = None

    @property
    def lineage(self) -> tuple[Concept, ...]:
        """The concept followed by its ancestors."""
        return (self.concept, *self.ancestors)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A code that did not resolve, and why."""

    code: str
    reason: UnresolvedReason
    message: str
