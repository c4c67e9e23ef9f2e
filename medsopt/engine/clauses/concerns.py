"""One card per clinical concern: findings of rules naming the same concern whose medicines
overlap (directly, or through a chain of findings) become one finding.

The card takes the wording of its most severe rule (then the smallest rule id), lists every
rule behind it as a source, and names all the medicines involved; with two or more sources its
title is the concern's. For one patient, `concern_cards` groups the fired rules and
`engine.cards` writes each card once; for a population, `merge_concerns_plan` does both.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import TypeVar

import polars as pl

from medsopt.engine.clauses.base import PATIENT_ID
from medsopt.engine.findings import SEVERITY_ORDER, Raised

R = TypeVar("R", bound=Raised)


def concern_cards(findings: Sequence[R]) -> list[list[R]]:
    """The cards an answer shows, each as the findings behind it, most severe first: one per
    finding naming no concern, one per concern's group of overlapping findings."""
    alone: list[list[R]] = []
    by_concern: dict[str, list[R]] = {}
    for finding in findings:
        if finding.concern:
            by_concern.setdefault(finding.concern, []).append(finding)
        else:
            alone.append([finding])
    merged = [
        sorted(component, key=_SORT_KEY)
        for _, raised in sorted(by_concern.items())
        for component in _overlapping(raised)
    ]
    return alone + merged


_SORT_KEY = operator.attrgetter("sort_key")


def _overlapping(findings: list[R]) -> list[list[R]]:
    """Findings split into groups connected by shared medicines (union-find on refs); findings
    naming no medicine (omissions) are connected with each other."""
    if len(findings) == 1:
        return [findings]
    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for index, finding in enumerate(findings):
        # Omissions name no medicine: those of one concern are about the same condition.
        for ref in finding.medication_refs or ("",):
            if ref in first_with:
                parent[root(index)] = root(first_with[ref])
            else:
                first_with[ref] = index
    components: dict[int, list[R]] = {}
    for index, finding in enumerate(findings):
        components.setdefault(root(index), []).append(finding)
    return list(components.values())


def merge_concerns_plan(findings: pl.DataFrame, titles: Mapping[str, str]) -> pl.DataFrame:
    """`merge_concerns` over a population's findings (with `concern` and `severity` columns).

    Connected groups are found by label propagation: each finding starts with its own label,
    and every round gives each finding the smallest label among findings sharing a medicine,
    until nothing changes.
    """
    # A finding alone with its concern for its patient (most are) is its own card.
    shared = findings.select(
        pl.col("concern").is_not_null() & (pl.len().over(PATIENT_ID, "concern") > 1)
    ).to_series()
    alone = findings.filter(~shared)
    raised = (
        findings.filter(shared)
        .with_row_index("finding")
        .with_columns(rank=pl.col("severity").replace_strict(SEVERITY_ORDER, return_dtype=pl.Int8))
    )
    # Omissions name no medicine: those of one concern link through the empty ref "".
    links = raised.select(
        "finding",
        PATIENT_ID,
        "concern",
        pl.when(pl.col("refs").list.len() > 0)
        .then(pl.col("refs"))
        .otherwise(pl.lit([""], dtype=pl.List(pl.String))),
    ).explode("refs")
    label = raised.select("finding", label=pl.col("finding"))
    for _ in range(len(raised) + 1):
        spread = (
            links.join(label, on="finding")
            .with_columns(pl.col("label").min().over(PATIENT_ID, "concern", "refs"))
            .group_by("finding")
            .agg(pl.col("label").min())
        )
        if spread.join(label, on=["finding", "label"], how="anti").is_empty():
            break
        label = spread
    cards = (
        raised.join(label, on="finding")
        .sort("rank", "rule_id", "refs")
        .group_by("label", maintain_order=True)
        .agg(
            pl.all().exclude("refs", "involves_proposed").first(),
            pl.col("refs").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            pl.col("involves_proposed").any(),
            pl.col("rule_id").alias("sources"),
            pl.len().alias("merged"),
        )
        .with_columns(
            title=pl.when(pl.col("merged") > 1)
            .then(pl.col("concern").replace_strict(dict(titles), default=pl.col("title")))
            .otherwise(pl.col("title"))
        )
        .drop("label", "merged")
    )
    return pl.concat(
        [alone.with_columns(sources=pl.concat_list("rule_id")), cards], how="diagonal_relaxed"
    ).drop("finding", "rank")
