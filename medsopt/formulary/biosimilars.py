"""The biosimilar equivalence table (formulary/biosimilars/*.yaml), one molecule per file.

MHRA: biological medicines are prescribed by brand, and switching between brands is a prescriber
decision, never a pharmacy substitution. So the table lists brand products (AMPs) with what a
safe switch must keep (route, strength, presentation) and what may differ but must be said
(volume per dose, citrate, latex, the reusable pen a cartridge fits, indications a brand is not
licensed for). Compiling checks every entry against its dm+d concept and name, so an attribute
that contradicts the product it describes is an error at its file:line:column.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError, did_you_mean
from medsopt.authoring.fields import FileModel, Text
from medsopt.authoring.source_map import Path
from medsopt.authoring.validate import validated_files
from medsopt.dmd.concepts import Concept, Level
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.models import ProductRef

Route = Literal["subcutaneous", "intravenous", "intravitreal"]
Presentation = Literal["pre-filled-pen", "pre-filled-syringe", "cartridge", "vial", "infusion-bag"]
Role = Literal["originator", "biosimilar"]
# How the product is dosed, as its dm+d name gives it: per unit ("40mg" a pen, "100mg" a vial) or,
# for multi-dose insulin, its concentration ("100units/ml"). Products switch only when it is equal.
Strength = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?(mg|micrograms|units/ml)$")]
# The word in a dm+d name that shows each presentation.
PRESENTATION_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "pre-filled-pen": "pen",
        "pre-filled-syringe": "syringe",
        "cartridge": "cartridge",
        "vial": "vial",
        "infusion-bag": "bag",
    }
)


class Citation(FileModel):
    """A source for the table's content."""

    source: Text
    reference: Text
    url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None


class Exclusion(FileModel):
    """An indication a brand is not licensed for: machine-checked only when `codes` are given."""

    indication: Text
    codes: tuple[ProductRef, ...] = ()  # SNOMED CT condition codes, each with its term as name
    source: Text


class Brand(FileModel):
    """A brand (one marketing authorisation) of the molecule."""

    name: Text
    role: Role
    not_licensed_for: tuple[Exclusion, ...] = ()
    note: str = ""


class Price(FileModel):
    """A price per dose unit, or per pack of `doses_per_pack` dose units."""

    gbp: Annotated[float, Field(ge=0)]
    per: Literal["dose", "pack"]
    doses_per_pack: Annotated[int, Field(ge=1)] | None = None
    source: Text
    as_of: datetime.date

    @model_validator(mode="after")
    def _pack_size(self) -> Price:
        if self.per == "pack" and self.doses_per_pack is None:
            raise ValueError("a price per pack needs doses_per_pack")
        return self

    @property
    def per_dose(self) -> float:
        return self.gbp / (self.doses_per_pack or 1) if self.per == "pack" else self.gbp


class ProductEntry(ProductRef):
    """A brand product (AMP); `name` is its dm+d name, exactly."""

    brand: Text
    generic: str | None = None  # its VMP: one of the molecule's generics
    strength: Strength
    volume_ml: Annotated[float, Field(gt=0)] | None = None  # per dose unit, cartridge or vial
    route: Route
    presentation: Presentation
    device: str = ""  # the device's own name, e.g. SoloStar, KwikPen, MyClic
    reusable_pen: str = ""  # cartridges only: the reusable pens it fits (SPC section 6.6)
    citrate: bool | None = None  # None: not recorded
    latex: bool | None = None
    usual_dose_interval_days: Annotated[float, Field(gt=0)] | None = None
    price: Price | None = None
    note: str = ""

    @model_validator(mode="after")
    def _cartridge_pen(self) -> ProductEntry:
        if (self.presentation == "cartridge") != bool(self.reusable_pen):
            raise ValueError("reusable_pen is required for cartridges, and only for cartridges")
        return self


class Molecule(ProductRef):
    """A molecule (`code` = its dm+d VTM) with its brands, brand products and generics."""

    reference_product: Text
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    generics: tuple[ProductRef, ...] = ()  # VMPs: prescribing one of these is not by brand
    brands: tuple[Brand, ...] = ()
    products: tuple[ProductEntry, ...] = ()
    note: str = ""

    @field_validator("brands")
    @classmethod
    def _unique_brands(cls, brands: tuple[Brand, ...]) -> tuple[Brand, ...]:
        names = [brand.name for brand in brands]
        if len(set(names)) != len(names):
            raise ValueError("a brand is listed twice")
        return brands


class BiosimilarFile(FileModel):
    """A YAML file in formulary/biosimilars/."""

    molecule: Molecule


