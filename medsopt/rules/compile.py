"""Compile committee files into an indexed RuleSet, collecting every problem before failing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

from medsopt.authoring.codelists import parse_codelist
from medsopt.authoring.diagnostics import (
    Diagnostic,
    DiagnosticKind,
    Level,
    RuleSetError,
    did_you_mean,
)
from medsopt.authoring.source_map import SourceMap, parse_yaml
from medsopt.authoring.validate import validate
from medsopt.dmd.concepts import Level as DmdLevel
from medsopt.dmd.concepts import Resolved
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.formulary import Formulary
from medsopt.rules.models import Group, Rule, RuleFile, RuleSetHeader, Scale
from medsopt.rules.ruleset import (
    CompiledRule,
    GroupInfo,
    Membership,
    RuleSet,
    RuleSetIdentity,
    ScaleTable,
)

TESTS_DIR = "tests/"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule set and the warnings that did not block it."""

    ruleset: RuleSet
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class _Located(Generic[T]):
    item: T
    file: str
    line: int
    column: int


def is_rule_file(path: str) -> bool:
    """Rule and group YAML files: every .yaml/.yml outside tests/."""
    return path.endswith((".yaml", ".yml")) and not path.startswith(TESTS_DIR)


def content_hash(sources: Mapping[str, str], dmd_release: str) -> str:
    """SHA-256 over every source file (path and text, in path order) and the dm+d release."""
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.encode() + b"\0" + sources[path].encode() + b"\0")
    digest.update(dmd_release.encode())
    return digest.hexdigest()


def compile_ruleset(
    sources: Mapping[str, str],
    dmd: DmdIndex,
    include_drafts: bool = False,
    formulary: Formulary | None = None,
    formulary_sources: Mapping[str, str] = MappingProxyType({}),
) -> Compiled:
    """Build a RuleSet from {relative path: text}; raise RuleSetError listing every error.

    `include_drafts` runs draft rules as if active, so a committee can test a rule before
    publishing it; the server never sets it.
    """
    problems: list[Diagnostic] = []
    headers: list[_Located[RuleSetHeader]] = []
    groups: list[_Located[Group]] = []
    rules: list[_Located[Rule]] = []
    scales: list[_Located[Scale]] = []
    for path in sorted(p for p in sources if is_rule_file(p)):
        parsed = parse_yaml(sources[path], path)
        model, found = validate(parsed, RuleFile)
        problems.extend(found)
        if model is None:
            continue
        smap = parsed.source_map
        if model.ruleset is not None:
            headers.append(_at(model.ruleset, smap, ("ruleset",)))
        groups.extend(_at(g, smap, ("groups", i)) for i, g in enumerate(model.groups))
        scales.extend(_at(c, smap, ("scales", i)) for i, c in enumerate(model.scales))
        rules.extend(_at(r, smap, ("rules", i)) for i, r in enumerate(model.rules))

    header = _single_header(headers, problems)
    group_infos = _compile_groups(groups, sources, dmd, problems)
    scale_tables = _compile_scales(scales, dmd, problems)
    _check_rules(rules, group_infos, scale_tables, problems)
    errors = [p for p in problems if p.level is Level.ERROR]
    if errors or header is None:
        raise RuleSetError(errors)

    running = {"active", "draft"} if include_drafts else {"active"}
    active = {
        r.item.id: CompiledRule(r.item, r.file, r.line) for r in rules if r.item.status in running
    }
    inactive = {
        r.item.id: CompiledRule(r.item, r.file, r.line)
        for r in rules
        if r.item.status not in running
    }
    triggers, untriggered = _trigger_index(active.values(), group_infos)
    identity = RuleSetIdentity(
        name=header.name,
        version=header.version,
        effective_date=header.effective_date.isoformat(),
        content_hash=content_hash(
            {**sources, **{f"formulary/{p}": t for p, t in formulary_sources.items()}},
            dmd.release,
        ),
        dmd_release=dmd.release,
        formulary_version=formulary.version if formulary else "",
    )
    ruleset = RuleSet(
        identity=identity,
        dmd=dmd,
        rules=MappingProxyType(active),
        inactive=MappingProxyType(inactive),
        groups=MappingProxyType(group_infos),
        membership=MappingProxyType(_membership_index(group_infos, dmd)),
        triggers=MappingProxyType(triggers),
        untriggered=untriggered,
        formulary=formulary,
        scales=MappingProxyType(scale_tables),
    )
    return Compiled(ruleset, tuple(sorted(p for p in problems if p.level is Level.WARNING)))


