"""Indexes built at load so a request does lookups: code -> groups, group -> rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from medsopt.dmd.concepts import Level as DmdLevel
from medsopt.dmd.concepts import Resolved
from medsopt.dmd.index import DmdIndex
from medsopt.rules.membership import MembershipIndex
from medsopt.rules.models import Rule
from medsopt.rules.ruleset import CompiledRule, GroupInfo


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


def membership_index(groups: Mapping[str, GroupInfo], dmd: DmdIndex) -> MembershipIndex:
    """For every dm+d code, the medicine groups it belongs to and the listed code that put it there.

    A code belongs to a group when it is listed, when an ancestor is listed (an AMP of a listed
    VMP), and, for a VTM, when any of its products is listed: a prescription written at molecule
    level ("Warfarin") must still be screened as warfarin.
    """
    medicine_groups = [g for g in groups.values() if g.kind == "medicine"]
    listed = pl.DataFrame(
        {
            "group": [g.id for g in medicine_groups for _ in g.codes],
            "via": [code for g in medicine_groups for code in g.codes],
            "expand": [g.matching != "exact" for g in medicine_groups for _ in g.codes],
        },
        schema={"group": pl.String, "via": pl.String, "expand": pl.Boolean},
    )
    # A listed id that dm+d has since replaced stands for its successor (lists go stale).
    current = _current_codes(set(listed["via"].to_list()), dmd)
    listed = listed.join(current, on="via")
    # Each (group, code) once, by the first of: a direct listing (the live code itself before a
    # retired id of it, so an explanation names the listed code itself when it can), then the
    # lowest listed code whose descendants or VTM bring the code in.
    direct = (
        listed.select("group", "via", member="code", alias=pl.col("code") != pl.col("via"))
        .sort("alias", "via")
        .unique(["group", "member"], keep="first")
    )
    below = (
        listed.filter("expand")
        .join(_expansions(current["code"], dmd), on="code")
        .join(direct, on=["group", "member"], how="anti")
        .group_by("group", "member")
        .agg(pl.col("via").min())
    )
    chosen = pl.concat([direct.select("group", "member", "via"), below])
    return MembershipIndex(
        chosen.select(concept_code="member", group="group", via="via").sort("concept_code", "group")
    )


def _current_codes(codes: set[str], dmd: DmdIndex) -> pl.DataFrame:
    """via -> code: the `current_code` of each code (a code in the index is its own)."""
    listed = pl.DataFrame({"via": list(codes)}, schema={"via": pl.String})
    live = dmd.table().select(via="code")
    retired = listed.join(live, on="via", how="anti")["via"].to_list()
    return pl.concat(
        [
            listed.join(live, on="via", how="semi").select("via", code="via"),
            pl.DataFrame(
                {"via": retired, "code": [current_code(c, dmd) for c in retired]},
                schema={"via": pl.String, "code": pl.String},
            ),
        ]
    )


def _expansions(codes: pl.Series, dmd: DmdIndex) -> pl.DataFrame:
    """code -> member: what a listed code brings into a group besides itself (its descendants,
    theirs, and its VTM when it is a product below one), as `DmdIndex.descendants` links them."""
    table = dmd.table()
    known = table.select("code")
    # parent -> child, once per pair, for parents in the index (as `descendants` gives them)
    links = (
        pl.concat(
            [
                table.select(parent="vmp", child="code"),
                table.filter(pl.col("vtm") != pl.col("vmp").fill_null("")).select(
                    parent="vtm", child="code"
                ),
            ]
        )
        .drop_nulls("parent")
        .join(known, left_on="parent", right_on="code", how="semi")
    )
    wanted = pl.DataFrame({"code": codes}).unique()
    children = wanted.join(links, left_on="code", right_on="parent").select("code", member="child")
    grandchildren = children.join(links, left_on="member", right_on="parent").select(
        "code", member="child"
    )
    vtms = wanted.join(
        table.filter((pl.col("level") != DmdLevel.VTM.value) & (pl.col("vtm") != "")),
        on="code",
    ).select("code", member="vtm")
    return pl.concat([children, grandchildren, vtms]).unique()


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
