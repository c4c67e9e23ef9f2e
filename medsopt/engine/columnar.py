"""The columnar evaluator: every patient of a population at once, clauses composed as plans.

The same rules and clause modules as the point-of-care evaluator (`medsopt.engine.clauses`),
so the two cannot drift: generating clauses yield the (patient, rule) pairs where they hold, a
rule is a candidate where all its generating clauses hold (rules with none are checked for every
patient), filtering clauses narrow the candidates, `supersedes` drops covered findings, and
`medsopt.engine.text.render` writes the detail and recommendation. As at the point of care, a
recorded-condition clause generates only for rules without a medicine clause (omissions); in a
rule a medicine triggers, it narrows the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    NO_TEXTS,
    PATIENT_ID,
    TEXTS,
    Lookups,
    Population,
)
from medsopt.engine.clauses.concerns import merge_concerns_plan
from medsopt.engine.clauses.conditions import filter_present
from medsopt.engine.clauses.registry import FILTERS, GENERATORS, FilterPlan
from medsopt.engine.clauses.supersedes import drop_superseded_plan
from medsopt.engine.columnar_texts import finding_texts
from medsopt.engine.text import sorted_texts
from medsopt.rules.ir import Clause, ConditionsPresent, RuleIR

FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    PATIENT_ID: pl.String(),
    "rule_id": pl.String(),
    "subject": pl.String(),
    "category": pl.String(),
    "severity": pl.String(),
    "title": pl.String(),
    "refs": TEXTS,
    "detail": pl.String(),
    "recommendation": pl.String(),
    "involves_proposed": pl.Boolean(),
    "concern": pl.String(),
    "sources": TEXTS,
}
NOT_EVALUATED_SCHEMA: dict[str, pl.DataType] = {
    PATIENT_ID: pl.String(),
    "rule_id": pl.String(),
    "subject": pl.String(),
    "title": pl.String(),
    "missing": TEXTS,
    "refs": TEXTS,
}
# A candidate's number (its row in the candidates), for the columns set aside while judging.
_ROW = "candidate"
_LACKS = "lacks"


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One row per finding (`FINDINGS_SCHEMA`) and per rule not evaluated."""

    findings: pl.DataFrame
    not_evaluated: pl.DataFrame


def evaluate(population: Population, rules: Sequence[RuleIR], lookups: Lookups) -> Evaluated:
    """Every rule for every patient of the population."""
    ids = sorted({r.id for r in rules} | {target for r in rules for target in r.supersedes})
    population = replace(population, rule_id_type=pl.Enum(ids))
    by_kind = _by_kind(rules)
    # (A finding's other rule columns are read by rule number: `columnar_texts`.)
    table = pl.DataFrame(
        [
            (
                r.id,
                r.title,
                sum(type(c) in GENERATORS for c in r.clauses if not _checked_condition(c, r)),
            )
            for r in rules
        ],
        schema={
            "rule_id": population.rule_id_type,
            "title": pl.String,
            "n_generators": pl.UInt32,
        },
        orient="row",
    )
    # (One frame of one chunk: each eager projection of a frame of many chunks copies it.)
    candidates = _candidates(population, lookups, by_kind, table).rechunk()
    # The filters read the key and facts only: the medicines and the generators' values (mostly
    # null) wait aside, numbered, and are picked up by number for the rows that are kept.
    aside = candidates.drop(*KEY, "missing")
    judged = _judge(
        candidates.select(*KEY, "missing").with_row_index(_ROW), population, lookups, by_kind
    )
    facts = [c for c in population.facts.columns if c != PATIENT_ID]
    judged = judged.select(*KEY, _ROW, "missing", *(c for c in facts if c in judged.columns))
    unknown = pl.col("missing").list.len() > 0
    fired = _picked(judged.filter(~unknown), aside.select("refs"))
    not_evaluated = _picked(judged.filter(unknown), aside.select("refs"))
    del judged
    kept = drop_superseded_plan(fired.lazy(), rules).collect()
    kept = _picked(kept, aside.drop("refs"))
    del candidates, aside
    return Evaluated(
        findings=merge_concerns_plan(finding_texts(kept, population, rules), lookups.concerns)
        .select(*FINDINGS_SCHEMA)
        .sort(KEY)
        .cast({"rule_id": pl.String, "sources": TEXTS}),
        not_evaluated=not_evaluated.join(table.select("rule_id", "title"), on="rule_id")
        .with_columns(sorted_texts(pl.col("refs")))
        .select(*NOT_EVALUATED_SCHEMA)
        .sort(KEY)
        .cast({"rule_id": pl.String}),
    )


