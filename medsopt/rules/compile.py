"""Compile committee files into an indexed RuleSet, collecting every problem before failing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from medsopt.authoring.diagnostics import (
    Diagnostic,
    DiagnosticKind,
    Level,
    RuleSetError,
    did_you_mean,
)
from medsopt.authoring.validate import validated_files
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.formulary import Formulary
from medsopt.rules.classes import TherapeuticClass, class_rule
from medsopt.rules.concerns import compile_concerns
from medsopt.rules.groups import compile_groups, compile_scales
from medsopt.rules.index import clause_groups, membership_index, trigger_index
from medsopt.rules.ir import compile_rule
from medsopt.rules.located import Located, located_at
from medsopt.rules.models import Concern, Group, Rule, RuleSetHeader, Scale
from medsopt.rules.rule_file import RuleFile
from medsopt.rules.ruleset import (
    CompiledRule,
    GroupInfo,
    RuleSet,
    RuleSetIdentity,
    ScaleTable,
)

TESTS_DIR = "tests/"
# Outcome indicators have their own format and compiler (medsopt.analytics.compile).
INDICATORS_DIR = "indicators/"


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule set and the warnings that did not block it."""

    ruleset: RuleSet
    warnings: tuple[Diagnostic, ...]


def is_rule_file(path: str) -> bool:
    """Rule and group YAML files: every .yaml/.yml outside tests/ and indicators/."""
    return path.endswith((".yaml", ".yml")) and not path.startswith((TESTS_DIR, INDICATORS_DIR))


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
    headers: list[Located[RuleSetHeader]] = []
    groups: list[Located[Group]] = []
    rules: list[Located[Rule]] = []
    scales: list[Located[Scale]] = []
    concerns: list[Located[Concern]] = []
    classes: list[Located[TherapeuticClass]] = []
    rule_files = (p for p in sources if is_rule_file(p))
    for _, model, smap in validated_files(sources, rule_files, RuleFile, problems):
        if model.ruleset is not None:
            headers.append(located_at(model.ruleset, smap, ("ruleset",)))
        groups.extend(located_at(g, smap, ("groups", i)) for i, g in enumerate(model.groups))
        scales.extend(located_at(c, smap, ("scales", i)) for i, c in enumerate(model.scales))
        concerns.extend(located_at(c, smap, ("concerns", i)) for i, c in enumerate(model.concerns))
        rules.extend(located_at(r, smap, ("rules", i)) for i, r in enumerate(model.rules))
        classes.extend(
            located_at(c, smap, ("therapeutic_classes", i))
            for i, c in enumerate(model.therapeutic_classes)
        )
    for located in classes:  # each class is a duplication rule raising its own concern
        rule, declared = class_rule(located.item)
        rules.append(Located(rule, located.file, located.line, located.column))
        if declared is not None:
            concerns.append(Located(declared, located.file, located.line, located.column))

    header = _single_header(headers, problems)
    group_infos = compile_groups(groups, sources, dmd, problems)
    scale_tables = compile_scales(scales, dmd, problems)
    _check_rules(rules, group_infos, scale_tables, problems)
    concern_table = compile_concerns(concerns, rules, problems)
    errors = [p for p in problems if p.level is Level.ERROR]
    if errors or header is None:
        raise RuleSetError(errors)

    running = {"active", "draft"} if include_drafts else {"active"}
    active = {
        r.item.id: CompiledRule(r.item, r.file, r.line, compile_rule(r.item))
        for r in rules
        if r.item.status in running
    }
    inactive = {
        r.item.id: CompiledRule(r.item, r.file, r.line, compile_rule(r.item))
        for r in rules
        if r.item.status not in running
    }
    triggers, condition_triggers, untriggered = trigger_index(active.values(), group_infos)
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
        membership=membership_index(group_infos, dmd),
        triggers=MappingProxyType(triggers),
        untriggered=untriggered,
        condition_triggers=MappingProxyType(condition_triggers),
        formulary=formulary,
        scales=MappingProxyType(scale_tables),
        concerns=MappingProxyType(concern_table),
    )
    return Compiled(ruleset, tuple(sorted(p for p in problems if p.level is Level.WARNING)))


def _single_header(
    headers: list[Located[RuleSetHeader]], problems: list[Diagnostic]
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


def _check_rules(
    rules: list[Located[Rule]],
    groups: Mapping[str, GroupInfo],
    scales: Mapping[str, ScaleTable],
    problems: list[Diagnostic],
) -> None:
    """Unique ids and references that point at groups of the right kind."""
    seen: dict[str, Located[Rule]] = {}
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
        medicine_refs = [*match.all_of, *match.none_of, *clause_groups(rule)]
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
            [
                *match.patient.conditions_any,
                *match.patient.conditions_all,
                *match.patient.conditions_none,
            ]
            if match.patient
            else []
        )
        test_refs = [match.monitoring.tests] if match.monitoring else []
        for ref, kind in [
            *[(r, "medicine") for r in medicine_refs],
            *[(r, "condition") for r in condition_refs],
            *[(r, "test") for r in test_refs],
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
