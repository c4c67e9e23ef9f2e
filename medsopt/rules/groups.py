"""Compile drug and condition groups (codelists, include_groups, exclusions) and scales."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from medsopt.authoring.codelists import parse_codelist
from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, Level, did_you_mean
from medsopt.dmd.concepts import Resolved
from medsopt.dmd.index import DmdIndex
from medsopt.rules.located import Located
from medsopt.rules.models import Group, Scale
from medsopt.rules.ruleset import GroupInfo, ScaleTable


def compile_groups(
    groups: list[Located[Group]],
    sources: Mapping[str, str],
    dmd: DmdIndex,
    problems: list[Diagnostic],
) -> dict[str, GroupInfo]:
    """Resolve codelists, include_groups (cycle-checked) and exclusions into code sets, keeping
    each code's term (a group's own `codes:` entries first, then its codelist, then included
    groups in order; the first term found for a code names it)."""
    by_id: dict[str, Located[Group]] = {}
    for located in groups:
        first = by_id.get(located.item.id)
        if first is not None:
            problems.append(
                Diagnostic(
                    located.file,
                    located.line,
                    located.column,
                    DiagnosticKind.DUPLICATE_ID,
                    f"group id {located.item.id!r} is already defined at {first.file}:{first.line}",
                )
            )
            continue
        by_id[located.item.id] = located

    own_terms: dict[str, dict[str, str]] = {}
    live = set(dmd.codes())  # a set lookup, not a search of the index, for every listed code
    for gid, located in by_id.items():
        group = located.item
        terms: dict[str, str] = {}
        for c in group.codes:
            terms.setdefault(c.code, c.term)
        if group.codelist is not None:
            text = sources.get(group.codelist)
            if text is None:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.MISSING_FILE,
                        f"group {gid!r}: codelist {group.codelist!r} not found",
                        expected="a path relative to the rules directory, e.g. codelists/x.csv",
                    )
                )
            else:
                entries, found = parse_codelist(text, group.codelist)
                problems.extend(found)
                for e in entries:
                    terms.setdefault(e.code, e.term)
                if group.kind == "medicine":
                    problems.extend(
                        Diagnostic(
                            group.codelist,
                            e.line,
                            1,
                            DiagnosticKind.UNKNOWN_CODE,
                            f"code {e.code} ({e.term}) is not in dm+d extract {dmd.release}",
                            level=Level.WARNING,
                        )
                        for e in entries
                        if e.code not in live and not isinstance(dmd.resolve(e.code), Resolved)
                    )
        own_terms[gid] = terms

    resolved: dict[str, Mapping[str, str]] = {}

    def expand(gid: str, trail: tuple[str, ...]) -> Mapping[str, str]:
        if gid in resolved:
            return resolved[gid]
        located = by_id[gid]
        terms = dict(own_terms[gid])
        for index, child in enumerate(located.item.include_groups):
            if child not in by_id:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.UNKNOWN_REFERENCE,
                        f"group {gid!r} includes unknown group {child!r} (include_groups[{index}])",
                        hint=did_you_mean(child, by_id),
                    )
                )
            elif child in trail:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.GROUP_CYCLE,
                        "groups include each other: " + " -> ".join((*trail, child)),
                    )
                )
            elif by_id[child].item.kind != located.item.kind:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.INVALID_VALUE,
                        f"group {gid!r} ({located.item.kind}) includes {child!r} "
                        f"({by_id[child].item.kind})",
                        expected="groups of the same kind",
                    )
                )
            else:
                for code, term in expand(child, (*trail, child)).items():
                    terms.setdefault(code, term)
        for excluded in located.item.exclude:
            terms.pop(excluded.code, None)
        resolved[gid] = MappingProxyType(terms)
        return resolved[gid]

    return {
        gid: GroupInfo(
            gid,
            located.item.title,
            located.item.kind,
            frozenset(expand(gid, (gid,))),
            located.file,
            located.line,
            located.item.matching,
            terms=expand(gid, (gid,)),  # memoised: the same mapping the codes came from
        )
        for gid, located in by_id.items()
    }


def compile_scales(
    scales: list[Located[Scale]], dmd: DmdIndex, problems: list[Diagnostic]
) -> dict[str, ScaleTable]:
    """Each scale as a code -> (score, name) table; unknown codes are reported as warnings."""
    tables: dict[str, ScaleTable] = {}
    for located in scales:
        scale = located.item
        if scale.id in tables:
            problems.append(
                Diagnostic(
                    located.file,
                    located.line,
                    located.column,
                    DiagnosticKind.DUPLICATE_ID,
                    f"scale id {scale.id!r} is defined twice",
                )
            )
            continue
        scores: dict[str, tuple[int, str]] = {}
        for entry in scale.entries:
            if entry.code in scores:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.DUPLICATE_ID,
                        f"scale {scale.id}: {entry.code} ({entry.name}) is listed twice",
                    )
                )
            if entry.code not in dmd:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.UNKNOWN_CODE,
                        f"scale {scale.id}: {entry.code} ({entry.name}) is not in dm+d extract "
                        f"{dmd.release}",
                        level=Level.WARNING,
                    )
                )
            scores[entry.code] = (entry.score, entry.name)
        tables[scale.id] = ScaleTable(scale.id, scale.title, MappingProxyType(scores))
    return tables