def _picked(rows: pl.DataFrame, aside: pl.DataFrame) -> pl.DataFrame:
    """The rows with the columns set aside for them (by their candidate number)."""
    return rows.hstack(aside.select(pl.all().gather(rows[_ROW])))


def _checked_condition(clause: Clause, rule: RuleIR) -> bool:
    """A recorded-condition clause of a rule that a medicine clause triggers: the point-of-care
    engine looks such a rule up by its medicine, so its conditions only narrow the candidates
    (generating them would pair every patient with a common condition with the rule)."""
    return isinstance(clause, ConditionsPresent) and any(
        type(c) in GENERATORS and not isinstance(c, ConditionsPresent) for c in rule.clauses
    )


def _by_kind(rules: Sequence[RuleIR]) -> dict[type, list[tuple[str, Clause]]]:
    """Each clause kind's (rule id, clause) pairs; checked conditions under `CheckedConditions`."""
    by_kind: dict[type, list[tuple[str, Clause]]] = {}
    for rule in rules:
        for clause in rule.clauses:
            kind = CheckedConditions if _checked_condition(clause, rule) else type(clause)
            by_kind.setdefault(kind, []).append((rule.id, clause))
    return by_kind


class CheckedConditions:
    """The clause-kind key of conditions that narrow medicine-triggered rules (`filter_present`)."""


def _candidates(
    population: Population,
    lookups: Lookups,
    by_kind: dict[type, list[tuple[str, Clause]]],
    table: pl.DataFrame,
) -> pl.DataFrame:
    """(patient, rule, subject) where every generating clause of the rule holds or lacks data."""
    kinds = [kind for kind in by_kind if kind in GENERATORS]
    frames = pl.collect_all(
        [GENERATORS[kind](by_kind[kind], population, lookups) for kind in kinds]
    )
    # A rule with one generating clause is a candidate wherever that clause holds (each
    # generator yields a (patient, rule, subject) once): only the others are regrouped.
    several = table.filter(pl.col("n_generators") > 1).select("rule_id", "n_generators")
    regrouped = set(several["rule_id"].cast(pl.String).to_list())
    parts, grouped = [], []
    for kind, frame in zip(kinds, frames, strict=True):
        if frame.is_empty():  # (its value columns would be null on every candidate)
            continue
        if "missing" not in frame.columns:
            frame = frame.with_columns(missing=NO_TEXTS)
        if not any(rule_id in regrouped for rule_id, _ in by_kind[kind]):
            parts.append(frame)
            continue
        again = pl.col("rule_id").is_in(several["rule_id"].implode())
        parts.append(frame.filter(~again))
        grouped.append(frame.filter(again))
    if grouped:
        values = [pl.col(c).drop_nulls().first() for c in _value_columns(grouped)]
        parts.append(
            pl.concat(grouped, how="diagonal_relaxed")
            .join(several, on="rule_id")
            .group_by(KEY)
            .agg(
                pl.len().alias("held"),
                pl.col("n_generators").first(),
                pl.col("refs").list.explode(keep_nulls=False, empty_as_null=False).unique(),
                pl.col("missing").list.explode(keep_nulls=False, empty_as_null=False),
                *values,
            )
            .filter(pl.col("held") == pl.col("n_generators"))
            .drop("held", "n_generators")
        )
    everyone = table.filter(pl.col("n_generators") == 0).select("rule_id")
    if not everyone.is_empty():
        parts.append(
            population.meds.select(PATIENT_ID)
            .unique()
            .join(everyone, how="cross")
            .with_columns(subject=pl.lit(""), refs=NO_TEXTS, missing=NO_TEXTS)
        )
    if not parts:
        return pl.DataFrame(
            schema={
                **dict.fromkeys(KEY, pl.String),
                PATIENT_ID: population.meds.schema[PATIENT_ID],
                "rule_id": population.rule_id_type,
                "refs": TEXTS,
                "missing": TEXTS,
            }
        )
    return pl.concat(parts, how="diagonal_relaxed")