def _at(item: T, smap: SourceMap, path: tuple[str | int, ...]) -> _Located[T]:
    line, column = smap.locate(path)
    return _Located(item, smap.file, line, column)


def _single_header(
    headers: list[_Located[RuleSetHeader]], problems: list[Diagnostic]
) -> RuleSetHeader | None:
    if len(headers) == 1:
        return headers[0].item
    if not headers:
        problems.append(
            Diagnostic(
                "ruleset.yaml",
                1,
                1,
                DiagnosticKind.MISSING_FIELD,
                "no file declares the rule set (`ruleset:` with name, version, effective_date)",
            )
        )
    for extra in headers[1:]:
        problems.append(
            Diagnostic(
                extra.file,
                extra.line,
                extra.column,
                DiagnosticKind.DUPLICATE_ID,
                f"a second `ruleset:` header (the first is in {headers[0].file})",
            )
        )
    return None


def _compile_groups(
    groups: list[_Located[Group]],
    sources: Mapping[str, str],
    dmd: DmdIndex,
    problems: list[Diagnostic],
) -> dict[str, GroupInfo]:
    """Resolve codelists, include_groups (cycle-checked) and exclusions into code sets."""
    by_id: dict[str, _Located[Group]] = {}
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

    own_codes: dict[str, set[str]] = {}
    for gid, located in by_id.items():
        group = located.item
        codes = {c.code for c in group.codes}
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
                codes.update(e.code for e in entries)
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
                        if e.code not in dmd and not isinstance(dmd.resolve(e.code), Resolved)
                    )
        own_codes[gid] = codes

    resolved: dict[str, frozenset[str]] = {}

    def expand(gid: str, trail: tuple[str, ...]) -> frozenset[str]:
        if gid in resolved:
            return resolved[gid]
        located = by_id[gid]
        codes = set(own_codes[gid])
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
                codes |= expand(child, (*trail, child))
        codes -= {c.code for c in located.item.exclude}
        resolved[gid] = frozenset(codes)
        return resolved[gid]

    return {
        gid: GroupInfo(
            gid,
            located.item.title,
            located.item.kind,
            expand(gid, (gid,)),
            located.file,
            located.line,
            located.item.matching,
        )
        for gid, located in by_id.items()
    }


def _check_rules(
    rules: list[_Located[Rule]],
    groups: Mapping[str, GroupInfo],
    scales: Mapping[str, ScaleTable],
    problems: list[Diagnostic],
) -> None:
    """Unique ids and references that point at groups of the right kind."""
    seen: dict[str, _Located[Rule]] = {}
    for located in rules:
        rule = located.item
        where = (located.file, located.line, located.column)
        if rule.id in seen:
            first = seen[rule.id]
            problems.append(
                Diagnostic(
                    *where,
                    DiagnosticKind.DUPLICATE_ID,
                    f"rule id {rule.id!r} is already used at {first.file}:{first.line}",
                )
            )
            continue
        seen[rule.id] = located
        match = rule.match
        medicine_refs = [*match.all_of, *match.none_of, *_clause_groups(rule)]
        if match.score is not None and match.score.scale not in scales:
            problems.append(
                Diagnostic(
                    *where,
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"rule {rule.id} refers to unknown scale {match.score.scale!r}",
                    hint=did_you_mean(match.score.scale, scales),
                )
            )
        condition_refs = (
            [*match.patient.conditions_any, *match.patient.conditions_none] if match.patient else []
        )
        for ref, kind in [(r, "medicine") for r in medicine_refs] + [
            (r, "condition") for r in condition_refs
        ]:
            group = groups.get(ref)
            if group is None:
                candidates = [g for g, info in groups.items() if info.kind == kind]
                problems.append(
                    Diagnostic(
                        *where,
                        DiagnosticKind.UNKNOWN_REFERENCE,
                        f"rule {rule.id} refers to unknown {kind} group {ref!r}",
                        hint=did_you_mean(ref, candidates),
                    )
                )
            elif group.kind != kind:
                problems.append(
                    Diagnostic(
                        *where,
                        DiagnosticKind.INVALID_VALUE,
                        f"rule {rule.id} uses {ref!r} as a {kind} group but it is a "
                        f"{group.kind} group",
                    )
                )
    for located in rules:
        for target in located.item.supersedes:
            if target not in seen:
                problems.append(
                    Diagnostic(
                        located.file,
                        located.line,
                        located.column,
                        DiagnosticKind.UNKNOWN_REFERENCE,
                        f"rule {located.item.id} supersedes unknown rule {target!r}",
                        hint=did_you_mean(target, seen),
                    )
                )


