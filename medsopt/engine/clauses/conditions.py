"""Recorded conditions: at least one of `any_of` and every one of `all_of` condition groups
recorded (a generating clause: rules with no medicine clause are looked up by it), and none of
the `ConditionsAbsent` groups recorded (a filter)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    NO_TEXTS,
    PATIENT_ID,
    Filter,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.rules.ir import ConditionsAbsent, ConditionsPresent
from medsopt.rules.ruleset import GroupInfo


def check_present(clause: ConditionsPresent, view: PatientView) -> Outcome | None:
    """Holds when the groups are recorded; names each recorded code and its term in the facts."""
    recorded = set(view.patient.condition_codes)
    groups = view.ruleset.groups
    facts: list[str] = []
    for group in clause.all_of:
        present = sorted(recorded & groups[group].codes)
        if not present:
            return None
        facts.append(_recorded(groups[group], present))
    if clause.any_of:
        found = {group: sorted(recorded & groups[group].codes) for group in clause.any_of}
        if not any(found.values()):
            return None
        facts.extend(_recorded(groups[group], codes) for group, codes in found.items() if codes)
    return Outcome(facts=tuple(facts))


def _recorded(group: GroupInfo, codes: Sequence[str]) -> str:
    """`condition heart-failure recorded: 85232009 Left heart failure` (the concept that matched,
    which may be a descendant of the one the rule was written for; terms may hold commas)."""
    named = "; ".join(f"{code} {group.terms.get(code, '')}".rstrip() for code in codes)
    return f"condition {group.id} recorded: {named}"


def check_absent(clause: ConditionsAbsent, view: PatientView) -> Outcome | None:
    """Fails when any of the groups is recorded."""
    recorded = set(view.patient.condition_codes)
    for group in clause.groups:
        if recorded & view.ruleset.groups[group].codes:
            return None
    return Outcome(facts=tuple(f"no condition {group} recorded" for group in clause.groups))


def plan_present(
    clauses: Sequence[tuple[str, ConditionsPresent]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs whose recorded conditions satisfy any_of and all_of.

    A clause naming one group (most) holds wherever that group is recorded: a join (each
    patient's groups are recorded once); the others count the groups found.
    """
    rule_type = population.rule_id_type
    condition_type = population.recorded.schema["condition_group"]
    single = pl.LazyFrame(
        [(rule_id, *c.any_of, *c.all_of) for rule_id, c in clauses if _groups(c) == 1],
        schema={"rule_id": rule_type, "condition_group": condition_type},
        orient="row",
    )
    wanted = pl.DataFrame(
        [
            (rule_id, group, kind, len(c.all_of), bool(c.any_of))
            for rule_id, c in clauses
            if _groups(c) > 1
            for kind, groups in (("any", c.any_of), ("all", c.all_of))
            for group in groups
        ],
        schema={
            "rule_id": rule_type,
            "condition_group": condition_type,
            "kind": pl.String,
            "n_all": pl.UInt32,
            "needs_any": pl.Boolean,
        },
        orient="row",
    ).lazy()
    recorded = population.recorded.lazy()
    several = (
        recorded.join(wanted, on="condition_group")
        .group_by(PATIENT_ID, "rule_id")
        .agg(
            pl.col("condition_group").filter(pl.col("kind") == "all").n_unique().alias("found_all"),
            (pl.col("kind") == "any").any().alias("found_any"),
            pl.col("n_all").first(),
            pl.col("needs_any").first(),
        )
        .filter(
            (pl.col("found_all") == pl.col("n_all")) & (pl.col("found_any") | ~pl.col("needs_any"))
        )
    )
    return pl.concat(
        [
            recorded.join(single, on="condition_group").select(PATIENT_ID, "rule_id"),
            several.select(PATIENT_ID, "rule_id"),
        ]
    ).select(*KEY[:2], subject=pl.lit(""), refs=NO_TEXTS)


def _groups(clause: ConditionsPresent) -> int:
    return len(clause.any_of) + len(clause.all_of)


def filter_present(
    clauses: Sequence[tuple[str, ConditionsPresent]], population: Population, lookups: Lookups
) -> Filter:
    """`fails` where the recorded conditions miss any_of or all_of: for rules that a medicine
    clause triggers, as at the point of care (the conditions are then checked, not looked up
    for every patient who has them). The pairs that hold are found as `plan_present` finds
    them; every other candidate of a checked rule fails."""
    checked = [(rule_id, c) for rule_id, c in clauses if c.any_of or c.all_of]
    rules = pl.LazyFrame(
        {"rule_id": [rule_id for rule_id, _ in checked]},
        schema={"rule_id": population.rule_id_type},
    ).with_columns(present_checked=pl.lit(True))
    held = (
        plan_present(checked, population, lookups)
        .select(PATIENT_ID, "rule_id")
        .with_columns(present_held=pl.lit(True))
    )
    return Filter(
        joins=((rules, ("rule_id",)), (held, (PATIENT_ID, "rule_id"))),
        fails=pl.col("present_checked").fill_null(False) & pl.col("present_held").is_null(),
        missing=NO_TEXTS,
        lacks=pl.lit(False),
    )


def filter_absent(
    clauses: Sequence[tuple[str, ConditionsAbsent]], population: Population, lookups: Lookups
) -> Filter:
    """`fails` where one of the excluded condition groups is recorded."""
    groups = pl.DataFrame(
        [(rule_id, g) for rule_id, c in clauses for g in c.groups],
        schema={
            "rule_id": population.rule_id_type,
            "condition_group": population.recorded.schema["condition_group"],
        },
        orient="row",
    ).lazy()
    excluded = (
        population.recorded.lazy().join(groups, on="condition_group").select(PATIENT_ID, "rule_id")
    )
    return Filter(
        joins=(),
        fails=pl.lit(False),
        missing=NO_TEXTS,
        lacks=pl.lit(False),
        excluded=((excluded, (PATIENT_ID, "rule_id")),),
    )
