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
    # Omissions name no medicine: those of one concern link through the empty ref "". Each
    # (patient, concern, ref) is numbered once: the rounds then compare numbers only.
    links = (
        raised.select(
            "finding",
            PATIENT_ID,
            "concern",
            pl.when(pl.col("refs").list.len() > 0)
            .then(pl.col("refs"))
            .otherwise(pl.lit([""], dtype=pl.List(pl.String))),
        )
        .explode("refs")
        .select("finding", link=pl.struct(PATIENT_ID, "concern", "refs").rank("dense"))
    )
    # A finding's label is its smallest connected number (findings are numbered 0..n-1).
    label = pl.int_range(0, raised.height, dtype=pl.UInt32, eager=True)
    for _ in range(raised.height + 1):
        spread = (
            links.with_columns(label=label.gather(links["finding"]))
            .with_columns(pl.col("label").min().over("link"))
            .group_by("finding")
            .agg(pl.col("label").min())
        )
        smallest = label.clone().scatter(spread["finding"], spread["label"])
        if smallest.equals(label):
            break
        label = smallest
    cards = (
        raised.with_columns(label=label)
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