def _clause_groups(rule: Rule) -> list[str]:
    """Medicine groups named by the duplicate, count and duration clauses."""
    match = rule.match
    named: list[str] = []
    if match.duplicate is not None:
        named.append(match.duplicate.group)
    if match.duration is not None:
        named.append(match.duration.group)
    if match.count is not None:
        named.extend(
            [*([match.count.group] if match.count.group else []), *match.count.exclude_groups]
        )
    return named


def _compile_scales(
    scales: list[_Located[Scale]], dmd: DmdIndex, problems: list[Diagnostic]
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


def _membership_index(
    groups: Mapping[str, GroupInfo], dmd: DmdIndex
) -> dict[str, tuple[Membership, ...]]:
    """For every dm+d code, the medicine groups it belongs to and the listed code that put it there.

    A code belongs to a group when it is listed, when an ancestor is listed (an AMP of a listed
    VMP), and, for a VTM, when any of its products is listed: a prescription written at molecule
    level ("Warfarin") must still be screened as warfarin.
    """
    index: dict[str, dict[str, str]] = {}

    def add(code: str, group: str, via: str) -> None:
        index.setdefault(code, {}).setdefault(group, via)

    medicine_groups = [g for g in groups.values() if g.kind == "medicine"]
    # A listed id that dm+d has since replaced stands for its successor (lists go stale).
    current = {code: _current_code(code, dmd) for g in medicine_groups for code in g.codes}
    # Direct listings first, so an explanation names the listed code itself when it can.
    for group in medicine_groups:
        for code in group.codes:
            add(current[code], group.id, code)
    for group in medicine_groups:
        if group.matching == "exact":
            continue
        for listed in sorted(group.codes):
            code = current[listed]
            for child in dmd.descendants(code):
                add(child, group.id, listed)
                for grandchild in dmd.descendants(child):
                    add(grandchild, group.id, listed)
            concept = dmd.concept(code)
            if concept is not None and concept.vtm and concept.level is not DmdLevel.VTM:
                add(concept.vtm, group.id, listed)
    return {
        code: tuple(Membership(g, via) for g, via in sorted(groups_.items()))
        for code, groups_ in index.items()
    }


def _current_code(code: str, dmd: DmdIndex) -> str:
    """The concept a listed code resolves to now (itself unless it was superseded)."""
    if code in dmd:
        return code
    outcome = dmd.resolve(code)
    return outcome.concept.code if isinstance(outcome, Resolved) else code


def _trigger_index(
    rules: Iterable[CompiledRule], groups: Mapping[str, GroupInfo]
) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Index each rule under its most selective required group (fewest codes)."""
    triggers: dict[str, list[str]] = {}
    untriggered: list[str] = []
    for compiled in rules:
        match = compiled.rule.match
        required = list(match.all_of)
        for clause in (match.duplicate, match.duration, match.count):
            if clause is not None and clause.group is not None:
                required.append(clause.group)
        if not required or match.score is not None:
            untriggered.append(compiled.rule.id)
            continue
        trigger = min(required, key=lambda g: (len(groups[g].codes), g))
        triggers.setdefault(trigger, []).append(compiled.rule.id)
    return {g: tuple(sorted(ids)) for g, ids in triggers.items()}, tuple(sorted(untriggered))