@dataclass(frozen=True, slots=True)
class BrandProduct:
    """A compiled brand product: what the engine matches and explains."""

    entry: ProductEntry
    molecule: str  # VTM code
    molecule_name: str
    role: Role
    not_licensed_for: tuple[Exclusion, ...]
    dmd_level: str  # AMP, or UNCLASSIFIED where no source gave dm+d's level

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def disposable(self) -> bool:
        """Pre-filled pens and syringes are disposable; a cartridge goes in a reusable pen."""
        return self.entry.presentation in ("pre-filled-pen", "pre-filled-syringe")


@dataclass(frozen=True, slots=True)
class MoleculeTable:
    """One molecule's compiled entry."""

    molecule: Molecule
    products: tuple[BrandProduct, ...]
    file: str

    @property
    def code(self) -> str:
        return self.molecule.code

    @property
    def name(self) -> str:
        return self.molecule.name


@dataclass(frozen=True, slots=True)
class BiosimilarTable:
    """The compiled table: molecules, brand products and generic products by dm+d code."""

    molecules: Mapping[str, MoleculeTable]  # by VTM code
    products: Mapping[str, BrandProduct]
    generics: Mapping[str, str]  # generic product code -> VTM code

    def molecule_of(self, code: str) -> MoleculeTable | None:
        """The molecule that a VTM, generic or brand product code belongs to."""
        product = self.products.get(code)
        vtm = product.molecule if product is not None else self.generics.get(code, code)
        return self.molecules.get(vtm)


def compile_biosimilars(sources: Mapping[str, str], dmd: DmdIndex) -> BiosimilarTable:
    """Build the table from {relative path: text}; raise RuleSetError listing every error."""
    problems: list[Diagnostic] = []
    molecules: dict[str, MoleculeTable] = {}
    products: dict[str, BrandProduct] = {}
    generics: dict[str, str] = {}
    yaml_files = (p for p in sources if p.endswith((".yaml", ".yml")))
    for path, model, source_map in validated_files(sources, yaml_files, BiosimilarFile, problems):
        molecule = model.molecule
        checker = _Checker(path, source_map.locate, dmd, problems)
        if molecule.code in molecules:
            checker.error(
                ("molecule", "code"),
                DiagnosticKind.DUPLICATE_ID,
                f"molecule {molecule.code} is also in {molecules[molecule.code].file}",
            )
            continue
        checker.concept(("molecule",), molecule, (Level.VTM,))
        for index, generic in enumerate(molecule.generics):
            where: Path = ("molecule", "generics", index)
            if generic.code in generics:
                checker.error(where, DiagnosticKind.DUPLICATE_ID, f"{generic.code} listed twice")
            generics[generic.code] = molecule.code
            concept = checker.concept(where, generic, (Level.VMP, Level.UNCLASSIFIED))
            if concept is not None and concept.vtm not in (None, molecule.code):
                checker.error(
                    (*where, "code"),
                    DiagnosticKind.INVALID_VALUE,
                    f"dm+d puts {generic.code} under VTM {concept.vtm}, not {molecule.code}",
                )
        brands = {brand.name: brand for brand in molecule.brands}
        compiled: list[BrandProduct] = []
        for index, entry in enumerate(molecule.products):
            where = ("molecule", "products", index)
            brand = brands.get(entry.brand)
            if entry.code in products:
                checker.error(where, DiagnosticKind.DUPLICATE_ID, f"{entry.code} listed twice")
            elif brand is None:
                checker.error(
                    (*where, "brand"),
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"brand {entry.brand!r} is not one of this molecule's brands",
                    hint=did_you_mean(entry.brand, brands),
                )
            else:
                level = checker.product(where, entry, molecule)
                product = BrandProduct(
                    entry, molecule.code, molecule.name, brand.role, brand.not_licensed_for, level
                )
                products[entry.code] = product
                compiled.append(product)
        checker.one_shape_per_generic(compiled)
        molecules[molecule.code] = MoleculeTable(molecule, tuple(compiled), path)
    if problems:
        raise RuleSetError(problems)
    return BiosimilarTable(
        MappingProxyType(molecules), MappingProxyType(products), MappingProxyType(generics)
    )


