"""score: the patient's total on a scale (e.g. anticholinergic burden) is at least `at_least`.

Each molecule counts once, at its highest score; every medicine of a scoring molecule is
involved, so neither list order nor extra packs change the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    PATIENT_ID,
    Lookups,
    Outcome,
    PatientView,
    Population,
    counted_label,
)
from medsopt.engine.findings import ResolvedMedication
from medsopt.rules.ir import Score
from medsopt.rules.ruleset import ScaleTable


def check(clause: Score, view: PatientView) -> Outcome | None:
    """Total high enough; fills {total} and {contributors} ('name score, ...')."""
    table = view.ruleset.scales[clause.scale]
    total, contributors, scoring = _total(table, view)
    if total < clause.at_least:
        return None
    return Outcome(
        involved=tuple((m, counted_label(m.resolved.concept.code)) for m in scoring),
        facts=(f"{table.title} total {total} >= {clause.at_least}",),
        values={
            "total": str(total),
            "contributors": ", ".join(f"{name} {score}" for name, score in contributors),
        },
    )


def _total(table: ScaleTable, view: PatientView) -> Total:
    """The scale's total on this request, worked out once for every rule on the scale."""
    key = ("score", table.id)
    cached = view.shared.get(key)
    if cached is None:
        cached = view.shared[key] = scale_total(table, view.medications)
    return cached  # type: ignore[return-value]


# The total, the (name, score) of each scoring molecule, and every medicine of those molecules.
Total = tuple[int, list[tuple[str, int]], list[ResolvedMedication]]


def scale_total(table: ScaleTable, medications: Sequence[ResolvedMedication]) -> Total:
    """Total, the (name, score) of each scoring molecule (highest first, then by name), and
    every medicine of those molecules."""
    scored: dict[str, list[tuple[int, str, ResolvedMedication]]] = {}
    for medication in medications:
        for concept in medication.resolved.lineage:
            entry = table.scores.get(concept.code)
            if entry is not None:
                score, name = entry
                scored.setdefault(medication.molecule, []).append((score, name, medication))
                break
    contributors: list[tuple[str, int]] = []
    involved: list[ResolvedMedication] = []
    for entries in scored.values():
        score = max(e[0] for e in entries)
        if score <= 0:
            continue
        name = min(e[1] for e in entries if e[0] == score)
        contributors.append((name, score))
        involved.extend(e[2] for e in entries)
    contributors.sort(key=lambda item: (-item[1], item[0]))
    return sum(score for _, score in contributors), contributors, involved


def plan(
    clauses: Sequence[tuple[str, Score]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs whose total is high enough, with {total} and {contributors}.

    Each scale is totalled once per patient, however many rules read it.
    """
    wanted = pl.DataFrame(
        [(rule_id, c.scale, c.at_least) for rule_id, c in clauses],
        schema={"rule_id": population.rule_id_type, "scale": pl.String, "at_least": pl.Int64},
        orient="row",
    ).lazy()
    per_molecule = (
        lookups.scales.lazy()
        .join(wanted.select("scale").unique(), on="scale", how="semi")
        .join(
            population.meds.lazy().select(PATIENT_ID, "ref", "concept_code", "molecule"),
            on="concept_code",
        )
        # The highest score first, and at that score the smallest name (as the one-patient
        # check): a molecule's first row gives both.
        .sort("score", "scale_name", descending=[True, False], nulls_last=True)
        .group_by(PATIENT_ID, "scale", "molecule")
        .agg(pl.col("score").first(), pl.col("scale_name").first(), pl.col("ref"))
        .filter(pl.col("score") > 0)
    )
    # Most totals are below every rule's threshold: their contributors are never written.
    reaching = (
        per_molecule.group_by(PATIENT_ID, "scale")
        .agg(pl.col("score").sum().alias("score_total"))
        .join(wanted.group_by("scale").agg(pl.col("at_least").min()), on="scale")
        .filter(pl.col("score_total") >= pl.col("at_least"))
        .select(PATIENT_ID, "scale")
    )
    totals = (
        per_molecule.join(reaching, on=[PATIENT_ID, "scale"], how="semi")
        .sort([PATIENT_ID, "scale", "score", "scale_name"], descending=[False, False, True, False])
        .group_by(PATIENT_ID, "scale", maintain_order=True)
        .agg(
            pl.col("score").sum().alias("score_total"),
            pl.col("ref")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .alias("refs"),
            pl.concat_str(pl.col("scale_name"), pl.col("score").cast(pl.String), separator=" ")
            .str.join(", ")
            .alias("contributors"),
        )
    )
    return (
        totals.join(wanted, on="scale")
        .filter(pl.col("score_total") >= pl.col("at_least"))
        .with_columns(subject=pl.lit(""), total=pl.col("score_total").cast(pl.String))
        .select(*KEY, "refs", "total", "contributors")
    )
