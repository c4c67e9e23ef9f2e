"""Compile formulary files into an immutable lookup keyed by dm+d code."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from medsopt.authoring.diagnostics import (
    Diagnostic,
    DiagnosticKind,
    RuleSetError,
    did_you_mean,
)
from medsopt.authoring.diagnostics import Level as Severity
from medsopt.authoring.source_map import Path
from medsopt.authoring.validate import validated_files
from medsopt.dmd.concepts import Concept, Level
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.biosimilars import BiosimilarTable
from medsopt.formulary.models import (
    BiosimilarPreference,
    FormularyFile,
    FormularyHeader,
    PreferredBrand,
    Product,
    TherapeuticClass,
)


@dataclass(frozen=True, slots=True)
class Formulary:
    """A compiled local formulary."""

    header: FormularyHeader
    products: Mapping[str, Product]
    classes: Mapping[str, TherapeuticClass]
    # Preferred biologic brands by molecule (VTM code).
    biosimilars: Mapping[str, BiosimilarPreference] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def version(self) -> str:
        return f"{self.header.name} {self.header.version}"

    def entry_for(self, lineage: tuple[Concept, ...]) -> Product | None:
        """The most specific entry for a concept and its ancestors (AMP before VMP before VTM)."""
        for concept in lineage:
            entry = self.products.get(concept.code)
            if entry is not None:
                return entry
        return None

    def preferred_brands(self, molecule: str, on: datetime.date) -> tuple[PreferredBrand, ...]:
        """The brands preferred for a molecule (VTM code) on a date, best first."""
        preference = self.biosimilars.get(molecule)
        if preference is None:
            return ()
        return tuple(
            p
            for p in preference.preferred
            if p.effective_from <= on and (p.effective_to is None or on <= p.effective_to)
        )


def compile_formulary(
    sources: Mapping[str, str], dmd: DmdIndex, biosimilars: BiosimilarTable | None = None
) -> tuple[Formulary, tuple[Diagnostic, ...]]:
    """A Formulary and its warnings from {relative path: text}; raise RuleSetError on errors.

    Preferred biologic brands are checked against `biosimilars` (the equivalence table) if given.
    """
    problems: list[Diagnostic] = []
    headers: list[FormularyHeader] = []
    products: dict[str, Product] = {}
    classes: dict[str, TherapeuticClass] = {}
    placed: dict[str, tuple[str, int]] = {}
    preferences: dict[str, BiosimilarPreference] = {}
    for path, model, source_map in validated_files(sources, sources, FormularyFile, problems):
        locate = source_map.locate
        if model.formulary is not None:
            headers.append(model.formulary)
        for index, cls in enumerate(model.classes):
            if cls.id in classes:
                line, column = locate(("classes", index))
                problems.append(
                    Diagnostic(
                        path,
                        line,
                        column,
                        DiagnosticKind.DUPLICATE_ID,
                        f"class {cls.id!r} is defined twice",
                    )
                )
            classes[cls.id] = cls
            for ref_index, ref in enumerate(cls.preferred_order):
                _check_code(
                    ref.code,
                    dmd,
                    path,
                    locate(("classes", index, "preferred_order", ref_index, "code")),
                    problems,
                )
        for index, product in enumerate(model.products):
            line, column = locate(("products", index))
            if product.code in products:
                problems.append(
                    Diagnostic(
                        path,
                        line,
                        column,
                        DiagnosticKind.DUPLICATE_ID,
                        f"product {product.code} ({product.name}) is already listed at "
                        f"{':'.join(map(str, placed[product.code]))}",
                    )
                )
                continue
            products[product.code] = product
            placed[product.code] = (path, line)
            _check_code(product.code, dmd, path, (line, column), problems)
            for alt_index, alternative in enumerate(product.alternatives):
                _check_code(
                    alternative.code,
                    dmd,
                    path,
                    locate(("products", index, "alternatives", alt_index, "code")),
                    problems,
                )
        for index, preference in enumerate(model.biosimilars):
            _check_preference(
                preference, preferences, biosimilars, dmd, path, index, locate, problems
            )
            preferences.setdefault(preference.molecule.code, preference)
    for code, product in products.items():
        cls_id = product.therapeutic_class
        if cls_id is not None and cls_id not in classes:
            file, where = placed[code]
            problems.append(
                Diagnostic(
                    file,
                    where,
                    1,
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"product {code} names unknown class {cls_id!r}",
                    hint=did_you_mean(cls_id, classes),
                )
            )
    invalid_files = any(p.level is Severity.ERROR for p in problems)
    if len(headers) != 1 and not (invalid_files and not headers):
        problems.append(
            Diagnostic(
                "formulary.yaml",
                1,
                1,
                DiagnosticKind.MISSING_FIELD,
                f"expected exactly one `formulary:` header, found {len(headers)}",
            )
        )
    errors = [p for p in problems if p.level is Severity.ERROR]
    if errors:
        raise RuleSetError(errors)
    warnings = tuple(sorted(p for p in problems if p.level is Severity.WARNING))
    formulary = Formulary(
        headers[0],
        MappingProxyType(products),
        MappingProxyType(classes),
        MappingProxyType(preferences),
    )
    return formulary, warnings


def _check_preference(
    preference: BiosimilarPreference,
    seen: Mapping[str, BiosimilarPreference],
    table: BiosimilarTable | None,
    dmd: DmdIndex,
    file: str,
    index: int,
    locate: Callable[[Path], tuple[int, int]],
    problems: list[Diagnostic],
) -> None:
    """One molecule once, a known code, and (given the table) brands the table lists for it."""
    code = preference.molecule.code
    where: Path = ("biosimilars", index, "molecule")
    if code in seen:
        problems.append(
            Diagnostic(
                file, *locate(where), DiagnosticKind.DUPLICATE_ID, f"molecule {code} listed twice"
            )
        )
    if table is None:
        # Brands are matched through the table, not dm+d lineage: only the code's existence matters.
        if code not in dmd:
            problems.append(
                Diagnostic(
                    file,
                    *locate((*where, "code")),
                    DiagnosticKind.UNKNOWN_CODE,
                    f"code {code} is not in dm+d extract {dmd.release}",
                    expected="the molecule's VTM code",
                )
            )
        return
    molecule = table.molecules.get(code)
    if molecule is None:
        problems.append(
            Diagnostic(
                file,
                *locate((*where, "code")),
                DiagnosticKind.UNKNOWN_REFERENCE,
                f"{code} ({preference.molecule.name}) is not a molecule of the biosimilar table",
                expected="a VTM listed in formulary/biosimilars/",
            )
        )
        return
    brands = {brand.name for brand in molecule.molecule.brands}
    for brand_index, preferred in enumerate(preference.preferred):
        if preferred.brand not in brands:
            problems.append(
                Diagnostic(
                    file,
                    *locate(("biosimilars", index, "preferred", brand_index, "brand")),
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"{preferred.brand!r} is not a brand of {molecule.name} in the biosimilar "
                    "table",
                    expected=", ".join(sorted(brands)) or "a brand with products in the table",
                    hint=did_you_mean(preferred.brand, brands),
                )
            )


def _check_code(
    code: str, dmd: DmdIndex, file: str, position: tuple[int, int], problems: list[Diagnostic]
) -> None:
    concept = dmd.concept(code)
    if concept is not None and concept.level is Level.VTM and not dmd.descendants(code):
        # Some molecules have two VTM ids; an entry on the one no product links to covers nothing.
        problems.append(
            Diagnostic(
                file,
                *position,
                DiagnosticKind.UNKNOWN_CODE,
                f"VTM {code} ({concept.name}) has no products in dm+d extract {dmd.release}: "
                "this entry covers only prescriptions written at VTM level",
                hint="use the VTM that the molecule's VMPs link to",
                level=Severity.WARNING,
            )
        )
    if code not in dmd:
        problems.append(
            Diagnostic(
                file,
                *position,
                DiagnosticKind.UNKNOWN_CODE,
                f"code {code} is not in dm+d extract {dmd.release}",
                expected="a current VTM, VMP or AMP code",
            )
        )