@dataclass(frozen=True, slots=True)
class _Checker:
    """Cross-checks of one file against dm+d, each reported at the entry's position."""

    file: str
    locate: Callable[[Path], tuple[int, int]]
    dmd: DmdIndex
    problems: list[Diagnostic]

    def error(self, path: Path, kind: DiagnosticKind, message: str, hint: str = "") -> None:
        line, column = self.locate(path)
        self.problems.append(Diagnostic(self.file, line, column, kind, message, hint=hint))

    def concept(self, where: Path, ref: ProductRef, levels: tuple[Level, ...]) -> Concept | None:
        """The dm+d concept of `ref`, checking that it exists, has this name and a level."""
        concept = self.dmd.concept(ref.code)
        if concept is None:
            self.error(
                (*where, "code"),
                DiagnosticKind.UNKNOWN_CODE,
                f"code {ref.code} is not in dm+d extract {self.dmd.release}",
            )
            return None
        if concept.name != ref.name:
            self.error(
                (*where, "name"),
                DiagnosticKind.INVALID_VALUE,
                f"{ref.code} is {concept.name!r} in dm+d, not {ref.name!r}",
            )
        if concept.level not in levels:
            wanted = " or ".join(level.value for level in levels)
            self.error(
                (*where, "code"),
                DiagnosticKind.INVALID_VALUE,
                f"{ref.code} is a dm+d {concept.level.value}; expected {wanted}",
            )
        return concept

    def product(self, where: Path, entry: ProductEntry, molecule: Molecule) -> str:
        """Check a brand product against dm+d and its own name; return its dm+d level."""
        concept = self.concept(where, entry, (Level.AMP, Level.UNCLASSIFIED))
        generics = {generic.code for generic in molecule.generics}
        unknown_generic = entry.generic is not None and entry.generic not in generics
        if unknown_generic:
            self.error(
                (*where, "generic"),
                DiagnosticKind.UNKNOWN_REFERENCE,
                f"generic {entry.generic} is not one of this molecule's generics",
            )
        if concept is None:
            return "unknown"
        # (Diagnostics at one position must share a kind: they are sorted, kinds are not ordered.)
        if concept.vmp is not None and concept.vmp != entry.generic and not unknown_generic:
            self.error(
                (*where, "generic"),
                DiagnosticKind.INVALID_VALUE,
                f"dm+d gives {entry.code} the VMP {concept.vmp}, not {entry.generic}",
            )
        if concept.vtm not in (None, molecule.code):
            self.error(
                (*where, "code"),
                DiagnosticKind.INVALID_VALUE,
                f"dm+d puts {entry.code} under VTM {concept.vtm}, not {molecule.code}",
            )
        for field, problem in _name_problems(entry):
            self.error((*where, field), DiagnosticKind.INVALID_VALUE, problem)
        return concept.level.value

    def one_shape_per_generic(self, products: list[BrandProduct]) -> None:
        """Brand products of one generic (VMP) share its route, strength and presentation."""
        first: dict[str, BrandProduct] = {}
        for product in products:
            entry = product.entry
            if entry.generic is None:
                continue
            seen = first.setdefault(entry.generic, product)
            shape = (entry.route, entry.strength, entry.presentation)
            if shape != (seen.entry.route, seen.entry.strength, seen.entry.presentation):
                where = ("molecule", "products")
                self.error(
                    where,
                    DiagnosticKind.INVALID_VALUE,
                    f"{entry.code} and {seen.code} share generic {entry.generic} but differ in "
                    "route, strength or presentation",
                )


def _name_problems(entry: ProductEntry) -> list[tuple[str, str]]:
    """Attributes that contradict the dm+d name: (field, problem)."""
    name = entry.name.lower()
    compact = name.replace(" ", "")
    problems: list[tuple[str, str]] = []
    if entry.brand.lower() not in name:
        problems.append(("brand", f"brand {entry.brand!r} is not in the name {entry.name!r}"))
    if not _has_quantity(compact, entry.strength):
        problems.append(("strength", f"strength {entry.strength} is not in {entry.name!r}"))
    volume = entry.volume_ml
    if volume is not None and not (
        _has_quantity(compact, f"{volume:g}ml")
        or _has_quantity(compact, f"{volume * 1000:g}microlitres")
    ):
        problems.append(("volume_ml", f"volume {volume:g} ml is not in {entry.name!r}"))
    if PRESENTATION_WORDS[entry.presentation] not in name:
        problems.append(("presentation", f"{entry.presentation} does not fit {entry.name!r}"))
    if "infusion" in name and entry.route != "intravenous":
        problems.append(("route", f"{entry.name!r} is for infusion, so intravenous"))
    return problems


def _has_quantity(compact_name: str, quantity: str) -> bool:
    """True when `quantity` (e.g. 40mg) is in the name, not as the tail of a bigger number."""
    return re.search(rf"(?<![0-9.]){re.escape(quantity.lower())}", compact_name) is not None
