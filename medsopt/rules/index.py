"""Indexes built at load so a request does lookups: code -> groups, group -> rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from medsopt.dmd.concepts import Level as DmdLevel
from medsopt.dmd.concepts import Resolved
from medsopt.dmd.index import DmdIndex
from medsopt.rules.models import Rule
from medsopt.rules.ruleset import CompiledRule, GroupInfo, Membership


def clause_groups(rule: Rule) -> list[str]:
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


def membership_index(
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
    current = {code: current_code(code, dmd) for g in medicine_groups for code in g.codes}
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


def current_code(code: str, dmd: DmdIndex) -> str:
    """The concept a listed code resolves to now (itself unless it was superseded)."""
    if code in dmd:
        return code
    outcome = dmd.resolve(code)
    return outcome.concept.code if isinstance(outcome, Resolved) else code


def trigger_index(
    rules: Iterable[CompiledRule], groups: Mapping[str, GroupInfo]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Index each rule under what it cannot fire without.

    Returns (medicine group -> rule ids, condition code -> rule ids, rules for every request).
    A rule with a medicine clause is indexed under its most selective required group (fewest
    codes). A rule with none (an omission, a count, a scale total) that requires a recorded
    condition is indexed under that condition's codes, so "atrial fibrillation and no
    anticoagulant" is looked up only for patients with atrial fibrillation.
    """
    triggers: dict[str, list[str]] = {}
    by_condition: dict[str, set[str]] = {}
    untriggered: list[str] = []
    for compiled in rules:
        rule_id = compiled.rule.id
        match = compiled.rule.match
        required = list(match.all_of)
        for clause in (match.duplicate, match.duration, match.count):
            if clause is not None and clause.group is not None:
                required.append(clause.group)
        if required and match.score is None:
            trigger = min(required, key=lambda g: (len(groups[g].codes), g))
            triggers.setdefault(trigger, []).append(rule_id)
            continue
        condition_groups = required_condition_groups(compiled.rule, groups)
        if not condition_groups:
            untriggered.append(rule_id)
            continue
        for group in condition_groups:
            for code in groups[group].codes:
                by_condition.setdefault(code, set()).add(rule_id)
    return (
        {g: tuple(sorted(ids)) for g, ids in triggers.items()},
        {code: tuple(sorted(ids)) for code, ids in by_condition.items()},
        tuple(sorted(untriggered)),
    )


def required_condition_groups(rule: Rule, groups: Mapping[str, GroupInfo]) -> tuple[str, ...]:
    """Condition groups one of which a patient must have for the rule to apply (empty: none)."""
    patient = rule.match.patient
    if patient is None:
        return ()
    if patient.conditions_all:
        # Every one is required, so the smallest alone is a sufficient key.
        return (min(patient.conditions_all, key=lambda g: (len(groups[g].codes), g)),)
    return tuple(patient.conditions_any)
