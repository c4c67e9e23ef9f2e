"""supersedes: a finding is dropped when a more specific rule that supersedes it fired on the
same medicines (or more), so one concern is raised once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import polars as pl

from medsopt.engine.clauses.base import KEY, PATIENT_ID
from medsopt.engine.findings import Raised
from medsopt.rules.ir import RuleIR
from medsopt.rules.ruleset import CompiledRule

R = TypeVar("R", bound=Raised)


def drop_superseded(findings: Sequence[R], rules: Mapping[str, CompiledRule]) -> list[R]:
    """The findings less those a superseding finding covers (run before any text is written:
    a dropped finding is never built)."""
    superseding = [(f, t) for f in findings if (t := _targets(f.rule_id, rules))]
    if not superseding:
        return list(findings)
    by_rule: dict[str, list[R]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    dropped: set[int] = set()
    for finding, targets in superseding:
        for target in targets:
            for other in by_rule.get(target, ()):
                if set(other.medication_refs) <= set(finding.medication_refs):
                    dropped.add(id(other))
    return [f for f in findings if id(f) not in dropped]


def _targets(rule_id: str, rules: Mapping[str, CompiledRule]) -> tuple[str, ...]:
    rule = rules.get(rule_id)
    return rule.ir.supersedes if rule else ()


def drop_superseded_plan(fired: pl.LazyFrame, rules: Sequence[RuleIR]) -> pl.LazyFrame:
    """`drop_superseded` over a population's fired rows (KEY, refs)."""
    pairs = pl.DataFrame(
        [(rule.id, target) for rule in rules for target in rule.supersedes],
        schema=dict.fromkeys(("rule_id", "target"), fired.collect_schema()["rule_id"]),
        orient="row",
    ).lazy()
    superseding = fired.select(PATIENT_ID, "rule_id", pl.col("refs").alias("by_refs")).join(
        pairs, on="rule_id"
    )
    dropped = (
        superseding.join(
            fired.select(PATIENT_ID, pl.col("rule_id").alias("target"), "subject", "refs"),
            on=[PATIENT_ID, "target"],
        )
        .filter(pl.col("refs").list.set_difference("by_refs").list.len() == 0)
        .select(PATIENT_ID, pl.col("target").alias("rule_id"), "subject")
        .unique()
    )
    return fired.join(dropped, on=KEY, how="anti")
