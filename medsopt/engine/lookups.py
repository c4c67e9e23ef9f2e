"""The rule-set tables a columnar evaluation joins against, built once per rule set.

Built by iterating the vocabulary (dm+d concepts, group memberships), never the patients, and
through the same objects the point-of-care engine reads (`RuleSet.groups_of`, the scale tables,
`Formulary.entry_for`, the biosimilar choice), so a code means the same in both evaluators.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

import polars as pl

from medsopt.dmd.concepts import Resolved
from medsopt.engine.clauses import biosimilar, formulary
from medsopt.engine.clauses.base import Lookups
from medsopt.engine.prepared import prepared
from medsopt.rules.membership import MembershipIndex
from medsopt.rules.ruleset import RuleSet


def build_lookups(ruleset: RuleSet, as_of: datetime.date | None) -> Lookups:
    """Every table the clause plans join (biosimilar choices depend on the as-of date).

    The tables that depend on the rule set alone are built once per rule set and kept beside
    it (`prepared`): the committee cases of a build and the scan after it read the same ones.
    """
    kept = prepared(ruleset).pieces
    undated = kept.get(_UNDATED)
    if not isinstance(undated, Lookups):
        undated = kept[_UNDATED] = _undated_lookups(ruleset)
    if as_of is None:
        return undated
    return dataclasses.replace(undated, biosimilar=biosimilar.lookup_table(ruleset, as_of))


# Where `build_lookups` keeps a rule set's tables for no as-of date among its prepared pieces.
_UNDATED = ("columnar lookups", None)


def _undated_lookups(ruleset: RuleSet) -> Lookups:
    table = ruleset.biosimilars
    return Lookups(
        membership=membership_table(ruleset),
        conditions=condition_table(ruleset),
        scales=scale_table(ruleset),
        formulary=formulary_table(ruleset),
        biosimilar=biosimilar.lookup_table(ruleset, None),
        coded_exclusions=table is not None
        and any(x.codes for p in table.products.values() for x in p.not_licensed_for),
        concerns={c.id: c.title for c in ruleset.concerns.values()},
        tests=pl.DataFrame(
            [
                (code, group.id)
                for group in ruleset.groups.values()
                if group.kind == "test"
                for code in sorted(group.codes)
            ],
            schema={"code": pl.String, "test_group": pl.String},
            orient="row",
        ),
        test_titles={g.id: g.title for g in ruleset.groups.values() if g.kind == "test"},
    )


def membership_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> medicine group, exactly `RuleSet.groups_of` as a table."""
    if isinstance(ruleset.membership, MembershipIndex):
        return ruleset.membership.table.select("concept_code", "group")
    memberships = ruleset.membership.items()
    return pl.DataFrame(
        {
            "concept_code": [code for code, ms in memberships for _ in ms],
            "group": [m.group for _, ms in memberships for m in ms],
        },
        schema={"concept_code": pl.String, "group": pl.String},
    ).sort("concept_code", "group")


def condition_table(ruleset: RuleSet) -> pl.DataFrame:
    """SNOMED CT problem code -> condition group (exact codes, as the engine matches them)."""
    pairs = [
        (code, group.id)
        for group in ruleset.groups.values()
        if group.kind == "condition"
        for code in group.codes
    ]
    return pl.DataFrame(
        pairs, schema={"condition_code": pl.String, "condition_group": pl.String}, orient="row"
    ).sort("condition_code", "condition_group")


def _resolved_lineages(ruleset: RuleSet, listed: Iterable[str]) -> list[Resolved]:
    """Every concept that resolves and has a `listed` code in its lineage (concept, VMP, VTM),
    with that lineage as the engine sees it, in the order of `DmdIndex.concepts()`.

    A lineage holds a concept, its VMP and its VTM, so only the listed concepts and their
    descendants can have a listed code in theirs: the others are never resolved.
    """
    dmd = ruleset.dmd
    candidates: set[str] = set()
    for code in listed:
        if code in dmd:
            candidates.add(code)
            candidates.update(dmd.descendants(code))
    chosen = [code for code in dmd.codes() if code in candidates]
    dmd.preload(chosen)
    outcomes = (dmd.resolve(code) for code in chosen)
    return [o for o in outcomes if isinstance(o, Resolved)]


def scale_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> scale, score, scale_name: the first lineage concept each scale lists."""
    rows: list[tuple[str, str, int, str]] = []
    scored = {code for scale in ruleset.scales.values() for code in scale.scores}
    for resolved in _resolved_lineages(ruleset, scored):
        for scale in ruleset.scales.values():
            for concept in resolved.lineage:
                entry = scale.scores.get(concept.code)
                if entry is not None:
                    rows.append((resolved.concept.code, scale.id, entry[0], entry[1]))
                    break
    return pl.DataFrame(
        rows,
        schema={
            "concept_code": pl.String,
            "scale": pl.String,
            "score": pl.Int64,
            "scale_name": pl.String,
        },
        orient="row",
    )


def formulary_table(ruleset: RuleSet) -> pl.DataFrame:
    """concept_code -> the most specific local-formulary entry's position and wording values."""
    rows = []
    local = ruleset.formulary
    if local is not None:
        for resolved in _resolved_lineages(ruleset, local.products):
            entry = local.entry_for(resolved.lineage)
            if entry is not None:
                rows.append(formulary.lookup_rows(local, resolved.concept.code, entry))
    return pl.DataFrame(rows, schema=formulary.LOOKUP_SCHEMA)
