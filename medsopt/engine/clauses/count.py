"""count: at least `at_least` distinct molecules on the list (in a group, less excluded groups).

Molecules, not packs: two brands or strengths of one VTM count once.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from medsopt.engine.clauses.base import (
    KEY,
    PATIENT_ID,
    Involved,
    Lookups,
    Outcome,
    PatientView,
    Population,
    counted_label,
)
from medsopt.engine.findings import ResolvedMedication
from medsopt.rules.ir import Count


def check(clause: Count, view: PatientView) -> Outcome | None:
    """Enough molecules; involves every counted medicine; fills {count}."""
    molecules, involved = _counted(clause, view)
    if molecules < clause.at_least:
        return None
    return Outcome(
        involved=involved,
        facts=(f"{molecules} distinct molecules >= {clause.at_least}",),
        values={"count": str(molecules)},
    )


def _counted(clause: Count, view: PatientView) -> tuple[int, Involved]:
    """How many molecules a count clause finds and the medicines it involves, worked out once
    per request for every rule counting the same way (rules differ only in the threshold)."""
    key = ("count", clause.group, clause.exclude_groups)
    cached = view.shared.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    counted = counted_molecules(clause, view)
    found = (
        len(counted),
        tuple(
            (m, counted_label(m.resolved.concept.code)) for group in counted.values() for m in group
        ),
    )
    view.shared[key] = found
    return found


def counted_molecules(clause: Count, view: PatientView) -> dict[str, list[ResolvedMedication]]:
    """Distinct molecules (in the count's group, minus excluded groups) and their medicines."""
    if clause.group is not None:
        pool = [m for m, _ in view.hits.get(clause.group, ())]
    else:
        pool = list(view.medications)
    excluded = {m.entry.ref for g in clause.exclude_groups for m, _ in view.hits.get(g, ())}
    molecules: dict[str, list[ResolvedMedication]] = {}
    for medication in pool:
        if medication.entry.ref not in excluded:
            molecules.setdefault(medication.molecule, []).append(medication)
    return molecules


def plan(
    clauses: Sequence[tuple[str, Count]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule) pairs with enough molecules, the medicines counted and {count}.

    Each way of counting (group, excluded groups) is counted once, as the one-patient check
    shares it; the whole list only for patients with enough molecules to reach its lowest
    threshold.
    """
    ways = sorted({(c.group, c.exclude_groups) for _, c in clauses}, key=repr)
    number = {way: index for index, way in enumerate(ways)}
    counting = pl.DataFrame(
        [(rule_id, number[(c.group, c.exclude_groups)], c.at_least) for rule_id, c in clauses],
        schema={"rule_id": population.rule_id_type, "way": pl.UInt32, "at_least": pl.UInt32},
        orient="row",
    ).lazy()
    least = {
        index: min(c.at_least for _, c in clauses if number[(c.group, c.exclude_groups)] == index)
        for index in range(len(ways))
    }
    pools = pl.DataFrame(
        [(index, group, least[index]) for index, (group, _) in enumerate(ways)],
        schema={"way": pl.UInt32, "count_group": population.group_type, "least": pl.UInt32},
        orient="row",
    ).lazy()
    exclusions = pl.DataFrame(
        [(index, g) for index, (_, groups) in enumerate(ways) for g in groups],
        schema={"way": pl.UInt32, "group": population.group_type},
        orient="row",
    ).lazy()
    # Counting the whole list reads only patients with enough molecules for its lowest rule.
    lowest = min((c.at_least for _, c in clauses if c.group is None), default=0)
    meds = population.meds.lazy().select(PATIENT_ID, "ref", "molecule")
    # (A patient has at least as many medicines as molecules: counting rows is enough here.)
    enough = meds.group_by(PATIENT_ID).len().filter(pl.col("len") >= lowest).select(PATIENT_ID)
    # A count in a group reads that group's hits only (a join on the few groups counted).
    hits = population.hits.lazy()
    in_group = hits.select(
        pl.col("group").alias("count_group"), PATIENT_ID, "ref", "molecule"
    ).join(pools.filter(pl.col("count_group").is_not_null()), on="count_group")
    whole_list = (
        pools.filter(pl.col("count_group").is_null())
        .select("way", "least")
        .join(meds.join(enough, on=PATIENT_ID, how="semi"), how="cross")
    )
    excluded = exclusions.join(hits.select(PATIENT_ID, "group", "ref"), on="group").select(
        PATIENT_ID, "way", "ref"
    )
    columns = ["way", PATIENT_ID, "ref", "molecule", "least"]
    # A patient with fewer medicines counted than a way's lowest threshold cannot reach it
    # (molecules are at most medicines): those are dropped before the molecules are counted.
    counted = (
        pl.concat([in_group.select(columns), whole_list.select(columns)])
        .join(excluded, on=[PATIENT_ID, "way", "ref"], how="anti")
        .filter(pl.len().over(PATIENT_ID, "way") >= pl.col("least"))
        .group_by(PATIENT_ID, "way")
        .agg(pl.col("molecule").n_unique().alias("counted"), pl.col("ref").unique().alias("refs"))
    )
    return (
        counted.join(counting, on="way")
        .filter(pl.col("counted") >= pl.col("at_least"))
        .with_columns(subject=pl.lit(""), count=pl.col("counted").cast(pl.String))
        .select(*KEY, "refs", "count")
    )
