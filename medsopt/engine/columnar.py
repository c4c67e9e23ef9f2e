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
    Filter,
    Lookups,
    Population,
)
from medsopt.engine.clauses.concerns import merge_concerns_plan
from medsopt.engine.clauses.conditions import filter_present
from medsopt.engine.clauses.registry import FILTERS, GENERATORS, FilterPlan
from medsopt.engine.clauses.supersedes import drop_superseded_plan
from medsopt.engine.text import (
    NO_CONTRIBUTORS,
    NOT_SCORED,
    age_expr,
    egfr_expr,
    medicines_expr,
    render,
    sorted_texts,
)
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
# Placeholder values some generating clauses fill (the rest come from the patient).
_VALUE_COLUMNS = ("count", "total", "contributors", "severity_override")
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
    table = pl.DataFrame(
        [
            (
                r.id,
                r.category,
                r.severity,
                r.title,
                sum(type(c) in GENERATORS for c in r.clauses if not _checked_condition(c, r)),
                r.concern,
            )
            for r in rules
        ],
        schema={
            "rule_id": population.rule_id_type,
            "category": pl.String,
            "severity": pl.String,
            "title": pl.String,
            "n_generators": pl.UInt32,
            "concern": pl.String,
        },
        orient="row",
    )
    candidates = _candidates(population, lookups, by_kind, table)
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
        findings=merge_concerns_plan(_texts(kept, population, rules, table), lookups.concerns)
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

    The candidates are split by the set of filters their rule has; each part is judged by those
    filters only, in `FILTERS` order (so the missing data is listed in one order for every
    rule), and the rules with no filter pass as generated.
    """
    narrowed: list[Filter] = []
    has: dict[str, list[int]] = {}
    filters: list[tuple[type, FilterPlan]] = [*FILTERS.items(), (CheckedConditions, filter_present)]
    for kind, make in filters:
        pairs = by_kind.get(kind)
        if not pairs:
            continue
        for rule_id in dict.fromkeys(rule_id for rule_id, _ in pairs):
            has.setdefault(rule_id, []).append(len(narrowed))
        narrowed.append(make(pairs, population, lookups))
    chain = candidates.join(population.facts, on=PATIENT_ID, how="left")
    if not has or chain.is_empty():
        return chain
    # Each filter's frames are worked out once, however many parts read them.
    frames = iter(pl.collect_all([frame for f in narrowed for frame, _ in (*f.excluded, *f.joins)]))
    narrowed = [
        Filter(
            excluded=tuple((next(frames).lazy(), on) for _, on in f.excluded),
            joins=tuple((next(frames).lazy(), on) for _, on in f.joins),
            fails=f.fails,
            missing=f.missing,
            lacks=f.lacks,
        )
        for f in narrowed
    ]
    signatures = sorted({tuple(used) for used in has.values()})
    parts = chain.join(
        pl.DataFrame(
            [(rule_id, signatures.index(tuple(used))) for rule_id, used in has.items()],
            schema={"rule_id": population.rule_id_type, "signature": pl.UInt32},
            orient="row",
        ),
        on="rule_id",
        how="left",
    ).partition_by("signature", as_dict=True, include_key=False)
    judged = []
    plans, lists = [], []
    for (signature,), part in parts.items():
        if signature is None:
            judged.append(part)
            continue
        plan = part.lazy()
        fails: pl.Expr = pl.lit(False)
        lacks: pl.Expr = pl.col("missing").list.len() > 0
        missing = [pl.col("missing")]
        for index in signatures[int(signature)]:
            for frame, on in narrowed[index].excluded:
                plan = plan.join(frame, on=list(on), how="anti")
        for index in signatures[int(signature)]:
            for frame, on in narrowed[index].joins:
                plan = plan.join(frame, on=list(on), how="left")
            fails = fails | narrowed[index].fails
            lacks = lacks | narrowed[index].lacks
            missing.append(narrowed[index].missing)
        plans.append(plan.filter(~fails).with_columns(lacks.fill_null(False).alias(_LACKS)))
        lists.append(pl.concat_list(missing))
    # Most candidates lack nothing: only the others have their lists of missing data built.
    for kept, missing_list in zip(pl.collect_all(plans), lists, strict=True):
        judged.append(kept.filter(~pl.col(_LACKS)).select(chain.columns))
        lacking = kept.filter(pl.col(_LACKS))
        if not lacking.is_empty():
            judged.append(lacking.with_columns(missing=missing_list).select(chain.columns))
    return pl.concat(judged)


def _texts(
    fired: pl.DataFrame, population: Population, rules: Sequence[RuleIR], table: pl.DataFrame
) -> pl.DataFrame:
    """Each finding with its rule's detail and recommendation rendered for its patient."""
    if fired.is_empty():
        return pl.DataFrame(
            schema={c: t for c, t in FINDINGS_SCHEMA.items() if c != "sources"}
            | {PATIENT_ID: fired.schema[PATIENT_ID], "rule_id": fired.schema["rule_id"]}
        )
    # The medicines of findings that name any (a finding naming none involves none).
    involved = (
        fired.select(_ROW, PATIENT_ID, "refs")
        .filter(pl.col("refs").list.len() > 0)
        .explode("refs")
        .join(
            population.meds.select(
                PATIENT_ID, pl.col("ref").alias("refs"), "name", "molecule", "proposed"
            ),
            on=[PATIENT_ID, "refs"],
            how="left",
        )
        .group_by(_ROW)
        .agg(
            pl.col("name").drop_nulls().alias("names"),
            pl.col("molecule").drop_nulls().n_unique().alias("molecules"),
            pl.col("proposed").fill_null(False).any().alias("involves_proposed"),
        )
    )
    ready = (
        fired.join(involved, on=_ROW, how="left")
        .join(table.select("rule_id", "category", "severity", "title", "concern"), on="rule_id")
        .with_columns(
            *(
                pl.lit(None, dtype=pl.String).alias(c)
                for c in _VALUE_COLUMNS
                if c not in fired.columns
            ),
        )
        .with_columns(
            medicines=medicines_expr(pl.col("names")),
            age=age_expr(pl.col("age")),
            egfr=egfr_expr(pl.col("egfr")),
            count=pl.coalesce("count", pl.col("molecules").fill_null(0).cast(pl.String)),
            involves_proposed=pl.col("involves_proposed").fill_null(False),
            total=pl.col("total").fill_null(NOT_SCORED),
            contributors=pl.col("contributors").fill_null(NO_CONTRIBUTORS),
            severity=pl.coalesce("severity_override", "severity"),
            refs=sorted_texts(pl.col("refs")),
        )
    )
    by_id = {rule.id: rule for rule in rules}
    rendered = []
    for (rule_id,), part in ready.partition_by("rule_id", as_dict=True).items():
        rule = by_id[str(rule_id)]
        columns = {name: pl.col(name) for name in part.columns}
        rendered.append(
            part.with_columns(
                detail=_column(render(rule.detail, columns)),
                recommendation=_column(render(rule.recommendation, columns)),
            ).select(*(c for c in FINDINGS_SCHEMA if c != "sources"))
        )
    return pl.concat(rendered)


def _column(text: str | pl.Expr) -> pl.Expr:
    """A rendered template: text without placeholders is one literal for every row."""
    return pl.lit(text) if isinstance(text, str) else text


def _value_columns(frames: Sequence[pl.DataFrame]) -> list[str]:
    names: dict[str, None] = {}
    for frame in frames:
        for name in frame.columns:
            if name not in (*KEY, "refs", "missing"):
                names[name] = None
    return list(names)
