"""One card per clinical concern: findings of rules naming the same concern whose medicines
overlap (directly, or through a chain of findings) become one finding.

The card takes the wording of its most severe rule (then the smallest rule id), lists every
rule behind it as a source, and names all the medicines involved; with two or more sources its
title is the concern's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import polars as pl

from medsopt.engine.clauses.base import PATIENT_ID
from medsopt.engine.findings import SEVERITY_ORDER, Finding, FindingSource
from medsopt.rules.models import Citation, Concern


def merge_concerns(findings: Sequence[Finding], concerns: Mapping[str, Concern]) -> list[Finding]:
    """Findings with each concern's overlapping findings merged into one."""
    groups: dict[tuple[str, int], list[Finding]] = {}
    alone: list[Finding] = []
    by_concern: dict[str, list[Finding]] = {}
    for finding in findings:
        # A finding carries its rule's concern from where it is made.
        if finding.concern:
            by_concern.setdefault(finding.concern, []).append(finding)
        else:
            alone.append(finding)  # its only source is set where it is made
    for concern, raised in by_concern.items():
        for index, component in enumerate(_overlapping(raised)):
            groups[(concern, index)] = component
    merged = [
        _card(component, concern, concerns[concern])
        for (concern, _), component in sorted(groups.items())
    ]
    return alone + merged


def _overlapping(findings: list[Finding]) -> list[list[Finding]]:
    """Findings split into groups connected by shared medicines (union-find on refs); findings
    naming no medicine (omissions) are connected with each other."""
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
    components: dict[int, list[Finding]] = {}
    for index, finding in enumerate(findings):
        components.setdefault(root(index), []).append(finding)
    return list(components.values())


def _card(component: list[Finding], concern_id: str, concern: Concern) -> Finding:
    ordered = sorted(component, key=lambda f: f.sort_key)
    primary = ordered[0]
    sources = tuple(FindingSource(f.rule_id, f.title, f.severity) for f in ordered)
    if len(ordered) == 1:
        return primary  # concern and source are set where a finding is made
    citations: list[Citation] = []
    for finding in ordered:
        citations.extend(c for c in finding.citations if c not in citations)
    return dataclasses.replace(
        primary,
        title=concern.title,
        citations=tuple(citations),
        medication_refs=tuple(sorted({r for f in ordered for r in f.medication_refs})),
        matched=tuple(
            sorted({m for f in ordered for m in f.matched}, key=lambda m: (m.ref, m.group))
        ),
        conditions=tuple(dict.fromkeys(c for f in ordered for c in f.conditions)),
        involves_proposed=any(f.involves_proposed for f in ordered),
        suggestions=tuple(dict.fromkeys(s for f in ordered for s in f.suggestions)),
        concern=concern_id,
        sources=sources,
    )


def merge_concerns_plan(findings: pl.DataFrame, titles: Mapping[str, str]) -> pl.DataFrame:
    """`merge_concerns` over a population's findings (with `concern` and `severity` columns).

    Connected groups are found by label propagation: each finding starts with its own label,
    and every round gives each finding the smallest label among findings sharing a medicine,
    until nothing changes.
    """
    rows = findings.with_row_index("finding").with_columns(
        rank=pl.col("severity").replace_strict(SEVERITY_ORDER, return_dtype=pl.Int8)
    )
    alone = rows.filter(pl.col("concern").is_null())
    raised = rows.filter(pl.col("concern").is_not_null())
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
