"""The point-of-care rule set evaluated columnar for every patient at once.

Semantics equal `medsopt.engine.check` for a request holding the patient's current medicines
(one entry per distinct code, ref = code, status current, start_date = first dispensing seen,
listed in code order) and `as_of`: a rule applies when every clause holds (all_of, duplicate,
count, score, duration, none_of, patient criteria); a known fact that fails wins over a missing
one; a missing fact makes the rule *not evaluated* (ADR 3); `supersedes` drops a fired rule
whose medicines are a subset of the superseding finding's; local-formulary findings are added
per medicine. tests/scan/test_differential.py holds the two paths together.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import polars as pl

from medsopt.engine.formulary_checks import HOSPITAL_ONLY, NON_FORMULARY, SECOND_LINE
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import schema as s

_KEY = [s.PATIENT_ID, "rule_id"]
# What the engine reports missing for a rule with none_of while a code is unresolved (it may be
# the medicine whose absence the rule is about): medsopt/engine/evaluate.py.
UNRESOLVED_MISSING = "resolvable codes for every medicine"
_CODES = pl.List(pl.String)


@dataclass(frozen=True, slots=True)
class BatchRules:
    """A compiled RuleSet as tables (picklable, so shards in other processes can use it)."""

    rules: pl.DataFrame  # one row per active rule: metadata, clause parameters, criteria
    all_of: pl.DataFrame  # rule_id, group
    none_of: pl.DataFrame  # rule_id, group
    involved: pl.DataFrame  # rule_id, group: all_of and duplicate groups a finding names
    count_exclude: pl.DataFrame  # rule_id, group
    conditions_any: pl.DataFrame  # rule_id, condition_group (at least one recorded)
    conditions_all: pl.DataFrame  # rule_id, condition_group (every one recorded)
    conditions_none: pl.DataFrame  # rule_id, condition_group
    supersedes: pl.DataFrame  # rule_id, target
    membership: pl.DataFrame  # concept_code, group
    conditions: pl.DataFrame  # condition_code, condition_group
    scales: pl.DataFrame  # concept_code, scale, score
    formulary: pl.DataFrame  # concept_code, formulary_status, formulary_line, formulary_class


_RULE_SCHEMA = {
    "rule_id": pl.String,
    "category": pl.String,
    "severity": pl.String,
    "title": pl.String,
    "n_all_of": pl.Int32,
    "dup_group": pl.String,
    "dup_min": pl.Int32,
    "has_count": pl.Boolean,
    "count_group": pl.String,
    "count_min": pl.Int32,
    "score_scale": pl.String,
    "score_min": pl.Int32,
    "duration_group": pl.String,
    "duration_days": pl.Int32,
    "age_at_least": pl.Int32,
    "age_below": pl.Int32,
    "egfr_below": pl.Float64,
    "egfr_at_least": pl.Float64,
    "need_sex": pl.String,
    "need_pregnant": pl.Boolean,
    "n_conditions_any": pl.Int32,
    "n_conditions_all": pl.Int32,
    "asserts_absence": pl.Boolean,
}


def _pairs(pairs: list[tuple[str, str]], second: str) -> pl.DataFrame:
    return pl.DataFrame(
        pairs, schema={"rule_id": pl.String, second: pl.String}, orient="row"
    ).unique()


def compile_batch(
    ruleset: RuleSet,
    membership: pl.DataFrame,
    conditions: pl.DataFrame,
    scales: pl.DataFrame,
    formulary: pl.DataFrame,
) -> BatchRules:
    """Tables for every active rule; the lookup frames come from `scan.vocabulary`."""
    rows = []
    all_of, none_of, involved, exclude, supersedes = [], [], [], [], []
    c_any, c_all, c_none = [], [], []
    for rule_id in sorted(ruleset.rules):
        rule = ruleset.rules[rule_id].rule
        match, patient = rule.match, rule.match.patient
        all_of += [(rule_id, g) for g in match.all_of]
        none_of += [(rule_id, g) for g in match.none_of]
        involved += [(rule_id, g) for g in match.all_of]
        if match.duplicate is not None:
            involved.append((rule_id, match.duplicate.group))
        if match.count is not None:
            exclude += [(rule_id, g) for g in match.count.exclude_groups]
        if patient is not None:
            c_any += [(rule_id, g) for g in patient.conditions_any]
            c_all += [(rule_id, g) for g in patient.conditions_all]
            c_none += [(rule_id, g) for g in patient.conditions_none]
        supersedes += [(rule_id, t) for t in rule.supersedes]
        rows.append(
            {
                "rule_id": rule_id,
                "category": rule.category,
                "severity": rule.severity,
                "title": rule.title,
                "n_all_of": len(set(match.all_of)),
                "dup_group": match.duplicate.group if match.duplicate else None,
                "dup_min": match.duplicate.min_distinct if match.duplicate else None,
                "has_count": match.count is not None,
                "count_group": match.count.group if match.count else None,
                "count_min": match.count.at_least if match.count else None,
                "score_scale": match.score.scale if match.score else None,
                "score_min": match.score.at_least if match.score else None,
                "duration_group": match.duration.group if match.duration else None,
                "duration_days": match.duration.at_least_days if match.duration else None,
                "age_at_least": patient.age_at_least if patient else None,
                "age_below": patient.age_below if patient else None,
                "egfr_below": patient.egfr_below if patient else None,
                "egfr_at_least": patient.egfr_at_least if patient else None,
                "need_sex": patient.sex if patient else None,
                "need_pregnant": patient.pregnant if patient else None,
                "n_conditions_any": len(set(patient.conditions_any)) if patient else 0,
                "n_conditions_all": len(set(patient.conditions_all)) if patient else 0,
                "asserts_absence": bool(match.none_of),
            }
        )
    return BatchRules(
        rules=pl.DataFrame(rows, schema=_RULE_SCHEMA),
        all_of=_pairs(all_of, "group"),
        none_of=_pairs(none_of, "group"),
        involved=_pairs(involved, "group"),
        count_exclude=_pairs(exclude, "group"),
        conditions_any=_pairs(c_any, "condition_group"),
        conditions_all=_pairs(c_all, "condition_group"),
        conditions_none=_pairs(c_none, "condition_group"),
        supersedes=pl.DataFrame(
            supersedes, schema={"rule_id": pl.String, "target": pl.String}, orient="row"
        ),
        membership=membership,
        conditions=conditions,
        scales=scales,
        formulary=formulary,
    )


@dataclass(frozen=True, slots=True)
class SafetyResult:
    """Fired findings and rules not evaluated, one row per patient and rule (and medicine,
    for formulary findings)."""

    findings: pl.LazyFrame  # patient_id, rule_id, category, severity, title, codes
    not_evaluated: pl.LazyFrame  # patient_id, rule_id, title, missing, codes


def evaluate(
    current: pl.LazyFrame,
    patients: pl.LazyFrame,
    resolution: pl.LazyFrame,
    rules: BatchRules,
    as_of: datetime.date,
    unresolved: pl.LazyFrame | None = None,
    biosimilar: pl.LazyFrame | None = None,
) -> SafetyResult:
    """Findings for every patient with at least one current medicine.

    `biosimilar`: per-code biosimilar findings (`scan.biosimilars.biosimilar_outcomes`).

    `current`: patient_id, code, start_date (Date or null), distinct resolvable codes;
    `patients`: clean patient facts (`schema.CLEAN_PATIENTS`; a patient without a row has no
    facts); `resolution`: `vocabulary.resolution_table`; `unresolved`: patient_id of patients
    with a current medicine whose code did not resolve (quarantined), for rules with none_of.

    Each clause is computed once from the medicines and joined onto one chain of candidate
    (patient, rule) pairs, so the plan grows linearly with the clauses.
    """
    meds = (
        current.select(s.PATIENT_ID, s.CODE, "start_date")
        .unique([s.PATIENT_ID, s.CODE])
        .join(resolution.select("code", "concept_code", "molecule"), on=s.CODE)
    )
    hits = meds.join(rules.membership.lazy(), on="concept_code").select(
        s.PATIENT_ID, "group", s.CODE, "molecule", "start_date"
    )
    present = hits.select(s.PATIENT_ID, "group").unique()
    rule_table = rules.rules.lazy()

    counted = _count(meds, hits, rules)
    scored = _score(meds, rules)
    dated = _duration(hits, rules, as_of)
    molecules = hits.group_by(s.PATIENT_ID, "group").agg(
        pl.col("molecule").n_unique().alias("molecules")
    )
    blocked = (
        present.join(rules.none_of.lazy(), on="group")
        .select(_KEY)
        .unique()
        .with_columns(blocked=pl.lit(True))
    )
    chain = (
        _candidates(meds, present, counted, scored, dated, rules)
        .join(rule_table, on="rule_id")
        # duplicate: at least dup_min distinct molecules in the group.
        .join(
            molecules,
            left_on=[s.PATIENT_ID, "dup_group"],
            right_on=[s.PATIENT_ID, "group"],
            how="left",
        )
        .filter(
            pl.col("dup_group").is_null() | (pl.col("molecules").fill_null(0) >= pl.col("dup_min"))
        )
        .join(counted, on=_KEY, how="left")
        .filter(~pl.col("has_count") | pl.col("count_codes").is_not_null())
        .join(scored, on=_KEY, how="left")
        .filter(pl.col("score_scale").is_null() | pl.col("score_codes").is_not_null())
        .join(dated, on=_KEY, how="left")
        .filter(pl.col("duration_group").is_null() | pl.col("duration_codes").is_not_null())
        .join(blocked, on=_KEY, how="left")
        .filter(pl.col("blocked").is_null())
    )
    involved = (
        hits.select(s.PATIENT_ID, "group", s.CODE)
        .join(rules.involved.lazy(), on="group")
        .group_by(_KEY)
        .agg(pl.col(s.CODE).alias("group_codes"))
    )
    empty = pl.lit([], dtype=_CODES)
    if unresolved is None:
        unresolved = pl.LazyFrame(schema={s.PATIENT_ID: pl.String})
    flagged = unresolved.select(s.PATIENT_ID).unique().with_columns(has_unresolved=pl.lit(True))
    named = (
        _patient_criteria(chain, patients, rules)
        .filter(~pl.col("fails"))
        .join(involved, on=_KEY, how="left")
        .join(flagged, on=s.PATIENT_ID, how="left")
        .with_columns(
            codes=pl.concat_list(
                *(
                    pl.col(c).fill_null(empty)
                    for c in ("group_codes", "count_codes", "score_codes", "duration_codes")
                )
            )
            .list.unique()
            .list.sort(),
            missing=pl.concat_list(
                pl.col("duration_missing").fill_null(empty),
                pl.when(pl.col("asserts_absence") & pl.col("has_unresolved").fill_null(False))
                .then(pl.lit([UNRESOLVED_MISSING], dtype=_CODES))
                .otherwise(empty),
                "patient_missing",
            ),
        )
        .select(*_KEY, "category", "severity", "title", "codes", "missing")
    )
    fired = named.filter(pl.col("missing").list.len() == 0)
    not_evaluated = named.filter(pl.col("missing").list.len() > 0).select(
        *_KEY, "title", "missing", "codes"
    )
    rule_findings = _drop_superseded(fired, rules).select(
        *_KEY, "category", "severity", "title", "codes"
    )
    return SafetyResult(
        findings=pl.concat(
            [
                rule_findings,
                _formulary_findings(meds, rules),
                *([_biosimilar_findings(meds, biosimilar)] if biosimilar is not None else []),
            ]
        ),
        not_evaluated=not_evaluated,
    )


def _candidates(
    meds: pl.LazyFrame,
    present: pl.LazyFrame,
    counted: pl.LazyFrame,
    scored: pl.LazyFrame,
    dated: pl.LazyFrame,
    rules: BatchRules,
) -> pl.LazyFrame:
    """(patient, rule) pairs worth checking: a superset of those that can apply.

    A rule with all_of needs every group present. Otherwise its first medicine clause narrows
    it (duplicate group present, count/score/duration met); only omission rules (none_of and
    patient facts alone) are checked for every patient with a current medicine.
    """
    table = rules.rules.lazy()
    with_all_of = (
        present.join(rules.all_of.lazy(), on="group")
        .group_by(_KEY)
        .agg(pl.len().alias("found"))
        .join(table.select("rule_id", "n_all_of"), on="rule_id")
        .filter(pl.col("found") == pl.col("n_all_of"))
        .select(_KEY)
    )
    rest = table.filter(pl.col("n_all_of") == 0)
    by_duplicate = rest.filter(pl.col("dup_group").is_not_null())
    rest = rest.filter(pl.col("dup_group").is_null())
    by_count = rest.filter(pl.col("has_count"))
    rest = rest.filter(~pl.col("has_count"))
    by_score = rest.filter(pl.col("score_scale").is_not_null())
    rest = rest.filter(pl.col("score_scale").is_null())
    by_duration = rest.filter(pl.col("duration_group").is_not_null())
    omissions = rest.filter(pl.col("duration_group").is_null())
    return pl.concat(
        [
            with_all_of,
            present.join(
                by_duplicate.select("rule_id", pl.col("dup_group").alias("group")), on="group"
            ).select(_KEY),
            counted.join(by_count.select("rule_id"), on="rule_id").select(_KEY),
            scored.join(by_score.select("rule_id"), on="rule_id").select(_KEY),
            dated.join(by_duration.select("rule_id"), on="rule_id").select(_KEY),
            meds.select(s.PATIENT_ID).unique().join(omissions.select("rule_id"), how="cross"),
        ]
    )


def _count(meds: pl.LazyFrame, hits: pl.LazyFrame, rules: BatchRules) -> pl.LazyFrame:
    """count: (patient, rule) with enough distinct molecules, and the medicines counted."""
    counting = (
        rules.rules.lazy().filter(pl.col("has_count")).select("rule_id", "count_group", "count_min")
    )
    in_group = counting.filter(pl.col("count_group").is_not_null()).join(
        hits.select(pl.col("group").alias("count_group"), s.PATIENT_ID, s.CODE, "molecule"),
        on="count_group",
    )
    whole_list = counting.filter(pl.col("count_group").is_null()).join(
        meds.select(s.PATIENT_ID, s.CODE, "molecule"), how="cross"
    )
    excluded = (
        rules.count_exclude.lazy()
        .join(hits.select(s.PATIENT_ID, "group", s.CODE), on="group")
        .select(*_KEY, s.CODE)
        .unique()
    )
    return (
        pl.concat([in_group, whole_list], how="diagonal")
        .join(excluded, on=[*_KEY, s.CODE], how="anti")
        .group_by(_KEY)
        .agg(
            pl.col("molecule").n_unique().alias("counted"),
            pl.col("count_min").first(),
            pl.col(s.CODE).alias("count_codes"),
        )
        .filter(pl.col("counted") >= pl.col("count_min"))
        .select(*_KEY, "count_codes")
    )


def _score(meds: pl.LazyFrame, rules: BatchRules) -> pl.LazyFrame:
    """score: each molecule once at its highest score; every medicine of a scoring molecule
    is involved (so neither list order nor extra packs change the answer)."""
    scoring = rules.rules.lazy().filter(pl.col("score_scale").is_not_null())
    scored = (
        scoring.select("rule_id", pl.col("score_scale").alias("scale"), "score_min")
        .join(rules.scales.lazy(), on="scale")
        .join(meds.select(s.PATIENT_ID, s.CODE, "concept_code", "molecule"), on="concept_code")
    )
    return (
        scored.group_by([*_KEY, "molecule"])
        .agg(pl.col("score").max(), pl.col("score_min").first(), pl.col(s.CODE))
        .filter(pl.col("score") > 0)
        .group_by(_KEY)
        .agg(
            pl.col("score").sum().alias("total"),
            pl.col("score_min").first(),
            pl.col(s.CODE).list.explode(keep_nulls=False, empty_as_null=False).alias("score_codes"),
        )
        .filter(pl.col("total") >= pl.col("score_min"))
        .select(*_KEY, "score_codes")
    )


def _duration(hits: pl.LazyFrame, rules: BatchRules, as_of: datetime.date) -> pl.LazyFrame:
    """duration: the group's medicines taken long enough; if none but some are undated, all of
    them, with `start_date` missing (the engine's `_duration`)."""
    timed = (
        rules.rules.lazy()
        .filter(pl.col("duration_group").is_not_null())
        .select("rule_id", pl.col("duration_group").alias("group"), "duration_days")
        .join(hits.select(s.PATIENT_ID, "group", s.CODE, "start_date"), on="group")
        .with_columns(
            long_enough=(
                (pl.lit(as_of) - pl.col("start_date")).dt.total_days() >= pl.col("duration_days")
            ).fill_null(False)
        )
    )
    return (
        timed.group_by(_KEY)
        .agg(
            pl.col("long_enough").any().alias("any_long"),
            pl.col("start_date").is_null().any().alias("undated"),
            pl.col(s.CODE).filter(pl.col("long_enough")).alias("long_codes"),
            pl.col(s.CODE).alias("all_codes"),
        )
        .filter(pl.col("any_long") | pl.col("undated"))
        .select(
            *_KEY,
            pl.when(pl.col("any_long"))
            .then(pl.col("long_codes"))
            .otherwise(pl.col("all_codes"))
            .alias("duration_codes"),
            pl.when(pl.col("any_long"))
            .then(pl.lit([], dtype=_CODES))
            .otherwise(pl.lit(["start_date"], dtype=_CODES))
            .alias("duration_missing"),
        )
    )


def _patient_criteria(
    candidates: pl.LazyFrame, patients: pl.LazyFrame, rules: BatchRules
) -> pl.LazyFrame:
    """Add `fails` (a known fact fails) and `patient_missing` (facts needed, not supplied)."""
    facts = patients.select(
        s.PATIENT_ID,
        pl.col(s.AGE_YEARS).alias("age"),
        pl.col(s.SEX).alias("sex"),
        pl.col(s.EGFR).alias("egfr"),
        pl.col(s.PREGNANT).alias("pregnant"),
    )
    recorded = (
        patients.select(s.PATIENT_ID, pl.col(s.CONDITION_CODES).alias("condition_code"))
        .explode("condition_code")
        .join(rules.conditions.lazy(), on="condition_code")
        .select(s.PATIENT_ID, "condition_group")
        .unique()
    )
    found_any = (
        rules.conditions_any.lazy()
        .join(recorded, on="condition_group")
        .select(_KEY)
        .unique()
        .with_columns(any_condition=pl.lit(True))
    )
    found_all = (
        rules.conditions_all.lazy()
        .join(recorded, on="condition_group")
        .group_by(_KEY)
        .agg(pl.len().alias("conditions_found"))
    )
    excluded = (
        rules.conditions_none.lazy()
        .join(recorded, on="condition_group")
        .select(_KEY)
        .unique()
        .with_columns(excluded_condition=pl.lit(True))
    )
    age, egfr = pl.col("age"), pl.col("egfr")
    sex = pl.col("sex").fill_null("unknown")
    needs_age = pl.col("age_at_least").is_not_null() | pl.col("age_below").is_not_null()
    needs_egfr = pl.col("egfr_below").is_not_null() | pl.col("egfr_at_least").is_not_null()
    needs_sex = pl.col("need_sex").is_not_null()
    fails = (
        (age < pl.col("age_at_least")).fill_null(False)
        | (age >= pl.col("age_below")).fill_null(False)
        | (egfr >= pl.col("egfr_below")).fill_null(False)
        | (egfr < pl.col("egfr_at_least")).fill_null(False)
        | (needs_sex & (sex != "unknown") & (sex != pl.col("need_sex")))
        | (pl.col("pregnant") != pl.col("need_pregnant")).fill_null(False)
        | (pl.col("conditions_found").fill_null(0) < pl.col("n_conditions_all"))
        | ((pl.col("n_conditions_any") > 0) & pl.col("any_condition").is_null())
        | pl.col("excluded_condition").fill_null(False)
    )
    missing = pl.concat_list(
        pl.when(needs_age & age.is_null()).then(pl.lit("age_years")),
        pl.when(needs_egfr & egfr.is_null()).then(pl.lit("egfr")),
        pl.when(needs_sex & (sex == "unknown")).then(pl.lit("sex")),
        pl.when(pl.col("need_pregnant").is_not_null() & pl.col("pregnant").is_null()).then(
            pl.lit("pregnancy")
        ),
    ).list.drop_nulls()
    return (
        candidates.join(facts, on=s.PATIENT_ID, how="left")
        .join(found_any, on=_KEY, how="left")
        .join(found_all, on=_KEY, how="left")
        .join(excluded, on=_KEY, how="left")
        .with_columns(fails=fails, patient_missing=missing)
    )


def _drop_superseded(fired: pl.LazyFrame, rules: BatchRules) -> pl.LazyFrame:
    """As the engine: a target is dropped when a fired superseding rule covers its medicines."""
    superseding = fired.select(s.PATIENT_ID, "rule_id", pl.col("codes").alias("by_codes")).join(
        rules.supersedes.lazy(), on="rule_id"
    )
    dropped = (
        superseding.join(
            fired.select(s.PATIENT_ID, pl.col("rule_id").alias("target"), "codes"),
            on=[s.PATIENT_ID, "target"],
        )
        .filter(pl.col("codes").list.set_difference("by_codes").list.len() == 0)
        .select(s.PATIENT_ID, pl.col("target").alias("rule_id"))
        .unique()
    )
    return fired.join(dropped, on=_KEY, how="anti")


def _formulary_findings(meds: pl.LazyFrame, rules: BatchRules) -> pl.LazyFrame:
    """Non-formulary and hospital-only medicines; second-line without the class's first line.

    Specialist-initiation findings need a *proposed* medicine; dispensed ones are current.
    """
    placed = meds.select(s.PATIENT_ID, s.CODE, "concept_code").join(
        rules.formulary.lazy(), on="concept_code"
    )
    first_line = (
        placed.filter(pl.col("formulary_line") == "first")
        .select(s.PATIENT_ID, "formulary_class")
        .unique()
        .with_columns(has_first_line=pl.lit(True))
    )
    status = pl.col("formulary_status")
    second_line = (
        pl.col("formulary_line").is_in(["second", "third"])
        & pl.col("formulary_class").is_not_null()
        & ~pl.col("has_first_line").fill_null(False)
    )
    kinds = [(status == "non-formulary", NON_FORMULARY), (status == "hospital-only", HOSPITAL_ONLY)]
    kinds.append((second_line, SECOND_LINE))
    rule_id: pl.Expr = pl.lit(None, dtype=pl.String)
    severity: pl.Expr = pl.lit(None, dtype=pl.String)
    title: pl.Expr = pl.lit(None, dtype=pl.String)
    for condition, kind in reversed(kinds):
        rule_id = pl.when(condition).then(pl.lit(kind.rule_id)).otherwise(rule_id)
        severity = pl.when(condition).then(pl.lit(kind.severity)).otherwise(severity)
        title = pl.when(condition).then(pl.lit(kind.title)).otherwise(title)
    return (
        placed.join(first_line, on=[s.PATIENT_ID, "formulary_class"], how="left")
        .with_columns(rule_id=rule_id, severity=severity, title=title)
        .filter(pl.col("rule_id").is_not_null())
        .select(
            *_KEY,
            pl.lit("formulary").alias("category"),
            "severity",
            "title",
            pl.concat_list(s.CODE).alias("codes"),
        )
    )


def _biosimilar_findings(meds: pl.LazyFrame, outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Each current biologic's precomputed biosimilar findings, one row per medicine."""
    return (
        meds.select(s.PATIENT_ID, s.CODE, "concept_code")
        .join(outcomes, on="concept_code")
        .select(*_KEY, "category", "severity", "title", pl.concat_list(s.CODE).alias("codes"))
    )
