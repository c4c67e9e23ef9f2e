"""Compile indicator files: validate each to file:line:column and check every name they use.

A group must exist in the rule set with the kind the criterion reads (medicine, condition, test);
a codelist must exist beside the files and parse. An active indicator whose codelist holds no
code is an error: it would count nobody and look like a result. Such an indicator stays draft.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from medsopt.analytics.models import Criterion, Indicator, IndicatorFile
from medsopt.authoring.codelists import parse_codelist
from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError, did_you_mean
from medsopt.authoring.source_map import Path, SourceMap
from medsopt.authoring.validate import validated_files

# Criterion field -> the rule-set group kind it names.
GROUP_KINDS = {"medicine": "medicine", "condition": "condition", "test": "test"}


@dataclass(frozen=True, slots=True)
class IndicatorSet:
    """The compiled indicators and the codes of every codelist they name."""

    indicators: tuple[Indicator, ...]
    codelists: Mapping[str, frozenset[str]]  # "codelists/x.csv" -> codes
    files: Mapping[str, str]  # indicator id -> file it is defined in
    # indicator id -> the line it starts on in its file
    lines: Mapping[str, int] = dataclasses.field(default_factory=dict)


def walk(criteria: tuple[Criterion, ...], path: Path) -> Iterator[tuple[Criterion, Path]]:
    """Every criterion, nested ones included, with its path in the file."""
    for index, criterion in enumerate(criteria):
        here = (*path, index)
        yield criterion, here
        yield from walk(criterion.any_of, (*here, "any_of"))
        yield from walk(criterion.none_of, (*here, "none_of"))


def criteria_of(indicator: Indicator) -> Iterator[tuple[Criterion, Path]]:
    """Every criterion of an indicator with its path relative to the indicator."""
    for part in ("denominator", "exclusions", "numerator"):
        yield from walk(getattr(indicator, part), (part,))


def missing_codelists(indicator: Indicator, codelists: Mapping[str, frozenset[str]]) -> list[str]:
    """The codelists the indicator names that hold no code: while any does, the indicator is
    not measurable (it would count nobody, or exclude nobody, and look like a result)."""
    named = (c.codelist or c.dispensed for c, _ in criteria_of(indicator))
    return sorted({name for name in named if name is not None and not codelists.get(name)})


def not_measurable(indicator: Indicator, codelists: Mapping[str, frozenset[str]]) -> str | None:
    """ "not measurable: codelist X holds no code" for such an indicator, else None."""
    missing = missing_codelists(indicator, codelists)
    if not missing:
        return None
    return f"not measurable: codelist {', '.join(missing)} holds no code"


def compile_indicators(
    sources: Mapping[str, str],
    codelist_texts: Mapping[str, str],
    group_kinds: Mapping[str, str],
) -> IndicatorSet:
    """Indicators from {path: YAML text}; raise RuleSetError listing every problem.

    `codelist_texts`: {"codelists/x.csv": text}; `group_kinds`: rule-set group id -> kind.
    """
    problems: list[Diagnostic] = []
    codelists: dict[str, frozenset[str]] = {}
    for path, text in sorted(codelist_texts.items()):
        entries, found = parse_codelist(text, path)
        problems.extend(found)
        codelists[path] = frozenset(e.code for e in entries)
    indicators: list[Indicator] = []
    files: dict[str, str] = {}
    lines: dict[str, int] = {}
    for path, parsed, source_map in validated_files(sources, sources, IndicatorFile, problems):
        for index, indicator in enumerate(parsed.indicators):
            where = ("indicators", index)
            if indicator.id in files:
                problems.append(
                    _error(
                        source_map,
                        (*where, "id"),
                        DiagnosticKind.DUPLICATE_ID,
                        f"indicator {indicator.id!r} is also defined in {files[indicator.id]}",
                    )
                )
                continue
            files[indicator.id] = path
            lines[indicator.id] = source_map.locate(where)[0]
            problems.extend(_references(indicator, where, source_map, codelists, group_kinds))
            indicators.append(indicator)
    if problems:
        raise RuleSetError(problems)
    return IndicatorSet(tuple(indicators), codelists, files, lines)


def _references(
    indicator: Indicator,
    where: Path,
    source_map: SourceMap,
    codelists: Mapping[str, frozenset[str]],
    group_kinds: Mapping[str, str],
) -> list[Diagnostic]:
    problems = []
    for criterion, path in criteria_of(indicator):
        for field, kind in GROUP_KINDS.items():
            name = getattr(criterion, field)
            if name is None or group_kinds.get(name) == kind:
                continue
            same_kind = [g for g, k in group_kinds.items() if k == kind]
            problems.append(
                _error(
                    source_map,
                    (*where, *path, field),
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"{name!r} is not a {kind} group of the rule set",
                    did_you_mean(name, same_kind),
                )
            )
        for field in ("codelist", "dispensed"):
            name = getattr(criterion, field)
            if name is None:
                continue
            codes = codelists.get(name)
            if codes is None:
                problems.append(
                    _error(
                        source_map,
                        (*where, *path, field),
                        DiagnosticKind.MISSING_FILE,
                        f"{name} does not exist beside the indicator files",
                    )
                )
            elif not codes and indicator.status == "active":
                problems.append(
                    _error(
                        source_map,
                        (*where, *path, field),
                        DiagnosticKind.INVALID_VALUE,
                        f"{name} holds no code: an active indicator would count nobody",
                        "keep the indicator `status: draft` until the codelist is filled",
                    )
                )
    return problems


def _error(
    source_map: SourceMap, path: Path, kind: DiagnosticKind, message: str, hint: str = ""
) -> Diagnostic:
    line, column = source_map.locate(path)
    return Diagnostic(source_map.file, line, column, kind, message, hint=hint)
