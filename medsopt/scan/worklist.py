"""A ranked worklist: who a pharmacist should contact first, and why in plain words.

score = w_safety * safety + w_adherence * gap + w_recoverability * recoverable, each part in
[0, 1], so the score is in [0, sum of weights]:

- safety: sum of the patient's finding weights by severity (severe 1, moderate 0.5, mild 0.2,
  info 0.05), capped at 1.
- gap: the worst eligible class's shortfall below the PDC threshold, (0.80 - PDC) / 0.80.
- recoverable: for that class, how close full adherence from now would bring it to 0.80 by the
  next review (`best_pdc_next_review` / 0.80, capped at 1); 0 when there is no gap. A patient
  who can still reach the threshold ranks above one who cannot, at the same gap.

Weights are configurable (`--weights safety=0.5,adherence=0.3,recoverability=0.2`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from medsopt.scan import schema as s
from medsopt.scan.pdc import ADHERENT_AT

SEVERITY_WEIGHT = {"severe": 1.0, "moderate": 0.5, "mild": 0.2, "info": 0.05}
SEVERITY_RANK = {"severe": 0, "moderate": 1, "mild": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each part of the score counts."""

    safety: float = 0.5
    adherence: float = 0.3
    recoverability: float = 0.2

    def __post_init__(self) -> None:
        parts = (self.safety, self.adherence, self.recoverability)
        if any(w < 0 for w in parts) or sum(parts) <= 0:
            raise ValueError("weights must be >= 0 and not all 0")

    @classmethod
    def parse(cls, text: str) -> Weights:
        """From 'safety=0.5,adherence=0.3,recoverability=0.2' (any subset; others default)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, number = part.partition("=")
            if name.strip() not in ("safety", "adherence", "recoverability"):
                raise ValueError(f"unknown weight {name.strip()!r}")
            try:
                values[name.strip()] = float(number)
            except ValueError as error:
                raise ValueError(f"weight {name.strip()!r}: {number!r} is not a number") from error
        return cls(**values)


def _divided(value: pl.Expr, by: float) -> pl.Expr:
    """`value / by`, the same to the last bit however polars runs the plan.

    polars divides a column by a literal as a product with the literal's inverse on some paths
    (two rows or more, in memory) and as a true division on others (one row; the streaming
    engine), so one patient could score 1 ulp apart by partition or Spark bucket and swap
    places in the worklist. A product with the inverse has one result on every path.
    """
    return value * (1.0 / by)


def _two_decimals(value: pl.Expr) -> pl.Expr:
    """0.543 -> '0.54' (floored, so a PDC shown as 0.79 is never really 0.80)."""
    hundredths = (value * 100).floor().cast(pl.Int32)
    return (
        (hundredths // 100).cast(pl.String)
        + pl.lit(".")
        + (hundredths % 100).cast(pl.String).str.zfill(2)
    )


def patient_scores(
    adherence: pl.LazyFrame,
    findings: pl.LazyFrame,
    not_evaluated: pl.LazyFrame,
    current: pl.LazyFrame,
    names: pl.LazyFrame,
    labels: pl.LazyFrame,
    weights: Weights,
) -> pl.LazyFrame:
    """One row per patient with something to act on: score parts and plain-words reasons.

    `current`: patient_id, code; `names`: code, molecule_name (resolution table);
    `labels`: drug_class, label (adherence classes).
    """
    below = (
        adherence.filter(pl.col("pdc") < ADHERENT_AT)
        .join(labels, on="drug_class", how="left")
        .with_columns(
            gap=_divided(ADHERENT_AT - pl.col("pdc"), ADHERENT_AT),
            part=pl.concat_str(
                pl.col("label"),
                pl.lit(" PDC "),
                _two_decimals(pl.col("pdc")),
                pl.lit(" over "),
                pl.col("period_days").cast(pl.String),
                pl.lit(" days"),
                pl.when(pl.col("late_refills") > 0)
                .then(
                    pl.concat_str(
                        pl.lit("; "),
                        pl.col("late_refills").cast(pl.String),
                        pl.when(pl.col("late_refills") == 1)
                        .then(pl.lit(" late refill"))
                        .otherwise(pl.lit(" late refills")),
                    )
                )
                .otherwise(pl.lit("")),
            ),
            _classes=pl.len().over(s.PATIENT_ID),
        )
        .collect(engine="in-memory")
        .lazy()
    )
    # Most patients have one class below the threshold: that row is their summary as it is
    # (grouping text is slow); the others are grouped.
    gaps = pl.concat(
        [
            below.filter(pl.col("_classes") == 1).select(
                s.PATIENT_ID,
                pl.col("gap").alias("adherence_gap"),
                pl.col("best_pdc_next_review").alias("best"),
                pl.col("pdc").alias("lowest_pdc"),
                pl.col("part").fill_null("").alias("adherence_reasons"),
            ),
            # Sorted once, so each patient's parts are gathered in order and joined as a
            # list (a text join per group costs several times more).
            below.filter(pl.col("_classes") > 1)
            .sort(s.PATIENT_ID, "pdc", "drug_class")
            .group_by(s.PATIENT_ID, maintain_order=True)
            .agg(
                pl.col("gap").max().alias("adherence_gap"),
                pl.col("best_pdc_next_review")
                .sort_by(["gap", "drug_class"], descending=[True, False])
                .first()
                .alias("best"),
                pl.col("pdc").min().alias("lowest_pdc"),
                pl.col("part").alias("adherence_reasons"),
            )
            .with_columns(pl.col("adherence_reasons").list.join("; ")),
        ]
    )
    on_list = current.group_by(s.PATIENT_ID).agg(
        pl.col(s.CODE).n_unique().alias("current_medicines")
    )
    named = findings.with_columns(
        # In hundredths, so the sum (and the rank) does not depend on the order of addition.
        weight=pl.col("severity").replace_strict(
            {k: round(v * 100) for k, v in SEVERITY_WEIGHT.items()}, return_dtype=pl.Int64
        ),
        severity_rank=pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int32),
    )
    # The most severe finding names the medicines; ties go to rule id, then codes, so the
    # reasons never depend on row order (or on how patients were sharded).
    # Of the most severe, the first by rule id then codes (a stable sort keeps row order
    # between equals, as an ordinal rank would).
    most_severe = pl.col("severity_rank") == pl.col("severity_rank").min().over(s.PATIENT_ID)
    worst = (
        named.filter(most_severe)
        .with_columns(_codes=pl.col("codes").list.join(";"))
        .sort(s.PATIENT_ID, "rule_id", "_codes", maintain_order=True)
        .filter(pl.col(s.PATIENT_ID).is_first_distinct())
        .select(
            s.PATIENT_ID,
            "codes",
            "rule_id",
            "severity",
            pl.col("title").alias("top_finding"),
            pl.col("recommendation").alias("what_to_do"),
        )
    )
    # Its medicines by name: most findings name one code, whose name is the text as it is.
    chosen_frame = worst.collect(engine="in-memory")
    chosen = chosen_frame.lazy()
    # Only the names of codes a chosen finding names (the table holds all of dm+d).
    wanted = chosen_frame.get_column("codes").explode().drop_nulls().unique()
    known = names.filter(pl.col("code").is_in(wanted.implode())).rename({"code": "codes"})
    listed = (
        chosen.select(s.PATIENT_ID, "codes")
        .explode("codes")
        .join(known, on="codes", how="left")
        .with_columns(_codes=pl.len().over(s.PATIENT_ID))
    )
    molecules = pl.col("molecule_name").str.to_lowercase()
    named_codes = pl.concat(
        [
            listed.filter(pl.col("_codes") == 1).select(s.PATIENT_ID, molecules.fill_null("")),
            listed.filter(pl.col("_codes") > 1)
            .group_by(s.PATIENT_ID)
            .agg(molecules.unique().sort().str.join(" + ")),
        ]
    )
    # A worst finding that names no medicine (an omission) keeps its card, with no names.
    worst_codes = chosen.drop("codes").join(named_codes, on=s.PATIENT_ID, how="left")
    safety = named.group_by(s.PATIENT_ID).agg(
        _divided(pl.col("weight").sum(), 100).clip(upper_bound=1.0).alias("safety"),
        pl.len().alias("findings"),
        pl.col("severity_rank").min().alias("worst_rank"),
    )
    unknown = not_evaluated.group_by(s.PATIENT_ID).agg(
        pl.len().alias("not_evaluated"),
        pl.col("missing")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .str.join(", ")
        .alias("needs"),
    )
    # Each part once (a plan that reads a frame in two branches would compute it twice).
    gaps_frame, safety_frame, worst_frame, on_list_frame, unknown_frame = pl.collect_all(
        [gaps, safety, worst_codes, on_list, unknown], engine="in-memory"
    )
    safety_frame = safety_frame.join(worst_frame, on=s.PATIENT_ID, how="left")
    parts = (
        gaps_frame.lazy()
        .join(safety_frame.lazy(), on=s.PATIENT_ID, how="full", coalesce=True)
        .join(on_list_frame.lazy(), on=s.PATIENT_ID, how="left")
        .join(unknown_frame.lazy(), on=s.PATIENT_ID, how="left")
        .with_columns(
            pl.col("safety").fill_null(0.0),
            pl.col("adherence_gap").fill_null(0.0),
            pl.col("findings").fill_null(0).cast(pl.Int32),
            pl.col("current_medicines").fill_null(0).cast(pl.Int32),
            pl.col("not_evaluated").fill_null(0).cast(pl.Int32),
        )
        .with_columns(
            recoverability=pl.when(pl.col("adherence_gap") > 0)
            .then(_divided(pl.col("best").fill_null(0.0), ADHERENT_AT).clip(upper_bound=1.0))
            .otherwise(0.0)
        )
    )
    # One concatenation per text (a chain of `+` builds every intermediate text); null when
    # any part is null, as `+` is.
    medicines = pl.concat_str(
        pl.lit("on "),
        pl.col("current_medicines").cast(pl.String),
        pl.when(pl.col("current_medicines") == 1)
        .then(pl.lit(" medicine"))
        .otherwise(pl.lit(" medicines")),
    )
    finding_text = pl.concat_str(
        medicines,
        pl.when(pl.col("molecule_name").is_not_null() & (pl.col("molecule_name") != ""))
        .then(pl.lit(" incl. ") + pl.col("molecule_name"))
        .otherwise(pl.lit("")),
        pl.lit(" ("),
        pl.col("rule_id"),
        pl.lit(" "),
        pl.col("severity"),
        pl.when(pl.col("findings") > 1)
        .then(
            pl.concat_str(pl.lit("; "), (pl.col("findings") - 1).cast(pl.String), pl.lit(" more"))
        )
        .otherwise(pl.lit("")),
        pl.lit(")"),
    )
    needs_text = (
        pl.col("not_evaluated").cast(pl.String)
        + pl.lit(" rule(s) not evaluated, need ")
        + pl.col("needs")
    )
    recoverable_text = pl.when(
        (pl.col("adherence_gap") > 0) & (pl.col("best").fill_null(0.0) >= ADHERENT_AT)
    ).then(pl.lit("can reach 0.80 by next review"))
    reasons = pl.concat_str(
        [
            pl.col("adherence_reasons"),
            recoverable_text,
            pl.when(pl.col("findings") > 0).then(finding_text),
            pl.when(pl.col("not_evaluated") > 0).then(needs_text),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    score = (
        weights.safety * pl.col("safety")
        + weights.adherence * pl.col("adherence_gap")
        + weights.recoverability * pl.col("recoverability")
    )
    # Text is made for the worklist rows only.
    return (
        parts.filter(score > 0)
        .select(
            s.PATIENT_ID,
            score.alias("score"),
            reasons.alias("reasons"),
            pl.col("safety").alias("safety_score"),
            "adherence_gap",
            "recoverability",
            "findings",
            pl.col("severity").alias("worst_severity"),
            "lowest_pdc",
            "current_medicines",
            "not_evaluated",
            # The most severe finding as the pharmacist acts on it: its card title, the medicines
            # by name and what to do (one card per concern: merged findings count once).
            "top_finding",
            pl.col("molecule_name").alias("top_finding_medicines"),
            "what_to_do",
        )
        .collect(engine="in-memory")
        .lazy()
    )


def rank(scores: pl.LazyFrame, first: int = 1) -> pl.LazyFrame:
    """Rank 1 = contact first: highest score, ties by patient id (stable across runs).

    `first`: the rank of the first row (a slice of a worklist ranked a slice at a time).
    """
    return (
        scores.sort(["score", s.PATIENT_ID], descending=[True, False])
        .with_row_index("rank", offset=first)
        .select(pl.col("rank").cast(pl.Int64), pl.exclude("rank"))
    )


def worklist_rows(scores: pl.DataFrame, practices: pl.DataFrame) -> pl.DataFrame:
    """Each patient's worklist row before ranking (`patient_scores`), with their practice."""
    return scores.join(
        practices.select(s.PATIENT_ID, s.PRACTICE_ID),
        on=s.PATIENT_ID,
        how="left",
        maintain_order="left",
    )
