"""The columnar evaluator's rule-set tables equal the point-of-care lookups, concept by concept."""

from __future__ import annotations

import datetime

import polars as pl

from medsopt.dmd.concepts import Resolved
from medsopt.engine.clauses import formulary
from medsopt.engine.lookups import build_lookups, formulary_table, scale_table
from medsopt.rules.ruleset import RuleSet


def resolved_concepts(ruleset: RuleSet) -> list[Resolved]:
    outcomes = (ruleset.dmd.resolve(c.code) for c in ruleset.dmd.concepts())
    return [o for o in outcomes if isinstance(o, Resolved)]


def test_scales_are_the_first_listed_lineage_concept_of_every_concept(bundled: RuleSet) -> None:
    rows = []
    for resolved in resolved_concepts(bundled):
        for scale in bundled.scales.values():
            scored = [c.code for c in resolved.lineage if c.code in scale.scores]
            if scored:
                score, name = scale.scores[scored[0]]
                rows.append((resolved.concept.code, scale.id, score, name))
    expected = pl.DataFrame(rows, schema=scale_table(bundled).schema, orient="row")
    assert expected.height > 0
    assert scale_table(bundled).equals(expected)


def test_formulary_rows_are_the_entry_for_every_concept(bundled: RuleSet) -> None:
    local = bundled.formulary
    assert local is not None
    rows = [
        formulary.lookup_rows(local, resolved.concept.code, entry)
        for resolved in resolved_concepts(bundled)
        if (entry := local.entry_for(resolved.lineage)) is not None
    ]
    expected = pl.DataFrame(rows, schema=formulary.LOOKUP_SCHEMA)
    assert expected.height > 0
    assert formulary_table(bundled).equals(expected)


def test_the_tables_are_built_once_per_rule_set_and_dated_apart(bundled: RuleSet) -> None:
    undated = build_lookups(bundled, None)
    assert build_lookups(bundled, None) is undated
    dated = build_lookups(bundled, datetime.date(2026, 6, 30))
    assert dated.membership is undated.membership
    assert dated.biosimilar.height > 0