def _judge(
    candidates: pl.DataFrame,
    population: Population,
    lookups: Lookups,
    by_kind: dict[type, list[tuple[str, Clause]]],
) -> pl.DataFrame:
    """Candidates that no filtering clause fails, with everything they lack.

    Each filter reads the candidates of its own rules only (their key and facts) and names the
    ones it fails and the ones it finds lacking data, with what they lack. A candidate failed by
    any filter is dropped; the missing data of the rest is listed after what the generating
    clauses found missing, in `FILTERS` order, so in one order for every rule.
    """
    chain = candidates.join(population.facts, on=PATIENT_ID, how="left", maintain_order="left")
    if chain.height != candidates.height:  # candidates are marked by their row number below
        raise ValueError("a population's facts must hold at most one row per patient")
    filters: list[tuple[type, FilterPlan]] = [*FILTERS.items(), (CheckedConditions, filter_present)]
    rule_type = population.rule_id_type
    narrowed = [
        (pl.Series(list(dict.fromkeys(rule_id for rule_id, _ in pairs)), dtype=rule_type), f)
        for kind, make in filters
        if (pairs := by_kind.get(kind))
        for f in [make(pairs, population, lookups)]
    ]
    if not narrowed or chain.is_empty():
        return chain
    # Each filter's frames are worked out once, together.
    frames = iter(
        pl.collect_all([frame for _, f in narrowed for frame, _ in (*f.excluded, *f.joins)])
    )
    plans = []
    for rule_ids, f in narrowed:
        part = chain.lazy().filter(pl.col("rule_id").is_in(rule_ids.implode()))
        fails = f.fails.fill_null(False)
        # The pairs a clause excludes fail, whatever else is known.
        excluded = [
            part.join(next(frames).lazy(), on=list(on), how="semi").select(_ROW, fails=pl.lit(True))
            for _, on in f.excluded
        ]
        for _, on in f.joins:
            part = part.join(next(frames).lazy(), on=list(on), how="left")
        lacks = f.lacks.fill_null(False)
        # The columns `missing` reads go along, for the few rows that lack data.
        plans.append(
            pl.concat(
                [
                    *excluded,
                    part.filter(fails | lacks).select(
                        _ROW, fails.alias("fails"), *dict.fromkeys(f.missing.meta.root_names())
                    ),
                ],
                how="diagonal",
            )
        )
    said = pl.collect_all(plans)
    # A candidate's number is its row in the chain: the ones kept are marked by number.
    kept = pl.repeat(True, chain.height, eager=True).scatter(
        pl.concat([part.filter(pl.col("fails"))[_ROW] for part in said]), False
    )
    # Only the kept candidates that lack data have their lists of missing data built.
    lacking = pl.concat(
        [
            part.filter(~pl.col("fails") & kept.gather(part[_ROW])).select(
                _ROW, pl.lit(order, dtype=pl.UInt32).alias("order"), f.missing.alias(_LACKS)
            )
            for order, (part, (_, f)) in enumerate(zip(said, narrowed, strict=True))
        ]
    )
    if lacking.is_empty():
        return chain.filter(kept)
    # A candidate's missing data in filter order (a group keeps the order of its rows).
    listed = (
        lacking.sort(_ROW, "order")
        .group_by(_ROW, maintain_order=True)
        .agg(pl.col(_LACKS).list.explode(keep_nulls=False, empty_as_null=False))
    )
    lists = pl.repeat(False, chain.height, eager=True).scatter(listed[_ROW], True)
    return pl.concat(
        [
            chain.filter(kept & ~lists),
            chain.filter(lists)
            .join(listed, on=_ROW)
            .with_columns(pl.concat_list("missing", _LACKS).alias("missing"))
            .drop(_LACKS),
        ]
    )


def _value_columns(frames: Sequence[pl.DataFrame]) -> list[str]:
    names: dict[str, None] = {}
    for frame in frames:
        for name in frame.columns:
            if name not in (*KEY, "refs", "missing"):
                names[name] = None
    return list(names)
