"""Compile formulary files into an immutable lookup keyed by dm+d code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from medsopt.authoring.diagnostics import (
    Diagnostic,
    DiagnosticKind,
    RuleSetError,
    did_you_mean,
)
from medsopt.authoring.diagnostics import Level as Severity
from medsopt.authoring.source_map import parse_yaml
from medsopt.authoring.validate import validate
from medsopt.dmd.concepts import Concept, Level
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.models import FormularyFile, FormularyHeader, Product, TherapeuticClass


@dataclass(frozen=True, slots=True)
class Formulary:
    """A compiled local formulary."""

    header: FormularyHeader
    products: Mapping[str, Product]
    classes: Mapping[str, TherapeuticClass]

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


def compile_formulary(
    sources: Mapping[str, str], dmd: DmdIndex
) -> tuple[Formulary, tuple[Diagnostic, ...]]:
    """A Formulary and its warnings from {relative path: text}; raise RuleSetError on errors."""
    problems: list[Diagnostic] = []
    headers: list[FormularyHeader] = []
    products: dict[str, Product] = {}
    classes: dict[str, TherapeuticClass] = {}
    placed: dict[str, tuple[str, int]] = {}
    for path in sorted(sources):
        parsed = parse_yaml(sources[path], path)
        model, found = validate(parsed, FormularyFile)
        problems.extend(found)
        if model is None:
            continue
        locate = parsed.source_map.locate
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
    return Formulary(headers[0], MappingProxyType(products), MappingProxyType(classes)), warnings


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
                f"VTM {code} ({concept.name}) has no products in dm+d extract {dmd.release}, so "
                "this entry covers nothing",
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
